"""Intake's store: applications and their timelines (database ``intake``).

It loads, saves and emits; what an action or a downstream event does to an
application is decided in ``domain``.
"""

from __future__ import annotations

import datetime

from pymongo import ASCENDING, InsertOne, UpdateOne
from pymongo.errors import DuplicateKeyError

from shared.clock import utcnow
from shared.errors import ServiceBusy
from shared.indexes import drop_index_if_present, migrate_once
from shared.store import BaseStore, duplicate_fields

from . import domain, downstream, payloads
from .appointment_store import AppointmentStore
from .batch_store import BatchStore
from .documents_store import DocumentStore
from .queue_store import STATUS_RACE_ATTEMPTS, QueueStore
from .exceptions import ApplicationNotFound
from .subjects import subject_key

# the unique indexes a submission can run into, by their indexed fields
ONE_ACTIVE_PER_SUBJECT = ("subject_key", "document_type", "active_slot")
IDEMPOTENCY_KEY = ("idempotency_key",)
# what a tracking-code re-send reads of an application
RESEND_FIELDS = {"tracking_code": 1, "document_type": 1, "contact": 1, "resent_at": 1,
                 "status": 1}


class StatusKeptMoving(Exception):
    """Every attempt found the status moved since it was read: the handler
    fails and the broker redelivers the event later (``reliable_event_handler``)."""


