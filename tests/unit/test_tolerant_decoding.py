"""py-amqp reads text that is not UTF-8 in a message's properties and in a
delivery's routing key as text with lone surrogates
(``shared.messaging.tolerate_undecodable``) instead of raising below kombu,
where the error ended the consumer's service (outside review)."""

from __future__ import annotations

from amqp import abstract_channel, serialization
from amqp.basic_message import Message
from amqp.spec import Basic

from shared.messaging import tolerate_undecodable, undecoded


def header_frame(**properties) -> bytes:
    """A content header frame's payload (class, weight, body size, then the
    properties) as a publisher would send it - bytes taken as they are."""
    return Message(b"{}", **properties)._serialize_properties()


def read(**properties) -> dict:
    decoded, _ = serialization.PROPERTY_CLASSES[Basic.CLASS_ID](header_frame(**properties), 0)
    return decoded


def test_a_property_that_is_not_utf8_is_read_and_told_apart():
    properties = read(content_type="application/json", message_id=b"\xff\xfe-bad",
                      correlation_id="poison", reply_to=b"amq.rabbitmq.reply-to.\xff")
    assert properties["content_type"] == "application/json"
    assert properties["correlation_id"] == "poison" and not undecoded("poison")
    assert undecoded(properties["message_id"]) and undecoded(properties["reply_to"])
    assert properties["message_id"].endswith("-bad")


def test_a_header_value_that_is_not_utf8_stays_bytes_and_the_rest_is_read():
    properties = read(content_type="application/json",
                      application_headers={"accept-language": "en", "x-note": b"\xff"})
    assert properties["application_headers"] == {"accept-language": "en", "x-note": b"\xff"}


def test_a_routing_key_that_is_not_utf8_is_read():
    # basic.deliver's arguments: consumer tag, delivery tag, redelivered, exchange, routing key
    args = serialization.dumps("sLbss", ["ctag", 7, False, "intake.channel.web", b"\xff-key"])
    consumer_tag, tag, redelivered, exchange, key = abstract_channel.loads("sLbss", args, 0)[0]
    assert (consumer_tag, tag, exchange) == ("ctag", 7, "intake.channel.web")
    assert undecoded(key) and key.endswith("-key")


def test_installed_once():
    decoder, loads = serialization.PROPERTY_CLASSES[Basic.CLASS_ID], abstract_channel.loads
    tolerate_undecodable()
    assert serialization.PROPERTY_CLASSES[Basic.CLASS_ID] is decoder
    assert abstract_channel.loads is loads


def test_text_and_other_values_are_not_undecoded():
    assert not any(undecoded(value) for value in ("", "é ü", None, 5, b"\xff", {"a": "\udcff"}))
