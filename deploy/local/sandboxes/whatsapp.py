"""Local sandbox for the WhatsApp Cloud API: outbound ``/messages`` and the
signed status webhooks.

Stands in for Meta's Graph API so notification and the tests run offline:
``POST /{phone_number_id}/messages`` with a bearer token and a template
message (``"type": "template"``) is kept and answered like the Cloud API
(``{"messaging_product": "whatsapp", "contacts": [...], "messages":
[{"id": "wamid..."}]}``); tests read what arrived at ``GET /sandbox/messages``
(``?to=628...``), clear it with ``DELETE`` and inject faults at
``POST /sandbox/faults`` like the SMS sandbox. Like the real API it does not
deduplicate: the message id travels as ``biz_opaque_callback_data``. Like
the real API it refuses, with Meta's error (400, ``error.code``,
``error_data.details``), a body parameter holding a newline, a tab or more
than 4 spaces in a row (132018), and a body longer than 1,024 characters
once its parameters are filled in (132005; the sandbox does not hold the
approved templates' texts and counts each as ``TEMPLATE_WORDS`` characters,
the most notification leaves them).

Status webhooks, as Meta sends them: with ``--webhook-url`` (and
``--app-secret``, which signs them: ``X-Hub-Signature-256: sha256=<hex
HMAC-SHA256 of the raw body>``), each message accepted is followed, after the
answer, by its status callbacks - ``sent`` then ``delivered`` - in Meta's
payload (``entry[].changes[].value.statuses[]``). A number the tests name at
``POST /sandbox/recipients`` gets another story: ``{"to": "628...",
"status": "failed", "error_code": 131026}`` (not on WhatsApp: ``failed``
only, with Meta's error), ``"read"`` (sent, delivered, read) or ``"sent"``
(the phone never receives it). A callback the receiver does not answer 2xx
is delivered again, as Meta does, with growing pauses (a few, not 7 days).
``POST /sandbox/statuses`` sends one status of an accepted message at once
(``{"id": "wamid...", "status": "failed", "error_code": 131026}``) and
``POST /sandbox/inbound`` a citizen's text message (``{"from": "628...",
"text": "..."}``); each answers ``{"delivered", "status_code"}``.
``GET /sandbox/callbacks`` lists every callback with its delivery attempts.

Run: ``python -m deploy.local.sandboxes.whatsapp --host 127.0.0.1 --port 0 \\
--webhook-url http://127.0.0.1:8003/api/v1/whatsapp/webhook --app-secret ...``
"""
from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import logging
import re
import threading
import time
import uuid
from http import HTTPStatus
from http.server import ThreadingHTTPServer
from typing import Any

from deploy.local.sandboxes.http_common import (FaultInjector, JsonHandler, SandboxServer,
                                                check_webhook_url, post_webhook, serve_cli,
                                                utc_now)
from shared.masking import mask_phone

_MSISDN = re.compile(r"\d{8,15}")
log = logging.getLogger("sandbox.whatsapp")
# the Cloud API's error codes a test may choose for a failed message: (title, details)
ERRORS = {
    131026: ("Message undeliverable", "Message Undeliverable."),
    131047: ("Re-engagement message", "Message failed to send because more than 24 hours "
             "have passed since the customer last replied to this number."),
    131049: ("This message was not delivered to maintain healthy ecosystem engagement.",
             "In order to maintain a healthy ecosystem engagement, the message failed to be "
             "delivered."),
    132001: ("Template name does not exist in the translation",
             "template name does not exist in the translation"),
    132015: ("Template is Paused", "Template is paused due to low quality."),
    131000: ("Something went wrong", "Message failed to send because of an unknown error."),
}
STORIES = {"sent": ("sent",), "delivered": ("sent", "delivered"),
           "read": ("sent", "delivered", "read"), "failed": ("failed",)}
CALLBACK_STATUSES = ("sent", "delivered", "read", "failed")
# a callback not answered 2xx is delivered again after these pauses (seconds)
REDELIVERY_PAUSES = (0.5, 1, 2, 4, 8)
# a template body's limit, its parameters filled in, and what the sandbox
# counts for a template's own words (services/notification/whatsapp_params.py)
BODY_LIMIT = 1024
TEMPLATE_WORDS = 324
# what Meta refuses in a body parameter's text
_BAD_SPACING = re.compile(r"[\n\t]| {5,}")
# Meta's template errors: code -> (message, details)
TEMPLATE_ERRORS = {
    132005: ("(#132005) Translated text too long", "Translated text is too long"),
    132018: ("(#132018) There was an issue with the parameters in your template.",
             "Param text cannot have new-line/tab characters or more than 4 consecutive spaces"),
}
WABA_ID = "102290129340398"
DISPLAY_NUMBER = "6281100000000"


