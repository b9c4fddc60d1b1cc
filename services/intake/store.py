"""Intake's store: applications and their timelines (database ``intake``)."""

from __future__ import annotations

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from shared.store import BaseStore

from shared.clock import utcnow

from .domain import FINAL_STATUSES, STATUSES, step_from_event, timeline_entry
from .exceptions import (ActiveApplicationExists, ApplicationNotFound, IdempotencyKeyReused,
                         WrongStatus)


class ApplicationStore(BaseStore):
    @classmethod
    def ensure_indexes(cls, db) -> None:
        apps = db.applications
        apps.create_index([("tracking_code", ASCENDING)], unique=True)
        # one application in progress per NIK and document type
        apps.create_index([("applicant.nik", ASCENDING), ("document_type", ASCENDING)],
                          unique=True, name="one_active_per_nik",
                          partialFilterExpression={"active": True})
        apps.create_index([("idempotency_key", ASCENDING)], unique=True,
                          partialFilterExpression={"idempotency_key": {"$exists": True}})
        super().ensure_indexes(db)

    def submit(self, application: dict) -> dict:
        """Store a new application and its ``application_submitted`` event atomically.

        A retried request with the same Idempotency-Key gets the first answer
        (looked up first, so the one-active-per-NIK rule cannot answer instead).
        """
        key = application.get("idempotency_key")
        if key and (earlier := self._by_idempotency_key(key, application)) is not None:
            return earlier

        def work(session):
            self.db.applications.insert_one(application, session=session)
            self.emit(session, "application_submitted",
                      application_id=application["_id"],
                      tracking_code=application["tracking_code"],
                      document_type=application["document_type"],
                      channel=application["channel"],
                      kecamatan_code=application["applicant"]["nik"][:6])
            return application

        try:
            return self.run_transaction(work)
        except DuplicateKeyError as exc:
            if key and "idempotency_key" in str(exc):  # a concurrent retry won the race
                return self._by_idempotency_key(key, application)
            if "one_active_per_nik" in str(exc):
                raise ActiveApplicationExists()
            raise

    def _by_idempotency_key(self, key: str, application: dict) -> dict | None:
        earlier = self.db.applications.find_one({"idempotency_key": key})
        if earlier is not None and earlier["applicant"]["nik"] != application["applicant"]["nik"]:
            raise IdempotencyKeyReused()
        return earlier

    def get(self, application_id: str) -> dict:
        application = self.db.applications.find_one({"_id": application_id})
        if application is None:
            raise ApplicationNotFound()
        return application

    def find_for_citizen(self, tracking_code: str, nik: str) -> dict:
        # the same answer for a wrong NIK and an unknown code: no probing
        application = self.db.applications.find_one(
            {"tracking_code": tracking_code.strip().upper(), "applicant.nik": nik})
        if application is None:
            raise ApplicationNotFound()
        return application

    def verify(self, application_id: str, operator: str) -> dict:
        def work(session):
            application = self._transition(session, application_id, "submitted", "verified",
                                           {"by": operator})
            self.emit(session, "application_verified",
                      application_id=application["_id"],
                      tracking_code=application["tracking_code"],
                      document_type=application["document_type"],
                      nik=application["applicant"]["nik"],
                      full_name=application["applicant"]["full_name"],
                      contact=application["contact"],
                      delivery_method=application["delivery"]["method"],
                      delivery_address=application["delivery"].get("address"),
                      verified_by=operator)
            return application
        return self.run_transaction(work)

    def reject(self, application_id: str, operator: str, reasons: list[str]) -> dict:
        def work(session):
            application = self._transition(session, application_id, "submitted", "rejected",
                                           {"by": operator, "reasons": reasons})
            self.emit(session, "application_rejected",
                      application_id=application["_id"],
                      tracking_code=application["tracking_code"],
                      document_type=application["document_type"],
                      reasons=reasons, contact=application["contact"])
            return application
        return self.run_transaction(work)

    def _transition(self, session, application_id, from_status, to_status, detail) -> dict:
        application = self.db.applications.find_one({"_id": application_id}, session=session)
        if application is None:
            raise ApplicationNotFound()
        if application["status"] != from_status:
            raise WrongStatus(application["status"])
        update = {"$set": {"status": to_status, "status_rank": STATUSES[to_status][0],
                           "active": to_status not in FINAL_STATUSES},
                  "$push": {"timeline": timeline_entry(to_status, utcnow(), detail)}}
        self.db.applications.update_one({"_id": application_id, "status": from_status},
                                        update, session=session)
        application.update(status=to_status)
        return application

    def record_step(self, event_type: str, event: dict) -> bool:
        """Add a downstream event to the timeline, once per event id.

        Two single-document writes, each idempotent, in an order that survives
        a crash between them: advance the status (only forward), then append
        the step guarded by the event id.
        """
        step = step_from_event(event_type, event)
        rank = STATUSES[step["status"]][0]
        if rank:
            self.db.applications.update_one(
                {"_id": event["application_id"], "status_rank": {"$lt": rank}},
                {"$set": {"status": step["status"], "status_rank": rank,
                          "active": step["status"] not in FINAL_STATUSES}})
        result = self.db.applications.update_one(
            {"_id": event["application_id"], "seen_events": {"$ne": event["event_id"]}},
            {"$push": {"timeline": step, "seen_events": event["event_id"]}})
        return result.modified_count == 1
