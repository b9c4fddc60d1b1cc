"""Local sandbox for the Pos Indonesia partner API.

Speaks the same shape as the real partner: OAuth2 client-credentials tokens,
AddPostingDoc dispatch (idempotent on ``orderId``), track-and-trace, and
HMAC-signed status webhooks that tests trigger through ``/sandbox/advance``.

Webhooks are signed Stripe-style: ``X-Pos-Signature: t=<unix seconds>,v1=<hex>``
where ``<hex>`` is HMAC-SHA256 (the webhook secret) over ``"<t>.<raw body>"``;
``X-Pos-Event-Id`` repeats the body's ``eventId``.

Fault switches (``POST /sandbox/faults``), besides the shared ``fail_next`` /
``status`` / ``delay_ms``: ``{"down": true}`` refuses every AddPostingDoc and
tracking call with ``status`` until ``{"down": false}`` (an outage of
unknown length); ``{"delay_after_accept_ms": N}`` records a posting, then
waits N ms before answering (a client that dies meanwhile has a shipment it
never heard of); ``{"retry_after": 3}`` (whole seconds) or ``{"retry_after":
"<HTTP date>"}`` (any text, sent as is) puts ``Retry-After`` on every refusal
until ``{"retry_after": null}``, as Pos' 429 and 503 may carry it. ``GET
/sandbox/faults`` counts the calls refused so far.

Run: ``python -m deploy.local.sandboxes.pos_api --host 127.0.0.1 --port 0``
"""
from __future__ import annotations

import argparse
import base64
import collections
import copy
import hashlib
import hmac
import json
import logging
import re
import secrets
import threading
import time
import uuid
from datetime import datetime
from http import HTTPStatus
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from deploy.local.sandboxes.http_common import (FaultInjector, JsonHandler, SandboxServer,
                                                check_webhook_url, post_webhook, serve_cli)
from shared.clock import WIB  # Pos Indonesia timestamps are Jakarta local time
from shared.masking import mask_phone

PARTY_FIELDS = ("name", "address", "city", "zipCode", "phone")
ADVANCE_STATUSES = ("IN_TRANSIT", "DELIVERED", "FAILED", "RETURNED")
log = logging.getLogger("sandbox.pos_api")

Query = dict[str, list[str]]


def wib_now() -> str:
    return datetime.now(WIB).isoformat(timespec="seconds")


def validate_posting(doc: dict[str, Any]) -> dict[str, str]:
    """Map each invalid field path (e.g. ``receiver.zipCode``) to a reason."""
    errors: dict[str, str] = {}

    def need_text(path: str, value: Any) -> None:
        if value is None or (isinstance(value, str) and not value.strip()):
            errors[path] = "required"
        elif not isinstance(value, str):
            errors[path] = "must be a string"

    for key in ("orderId", "itemDesc", "serviceCode"):
        need_text(key, doc.get(key))
    weight = doc.get("weight")
    if weight is None:
        errors["weight"] = "required"
    elif type(weight) is not int or weight <= 0:  # bool is an int; reject true/false
        errors["weight"] = "must be a positive integer (grams)"
    for party in ("sender", "receiver"):
        block = doc.get(party)
        if not isinstance(block, dict):
            errors[party] = "required" if block is None else "must be an object"
            continue
        for field in PARTY_FIELDS:
            need_text(f"{party}.{field}", block.get(field))
        zip_code = block.get("zipCode")
        if f"{party}.zipCode" not in errors and not re.fullmatch(r"\d{5}", zip_code):
            errors[f"{party}.zipCode"] = "must be 5 digits"
    return errors


def sign_webhook(secret: str, body: bytes, timestamp: int) -> str:
    """The ``X-Pos-Signature`` value for ``body`` sent at ``timestamp`` (unix seconds)."""
    signed = str(timestamp).encode() + b"." + body
    return f"t={timestamp},v1={hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()}"


