"""What one message carries cannot end a service's consumer: bytes that are
not UTF-8 where AMQP carries text (outside review, CRITICAL: py-amqp's
strict decoding, below kombu, ended the process, and the message, never
acked, ended it again at every start). Against the real broker."""

from __future__ import annotations

import logging
import uuid

from amqp import serialization
from amqp.spec import Basic
from kombu import Connection
from nameko.events import get_event_exchange

from deploy import dlq
from shared.messaging import reliable_event_handler
from tests.helpers import eventually, publish, service_config
from tests.integration.test_bad_event_bodies import publish_raw


def test_a_message_the_consumer_cannot_read_reconnects_it_and_the_others_flow(
        backing, container_factory, monkeypatch, caplog):
    """The safety net under the tolerant decoding: with py-amqp's own strict
    decoder back in place, a message_id that is not UTF-8 fails the
    consumer's read. The container stays up, its consumer reconnects, the
    broker's delivery limit dead-letters the message, and the next ones are
    handled."""
    strict = serialization.decode_properties_basic  # py-amqp's own
    monkeypatch.setitem(serialization.PROPERTY_CLASSES, Basic.CLASS_ID, strict)
    name, handled = f"unreadable_{uuid.uuid4().hex[:6]}", []
    probe = type("Probe", (), {"name": name, "handle": reliable_event_handler(
        "probe_source", "probe_happened")(lambda self, body: handled.append(body))})
    with Connection(backing.amqp_uri) as conn, conn.channel() as channel:
        get_event_exchange("probe_source", {})(channel).declare()
    container_factory(probe, service_config(backing, name, DELIVERY_LIMIT=2)).start()
    caplog.set_level(logging.INFO)
    publish_raw(backing.amqp_uri, "probe_source.events", "probe_happened", b'{"n": 0}',
                {"content_type": "application/json", "message_id": b"\xff\xfe-bad"})
    publish(backing.amqp_uri, "probe_source.events", "probe_happened", {"n": 1})
    queue = f"evt-probe_source-probe_happened--{name}.handle"
    eventually(lambda: handled == [{"n": 1}], timeout=60, what="the next message handled")
    eventually(lambda: len(dlq.peek(backing.amqp_uri, queue)) == 1, timeout=10,
               what="the unreadable one dead-lettered by the broker")
    assert f"{name} could not read what it sent: UnicodeDecodeError" in caplog.text
