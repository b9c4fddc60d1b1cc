"""Issuances in printing's database: the print store plus three collections.

* ``issuances``: one per (job, lease) download, with its signed token and
  ``revoked`` flag (and, for a card, the holder's NIK, which a replacement
  revokes by); the verification endpoint reads it by issuance id.
* ``document_numbers``: the number an application's document carries (kept
  across reprints), by application id.
* ``document_serials``: one counter per document type and year.
Each download decides and writes in one transaction (``verification``
decides): a number is never handed out twice. What an issuance replaces is
revoked when its print is reported, in the report's transaction
(``_prints_recorded``); a print reported failed or a job cancelled leaves
its downloads never valid (``_print_given_up``); a holder's death recorded
revokes their cards (``_holder_died``).
"""

from __future__ import annotations

import collections
import datetime

from pymongo import ASCENDING, ReturnDocument, UpdateMany, UpdateOne
from pymongo.errors import DuplicateKeyError

from shared.clock import today_wib, utcnow

from . import verification
from .domain import check_report, downloadable
from .store import PrintStore
from .tokens import SigningKey


class IssuingPrintStore(PrintStore):
    @classmethod
    def ensure_indexes(cls, db) -> None:
        # one issuance per lease: two downloads racing under one lease share it
        db.issuances.create_index([("print_job_id", ASCENDING), ("lease_token", ASCENDING)],
                                  unique=True)
        db.issuances.create_index([("application_id", ASCENDING), ("revoked", ASCENDING)])
        # a replacement card finds the holder's earlier cards (``verification.superseded``)
        db.issuances.create_index([("holder_nik", ASCENDING), ("document_type", ASCENDING),
                                   ("revoked", ASCENDING)])
        super().ensure_indexes(db)

    def issue(self, job_id: str, station_id: str, lease_token: str,
              key: SigningKey) -> tuple[dict, dict]:
        """(job, issuance) for a station's download under its lease: the
        lease's issuance if there is one, else a new one (the job counts it:
        ``issuance_count``). It revokes nothing yet: what it replaces stays valid
        until it is reported printed. ``LeaseLost`` / ``JobNotFound`` as for
        a report; ``DocumentPrinted`` once the job is reported printed (its
        lease token stays on it): never a new valid issuance of a print
        recorded, nor the printed one's copy."""
        def work(session):
            job = downloadable(check_report(self._find(session, job_id), station_id, lease_token))
            found = self.db.issuances.find_one({"print_job_id": job_id, "lease_token": lease_token},
                                               session=session)
            if found is not None:
                return job, found
            now = utcnow()
            today = today_wib(now)
            issuance = verification.new_issuance(
                job, lease_token, self._number(session, job, today.year), key, today, now)
            # the job is written with the insert: a cancel or a death recorded
            # at the same moment writes the job and revokes the downloads it
            # sees - not this one, uncommitted. An insert alone conflicts with
            # neither, and both committed (a valid download of a given-up
            # job); now one runs again after the other (``run_transaction``)
            # and this one answers ``LeaseLost``, or that one revokes it
            self.db.print_jobs.update_one({"_id": job_id, "lease_token": lease_token},
                                          {"$inc": {"issuance_count": 1}}, session=session)
            self.db.issuances.insert_one(issuance, session=session)
            return job, issuance
        try:
            return self.run_transaction(work)
        except DuplicateKeyError:
            return self.run_transaction(work)  # the racing download's issuance, now committed

    def _prints_recorded(self, session, printed: list[tuple[dict, str, datetime.datetime]]
                         ) -> None:
        """Each printed job's issuance (``verification.printed_issuance``) is
        marked printed and revokes what it supersedes: the jobs' issuances in
        one read, the writes of the whole report in one ``bulk_write``."""
        if not printed:
            return
        downloads = collections.defaultdict(list)
        for issuance in self.db.issuances.find(
                {"print_job_id": {"$in": [job["_id"] for job, _, _ in printed]}},
                projection=["print_job_id", "lease_token", "station_id", "application_id",
                            "document_type", "holder_nik", "revoked", "issued_at"],
                session=session):
            downloads[issuance["print_job_id"]].append(issuance)
        writes: list = []
        for job, lease_token, moment in printed:
            issuance = verification.printed_issuance(downloads[job["_id"]], lease_token,
                                                     job.get("station_id"))
            if issuance is None:
                continue  # nothing was downloaded: nothing replaces anything
            writes.append(UpdateOne({"_id": issuance["_id"]}, {"$set": {"printed_at": moment}}))
            writes += [UpdateMany(query, {"$set": verification.revocation(issuance, moment)})
                       for query in verification.superseded(issuance)]
        if writes:
            self.db.issuances.bulk_write(writes, session=session)

    def _print_given_up(self, session, job: dict, lease_token: str | None) -> None:
        if lease_token is None:
            query, why = {"print_job_id": job["_id"]}, verification.PRINT_CANCELLED
        else:
            query = {"print_job_id": job["_id"], "lease_token": lease_token}
            why = verification.PRINT_FAILED
        self.db.issuances.update_many({**query, "revoked": False},
                                      {"$set": verification.not_issued(why, utcnow())},
                                      session=session)

    def _reprint_queued(self, session, job: dict) -> None:
        self.db.issuances.update_many({"print_job_id": job["_id"], "revoked": False},
                                      {"$set": verification.reprint_queued(utcnow())},
                                      session=session)

    def _reprint_withdrawn(self, session, job: dict) -> None:
        downloads = list(self.db.issuances.find({"print_job_id": job["_id"]}, session=session))
        carried, withdrawn = verification.carried_by_pos(downloads, job["printed_before"])
        if carried is not None:
            self.db.issuances.update_one({"_id": carried["_id"]},
                                         verification.restoration(carried), session=session)
        if withdrawn:
            self.db.issuances.update_many(
                {"_id": {"$in": [issuance["_id"] for issuance in withdrawn]}},
                {"$set": verification.not_issued(verification.REPRINT_WITHDRAWN, utcnow())},
                session=session)

    def _holder_died(self, session, nik: str, now: datetime.datetime) -> None:
        self._holder_gone(session, {"holder_nik": nik}, verification.holder_died(now))

    def _printed_cards_of(self, session, nik: str) -> list[str]:
        return [*super()._printed_cards_of(session, nik),
                *(row["print_job_id"] for row in self.db.issuances.find(
                    {"holder_nik": nik, "revoked": False}, {"print_job_id": 1},
                    session=session))]

    def _card_reported_lost(self, session, nik: str, document_type: str) -> None:
        self._holder_gone(session, {"holder_nik": nik, "document_type": document_type},
                          verification.reported_lost(utcnow()))

    def _holder_gone(self, session, cards: dict, revocation: dict) -> None:
        """A holder's death or loss recorded: ``verification.gone_while_replaced``
        decides, one write."""
        self.db.issuances.bulk_write(
            [UpdateMany(query, update)
             for query, update in verification.gone_while_replaced(cards, revocation)],
            session=session)

    def find_issuance(self, issuance_id: str) -> dict | None:
        return self.db.issuances.find_one({"_id": issuance_id})

    def _number(self, session, job: dict, year: int) -> str:
        """The application's document number, drawn from the serial on first print."""
        kept = self.db.document_numbers.find_one({"_id": job["application_id"]}, session=session)
        if kept is not None:
            return kept["number"]
        counter = self.db.document_serials.find_one_and_update(
            {"_id": verification.counter_key(job["document_type"], year)},
            {"$inc": {"serial": 1}}, upsert=True, return_document=ReturnDocument.AFTER,
            session=session)
        number = verification.document_number(job["document_type"], year, counter["serial"])
        self.db.document_numbers.insert_one(
            {"_id": job["application_id"], "number": number, "assigned_at": utcnow()},
            session=session)
        return number
