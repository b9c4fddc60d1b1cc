"""The publishing half of the delivery pattern: a transactional outbox.

A service never publishes from a handler. It writes its state change and the
event rows (``outbox`` collection) in one MongoDB transaction, so the two
cannot diverge. After the commit the relay, a managed thread of the
service's container, is woken; it claims pending rows, publishes each with publisher
confirms (persistent, on ``<service>.events``), and deletes only what the
broker confirmed. A crash between publish and delete republishes on restart:
delivery is at-least-once and consumers deduplicate on ``event_id``.

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
UNROUTABLE_RETRY_SECONDS = 60


def outbox_row(event_type: str, event: dict) -> dict:
    return {"_id": event["event_id"], "event_type": event_type, "payload": event,
            "created_at": utcnow(), "claimed_until": utcnow() - datetime.timedelta(seconds=1)}


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

    def wake(self) -> None:
        try:
            self._wake.put_nowait(True)
        except Exception:  # already woken: one pending wake-up is enough
            pass

    def _run(self) -> None:
        failures = 0
        while self._running:
            try:
                published = self.publish_pending()
                failures = 0
            except Exception:
                failures += 1
                log.exception("outbox relay failed (attempt %d); rows stay pending", failures)
                # back off (commits do not cut it short, stop() does)
                resume_at = time.monotonic() + min(30.0, 0.5 * 2 ** failures)
                while self._running and time.monotonic() < resume_at:
                    self._idle(resume_at - time.monotonic())
                continue
            if not published:  # else more may be waiting
                self._idle(self.idle_seconds)

    def _idle(self, seconds: float) -> None:
        # a commit or stop() wakes us early
        try:
            self._wake.get(timeout=seconds)
        except Empty:
            pass

    def publish_pending(self) -> int:
        """Publish one claimed batch; returns how many rows were published."""
        now = utcnow()
        claim = {"claimed_by": self.instance + uuid.uuid4().hex[:8],
                 "claimed_until": now + datetime.timedelta(seconds=CLAIM_SECONDS)}
        ids = [row["_id"] for row in self.collection.find(
            {"claimed_until": {"$lt": now}}, {"_id": 1}).sort("created_at", 1).limit(self.batch_size)]
        if not ids:
            return 0
        self.collection.update_many({"_id": {"$in": ids}, "claimed_until": {"$lt": now}},
                                    {"$set": claim})
        rows = list(self.collection.find({"claimed_by": claim["claimed_by"]}).sort("created_at", 1))
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
                self.collection.delete_many({"_id": {"$in": done}})
        return len(done)

    def _keep_unroutable(self, row: dict) -> None:
        log.error("event %s %s is unroutable on %s (no queue bound): kept in the outbox, "
                  "retried in %ss", row["event_type"], row["_id"], self.exchange.name,
                  UNROUTABLE_RETRY_SECONDS)
        now = utcnow()
        self.collection.update_one({"_id": row["_id"]}, {
            "$set": {"unroutable_at": now,
                     "claimed_until": now + datetime.timedelta(seconds=UNROUTABLE_RETRY_SECONDS)}})
