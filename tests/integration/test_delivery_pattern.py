"""The delivery pattern against the real broker and database server.

* a handler that always fails on one message: after the delivery limit the
  broker moves it to the handler's dead-letter queue, while the messages
  around it are handled; an operator sees it there and replays it;
* an event published before its consumer ever started is not lost;
* a redelivered ``application_verified`` creates one print job, not two, and
  ``print_job_queued`` leaves printing once;
* the outbox relay: rows handed over by their writer, orphans swept; events
  a document carries (``shared.outbox.Carried``) the same way, cleared from
  the document once published, an unroutable one kept.
"""

from __future__ import annotations

import datetime
import logging
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from kombu import Connection, Queue
from pymongo import MongoClient, monitoring
from nameko.events import get_event_exchange
from nameko.testing.services import entrypoint_waiter

from services.printing.service import PrintingEvents
from shared.clock import utcnow
from shared.events import build_event
from shared.messaging import PermanentFailure, reliable_event_handler
from shared.outbox import (CLEAR_CHUNK, DELETE_CHUNK, DUE, HANDOFF_CLAIM_SECONDS, PENDING,
                           Carried, OutboxRelay, outbox_row, pending_events)
from deploy import dlq
from deploy.local.stack import ensure_vhost
from tests.conftest import drop_vhost
from tests.helpers import (BrokerProbe, CommandCounter, eventually, publish, random_nik,
                           service_config)

RETRY_DELAYS = (0.2, 0.4, 0.8)
ROOT = Path(__file__).parents[2]


def flaky_consumer(recorder: dict, fail_times: int | None = None):
    """A service whose handler fails on the poison message until ``healed``
    (or, with ``fail_times``, that many times)."""
    class FlakyConsumer:
        name = "flaky_probe"

        @reliable_event_handler("probe_source", "probe_happened")
        def handle(self, body):
            if body.get("poison") and not recorder["healed"]:
                recorder["poison_attempts"].append((body["n"], time.monotonic()))
                if fail_times is None or len(recorder["poison_attempts"]) <= fail_times:
                    raise RuntimeError("this message cannot be handled now")
            recorder["handled"].append(body["n"])
    return FlakyConsumer


def flaky_service(backing, container_factory, recorder, database, delays=RETRY_DELAYS,
                  name="flaky_probe", **kwargs):
    config = service_config(backing, database, RETRY_DELAYS=",".join(map(str, delays)))
    with Connection(backing.amqp_uri) as conn, conn.channel() as channel:
        get_event_exchange("probe_source", {})(channel).declare()
    consumer = flaky_consumer(recorder, **kwargs)
    consumer.name = name
    container = container_factory(consumer, config)
    container.start()
    return container


def test_poison_message_goes_to_dead_letter_queue_and_others_flow(backing, container_factory):
    # an operator fixes the cause by setting "healed": the poison message then succeeds
    recorder = {"handled": [], "poison_attempts": [], "healed": False}
    flaky_service(backing, container_factory, recorder, "flaky_probe")

    for n in range(6):
        publish(backing.amqp_uri, "probe_source.events", "probe_happened",
                {"n": n, "poison": n == 2})

    eventually(lambda: sorted(recorder["handled"]) == [0, 1, 3, 4, 5], what="good messages handled")
    queue = "evt-probe_source-probe_happened--flaky_probe.handle"
    dead = eventually(lambda: dlq.peek(backing.amqp_uri, queue), what="poison message in the DLQ")
    assert [(m["reason"], m["from_queue"]) for m in dead] == [("rejected", queue)]
    # the first delivery + one retry per delay in the schedule, then the DLQ
    assert [n for n, _ in recorder["poison_attempts"]] == [2] * (len(RETRY_DELAYS) + 1)
    assert dlq.peek(backing.amqp_uri, queue) == dead  # peeking leaves it there
    # the DLQ's own name, as ``list`` prints it, is the same queue
    assert dlq.peek(backing.amqp_uri, f"{queue}.dlq") == dead

    recorder["healed"] = True
    assert dlq.replay(backing.amqp_uri, f"{queue}.dlq") == 1
    eventually(lambda: sorted(recorder["handled"]) == [0, 1, 2, 3, 4, 5], what="replayed message handled")
    assert dlq.peek(backing.amqp_uri, queue) == []


