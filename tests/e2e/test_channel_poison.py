"""Bytes that are not UTF-8 where AMQP carries text - a property, a header,
the routing key - published by a channel's front-end (or any publisher on
an event exchange), against the real stack.

An outside integrator's review (CRITICAL): py-amqp decodes every short
string property as UTF-8 below kombu, so one request with
``message_id=b"\\xff\\xfe-bad"`` raised UnicodeDecodeError in intake's
consumer: intake's process (its HTTP API too) ended, and, the request never
acked, ended again ~0.1 s after every restart - until the request queue was
purged with every citizen's request in it."""

from __future__ import annotations

import json
import subprocess
import uuid

import pika
import pytest
import requests

from clients.channel import ChannelClient
from clients.channel.client import DIRECT_REPLY_TO
from deploy.topology import vhost_of
from tests.e2e import test_channel
from tests.helpers import eventually, valid_body

channel_users = test_channel.channel_users  # the fixture: a user of this run per channel

BAD = b"\xff\xfe-bad"


class RawText(str):
    """A header value pika sends as an AMQP long string ('S') of exactly
    ``raw``: pika encodes a ``str`` as UTF-8, and sends ``bytes`` as a byte
    array ('x'), which py-amqp never decodes."""

    def __new__(cls, raw: bytes):
        text = super().__new__(cls, raw.decode("latin-1"))
        text.raw = raw
        return text

    def encode(self, *args, **kwargs) -> bytes:
        return self.raw


@pytest.fixture
def web(channel_users):
    client = ChannelClient(channel_users["web"], "web", lang="en")
    yield client
    client.close()


@pytest.fixture
def requests_purged_after(system):
    """The old code's poison stays in the request queue, unacked, ending
    intake at every start: it must not take the rest of the suite with it."""
    yield
    subprocess.run(["rabbitmqctl", "purge_queue", "-p", vhost_of(system.amqp_uri),
                    "intake.channel.requests"], capture_output=True)


def poison(client: ChannelClient, routing_key: str | bytes = "", **properties) -> None:
    """A valid application published on the client's own AMQP channel (its
    replies come to the client) with ``properties``, as the integrator did:
    confirmed by the broker."""
    client.channel.basic_publish(
        "intake.channel.web", routing_key, json.dumps(valid_body()).encode(),
        pika.BasicProperties(**{"content_type": "application/json", "delivery_mode": 2,
                                "reply_to": DIRECT_REPLY_TO, **properties}),
        mandatory=True)


def intake_up(system) -> bool:
    return requests.get(f"{system.url('intake')}/health", timeout=10).status_code == 200


def log_of(system) -> str:
    return system.log_path("intake").read_text(errors="replace")


@pytest.mark.parametrize("properties, field", [
    ({"message_id": BAD}, "request_id"),
    ({"message_id": "ok-id", "content_type": b"application/\xffjson"}, "content_type"),
    ({"message_id": "ok-id", "content_encoding": BAD}, "content_encoding"),
    ({"message_id": "ok-id", "type": BAD, "app_id": BAD}, "app_id"),
])
def test_a_property_that_is_not_utf8_is_answered_400_naming_it_and_intake_stays_up(
        system, web, requests_purged_after, properties, field):
    correlation_id = f"poison-{uuid.uuid4()}"
    poison(web, correlation_id=correlation_id, **properties)
    reply = web.wait(correlation_id, timeout=60)
    assert reply.status == 400, reply.body
    assert reply.body["error"]["code"] == "validation_failed"
    assert field in reply.body["error"]["fields"]
    assert web.submit(valid_body(), timeout=60).status == 202  # the next ones flow
    assert intake_up(system)


def test_a_request_whose_reply_cannot_be_matched_is_dropped_with_one_line(
        system, web, requests_purged_after):
    """No readable correlation_id (nor message_id to fall back on): nobody
    could match a reply, so none is sent; the log names the queue and the
    property, never the value."""
    poison(web, message_id="ok-id", correlation_id=BAD)
    poison(web, message_id=BAD)  # no correlation_id: the message_id is the one
    assert web.submit(valid_body(), timeout=60).status == 202
    assert intake_up(system)
    log = eventually(lambda: (text := log_of(system)).count("from intake.channel.requests: its ")
                     >= 2 and text, what="the drops logged")
    assert "its correlation_id is not UTF-8 text" in log
    assert "its message_id is not UTF-8 text" in log
    assert "\ufffd-bad" not in log and "\\xff" not in log


