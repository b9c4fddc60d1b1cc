"""Intake's store: applications and their timelines (database ``intake``).

It loads, saves and emits; what an action or a downstream event does to an
application is decided in ``domain``.
"""

from __future__ import annotations

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError, OperationFailure

from shared.store import BaseStore, duplicate_fields

from . import domain, downstream, payloads
from .appointment_store import AppointmentStore
from .batch_store import BatchStore
from .documents_store import DocumentStore
from .queue_store import QueueStore
from .deaths_store import DeathRecords
from .exceptions import ActiveApplicationExists, ApplicationNotFound
from .subjects import subject_field, subject_key

# the unique indexes a submission can run into, by their indexed fields
ONE_ACTIVE_PER_SUBJECT = ("subject_key", "document_type")
IDEMPOTENCY_KEY = ("idempotency_key",)
CONSUMER = "intake"  # its inbox rows: one per downstream event handled


class ApplicationStore(DocumentStore, QueueStore, DeathRecords, AppointmentStore, BatchStore,
                       BaseStore):
    @classmethod
    def ensure_indexes(cls, db) -> None:
        apps = db.applications
        apps.create_index([("tracking_code", ASCENDING)], unique=True)
        # one application in progress per subject and document type (``subjects``);
        # before there were subjects it was per applicant NIK, and only KTP-el
        if "one_active_per_nik" in apps.index_information():
            try:
                apps.drop_index("one_active_per_nik")
            except OperationFailure:  # the service's other container dropped it first
                pass
        for old in apps.find({"subject_key": {"$exists": False}}, {"applicant.nik": 1}):
            apps.update_one({"_id": old["_id"]}, {"$set": {
                "subject_key": subject_key("ktp_el", old["applicant"], {})}})
        apps.create_index([(field, ASCENDING) for field in ONE_ACTIVE_PER_SUBJECT],
                          unique=True, name="one_active_per_subject",
                          partialFilterExpression={"active": True})
        # the tracking-code re-send finds a citizen's applications by NIK and type
        apps.create_index([("applicant.nik", ASCENDING), ("document_type", ASCENDING)],
                          name="by_applicant")
        apps.create_index([(field, ASCENDING) for field in IDEMPOTENCY_KEY], unique=True,
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
            self.emit(session, "application_submitted", **domain.submitted_event(application))
            return application

        try:
            return self.run_transaction(work)
        except DuplicateKeyError as exc:
            refused_by = duplicate_fields(exc)
            if key and refused_by == set(IDEMPOTENCY_KEY):  # a concurrent retry won the race
                return self._by_idempotency_key(key, application)
            if refused_by == set(ONE_ACTIVE_PER_SUBJECT):
                # ``from None``: the driver's error names the NIK
                raise ActiveApplicationExists(
                    subject_field(application["document_type"])) from None
            raise

    def _by_idempotency_key(self, key: str, application: dict) -> dict | None:
        earlier = self.db.applications.find_one({"idempotency_key": key})
        return None if earlier is None else domain.earlier_answer(earlier, application)

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

    def request_resend(self, nik: str, document_type: str, most: int = 5) -> int:
        """Emit ``tracking_code_resend_requested`` for each active application of
        ``document_type`` that ``nik`` applied for (a parent may have a KIA in
        progress for two children); how many. One transaction."""
        def work(session):
            found = list(self.db.applications.find(
                {"applicant.nik": nik, "document_type": document_type, "active": True},
                {"tracking_code": 1, "document_type": 1, "contact": 1}, session=session)
                .limit(most))
            for application in found:
                self.emit(session, "tracking_code_resend_requested",
                          **payloads.resend_event(application))
            return len(found)
        return self.run_transaction(work)

    def record_event(self, event_type: str, event: dict) -> bool:
        """Record a downstream event on its application, once per event id: the
        inbox row and the one update ``downstream.record`` decides (step,
        status, fields) in one transaction. False for a redelivery or an
        application intake does not have."""
        def work(session):
            application = self.db.applications.find_one(
                {"_id": event["application_id"]}, {"status": 1, "pickup": 1}, session=session)
            if application is None:
                return False
            self.db.applications.update_one(
                {"_id": application["_id"]},
                downstream.record(application, event_type, event), session=session)
            return True
        return bool(self.consume_once(event, CONSUMER, work))

    def record_handover(self, event: dict) -> int:
        """``batch_ready_for_kelurahan``: its step on every application of the
        hand-over list, once per event id; how many were found."""
        step = downstream.step_from_event("batch_ready_for_kelurahan", event)
        ids = [item["application_id"] for item in event["items"]]

        def work(session):
            return self.db.applications.update_many(
                {"_id": {"$in": ids}}, {"$push": {"timeline": step}},
                session=session).matched_count
        return self.consume_once(event, CONSUMER, work) or 0