def test_a_failing_handler_says_which_event_failed_and_why_and_its_dead_letter_keeps_why(
        backing, container_factory, caplog):
    """The retry and dead-letter lines named the queue and the attempt only,
    and the dead letter kept RabbitMQ's "rejected": an operator could tell
    neither which application waits nor why (Pos down? a bug?)."""
    class Failing:  # an event of its own: the other probes' queues do not get it
        @reliable_event_handler("probe_source", "probe_failing")
        def handle(self, body):
            raise RuntimeError("this message cannot be handled now")

    caplog.set_level(logging.INFO, logger="shared.messaging")
    Failing.name = f"told_{uuid.uuid4().hex[:6]}"
    with Connection(backing.amqp_uri) as conn, conn.channel() as channel:
        get_event_exchange("probe_source", {})(channel).declare()
    config = service_config(backing, Failing.name, RETRY_DELAYS="0.1,0.2")
    container_factory(Failing, config).start()
    publish(backing.amqp_uri, "probe_source.events", "probe_failing",
            {"event_id": "e1", "tracking_code": "SDKTOLD0001", "nik": "3673045207900001"})
    queue = f"evt-probe_source-probe_failing--{Failing.name}.handle"
    [dead] = eventually(lambda: dlq.peek(backing.amqp_uri, queue), what="dead-lettered")

    event, why = "event e1 (probe_failing, application SDKTOLD0001)", \
        "RuntimeError: this message cannot be handled now"
    lines = [(r.levelname, r.getMessage()) for r in caplog.records if queue in r.getMessage()]
    assert lines == [
        ("WARNING", f"retrying {event} on {queue} in 0.1s (attempt 2 of 3): {why}"),
        ("WARNING", f"retrying {event} on {queue} in 0.2s (attempt 3 of 3): {why}"),
        ("ERROR", f"dead-lettering {event} on {queue}: 3 attempts failed (last: {why})")]
    assert (dead["event_id"], dead["last_error"]) == ("e1", f"3 attempts failed (last: {why})")
    assert (dead["reason"], dead["from_queue"], dead["attempts"]) == ("rejected", queue, 3)


def test_the_dlq_list_on_a_broker_without_the_topology_marks_what_is_missing():
    """``list`` where ``deploy.topology`` never ran (a fresh virtual host):
    every queue listed, each marked missing, one line on stderr saying what
    declares them - not a pika traceback after the first."""
    vhost = f"smartdukcapil_bare_{uuid.uuid4().hex[:6]}"
    assert ensure_vhost(vhost)
    try:
        ran = subprocess.run([sys.executable, "-m", "deploy.dlq", "list", "--amqp-uri",
                              f"pyamqp://guest:guest@127.0.0.1:5672/{vhost}"], cwd=ROOT,
                             capture_output=True, text=True, timeout=60)
    finally:
        drop_vhost(vhost)
    lines = ran.stdout.splitlines()
    assert ran.returncode == 0, ran.stderr
    assert len(lines) == len(dlq.all_handler_queues()) > 10
    assert all(line.split() == ["-", f"{queue}.dlq"]
               for line, queue in zip(lines, dlq.all_handler_queues()))
    assert ran.stderr.startswith(f"dlq: {len(lines)} dead-letter queue(s) not declared"), ran.stderr


def test_the_dlq_tool_answers_a_queue_the_broker_lacks_in_one_line(backing):
    """``show`` and ``replay`` of a queue that does not exist (or whose DLQ
    does not): one line on stderr, exit status 1, no traceback."""
    for command in ("show", "replay"):
        for queue in ("evt-nowhere-nothing--nobody.handle", "evt-nowhere-nothing--nobody.handle.dlq"):
            ran = subprocess.run([sys.executable, "-m", "deploy.dlq", command, queue,
                                  "--amqp-uri", backing.amqp_uri], cwd=ROOT, capture_output=True,
                                 text=True, timeout=60)
            assert ran.returncode == 1 and ran.stdout == "", ran
            assert ran.stderr == ("dlq: the broker has no queue "
                                  "evt-nowhere-nothing--nobody.handle.dlq (python -m deploy.dlq "
                                  "list names every one)\n"), ran.stderr
    # a DLQ whose handler queue is gone: nothing is taken out of it
    orphan = f"evt-gone-{uuid.uuid4().hex[:8]}--nobody.handle"
    with Connection(backing.amqp_uri) as conn:
        Queue(f"{orphan}.dlq", expires=60)(conn.default_channel).declare()
        conn.Producer().publish({"event_id": "e1"}, exchange="", routing_key=f"{orphan}.dlq")
    with pytest.raises(dlq.UnknownQueue) as missing:
        dlq.replay(backing.amqp_uri, orphan)
    assert missing.value.queue == orphan
    assert [m["event_id"] for m in dlq.peek(backing.amqp_uri, orphan)] == ["e1"]


