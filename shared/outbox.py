"""The publishing half of the delivery pattern: a transactional outbox.

A service never publishes from a handler. It writes its state change and the
event rows (``outbox`` collection) in one MongoDB transaction, so the two
cannot diverge. The rows are written already claimed by the writing process'
relay (a managed thread of the service's container) for
``HANDOFF_CLAIM_SECONDS``; after the commit the store hands them to that
relay, which publishes them with publisher confirms (persistent, on
``<service>.events``; a batch at a time, waiting once for the broker's
confirms of all: ``shared.confirms``) and deletes what the broker confirmed, no read: the
confirmed rows of up to ``DELETE_EVERY_SECONDS`` are deleted together in one
database round trip (well within their claim, so no sweep takes them
meanwhile; at a peak one delete serves dozens of events). Rows nobody
handed over (their writer died before publishing, or publishing failed)
are found by every relay's sweep once their claim has run out: it claims
them with a lease, publishes and deletes them. A crash between publish and
delete republishes: delivery is at-least-once and consumers deduplicate on
``event_id``.

Several instances of one service may run: rows are claimed with a lease, so
normally each row is published by one relay only.

Published events are kept ``KEEP_PUBLISHED_SECONDS`` (an hour unless set:
longer than the longest retry delay), written with the deletes (one
``insert_many`` a round, not a command per event), in a collection per ten
minutes (``published_events.<UTC start>``); a bucket is dropped whole once
its last minute is older than that (``prune_kept``, once a minute). Not a
TTL index, nor deletes: the local server's TTL sweep reads every document
of the collection under its one lock (tens of thousands kept held every
request past its 5 s deadline: a CI run's operator listing answered 503),
and deletes it at ~2 ms a document - as much again as each event's outbox
row costs; a dropped collection costs one command. A broker that loses its state loses what was in its
queues - events not yet consumed, retries waiting out their delay, an event
it confirmed while its queues were being deleted (outside audit L: an
application stayed ``verified`` for good, "ready" SMS ``pending`` for good).
``republish_kept`` publishes the kept ones again (the newest ten minutes
first, ``REPUBLISH_PER_SECOND`` a second): each service does it by
itself when it finds the broker without its queues (``shared.messaging``),
and ``python -m deploy.replay`` on an operator's word; consumers are
idempotent on the event id (a handled event changes nothing again), and the
rest is at-least-once delivery as always.

Publishing is mandatory: an event no queue is bound for comes back from the
broker instead of vanishing. Such a row is kept, marked ``unroutable_at`` and
reported (an error log naming the event type and id), and tried again after
``UNROUTABLE_RETRY_SECONDS``; the rows behind it flow on. Each service's
exchange has an archive queue bound to all its events (``deploy/topology.py``)
so an event type nobody consumes yet still routes.

Carried events: a change to ONE document and its events need no
transaction - the events ride in that document (``pending_events``, with
``events_due``: when a sweep may take them), written by the same single
write (``Carried``: a new application, an operator's verification, a
message marked sent). On the local server that is one command
instead of three (the write, the outbox insert, the commit), and ~2.5x the
writes per second (950 vs 390/s measured with 16 writers). The writer hands
them to its relay exactly like outbox rows; what the broker confirmed is
taken from the documents together, every ``DELETE_EVERY_SECONDS`` (one
update pipeline per ``CLEAR_CHUNK`` documents, which also drops the due
time of a document left with none: ``_clear``).
The sweep finds documents whose ``events_due`` passed through a sparse
index on it (the service's store lists its carrier collections:
``BaseStore.CARRIERS``) and claims them together (``_claim``). A carrier
collection is never written in a transaction (``_clear`` says why);
multi-document changes keep the outbox.

The sweep works in rounds of at most ``SWEEP_BATCH`` rows and as many
documents per carrier collection: one read of what is due, one guarded
``update_many`` claiming it under a token of the round (a read back by that
token only when another relay took some in between). A round that found a
full batch is followed by the next one straight after the hand-overs of the
moment, so a backlog left by lost hand-overs (the database timing out
while the service is saturated) drains round after round, in a few
commands per hundred documents (an update per document drained ~1 document
a second on a saturated server), and a new hand-over waits for one round at
most.
"""

