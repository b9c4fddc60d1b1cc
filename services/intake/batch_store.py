"""Intake's store, jemput-bola half: batches and their manifests (database ``intake``).

A batch document (``batches``, ``_id`` = officer + their batch id) is made
before its rows are stored and holds the manifest id they all carry; its
reply is written, and ``batch_accepted`` emitted, in one transaction when
the last row is done. Each row is its own application, stored through the
store's ordinary ``submit`` (one transaction: application + its event) with
a key per batch row, so a batch cut short (a crash, a 503) and sent again
with the same batch id finds the rows it already stored and stores the rest.
A batch its request left processing for good (intake killed mid-batch) is
finished with the rows it stored (``api_batches.finish_abandoned``).
"""

from __future__ import annotations

import datetime

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from shared.clock import utcnow
from shared.errors import DomainError
from shared.indexes import drop_index_if_present
from shared.store import BaseStore

from .batches import row_key
from .domain import ACTIVE_SLOT
from .subjects import subjects


class BatchStore(BaseStore):
    @classmethod
    def ensure_indexes(cls, db) -> None:
        # nothing reads applications by manifest (a hand-over names its
        # applications' ids): the index cost every write of an application
        # ~0.85 ms on the local server (bench/README.md, eleventh session)
        drop_index_if_present(db.applications, "manifest_id_1")
        # the batches a request left processing (``abandoned_batches``, a timer's)
        db.batches.create_index([("status", ASCENDING), ("created_at", ASCENDING)],
                                name="by_status_and_start")
        super().ensure_indexes(db)

    def batch(self, batch_key: str) -> dict | None:
        """A batch, answered (``status`` done: its reply) or still being
        stored (processing); None."""
        return self.db.batches.find_one({"_id": batch_key})

    def processing_batches(self, started_before: datetime.datetime,
                           most: int = 100) -> list[dict]:
        """Batches still processing that were started before
        ``started_before``: one read through ``by_status_and_start``."""
        return list(self.db.batches.find(
            {"status": "processing", "created_at": {"$lt": started_before}},
            {"content": 0}).limit(most))

    def stored_rows(self, batch_key: str, rows: int) -> dict[int, dict]:
        """The applications a batch of ``rows`` rows stored so far, by row
        number: one read, through the idempotency keys' index."""
        keys = [row_key(batch_key, number) for number in range(1, rows + 1)]
        return {application["batch"]["row"]: application for application in
                self.db.applications.find({"idempotency_key": {"$in": keys}},
                                          {"tracking_code": 1, "subject_key": 1, "batch": 1})}

    def holder(self, application: dict) -> dict | None:
        """The application in progress that holds a subject of
        ``application`` (one read, through the one-active index): who
        submitted it, and its batch row; None once it ended."""
        return self.db.applications.find_one(
            {"subject_key": {"$in": subjects(application["subject_key"])},
             "document_type": application["document_type"], "active_slot": ACTIVE_SLOT},
            {"submitted_by": 1, "batch": 1})

    def batch_members(self, application_ids: list[str]) -> dict[str, dict]:
        """The batch's applications as they stand (status, type, timeline),
        by id: one read."""
        return {row["_id"]: row for row in self.db.applications.find(
            {"_id": {"$in": application_ids}},
            {"status": 1, "document_type": 1, "timeline": 1})}

    def start_batch(self, batch: dict) -> dict:
        """Store a new batch, or return the one already started under its key
        (a repeat of a batch cut short continues it, with its manifest id)."""
        try:
            self.db.batches.insert_one(batch)
            return batch
        except DuplicateKeyError:
            return self.db.batches.find_one({"_id": batch["_id"]})

    def submit_rows(self, applications: list[tuple[int, dict]],
                    until: datetime.datetime) -> tuple[list, list, list]:
        """Submit each (row, application) on its own, none begun after
        ``until``: ([(row, stored application)], [(row, the error that
        refused it)], [rows not tried])."""
        stored, refused = [], []
        for index, (row, application) in enumerate(applications):
            if utcnow() > until:
                return stored, refused, [row for row, _ in applications[index:]]
            try:
                stored.append((row, self.submit(application)))
            except DomainError as exc:  # e.g. an active application for this NIK
                if exc.status >= 500:  # the database, not the row: the batch stops here
                    raise
                refused.append((row, exc))
        return stored, refused, []

    def finish_batch(self, batch: dict, reply: dict, application_ids: list[str]) -> dict:
        """Keep the reply and tell printing which applications make up the
        manifest, once: a concurrent repeat that finishes second gets the
        first reply."""
        def work(session):
            done = self.db.batches.update_one(
                {"_id": batch["_id"], "status": "processing"},
                {"$set": {"status": "done", "reply": reply, "finished_at": utcnow()}},
                session=session)
            if done.modified_count == 0:
                return self.db.batches.find_one({"_id": batch["_id"]}, session=session)["reply"]
            if application_ids:
                self.emit(session, "batch_accepted", manifest_id=batch["manifest_id"],
                          batch_id=batch["batch_id"], kelurahan_code=batch["kelurahan_code"],
                          application_ids=application_ids)
            return reply
        return self.run_transaction(work)
