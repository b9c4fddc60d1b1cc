"""How the broker channel reads a request's AMQP properties and headers, as
HTTP reads its headers. No broker: tests/e2e/test_channel.py publishes them."""

from __future__ import annotations

import pytest

from services.intake.channel import ChannelRequest, answer, header, mimetype
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


@pytest.mark.parametrize(("content_type", "read"), [
    ("application/json", ("application/json", {})),
    ("Application/JSON; Charset=\"UTF-16\"", ("application/json", {"charset": "UTF-16"})),
    ("text/plain;charset=iso-8859-1", ("text/plain", {"charset": "iso-8859-1"})),
    ("", ("", {}))])
def test_a_content_type_is_read_with_its_parameters_as_http_reads_it(content_type, read):
    """Its charset dropped, a channel request in ``charset=utf-16`` was taken
    where HTTP answered 415 (outside audit S3)."""
    assert mimetype(content_type) == read


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-16",
                                          "application/json; charset=iso-8859-1"])
def test_a_request_in_another_charset_gets_the_415_http_answers(content_type):
    request = ChannelRequest("web", "req-1", "req-1", "intake.channel.web.replies", "en",
                             b'{"channel": "web"}', 1024, content_type=content_type)
    status, body = answer(request, store=None, screening=None)
    assert (status, list(body["error"]["fields"])) == (415, ["Content-Type"])
    assert content_type.partition("=")[2] in body["error"]["message"]


@pytest.mark.parametrize("value, language", [
    # outside audit A2: by the weights, each range by its primary subtag
    ("id-ID,en;q=0.5", "id"), ("id-ID, en;q=0.1", "id"), ("in-ID, en;q=0.5", "id"),
    ("en-US,id;q=0.9", "en"), ("en-GB,en-US;q=0.9,id;q=0.8", "en"), ("en-AU,id;q=0.5", "en"),
    ("en", "en"), ("EN", "en"), ("en_US", "en"), ("fr, en;q=0.8", "en"), ("id;q=0.1, en", "en"),
    # nothing better than Bahasa: Bahasa
    ("*", "id"), ("fr", "id"), ("garbage", "id"), ("en;q=0", "id"), ("en;q=abc", "id"),
    ("en-GB;q=0.9, id;q=0.9", "id"), (None, "id"), ("", "id"),
    # ``*`` weighs the language not listed (outside audit A3)
    ("en-GB;q=0.9, *;q=1", "id"), ("id;q=0.5, *", "en"), ("en, *;q=0.5", "en")])
def test_the_request_s_language_is_the_best_weighted_of_bahasa_and_english(value, language):
    assert language_of(value) == language
