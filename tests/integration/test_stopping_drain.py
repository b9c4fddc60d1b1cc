"""A container's stop waits for its requests in flight at most
``STOP_DRAIN_SECONDS`` (``shared.stopping``): a client that never sends the
body it announced does not hold the service, which says so, closes its
port and finishes stopping; and the stop leaves the process' signal
handlers as it found them (a test process starts many containers)."""

from __future__ import annotations

import logging
import signal
import socket

import pytest

from deploy.local.stack import free_port
from shared.http import api, json_response


class QuietApi:
    name = "quiet_api"

    @api("POST", "/api/v1/applications")
    def take(self, request):
        return json_response(200, {"ok": True})


def test_a_request_that_never_finishes_holds_the_stop_only_for_the_drain_limit(
        container_factory, caplog):
    port = free_port()
    interrupt = signal.getsignal(signal.SIGINT)
    container = container_factory(QuietApi, {"WEB_SERVER_ADDRESS": f"127.0.0.1:{port}",
                                             "STOP_DRAIN_SECONDS": 1, "BODY_READ_SECONDS": 30})
    container.start()
    held = socket.create_connection(("127.0.0.1", port), timeout=10)
    held.sendall(b"POST /api/v1/applications HTTP/1.1\r\nHost: x\r\nContent-Type: "
                 b"application/json\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n")
    assert held.recv(100).startswith(b"HTTP/1.1 100")  # in the service's hands

    with caplog.at_level(logging.INFO, logger="shared.stopping"):
        container.stop()
    held.close()

    logged = [record.getMessage() for record in caplog.records if record.name == "shared.stopping"]
    assert logged == ["quiet_api stopping (stop): refusing new requests",
                      "quiet_api: 1 requests still in flight after 1 s; closing",
                      "quiet_api stopped"], logged
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    assert signal.getsignal(signal.SIGINT) is interrupt
