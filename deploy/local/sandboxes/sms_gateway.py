"""Local sandbox for a Zenziva-style Indonesian HTTP SMS gateway.

Stands in for the real SMS partner so the notification service and tests can
run offline. It also hosts the small HTTP/CLI plumbing that ``pos_api`` reuses
(this package deliberately has no separate helper module).

Run: ``python -m deploy.local.sandboxes.sms_gateway --host 127.0.0.1 --port 0``
"""
from __future__ import annotations

import argparse
import hmac
import json
import logging
import math
import re
import signal
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

MAX_BODY = 64 * 1024
# Oversized bodies up to this size are read and discarded before answering 413:
# closing a socket with unread input makes the kernel send RST, and the client
# would then see "connection reset" instead of our 413.
_DRAIN_LIMIT = 1024 * 1024
MAX_MESSAGE_CHARS = 612  # 4 concatenated GSM-7 parts of 153 chars
_PHONE_RUN = re.compile(r"\+?\d{10,15}")
_MOBILE = re.compile(r"628\d{7,11}")
log = logging.getLogger("sandbox.sms_gateway")


def mask_phone(number: str) -> str:
    """Keep the first 4 and last 3 characters: ``0812*****678``."""
    if len(number) <= 7:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 7) + number[-3:]


def scrub(text: str) -> str:
    """Mask anything that looks like a phone number before it reaches a log."""
    return _PHONE_RUN.sub(lambda m: mask_phone(m.group()), text)


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class FaultInjector:
    """Thread-safe "fail the next N calls" / "add latency" switch for tests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.fail_next, self.status, self.delay_ms = 0, 503, 0

    def configure(self, spec: Any) -> str | None:
        """Apply a JSON fault spec; return an error text when it is invalid."""
        if not isinstance(spec, dict):
            return "body must be a JSON object"
        limits = {"fail_next": (0, 10**6), "status": (400, 599), "delay_ms": (0, 60_000)}
        for key, (low, high) in limits.items():
            value = spec.get(key)
            # bool is an int subclass; true/false must not sneak in as 1/0.
            if key in spec and (type(value) is not int or not low <= value <= high):
                return f"{key} must be an integer in [{low}, {high}]"
        with self._lock:
            for key in limits:
                if key in spec:
                    setattr(self, key, spec[key])
        return None

    def take(self) -> int | None:
        """Apply configured latency; return an HTTP status if this call must fail."""
        with self._lock:
            delay, status = self.delay_ms, None
            if self.fail_next > 0:
                self.fail_next -= 1
                status = self.status
        if delay:
            time.sleep(delay / 1000)  # outside the lock so other calls are not serialised
        return status


Route = tuple[str, "re.Pattern[str]", str]


class JsonHandler(BaseHTTPRequestHandler):
    """Regex-routed JSON handler with a body cap and privacy-preserving logs."""

    server_version = "Sandbox/1.0"
    timeout = 15  # a stalled client must not pin a worker thread forever
    routes: list[Route] = []
    log = log

    def _dispatch(self) -> None:
        method, url = self.command, urlsplit(self.path)
        allowed = False
        for verb, pattern, name in self.routes:
            match = pattern.fullmatch(url.path)
            if match and verb == method:
                try:
                    getattr(self, name)(parse_qs(url.query), *match.groups())
                except Exception:  # noqa: BLE001 - a sandbox must answer, not hang up
                    self.log.exception("unhandled error on %s %s", method, url.path)
                    self.send_json(500, {"error": "internal sandbox error"})
                return
            allowed = allowed or bool(match)
        self.send_json(405 if allowed else 404, {"error": "method not allowed" if allowed else "not found"})

    do_GET = do_POST = do_DELETE = _dispatch

    def send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def read_body(self) -> bytes | None:
        """Return the request body, or None after answering 400/413 ourselves."""
        raw = (self.headers.get("Content-Length") or "0").strip()
        if not raw.isdigit():
            self.close_connection = True
            self.send_json(400, {"error": "invalid Content-Length"})
            return None
        length = int(raw)
        if length > MAX_BODY:
            self.close_connection = True
            if length <= _DRAIN_LIMIT:
                self.rfile.read(length)
            self.send_json(413, {"error": f"body exceeds {MAX_BODY} bytes"})
            return None
        return self.rfile.read(length)

    def read_json(self) -> Any:
        """Parsed JSON body (``{}`` when empty), or None after answering 400."""
        body = self.read_body()
        if body is None:
            return None
        try:
            return json.loads(body) if body.strip() else {}
        except (ValueError, UnicodeDecodeError):
            self.send_json(400, {"error": "body is not valid JSON"})
            return None

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # The default logs the raw request line, query string (phone filters) included.
        self.log.info("%s %s -> %s", self.command, urlsplit(self.path).path, code)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        self.log.info("%s", scrub(format % args))


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
        status = self.server.faults.take()
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

    def set_faults(self, _query: dict[str, list[str]]) -> None:
        spec = self.read_json()
        if spec is not None:
            error = self.server.faults.configure(spec)
            self.send_json(400 if error else 200, {"error": error} if error else {"ok": True})

    def list_messages(self, query: dict[str, list[str]]) -> None:
        wanted = query.get("to", [None])[0]
        if wanted is not None:
            wanted = normalize_msisdn(wanted) or wanted
        self.send_json(200, self.server.store.list(wanted))

    def clear_messages(self, _query: dict[str, list[str]]) -> None:
        self.server.store.clear()
        self.send_json(200, {"ok": True})

    def health(self, _query: dict[str, list[str]]) -> None:
        self.send_json(200, {"status": "ok"})


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


class SmsServer(ThreadingHTTPServer):
    def __init__(self, address: tuple[str, int], userkey: str, passkey: str) -> None:
        super().__init__(address, SmsHandler)
        self.userkey, self.passkey = userkey, passkey
        self.store = MessageStore()
        self.faults = FaultInjector()


def make_server(host: str, port: int, *, userkey: str = "sandbox-user",
                passkey: str = "sandbox-pass") -> ThreadingHTTPServer:
    return SmsServer((host, port), userkey, passkey)


def serve_cli(host: str, port: int, factory: Callable[..., ThreadingHTTPServer], **opts: Any) -> int:
    """Serve until SIGTERM/SIGINT, announcing the bound URL as the only stdout line."""
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    server = factory(host, port, **opts)

    def stop(signum: int, _frame: Any) -> None:
        # shutdown() blocks until serve_forever returns, so it cannot run on this thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"LISTENING http://{host}:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


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