def test_failures_are_retried_after_growing_delays_without_dead_lettering(
        backing, container_factory):
    recorder = {"handled": [], "poison_attempts": [], "healed": False}
    flaky_service(backing, container_factory, recorder, "flaky_probe", fail_times=3)
    for n in range(3):
        publish(backing.amqp_uri, "probe_source.events", "probe_happened",
                {"n": n, "poison": n == 1})

    eventually(lambda: sorted(recorder["handled"]) == [0, 1, 2], what="all handled")
    times = [at for _, at in recorder["poison_attempts"]]
    gaps = [later - earlier for earlier, later in zip(times, times[1:])]
    # each retry waited at least its delay, and the waits grew
    assert len(gaps) == 3 and all(gap >= delay * 0.9 for gap, delay in zip(gaps, RETRY_DELAYS))
    assert gaps == sorted(gaps), gaps
    queue = "evt-probe_source-probe_happened--flaky_probe.handle"
    assert dlq.peek(backing.amqp_uri, queue) == []


def test_a_retry_schedule_longer_than_the_delivery_limit_is_used_to_its_end(
        backing, container_factory):
    """The handler queue's ``x-delivery-limit`` (5) counts the broker's own
    redeliveries, not the delayed retries (each one a new message through a
    wait queue): a message that fails 7 times on a 7-delay schedule is
    handled at its 8th attempt, and nothing is dead-lettered."""
    recorder = {"handled": [], "poison_attempts": [], "healed": False}
    delays = (0.1, 0.1, 0.2, 0.2, 0.3, 0.3, 0.4)
    name = f"long_schedule_{uuid.uuid4().hex[:6]}"
    flaky_service(backing, container_factory, recorder, name, delays=delays, name=name,
                  fail_times=len(delays))
    publish(backing.amqp_uri, "probe_source.events", "probe_happened", {"n": 1, "poison": True})

    eventually(lambda: recorder["handled"] == [1], what="handled at the last attempt")
    assert len(recorder["poison_attempts"]) == len(delays) + 1  # 7 failed + the 8th handled it
    assert dlq.peek(backing.amqp_uri, f"evt-probe_source-probe_happened--{name}.handle") == []


def test_event_published_before_its_consumer_starts_is_not_lost(backing, container_factory, mongo):
    # the topology was declared up front (as the launcher does before any
    # service runs), so the event waits in printing's queue
    database = f"printing_{uuid.uuid4().hex[:6]}"
    event = verified_event()
    publish(backing.amqp_uri, "intake.events", "application_verified", event)
    container = container_factory(PrintingEvents, service_config(backing, database))
    container.start()
    eventually(lambda: mongo[database].print_jobs.find_one(
        {"application_id": event["application_id"]}), what="print job from the early event")


def verified_event() -> dict:
    return build_event("application_verified", application_id=uuid.uuid4().hex,
                       tracking_code="SDKTEST0001", document_type="ktp_el",
                       nik=random_nik(), full_name="Budi Santoso",
                       contact={"phone": "+6281234567890", "email": None, "language": "id"},
                       delivery_method="pickup", delivery_address=None, verified_by="op-1")