def graph_error(status: int, message: str, code: int) -> dict:
    return {"error": {"message": message, "type": "OAuthException" if status == 401
                      else "GraphMethodException", "code": code}}


def template_error(code: int) -> dict:
    """Meta's answer (with HTTP 400) to a template message it refuses."""
    message, details = TEMPLATE_ERRORS[code]
    return {"error": {"message": message, "type": "OAuthException", "code": code,
                      "error_data": {"messaging_product": "whatsapp", "details": details},
                      "fbtrace_id": "A" + uuid.uuid4().hex[:22]}}


def sign(secret: str, body: bytes) -> str:
    """``X-Hub-Signature-256`` of ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post_signed(url: str, secret: str, payload: dict) -> tuple[bool, int | None]:
    """POST one callback, signed; (answered 2xx, HTTP status or None if unreachable)."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    return post_webhook(url, body, {"X-Hub-Signature-256": sign(secret, body),
                                    "User-Agent": "facebookexternalua"})


def envelope(phone_number_id: str, value: dict) -> dict:
    """A webhook delivery of Meta's shape around one change's ``value``."""
    return {"object": "whatsapp_business_account", "entry": [{"id": WABA_ID, "changes": [{
        "value": {"messaging_product": "whatsapp",
                  "metadata": {"display_phone_number": DISPLAY_NUMBER,
                               "phone_number_id": phone_number_id}, **value},
        "field": "messages"}]}]}


def status_item(record: dict, status: str, error_code: int | None = None) -> dict:
    """One ``statuses[]`` item about an accepted message, as Meta writes it."""
    item = {"id": record["id"], "status": status, "timestamp": str(int(time.time())),
            "recipient_id": record["to"]}
    if record.get("biz_opaque_callback_data"):
        item["biz_opaque_callback_data"] = record["biz_opaque_callback_data"]
    if status == "failed":
        title, details = ERRORS[error_code or 131026]
        item["errors"] = [{"code": error_code or 131026, "title": title, "message": title,
                           "error_data": {"details": details},
                           "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/"
                                   "support/error-codes/"}]
    elif status in ("sent", "delivered"):
        item["conversation"] = {"id": record["conversation"], "origin": {"type": "utility"}}
        item["pricing"] = {"billable": True, "pricing_model": "CBP", "category": "utility"}
    return item


