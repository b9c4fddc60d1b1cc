"""The relay's sweep when its hand-over was lost (a database timeout while
the service is saturated: ``OutboxRelay._run`` leaves the rows to the
sweep), against the real database server and broker.

* the sweep claims a batch of carrier documents in a bounded number of
  commands, not one guarded update per document (a scaling audit measured
  ~1 document/s drained that way with intake saturated);
* two relays sweeping the same backlog at once publish each event once;
* a sweep publishes only what its claim took, when another relay or a
  writer changed some of what it read;
* a big backlog drains in bounded rounds between the hand-overs: a new
  application's events are not held behind the whole backlog;
* a sweep the broker refuses leaves what it claimed due again at once: the
  admission's count sees it, the next attempt publishes it.
"""

from __future__ import annotations

import collections
import datetime
import time
import uuid
from contextlib import contextmanager

import eventlet
import pytest
from pymongo import MongoClient, monitoring

from shared.clock import utcnow
from shared.outbox import CLAIMED_BY, DUE, PENDING, Carried, OutboxRelay, outbox_row, overdue
from tests.helpers import BrokerProbe, CommandCounter, eventually
from tests.integration.test_delivery_pattern import verified_event as an_event

DOCUMENTS = 300


@contextmanager
def lost_hand_overs(backing, documents: int = DOCUMENTS, relays: int = 1, listeners=()):
    """``documents`` letters whose one event each is due for the sweep (their
    writer's hand-over was lost), and ``relays`` relays over them, each with
    a client of its own counting its commands (and told to ``listeners``):
    (the database, [(relay, counter)], a probe on the relays' exchange).
    Dropped at the end."""
    database, source = f"sweep_{uuid.uuid4().hex[:6]}", f"sweep_{uuid.uuid4().hex[:6]}"
    probe = BrokerProbe(backing.amqp_uri, f"{source}.events")
    clients, pairs = [], []
    for _ in range(relays):
        counter = CommandCounter()
        client = MongoClient(backing.mongo_uri, tz_aware=True,
                             event_listeners=[counter, *listeners])
        relay = OutboxRelay(client[database].outbox, backing.amqp_uri, source, {},
                            carriers=("letters",))
        relay.ensure_indexes()
        clients.append(client)
        pairs.append((relay, counter))
    db = clients[0][database]
    try:
        writer = pairs[0][0]
        db.letters.insert_many([Carried(writer, "letters", [("application_verified", an_event())])
                                .document({"_id": n}) for n in range(documents)])
        db.letters.update_many({}, {"$set": {DUE: utcnow() - datetime.timedelta(seconds=1)}})
        yield db, pairs, probe
    finally:
        probe.close()
        clients[0].drop_database(database)
        for client in clients:
            client.close()


def delivered(probe: BrokerProbe, expected: int) -> collections.Counter:
    """Deliveries per event id, once ``expected`` arrived (and what came with them)."""
    seen: collections.Counter = collections.Counter()

    def arrived():
        seen.update(event["event_id"] for _, event in probe.drain())
        return sum(seen.values()) >= expected
    eventually(arrived, what=f"{expected} events delivered")
    seen.update(event["event_id"] for _, event in probe.drain())
    return seen


def test_the_sweep_claims_a_batch_of_documents_in_a_few_commands_not_one_each(backing):
    with lost_hand_overs(backing) as (db, [(relay, counter)], probe):
        counter.commands.clear()
        started, rounds, published = time.perf_counter(), 0, 0
        while swept := relay.publish_carried():
            published, rounds = published + swept, rounds + 1
        took = time.perf_counter() - started
        sweep_commands = list(counter.commands)
        relay.delete_confirmed(now=True)

        print(f"\nsweep of {DOCUMENTS} due documents: {len(sweep_commands)} commands in "
              f"{rounds} rounds, {DOCUMENTS / took:.0f} documents/s drained")
        assert published == DOCUMENTS
        # a claim (and a read) per round of documents, not an update per document
        assert len(sweep_commands) <= 20, collections.Counter(sweep_commands)
        assert sorted(delivered(probe, DOCUMENTS).values()) == [1] * DOCUMENTS
        assert list(db.letters.find()) == [{"_id": n} for n in range(DOCUMENTS)]


def test_two_relays_sweeping_one_backlog_at_once_publish_each_event_once(backing):
    rows = 100
    with lost_hand_overs(backing, relays=2) as (db, pairs, probe):
        orphans = [outbox_row("application_verified", an_event(), claimed_by="a dead one")
                   for _ in range(rows)]
        db.outbox.insert_many(orphans)
        db.outbox.update_many({}, {"$set": {
            "claimed_until": utcnow() - datetime.timedelta(seconds=1)}})

        def sweep(relay):
            published = 0
            while swept := relay.publish_carried() + relay.publish_pending():
                published += swept
            relay.delete_confirmed(now=True)
            return published
        sweepers = [eventlet.spawn(sweep, relay) for relay, _ in pairs]
        shares = [sweeper.wait() for sweeper in sweepers]

        print(f"\ntwo relays swept {DOCUMENTS} documents and {rows} rows: {shares}")
        assert sum(shares) == DOCUMENTS + rows
        deliveries = delivered(probe, DOCUMENTS + rows)
        assert len(deliveries) == DOCUMENTS + rows
        assert set(deliveries.values()) == {1}
        assert db.outbox.count_documents({}) == 0
        assert db.letters.count_documents({DUE: {"$exists": True}}) == 0


