"""Batches published with one wait for the broker's confirms
(``shared.confirms``), against the real broker:

* every message of a batch arrives, in order, persistent JSON with its
  headers, as nameko's consumers read it; those no queue takes come back
  as their positions, and the rest still arrive;
* a connection the broker dropped between two batches is replaced at once:
  the next batch is published, not failed;
* a broker out of reach, or without the exchange, fails the batch (the
  caller keeps its rows), and the next batch once it is back goes through.
"""

from __future__ import annotations

import socket
import uuid

import pytest

from shared.confirms import ConfirmedBatches, Outgoing
from tests.helpers import BrokerProbe


@pytest.fixture
def vhost_uri(backing):
    return backing.amqp_uri  # the suite's own virtual host


@pytest.fixture
def exchange(vhost_uri):
    name = f"confirms_{uuid.uuid4().hex[:6]}.events"
    probe = BrokerProbe(vhost_uri, name, routing_key="routed.#")
    yield name, probe
    probe.close()


def messages(keys: list[str]) -> list[Outgoing]:
    return [Outgoing(key, {"n": n, "key": key}, {"event_id": f"e{n}"})
            for n, key in enumerate(keys)]


def test_a_batch_arrives_in_order_and_the_unroutable_come_back_by_position(vhost_uri, exchange):
    name, probe = exchange
    batches = ConfirmedBatches(vhost_uri, name)
    try:
        keys = ["routed.a", "nowhere", "routed.b", "routed.c", "nowhere", "routed.d"] * 20
        assert batches.publish(messages(keys)) == [n for n, key in enumerate(keys)
                                                   if key == "nowhere"]
        arrived = probe.drain()
        assert [(key, body["n"]) for key, body in arrived] == [
            (key, n) for n, key in enumerate(keys) if key != "nowhere"]
        assert [headers["event_id"] for headers in probe.headers] == [
            f"e{n}" for n, key in enumerate(keys) if key != "nowhere"]
        assert batches.publish([]) == []
    finally:
        batches.close()


def test_the_messages_are_persistent_json(vhost_uri, exchange):
    name, probe = exchange
    batches = ConfirmedBatches(vhost_uri, name)
    try:
        batches.publish(messages(["routed.x"]))
    finally:
        batches.close()
    method, properties, body = probe.channel.basic_get(probe.queue, auto_ack=True)
    assert properties.delivery_mode == 2
    assert properties.content_type == "application/json"
    assert properties.content_encoding == "utf-8"
    assert body == b'{"n": 0, "key": "routed.x"}'


def test_a_connection_dropped_between_two_batches_is_replaced_at_once(vhost_uri, exchange):
    name, probe = exchange
    batches = ConfirmedBatches(vhost_uri, name)
    try:
        assert batches.publish(messages(["routed.1"])) == []
        # the broker going away meanwhile, as a restart would: the socket dies
        batches._connection.connection.sock.shutdown(socket.SHUT_RDWR)
        assert batches.publish(messages(["routed.2", "routed.3"])) == []
        assert [key for key, _ in probe.drain()] == ["routed.1", "routed.2", "routed.3"]
    finally:
        batches.close()


def test_a_broker_out_of_reach_fails_the_batch(vhost_uri):
    batches = ConfirmedBatches("pyamqp://guest:guest@127.0.0.1:1//", "anything.events")
    with pytest.raises(OSError):
        batches.publish(messages(["routed.a"]))
    batches.close()


def test_an_exchange_the_broker_lacks_fails_the_batch_until_it_is_declared(vhost_uri):
    name = f"confirms_{uuid.uuid4().hex[:6]}.events"
    batches = ConfirmedBatches(vhost_uri, name)
    try:
        with pytest.raises(Exception, match="NOT_FOUND|no exchange"):
            batches.publish(messages(["routed.a"]))
        probe = BrokerProbe(vhost_uri, name, routing_key="routed.#")  # declares it
        try:
            assert batches.publish(messages(["routed.b"])) == []
            assert [key for key, _ in probe.drain()] == ["routed.b"]
        finally:
            probe.close()
    finally:
        batches.close()
