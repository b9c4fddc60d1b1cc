"""Printing's HTTP API run in-process on a database of its own: what a
station reads, byte for byte, when the queue is empty."""

from __future__ import annotations

import uuid

from services.printing.service import PrintingApi
from tests.helpers import STATION_TOKEN, pipelined, service_config


def test_an_empty_claim_is_a_204_with_nothing_after_its_headers(backing, container_factory):
    """The station agent claims in a loop on one kept connection: a 204 with
    a chunked empty body (``0\\r\\n\\r\\n``) broke every empty claim of a
    Node.js agent (HPE_INVALID_CONSTANT). The answer ends with its headers,
    so the next request's answer starts right after them."""
    config = service_config(backing, f"printing_{uuid.uuid4().hex[:6]}")
    container_factory(PrintingApi, config).start()
    host, port = config["WEB_SERVER_ADDRESS"].split(":")
    claim = (b"POST /api/v1/station/jobs/claim HTTP/1.1\r\nHost: printing\r\n"
             b"Authorization: Bearer " + STATION_TOKEN.encode() + b"\r\nContent-Length: 0\r\n")

    received = pipelined((host, int(port)), claim + b"\r\n",
                         claim + b"Connection: close\r\n\r\n")

    first, after = received.split(b"\r\n\r\n", 1)
    assert first.startswith(b"HTTP/1.1 204 "), received
    headers = dict(line.split(b": ", 1) for line in first.lower().split(b"\r\n")[1:])
    assert b"transfer-encoding" not in headers and b"content-type" not in headers
    assert headers.get(b"content-length", b"0") == b"0"  # eventlet 0.33's own; see Bodyless
    assert after.startswith(b"HTTP/1.1 204 ") and after.endswith(b"\r\n\r\n"), after