from __future__ import annotations

import collections
import datetime
import logging
import time
import uuid
from contextlib import contextmanager

from amqp.exceptions import ConnectionError as AmqpConnectionError, NotFound
from eventlet.queue import Empty, LightQueue
from kombu.exceptions import OperationalError
from nameko.events import get_event_exchange
from pymongo.errors import BulkWriteError, ConnectionFailure, ExecutionTimeout, OperationFailure

from .clock import utcnow
from .confirms import ConfirmedBatches, Outgoing
from .events import build_event
from .group_writes import DUPLICATE_KEY, chunks
from .indexes import drop_index_if_present
from .logs import error_line
from .pace import Pace
from .settings import integer

log = logging.getLogger(__name__)

CLAIM_SECONDS = 30
# a row handed to its writer's relay is published within milliseconds; past
# this the sweep of any relay takes it (its writer died, or the broker is away)
HANDOFF_CLAIM_SECONDS = 10
UNROUTABLE_RETRY_SECONDS = 60
# a failed relay attempt waits 1, 2, 4, 5, 5 ... s (0.5 s doubled, capped):
# its rows publish within 5 s of the broker or database coming back
RETRY_MAX_SECONDS = 5.0
# the database or the broker out of reach (pymongo's connection errors and
# timeouts; kombu's, amqp's and sockets'), or the broker without the
# service's exchange (it lost its state, and no consumer has declared it
# again yet: outside audit L2 saw its traceback): an outage, logged in one line
OUTAGES = (ConnectionFailure, ExecutionTimeout, OperationalError, AmqpConnectionError, OSError,
           NotFound)
# rows the broker confirmed are deleted together, at most this long after the
# first of them (far below HANDOFF_CLAIM_SECONDS: no sweep republishes them)
DELETE_EVERY_SECONDS = 4.0
# where a document carries its own events (module docstring: carried events)
PENDING, DUE = "pending_events", "events_due"
CLEAR_CHUNK = 8  # documents cleared per command (``OutboxRelay._clear``)
# confirmed rows deleted per command: the local server holds the collection
# for a whole command, ~4 ms a row (a delete of 240 rows, four seconds of a
# station's reports, held printing's outbox 1.3 s: every write of the
# moment waited)
DELETE_CHUNK = 64
# published events kept for a broker that lost its state (module docstring)
PUBLISHED = "published_events"  # + ".<bucket's UTC start>": ``kept_bucket``
KEEP_BUCKET_SECONDS = 600
DEFAULT_KEEP_PUBLISHED_SECONDS = 3600
# kept per command: no write waits on that collection, so as many as a
# relay's batch (the deletes are chunked because the outbox's writers wait)
KEEP_CHUNK = 500
# kept events published again a second, per service, unless set
# (``shared.pace``; bench/republish_bench.py, with 10 applications a second
# coming in: unpaced, 86 of them refused; 20 a second each, none; at 50 a
# second each, the consumers here fell behind and intake refused again)
DEFAULT_REPUBLISH_PER_SECOND = 20
REPUBLISH_BATCH = 500  # kept rows per read of a bucket
# on an event published again from the kept ones: most were handled already,
# and a consumer that turns a handled one away dearer than by its inbox
# (notification: a claim per message) may look first
# (``shared.messaging.Republished``)
REPUBLISHED_HEADER = "x-smartdukcapil-republished"
# a cursor's collection dropped under it (QueryPlanKilled), or the cursor closed
CURSOR_GONE = {43, 175, 237}
PRUNE_EVERY_SECONDS = 60.0  # buckets all older than KEEP_PUBLISHED_SECONDS dropped
# the sweep's claim of a carrier document: the token of the round that took it
CLAIMED_BY = "events_claimed_by"
CARRIED_FIELDS = (PENDING, DUE, CLAIMED_BY)
# rows (and documents per carrier collection) one sweep round claims; it
# publishes them all before the relay looks at its hand-overs again
SWEEP_BATCH = 100
CARRIED_DUE_INDEX = "pending_events_due"


