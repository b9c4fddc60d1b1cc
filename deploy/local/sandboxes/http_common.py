"""HTTP plumbing shared by the local sandboxes (SMS gateway, Pos Indonesia,
WhatsApp): a JSON request handler with a route table, bounded body reading
and logs that mask phone numbers; a fault injector tests switch over HTTP;
posting a signed webhook; and the CLI runner that serves until SIGTERM/SIGINT.
"""
from __future__ import annotations

import json
import re
import logging
import signal
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

from shared.masking import mask_text

log = logging.getLogger("sandbox")

MAX_BODY = 64 * 1024
# Oversized bodies up to this size are read and discarded before answering 413:
# closing a socket with unread input makes the kernel send RST, and the client
# would then see "connection reset" instead of our 413.
_DRAIN_LIMIT = 1024 * 1024


# Webhooks target local services; an inherited HTTP(S)_PROXY must not intercept them.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def check_webhook_url(url: str) -> str | None:
    """Only http(s): urllib would otherwise happily open file:// or ftp:// URLs."""
    parts = urlsplit(url)
    ok = parts.scheme in ("http", "https") and bool(parts.netloc)
    return None if ok else "webhook_url must be an http(s) URL"


def post_webhook(url: str, body: bytes, headers: dict[str, str]) -> tuple[bool, int | None]:
    """POST a webhook's JSON ``body`` with ``headers`` (its signature);
    (answered 2xx, HTTP status or None if unreachable)."""
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json", **headers})
    try:
        with _OPENER.open(request, timeout=5) as response:
            return 200 <= response.status < 300, response.status
    except urllib.error.HTTPError as exc:
        return False, exc.code
    except (urllib.error.URLError, OSError):
        return False, None


class SandboxServer(ThreadingHTTPServer):
    """A threading HTTP server whose kept-alive connections end with it:
    ``server_close`` shuts each one, as a partner's server going away would,
    instead of leaving its thread serving the client until the idle timeout."""

    daemon_threads = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def server_close(self) -> None:
        super().server_close()
        with self._open_lock:
            still_open, self._open = list(self._open), set()
        for request in still_open:
            try:
                request.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # the client closed it meanwhile


class FaultInjector:
    """Thread-safe "fail the next N calls" / "add latency" switch for tests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.fail_next, self.status, self.delay_ms = 0, 503, 0
        # fail only the calls for this recipient (SMS: the number as
        # ``sms_gateway.normalize_msisdn`` writes it); None: every call
        self.only_to: str | None = None

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
        if spec.get("only_to") is not None and not isinstance(spec["only_to"], str):
            return "only_to must be a string or null"
        with self._lock:
            for key in (*limits, "only_to"):
                if key in spec:
                    setattr(self, key, spec[key])
        return None

    def take(self, to: str | None = None) -> int | None:
        """Apply configured latency; return an HTTP status if this call (for
        recipient ``to``, where it has one) must fail."""
        with self._lock:
            delay, status = self.delay_ms, None
            if self.fail_next > 0 and self.only_to in (None, to):
                self.fail_next -= 1
                status = self.status
        if delay:
            time.sleep(delay / 1000)  # outside the lock so other calls are not serialised
        return status


Route = tuple[str, re.Pattern, str]


class JsonHandler(BaseHTTPRequestHandler):
    """Regex-routed JSON handler with a body cap and privacy-preserving logs."""

    server_version = "Sandbox/1.0"
    # connections kept alive, as the partners' own servers keep them: with
    # HTTP/1.0 every call opened a connection (and a thread here)
    protocol_version = "HTTP/1.1"
    # the headers and the body go out as two writes: on a kept connection,
    # Nagle's algorithm held the body until the client's delayed ACK, 40 ms
    # on every call (measured: p50 44 ms, 0.4 ms with TCP_NODELAY)
    disable_nagle_algorithm = True
    timeout = 15  # a stalled client, or an idle kept connection, must not pin a thread forever
    routes: list[Route] = []
    log = log

    def _dispatch(self) -> None:
        self._body_read = False
        try:
            self._route()
        finally:
            if not self._body_read and (self._declared_length() != "0"
                                        or "Transfer-Encoding" in self.headers):
                # a body the route did not read would be parsed as the next request
                self.close_connection = True

    def _route(self) -> None:
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

    def _declared_length(self) -> str:
        """The request's Content-Length as sent ("0" without one)."""
        return (self.headers.get("Content-Length") or "0").strip()

    def read_body(self) -> bytes | None:
        """Return the request body, or None after answering 400/413 ourselves."""
        self._body_read = True
        raw = self._declared_length()
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

    def set_faults(self, _query: dict[str, list[str]]) -> None:
        """``POST /sandbox/faults`` of a sandbox whose server has ``faults`` (a FaultInjector)."""
        spec = self.read_json()
        if spec is not None:
            error = self.server.faults.configure(spec)
            self.send_json(400 if error else 200, {"error": error} if error else {"ok": True})

    def health(self, _query: dict[str, list[str]]) -> None:
        self.send_json(200, {"status": "ok"})

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # The default logs the raw request line, query string (phone filters) included.
        self.log.info("%s %s -> %s", self.command, urlsplit(self.path).path, code)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        self.log.info("%s", mask_text(format % args))


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

