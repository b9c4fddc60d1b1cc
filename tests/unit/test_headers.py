"""Header blocks read without the e-mail parser (``shared.headers``) are
read exactly as the e-mail parser reads them: the same headers in the same
order, the same defects, the same payload - for plain blocks, and for
every odd one thrown at both (random blocks from pieces a client, a proxy
or an attacker might send)."""

from __future__ import annotations

import http.client
import io
import random
import re

import pytest

from shared.headers import parse_headers, parsed, read_block

PLAIN = [b"Host: 127.0.0.1:8001\r\n", b"Content-Type: application/json\r\n",
         b"Content-Length: 35\r\n", b"Idempotency-Key: 5b0e-aa\r\n", b"X-Empty:\r\n",
         b"Accept-Language:\ten\r\n", b"Accept-Language: id\r\n", b"\r\n"]

PIECES = [b"Host", b"Content-Type", b"content-type", b"X-A", b"From ", b"Content-Length ",
          b"", b" ", b"\t", b":", b": ", b":\t", b"value", b" trailing ", b"\r", b"\n", b"\r\n",
          b"multipart/form-data; boundary=x", b"message/rfc822", b"text/plain", b"\xe9\xff",
          b"\x00", b">From", b"a b", b"--x", b"=?utf-8?q?x?="]


def same(lines: list[bytes]) -> None:
    ours, theirs = read_block(lines), parsed(lines)
    assert ours.items() == theirs.items(), lines
    assert [type(d) for d in ours.defects] == [type(d) for d in theirs.defects], lines
    assert body(ours.get_payload()) == body(theirs.get_payload()), lines
    assert ours.is_multipart() == theirs.is_multipart(), lines
    assert ours.get_unixfrom() == theirs.get_unixfrom(), lines


def body(payload):
    """A payload to compare: a parsed body's messages by their headers."""
    return [(part.items(), body(part.get_payload())) for part in payload] \
        if isinstance(payload, list) else payload


def test_a_plain_block_is_read_as_the_email_parser_reads_it():
    same(PLAIN)
    message = parse_headers(io.BytesIO(b"".join(PLAIN) + b'{"body": "not read"}'))
    assert isinstance(message, http.client.HTTPMessage)
    assert message.get_all("Accept-Language") == ["en", "id"]
    assert message["x-empty"] == "" and message["Content-Length"] == "35"


@pytest.mark.parametrize("line", [
    b"Content-Length : 35\r\n", b"Folded: a\r\n", b" continued\r\n", b"no colon\r\n",
    b"Bare: cr\rinside\r\n", b"Content-Type: multipart/form-data; boundary=b\r\n",
    b"Content-Type: Message/RFC822\r\n", b"From nobody\r\n", b": no name\r\n",
    b"Latin: caf\xe9\r\n", b"Two: ends\r\r\n", b"LF: only\n"])
def test_an_odd_line_is_read_as_the_email_parser_reads_it(line):
    same([PLAIN[0], line, *PLAIN[1:]])
    same([line, *PLAIN])


def test_random_blocks_are_read_as_the_email_parser_reads_them():
    chance = random.Random(51)
    for _ in range(3000):
        lines = []
        for _ in range(chance.randint(0, 6)):
            line = b"".join(chance.choice(PIECES) for _ in range(chance.randint(1, 5)))
            line = line if line.endswith(b"\n") else line + chance.choice([b"\r\n", b"\n"])
            # as read (``http.client._read_headers``): one line each, the
            # first blank one last
            for one in re.findall(rb"[^\n]*\n|[^\n]+$", line):
                if one not in (b"\r\n", b"\n"):
                    lines.append(one if one.endswith(b"\n") else one + b"\r\n")
        same([*lines, chance.choice([b"\r\n", b"\n", b""])])


def test_the_limits_of_http_client_still_hold():
    with pytest.raises(http.client.LineTooLong):
        parse_headers(io.BytesIO(b"X: " + b"a" * 70000 + b"\r\n\r\n"))
    with pytest.raises(http.client.HTTPException, match="more than 100 headers"):
        parse_headers(io.BytesIO(b"X: a\r\n" * 101 + b"\r\n"))