def test_a_reply_to_that_is_not_utf8_is_answered_on_the_channel_s_reply_queue(
        system, channel_users, requests_purged_after):
    url, correlation_id = channel_users["web"], f"poison-{uuid.uuid4()}"
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        channel.basic_publish("intake.channel.web", "", json.dumps(valid_body()).encode(),
                              pika.BasicProperties(content_type="application/json",
                                                   message_id="ok-id",
                                                   correlation_id=correlation_id,
                                                   reply_to=b"amq.rabbitmq.reply-to.\xff"),
                              mandatory=True)
        for method, props, body in channel.consume("intake.channel.web.replies",
                                                   inactivity_timeout=60):
            assert method is not None, "no reply on the channel's reply queue"
            channel.basic_ack(method.delivery_tag)
            if props.correlation_id == correlation_id:
                answer = json.loads(body)
                break
        channel.cancel()
    finally:
        connection.close()
    assert answer["status"] == 400 and "reply_to" in answer["body"]["error"]["fields"]
    assert intake_up(system)


def test_headers_and_a_routing_key_that_are_not_utf8_do_not_stop_the_channel(
        system, web, requests_purged_after, mongo):
    """The routing key is ignored (the channels' exchanges are fanout: any
    key is routed) and so is a header intake does not read; an
    ``accept-language`` that is no text is no language (Bahasa Indonesia)."""
    bodies = []
    for routing_key, headers in ((BAD, None),
                                 ("", {"accept-language": RawText(b"en\xff")}),
                                 ("", {b"x-\xff": RawText(BAD), "x-note": RawText(BAD)})):
        body, request_id = valid_body(), str(uuid.uuid4())
        web.channel.basic_publish("intake.channel.web", routing_key, json.dumps(body).encode(),
                                  pika.BasicProperties(content_type="application/json",
                                                       message_id=request_id,
                                                       correlation_id=request_id,
                                                       reply_to=DIRECT_REPLY_TO,
                                                       headers=headers), mandatory=True)
        reply = web.wait(request_id, timeout=60)
        assert reply.status == 202, reply.body
        bodies.append(body)
    assert web.submit(valid_body(), timeout=60).status == 202
    assert intake_up(system)
    assert [mongo["intake"].applications.count_documents({"applicant.nik": b["applicant"]["nik"]})
            for b in bodies] == [1, 1, 1]


def test_an_event_consumer_dead_letters_what_it_cannot_read_and_stays_up(system):
    """The same decoding runs under every service's event handlers: a bad
    property or header name on an event dead-letters that message (named
    in the log by its queue), and the service goes on."""
    queue = "evt-intake-application_submitted--notification.on_application_submitted"
    connection = pika.BlockingConnection(pika.URLParameters(
        system.amqp_uri.replace("pyamqp://", "amqp://")))
    try:
        channel = connection.channel()
        channel.confirm_delivery()

        def dead_letters() -> int:
            return channel.queue_declare(f"{queue}.dlq", passive=True).method.message_count
        before = dead_letters()
        for properties in ({"content_type": b"application/\xffjson"},
                           {"content_type": "application/json", "message_id": BAD,
                            "correlation_id": BAD, "app_id": BAD},
                           {"content_type": "application/json",
                            "headers": {b"nameko.\xff": RawText(BAD)}}):
            channel.basic_publish("intake.events", "application_submitted", b"{}",
                                  pika.BasicProperties(delivery_mode=2, **properties),
                                  mandatory=True)
        eventually(lambda: dead_letters() == before + 3, timeout=60, what="three dead letters")
    finally:
        connection.close()
    assert requests.get(f"{system.url('notification')}/health", timeout=10).status_code == 200
