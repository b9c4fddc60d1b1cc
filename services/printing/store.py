"""Printing's store: print jobs queued for verified applications
(database ``printing``), built of its halves - ``claim_store`` (stations'
claims and leases), ``report_store`` (their reports), ``blanko_store``
(stock and deliveries), ``held_store`` (jobs waiting for an operator),
``deceased_store`` (a death recorded), ``pickup_store`` (windows, hand-over
lists, manifests) and ``prr_store`` (the PRR backlog).

Each method loads, asks ``domain`` (and ``slots``) what follows, and writes
the answer with its events in one transaction.
"""

from __future__ import annotations

from pymongo import ASCENDING
from pymongo.errors import BulkWriteError, DuplicateKeyError

from shared.clock import utcnow
from shared.indexes import drop_index_if_present
from shared.store import duplicate_fields

from . import domain, handovers
from .deceased_store import DeceasedStore
from .domain import new_job
from .held_store import HeldJobStore
from .prr_store import PrrStore


class PrintStore(HeldJobStore, DeceasedStore, PrrStore):
    @classmethod
    def ensure_indexes(cls, db) -> None:
        db.print_jobs.create_index([("application_id", ASCENDING)], unique=True)
        db.print_jobs.create_index([("status", ASCENDING), ("priority", ASCENDING),
                                    ("queued_at", ASCENDING)])
        # what a station holds is counted through the status index (the leased
        # jobs: a few per station): an index of its own cost every write of a
        # job ~0.85 ms on the local server (bench/README.md, eleventh session)
        drop_index_if_present(db.print_jobs, "station_id_1_status_1")
        # a jemput-bola claim reads the claimable jobs through the status index
        # as any claim does (an index of the manifests cost every write of a job)
        drop_index_if_present(db.print_jobs, "manifest_id_1")
        db.print_jobs.create_index([("nik", ASCENDING), ("document_type", ASCENDING)])
        db.print_jobs.create_index([("tracking_code", ASCENDING)])
        super().ensure_indexes(db)

    def queue_job(self, event: dict, handled_before: bool = False):
        """Create the print job for a verified application, once per
        application; None when it exists (a redelivery). The job and its
        ``print_job_queued`` in one transaction, through the outbox: print
        jobs do not carry their events (``CARRIERS``: stations' reports
        write them in transactions). The jobs queued at the same moment go
        in one transaction (``_queue_together``). ``handled_before``: a
        copy most likely handled (``shared.messaging.Republished``), so one
        read looks for its job first - copies at once failed their
        transaction together, then each its own (bench/README.md,
        "Publishing kept events again")."""
        if handled_before and self.db.print_jobs.find_one(
                {"application_id": event["application_id"]}, {"_id": 1}) is not None:
            return None
        job, events = new_job(event, utcnow())
        if domain.may_print_a_card_again(job):
            earlier = self.db.print_jobs.find_one(
                {"nik": job["nik"], "document_type": job["document_type"],
                 "status": {"$in": list(domain.CARD_ISSUED)}}, {"status": 1})
            if domain.prints_a_card_again(job, earlier):
                job.update(domain.HELD_AS_REPRINT)
        queued = self.groups.batches("queue_job").join((job, events), self._queue_together)
        # of claims sharing this store's groups (a service's API container has
        # its own: there it is seen within READ_AHEAD_SECONDS)
        if job["priority"] == 0:  # ahead of what the claims read ahead
            self.groups.forget_reads_ahead()
        else:  # behind it: read once what was read is handed out
            self.groups.more_queued()
        return queued

    def _queue_together(self, queued: list[tuple[dict, list]]) -> list:
        """Jobs (and their events) of many workers in one transaction: one
        insert of the jobs, one of the events, one commit. A job whose
        application has one already (a redelivery) fails the transaction:
        then each goes in a transaction of its own."""
        if len(queued) > 1:
            try:
                return self.run_transaction(lambda session: self._queue(session, queued))
            except BulkWriteError:  # a duplicate among them, or another refusal: each alone
                pass
        return [self._queue_alone(job, events) for job, events in queued]

    def _queue_alone(self, job: dict, events: list):
        # no inbox row: the unique index on application_id is the guard (one
        # job per application, however often its application_verified comes)
        try:
            return self.run_transaction(lambda session: self._queue(session, [(job, events)]))[0]
        except DuplicateKeyError as exc:
            if duplicate_fields(exc) == {"application_id"}:
                return None
            raise

    def _queue(self, session, queued: list[tuple[dict, list]]) -> list[dict]:
        """The jobs, those of a person recorded deceased held (an event late);
        an Akta Kematian's records its death (``_death_recorded``)."""
        deceased = self._deceased(session, sorted({nik for job, _ in queued
                                                   for nik in domain.card_holders(job)}))
        for job, _ in queued:
            if domain.of_the_deceased(job, deceased):
                job.update(domain.HELD_AS_DECEASED)
        if len(queued) == 1:  # a duplicate is a DuplicateKeyError (insert_many's: a bulk's)
            self.db.print_jobs.insert_one(queued[0][0], session=session)
        else:
            self.db.print_jobs.insert_many([job for job, _ in queued], session=session)
        for job, _ in queued:
            if job["next_day"] and job["status"] == "queued":
                self.db.handover_lists.update_one(
                    {"_id": handovers.handover_list_id(job)},
                    {"$addToSet": {"waiting": job["application_id"]},
                     "$setOnInsert": {"kecamatan_code": job["kecamatan_code"], "items": []}},
                    upsert=True, session=session)
        for job, _ in queued:
            if (deceased_nik := domain.death_recorded(job)) is not None:
                self._death_recorded(session, deceased_nik, job)
            if (lost := domain.reported_lost(job)) is not None:
                self._card_reported_lost(session, lost, job["document_type"])
        self._emit_all(session, [event for job, events in queued
                                 for event in [*events, *self._held_here([job])]])
        return [job for job, _ in queued]

    def _card_reported_lost(self, session, nik: str, document_type: str) -> None:
        """A replacement for a card reported lost is verified (its job queued
        in this transaction, once per application): ``IssuingPrintStore``
        revokes the holder's cards of that type still valid - whoever holds
        the lost card now is not its holder; a store without issuances has
        nothing to do."""
