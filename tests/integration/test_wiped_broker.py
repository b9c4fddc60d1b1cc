"""A broker that lost its state, on a virtual host of the test's own: deleted
and made again, as a wiped or rebuilt broker comes back with none of the
queues and exchanges ``deploy.topology`` had declared.

Outside audit K: kombu declares a consumer's queue when it reconnects, not
the wait queues or the dead-letter queue around it, so the first handler
that failed after a wipe found no ``smartdukcapil.wait.<ms>ms`` exchange; the
error ended the service (a ready notice was never sent) while
``/health/ready`` said ok.
"""

from __future__ import annotations

import datetime
import logging
import subprocess
import uuid

import pytest
from amqp.exceptions import NotFound
from kombu import Connection
from nameko.testing.utils import get_extension

from deploy import dlq
from deploy.local.stack import ensure_vhost
from shared.http import BrokerCheck
from shared.messaging import (REPLAY_EXCHANGE, PermanentFailure, dead_letter_queue,
                              missing_from, reliable_event_handler, replay_queue,
                              topology_parts, wait_queue_name)
from tests.conftest import drop_vhost
from shared.clock import utcnow
from shared.mongo import StoreWithOutbox
from shared.outbox import OutboxRelay, kept_events, kept_row, keep_rows, outbox_row
from shared.store import BaseStore
from tests.helpers import BrokerProbe, eventually, publish, service_config

DELAYS = (0.2, 0.4)
SOURCE, EVENT = "wiped_source", "wiped_happened"


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], capture_output=True, text=True, check=True,
                   timeout=120)


@pytest.fixture
def vhost():
    name = f"smartdukcapil_wiped_{uuid.uuid4().hex[:8]}"
    assert ensure_vhost(name), "rabbitmqctl could not create a virtual host"
    yield name
    drop_vhost(name)


def amqp_uri_of(vhost: str) -> str:
    return f"pyamqp://guest:guest@127.0.0.1:5672/{vhost}"


def wipe(vhost: str) -> None:
    """The virtual host deleted (every queue, exchange and message in it, and
    its connections closed) and made again, empty."""
    rabbitmqctl("delete_vhost", vhost)
    assert ensure_vhost(vhost)


def consumer_service(recorder: dict):
    class Consumer:
        name = f"wiped_{uuid.uuid4().hex[:6]}"
        broker_check = BrokerCheck()

        @reliable_event_handler(SOURCE, EVENT)
        def handle(self, body):
            recorder["attempts"].append(body["n"])
            if body.get("permanent"):
                raise PermanentFailure("this one can never be handled")
            if body.get("flaky") and recorder["attempts"].count(body["n"]) == 1:
                raise RuntimeError("not now")
            recorder["handled"].append(body["n"])
    return Consumer


@pytest.fixture
def started(backing, container_factory, vhost):
    recorder = {"attempts": [], "handled": []}
    service = consumer_service(recorder)
    config = service_config(backing, service.name, AMQP_URI=amqp_uri_of(vhost),
                            RETRY_DELAYS=",".join(map(str, DELAYS)))
    container = container_factory(service, config)
    container.start()
    queue = f"evt-{SOURCE}-{EVENT}--{service.name}.handle"
    return container, recorder, queue


def missing(vhost: str, container) -> str | None:
    """What of the handler's part of the topology the broker lacks (its
    queue, ``.dlq``, the wait queues of its delays, the exchanges)."""
    parts = topology_parts(container.service_cls, container.config)
    assert parts and {f"{SOURCE}.events", "smartdukcapil.dlx"} <= set(parts[0].names()[0])
    with Connection(amqp_uri_of(vhost)) as connection:
        return missing_from(connection, parts)


def still_handles(vhost: str, recorder: dict, n: int) -> None:
    """The service lives: a plain event published now is handled (a dead
    container consumes nothing)."""
    publish(amqp_uri_of(vhost), f"{SOURCE}.events", EVENT, {"n": n})
    eventually(lambda: n in recorder["handled"], what="the service still handling events")


def test_after_a_wipe_a_failing_handler_is_retried_and_dead_lettered_and_the_service_lives(
        started, vhost):
    container, recorder, queue = started
    wipe(vhost)
    # the consumer reconnects and declares its whole part again, not its queue alone
    eventually(lambda: missing(vhost, container) is None, timeout=60,
               what="the handler's queue, dead-letter queue and wait queues declared again")

    uri = amqp_uri_of(vhost)
    publish(uri, f"{SOURCE}.events", EVENT, {"n": 1, "flaky": True})
    publish(uri, f"{SOURCE}.events", EVENT, {"n": 2, "permanent": True})
    eventually(lambda: recorder["handled"] == [1], what="the flaky event handled on its retry")
    assert recorder["attempts"].count(1) == 2
    [dead] = eventually(lambda: dlq.peek(uri, queue), what="the permanent failure dead-lettered")
    assert "never be handled" in dead["last_error"]
    still_handles(vhost, recorder, 99)


