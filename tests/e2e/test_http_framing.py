"""How a request's bytes are read, on the real stack (outside audit, F4-F7).

A body length given two ways was read the first way, and the rest of the
body answered as a second request on the same connection (request
smuggling); an over-long URL or header line, a malformed Content-Length got
an empty body, not the documented JSON error; a body labelled gzip was read
as plain JSON; a name given twice in one JSON object kept its last value,
also past the Pos webhook's status check; a UTF-16 body was read as JSON.
Each is now refused, nothing stored.
"""

from __future__ import annotations

import gzip
import json
import socket
import time
import uuid
from urllib.parse import urlsplit

import pytest
import requests

from deploy.local.sandboxes.pos_api import sign_webhook
from tests.helpers import read_until_closed, valid_body


def address(system, service: str = "intake") -> tuple[str, int]:
    url = urlsplit(system.url(service))
    return url.hostname, url.port


def exchange(system, raw: bytes) -> bytes:
    """Send ``raw`` on one connection; everything answered until the server
    closes it (the server must close: no request here says so)."""
    with socket.create_connection(address(system), timeout=10) as sock:
        sock.sendall(raw)
        return read_until_closed(sock, within=10)


def one_json_answer(received: bytes) -> tuple[bytes, dict]:
    """The status line and JSON body of the only answer in ``received``."""
    head, _, body = received.partition(b"\r\n\r\n")
    assert received.count(b"HTTP/1.") == 1, received  # no second answer
    headers = head.lower()
    assert b"content-type: application/json" in headers and b"connection: close" in headers
    return head.split(b"\r\n")[0], json.loads(body)


def post(headers: bytes, body: bytes = b"", path: bytes = b"/api/v1/applications") -> bytes:
    return (b"POST " + path + b" HTTP/1.1\r\nHost: intake\r\nContent-Type: application/json\r\n"
            + headers + b"\r\n" + body)


SMUGGLED = b"GET /health HTTP/1.1\r\nHost: intake\r\n\r\n"


@pytest.mark.parametrize("lengths", [
    [b"2", None], [None, b"2"], [b"abc"], [b"-5"], [b"+5"], [b"5, 5"], [b"\xd9\xa5"]])
def test_a_content_length_read_two_ways_or_not_a_number_is_a_400_and_the_end(
        system, intake_state, lengths):
    """``Content-Length: 2`` then the real length: eventlet took the first,
    answered the rest of the body as a second request (404, then 200 for the
    smuggled GET). Now one JSON 400 naming the header, and the connection
    closes before anything else is read."""
    body = json.dumps(valid_body()).encode() + SMUGGLED
    headers = b"".join(b"Content-Length: " + (value or str(len(body)).encode()) + b"\r\n"
                       for value in lengths)
    before = intake_state()
    status, error = one_json_answer(exchange(system, post(headers, body)))
    assert status.startswith(b"HTTP/1.1 400 ")
    assert error["error"]["code"] == "validation_failed"
    assert error["error"]["fields"] == {
        "Content-Length": ["Harus satu bilangan bulat tidak negatif, diberikan sekali."]}
    assert intake_state() == before