class ApplicationStore(DocumentStore, QueueStore, AppointmentStore, BatchStore,
                       BaseStore):
    # an application carries the events of its submission and its moves
    CARRIERS = ("applications",)

    @classmethod
    def ensure_indexes(cls, db) -> None:
        apps = db.applications
        apps.create_index([("tracking_code", ASCENDING)], unique=True)
        # one application in progress per subject and document type (``subjects``);
        # before there were subjects it was per applicant NIK, and only KTP-el
        drop_index_if_present(apps, "one_active_per_nik")
        migrate_once(db, "applications.subject_key", lambda: cls._set_subject_keys(apps))
        # one index both guards the rule and serves the reads of a subject: its
        # third field is ``active_slot`` (``domain.status_fields``), shared by the
        # applications in progress and unique to each finished one. It was a
        # partial unique index (never read by the local server) beside a plain
        # one to read: the server maintains every index on every write of an
        # application, ~0.85 ms each (bench/README.md, eleventh session)
        migrate_once(db, "applications.active_slot", lambda: cls._set_active_slots(apps))
        if apps.index_information().get("one_active_per_subject", {}).get("key") != \
                [(field, ASCENDING) for field in ONE_ACTIVE_PER_SUBJECT]:
            drop_index_if_present(apps, "one_active_per_subject")
        drop_index_if_present(apps, "by_subject")
        apps.create_index([(field, ASCENDING) for field in ONE_ACTIVE_PER_SUBJECT],
                          unique=True, name="one_active_per_subject")
        # an SKPWNI's subjects were its applicant's NIK; they are who moves
        migrate_once(db, "applications.skpwni_subjects", lambda: cls._set_moving_subjects(apps))
        # the tracking-code re-send finds a citizen's applications by NIK and
        # type through the prefix of ``nik_document_status`` (AppointmentStore):
        # an index of its own cost every write of an application ~0.2 ms on
        # the local server (it maintains every index on every update)
        drop_index_if_present(apps, "by_applicant")
        # unique where present; sparse, not partial: the local database server
        # never reads a partial index, and every channel request (it always
        # has a key) would scan all applications (shared/store.py)
        drop_index_if_present(apps, "idempotency_key_1")
        apps.create_index([(field, ASCENDING) for field in IDEMPOTENCY_KEY], unique=True,
                          sparse=True, name="one_per_idempotency_key")
        super().ensure_indexes(db)

    @staticmethod
    def _set_subject_keys(apps) -> None:
        for old in apps.find({"subject_key": {"$exists": False}}, {"applicant.nik": 1}):
            apps.update_one({"_id": old["_id"]}, {"$set": {
                "subject_key": subject_key("ktp_el", old["applicant"], {})}})

    @staticmethod
    def _set_moving_subjects(apps) -> None:
        for old in apps.find({"document_type": "skpwni"},
                             {"subject_key": 1, "applicant.nik": 1, "details.members": 1}):
            try:
                apps.update_one({"_id": old["_id"]}, {"$set": {"subject_key": subject_key(
                    "skpwni", old["applicant"], old["details"])}})
            except DuplicateKeyError:
                pass  # in progress beside another moving the same member: keeps its applicant's

    @staticmethod
    def _set_active_slots(apps) -> None:
        # each start scanned every application for this before it was recorded
        # done (``migrate_once``); a process of an earlier version writes no
        # slot: do not run one beside this one
        for old in apps.find({"active_slot": {"$exists": False}}, {"active": 1}):
            apps.update_one({"_id": old["_id"]}, {"$set": {
                "active_slot": domain.ACTIVE_SLOT if old.get("active") else old["_id"]}})

    def submit(self, application: dict) -> dict:
        """Store a new application and its ``application_submitted`` event
        atomically: one insert, the document carries its event.

        A retried request with the same Idempotency-Key is answered before
        its checks (``earlier_submission``); one that races its first try
        here gets the first answer too.
        """
        key = application.get("idempotency_key")
        if application["active_slot"] != domain.ACTIVE_SLOT and application["active"] and \
                (held := self._held_subjects(application)):
            # one that holds no slot yet (``domain.holds_slot``) still meets one held
            raise self._slot_taken(application, held)
        carried = self.carry(self.db.applications,
                             [("application_submitted", domain.submitted_event(application))])
        try:  # with the other submissions of the moment (``shared.group_writes``)
            self.groups["applications"].write(InsertOne(carried.document(application)))
        except DuplicateKeyError as exc:
            # a concurrent retry won the race - or this request's own earlier
            # try, answered 503 while the server still held its insert, landed
            # since: refused then by whichever unique index the server checked first
            if earlier := self.earlier_submission(
                    key, application["applicant"],
                    (application["request_digest"],) if "request_digest" in application else (),
                    application.get("submitted_by")):
                return earlier
            if duplicate_fields(exc) == set(ONE_ACTIVE_PER_SUBJECT):
                # ``from None``: the driver's error names the NIK
                raise self._slot_taken(application) from None
            raise
        carried.written(application["_id"])
        return application

    def earlier_submission(self, key: str | None, applicant: dict,
                           digests: tuple[str, ...] = (),
                           submitted_by: str | None = None) -> dict | None:
        """The application a request with this Idempotency-Key stored before:
        a retry gets the first answer whatever became of the application since
        (ask before the checks: a card printed since would refuse the retry);
        ``IdempotencyKeyReused`` when another NIK's (or KK's) request used the
        key, or one for another document or details (``digests``), or by
        someone else (``submitted_by``: ``domain.earlier_answer``)."""
        if not key:
            return None
        earlier = self.db.applications.find_one({"idempotency_key": key})
        return None if earlier is None else domain.earlier_answer(earlier, applicant, digests,
                                                                  submitted_by)

    def get(self, application_id: str) -> dict:
        application = self.db.applications.find_one({"_id": application_id})
        if application is None:
            raise ApplicationNotFound()
        return application

    def find_for_citizen(self, tracking_code: str, nik: str) -> dict:
        # the same answer for a wrong NIK and an unknown code: no probing.
        # Read with the lookups of the moment (``GroupReader``: one command)
        for application in self.groups.reader("applications", "tracking_code").find(
                tracking_code.strip().upper()):
            if application.get("applicant", {}).get("nik") == nik:
                return application
        raise ApplicationNotFound()

    def request_resend(self, nik: str, document_type: str, sends: int, window: datetime.timedelta,
                       most: int = 5, now: datetime.datetime | None = None) -> int:
        """Emit ``tracking_code_resend_requested`` for each application of
        ``document_type`` that ``nik`` applied for (a parent may have a KIA in
        progress for two children) whose code the citizen may still need
        (``domain.codes_still_needed``: an active one, or the latest rejected
        one of a subject with none active - resubmitting it takes the code)
        and went out fewer than ``sends`` times within ``window``; how many.

        The sends are counted on the application (``resent_at``: the times
        within the window), so every intake instance counts the same: the
        per-NIK limit of each process alone let N instances send N times as
        many messages. Each send is one write of the application that
        carries its event, guarded by the count it read (a carrier is never
        written in a transaction): of two at once, the second reads again."""
        now = now or utcnow()
        found = domain.codes_still_needed(list(self.db.applications.find(
            {"applicant.nik": nik, "document_type": document_type,
             "status": {"$in": sorted(domain.CODE_STILL_NEEDED)}},
            {**RESEND_FIELDS, "subject_key": 1, "created_at": 1}).limit(4 * most)))
        return sum(self._resend(application, sends, window, now) for application in found[:most])

    def _resend(self, application: dict, sends: int, window: datetime.timedelta,
                now: datetime.datetime) -> bool:
        for _ in range(STATUS_RACE_ATTEMPTS):
            counted = application.get("resent_at")
            recent = [at for at in counted or () if at > now - window]
            if len(recent) >= sends:
                return False
            carried = self.carry(self.db.applications, [
                ("tracking_code_resend_requested", payloads.resend_event(application))])
            guard = {"_id": application["_id"], "status": application["status"],
                     "resent_at": counted if counted is not None else {"$exists": False}}
            if self.db.applications.update_one(guard, carried.update(
                    {"$set": {"resent_at": [*recent, now]}})).modified_count:
                carried.written(application["_id"])
                return True
            application = self.db.applications.find_one(
                {"_id": application["_id"], "status": {"$in": sorted(domain.CODE_STILL_NEEDED)}},
                RESEND_FIELDS)
            if application is None:  # it ended meanwhile
                return False
        raise ServiceBusy()

    def record_event(self, event_type: str, event: dict, handled_before: bool = False) -> bool:
        """Record a downstream event on its application, once per event id, in
        one single-document write: the step, the event id, and the status and
        fields ``downstream.record`` decides from the status read, guarded by
        that status and by the event id not seen yet. If the status moved in
        between, decide again. An event that only adds a step (a notice sent,
        say), or moves the status the usual way (events in order), is first
        tried as that one write without the read, together with the other
        writes of the moment (``shared.group_writes``). False for a
        redelivery or an application intake does not have (or, rarely, one
        whose batch could not say it was this write that recorded it).

        Events of one application that come within ``GATHER_SECONDS`` of each
        other (printed, its pickup window, the notice of it) are first tried
        as one such write (``_record_together``).

        Not a transaction with an inbox row (``consume_once``): a backlog of
        events for the same application (hundreds of ``notification_sent``
        after an outage) would make concurrent transactions on one document
        conflict and abort each other; a single-document update never does.

        ``handled_before``: a copy most likely recorded already
        (``shared.messaging.Republished``: a broker's kept events published
        again), so one read of its event id looks first - gathered, it
        waited out ``GATHER_SECONDS`` for the write that then changed
        nothing, and with notification's ``notification_sent`` published
        again intake's queue was the one the others waited for
        (bench/README.md, "Publishing kept events again").
        """
        if handled_before and self._recorded(event):
            return False
        if downstream.gatherable(event_type):
            recorded = self.groups.gatherings.join(event["application_id"], (event_type, event),
                                                   self._record_together)
            if recorded is not None:
                return recorded
        query = {"_id": event["application_id"]}
        if not downstream.needs_status(event_type):  # a step only: one write, no read
            step = ({**query, "seen_events": {"$ne": event["event_id"]}},
                    {"$push": {"timeline": downstream.step_from_event(event_type, event),
                               "seen_events": event["event_id"]}})
            outcome = self.groups["applications"].write(UpdateOne(*step))
            if outcome.certain:
                return outcome.modified
            # its batch did not say: alone, it finds itself recorded (by the batch) or not
            return self.db.applications.update_one(*step).modified_count == 1
        if (usual := downstream.usual_move(event_type, event)) is not None:
            guard, update = usual
            update["$push"]["seen_events"] = event["event_id"]
            if self.groups["applications"].write(UpdateOne(
                    {**query, **guard, "seen_events": {"$ne": event["event_id"]}},
                    update)).modified:
                return True  # else out of order, a redelivery or unknown: read and decide
        for _ in range(STATUS_RACE_ATTEMPTS):
            application = self.db.applications.find_one(
                query, {"status": 1, "pickup": 1, "requeued_at": 1,
                        **({"timeline": 1} if event_type == downstream.REPRINT else {})})
            if application is None:
                return False
            update = downstream.record(application, event_type, event)
            update["$push"]["seen_events"] = event["event_id"]
            # decided from the status and the latest re-queue read: either moved, decide again
            result = self.db.applications.update_one(
                {**query, "status": application["status"],
                 "requeued_at": application.get("requeued_at"),
                 "seen_events": {"$ne": event["event_id"]}}, update)
            if result.modified_count == 1:
                return True
            if self._recorded(event):
                return False  # recorded before: a redelivery
        raise StatusKeptMoving(event_type)

    def _recorded(self, event: dict) -> bool:
        """Whether the event is on its application already (by its id)."""
        return self.db.applications.find_one(
            {"_id": event["application_id"], "seen_events": event["event_id"]},
            {"_id": 1}) is not None

    def _record_together(self, events: list[tuple[str, dict]]) -> list[bool | None]:
        """Events of one application that came within a moment (``record_event``
        gathers them): the ones that follow on from each other in one write
        (``downstream.together``). Per event True if that write recorded it,
        None if it is still to be recorded alone (not in the write, or the
        write did not say it was made)."""
        alone: list[bool | None] = [None] * len(events)
        if (gathered := downstream.together(events)) is None:
            return alone
        guard, update, taken = gathered
        outcome = self.groups["applications"].write(
            UpdateOne({"_id": events[0][1]["application_id"], **guard}, update))
        if not (outcome.certain and outcome.modified):
            return alone  # moved meanwhile, a redelivery among them, or unknown
        return [True if n in taken else None for n in range(len(events))]

    def record_handover(self, event_type: str, event: dict) -> int:
        """``batch_ready_for_kelurahan``, ``kecamatan_handover_ready``: its step on
        every application of the hand-over list, once per event id, in one
        write; how many it reached."""
        step = downstream.step_from_event(event_type, event)
        return self.db.applications.update_many(
            {"_id": {"$in": [item["application_id"] for item in event["items"]]},
             "seen_events": {"$ne": event["event_id"]}},
            {"$push": {"timeline": step, "seen_events": event["event_id"]}}).modified_count
