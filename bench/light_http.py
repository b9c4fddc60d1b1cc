"""The load generator's HTTP client for the citizens' requests: one
keep-alive ``http.client`` connection per host, no more.

The benchmark shares the two cores with what it measures. ``requests``
spent ~1.7 ms of CPU on a request here, ``http.client`` ~0.5 ms (1,000
POSTs to a local server answering 503): at 4x the saturation rate the
benchmark itself took 0.39 core and sent only 194 of the 281.6 requests a
second it meant to (bench/README.md, forty-first session). The bare nameko
ceiling is measured with the same client, so the ratios to it compare
like with like.

``LightSession`` answers the part of ``requests.Session`` the benchmark
uses: ``post(url, json=, timeout=)`` and ``get(url, timeout=)``, an answer
with ``status_code``, ``headers`` and ``json()``; a transport failure
raises ``RequestFailed``, a ``requests.RequestException``, so the
benchmark's handling of failures is the same for both clients. A POST is
never sent twice: a connection the server closed while idle is found
closed before it is used (as urllib3 does), and a failure during a
request is the request's outcome.
"""

from __future__ import annotations

import json as json_module
import socket
from http.client import HTTPConnection, HTTPException
from urllib.parse import urlsplit

import requests


class RequestFailed(requests.RequestException):
    """The request got no answer (the connection failed or was cut)."""


class Answer:
    def __init__(self, status_code: int, headers, body: bytes):
        self.status_code, self.headers, self.body = status_code, headers, body

    def json(self):
        return json_module.loads(self.body)


class LightSession:
    def __init__(self):
        self.connections: dict[tuple[str, int], HTTPConnection] = {}

    def post(self, url: str, json=None, timeout: float = 30) -> Answer:
        return self._request("POST", url, json_module.dumps(json).encode(), timeout)

    def get(self, url: str, timeout: float = 30) -> Answer:
        return self._request("GET", url, None, timeout)

    def _request(self, method: str, url: str, body: bytes | None, timeout: float) -> Answer:
        parts = urlsplit(url)
        key = (parts.hostname, parts.port or 80)
        connection = self._connection(key, timeout)
        headers = {"Content-Type": "application/json"} if body is not None else {}
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        try:
            connection.request(method, path, body=body, headers=headers)
            answer = connection.getresponse()
            data = answer.read()
        except (OSError, HTTPException) as exc:
            self._drop(key)
            raise RequestFailed(f"{type(exc).__name__}: {exc}") from exc
        if answer.will_close:
            self._drop(key)
        return Answer(answer.status, answer.headers, data)

    def _connection(self, key: tuple[str, int], timeout: float) -> HTTPConnection:
        connection = self.connections.get(key)
        if connection is not None and connection.sock is not None and closed_by_peer(
                connection.sock):
            self._drop(key)
            connection = None
        if connection is None:
            connection = self.connections[key] = HTTPConnection(*key, timeout=timeout)
        connection.timeout = timeout
        if connection.sock is not None:
            connection.sock.settimeout(timeout)
        return connection

    def _drop(self, key: tuple[str, int]) -> None:
        connection = self.connections.pop(key, None)
        if connection is not None:
            connection.close()

    def close(self) -> None:
        for key in list(self.connections):
            self._drop(key)


def closed_by_peer(sock) -> bool:
    """An idle keep-alive connection with something to read has been
    closed by the server (or sent what nobody asked for): not reusable.
    Peeked at without waiting, not ``select``ed: select takes no descriptor
    from 1,024 up (ValueError) - at 4x a saturation of 148.6/s the
    benchmark's 1,188 senders had more sockets than that, and 1,998 submits
    and 3,069 lookups "failed" with the generator's own ValueError
    (forty-eighth session)."""
    timeout = sock.gettimeout()
    sock.setblocking(False)
    try:
        sock.recv(1, socket.MSG_PEEK)
    except BlockingIOError:
        return False  # nothing to read: still open
    except OSError:
        return True  # reset
    finally:
        sock.settimeout(timeout)
    return True  # the end of the stream, or bytes nobody asked for
