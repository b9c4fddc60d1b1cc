"""A service stopped as an orchestrator stops it in a rolling restart: SIGTERM
to its real ``nameko run`` process while a request is in flight. The one in
flight gets its normal answer; meanwhile the probes tell the load balancer
to send no more (``/health/ready`` and ``/health`` 503 ``stopping``,
``/health/live`` 200, ``/metrics`` still scraped) and a new request is refused at once (503
``service_stopping``, or the connection, once the listener is closed) -
intake's each as its OpenAPI document describes; the process exits 0 and
says so in its log (``shared.stopping``).

The request is held in flight by its body: sent with ``Expect:
100-continue``, its headers reach the app, which asks for the body (the
server's ``100 Continue``: the request is in the service's hands), and the
body follows only after the signal."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import socket
import time
from urllib.parse import urlsplit

import pytest
import requests

from tests.e2e.test_broker_outage import Service
from tests.helpers import STATION, eventually
from tests.openapi_answers import assert_answer_matches, served_document


def whatsapp_signature(env: dict, body: bytes) -> dict:
    secret = env["WHATSAPP_APP_SECRET"].encode()
    return {"X-Hub-Signature-256": "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()}


# per service, a request whose body the service reads before its worker runs,
# and its headers (from the service's environment)
REQUESTS = {
    # a station asking for work on an empty database: 204, from the database
    "printing": ("/api/v1/station/jobs/claim", b'{"max": 1}', lambda env, body: STATION),
    # Meta's signed delivery with nothing in it: 200
    "notification": ("/api/v1/whatsapp/webhook",
                     b'{"object": "whatsapp_business_account", "entry": []}', whatsapp_signature),
    # a status lookup missing its fields: 400 naming them
    "intake": ("/api/v1/applications/status", b'{"tracking_code": "SDK"}', lambda env, body: {}),
    # Pos' webhook without its signature: 401
    "courier": ("/api/v1/pos/webhook", b'{"eventId": "e-1"}', lambda env, body: {}),
}


class HeldRequest:
    """A POST whose body waits until ``finish``: raw HTTP/1.1 on a socket."""

    def __init__(self, url: str, path: str, body: bytes, headers: dict):
        address = urlsplit(url)
        self.body = body
        self.sock = socket.create_connection((address.hostname, address.port), timeout=20)
        lines = [f"POST {path} HTTP/1.1", f"Host: {address.netloc}",
                 "Content-Type: application/json", f"Content-Length: {len(body)}",
                 "Expect: 100-continue", *(f"{name}: {value}" for name, value in headers.items())]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.reader = self.sock.makefile("rb")
        interim = self.reader.readline()
        assert interim.startswith(b"HTTP/1.1 100"), interim
        assert self.reader.readline() == b"\r\n"

    def finish(self) -> tuple[int, dict, bytes]:
        self.sock.sendall(self.body)
        status = int(self.reader.readline().split()[1])
        headers = {}
        while (line := self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        answer = self.reader.read(int(headers.get("content-length", 0)))
        self.sock.close()
        return status, headers, answer


def refused_or_stopping(url: str, path: str, body: bytes, headers: dict):
    """A new request after the signal: None when the connection is refused,
    else the answer."""
    try:
        return requests.post(url + path, data=body, timeout=10,
                             headers={"Content-Type": "application/json", **headers})
    except requests.ConnectionError:
        return None


def probe(url: str, status: int):
    """The probe's answer, in a tuple (a 503 ``Response`` is falsy), when it
    has ``status``; None meanwhile, or when its connection is refused."""
    try:
        answer = requests.get(url, timeout=5)
    except requests.ConnectionError:
        return None
    return (answer,) if answer.status_code == status else None


@pytest.mark.parametrize("name", list(REQUESTS))
def test_sigterm_finishes_the_request_in_flight_and_turns_new_ones_away(backing, tmp_path, name):
    service = Service(backing, name, tmp_path / f"{name}.log")
    try:
        path, body, signed = REQUESTS[name]
        headers = signed(backing.env(), body)
        normal = requests.post(service.url + path, data=body, timeout=10,
                               headers={"Content-Type": "application/json", **headers})
        # intake's own description of what it answers (its OpenAPI document)
        document = served_document(service.url) if name == "intake" else None
        held = HeldRequest(service.url, path, body, headers)

        began = time.monotonic()
        os.killpg(service.proc.pid, signal.SIGTERM)
        [ready] = eventually(lambda: probe(service.url + "/health/ready", 503), timeout=10,
                           what="readiness 503")
        assert ready.json()["status"] == "stopping", ready.text
        assert ready.headers["Retry-After"] and ready.headers["Connection"] == "close"
        live = requests.get(service.url + "/health/live", timeout=5)
        assert live.status_code == 200 and live.json()["status"] == "live", live.text
        new = refused_or_stopping(service.url, path, body, headers)
        # the held request keeps the listener open: the new one is answered
        assert new is not None and new.status_code == 503, new and new.text
        assert new.json()["error"]["code"] == "service_stopping", new.text
        assert new.headers["Retry-After"] and new.headers["Connection"] == "close"
        health = requests.get(service.url + "/health", timeout=5)
        assert health.status_code == 503 and health.json()["status"] == "stopping", health.text
        # the metrics still answer: what was refused meanwhile can be scraped
        scraped = requests.get(service.url + "/metrics", timeout=5)
        assert scraped.status_code == 200, scraped.text
        assert scraped.headers["Content-Type"].startswith("text/plain")
        assert scraped.headers["Connection"] == "close"
        assert (f'smartdukcapil_http_requests_total{{container="{name}_api",endpoint='
                f'"<stopping>",method="POST",service="{name}",status="503"}} 1.0'
                in scraped.text), scraped.text[-3000:]
        if document is not None:
            for answer in (ready, live, health):
                assert_answer_matches(document, "GET", urlsplit(answer.url).path,
                                      answer.status_code, answer.json())
            assert_answer_matches(document, "POST", path, 503, new.json())

        status, answer_headers, answer = held.finish()
        assert (status, json.loads(answer or b"null")) == \
            (normal.status_code, normal.json() if normal.content else None), answer
        assert answer_headers["connection"] == "close"

        assert service.proc.wait(timeout=15) == 0
        took = time.monotonic() - began
        print(f"\n{name}: the one in flight answered {status}; SIGTERM to exit {took:.1f} s")
        assert refused_or_stopping(service.url, path, body, headers) is None
        logged = service.logged()
        assert f"{name}_api stopping (SIGTERM): refusing new requests" in logged, logged[-2000:]
        assert f"{name}_api stopped" in logged, logged[-2000:]
        assert "Traceback" not in logged, logged[-4000:]
    finally:
        service.close()
