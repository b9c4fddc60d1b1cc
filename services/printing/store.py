"""Printing's store: print jobs, station leases and pickup slots (database ``printing``).

Each method loads, asks ``domain`` (and ``slots``) what follows, and writes
the answer with its events in one transaction.
"""

from __future__ import annotations

import datetime

from pymongo import ASCENDING, ReturnDocument

from shared.clock import utcnow
from shared.store import BaseStore

from .domain import Event, check_report, new_job, new_lease, print_outcome, requeue_after_failure
from .slots import PickupPlace, choose_window


def claimable_query(now: datetime.datetime) -> dict:
    """``domain.is_claimable`` in MongoDB's words; change the two together."""
    return {"$or": [{"status": "queued"}, {"status": "leased", "lease_until": {"$lt": now}}]}


class PrintStore(BaseStore):
    @classmethod
    def ensure_indexes(cls, db) -> None:
        db.print_jobs.create_index([("application_id", ASCENDING)], unique=True)
        db.print_jobs.create_index([("status", ASCENDING), ("queued_at", ASCENDING)])
        super().ensure_indexes(db)

    def queue_job(self, event: dict):
        """Create the print job for a verified application, once per event."""
        def work(session):
            job, events = new_job(event, utcnow())
            self.db.print_jobs.insert_one(job, session=session)
            self._emit_all(session, events)
            return job
        return self.consume_once(event, "queue_job", work)

    def claim_next(self, station_id: str, lease: datetime.timedelta) -> dict | None:
        """Lease the oldest claimable job to a station, in one atomic update."""
        now = utcnow()
        return self.db.print_jobs.find_one_and_update(
            claimable_query(now),
            {"$set": new_lease(station_id, now, lease), "$inc": {"attempts": 1}},
            sort=[("queued_at", ASCENDING)], return_document=ReturnDocument.AFTER)

    def mark_printed(self, job_id: str, station_id: str, lease_token: str,
                     place: PickupPlace) -> dict:
        """Record a printed document, give it a pickup slot, emit both facts."""
        def work(session):
            job = check_report(self._find(session, job_id), station_id, lease_token)
            update, events = print_outcome(
                job, utcnow(), lambda printed_on: self._reserve_slot(session, place, printed_on))
            return self._save(session, job, update, events)
        return self.run_transaction(work)

    def mark_failed(self, job_id: str, station_id: str, lease_token: str, reason: str) -> dict:
        """A station could not print: back to the queue for any station."""
        def work(session):
            job = check_report(self._find(session, job_id), station_id, lease_token)
            update, events = requeue_after_failure(job, reason)
            return self._save(session, job, update, events)
        return self.run_transaction(work)

    def _find(self, session, job_id: str) -> dict | None:
        return self.db.print_jobs.find_one({"_id": job_id}, session=session)

    def _save(self, session, job: dict, update: dict, events: list[Event]) -> dict:
        if update:
            self.db.print_jobs.update_one({"_id": job["_id"]}, {"$set": update}, session=session)
        self._emit_all(session, events)
        return {**job, **update}

    def _emit_all(self, session, events: list[Event]) -> None:
        for event in events:
            self.emit(session, event.type, **event.payload)

    def _reserve_slot(self, session, place: PickupPlace, printed_on: datetime.date) -> dict:
        # counters are read and incremented in the same snapshot transaction:
        # two stations filling the last seat conflict, and one retries
        def taken(key: str) -> int:
            counter = self.db.pickup_slots.find_one({"_id": key}, session=session)
            return (counter or {}).get("count", 0)

        key, slot = choose_window(place, printed_on, taken)
        self.db.pickup_slots.update_one({"_id": key}, {"$inc": {"count": 1}},
                                        upsert=True, session=session)
        return slot