def test_redelivered_application_verified_creates_one_print_job(backing, container_factory, mongo):
    database = f"printing_{uuid.uuid4().hex[:6]}"
    container = container_factory(PrintingEvents, service_config(backing, database))
    container.start()
    probe = BrokerProbe(backing.amqp_uri, "printing.events", "print_job_queued")
    event = verified_event()

    for _ in range(2):  # the same event id twice: a broker redelivery or a relay resend
        with entrypoint_waiter(container, "on_application_verified", timeout=30):
            publish(backing.amqp_uri, "intake.events", "application_verified", event)

    db = mongo[database]
    assert db.print_jobs.count_documents({"application_id": event["application_id"]}) == 1
    eventually(lambda: db.outbox.count_documents({}) == 0, what="outbox relayed")
    queued = eventually(probe.drain, what="print_job_queued published")
    probe.close()
    assert [payload["application_id"] for _, payload in queued] == [event["application_id"]]


def test_replay_of_a_message_that_fails_again_at_once_ends(backing, container_factory):
    class AlwaysBadPayload:
        name = "always_bad_probe"

        @reliable_event_handler("probe_source", "probe_rejected")
        def handle(self, body):
            raise PermanentFailure("this payload can never be handled")

    config = service_config(backing, "always_bad_probe", RETRY_DELAYS="0.2")
    with Connection(backing.amqp_uri) as conn, conn.channel() as channel:
        get_event_exchange("probe_source", {})(channel).declare()
    container_factory(AlwaysBadPayload, config).start()
    queue = "evt-probe_source-probe_rejected--always_bad_probe.handle"
    publish(backing.amqp_uri, "probe_source.events", "probe_rejected", {"n": 1})
    eventually(lambda: dlq.peek(backing.amqp_uri, queue), what="message dead-lettered")

    # it fails again as soon as it is back, yet each replay moves it only once
    assert dlq.replay(backing.amqp_uri, queue) == 1
    eventually(lambda: dlq.peek(backing.amqp_uri, queue), what="message dead-lettered again")
    assert dlq.replay(backing.amqp_uri, queue) == 1


def test_a_replayed_message_the_delivery_limit_dead_lettered_comes_back_from_its_retry(
        backing, container_factory):
    """A review (forty-fifth session): a message dead-lettered by its
    queue's delivery limit keeps ``x-death`` naming that queue; replayed,
    it failed once, and its wait queue's dead-lettering back to the handler
    queue was a cycle to the broker - it stayed in no queue for ever. A
    replay drops what the broker wrote of its death."""
    recorder = {"handled": [], "poison_attempts": [], "healed": False}
    flaky_service(backing, container_factory, recorder, "replay_death_probe",
                  name="replay_death_probe", fail_times=1)
    queue = "evt-probe_source-probe_happened--replay_death_probe.handle"
    death = [{"count": 5, "reason": "delivery_limit", "queue": queue, "exchange": "",
              "routing-keys": [queue], "time": datetime.datetime.now(datetime.timezone.utc)}]
    publish(backing.amqp_uri, "", f"{queue}.dlq", {"n": 7, "poison": True},
            headers={"x-death": death, "x-first-death-queue": queue,
                     "x-first-death-reason": "delivery_limit"})
    eventually(lambda: dlq.peek(backing.amqp_uri, queue), what="the message in the DLQ")
    assert dlq.replay(backing.amqp_uri, queue) == 1
    eventually(lambda: recorder["handled"] == [7], timeout=30,
               what="the replayed message handled after its retry")
    assert len(recorder["poison_attempts"]) == 2  # failed once, then handled

def test_an_event_no_queue_is_bound_for_stays_in_the_outbox(backing, mongo, caplog):
    """Kept, and logged once per event type with how many (a line each
    flooded the log while a broker that lost its state had no queues)."""
    database = f"unroutable_{uuid.uuid4().hex[:6]}"
    source = f"nobody_{uuid.uuid4().hex[:6]}"  # an exchange with no queue bound at all
    with Connection(backing.amqp_uri) as conn, conn.channel() as channel:
        get_event_exchange(source, {})(channel).declare()
    relay = OutboxRelay(mongo[database].outbox, backing.amqp_uri, source, {})
    events = [verified_event() for _ in range(3)]
    mongo[database].outbox.insert_many([outbox_row("application_verified", event)
                                        for event in events])

    with caplog.at_level("ERROR", logger="shared.outbox"):
        assert relay.publish_pending() == 0
    for event in events:
        row = mongo[database].outbox.find_one({"_id": event["event_id"]})
        assert row is not None and row["unroutable_at"] is not None
    [line] = [record.getMessage() for record in caplog.records if record.name == "shared.outbox"]
    assert line.startswith("3 application_verified event(s) unroutable on "), line
    assert relay.publish_pending() == 0  # not retried at once: it waits its turn



