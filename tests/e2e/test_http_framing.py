"""How a request's bytes are read, on the real stack (outside audits: F4-F7, D5-D7).

A body length given two ways was read the first way, and the rest of the
body answered as a second request on the same connection (request
smuggling); an over-long URL or header line, a malformed Content-Length got
an empty body, not the documented JSON error; a body labelled gzip was read
as plain JSON; a name given twice in one JSON object kept its last value,
also past the Pos webhook's status check; a UTF-16 body was read as JSON.
Then (D5-D7): ``Content-Length : 35`` (whitespace before the colon) was no
header at all, and the body again answered as a second request, on every
service; a malformed chunk size answered 408 as if the network were slow;
an empty Content-Encoding was a 415, and a UTF-16 body without a
byte-order mark "not valid JSON". Each is now refused, nothing stored.
Then (E2 F5, F6): a bare LF inside a block of CRLF lines ended a header
line here but not to a proxy that ends lines at CRLF only - the body again
a second request to one of them; ``Content-Length: 2<SP>`` was refused
while ``Content-Length:<SP>2`` was taken.
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
from tests.helpers import OPERATOR, read_until_closed, valid_body


def address(system, service: str = "intake") -> tuple[str, int]:
    url = urlsplit(system.url(service))
    return url.hostname, url.port


def exchange(system, raw: bytes, service: str = "intake") -> bytes:
    """Send ``raw`` on one connection; everything answered until the server
    closes it (the server must close: no request here says so)."""
    with socket.create_connection(address(system, service), timeout=10) as sock:
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


# a POST each service takes, whose body the smuggled GET hides in
SERVICE_POSTS = {"intake": b"/api/v1/applications/status", "courier": b"/api/v1/pos/webhook",
                 "printing": b"/api/v1/pickup/windows"}


@pytest.mark.parametrize("service", list(SERVICE_POSTS))
@pytest.mark.parametrize(("headers", "message"), [
    (b"Content-Length : %d\r\n",
     'Header "Content-Length": tidak boleh ada spasi di antara nama dan titik dua.'),
    (b"Transfer-Encoding\t: chunked\r\nContent-Length: 0\r\n",
     'Header "Transfer-Encoding": tidak boleh ada spasi di antara nama dan titik dua.')])
def test_whitespace_before_a_header_colon_is_a_400_and_the_end(system, service, headers,
                                                                message):
    """RFC 9112 5.1: ``Content-Length : 35`` was no header at all to the
    standard library's parser (nor any header after it), so the body - a
    GET - was answered as a second request on the connection, 200. A proxy
    that reads the line as Content-Length forwards exactly that."""
    chunked = b"%x\r\n" % len(SMUGGLED) + SMUGGLED + b"\r\n0\r\n\r\n"
    body = SMUGGLED if b"%d" in headers else chunked
    raw = post(headers.replace(b"%d", str(len(body)).encode()), body, SERVICE_POSTS[service])
    status, error = one_json_answer(exchange(system, raw, service))
    assert status.startswith(b"HTTP/1.1 400 ")
    assert error == {"error": {"code": "bad_request", "message": message}}


@pytest.mark.parametrize(("headers", "message"), [
    (b"X-Note: a\r\n b\r\nContent-Length: 0\r\n",
     "Baris header diawali spasi atau tab (lanjutan baris sebelumnya, obs-fold); tulis setiap "
     "header dalam satu baris."),
    (b"Content-Length 0\r\n", 'Baris header tanpa titik dua; setiap header ditulis "Nama: nilai".'),
    (b"Content\x00Length: 0\r\nContent-Length: 0\r\n",
     'Nama header "Content?Length" kosong atau memuat karakter yang tidak diizinkan.'),
    (b": 0\r\nContent-Length: 0\r\n",
     'Nama header "" kosong atau memuat karakter yang tidak diizinkan.'),
    (b"X-Note: a\rContent-Length: 0\r\n",
     'Header "X-Note": nilainya memuat karakter kontrol (misalnya CR tanpa LF, NUL).'),
    (b"Content-Length: 0\x00\r\n",
     'Header "Content-Length": nilainya memuat karakter kontrol (misalnya CR tanpa LF, NUL).')])
def test_a_header_line_read_another_way_is_a_400_and_the_end(system, headers, message):
    """A folded line was taken as part of the header before, a line without
    a colon or with a control character in its name dropped with every line
    after it, a bare CR split one line into two headers: each is a way for
    a proxy and this server to read different requests from one."""
    status, error = one_json_answer(exchange(system, post(headers, SMUGGLED)))
    assert status.startswith(b"HTTP/1.1 400 ")
    assert error == {"error": {"code": "bad_request", "message": message}}


MIXED_LINE_ENDS = ("Akhir baris bercampur: sebagian diakhiri CRLF, sebagian LF saja; akhiri "
                   "baris permintaan dan setiap baris header dengan CRLF.")


@pytest.mark.parametrize("service", list(SERVICE_POSTS))
def test_a_bare_lf_inside_crlf_header_lines_is_a_400_and_the_end(system, service):
    """``X-A: a<LF>Content-Length: 35`` was two headers here: the GET after
    it was read as this request's body (400 on ``_body``), while a proxy
    that ends lines at CRLF only reads one header, no body, and forwards
    the GET as a second request."""
    raw = post(b"X-A: a\nContent-Length: %d\r\n" % len(SMUGGLED), SMUGGLED,
               SERVICE_POSTS[service])
    status, error = one_json_answer(exchange(system, raw, service))
    assert status.startswith(b"HTTP/1.1 400 ")
    assert error == {"error": {"code": "bad_request", "message": MIXED_LINE_ENDS}}


@pytest.mark.parametrize("raw", [
    b"POST /api/v1/applications/status HTTP/1.1\nHost: intake\r\nContent-Type: application/json"
    b"\r\nContent-Length: %d\r\n\r\n" % len(SMUGGLED) + SMUGGLED,
    b"POST /api/v1/applications/status HTTP/1.1\r\nHost: intake\r\nContent-Type: application/json"
    b"\r\nContent-Length: %d\r\n\n" % len(SMUGGLED) + SMUGGLED])
def test_a_request_line_or_header_end_in_a_bare_lf_among_crlf_lines_is_a_400(system, raw):
    """The request line, and the empty line that ends the headers, count too."""
    status, error = one_json_answer(exchange(system, raw))
    assert status.startswith(b"HTTP/1.1 400 ")
    assert error["error"]["message"] == MIXED_LINE_ENDS


def test_a_request_whose_lines_all_end_in_a_bare_lf_is_taken(system):
    """RFC 9112 2.2 lets a recipient end a line at a bare LF: read as sent."""
    received = exchange(system, b"GET /health/live HTTP/1.1\nHost: intake\nConnection: close\n\n")
    assert received.startswith(b"HTTP/1.1 200 "), received


@pytest.mark.parametrize("service", list(SERVICE_POSTS))
@pytest.mark.parametrize("value", [b"2 ", b"2\t", b" \t2 \t"])
def test_spaces_and_tabs_around_a_content_length_are_not_part_of_it(system, service, value):
    """RFC 9110 5.5: ``Content-Length: 2<SP>`` is 2, as ``Content-Length:<SP>2``
    was; it answered 400 on Content-Length and closed the connection. Now
    the body is read as two bytes and the next request answered after it."""
    raw = (post(b"Content-Length: " + value + b"\r\n", b"{}", SERVICE_POSTS[service])
           + b"GET /health/live HTTP/1.1\r\nHost: intake\r\nConnection: close\r\n\r\n")
    received = exchange(system, raw, service)
    assert b'"Content-Length"' not in received, received  # no error naming it
    assert received.count(b"HTTP/1.1 ") == 2 and received.count(b"HTTP/1.1 200 ") == 1, received


def test_a_header_line_refusal_follows_an_accept_language_read_before_it(system):
    raw = post(b"Accept-Language: en\r\nContent-Length : 0\r\n")
    status, error = one_json_answer(exchange(system, raw))
    assert error["error"]["message"] == (
        'Header "Content-Length": no whitespace is allowed between the name and the colon.')


def test_transfer_encoding_chunked_with_a_no_break_space_is_a_400(system):
    """``chunked`` + U+00A0 passed as chunked here (str.strip) but was no
    chunked body to eventlet: a GET's body was then read as a next request."""
    raw = (b"GET /health HTTP/1.1\r\nHost: intake\r\nTransfer-Encoding: chunked\xa0\r\n\r\n"
           + b"%x\r\n" % len(SMUGGLED) + SMUGGLED + b"\r\n0\r\n\r\n")
    status, error = one_json_answer(exchange(system, raw))
    assert status.startswith(b"HTTP/1.1 400 ")
    assert list(error["error"]["fields"]) == ["Transfer-Encoding"]


