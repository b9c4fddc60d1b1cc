"""Printing's store: print jobs, station leases and pickup slots (database ``printing``)."""

from __future__ import annotations

import datetime
import secrets
import uuid
from zoneinfo import ZoneInfo

from pymongo import ASCENDING, ReturnDocument

from shared.store import BaseStore
from shared.clock import utcnow

from .exceptions import JobNotFound, LeaseLost, NoSlotAvailable
from .slots import PickupPlace, candidate_windows, slot_payload, window_key

WIB = ZoneInfo("Asia/Jakarta")


def job_ref(job: dict) -> dict:
    return {"application_id": job["application_id"], "tracking_code": job["tracking_code"],
            "document_type": job["document_type"], "print_job_id": job["_id"]}


class PrintStore(BaseStore):
    @classmethod
    def ensure_indexes(cls, db) -> None:
        db.print_jobs.create_index([("application_id", ASCENDING)], unique=True)
        db.print_jobs.create_index([("status", ASCENDING), ("queued_at", ASCENDING)])
        super().ensure_indexes(db)

    def queue_job(self, event: dict):
        """Create the print job for a verified application, once per event."""
        def work(session):
            job = {
                "_id": uuid.uuid4().hex,
                "application_id": event["application_id"],
                "tracking_code": event["tracking_code"],
                "document_type": event["document_type"],
                "nik": event["nik"],
                "full_name": event["full_name"],
                "contact": event["contact"],
                "delivery_method": event["delivery_method"],
                "delivery_address": event["delivery_address"],
                "status": "queued",
                "attempts": 0,
                "queued_at": utcnow(),
                "lease_until": None,
            }
            self.db.print_jobs.insert_one(job, session=session)
            self.emit(session, "print_job_queued", **job_ref(job))
            return job
        return self.consume_once(event, "queue_job", work)

    def claim_next(self, station_id: str, lease: datetime.timedelta) -> dict | None:
        """Lease the oldest waiting job (or one whose lease expired) to a station."""
        now = utcnow()
        return self.db.print_jobs.find_one_and_update(
            {"$or": [{"status": "queued"}, {"status": "leased", "lease_until": {"$lt": now}}]},
            {"$set": {"status": "leased", "station_id": station_id,
                      "lease_token": secrets.token_urlsafe(16), "lease_until": now + lease},
             "$inc": {"attempts": 1}},
            sort=[("queued_at", ASCENDING)], return_document=ReturnDocument.AFTER)

    def mark_printed(self, job_id: str, station_id: str, lease_token: str,
                     place: PickupPlace) -> dict:
        """Record a printed document, give it a pickup slot, emit both facts.

        Repeating the call with the same lease is answered with the same slot.
        """
        def work(session):
            job = self._leased_job(session, job_id, station_id, lease_token)
            if job["status"] == "printed":
                return job
            now = utcnow()
            update = {"status": "printed", "printed_at": now, "lease_until": None}
            self.emit(session, "document_printed", station_id=station_id, **job_ref(job))
            if job["delivery_method"] == "pickup":
                update["slot"] = self._reserve_slot(session, place, now.astimezone(WIB).date())
                self.emit(session, "document_ready_for_pickup", full_name=job["full_name"],
                          contact=job["contact"], slot=update["slot"], **job_ref(job))
            self.db.print_jobs.update_one({"_id": job_id}, {"$set": update}, session=session)
            job.update(update)
            return job
        return self.run_transaction(work)

    def mark_failed(self, job_id: str, station_id: str, lease_token: str, reason: str) -> dict:
        """A station could not print: back to the queue for any station."""
        def work(session):
            job = self._leased_job(session, job_id, station_id, lease_token)
            if job["status"] != "leased":
                raise LeaseLost()
            self.db.print_jobs.update_one(
                {"_id": job_id}, {"$set": {"status": "queued", "lease_until": None,
                                           "lease_token": None, "last_failure": reason}},
                session=session)
            self.emit(session, "print_job_failed", station_id=station_id, reason=reason,
                      requeued=True, **job_ref(job))
            return job
        return self.run_transaction(work)

    def _leased_job(self, session, job_id, station_id, lease_token) -> dict:
        job = self.db.print_jobs.find_one({"_id": job_id}, session=session)
        if job is None:
            raise JobNotFound()
        if job.get("station_id") != station_id or job.get("lease_token") != lease_token:
            raise LeaseLost()
        return job

    def _reserve_slot(self, session, place: PickupPlace, printed_on: datetime.date) -> dict:
        # counters are read and incremented in the same snapshot transaction:
        # two stations filling the last seat conflict, and one retries
        for day, start, end in candidate_windows(place, printed_on):
            key = window_key(place, day, start)
            counter = self.db.pickup_slots.find_one({"_id": key}, session=session)
            if (counter or {}).get("count", 0) < place.capacity:
                self.db.pickup_slots.update_one({"_id": key}, {"$inc": {"count": 1}},
                                                upsert=True, session=session)
                return slot_payload(place, day, start, end)
        raise NoSlotAvailable()