def test_a_committed_row_is_published_by_its_writer_without_a_read_and_an_orphan_by_the_sweep(
        backing, mongo):
    """Rows are written claimed by the writer's relay: handed over after the
    commit, they are published with no read and deleted together, one
    database command for the lot;
    a row its writer never handed over (it died) waits out its claim, then
    any relay's sweep publishes it."""
    database, source = f"handoff_{uuid.uuid4().hex[:6]}", f"handoff_{uuid.uuid4().hex[:6]}"
    probe = BrokerProbe(backing.amqp_uri, f"{source}.events")
    commands = []

    class Listener(monitoring.CommandListener):
        def started(self, event):
            commands.append(event.command_name)

        def succeeded(self, event):
            pass

        def failed(self, event):
            pass

    client = MongoClient(backing.mongo_uri, tz_aware=True, event_listeners=[Listener()])
    outbox = client[database].outbox
    relay = OutboxRelay(outbox, backing.amqp_uri, source, {})
    try:
        handed = [outbox_row("application_verified", verified_event(), claimed_by=relay.instance)
                  for _ in range(3)]
        orphan = outbox_row("application_verified", verified_event(), claimed_by="a dead process")
        outbox.insert_many([*handed, orphan])
        assert relay.publish_pending() == 0  # every row is claimed: the sweep leaves them

        commands.clear()
        relay.hand_over(handed)
        assert relay.publish_handed() == 3
        assert commands == []  # published: deleted together with the next ones
        assert relay.publish_pending() == 0  # still claimed: the sweep leaves them
        commands.clear()
        relay.delete_confirmed(now=True)
        assert commands == ["insert", "delete"]  # kept (``keep_rows``), then deleted
        assert [row["_id"] for row in outbox.find()] == [orphan["_id"]]

        # the dead writer's claim runs out (HANDOFF_CLAIM_SECONDS): the sweep takes it
        # (a second ago: a date is stored to the millisecond, and "now" in the
        # same millisecond is not yet past it)
        outbox.update_one({"_id": orphan["_id"]},
                          {"$set": {"claimed_until": utcnow() - datetime.timedelta(seconds=1)}})
        assert relay.publish_pending() == 1
        relay.delete_confirmed(now=True)
        assert outbox.count_documents({}) == 0
        published = []
        eventually(lambda: published.extend(probe.drain()) or len(published) >= 4,
                   what="the four events published")
        assert sorted(event["event_id"] for _, event in published) == sorted(
            row["_id"] for row in [*handed, orphan])
    finally:
        probe.close()
        client.drop_database(database)
        client.close()


def test_the_sweep_reads_its_claim_back_by_id_with_no_index_of_the_claims(backing):
    """An earlier version's index of the claims goes (every insert and delete
    of a row maintained it); two orphans, one claimed by another relay's sweep
    in between: this sweep publishes only the one it claimed."""
    database, source = f"sweep_{uuid.uuid4().hex[:6]}", f"sweep_{uuid.uuid4().hex[:6]}"
    probe = BrokerProbe(backing.amqp_uri, f"{source}.events")
    client = MongoClient(backing.mongo_uri, tz_aware=True)
    outbox = client[database].outbox
    outbox.create_index([("claimed_by", 1)])
    relay = OutboxRelay(outbox, backing.amqp_uri, source, {})
    try:
        relay.ensure_indexes()
        assert set(outbox.index_information()) == {"_id_", "claimed_until_1_created_at_1"}
        rows = [outbox_row("application_verified", verified_event(), claimed_by="a dead one")
                for _ in range(2)]
        outbox.insert_many(rows)
        outbox.update_many({}, {"$set": {"claimed_until": a_second_ago()}})
        taken_by_another = {"claimed_by": "another sweep",
                            "claimed_until": utcnow() + datetime.timedelta(seconds=60)}
        real_update_many = outbox.update_many

        def another_sweep_first(query, update, **kwargs):  # it claims row 0 just before
            outbox.update_one({"_id": rows[0]["_id"]}, {"$set": taken_by_another})
            return real_update_many(query, update, **kwargs)
        relay.collection = type("Outbox", (), {
            "find": outbox.find, "update_many": staticmethod(another_sweep_first),
            "delete_many": outbox.delete_many})()
        assert relay.publish_pending() == 1
        assert outbox.find_one({"_id": rows[0]["_id"]})["claimed_by"] == "another sweep"
        published = []
        eventually(lambda: published.extend(probe.drain()) or published, what="one published")
        assert [event["event_id"] for _, event in published] == [rows[1]["_id"]]
    finally:
        probe.close()
        client.drop_database(database)
        client.close()


