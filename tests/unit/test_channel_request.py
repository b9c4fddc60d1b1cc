"""How the broker channel reads a request's AMQP properties and headers, as
HTTP reads its headers. No broker: tests/e2e/test_channel.py publishes them."""

from __future__ import annotations

import pytest

from services.intake.channel import header
from shared.http import language_of


@pytest.mark.parametrize("value", [b"en", bytearray(b"en"), "en"])
def test_a_header_sent_as_an_amqp_byte_string_is_read_as_text(value):
    """pika sends a Python ``bytes`` value as an AMQP byte string: read with
    ``str()``, ``b'en'`` was "b'en'" and the answer came in Bahasa Indonesia
    (outside audit S3)."""
    assert header({"Accept-Language": value}, "accept-language") == "en"
    assert language_of(header({"accept-language": value}, "accept-language")) == "en"


def test_a_header_not_in_utf8_is_read_with_its_bad_bytes_replaced():
    assert header({"accept-language": b"en\xff"}, "accept-language") == "en\ufffd"


def test_a_header_not_sent_is_none():
    assert header({"x-other": b"en"}, "accept-language") is None