def outbox_row(event_type: str, event: dict, claimed_by: str | None = None) -> dict:
    """An outbox row; ``claimed_by``: the relay it is handed to after the commit."""
    now = utcnow()
    row = {"_id": event["event_id"], "event_type": event_type, "payload": event,
           "created_at": now, "claimed_until": now - datetime.timedelta(seconds=1)}
    if claimed_by is not None:
        row.update(claimed_by=claimed_by,
                   claimed_until=now + datetime.timedelta(seconds=HANDOFF_CLAIM_SECONDS))
    return row


class Carried:
    """Events carried by the one document a single write changes: put them in
    with ``document`` (an insert) or ``update`` (an update), then call
    ``written`` once the write succeeded (never for a write that changed
    nothing), and the writer's relay publishes them at once."""

    def __init__(self, relay, collection_name: str, events: list[tuple[str, dict]]):
        self.relay, self.collection_name = relay, collection_name
        self.events = [build_event(event_type, **payload) for event_type, payload in events]
        self.rows = [{"_id": event["event_id"], "event_type": event_type, "payload": event}
                     for (event_type, _), event in zip(events, self.events)]

    def _due(self) -> datetime.datetime:
        return utcnow() + datetime.timedelta(seconds=HANDOFF_CLAIM_SECONDS)

    def document(self, document: dict) -> dict:
        """``document`` (not changed) with the events, to insert."""
        return {**document, PENDING: self.rows, DUE: self._due()} if self.rows else document

    def update(self, update: dict) -> dict:
        """``update`` (not changed) that also appends the events."""
        if not self.rows:
            return update
        # a sweep's claim goes with the new due time: a sweep that reads its
        # claim back (``OutboxRelay._claim``) leaves this write's events to
        # the hand-over, and the older ones to the next sweep
        return {**update, "$push": {**update.get("$push", {}), PENDING: {"$each": self.rows}},
                "$set": {**update.get("$set", {}), DUE: self._due()},
                "$unset": {**update.get("$unset", {}), CLAIMED_BY: ""}}

    def written(self, document_id) -> None:
        self.relay.hand_over(self.rows, carrier=(self.collection_name, document_id))


def kept_row(row: dict, now: datetime.datetime) -> dict:
    """A published event as it is kept (``kept_bucket``)."""
    return {"_id": row["_id"], "event_type": row["event_type"], "payload": row["payload"],
            "published_at": now}


def kept_bucket(at: datetime.datetime) -> str:
    """The collection that keeps what was published at ``at``."""
    start = int(at.timestamp()) // KEEP_BUCKET_SECONDS * KEEP_BUCKET_SECONDS
    return f"{PUBLISHED}.{datetime.datetime.fromtimestamp(start, datetime.timezone.utc):%Y%m%dT%H%M}"


def kept_buckets(db) -> list[tuple[datetime.datetime, datetime.datetime, str]]:
    """(start, end, name) of each bucket of kept events in ``db``, oldest
    first; its events were published at or after start and before end."""
    found = []
    for name in db.list_collection_names():
        if name.startswith(f"{PUBLISHED}."):
            try:
                start = datetime.datetime.strptime(name[len(PUBLISHED) + 1:], "%Y%m%dT%H%M")
            except ValueError:
                continue
            start = start.replace(tzinfo=datetime.timezone.utc)
            found.append((start, start + datetime.timedelta(seconds=KEEP_BUCKET_SECONDS), name))
    return sorted(found)


def keep_rows(db, rows: list[dict]) -> None:
    """``rows`` (``kept_row``) into their buckets, ``KEEP_CHUNK`` per command;
    one kept already (published again after a crash or a failed delete)
    stays as it was."""
    buckets: dict[str, list[dict]] = {}
    for row in rows:
        buckets.setdefault(kept_bucket(row["published_at"]), []).append(row)
    for name, kept in buckets.items():
        for chunk in chunks(kept, KEEP_CHUNK):
            try:
                db[name].insert_many(chunk, ordered=False)
            except BulkWriteError as exc:
                if any(error.get("code") != DUPLICATE_KEY
                       for error in exc.details.get("writeErrors", ())):
                    raise