def test_a_retry_to_a_wait_exchange_gone_declares_it_again_and_is_delayed(started, vhost):
    """The broker lost the wait exchange under a connected service (no
    reconnection to declare it again): the republish declares it."""
    container, recorder, queue = started
    wait = wait_queue_name(DELAYS[0])
    with Connection(amqp_uri_of(vhost)) as connection, connection.channel() as channel:
        channel.exchange_delete(wait)
        channel.queue_delete(wait)
    publish(amqp_uri_of(vhost), f"{SOURCE}.events", EVENT, {"n": 3, "flaky": True})
    eventually(lambda: recorder["handled"] == [3], what="handled on its retry")
    assert missing(vhost, container) is None
    still_handles(vhost, recorder, 99)


def test_readiness_declares_what_is_missing_and_is_not_ready_while_it_cannot(started, vhost):
    container, recorder, queue = started
    check = get_extension(container, BrokerCheck)
    assert check.connects()
    with Connection(amqp_uri_of(vhost)) as connection, connection.channel() as channel:
        channel.queue_delete(f"{queue}.dlq")
    # the service's user may no longer declare anything: the DLQ stays missing
    rabbitmqctl("set_permissions", "-p", vhost, "guest", "^$", ".*", ".*")
    try:
        assert not check.connects()
        assert missing(vhost, container) == f"queue {queue}.dlq"
    finally:
        rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    assert check.connects()
    assert missing(vhost, container) is None
    with Connection(amqp_uri_of(vhost)) as connection, connection.channel() as channel:
        # declared as the handler declares it: the same arguments, or this refuses
        dead_letter_queue(queue)(channel).declare()


def test_the_outbox_keeps_what_it_could_not_publish_to_a_wiped_broker_and_publishes_it_after(
        backing, mongo, vhost):
    """The relay's pooled connection was closed by the wipe, and its exchange
    is gone until a consumer declares it again: the event stays in the
    outbox, and the same relay publishes it once the exchange is back."""
    uri, database = amqp_uri_of(vhost), f"wiped_outbox_{uuid.uuid4().hex[:6]}"
    source = f"wiped_{uuid.uuid4().hex[:6]}"
    outbox = mongo[database].outbox
    relay = OutboxRelay(outbox, uri, source, {})
    probe = BrokerProbe(uri, f"{source}.events")
    try:
        first = outbox_row("probe_happened", {"event_id": "before"}, claimed_by=relay.instance)
        outbox.insert_one(first)
        relay.hand_over([first])
        assert relay.publish_handed() == 1
        assert [event["event_id"] for _, event in probe.drain()] == ["before"]
        probe.close()

        wipe(vhost)
        second = outbox_row("probe_happened", {"event_id": "after"}, claimed_by=relay.instance)
        outbox.insert_one(second)
        relay.hand_over([second])
        with pytest.raises(NotFound):  # no exchange: nothing confirmed
            relay.publish_handed()
        assert outbox.count_documents({"_id": "after"}) == 1

        probe = BrokerProbe(uri, f"{source}.events")  # a consumer back: the exchange again
        outbox.update_one({"_id": "after"},  # its writer's claim ran out: the sweep's now
                          {"$set": {"claimed_until": utcnow() - datetime.timedelta(seconds=1)}})
        assert relay.publish_pending() == 1
        relay.delete_confirmed(now=True)
        assert outbox.count_documents({}) == 0
        published = eventually(probe.drain, what="the event kept published")
        assert [event["event_id"] for _, event in published] == ["after"]
    finally:
        probe.close()
        mongo.drop_database(database)


def keeping_service(source: str, subscribes_to: str, handle) -> type:
    """A service that keeps what it publishes as ``source`` (a store with an
    outbox), has a readiness check, and hands ``subscribes_to``'s events to
    ``handle``."""
    class Keeping:
        name = f"keeping_{uuid.uuid4().hex[:6]}"
        store = StoreWithOutbox(BaseStore, publishes_as=source)
        broker_check = BrokerCheck()

        @reliable_event_handler(subscribes_to, EVENT)
        def on_event(self, body):
            handle(body)
    return Keeping


