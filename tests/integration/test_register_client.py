"""Intake's population-register client over real HTTP (a scripted local
server standing in for SIAK; the full sandbox: test_sandboxes.py): people
and families as the contract has them (docs/register-api.md), and every
failure - nothing listening, no answer in time, a 5xx, a redirect, an
answer that is not the contract's JSON - is ``RegisterUnavailable``, after
which the register is not asked for ``pause`` seconds."""

from __future__ import annotations

import datetime
import json
import queue
import socket
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest

from services.intake.population import RegisterUnavailable
from services.intake.register import RegisterClient
from shared.partners import partner_pool

KK = "3673041201100003"
MOTHER, FATHER = "3673045207900001", "3673041503880001"
PERSON = {"nik": MOTHER, "kk_number": KK, "full_name": "Siti Aminah", "sex": "F",
          "birth_date": "1990-07-12", "relation": "istri", "ktp_el_recorded": True,
          "deceased": False}
HANG = "hang"  # an answer that comes after the client's timeout


@contextmanager
def register(*answers: Any) -> Iterator[tuple[str, "queue.Queue[tuple[str, dict, dict]]"]]:
    """A server answering each POST with the next of ``answers`` ((status,
    body: JSON or bytes), or ``HANG``), recording (path, headers, body)."""
    asked: queue.Queue[tuple[str, dict, dict]] = queue.Queue()
    script = list(answers)

    class Scripted(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            asked.put((self.path, dict(self.headers), json.loads(raw)))
            answer = script.pop(0)
            if answer == HANG:
                time.sleep(1.0)
                answer = (200, {"found": False})
            status, body = answer
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", "/api/v1/elsewhere")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Scripted)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", asked
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


def client(url: str, clock: Clock | None = None, timeout: float = 2) -> RegisterClient:
    return RegisterClient(partner_pool({"max_workers": 4}), url, timeout=timeout, pause=5,
                          **({"clock": clock} if clock else {}))


def test_people_families_or_none_asked_by_post_with_json():
    family = {"kk_number": KK, "kelurahan_code": "3673041010", "members": [PERSON]}
    with register((200, {"found": True, "person": PERSON}), (200, {"found": False}),
                  (200, {"found": True, "family": family})) as (url, asked):
        ask = client(url)
        assert ask.person(MOTHER).birth_date == datetime.date(1990, 7, 12)
        assert ask.person(FATHER) is None
        assert ask.family(KK).member(MOTHER).kk_number == KK
        path, headers, body = asked.get(timeout=1)
        # the NIK in the body, never in the URL (no access log keeps it)
        assert (path, body) == ("/api/v1/penduduk", {"nik": MOTHER})
        assert headers["Content-Type"] == "application/json"
        assert asked.get(timeout=1)[0] == "/api/v1/penduduk"
        assert asked.get(timeout=1)[::2] == ("/api/v1/keluarga", {"kk_number": KK})


def nothing_listening() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


@pytest.mark.parametrize("failure", [(503, {"error": "down"}), (404, {"error": "x"}),
                                     (302, b""), (204, b""), (200, b"<html>"), (200, b"[]"),
                                     (200, {"found": True, "person": {"nik": MOTHER}}), HANG])
def test_a_failure_is_unavailable_then_a_pause_then_asked_again(failure):
    clock = Clock()
    with register(failure, (200, {"found": False})) as (url, asked):
        ask = client(url, clock, timeout=0.3)
        with pytest.raises(RegisterUnavailable):
            ask.person(MOTHER)
        clock.now += 4.9
        with pytest.raises(RegisterUnavailable):  # paused: not even asked
            ask.person(MOTHER)
        assert asked.qsize() == 1
        clock.now += 0.2
        assert ask.person(MOTHER) is None
        assert asked.qsize() == 2


def test_nothing_listening_is_unavailable_naming_only_the_kind_of_failure():
    with pytest.raises(RegisterUnavailable) as raised:
        client(nothing_listening()).family(KK)
    assert str(raised.value) == "NewConnectionError"  # no URL, no KK