@pytest.mark.parametrize("headers", [
    b"Transfer-Encoding: chunked\r\nContent-Length: 4\r\n",
    b"Transfer-Encoding: gzip, chunked\r\n",
    b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"])
def test_a_transfer_encoding_other_than_one_chunked_is_a_400_and_the_end(system, headers):
    body = b"2\r\n{}\r\n0\r\n\r\n"
    status, error = one_json_answer(exchange(
        system, post(headers + b"Accept-Language: en\r\n", body + SMUGGLED)))
    assert status.startswith(b"HTTP/1.1 400 ")
    assert list(error["error"]["fields"]) == ["Transfer-Encoding"]
    assert error["error"]["message"] == "Invalid request data: Transfer-Encoding"


def test_an_over_long_url_is_a_json_414(system):
    status, error = one_json_answer(exchange(
        system, b"GET /api/v1/" + b"a" * 9000 + b" HTTP/1.1\r\nHost: intake\r\n\r\n"))
    assert status.startswith(b"HTTP/1.1 414 ")
    assert error == {"error": {"code": "uri_too_long", "message": "Baris permintaan (metode "
                               "dan URL) terlalu panjang: batasnya 8192 byte."}}


def test_an_over_long_header_line_is_a_json_431(system):
    status, error = one_json_answer(exchange(
        system, b"GET /health HTTP/1.1\r\nHost: intake\r\nX-Long: " + b"a" * 9000 + b"\r\n\r\n"))
    assert status.startswith(b"HTTP/1.1 431 ")
    assert error["error"]["code"] == "headers_too_large"


def test_a_request_line_http_cannot_read_is_a_json_400(system):
    status, error = one_json_answer(exchange(system, b"GET /health HTTP/x.y\r\n\r\n"))
    assert status.startswith(b"HTTP/1.1 400 ")
    assert error["error"]["code"] == "bad_request"


def test_a_well_framed_request_still_keeps_its_connection(system):
    """Two requests, one connection: both answered (the second closes)."""
    with socket.create_connection(address(system), timeout=10) as sock:
        sock.sendall(post(b"Content-Length: 2\r\n", b"{}") + b"GET /health/live HTTP/1.1\r\n"
                     b"Host: intake\r\nConnection: close\r\n\r\n")
        received = read_until_closed(sock, within=10)
    assert received.startswith(b"HTTP/1.1 400 ")
    assert received.count(b"HTTP/1.1 200 ") == 1


@pytest.mark.parametrize(("encoding", "body"), [
    ("gzip", lambda: json.dumps(valid_body()).encode()),
    ("gzip", lambda: gzip.compress(json.dumps(valid_body()).encode())),
    ("br", lambda: json.dumps(valid_body()).encode()),
    ("identity, gzip", lambda: json.dumps(valid_body()).encode())])
def test_a_body_with_a_content_encoding_is_a_415_naming_it(system, intake_state, encoding, body):
    before = intake_state()
    answer = requests.post(f"{system.url('intake')}/api/v1/applications", data=body(),
                           timeout=10, headers={"Content-Type": "application/json",
                                                "Content-Encoding": encoding})
    assert answer.status_code == 415, answer.text
    error = answer.json()["error"]
    assert error["code"] == "unsupported_media_type"
    assert error["fields"] == {"Content-Encoding": [
        f"Kirim isi permintaan tanpa Content-Encoding (diterima: {encoding})."]}
    assert intake_state() == before


def test_content_encoding_identity_is_the_body_as_sent(system):
    answer = requests.post(f"{system.url('intake')}/api/v1/applications", json=valid_body(),
                           timeout=10, headers={"Content-Encoding": "identity"})
    assert answer.status_code == 202, answer.text


def repeated(body: dict, path: str, first) -> bytes:
    """``body`` as JSON with the member at ``path`` given twice, ``first``
    before its own value."""
    *parents, name = path.split(".")
    marker = "REPEATED-HERE"
    target = body
    for part in parents:
        target = target[part]
    target[marker] = None
    text = json.dumps(body)
    return text.replace(f'"{marker}": null', f'"{name}": {json.dumps(first)}').encode()


@pytest.mark.parametrize(("path", "first"), [("channel", "bogus"), ("applicant.nik", "0"),
                                            ("details.reason", "first_issue")])
def test_a_name_given_twice_in_one_object_is_a_400_naming_it(system, intake_state, path, first):
    raw = repeated(valid_body(), path, first)
    name = path.rpartition(".")[2]
    before = intake_state()
    for lang, message in (
            ("id", f'Nama kolom "{name}" muncul lebih dari sekali dalam satu objek.'),
            ("en", f'Field name "{name}" appears more than once in one object.')):
        answer = requests.post(f"{system.url('intake')}/api/v1/applications", data=raw,
                               timeout=10, headers={"Content-Type": "application/json",
                                                    "Accept-Language": lang})
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"]["fields"] == {"_body": [message]}
    assert intake_state() == before


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-32"])
def test_a_body_not_in_utf8_is_a_400(system, intake_state, codec):
    before = intake_state()
    answer = requests.post(f"{system.url('intake')}/api/v1/applications", timeout=10,
                           data=json.dumps(valid_body()).encode(codec),
                           headers={"Content-Type": "application/json"})
    assert answer.status_code == 400, answer.text
    assert list(answer.json()["error"]["fields"]) == ["_body"]
    assert intake_state() == before


def test_a_utf8_body_after_a_byte_order_mark_is_taken(system):
    answer = requests.post(f"{system.url('intake')}/api/v1/applications", timeout=10,
                           data=json.dumps(valid_body()).encode("utf-8-sig"),
                           headers={"Content-Type": "application/json"})
    assert answer.status_code == 202, answer.text


def test_a_pos_webhook_with_its_status_twice_is_refused(system):
    """Signed as Pos signs: ``"status": "LOST", "status": "DELIVERED"`` passed
    the status check as DELIVERED (and Pos' own reader may keep LOST)."""
    news = {"eventId": uuid.uuid4().hex, "barcode": "P-NONE", "status": "LOST",
            "at": "2026-11-29T10:00:00+07:00"}
    raw = json.dumps(news).replace('"status": "LOST"',
                                   '"status": "LOST", "status": "DELIVERED"').encode()
    signature = sign_webhook(system.env()["POS_WEBHOOK_SECRET"], raw, int(time.time()))
    answer = requests.post(f"{system.url('courier')}/api/v1/pos/webhook", data=raw, timeout=10,
                           headers={"Content-Type": "application/json",
                                    "X-Pos-Signature": signature})
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["fields"] == {
        "_body": ['Nama kolom "status" muncul lebih dari sekali dalam satu objek.']}