def a_second_ago():
    return utcnow() - datetime.timedelta(seconds=1)


def carrying_relay(backing, client, database: str, source: str) -> OutboxRelay:
    """A relay for ``source`` whose ``letters`` documents carry their events."""
    relay = OutboxRelay(client[database].outbox, backing.amqp_uri, source, {},
                        carriers=("letters",))
    relay.ensure_indexes()
    return relay


@contextmanager
def carrying_letters(backing):
    """A database whose ``letters`` carry their events: (the database, seen
    by a client counting its commands; its relay; a probe on the relay's
    exchange; the command counter). Dropped at the end."""
    database, source = f"carried_{uuid.uuid4().hex[:6]}", f"carried_{uuid.uuid4().hex[:6]}"
    probe = BrokerProbe(backing.amqp_uri, f"{source}.events")
    counter = CommandCounter()
    client = MongoClient(backing.mongo_uri, tz_aware=True, event_listeners=[counter])
    try:
        yield client[database], carrying_relay(backing, client, database, source), probe, counter
    finally:
        probe.close()
        client.drop_database(database)
        client.close()


def test_events_a_document_carries_are_published_by_its_writer_and_an_orphan_by_the_sweep(
        backing):
    """One write stores a document and its events (no transaction, no outbox
    row); handed to the writer's relay they are published with no read and
    cleared from the documents together; a document whose writer died
    waits out its due time, then any relay's sweep publishes its events."""
    with carrying_letters(backing) as (db, relay, probe, counter):
        letters = db.letters
        written = []
        for n in range(3):
            carried = Carried(relay, "letters", [("application_verified", verified_event())])
            letters.insert_one(carried.document({"_id": n, "text": "surat"}))
            written.append(carried)
        orphan = Carried(relay, "letters", [("application_verified", verified_event()),
                                            ("application_verified", verified_event())])
        letters.insert_one(orphan.document({"_id": "orphan"}))  # its writer dies now
        assert relay.publish_carried() == 0  # not due yet: the sweep leaves them

        counter.commands.clear()
        for n, carried in enumerate(written):
            carried.written(n)
        assert relay.publish_handed() == 3
        assert counter.commands == []  # published with no read; cleared with the next ones
        relay.delete_confirmed(now=True)
        # kept (``keep_rows``); one update pipeline clears all three
        assert counter.commands == ["insert", "update"]
        assert [letter for letter in letters.find({"_id": {"$in": [0, 1, 2]}})] == [
            {"_id": n, "text": "surat"} for n in range(3)]
        assert db.outbox.count_documents({}) == 0

        # the dead writer's due time passes (HANDOFF_CLAIM_SECONDS): the sweep takes it
        # (a second ago: dates are stored to the millisecond, a due time of
        # this very millisecond would not be "passed" yet)
        letters.update_one({"_id": "orphan"}, {"$set": {DUE: a_second_ago()}})
        assert relay.publish_carried() == 2
        assert relay.publish_carried() == 0  # claimed: no second sweep takes it meanwhile
        relay.delete_confirmed(now=True)
        assert letters.find_one({"_id": "orphan"}) == {"_id": "orphan"}
        assert pending_events(db, ("letters",)) == 0
        published = []
        eventually(lambda: published.extend(probe.drain()) or len(published) >= 5,
                   what="the five events published")
        assert sorted(event["event_id"] for _, event in published) == sorted(
            event["event_id"] for carried in [*written, orphan] for event in carried.events)


