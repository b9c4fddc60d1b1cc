"""The HTTP server's two deadlines (``shared.http``), with short settings, on a
small service of ``api`` entrypoints run in-process.

* ``BODY_READ_SECONDS``: a body must arrive in full within it - also one that
  keeps trickling a byte at a time, which a per-read socket timeout would let
  through for ever. The answer is 408, then the connection closes.
* ``IDLE_CONNECTION_SECONDS``: a connection that sends nothing is closed.
"""

from __future__ import annotations

import json
import socket
import time

import pytest
import requests
from marshmallow import INCLUDE, Schema

from deploy.local.stack import free_port
from shared.http import api, json_response, read_json
from tests.helpers import read_until_closed, trickling_post


class AnyObject(Schema):
    class Meta:
        unknown = INCLUDE


class EchoApi:
    name = "echo_api"

    @api("POST", "/api/v1/applications")
    def echo(self, request):
        return json_response(200, read_json(request, AnyObject()))


@pytest.fixture
def address(container_factory):
    port = free_port()
    container_factory(EchoApi, {"WEB_SERVER_ADDRESS": f"127.0.0.1:{port}",
                                "BODY_READ_SECONDS": 1, "IDLE_CONNECTION_SECONDS": 2}).start()
    return "127.0.0.1", port


@pytest.mark.parametrize("chunked", [False, True])
def test_a_trickled_body_gets_408_at_the_deadline_and_the_connection_closes(address, chunked):
    sock = trickling_post(address, chunked)
    try:
        for _ in range(6):  # a byte every 0.3 s: never idle, never done
            time.sleep(0.3)
            try:
                sock.sendall(b"1\r\n \r\n" if chunked else b" ")
            except OSError:
                break  # the server has already closed its side
        answer = read_until_closed(sock, within=10)
    finally:
        sock.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), head
    assert json.loads(body)["error"] == {
        "code": "request_timeout",
        "message": "Isi permintaan tidak diterima lengkap dalam 1 detik."}


def test_a_silent_connection_is_closed(address):
    with socket.create_connection(address, timeout=10) as sock:
        assert read_until_closed(sock, within=10) == b""


def test_a_prompt_client_is_served_on_one_kept_connection(address):
    with requests.Session() as session:
        for number in range(3):
            response = session.post(f"http://{address[0]}:{address[1]}/api/v1/applications",
                                    json={"n": number}, timeout=10)
            assert (response.status_code, response.json()) == (200, {"n": number})