def kept_events(db) -> list[dict]:
    """Every kept event of ``db``, in the order kept (for an operator, a test)."""
    return [row for _, _, name in kept_buckets(db) for row in db[name].find()]


def without_events(event_ids: list) -> list[dict]:
    """An update pipeline taking ``event_ids`` from a document's carried
    events, and the other carried fields once none is left: a document written
    again meanwhile keeps its new events and their due time; one that
    carries none any more (the sweep's claim cleared it) does not fail the
    command (``$size`` of a missing list would, on MongoDB)."""
    left = {"$filter": {"input": {"$ifNull": [f"${PENDING}", []]},
                        "cond": {"$not": [{"$in": ["$$this._id", event_ids]}]}}}
    none_left = {"$eq": [{"$size": f"${PENDING}"}, 0]}
    return [{"$set": {PENDING: left}},
            {"$set": {name: {"$cond": [none_left, "$$REMOVE", f"${name}"]}
                      for name in CARRIED_FIELDS}}]


def carrying(db, carriers: tuple[str, ...]) -> int:
    """Documents of ``carriers`` still carrying events (through the sparse index)."""
    return sum(db[name].count_documents({DUE: {"$exists": True}}) for name in carriers)


def overdue(db, carriers: tuple[str, ...] = ()) -> int:
    """Outbox rows and documents of ``carriers`` whose events should have
    left by now and have not: their hand-over failed (or their writer died)
    and the sweep has not taken them yet. A count through an index each
    (``claimed_until``; the sparse ``events_due``): rows and documents
    handed over count only once ``HANDOFF_CLAIM_SECONDS`` passed."""
    now = utcnow()
    return db.outbox.count_documents({"claimed_until": {"$lt": now}}) + sum(
        db[name].count_documents({DUE: {"$lt": now}}) for name in carriers)


def pending_events(db, carriers: tuple[str, ...] = ()) -> int:
    """Outbox rows plus documents of ``carriers`` still carrying events."""
    return db.outbox.count_documents({}) + carrying(db, carriers)


