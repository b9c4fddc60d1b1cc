"""An event message whose body is not a JSON object - not JSON at all, a
content type or compression the consumer does not accept, JSON that is a
list or a string - is dead-lettered into its handler's DLQ, before any
handler code runs, and counted; the log names the queue, never the body;
the messages around it are handled. (kombu's default logged the body and
acked such a message away: lost.)"""

from __future__ import annotations

import logging
import uuid

import pika
from kombu import Connection
from nameko.events import get_event_exchange
from prometheus_client import REGISTRY

from deploy import dlq
from services.printing.service import PrintingEvents
from shared.messaging import reliable_event_handler
from tests.helpers import eventually, publish, service_config

BAD_BODIES = [  # (body, properties)
    (b"not json at all 3673010101010001", {"content_type": "application/json"}),
    (b'{"n": 90}', {"content_type": "text/plain"}),
    (b'{"n": 91}', {"content_type": "application/x-python-serialize"}),
    (b'{"n": "\xff"}', {"content_type": "application/json", "content_encoding": "utf-8"}),
    (b'{"n": 92}', {"content_type": "application/json", "headers": {"compression": "gzip"}}),
    (b"[1, 2]", {"content_type": "application/json"}),
    (b'"a string"', {"content_type": "application/json"}),
    (b"", {"content_type": "application/json"}),
    (b'{"n": 93}', {}),  # no content type: kombu hands on the raw text
]


def publish_raw(amqp_uri: str, exchange: str, routing_key: str, body: bytes,
                properties: dict) -> None:
    connection = dlq.connect(amqp_uri)
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        channel.basic_publish(exchange, routing_key, body,
                              pika.BasicProperties(delivery_mode=2, **properties),
                              mandatory=True)
    finally:
        connection.close()


def test_a_body_that_is_not_a_json_object_is_dead_lettered_and_others_flow(
        backing, container_factory, caplog):
    name = f"bad_bodies_{uuid.uuid4().hex[:6]}"
    handled = []

    class Probe:
        @reliable_event_handler("probe_source", "probe_happened")
        def handle(self, body):
            handled.append(body)

    Probe.name = name
    with Connection(backing.amqp_uri) as conn, conn.channel() as channel:
        get_event_exchange("probe_source", {})(channel).declare()
    container_factory(Probe, service_config(backing, name)).start()
    dead_lettered = {"service": name, "handler": "handle", "outcome": "dead_lettered"}
    before = REGISTRY.get_sample_value("smartdukcapil_events_total", dead_lettered) or 0

    caplog.set_level(logging.INFO)
    publish(backing.amqp_uri, "probe_source.events", "probe_happened", {"n": 0})
    for body, properties in BAD_BODIES:
        publish_raw(backing.amqp_uri, "probe_source.events", "probe_happened", body, properties)
    publish(backing.amqp_uri, "probe_source.events", "probe_happened", {"n": 1})
    # JSON is UTF-8 (RFC 8259): a body that decodes is handled, whatever
    # content encoding it claims
    publish_raw(backing.amqp_uri, "probe_source.events", "probe_happened", b'{"n": 2}',
                {"content_type": "application/json", "content_encoding": "no-such-codec"})

    queue = f"evt-probe_source-probe_happened--{name}.handle"
    eventually(lambda: len(handled) >= 3, what="the good ones")
    eventually(lambda: len(dlq.peek(backing.amqp_uri, queue)) == len(BAD_BODIES),
               what="every bad body in the DLQ", timeout=10)
    dead = dlq.peek(backing.amqp_uri, queue)
    assert {(m["reason"], m["from_queue"]) for m in dead} == {("rejected", queue)}
    assert sorted(body["n"] for body in handled) == [0, 1, 2], handled  # none of the bad ones
    assert REGISTRY.get_sample_value("smartdukcapil_events_total", dead_lettered) \
        == before + len(BAD_BODIES)
    logged = [record.getMessage() for record in caplog.records
              if "dead-lettering" in record.getMessage()]
    assert len(logged) == len(BAD_BODIES) and all(queue in line for line in logged), logged
    assert "3673010101010001" not in caplog.text and "not json at all" not in caplog.text


def test_a_service_dead_letters_a_body_that_is_not_json(backing, container_factory):
    """The audit's case (there on notification's ``application_cancelled``),
    on printing's handler of ``application_verified``."""
    container_factory(PrintingEvents, service_config(
        backing, f"printing_{uuid.uuid4().hex[:6]}")).start()
    queue = "evt-intake-application_verified--printing.on_application_verified"
    before = len(dlq.peek(backing.amqp_uri, queue))
    publish_raw(backing.amqp_uri, "intake.events", "application_verified", b"not json at all",
                {"content_type": "application/json"})
    dead = eventually(lambda: dlq.peek(backing.amqp_uri, queue)[before:], what="in the DLQ")
    assert [m["fields"] for m in dead] == [["<not json>"]]