@pytest.mark.parametrize("first", ["the consumer", "readiness"])
def test_a_service_publishes_its_kept_events_again_when_the_broker_lost_its_state(
        backing, container_factory, mongo, vhost, caplog, first):
    """Outside audit L: a retry waiting out its delay in the broker when it
    was wiped never came (a "ready" SMS stayed pending for good), and an
    event confirmed while the queues were being deleted was never handled (an
    application stayed verified for good). The service keeps what it
    published and publishes it again when it finds the broker without its
    queues - whichever of its paths finds them gone first (outside audit L2:
    readiness declared them again, then the consumer came back to a broker
    that had everything, and nothing was published again)."""
    source, database = f"kept_{uuid.uuid4().hex[:6]}", f"kept_{uuid.uuid4().hex[:6]}"
    attempts, handled = [], []

    def handle(body):
        attempts.append(body["n"])
        if len(attempts) == 1:
            raise RuntimeError("not now")  # its retry waits 5 s in the broker
        handled.append(body["n"])

    Keeper = keeping_service(source, source, handle)

    caplog.set_level(logging.INFO, logger="shared.messaging")
    config = service_config(backing, database, AMQP_URI=amqp_uri_of(vhost), RETRY_DELAYS="5",
                            REPUBLISH_AFTER_SECONDS="1")
    container = container_factory(Keeper, config)
    container.start()
    try:
        row = outbox_row(EVENT, {"event_id": uuid.uuid4().hex, "n": 7})
        mongo[database].outbox.insert_one(row)  # unclaimed: the relay's sweep publishes it
        eventually(lambda: attempts == [7], what="the first attempt failed")
        wipe(vhost)  # the retry, waiting in the broker, is gone with it
        if first == "readiness":  # a probe, before the consumer is back (1 s at least)
            assert get_extension(container, BrokerCheck).connects()
        eventually(lambda: handled == [7], timeout=60, what="handled after all")
        assert any("lost its state" in record.getMessage() for record in caplog.records)
        [kept] = [kept for kept in kept_events(mongo[database]) if kept["_id"] == row["_id"]]
        assert kept["event_type"] == EVENT and kept["payload"]["n"] == 7
    finally:
        mongo.drop_database(database)


class ReplayProbe:
    """A queue of the test's own on the replay requests' fanout exchange."""

    def __init__(self, uri: str):
        self.connection = Connection(uri)
        self.queue = replay_queue(f"probe_{uuid.uuid4().hex[:6]}")(self.connection.channel())
        self.queue.declare()

    def drain(self) -> list[tuple[str, dict]]:
        got = []
        while (message := self.queue.get(no_ack=True)) is not None:
            got.append((message.delivery_info.get("routing_key"), message.payload))
        return got

    def close(self):
        self.queue.delete()
        self.connection.close()


def test_a_service_that_finds_its_queues_gone_asks_the_others_and_a_service_asked_publishes_again(
        backing, container_factory, mongo, vhost):
    """Outside audit L2: printing published its kept events again while
    notification was away (frozen), to queues notification had not declared
    yet; notification came back to an empty broker, and 92 "ready" notices
    were never sent. Now the one that comes back asks the others to publish
    again what they keep."""
    source, database = f"asked_{uuid.uuid4().hex[:6]}", f"asked_{uuid.uuid4().hex[:6]}"

    Asked = keeping_service(source, SOURCE, lambda body: None)

    config = service_config(backing, database, AMQP_URI=amqp_uri_of(vhost),
                            REPUBLISH_AFTER_SECONDS="0.5")
    container = container_factory(Asked, config)
    container.start()
    uri = amqp_uri_of(vhost)
    kept = outbox_row("probe_happened", {"event_id": uuid.uuid4().hex, "n": 1})
    keep_rows(mongo[database], [kept_row(kept, utcnow())])
    events, requests = BrokerProbe(uri, f"{source}.events"), ReplayProbe(uri)
    try:
        # asked by another: its kept event is published again
        publish(uri, REPLAY_EXCHANGE, "", {"service": "another", "missing": "queue x.dlq"})
        [(_, again)] = eventually(events.drain, what="its kept event published again")
        assert again["event_id"] == kept["_id"]
        requests.drain()  # the request the test sent

        # finding its own dead-letter queue gone, it asks every service
        queue = f"evt-{SOURCE}-{EVENT}--{Asked.name}.on_event"
        with Connection(uri) as connection, connection.channel() as channel:
            channel.queue_delete(f"{queue}.dlq")
        assert get_extension(container, BrokerCheck).connects()
        [(_, request)] = eventually(requests.drain, what="the others asked")
        assert request == {"service": Asked.name, "missing": f"queue {queue}.dlq"}
        eventually(events.drain, what="and its own kept event published again")
    finally:
        events.close()
        requests.close()
        mongo.drop_database(database)
