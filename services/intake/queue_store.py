"""The operator's work queue and the moves along ``domain.TRANSITIONS``: the
store side (``ApplicationStore`` mixes it in).

It loads, saves and emits; what a move does is decided in ``domain``.
"""

from __future__ import annotations

import datetime
from typing import Callable

from pymongo import ASCENDING, DESCENDING, UpdateOne
from pymongo.errors import DuplicateKeyError

from shared.errors import ServiceBusy
from shared.fields import ISSUED_CODE
from shared.outbox import CARRIED_FIELDS
from shared.indexes import drop_index_if_present
from shared.paging import page_after

from . import domain
from .exceptions import ActiveApplicationExists, ApplicationNotFound
from .nik_records import NikRecords
from .subjects import subject_field, subjects

# a status move (or a downstream event) is decided again when the status
# moved since it was read
STATUS_RACE_ATTEMPTS = 5
# an application as the domain sees it: not the events it still carries
WITHOUT_CARRIED = dict.fromkeys(CARRIED_FIELDS, 0)
QUEUE_ORDER = [("queued_at", ASCENDING), ("_id", ASCENDING)]
# queue filter -> the stored field it matches
FILTER_FIELDS = {"document_type": "document_type", "channel": "channel",
                 "kecamatan": "area.kecamatan_code", "kelurahan": "area.kelurahan_code",
                 "flag": "flags"}
# a lookup's keys -> the stored field each matches: read through the
# tracking code's unique index, or the prefix of ``nik_document_status``
# (AppointmentStore) - a NIK has a few applications, sorted as read. No
# index of its own: each costs every write of an application (above)
LOOKUP_FIELDS = {"tracking_code": "tracking_code", "nik": "applicant.nik"}
LOOKUP_ORDER = [("created_at", DESCENDING), ("_id", DESCENDING)]  # newest first
# what a queue row shows (the detail has the rest)
SUMMARY_FIELDS = ("tracking_code", "document_type", "channel", "status", "area", "flags",
                  "applicant.full_name", "applicant.nik", "queued_at", "created_at",
                  "documents_count")