class WhatsAppHandler(JsonHandler):
    server: WhatsAppServer
    routes = [
        ("POST", re.compile(r"/(?:v[\d.]+/)?([^/]+)/messages"), "send_message"),
        ("POST", re.compile(r"/sandbox/faults"), "set_faults"),
        ("GET", re.compile(r"/sandbox/messages"), "list_messages"),
        ("DELETE", re.compile(r"/sandbox/messages"), "clear_messages"),
        ("POST", re.compile(r"/sandbox/recipients"), "set_recipient"),
        ("DELETE", re.compile(r"/sandbox/recipients"), "clear_recipients"),
        ("POST", re.compile(r"/sandbox/statuses"), "send_status"),
        ("POST", re.compile(r"/sandbox/inbound"), "send_inbound"),
        ("GET", re.compile(r"/sandbox/callbacks"), "list_callbacks"),
        ("GET", re.compile(r"/health"), "health"),
    ]

    def send_message(self, _query: dict[str, list[str]], phone_number_id: str) -> None:
        data = self.read_json()
        if data is None:
            return
        # ``only_to``: the number as it is sent, 628...
        status = self.server.faults.take(str(data.get("to")) if isinstance(data, dict) else None)
        if status is not None:
            return self.send_json(status, graph_error(status, HTTPStatus(status).phrase, 2))
        token = (self.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(token.encode(), self.server.token.encode()):
            return self.send_json(401, graph_error(401, "Invalid OAuth access token.", 190))
        if phone_number_id != self.server.phone_number_id:
            return self.send_json(400, graph_error(400, "Unsupported post request.", 100))
        problem = template_problem(data)
        if problem:
            return self.send_json(400, graph_error(400, problem, 100))
        refused = parameters_refused(data)
        if refused:
            self.log.info("whatsapp template %s refused: %d", data["template"]["name"], refused)
            return self.send_json(400, template_error(refused))
        record = self.server.store.add(phone_number_id, data)
        self.log.info("whatsapp template %s to=%s", data["template"]["name"], mask_phone(data["to"]))
        self.send_json(200, {"messaging_product": "whatsapp",
                             "contacts": [{"input": data["to"], "wa_id": data["to"]}],
                             "messages": [{"id": record["id"]}]})
        self.server.tell_story(record)  # after the answer, as Meta's callbacks come

    def list_messages(self, query: dict[str, list[str]]) -> None:
        self.send_json(200, self.server.store.list(query.get("to", [None])[0]))

    def clear_messages(self, _query: dict[str, list[str]]) -> None:
        self.server.store.clear()
        self.send_json(200, {"ok": True})

    def set_recipient(self, _query: dict[str, list[str]]) -> None:
        """``{"to": "628...", "status": "failed"|"read"|"delivered"|"sent",
        "error_code": 131026}``: how messages to that number end from now on."""
        body = self.read_json()
        if body is None:
            return
        problem = recipient_problem(body)
        if problem:
            return self.send_json(400, {"error": problem})
        self.server.set_story(body["to"].lstrip("+"), body["status"], body.get("error_code"))
        self.log.info("recipient %s: %s", mask_phone(body["to"]), body["status"])
        self.send_json(200, {"ok": True})

    def clear_recipients(self, _query: dict[str, list[str]]) -> None:
        self.server.clear_stories()
        self.send_json(200, {"ok": True})

    def send_status(self, _query: dict[str, list[str]]) -> None:
        """``{"id": "wamid...", "status": ..., "error_code"?}``: one callback, now."""
        body = self.read_json()
        if body is None:
            return
        if not isinstance(body, dict) or body.get("status") not in CALLBACK_STATUSES:
            return self.send_json(400, {"error": f"status must be one of {', '.join(CALLBACK_STATUSES)}"})
        if body.get("error_code") is not None and body["error_code"] not in ERRORS:
            return self.send_json(400, {"error": f"error_code must be one of {sorted(ERRORS)}"})
        record = self.server.store.get(str(body.get("id")))
        if record is None:
            return self.send_json(404, {"error": "no such message"})
        item = status_item(record, body["status"], body.get("error_code"))
        self.send_json(200, self.server.deliver(record["id"], body["status"],
                                                {"statuses": [item]}, retry=False))

    def send_inbound(self, _query: dict[str, list[str]]) -> None:
        """``{"from": "628...", "text": "..."}``: a citizen writes to the number."""
        body = self.read_json()
        if body is None:
            return
        sender = body.get("from") if isinstance(body, dict) else None
        if not isinstance(sender, str) or not _MSISDN.fullmatch(sender.lstrip("+")) \
                or not isinstance(body.get("text"), str):
            return self.send_json(400, {"error": "from (a phone number) and text are required"})
        wamid = f"wamid.{uuid.uuid4().hex}"
        value = {"contacts": [{"profile": {"name": "Warga"}, "wa_id": sender.lstrip("+")}],
                 "messages": [{"from": sender.lstrip("+"), "id": wamid,
                               "timestamp": str(int(time.time())), "type": "text",
                               "text": {"body": body["text"]}}]}
        self.send_json(200, self.server.deliver(wamid, "inbound", value, retry=False))

    def list_callbacks(self, query: dict[str, list[str]]) -> None:
        self.send_json(200, self.server.callbacks(query.get("id", [None])[0]))


def recipient_problem(body: Any) -> str | None:
    if not isinstance(body, dict) or not isinstance(body.get("to"), str) \
            or not _MSISDN.fullmatch(body["to"].lstrip("+")):
        return "to must be a phone number"
    if body.get("status") not in STORIES:
        return f"status must be one of {', '.join(STORIES)}"
    if body.get("error_code") is not None and (body["status"] != "failed"
                                               or body["error_code"] not in ERRORS):
        return f"error_code (status failed only) must be one of {sorted(ERRORS)}"
    return None


def template_problem(data: Any) -> str | None:
    """What is wrong with a template send request, as the Graph API would say it."""
    if not isinstance(data, dict) or data.get("messaging_product") != "whatsapp":
        return "messaging_product must be whatsapp"
    if not isinstance(data.get("to"), str) or not _MSISDN.fullmatch(data["to"].lstrip("+")):
        return "to must be a phone number"
    if data.get("type") != "template":
        return "outside the 24-hour window only template messages may be sent"
    template = data.get("template")
    if not isinstance(template, dict) or not isinstance(template.get("name"), str):
        return "template.name is required"
    if not isinstance((template.get("language") or {}).get("code"), str):
        return "template.language.code is required"
    for component in template.get("components") or []:
        for parameter in component.get("parameters") or []:
            if parameter.get("type") != "text" or not str(parameter.get("text") or "").strip():
                return "every body parameter needs a non-empty text"
    return None


def parameters_refused(data: dict) -> int | None:
    """Meta's error code for body parameters it refuses (after
    ``template_problem``): 132018 for a newline, a tab or more than 4 spaces
    in a row, 132005 for a body over ``BODY_LIMIT`` once they are filled in."""
    texts = [str(parameter["text"]) for component in data["template"].get("components") or []
             if component.get("type") == "body" for parameter in component.get("parameters") or []]
    if any(_BAD_SPACING.search(text) for text in texts):
        return 132018
    if TEMPLATE_WORDS + sum(len(text) for text in texts) > BODY_LIMIT:
        return 132005
    return None


class MessageStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: list[dict[str, Any]] = []

    def add(self, phone_number_id: str, data: dict) -> dict:
        record = {"id": f"wamid.{uuid.uuid4().hex}", "phone_number_id": phone_number_id,
                  "to": data["to"].lstrip("+"), "template": data["template"],
                  "biz_opaque_callback_data": data.get("biz_opaque_callback_data"),
                  "conversation": uuid.uuid4().hex, "received_at": utc_now()}
        with self._lock:
            self._messages.append(record)
        return record

    def get(self, wamid: str) -> dict | None:
        with self._lock:
            return next((dict(m) for m in self._messages if m["id"] == wamid), None)

    def list(self, to: str | None = None) -> list[dict]:
        wanted = to.lstrip("+") if to else None
        with self._lock:
            return [dict(m) for m in self._messages if wanted is None or m["to"] == wanted]

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()


class WhatsAppServer(SandboxServer):
    def __init__(self, address: tuple[str, int], token: str, phone_number_id: str,
                 webhook_url: str | None = None, app_secret: str = "") -> None:
        if webhook_url and check_webhook_url(webhook_url):
            raise ValueError(check_webhook_url(webhook_url))
        super().__init__(address, WhatsAppHandler)
        self.token, self.phone_number_id = token, phone_number_id
        self.webhook_url, self.app_secret = webhook_url, app_secret
        self.store = MessageStore()
        self.faults = FaultInjector()
        self._lock = threading.Lock()
        self._stories: dict[str, tuple[str, int | None]] = {}  # number -> (status, error code)
        self._callbacks: list[dict[str, Any]] = []

    def set_story(self, number: str, status: str, error_code: int | None) -> None:
        with self._lock:
            self._stories[number] = (status, error_code)

    def clear_stories(self) -> None:
        with self._lock:
            self._stories.clear()

    def tell_story(self, record: dict) -> None:
        """Post the statuses of an accepted message, in order, each delivered
        (again, if need be) before the next: in a thread of its own."""
        if not self.webhook_url:
            return
        with self._lock:
            final, error_code = self._stories.get(record["to"], ("delivered", None))

        def story() -> None:
            for status in STORIES[final]:
                item = status_item(record, status, error_code)
                if not self.deliver(record["id"], status, {"statuses": [item]})["delivered"]:
                    return  # Meta would go on for days; a sandbox stops here
        threading.Thread(target=story, daemon=True).start()

    def deliver(self, wamid: str, what: str, value: dict, retry: bool = True) -> dict:
        """POST one signed callback; with ``retry``, again after each pause
        of ``REDELIVERY_PAUSES`` until it is answered 2xx."""
        entry = {"id": wamid, "status": what, "attempts": [], "delivered": False}
        with self._lock:
            self._callbacks.append(entry)
        if not self.webhook_url:
            return {"delivered": False, "status_code": None}
        payload = envelope(self.phone_number_id, value)
        for pause in (*REDELIVERY_PAUSES, None) if retry else (None,):
            delivered, code = post_signed(self.webhook_url, self.app_secret, payload)
            with self._lock:
                entry["attempts"].append(code)
                entry["delivered"] = delivered
            if delivered or pause is None:
                break
            time.sleep(pause)
        log.info("callback %s of %s: answered %s", what, wamid[:24], entry["attempts"])
        return {"delivered": entry["delivered"], "status_code": entry["attempts"][-1]}

    def callbacks(self, wamid: str | None = None) -> list[dict]:
        with self._lock:
            return [dict(entry, attempts=list(entry["attempts"])) for entry in self._callbacks
                    if wamid is None or entry["id"] == wamid]


def make_server(host: str, port: int, *, token: str = "sandbox-whatsapp-token",
                phone_number_id: str = "100200300", webhook_url: str | None = None,
                app_secret: str = "sandbox-whatsapp-app-secret") -> ThreadingHTTPServer:
    return WhatsAppServer((host, port), token, phone_number_id, webhook_url, app_secret)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--token", default="sandbox-whatsapp-token")
    parser.add_argument("--phone-number-id", default="100200300")
    parser.add_argument("--webhook-url", default=None,
                        help="where status callbacks go (none: no callbacks)")
    parser.add_argument("--app-secret", default="sandbox-whatsapp-app-secret",
                        help="signs the callbacks (X-Hub-Signature-256)")
    args = parser.parse_args(argv)
    return serve_cli(args.host, args.port, make_server, token=args.token,
                     phone_number_id=args.phone_number_id, webhook_url=args.webhook_url,
                     app_secret=args.app_secret)


if __name__ == "__main__":
    raise SystemExit(main())