def deliver_webhook(url: str, secret: str, payload: dict[str, Any]) -> tuple[bool, int | None]:
    """POST the signed event; (delivered, HTTP status or None if unreachable)."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    return post_webhook(url, body, {"X-Pos-Signature": sign_webhook(secret, body, int(time.time())),
                                    "X-Pos-Event-Id": payload["eventId"]})


class PosFaults(FaultInjector):
    """The shared switches plus an outage of unknown length (``down``), a
    pause after a posting is recorded (``delay_after_accept_ms``) and the
    ``Retry-After`` a refusal carries (``retry_after``)."""

    def __init__(self) -> None:
        super().__init__()
        self.down, self.delay_after_accept_ms, self.refused = False, 0, 0
        self.retry_after: str | None = None
        # the orderIds of the postings refused, newest last (the last 1,000):
        # ``refused`` also counts tracking calls, which courier's poll makes
        # on its own schedule
        self.refused_orders: collections.deque[str] = collections.deque(maxlen=1000)

    def configure(self, spec: Any) -> str | None:
        if not isinstance(spec, dict):
            return "body must be a JSON object"
        spec = dict(spec)
        down, after = spec.pop("down", None), spec.pop("delay_after_accept_ms", None)
        keep_wait = "retry_after" not in spec
        wait = spec.pop("retry_after", None)
        if down is not None and type(down) is not bool:
            return "down must be true or false"
        if after is not None and (type(after) is not int or not 0 <= after <= 60_000):
            return "delay_after_accept_ms must be an integer in [0, 60000]"
        if not (wait is None or (type(wait) is int and 0 <= wait <= 86_400)
                or (isinstance(wait, str) and wait.isascii() and wait.isprintable()
                    and len(wait) <= 64)):
            return "retry_after must be seconds in [0, 86400], a text (an HTTP date) or null"
        error = super().configure(spec)
        if error is None:
            with self._lock:
                self.down = self.down if down is None else down
                self.delay_after_accept_ms = self.delay_after_accept_ms if after is None else after
                self.retry_after = self.retry_after if keep_wait else wait
        return error

    def refusal_headers(self) -> dict[str, str]:
        """What a refusal carries besides its body: ``Retry-After``, if set."""
        with self._lock:
            wait = self.retry_after
        return {} if wait is None else {"Retry-After": str(wait)}

    def take(self) -> int | None:
        with self._lock:
            down = self.down
        status = self.status if down else super().take()
        if status is not None:
            with self._lock:
                self.refused += 1
        return status

    def posting_refused(self, order_id: Any) -> None:
        with self._lock:
            self.refused_orders.append(str(order_id))

    def pause_after_accept(self) -> None:
        with self._lock:
            delay = self.delay_after_accept_ms
        if delay:
            time.sleep(delay / 1000)

    def counts(self) -> dict[str, Any]:
        with self._lock:
            return {"refused": self.refused, "down": self.down, "fail_next": self.fail_next,
                    "refused_orders": list(self.refused_orders)}


class ShipmentStore:
    """Shipments keyed by barcode, with an orderId index for idempotency; in
    memory, and, given a ``journal`` (a JSON-lines file), kept there too and
    read back at the start: Pos remembers its parcels across a restart of
    the stack on the same data, and never hands out a barcode twice (outside
    audit S2: a sandbox restarted with ``make run`` numbered from 00001
    again, and courier, holding those barcodes for other shipments, could
    record none of its new postings)."""

    def __init__(self, journal: Path | None = None) -> None:
        self._lock = threading.Lock()
        self._by_barcode: dict[str, dict[str, Any]] = {}
        self._by_order: dict[str, str] = {}
        self._sequence = 0  # never reset, so barcodes stay unique across clears
        self._journal = journal
        if journal is not None and journal.exists():
            kept = journal.read_text(encoding="utf-8")
            for line in kept.splitlines():
                try:
                    self._apply(json.loads(line))
                except ValueError:  # a line cut short by a kill: the rest stands
                    log.warning("pos sandbox: journal line not read: %.60s", line)
            if kept and not kept.endswith("\n"):  # what comes next starts a line of its own
                with journal.open("a", encoding="utf-8") as ended:
                    ended.write("\n")

    def _apply(self, entry: dict[str, Any]) -> None:
        if entry["op"] == "add":
            shipment = entry["shipment"]
            self._by_barcode[shipment["barcode"]] = shipment
            self._by_order[shipment["orderId"]] = shipment["barcode"]
            self._sequence += 1
        elif entry["op"] == "event" and entry["barcode"] in self._by_barcode:
            shipment = self._by_barcode[entry["barcode"]]
            shipment["events"].append(entry["event"])
            shipment["status"] = entry["event"]["status"]
        elif entry["op"] == "clear":
            self._by_barcode.clear()
            self._by_order.clear()

    def _keep(self, entry: dict[str, Any]) -> None:
        """Apply ``entry`` and append it to the journal (under the lock)."""
        self._apply(copy.deepcopy(entry))
        if self._journal is not None:
            with self._journal.open("a", encoding="utf-8") as journal:
                journal.write(json.dumps(entry, ensure_ascii=False) + "\n")

    def add(self, doc: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        with self._lock:  # check-and-insert must be atomic or a retry ships twice
            existing = self._by_order.get(doc["orderId"])
            if existing is not None:
                return copy.deepcopy(self._by_barcode[existing]), True
            barcode = f"P{datetime.now(WIB):%y%m%d}{self._sequence + 1:05d}"
            now = wib_now()
            event = {"status": "ACCEPTED", "at": now, "location": doc["sender"]["city"],
                     "note": "Kiriman diterima di loket"}
            fields = ("orderId", "itemDesc", "weight", "sender", "receiver", "serviceCode")
            shipment = {"barcode": barcode, **{k: copy.deepcopy(doc[k]) for k in fields},
                        "status": "ACCEPTED", "created_at": now, "events": [event]}
            self._keep({"op": "add", "shipment": shipment})
            return copy.deepcopy(shipment), False

    def get(self, barcode: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._by_barcode.get(barcode)
            return copy.deepcopy(found) if found else None

    def append_event(self, barcode: str, status: str, location: str | None,
                     note: str) -> dict[str, Any] | None:
        with self._lock:
            shipment = self._by_barcode.get(barcode)
            if shipment is None:
                return None
            default = {"IN_TRANSIT": "Mail Processing Center",
                       "RETURNED": shipment["sender"]["city"]}.get(status, shipment["receiver"]["city"])
            event = {"status": status, "at": wib_now(), "location": location or default, "note": note}
            self._keep({"op": "event", "barcode": barcode, "event": event})
            return {"barcode": barcode, "orderId": shipment["orderId"], **event}

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(list(self._by_barcode.values()))

    def clear(self) -> None:
        with self._lock:
            self._keep({"op": "clear"})


class PosHandler(JsonHandler):
    server: PosServer
    log = log
    routes = [
        ("POST", re.compile(r"/oauth2/token"), "issue_token"),
        ("POST", re.compile(r"/api/v1/AddPostingDoc"), "add_posting"),
        ("GET", re.compile(r"/api/v1/tracking/([^/]+)"), "tracking"),
        ("POST", re.compile(r"/sandbox/advance/([^/]+)"), "advance"),
        ("POST", re.compile(r"/sandbox/faults"), "set_faults"),
        ("GET", re.compile(r"/sandbox/faults"), "fault_counts"),
        ("GET", re.compile(r"/sandbox/shipments"), "list_shipments"),
        ("DELETE", re.compile(r"/sandbox/shipments"), "clear_shipments"),
        ("GET", re.compile(r"/health"), "health"),
    ]

    def _basic_credentials(self) -> tuple[str, str] | None:
        scheme, _, value = (self.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            client_id, sep, secret = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except ValueError:  # covers binascii.Error and UnicodeDecodeError
            return None
        return (client_id, secret) if sep else None

    def _authorized(self) -> bool:
        """Check the Bearer token, answering 401 ourselves when it is not valid."""
        scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() == "bearer" and self.server.token_valid(token.strip()):
            return True
        challenge = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
        self.send_json(401, {"error": "invalid_token"}, challenge)
        return False

    def issue_token(self, _query: Query) -> None:
        body = self.read_body()
        if body is None:
            return
        creds = self._basic_credentials()
        expected = (self.server.client_id, self.server.client_secret)
        # Compare both halves eagerly so response timing does not reveal which one was wrong.
        matches = [hmac.compare_digest(given.encode(), want.encode())
                   for given, want in zip(creds or ("", ""), expected)]
        if creds is None or not all(matches):
            return self.send_json(401, {"error": "invalid_client"}, {"WWW-Authenticate": "Basic"})
        form = parse_qs(body.decode("utf-8", "replace"))
        if form.get("grant_type") != ["client_credentials"]:
            return self.send_json(400, {"error": "unsupported_grant_type"})
        token = self.server.new_token()
        self.send_json(200, {"access_token": token, "token_type": "Bearer", "expires_in": self.server.token_ttl})

    def refused(self) -> bool:
        """Whether a fault switch refuses this call (answered here, with
        ``Retry-After`` if one is set)."""
        status = self.server.faults.take()
        if status is not None:
            self.send_json(status, {"error": HTTPStatus(status).phrase},
                           self.server.faults.refusal_headers())
        return status is not None

    def add_posting(self, _query: Query) -> None:
        doc = self.read_json()
        if doc is None:
            return
        if self.refused():
            if isinstance(doc, dict):
                self.server.faults.posting_refused(doc.get("orderId"))
            return
        if not self._authorized():
            return
        errors = validate_posting(doc) if isinstance(doc, dict) else {"body": "must be a JSON object"}
        if errors:
            return self.send_json(400, {"errors": errors})
        shipment, duplicate = self.server.store.add(doc)
        self.server.faults.pause_after_accept()
        self.log.info("posting order=%s barcode=%s weight=%d receiver_phone=%s duplicate=%s",
                      shipment["orderId"], shipment["barcode"], shipment["weight"],
                      mask_phone(shipment["receiver"]["phone"]), duplicate)
        reply = {"orderId": shipment["orderId"], "barcode": shipment["barcode"], "status": shipment["status"]}
        self.send_json(200 if duplicate else 201, {**reply, "duplicate": True} if duplicate else reply)

    def tracking(self, _query: Query, barcode: str) -> None:
        if self.refused():
            return
        if not self._authorized():
            return
        shipment = self.server.store.get(barcode)
        if shipment is None:
            return self.send_json(404, {"error": "not_found"})
        self.send_json(200, {key: shipment[key] for key in ("barcode", "orderId", "status", "events")})

    def advance(self, _query: Query, barcode: str) -> None:
        body = self.read_json()
        if body is None:
            return
        if not isinstance(body, dict) or body.get("status") not in ADVANCE_STATUSES:
            return self.send_json(400, {"error": f"status must be one of {', '.join(ADVANCE_STATUSES)}"})
        # ``"webhook_url": null``: a webhook Pos never sent (courier's polling finds it)
        url = body["webhook_url"] if "webhook_url" in body else self.server.webhook_url
        if url and (not isinstance(url, str) or check_webhook_url(url)):
            return self.send_json(400, {"error": "webhook_url must be an http(s) URL"})
        location, note = body.get("location"), body.get("note", "")
        if not isinstance(note, str) or not (location is None or isinstance(location, str)):
            return self.send_json(400, {"error": "note and location must be strings"})
        event = self.server.store.append_event(barcode, body["status"], location, note)
        if event is None:
            return self.send_json(404, {"error": "not_found"})
        event["eventId"] = str(uuid.uuid4())
        # Deliver outside the store lock: a slow receiver must not stall the API.
        delivered, code = deliver_webhook(url, self.server.webhook_secret, event) if url else (False, None)
        self.log.info("advance barcode=%s status=%s webhook_delivered=%s code=%s",
                      barcode, event["status"], delivered, code)
        self.send_json(200, {"delivered": delivered, "status_code": code, "eventId": event["eventId"]})

    def fault_counts(self, _query: Query) -> None:
        self.send_json(200, self.server.faults.counts())

    def list_shipments(self, _query: Query) -> None:
        self.send_json(200, self.server.store.list())

    def clear_shipments(self, _query: Query) -> None:
        self.server.store.clear()
        self.send_json(200, {"ok": True})


class PosServer(SandboxServer):
    def __init__(self, address: tuple[str, int], *, client_id: str, client_secret: str,
                 token_ttl: float, webhook_url: str | None, webhook_secret: str,
                 journal: Path | None = None) -> None:
        if webhook_url and check_webhook_url(webhook_url):
            raise ValueError(check_webhook_url(webhook_url))
        super().__init__(address, PosHandler)
        self.client_id, self.client_secret, self.token_ttl = client_id, client_secret, token_ttl
        self.webhook_url, self.webhook_secret = webhook_url, webhook_secret
        self.store, self.faults = ShipmentStore(journal), PosFaults()
        self._tokens: dict[str, float] = {}
        self._tokens_lock = threading.Lock()

    def new_token(self) -> str:
        token, now = secrets.token_urlsafe(32), time.monotonic()
        with self._tokens_lock:
            # Drop expired tokens here so a long-running sandbox does not grow without bound.
            self._tokens = {t: exp for t, exp in self._tokens.items() if exp > now}
            self._tokens[token] = now + self.token_ttl
        return token

    def token_valid(self, token: str) -> bool:
        with self._tokens_lock:
            expiry = self._tokens.get(token)
        return expiry is not None and time.monotonic() < expiry


def make_server(host: str, port: int, *, client_id: str = "sandbox-client",
                client_secret: str = "sandbox-secret", token_ttl: float = 3600,
                webhook_url: str | None = None,
                webhook_secret: str = "sandbox-webhook-secret",
                journal: Path | None = None) -> ThreadingHTTPServer:
    return PosServer((host, port), client_id=client_id, client_secret=client_secret, token_ttl=token_ttl,
                     webhook_url=webhook_url, webhook_secret=webhook_secret, journal=journal)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--client-id", default="sandbox-client")
    parser.add_argument("--client-secret", default="sandbox-secret")
    parser.add_argument("--token-ttl", type=int, default=3600, help="seconds")
    parser.add_argument("--webhook-url", default=None)
    parser.add_argument("--webhook-secret", default="sandbox-webhook-secret")
    parser.add_argument("--journal", type=Path, default=None,
                        help="JSON-lines file the shipments are kept in and read back from")
    args = parser.parse_args(argv)
    return serve_cli(args.host, args.port, make_server, client_id=args.client_id,
                     client_secret=args.client_secret, token_ttl=args.token_ttl,
                     webhook_url=args.webhook_url, webhook_secret=args.webhook_secret,
                     journal=args.journal)


if __name__ == "__main__":
    raise SystemExit(main())
