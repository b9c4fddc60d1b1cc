"""Clients that trickle their body cost a connection each, never a worker.

Sixty-four connections declare a 60,000-byte body and send one byte of it - more
connections than intake has HTTP workers (56). While they hang, ten other
citizens submit (202) and look up their status (200). Then the server's body
deadline (``BODY_READ_SECONDS``, 10 s by default) answers each trickler 408
and closes its connection.
"""

from __future__ import annotations

import json
import socket
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import requests

from shared.http import DEFAULT_BODY_READ_SECONDS
from tests.helpers import valid_body, read_until_closed, trickling_post

TRICKLERS = 64
CITIZENS = 10


def still_waiting(sock: socket.socket) -> bool:
    """Open, and answered nothing yet."""
    sock.setblocking(False)
    try:
        sock.recv(1)
    except BlockingIOError:
        return True
    finally:
        sock.setblocking(True)
    return False  # data or EOF


def citizen(intake: str) -> tuple[int, int]:
    body = valid_body()
    submitted = requests.post(f"{intake}/api/v1/applications", json=body, timeout=10)
    if submitted.status_code != 202:
        return submitted.status_code, 0
    lookup = requests.post(f"{intake}/api/v1/applications/status", timeout=10, json={
        "tracking_code": submitted.json()["tracking_code"], "nik": body["applicant"]["nik"]})
    return submitted.status_code, lookup.status_code


def test_trickling_clients_do_not_stop_other_citizens(system):
    intake = system.url("intake")
    address = (urlsplit(intake).hostname, urlsplit(intake).port)
    tricklers = [trickling_post(address) for _ in range(TRICKLERS)]
    try:
        with ThreadPoolExecutor(CITIZENS) as pool:
            outcomes = list(pool.map(citizen, [intake] * CITIZENS))
        assert outcomes == [(202, 200)] * CITIZENS
        # the tricklers were hanging all along, not refused or answered early
        assert all(still_waiting(sock) for sock in tricklers)

        for sock in tricklers:
            answer = read_until_closed(sock, within=DEFAULT_BODY_READ_SECONDS + 20)
            head, _, body = answer.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 408"), head
            assert json.loads(body)["error"]["code"] == "request_timeout"
    finally:
        for sock in tricklers:
            sock.close()
