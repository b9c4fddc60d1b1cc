"""The publishing half of the delivery pattern: a transactional outbox.

A service never publishes from a handler. It writes its state change and the
event rows (``outbox`` collection) in one MongoDB transaction, so the two
cannot diverge. The rows are written already claimed by the writing process'
relay (a managed thread of the service's container) for
``HANDOFF_CLAIM_SECONDS``; after the commit the store hands them to that
relay, which publishes each with publisher confirms (persistent, on
``<service>.events``) and deletes what the broker confirmed, no read: the
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

Publishing is mandatory: an event no queue is bound for comes back from the
broker instead of vanishing. Such a row is kept, marked ``unroutable_at`` and
reported (an error log naming the event type and id), and tried again after
``UNROUTABLE_RETRY_SECONDS``; the rows behind it flow on. Each service's
exchange has an archive queue bound to all its events (``deploy/topology.py``)
so an event type nobody consumes yet still routes.
"""

from __future__ import annotations

import collections
import datetime
import logging
import time
import uuid

from eventlet.queue import Empty, LightQueue
from nameko.amqp.publish import Publisher, UndeliverableMessage
from nameko.constants import PERSISTENT
from nameko.events import get_event_exchange

from .clock import utcnow

log = logging.getLogger(__name__)

CLAIM_SECONDS = 30
# a row handed to its writer's relay is published within milliseconds; past
# this the sweep of any relay takes it (its writer died, or the broker is away)
HANDOFF_CLAIM_SECONDS = 10
UNROUTABLE_RETRY_SECONDS = 60
# rows the broker confirmed are deleted together, at most this long after the
# first of them (far below HANDOFF_CLAIM_SECONDS: no sweep republishes them)
DELETE_EVERY_SECONDS = 4.0


def outbox_row(event_type: str, event: dict, claimed_by: str | None = None) -> dict:
    """An outbox row; ``claimed_by``: the relay it is handed to after the commit."""
    now = utcnow()
    row = {"_id": event["event_id"], "event_type": event_type, "payload": event,
           "created_at": now, "claimed_until": now - datetime.timedelta(seconds=1)}
    if claimed_by is not None:
        row.update(claimed_by=claimed_by,
                   claimed_until=now + datetime.timedelta(seconds=HANDOFF_CLAIM_SECONDS))
    return row


class OutboxRelay:
    def __init__(self, collection, amqp_uri: str, service_name: str, config: dict,
                 batch_size: int = 500, idle_seconds: float = 1.0):
        self.collection = collection
        self.exchange = get_event_exchange(service_name, config)
        self.publisher = Publisher(amqp_uri, use_confirms=True, delivery_mode=PERSISTENT,
                                   serializer="json", mandatory=True)
        self.batch_size = batch_size
        self.idle_seconds = idle_seconds
        self._wake = LightQueue(maxsize=1)
        self._handed: collections.deque[dict] = collections.deque()
        self._confirmed: list[str] = []  # published, not yet deleted
        self._delete_due = 0.0
        self._thread = None
        self._running = False
        self.instance = uuid.uuid4().hex

    def ensure_indexes(self) -> None:
        self.collection.create_index([("claimed_until", 1), ("created_at", 1)])
        self.collection.create_index([("claimed_by", 1)])

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

    def hand_over(self, rows: list[dict]) -> None:
        """Rows a transaction of this process committed: publish them now."""
        if rows:
            self._handed.extend(rows)
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
                    next_sweep = time.monotonic() + self.idle_seconds
                    published += self.publish_pending()
                self.delete_confirmed()
                failures = 0
            except Exception:
                failures += 1
                # the rows handed over stay in the outbox: the sweep takes them
                self._handed.clear()
                log.exception("outbox relay failed (attempt %d); rows stay pending", failures)
                # back off (commits do not cut it short, stop() does)
                resume_at = time.monotonic() + min(30.0, 0.5 * 2 ** failures)
                while self._running and time.monotonic() < resume_at:
                    self._idle(resume_at - time.monotonic())
                continue
            if not published and not self._handed:  # else more may be waiting
                wake_at = min(next_sweep, self._delete_due) if self._confirmed else next_sweep
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
        """Sweep: claim a batch of rows whose claim ran out and publish it;
        returns how many rows were published."""
        now = utcnow()
        claim = {"claimed_by": self.instance + uuid.uuid4().hex[:8],
                 "claimed_until": now + datetime.timedelta(seconds=CLAIM_SECONDS)}
        ids = [row["_id"] for row in self.collection.find(
            {"claimed_until": {"$lt": now}}, {"_id": 1}).sort("created_at", 1).limit(self.batch_size)]
        if not ids:
            return 0
        self.collection.update_many({"_id": {"$in": ids}, "claimed_until": {"$lt": now}},
                                    {"$set": claim})
        return self._publish(list(self.collection.find(
            {"claimed_by": claim["claimed_by"]}).sort("created_at", 1)))

    def _publish(self, rows: list[dict]) -> int:
        """Publish ``rows`` in order and delete those the broker confirmed."""
        done = []
        try:
            for row in rows:
                try:
                    self.publisher.publish(row["payload"], exchange=self.exchange,
                                           routing_key=row["event_type"],
                                           headers={"event_id": row["_id"]})
                except UndeliverableMessage:
                    self._keep_unroutable(row)
                    continue
                done.append(row["_id"])
        finally:
            if done:
                if not self._confirmed:
                    self._delete_due = time.monotonic() + DELETE_EVERY_SECONDS
                self._confirmed.extend(done)
        return len(done)

    def delete_confirmed(self, now: bool = False) -> None:
        """Delete the rows the broker confirmed, in one command, once the
        oldest has waited ``DELETE_EVERY_SECONDS`` (or a batch is full, or
        ``now``). A failure leaves them to the sweep: published again once
        their claim runs out (at-least-once; consumers deduplicate)."""
        if not self._confirmed or not (now or len(self._confirmed) >= self.batch_size
                                       or time.monotonic() >= self._delete_due):
            return
        ids, self._confirmed = self._confirmed, []
        self.collection.delete_many({"_id": {"$in": ids}})

    def _keep_unroutable(self, row: dict) -> None:
        log.error("event %s %s is unroutable on %s (no queue bound): kept in the outbox, "
                  "retried in %ss", row["event_type"], row["_id"], self.exchange.name,
                  UNROUTABLE_RETRY_SECONDS)
        now = utcnow()
        self.collection.update_one({"_id": row["_id"]}, {
            "$set": {"unroutable_at": now,
                     "claimed_until": now + datetime.timedelta(seconds=UNROUTABLE_RETRY_SECONDS)}})
