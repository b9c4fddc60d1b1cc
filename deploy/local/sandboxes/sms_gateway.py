"""Local sandbox for a Zenziva-style Indonesian HTTP SMS gateway.

Stands in for the real SMS partner so the notification service and tests can
run offline. The HTTP/CLI plumbing it shares with ``pos_api`` is in
``http_common``.

Run: ``python -m deploy.local.sandboxes.sms_gateway --host 127.0.0.1 --port 0``
"""
from __future__ import annotations

import argparse
import hmac
import logging
import math
import re
import threading
import uuid
from http import HTTPStatus
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from deploy.local.sandboxes.http_common import (FaultInjector, JsonHandler, SandboxServer,
                                                serve_cli, utc_now)
from shared.masking import mask_phone

MAX_MESSAGE_CHARS = 612  # 4 concatenated GSM-7 parts of 153 chars
_MOBILE = re.compile(r"628\d{7,11}")
log = logging.getLogger("sandbox.sms_gateway")


class SmsHandler(JsonHandler):
    server: SmsServer
    routes = [
        ("POST", re.compile(r"/api/sendsms/?"), "send_sms"),
        ("POST", re.compile(r"/sandbox/faults"), "set_faults"),
        ("GET", re.compile(r"/sandbox/messages"), "list_messages"),
        ("DELETE", re.compile(r"/sandbox/messages"), "clear_messages"),
        ("GET", re.compile(r"/health"), "health"),
    ]

    def _fail(self, status: int, text: str) -> None:
        self.send_json(status, {"status": "0", "text": text})

    def _read_fields(self) -> dict[str, Any] | None:
        """Zenziva clients send either form-encoded or JSON bodies."""
        if "json" in (self.headers.get("Content-Type") or ""):
            data = self.read_json()
            if data is not None and not isinstance(data, dict):
                self._fail(400, "body must be a JSON object")
                return None
            return data
        body = self.read_body()
        if body is None:
            return None
        try:
            return {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
        except UnicodeDecodeError:
            self._fail(400, "body must be UTF-8")
            return None

    def send_sms(self, _query: dict[str, list[str]]) -> None:
        fields = self._read_fields()
        if fields is None:
            return
        status = self.server.faults.take(normalize_msisdn(str(fields.get("to", ""))))
        if status is not None:
            return self._fail(status, HTTPStatus(status).phrase)
        values: dict[str, str] = {}
        for name in ("userkey", "passkey", "to", "message", "reference"):
            raw = fields.get(name)
            if isinstance(raw, (str, int)) and not isinstance(raw, bool) and str(raw).strip():
                values[name] = str(raw)
            elif name != "reference":
                return self._fail(400, f"{name} wajib diisi")
        expected = {"userkey": self.server.userkey, "passkey": self.server.passkey}
        # compare_digest on both, evaluated eagerly, so timing does not reveal which was wrong.
        good = [hmac.compare_digest(values[k].encode(), v.encode()) for k, v in expected.items()]
        if not all(good):
            return self._fail(401, "Userkey / Passkey Salah")
        to = normalize_msisdn(values["to"])
        if to is None:
            self.log.info("rejected invalid number %s", mask_phone(values["to"]))
            return self._fail(400, "Nomor tujuan tidak valid")
        message = values["message"]
        if len(message) > MAX_MESSAGE_CHARS:
            return self._fail(400, f"Pesan melebihi {MAX_MESSAGE_CHARS} karakter")
        record, duplicate = self.server.store.add(to, message, values.get("reference"))
        self.log.info("sms to=%s len=%d duplicate=%s", mask_phone(to), len(message), duplicate)
        reply = {"messageId": record["messageId"], "to": record["to"], "status": "1",
                 "text": "Success", "parts": count_parts(record["message"])}
        self.send_json(200, {**reply, "duplicate": True} if duplicate else reply)

    def list_messages(self, query: dict[str, list[str]]) -> None:
        wanted = query.get("to", [None])[0]
        if wanted is not None:
            wanted = normalize_msisdn(wanted) or wanted
        self.send_json(200, self.server.store.list(wanted))

    def clear_messages(self, _query: dict[str, list[str]]) -> None:
        self.server.store.clear()
        self.send_json(200, {"ok": True})


def normalize_msisdn(raw: str) -> str | None:
    """08xx / 628xx / +628xx -> 628xx, or None when it is not an Indonesian mobile."""
    number = re.sub(r"[\s\-.]", "", raw)
    if number.startswith("+62"):
        number = number[1:]
    elif number.startswith("0"):
        number = "62" + number[1:]
    return number if _MOBILE.fullmatch(number) else None


def count_parts(message: str) -> int:
    return 1 if len(message) <= 160 else math.ceil(len(message) / 153)


class MessageStore:
    """In-memory outbox; the reference index makes retried sends idempotent."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: list[dict[str, Any]] = []
        self._by_reference: dict[str, dict[str, Any]] = {}

    def add(self, to: str, message: str, reference: str | None) -> tuple[dict[str, Any], bool]:
        with self._lock:  # check-and-insert must be atomic or concurrent retries double-send
            if reference is not None and reference in self._by_reference:
                return self._by_reference[reference], True
            record = {"messageId": uuid.uuid4().hex, "to": to, "message": message,
                      "reference": reference, "received_at": utc_now()}
            self._messages.append(record)
            if reference is not None:
                self._by_reference[reference] = record
            return record, False

    def list(self, to: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(m) for m in self._messages if to is None or m["to"] == to]

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()
            self._by_reference.clear()


class SmsServer(SandboxServer):
    def __init__(self, address: tuple[str, int], userkey: str, passkey: str) -> None:
        super().__init__(address, SmsHandler)
        self.userkey, self.passkey = userkey, passkey
        self.store = MessageStore()
        self.faults = FaultInjector()


def make_server(host: str, port: int, *, userkey: str = "sandbox-user",
                passkey: str = "sandbox-pass") -> ThreadingHTTPServer:
    return SmsServer((host, port), userkey, passkey)



def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--userkey", default="sandbox-user")
    parser.add_argument("--passkey", default="sandbox-pass")
    args = parser.parse_args(argv)
    return serve_cli(args.host, args.port, make_server, userkey=args.userkey, passkey=args.passkey)


if __name__ == "__main__":
    raise SystemExit(main())