class QueueStore(NikRecords):
    @classmethod
    def ensure_indexes(cls, db) -> None:
        # one index for the queue: (status, queue order); a filter is checked
        # on the entries of its status. An index per filter (there were five,
        # queue_by_*) made a rare filter's page read only its own rows, but
        # the local server rewrites every index of a document on every write
        # of it, and an application is written ~7 times: measured at 5,000
        # waiting, a step 1.87 -> 1.34 ms, a status move 2.27 -> 1.58 ms, an
        # insert 1.05 -> 0.80 ms without them; a page of a rare filter 0.5 ->
        # 93 ms, a common one ~140 ms either way (bench/README.md, seventh
        # session). On MongoDB each of them is rewritten on every status move.
        # Not partial: SecantusDB, the dev/test server, never plans a query on
        # a partial index, and would scan the collection.
        db.applications.create_index([("status", ASCENDING), *QUEUE_ORDER], name="queue")
        for name in FILTER_FIELDS:
            drop_index_if_present(db.applications, f"queue_by_{name}")
        super().ensure_indexes(db)

    def queue(self, status: str, filters: dict, limit: int,
              after: tuple[datetime.datetime, str] | None = None) -> list[dict]:
        """Applications in ``status`` matching ``filters`` (``FILTER_FIELDS``
        names), oldest in the queue first, ``limit`` of them after ``after``
        (the last row of the page before: ``shared.paging``)."""
        query: dict = {"status": status}
        query.update({FILTER_FIELDS[name]: value for name, value in filters.items()})
        return page_after(self._queue_rows, query, "queued_at", limit, after)

    def lookup(self, keys: dict, status: str | None, filters: dict, limit: int,
               after: tuple[datetime.datetime, str] | None = None) -> list[dict]:
        """The applications ``keys`` name (``LOOKUP_FIELDS``: a tracking code,
        in either case; the applicant's NIK), in ``status`` (None: any, ended
        ones too) matching ``filters``, newest first, as ``queue`` pages."""
        query = {LOOKUP_FIELDS[name]: value for name, value in keys.items()}
        if "tracking_code" in query:
            query["tracking_code"] = query["tracking_code"].upper()
        if status is not None:
            query["status"] = status
        query.update({FILTER_FIELDS[name]: value for name, value in filters.items()})
        return page_after(self._lookup_rows, query, "created_at", limit, after, descending=True)

    def _queue_rows(self, query: dict, limit: int) -> list[dict]:
        return self._summaries(query, QUEUE_ORDER, limit)

    def _lookup_rows(self, query: dict, limit: int) -> list[dict]:
        return self._summaries(query, LOOKUP_ORDER, limit)

    def _summaries(self, query: dict, order: list, limit: int) -> list[dict]:
        return list(self.db.applications.find(query, dict.fromkeys(SUMMARY_FIELDS, 1))
                    .sort(order).limit(limit))

    def get_by_id_or_code(self, key: str) -> dict:
        """An application by its id, or by its tracking code (in either
        case: an id is 32 hex digits, never shaped as a code)."""
        query = {"tracking_code": key.upper()} if ISSUED_CODE.fullmatch(key) else {"_id": key}
        application = self.db.applications.find_one(query)
        if application is None:
            raise ApplicationNotFound()
        return application

    def verify(self, application_id: str, operator: str,
               derived: Callable[[dict], dict] = lambda application: {}) -> dict:
        """409 when whom it is for died since it was applied for (a death
        certificate verified here: ``death_verified``); when it did not hold
        its subject's one active slot (accepted without asking the register:
        ``domain.holds_slot``) and another application holds it now.
        ``derived(application)``: what the register tells at the
        verification, kept with what it told at the submission."""
        def verified(app: dict) -> domain.Transition:
            domain.next_status(app, "verify")  # 409 first: the register asked for no cause
            return domain.verify(app, operator, self.death_verified, derived(app))

        try:
            return self._act(application_id, verified)
        except DuplicateKeyError:
            application = self.db.applications.find_one(
                {"_id": application_id},
                {"document_type": 1, "subject_key": 1, "details.members": 1})
            raise self._slot_taken(application) from None

    def reject(self, application_id: str, operator: str, codes: list[str],
               note: str | None) -> dict:
        return self._act(application_id, lambda app: domain.reject(app, operator, codes, note))

    def resubmit(self, application: dict, decide: Callable[[dict], domain.Transition]) -> dict:
        """The citizen's resubmission of ``application`` (as they found it); 409
        when, while it was rejected, another application took the subject's
        one active slot."""
        try:
            return self._move({"_id": application["_id"],
                               "applicant.nik": application["applicant"]["nik"]}, decide)
        except DuplicateKeyError:
            # the one unique index a status move can run into: one active
            # application per subject (``from None``: the driver's error
            # names it), named as the corrected request names it
            raise self._slot_taken({**application, **decide(application).changes}) from None

    def _held_subjects(self, application: dict) -> set[str]:
        """Which of ``application``'s subjects another application in
        progress holds: one read, through the one-active index."""
        return {subject for other in self.db.applications.find(
                    {"subject_key": {"$in": subjects(application["subject_key"])},
                     "document_type": application["document_type"],
                     "active_slot": domain.ACTIVE_SLOT, "_id": {"$ne": application["_id"]}},
                    {"subject_key": 1})
                for subject in subjects(other["subject_key"])}

    def _slot_taken(self, application: dict,
                    held: set[str] | None = None) -> ActiveApplicationExists:
        """The 409 for ``application``, a subject of which another application
        in progress holds (``held``, else read now for a list of subjects -
        an SKPWNI's members: the first held is named)."""
        if held is None:
            held = self._held_subjects(application) if isinstance(
                application["subject_key"], list) else set()
        return ActiveApplicationExists(subject_field(application["document_type"],
                                                     application.get("details"), held))

    def cancel(self, tracking_code: str, nik: str) -> dict:
        return self._move({"tracking_code": tracking_code.strip().upper(),
                           "applicant.nik": nik}, domain.cancel)

    def _act(self, application_id: str, decide: Callable[[dict], domain.Transition]) -> dict:
        return self._move({"_id": application_id}, decide)

    def _move(self, query: dict, decide: Callable[[dict], domain.Transition]) -> dict:
        """Read the application, let the domain decide, write the move and its
        events: one update, guarded by the status read, the application
        carrying its events (no transaction). When the status moved since
        it was read (another operator, the citizen), read and decide again:
        the move may no longer apply (``WrongStatus``)."""
        for _ in range(STATUS_RACE_ATTEMPTS):
            application = self._read_to_move(query)
            if application is None:
                raise ApplicationNotFound()
            move = decide(application)
            changes = {**move.changes, **move.fields}
            carried = self.carry(self.db.applications, list(move.events))
            if self._moved(application["_id"], move, carried.update(
                    {"$set": changes, "$push": {"timeline": move.step}})):
                carried.written(application["_id"])
                return {**application, **changes,
                        "timeline": [*application["timeline"], move.step]}
        raise ServiceBusy()  # it kept moving: the client (or the broker) tries again

    def _read_to_move(self, query: dict) -> dict | None:
        """The application as a move reads it; an operator's (by id) with the
        other reads of the moment (``GroupReader``: one command)."""
        if set(query) == {"_id"}:
            found = self.groups.reader("applications", "_id", None, WITHOUT_CARRIED).find(
                query["_id"])
            return found[0] if found else None
        return self.db.applications.find_one(query, WITHOUT_CARRIED)

    def _moved(self, application_id: str, move: domain.Transition, update: dict) -> bool:
        """Write ``move`` guarded by the status it was decided from, with the
        other writes of the moment (group commit); whether it was written. A
        batch that cannot say is asked by the move's own step (its time is
        to the microsecond)."""
        return self.groups["applications"].modified(
            UpdateOne({"_id": application_id, "status": move.from_status}, update),
            proof={"_id": application_id, "timeline": move.step})