def test_a_hand_over_is_published_while_a_big_sweep_backlog_drains(backing):
    """The relay runs its loop over 600 due documents; a new application's
    event handed over once the sweep has begun goes out after at most a
    round or two of the sweep, not behind the whole backlog (a position in
    the broker's order, not a time)."""
    documents = 600
    with lost_hand_overs(backing, documents) as (db, [(relay, _)], probe):
        relay.start(lambda run, identifier: eventlet.spawn(run))
        try:
            before = []
            eventually(lambda: before.extend(probe.drain()) or before, what="the sweep began")
            new = outbox_row("application_verified", an_event(), claimed_by=relay.instance)
            db.outbox.insert_one(new)
            relay.hand_over([new])
            later = delivered(probe, documents + 1 - len(before))
        finally:
            relay.stop()
        order = [event["event_id"] for _, event in before] + list(later)
        position = order.index(new["_id"])
        print(f"\nhanded over after {len(before)} swept events: published "
              f"{position - len(before)} events later, {documents - position} swept after it")
        # within two rounds of the sweep (100 documents a round), not after all 600
        assert position <= len(before) + 200, position
        assert len(order) == documents + 1 and set(later.values()) == {1}  # each once



class Meanwhile(monitoring.CommandListener):
    """Before each of the next commands to the carrier collection (``steps``:
    [(command name, action or None)], in order), runs its action: another
    relay's or a writer's write landing between a sweep's commands."""

    def __init__(self):
        self.steps: list = []

    def started(self, event):
        if event.command.get(event.command_name) == "letters" and self.steps:
            name, action = self.steps.pop(0)
            assert event.command_name == name, (event.command_name, name)
            if action is not None:
                action()

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


def test_a_sweep_reads_back_only_what_its_claim_took(backing, mongo):
    """Between a sweep's read of three due letters and its claim, another
    relay claims the first; between the claim and its read-back, the second
    is written again (a new event): the sweep publishes the third only. The
    first is the other relay's; the second's new event is its writer's to
    hand over, and its older one waits for the next sweep (a new due time)."""
    meanwhile = Meanwhile()
    with lost_hand_overs(backing, documents=3, listeners=[meanwhile]) as (db, [(relay, _)], probe):
        letters = mongo[db.name].letters  # the others' writes: a client of their own
        rewrite = Carried(relay, "letters", [("application_verified", an_event())])
        meanwhile.steps = [
            ("find", None),  # what is due
            ("update", lambda: letters.update_one({"_id": 0}, {"$set": {  # another relay
                DUE: utcnow() + datetime.timedelta(seconds=30), CLAIMED_BY: "another"}})),
            ("find", lambda: letters.update_one({"_id": 1}, rewrite.update({})))]  # a writer
        assert relay.publish_carried() == 1
        assert meanwhile.steps == []

        written = {letter["_id"]: letter for letter in letters.find()}
        assert list(delivered(probe, 1)) == [written[2][PENDING][0]["_id"]]
        assert written[0][CLAIMED_BY] == "another"
        assert CLAIMED_BY not in written[1] and len(written[1][PENDING]) == 2
        assert written[1][DUE] > utcnow()


def test_a_sweep_the_broker_refuses_leaves_what_it_claimed_due_again_at_once(backing):
    """Outside audit N2: with the broker out of reach, a sweep claimed the
    due rows and documents (due again in CLAIM_SECONDS, 30 s), its publish
    failed, and nothing released them: the overdue count behind the
    admission read 0 for the whole outage (so OUTBOX_BACKLOG_LIMIT never
    refused), the relay's next attempts found nothing due (its back-off
    reset), and the events left up to 30 s after the broker came back."""
    with lost_hand_overs(backing, documents=5) as (db, [(relay, counter)], probe):
        db.outbox.insert_many([outbox_row("application_verified", an_event())
                               for _ in range(3)])
        db.outbox.update_many({}, {"$set": {
            "claimed_until": utcnow() - datetime.timedelta(seconds=1)}})
        assert overdue(db, ("letters",)) == 8
        cut_off = OutboxRelay(db.outbox, "pyamqp://guest:guest@127.0.0.1:1//", "cut_off", {},
                              carriers=("letters",))
        with pytest.raises(Exception):
            cut_off.publish_pending()
        with pytest.raises(Exception):
            cut_off.publish_carried()
        assert overdue(db, ("letters",)) == 8
        # the broker back: the next sweep takes every one of them at once
        assert relay.publish_pending() + relay.publish_carried() == 8
        relay.delete_confirmed(now=True)
        assert len(delivered(probe, 8)) == 8
