"""Printing's store, deceased half: an Akta Kematian verified records its
holder deceased (collection ``deceased``) - their jobs not printed held,
their printed cards still at the Dinas (a jemput-bola manifest's member
until Pos takes its parcel) listed for an operator to cancel, their cards
revoked (``IssuingPrintStore``). ``PrintStore`` builds on it.
"""

from __future__ import annotations

import datetime

from shared.clock import utcnow

from . import domain, handovers
from .domain import Event
from .pickup_store import PickupStore


class DeceasedStore(PickupStore):
    @staticmethod
    def _held_here(jobs: list[dict]) -> list[Event]:
        """``print_job_held`` of each of ``jobs`` printing holds itself."""
        return [domain.held_here(job) for job in jobs if job["status"] == "held"]

    def _death_recorded(self, session, nik: str, certificate: dict) -> None:
        """An Akta Kematian of ``nik`` verified (its job, ``certificate``, is
        queued in this transaction, once per application: a redelivery
        changes nothing): the NIK is recorded deceased - nothing of theirs
        is handed over any more (``PickupStore._handed_to_the_living``), a
        card of theirs queued later is held -, every card of theirs not
        printed yet is held for an operator (``domain.of_the_deceased``:
        cards only; read through the status index, one flat filter per
        status, never every job ever printed), and their cards are revoked
        (``_holder_died``). Each job it holds that was not held already
        says so (``print_job_held``)."""
        now = utcnow()
        self.db.deceased.update_one(
            {"_id": nik}, {"$setOnInsert": {"application_id": certificate["application_id"],
                                            "recorded_at": now}},
            upsert=True, session=session)
        to_hold = [job for status in domain.NOT_PRINTED
                   for holder in ({"holder_nik": nik},  # a job from an older event: its applicant's
                                  {"nik": nik, "holder_nik": {"$exists": False},
                                   "print_kind": "card"})
                   for job in self.db.print_jobs.find({"status": status, **holder},
                                                      domain.JOB_REF_FIELDS, session=session)]
        if to_hold:
            self.db.print_jobs.update_many(
                {"_id": {"$in": [job["_id"] for job in to_hold]},
                 "status": {"$in": list(domain.NOT_PRINTED)}},
                {"$set": domain.HELD_AS_DECEASED}, session=session)
            self._emit_all(session, self._held_here(
                [{**job, **domain.HELD_AS_DECEASED} for job in to_hold if job["status"] != "held"]))
        self._printed_for_the_deceased(session, self._printed_cards_of(session, nik), now)
        self._holder_died(session, nik, now)

    def _holder_died(self, session, nik: str, now: datetime.datetime) -> None:
        """What else a death recorded changes, in its transaction:
        ``IssuingPrintStore`` revokes the holder's cards still valid; a store
        without issuances has nothing to do."""

    def _printed_cards_of(self, session, nik: str) -> list[str]:
        """The printed jobs of cards ``nik`` holds: read by the applicant's
        NIK (its index; a KTP-el's holder); ``IssuingPrintStore`` adds those
        its downloads name (a KIA: the child's, a parent applied)."""
        return [job["_id"] for job in self.db.print_jobs.find(
            {"nik": nik, "status": "printed"}, session=session)
            if domain.of_the_deceased(job, {nik})]

    def _printed_for_the_deceased(self, session, job_ids: list[str],
                                  now: datetime.datetime) -> None:
        """Of these printed cards of a holder whose death is recorded now,
        those still at the Dinas (a counter, an office's list; not Pos') are
        marked (``domain.PRINTED_FOR_THE_DECEASED``) and listed with the held
        jobs for an operator to cancel (outside audit A1: nothing showed
        them, and the family kept reading "ready for pickup"). A jemput-bola
        manifest's member is at the Dinas until Pos takes the manifest's
        parcel (``handovers.pos_has_it``), the operator's choice of Pos
        made or not: the manifest notes it (``deceased_ids``) and keeps it
        out of the parcel (``handovers.pos_answer``) until it is cancelled
        (outside review: it was listed for good, uncancellable, and went in
        the parcel to the kelurahan)."""
        if not job_ids:
            return
        printed = list(self.db.print_jobs.find(
            {"_id": {"$in": sorted(set(job_ids))}, "status": "printed"},
            {"status": 1, "delivery_method": 1, "manifest_id": 1, "application_id": 1},
            session=session))
        if not printed:
            return
        # each is written, with Pos or not: Pos bringing one back at the same
        # moment (``parcel_returned`` writes it too) conflicts with this
        # transaction, and one of the two runs again after the other (else
        # each read the other's before: the death missed the card back at
        # the counter, the return missed the death - outside audit A3)
        self.db.print_jobs.update_many({"_id": {"$in": [job["_id"] for job in printed]}},
                                       {"$set": {"holder_died_at": now}}, session=session)
        at_the_dinas = [job for job in printed if domain.at_the_dinas(
            job, handovers.pos_has_it(self._manifest_of(job, session)))]
        if not at_the_dinas:
            return
        for job in at_the_dinas:
            if job.get("manifest_id") and handovers.goes_with_manifest(job):
                self.db.manifests.update_one({"_id": job["manifest_id"]},
                                             {"$addToSet": {"deceased_ids": job["application_id"]}},
                                             session=session)
        at_the_dinas = [job["_id"] for job in at_the_dinas]
        self.db.print_jobs.update_many({"_id": {"$in": at_the_dinas}},
                                       {"$set": domain.PRINTED_FOR_THE_DECEASED},
                                       session=session)
        self._listed_for_an_operator(session, at_the_dinas, now)