def test_carried_events_are_cleared_a_chunk_of_documents_per_command(backing):
    """The local server holds a collection for a whole command: the relay
    clears ``CLEAR_CHUNK`` documents per command, so a write waits for one
    chunk at most, not for every document of the last seconds."""
    with carrying_letters(backing) as (db, relay, _, counter):
        letters = db.letters
        documents = 2 * CLEAR_CHUNK + 1
        for n in range(documents):
            carried = Carried(relay, "letters", [("application_verified", verified_event()),
                                                 ("application_verified", verified_event())])
            letters.insert_one(carried.document({"_id": n}))
            carried.written(n)
        assert relay.publish_handed() == 2 * documents
        # one already cleared meanwhile: its chunk is cleared all the same
        letters.update_one({"_id": 5}, {"$unset": {PENDING: "", DUE: ""}})
        counter.commands.clear()
        relay.delete_confirmed(now=True)
        assert counter.commands == ["insert"] + ["update"] * 3  # all kept in one insert
        assert list(letters.find()) == [{"_id": n} for n in range(documents)]


def test_confirmed_rows_are_deleted_a_chunk_per_command(backing):
    """Likewise the outbox rows the broker confirmed: ``DELETE_CHUNK`` per
    command, so a write of the moment waits for one chunk at most."""
    with carrying_letters(backing) as (db, relay, _, counter):
        rows = [outbox_row("application_verified", verified_event(), claimed_by=relay.instance)
                for _ in range(2 * DELETE_CHUNK + 1)]
        db.outbox.insert_many(rows)
        relay.hand_over(rows)
        assert relay.publish_handed() == len(rows)
        counter.commands.clear()
        relay.delete_confirmed(now=True)
        assert counter.commands == ["insert"] + ["delete"] * 3  # all kept in one insert
        assert db.outbox.count_documents({}) == 0


def test_an_event_written_while_the_ones_before_it_are_cleared_stays_due(backing, mongo):
    """A document written again between its events' publication and their
    clearing keeps the new event and its due time: only what was published
    is pulled, and the due time goes only with the last event."""
    database, source = f"carried_{uuid.uuid4().hex[:6]}", f"carried_{uuid.uuid4().hex[:6]}"
    probe = BrokerProbe(backing.amqp_uri, f"{source}.events")
    letters = mongo[database].letters
    relay = carrying_relay(backing, mongo, database, source)
    try:
        first = Carried(relay, "letters", [("application_verified", verified_event())])
        letters.insert_one(first.document({"_id": "letter", "version": 1}))
        first.written("letter")
        assert relay.publish_handed() == 1
        second = Carried(relay, "letters", [("application_verified", verified_event())])
        letters.update_one({"_id": "letter"}, second.update({"$set": {"version": 2}}))
        relay.delete_confirmed(now=True)  # before the second is published (its writer died)

        letter = letters.find_one({"_id": "letter"})
        assert [row["_id"] for row in letter[PENDING]] == [second.events[0]["event_id"]]
        assert letter[DUE] is not None and letter["version"] == 2
        letters.update_one({"_id": "letter"}, {"$set": {DUE: a_second_ago()}})
        assert relay.publish_carried() == 1
        relay.delete_confirmed(now=True)
        assert letters.find_one({"_id": "letter"}) == {"_id": "letter", "version": 2}
    finally:
        probe.close()
        mongo.drop_database(database)


def test_an_event_a_document_carries_that_no_queue_takes_waits_in_it(backing, mongo):
    database = f"carried_{uuid.uuid4().hex[:6]}"
    source = f"nobody_{uuid.uuid4().hex[:6]}"  # an exchange with no queue bound at all
    with Connection(backing.amqp_uri) as conn, conn.channel() as channel:
        get_event_exchange(source, {})(channel).declare()
    letters = mongo[database].letters
    relay = carrying_relay(backing, mongo, database, source)
    try:
        carried = Carried(relay, "letters", [("application_verified", verified_event())])
        letters.insert_one(carried.document({"_id": "letter"}))
        carried.written("letter")
        assert relay.publish_handed() == 0
        relay.delete_confirmed(now=True)
        letter = letters.find_one({"_id": "letter"})
        assert [row["_id"] for row in letter[PENDING]] == [carried.events[0]["event_id"]]
        assert letter[DUE] > utcnow() + datetime.timedelta(seconds=HANDOFF_CLAIM_SECONDS)
        assert relay.publish_carried() == 0  # not retried at once: it waits its turn
    finally:
        mongo.drop_database(database)