MALFORMED_CHUNKS = ("Isi chunked tidak sah: setiap potongan adalah ukurannya dalam heksadesimal "
                    "dan CRLF, datanya dan CRLF; isi diakhiri 0, CRLF, CRLF, tanpa trailer.")


@pytest.mark.parametrize("chunks", [
    b"zz\r\n{}\r\n0\r\n\r\n", b"-5\r\n{}\r\n0\r\n\r\n", b"0x2\r\n{}\r\n0\r\n\r\n",
    b" 2\r\n{}\r\n0\r\n\r\n", b"2\r\n{}XX\r\n0\r\n\r\n", b"2\r\n{}\r\n0\r\nX-Trailer: 1\r\n\r\n"])
def test_a_malformed_chunked_body_is_a_400_at_once_and_the_end(system, intake_state, chunks):
    """A chunk size eventlet could not read answered 408 "not received in
    full within 10 seconds" at once, as if the network were slow; ``-5``,
    ``0x2`` and `` 2`` were read as sizes, bytes after a chunk's data were
    skipped, a trailer field ended the body and the rest was read as a next
    request."""
    before = intake_state()
    started = time.monotonic()
    status, error = one_json_answer(exchange(system, post(
        b"Transfer-Encoding: chunked\r\n", chunks + SMUGGLED)))
    assert time.monotonic() - started < 5
    assert status.startswith(b"HTTP/1.1 400 ")
    assert error["error"]["code"] == "validation_failed"
    assert error["error"]["fields"] == {"Transfer-Encoding": [MALFORMED_CHUNKS]}
    assert intake_state() == before


