"""Local sandbox for the WhatsApp Cloud API's outbound ``/messages``.

Stands in for Meta's Graph API so notification and the tests run offline:
``POST /{phone_number_id}/messages`` with a bearer token and a template
message (``"type": "template"``) is kept and answered like the Cloud API
(``{"messaging_product": "whatsapp", "contacts": [...], "messages":
[{"id": "wamid..."}]}``); tests read what arrived at ``GET /sandbox/messages``
(``?to=628...``), clear it with ``DELETE`` and inject faults at
``POST /sandbox/faults`` like the SMS sandbox. Like the real API it does not
deduplicate: the message id travels as ``biz_opaque_callback_data``.

Run: ``python -m deploy.local.sandboxes.whatsapp --host 127.0.0.1 --port 0``
"""
from __future__ import annotations

import argparse
import hmac
import re
import threading
import uuid
from http import HTTPStatus
from http.server import ThreadingHTTPServer
from typing import Any

from deploy.local.sandboxes.http_common import (FaultInjector, JsonHandler, SandboxServer,
                                                serve_cli, utc_now)
from shared.masking import mask_phone

_MSISDN = re.compile(r"\d{8,15}")


def graph_error(status: int, message: str, code: int) -> dict:
    return {"error": {"message": message, "type": "OAuthException" if status == 401
                      else "GraphMethodException", "code": code}}


class WhatsAppHandler(JsonHandler):
    server: WhatsAppServer
    routes = [
        ("POST", re.compile(r"/(?:v[\d.]+/)?([^/]+)/messages"), "send_message"),
        ("POST", re.compile(r"/sandbox/faults"), "set_faults"),
        ("GET", re.compile(r"/sandbox/messages"), "list_messages"),
        ("DELETE", re.compile(r"/sandbox/messages"), "clear_messages"),
        ("GET", re.compile(r"/health"), "health"),
    ]

    def send_message(self, _query: dict[str, list[str]], phone_number_id: str) -> None:
        data = self.read_json()
        if data is None:
            return
        status = self.server.faults.take()
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
        record = self.server.store.add(phone_number_id, data)
        self.log.info("whatsapp template %s to=%s", data["template"]["name"], mask_phone(data["to"]))
        self.send_json(200, {"messaging_product": "whatsapp",
                             "contacts": [{"input": data["to"], "wa_id": data["to"]}],
                             "messages": [{"id": record["id"]}]})

    def list_messages(self, query: dict[str, list[str]]) -> None:
        self.send_json(200, self.server.store.list(query.get("to", [None])[0]))

    def clear_messages(self, _query: dict[str, list[str]]) -> None:
        self.server.store.clear()
        self.send_json(200, {"ok": True})


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


class MessageStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: list[dict[str, Any]] = []

    def add(self, phone_number_id: str, data: dict) -> dict:
        record = {"id": f"wamid.{uuid.uuid4().hex}", "phone_number_id": phone_number_id,
                  "to": data["to"].lstrip("+"), "template": data["template"],
                  "biz_opaque_callback_data": data.get("biz_opaque_callback_data"),
                  "received_at": utc_now()}
        with self._lock:
            self._messages.append(record)
        return record

    def list(self, to: str | None = None) -> list[dict]:
        wanted = to.lstrip("+") if to else None
        with self._lock:
            return [dict(m) for m in self._messages if wanted is None or m["to"] == wanted]

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()


class WhatsAppServer(SandboxServer):
    def __init__(self, address: tuple[str, int], token: str, phone_number_id: str) -> None:
        super().__init__(address, WhatsAppHandler)
        self.token, self.phone_number_id = token, phone_number_id
        self.store = MessageStore()
        self.faults = FaultInjector()


def make_server(host: str, port: int, *, token: str = "sandbox-whatsapp-token",
                phone_number_id: str = "100200300") -> ThreadingHTTPServer:
    return WhatsAppServer((host, port), token, phone_number_id)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--token", default="sandbox-whatsapp-token")
    parser.add_argument("--phone-number-id", default="100200300")
    args = parser.parse_args(argv)
    return serve_cli(args.host, args.port, make_server, token=args.token,
                     phone_number_id=args.phone_number_id)


if __name__ == "__main__":
    raise SystemExit(main())