class OutboxRelay:
    def __init__(self, collection, amqp_uri: str, service_name: str, config: dict,
                 batch_size: int = 500, idle_seconds: float = 1.0,
                 carriers: tuple[str, ...] = (), sweep_batch: int = SWEEP_BATCH):
        self.collection = collection
        self.carriers = tuple(carriers)
        self.exchange = get_event_exchange(service_name, config)
        self.amqp_uri = amqp_uri
        self.batches = ConfirmedBatches(amqp_uri, self.exchange.name)
        self.batch_size = batch_size
        self.idle_seconds = idle_seconds
        self.sweep_batch = sweep_batch
        self.more_due = False  # the last sweep round left some due (it found a full batch)
        self._wake = LightQueue(maxsize=1)
        self._handed: collections.deque[dict] = collections.deque()
        self._confirmed: list[str] = []  # published, not yet deleted
        # a minute at least: the TTL monitor runs once a minute anyway
        self.keep_seconds = integer(config, "KEEP_PUBLISHED_SECONDS",
                                    DEFAULT_KEEP_PUBLISHED_SECONDS, minimum=60)
        self.republish_per_second = integer(config, "REPUBLISH_PER_SECOND",
                                            DEFAULT_REPUBLISH_PER_SECOND)
        self._published: list[dict] = []  # to keep, with the next deletes
        # published carried events, not yet pulled: collection -> [(document id, event id)]
        self._confirmed_carried: dict[str, list[tuple]] = {}
        self._delete_due = 0.0
        self._prune_due = 0.0
        # the starts of the republishes running in this process: no bucket
        # one may still read is dropped (``prune_kept``)
        self._republishing: list[datetime.datetime] = []
        self._thread = None
        self._running = False
        self.instance = uuid.uuid4().hex

    def ensure_indexes(self) -> None:
        self.collection.create_index([("claimed_until", 1), ("created_at", 1)])
        # the sweep reads back its claim by the ids it claimed: an index of the
        # claims cost every insert and delete of a row (~0.85 ms an index on
        # the local server, bench/README.md, eleventh session)
        drop_index_if_present(self.collection, "claimed_by_1")
        for name in self.carriers:  # sparse: only the documents carrying events
            self.collection.database[name].create_index([(DUE, 1)], sparse=True,
                                                        name=CARRIED_DUE_INDEX)

    def start(self, spawn_managed_thread) -> None:
        """Run in the container's managed thread: nameko kills it with the
        service and reports it if it dies unexpectedly."""
        self._running = True
        self._thread = spawn_managed_thread(self._run, identifier="outbox_relay")

    def stop(self) -> None:
        self._running = False
        self.wake()
        if self._thread is not None:
            self._thread.wait()
            self._thread = None
        self.batches.close()

    def hand_over(self, rows: list[dict], carrier: tuple[str, object] | None = None) -> None:
        """Rows a transaction of this process committed (or events a write of
        it carried in a document: ``carrier`` = (collection, document id)):
        publish them now."""
        if rows:
            self._handed.extend(rows if carrier is None else
                                ({**row, "carrier": carrier} for row in rows))
            self.wake()

    def wake(self) -> None:
        try:
            self._wake.put_nowait(True)
        except Exception:  # already woken: one pending wake-up is enough
            pass

    def _run(self) -> None:
        failures, next_sweep = 0, 0.0
        while self._running:
            try:
                published = self.publish_handed()
                if time.monotonic() >= next_sweep:
                    self.more_due = False
                    published += self.publish_pending() + self.publish_carried()
                    # more due: the next round once the hand-overs of the moment are out
                    next_sweep = time.monotonic() + (0.0 if self.more_due else self.idle_seconds)
                self.delete_confirmed()
                if time.monotonic() >= self._prune_due:
                    self.prune_kept()
                    self._prune_due = time.monotonic() + PRUNE_EVERY_SECONDS
                failures = 0
            except Exception as exc:
                failures += 1
                # the rows handed over stay in the outbox: the sweep takes them
                self._handed.clear()
                if isinstance(exc, OUTAGES):  # its traceback would say no more, every attempt
                    log.warning("outbox relay failed (attempt %d; %s); rows stay pending",
                                failures, error_line(exc))
                else:
                    log.exception("outbox relay failed (attempt %d); rows stay pending", failures)
                # back off (commits do not cut it short, stop() does)
                resume_at = time.monotonic() + min(RETRY_MAX_SECONDS, 0.5 * 2 ** failures)
                while self._running and time.monotonic() < resume_at:
                    self._idle(resume_at - time.monotonic())
                continue
            if not published and not self._handed:  # else more may be waiting
                wake_at = min(next_sweep, self._delete_due) if self._unpulled() else next_sweep
                self._idle(max(0.0, wake_at - time.monotonic()))
        try:  # stopping: what was published leaves the outbox now
            self.delete_confirmed(now=True)
        except Exception:
            log.exception("outbox relay could not delete the rows it published; "
                          "the sweep will publish them again")

    def _idle(self, seconds: float) -> None:
        # a commit or stop() wakes us early
        try:
            self._wake.get(timeout=seconds)
        except Empty:
            pass

    def publish_handed(self) -> int:
        """Publish a batch of the rows handed over; how many were published."""
        rows = []
        while self._handed and len(rows) < self.batch_size:
            rows.append(self._handed.popleft())
        return self._publish(rows)

    def publish_pending(self) -> int:
        """Sweep round: claim a batch of rows whose claim ran out and publish
        it; returns how many rows were published."""
        now = utcnow()
        rows = list(self.collection.find({"claimed_until": {"$lt": now}})
                    .sort("created_at", 1).limit(self.sweep_batch))
        token, claimed = self._claim(self.collection, rows, now, "claimed_until", "claimed_by")
        with self._released_if_unpublished(self.collection, token, now, "claimed_until",
                                           "claimed_by") as unpublished:
            return self._publish(claimed, unpublished)

    def publish_carried(self) -> int:
        """Sweep round of the carrier collections: documents whose events'
        claim ran out, claimed together, their events published."""
        published = 0
        for name in self.carriers:
            carrier, now = self.collection.database[name], utcnow()
            found = list(carrier.find({DUE: {"$lt": now}}, {PENDING: 1}, sort=[(DUE, 1)],
                                      limit=self.sweep_batch))
            token, claimed = self._claim(carrier, found, now, DUE, CLAIMED_BY, {PENDING: 1})
            if emptied := [document["_id"] for document in claimed if not document.get(PENDING)]:
                # emptied, and their unset failed: done now (unless written
                # again since the claim: that took the claim's token)
                carrier.update_many({"_id": {"$in": emptied}, CLAIMED_BY: token},
                                    {"$unset": dict.fromkeys(CARRIED_FIELDS, "")})
            with self._released_if_unpublished(carrier, token, now, DUE,
                                               CLAIMED_BY) as unpublished:
                published += self._publish([{**row, "carrier": (name, document["_id"])}
                                            for document in claimed
                                            for row in document.get(PENDING) or ()],
                                           unpublished)
        return published

    @contextmanager
    def _released_if_unpublished(self, collection, token: str, due_at: datetime.datetime,
                                 due: str, claimed_by: str):
        """A sweep's publish of what its claim (``token``) took: when it fails
        (the broker out of reach), what it did not publish - the rows, the
        documents carrying them, the ids gathered in the list this yields -
        is due again at once (``due_at``, when the round read it as due),
        not once the claim's ``CLAIM_SECONDS`` ran out: the relay's next
        attempt, backing off up to ``RETRY_MAX_SECONDS``, takes it, and the
        admission's count of overdue events (``overdue``) sees it meanwhile.
        A release that fails too (the database out of reach as well) leaves
        the claim to run out."""
        unpublished: list = []
        try:
            yield unpublished
        except Exception:
            if unpublished:
                try:
                    collection.update_many({"_id": {"$in": unpublished}, claimed_by: token},
                                           {"$set": {due: due_at}})
                except Exception as exc:
                    log.warning("outbox relay could not release its claim (%s): due again in "
                                "%ss", error_line(exc), CLAIM_SECONDS)
            raise

    def _claim(self, collection, found: list[dict], now: datetime.datetime, due: str,
               claimed_by: str, projection: dict | None = None) -> tuple[str, list[dict]]:
        """Claim ``found`` (read as due at ``now``) in one guarded update, under
        a token of this round: (the token, what it took - as read when it
        took them all, since what is due changes only with its due time,
        which the guard checks; else read back by the token: another relay
        took some in between)."""
        token = self.instance + uuid.uuid4().hex[:8]
        self.more_due = self.more_due or len(found) >= self.sweep_batch
        if not found:
            return token, []
        ids = [row["_id"] for row in found]
        took = collection.update_many({"_id": {"$in": ids}, due: {"$lt": now}}, {"$set": {
            due: now + datetime.timedelta(seconds=CLAIM_SECONDS),
            claimed_by: token}}).modified_count
        if took == len(ids):
            return token, found
        order = {row_id: n for n, row_id in enumerate(ids)}
        return token, sorted(collection.find({"_id": {"$in": ids}, claimed_by: token}, projection),
                             key=lambda row: order[row["_id"]])

    def _publish(self, rows: list[dict], unpublished: list | None = None) -> int:
        """Publish ``rows`` in order, as one batch (``shared.confirms``), and
        delete those the broker confirmed; when the batch fails, none counts
        as published: their ids (a carried row's document's) go into
        ``unpublished`` before the error is raised."""
        try:
            returned = set(self.batches.publish([
                Outgoing(row["event_type"], row["payload"], {"event_id": row["_id"]})
                for row in rows]))
        except Exception:
            if unpublished is not None:
                unpublished.extend(dict.fromkeys(
                    left["carrier"][1] if "carrier" in left else left["_id"] for left in rows))
            raise
        done, unroutable = [], collections.Counter()
        for position, row in enumerate(rows):
            if position in returned:
                self._keep_unroutable(row)
                unroutable[row["event_type"]] += 1
            else:
                done.append(row)
        for event_type, count in sorted(unroutable.items()):  # a line each flooded the log
            log.error("%d %s event(s) unroutable on %s (no queue bound): kept in the outbox, "
                      "retried in %ss", count, event_type, self.exchange.name,
                      UNROUTABLE_RETRY_SECONDS)
        if done:
            if not self._unpulled():
                self._delete_due = time.monotonic() + DELETE_EVERY_SECONDS
            now = utcnow()
            self._published.extend(kept_row(row, now) for row in done)
            for row in done:
                if "carrier" in row:
                    name, document_id = row["carrier"]
                    self._confirmed_carried.setdefault(name, []).append(
                        (document_id, row["_id"]))
                else:
                    self._confirmed.append(row["_id"])
        return len(done)

    def _unpulled(self) -> int:
        return len(self._confirmed) + sum(map(len, self._confirmed_carried.values()))

    def delete_confirmed(self, now: bool = False) -> None:
        """Delete the rows the broker confirmed, in one command per
        ``DELETE_CHUNK``, once the oldest has waited ``DELETE_EVERY_SECONDS``
        (or a batch is full, or ``now``). A failure leaves them to the sweep: published again once
        their claim runs out (at-least-once; consumers deduplicate)."""
        waiting = self._unpulled()
        if not waiting or not (now or waiting >= self.batch_size
                               or time.monotonic() >= self._delete_due):
            return
        ids, self._confirmed = self._confirmed, []
        carried, self._confirmed_carried = self._confirmed_carried, {}
        published, self._published = self._published, []
        self.keep(published)  # before the deletes: a failure leaves them to the sweep
        for chunk in chunks(ids, DELETE_CHUNK):
            self.collection.delete_many({"_id": {"$in": chunk}})
        for name, published in carried.items():
            self._clear(self.collection.database[name], published)

    def keep(self, published: list[dict]) -> None:
        """Keep what was published (``keep_rows``)."""
        keep_rows(self.collection.database, published)

    def prune_kept(self, now: datetime.datetime | None = None) -> int:
        """Drop the buckets whose every event is older than
        ``KEEP_PUBLISHED_SECONDS`` - and than the start of any republish
        running here (a review: paced, an hour of events outlasts the hour
        kept, and the oldest - the retries waiting out their delays in the
        queues lost - were dropped before it reached them); how many. An
        install from before the
        buckets kept its events in one collection (``PUBLISHED``, a TTL
        index): it is dropped too once its newest event is that old."""
        database = self.collection.database
        cutoff = min([(now or utcnow()) - datetime.timedelta(seconds=self.keep_seconds),
                      *self._republishing])
        dropped = 0
        for _, end, name in kept_buckets(database):
            if end <= cutoff:
                database.drop_collection(name)
                dropped += 1
        if PUBLISHED in database.list_collection_names():
            newest = database[PUBLISHED].find_one({}, {"published_at": 1},
                                                  sort=[("published_at", -1)])
            if newest is None or newest["published_at"].replace(
                    tzinfo=datetime.timezone.utc) <= cutoff:
                database.drop_collection(PUBLISHED)
                dropped += 1
        return dropped

    def republish_kept(self, since: datetime.datetime, until: datetime.datetime | None = None,
                       event_types: set[str] | None = None,
                       per_second: int | None = None) -> int:
        """Publish again the kept events published since ``since`` (until
        ``until``; of ``event_types`` only, if given), with confirms, by
        their own event ids, at most ``per_second`` a second
        (``REPUBLISH_PER_SECOND`` unless given; 0: as fast as the broker
        confirms); how many. Those no queue takes are skipped, and reported
        once per event type (an error line with how many: a line each
        flooded the log when a consumer of thousands was not back yet).

        Newest bucket first, each bucket's events in the order they were
        kept: what a lost broker most likely held is the newest (events not
        consumed yet), and paced, an hour oldest first would have reached it
        last. An application's events in two buckets may come newest first:
        every consumer takes an application's events in any order already,
        as a delayed retry brings them (``shared.errors.ArrivedEarly``).
        This relay's own confirmed events not kept yet (kept with the next
        deletes) are kept first: those are the newest, the likeliest lost."""
        unkept, self._published = self._published, []
        self.keep(unkept)
        query: dict = {"published_at": {"$gte": since, **({"$lt": until} if until else {})}}
        if event_types is not None:
            query["event_type"] = {"$in": sorted(event_types)}
        pace = Pace(self.republish_per_second if per_second is None else per_second)
        published, unroutable = 0, collections.Counter()
        # its own connection: the relay's thread publishes on self.batches meanwhile
        batches = ConfirmedBatches(self.amqp_uri, self.exchange.name)
        self._republishing.append(since)
        try:
            for start, end, name in reversed(kept_buckets(self.collection.database)):
                if end <= since or (until is not None and start >= until):
                    continue
                for row in self._kept_rows(name, query):
                    pace.step()
                    if batches.publish([Outgoing(row["event_type"], row["payload"], {
                            "event_id": row["_id"], REPUBLISHED_HEADER: 1})]):
                        unroutable[row["event_type"]] += 1
                    else:
                        published += 1
        finally:
            self._republishing.remove(since)
            batches.close()
        for event_type, count in sorted(unroutable.items()):
            log.error("%d kept %s event(s) unroutable on %s (no queue bound): not published "
                      "again - once its consumers are back, python -m deploy.replay", count,
                      event_type, self.exchange.name)
        return published

    def _kept_rows(self, name: str, query: dict):
        """The rows of bucket ``name`` that ``query`` takes, in the order
        kept, read ``REPUBLISH_BATCH`` at a time: seconds' worth at the pace
        (the server closes a cursor left ten minutes between two reads). A
        bucket dropped meanwhile (``prune_kept``: all of it older than the
        keep, which a long paced republish may outlast) ends its rows
        there."""
        try:
            yield from self.collection.database[name].find(query, batch_size=REPUBLISH_BATCH)
        except OperationFailure as exc:
            if exc.code not in CURSOR_GONE:
                raise
            log.warning("kept events of %s dropped while being published again (older than "
                        "KEEP_PUBLISHED_SECONDS): the rest of them not published", name)

    @staticmethod
    def _clear(carrier, published: list[tuple]) -> None:
        """Take published events from their documents, and the due time from
        those left with none, in one update per ``CLEAR_CHUNK`` documents (an
        update pipeline: each document is rewritten once). The local server
        holds the collection for a whole command at ~2 ms a document
        rewritten, so one command for the four seconds' documents (~85 at
        10 applications/s) held a submission's insert for up to 370 ms;
        chunked, a write waits for one chunk at most. Plain ``update_many``:
        a carrier collection is never written in a transaction
        (``BaseStore.CARRIERS``) - against a transaction's write the local
        server would retry it forever holding the collection, which that
        transaction waits for (a deadlock, seen when print jobs carried their
        events)."""
        events: dict = {}  # document -> its published event ids
        for document_id, event_id in published:
            events.setdefault(document_id, []).append(event_id)
        for chunk in chunks(list(events), CLEAR_CHUNK):
            carrier.update_many({"_id": {"$in": chunk}}, without_events(
                [event_id for document_id in chunk for event_id in events[document_id]]))

    def _keep_unroutable(self, row: dict) -> None:
        now = utcnow()
        if "carrier" in row:  # its document keeps it (and the others it carries) a while
            name, document_id = row["carrier"]
            self.collection.database[name].update_one({"_id": document_id}, {"$set": {
                DUE: now + datetime.timedelta(seconds=UNROUTABLE_RETRY_SECONDS)}})
            return
        self.collection.update_one({"_id": row["_id"]}, {
            "$set": {"unroutable_at": now,
                     "claimed_until": now + datetime.timedelta(seconds=UNROUTABLE_RETRY_SECONDS)}})