def test_a_chunk_larger_than_the_body_limit_is_a_413_at_once(system):
    """``ffffffffffffffffffff`` waited 10 s for bytes that would never come,
    then answered 408."""
    started = time.monotonic()
    status, error = one_json_answer(exchange(system, post(
        b"Transfer-Encoding: chunked\r\n", b"ffffffffffffffffffff\r\n{}")))
    assert time.monotonic() - started < 5
    assert status.startswith(b"HTTP/1.1 413 ")
    assert error["error"]["code"] == "payload_too_large"


@pytest.mark.parametrize("coding", [b"chunked", b"chunked \t"])
def test_a_well_formed_chunked_body_is_taken(system, coding):
    """Spaces and tabs around ``chunked`` are not part of it (RFC 9110 5.5)."""
    body = json.dumps(valid_body()).encode()
    raw = post(b"Transfer-Encoding: " + coding + b"\r\nConnection: close\r\n",
               b"5;note=x\r\n" + body[:5] + b"\r\n%X\r\n" % (len(body) - 5) + body[5:]
               + b"\r\n0\r\n\r\n")
    received = exchange(system, raw)
    assert received.startswith(b"HTTP/1.1 202 "), received
    assert received.count(b"HTTP/1.") == 1


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


@pytest.mark.parametrize("target, status", [
    (b"http://intake.example/health/live", 200), (b"HTTPS://intake.example:443/health/live", 200),
    (b"http://intake.example/health/live?x=1", 200), (b"http://intake.example", 404),
    (b"http://intake.example//health/live", 404)])
def test_a_request_target_in_absolute_form_is_read_as_its_path(system, target, status):
    """RFC 9112 3.2.2: a server must accept the absolute form, which a client
    sends to a proxy (outside audit, fifty-third session: every one was a 404
    ``unknown_path``); the path after the authority is served as any other -
    none is ``/`` (no endpoint), an empty segment still a 404."""
    received = exchange(system, b"GET " + target + b" HTTP/1.1\r\nHost: intake\r\n"
                        b"Connection: close\r\n\r\n")
    assert received.startswith(b"HTTP/1.1 %d " % status), received
    if status == 404:
        assert b'"unknown_path"' in received


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
        f"Kirim isi permintaan tanpa Content-Encoding (dikirim: {encoding})."]}
    assert intake_state() == before


@pytest.mark.parametrize("encoding", [b"identity", b"", b"Identity, "])
def test_content_encoding_identity_or_none_is_the_body_as_sent(system, encoding):
    """An empty ``Content-Encoding:`` names no coding (RFC 9110 5.6.1: empty
    list elements are ignored); it answered 415 "(diterima: )"."""
    body = json.dumps(valid_body()).encode()
    received = exchange(system, post(b"Content-Encoding: " + encoding + b"\r\nContent-Length: "
                                     + str(len(body)).encode() + b"\r\nConnection: close\r\n",
                                     body))
    assert received.startswith(b"HTTP/1.1 202 "), received


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


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le"])
def test_a_body_not_in_utf8_is_a_400_saying_so(system, intake_state, codec):
    """Without a byte-order mark UTF-16 JSON is valid UTF-8 (ASCII and NUL
    bytes): it answered "not valid JSON" (RFC 4627 3 tells the encoding by
    the NULs in the first four bytes)."""
    before = intake_state()
    answer = requests.post(f"{system.url('intake')}/api/v1/applications", timeout=10,
                           data=json.dumps(valid_body()).encode(codec),
                           headers={"Content-Type": "application/json"})
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["fields"] == {"_body": ["Isi permintaan harus JSON dalam UTF-8."]}
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


@pytest.mark.parametrize(("service", "path"), [
    ("intake", "/api/v1/applications"), ("courier", "/api/v1/pos/webhook"),
    ("courier", "/api/v1/shipments/SDK-none/release")])
def test_a_body_without_a_content_type_is_a_415_saying_none_was_sent(system, service, path):
    """It said "dikirim: text/plain": eventlet put the standard library's
    default type for a request without the header (outside audit)."""
    raw = json.dumps(valid_body()).encode()
    headers = {**OPERATOR, "Content-Length": str(len(raw)), "Connection": "close",
               "X-Pos-Signature": sign_webhook(system.env()["POS_WEBHOOK_SECRET"], raw,
                                               int(time.time()))}
    request = (f"POST {path} HTTP/1.1\r\nHost: {service}\r\n"
               + "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n")
    status, body = one_json_answer(exchange(system, request.encode() + raw, service))
    assert status.startswith(b"HTTP/1.1 415 "), body
    assert body["error"]["fields"] == {"Content-Type": [
        "Kirim isi permintaan sebagai application/json (dikirim: tanpa Content-Type)."]}
