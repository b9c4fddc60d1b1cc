"""Printing's store, held half: the jobs waiting for an operator - a lease
run out on its last attempt held (``hold_lapsed``), the held list with the
printed cards of a holder who died since, and an operator's decisions on
them: release, cancel, reprint. It reads the queue as the claims half
does (``claim_store``), and a job cancelled gives up its print as a failure
reported does (``report_store``: ``_print_given_up``). ``PrintStore``
builds on it.
"""

from __future__ import annotations

import datetime

from pymongo import ASCENDING

from shared.clock import today_wib, utcnow
from shared.paging import page_after

from . import domain, handovers
from .claim_store import QUEUE_ORDER, ClaimStore
from .domain import Event
from .exceptions import JobNotFound
from .pickup_store import by_code
from .report_store import ReportStore
from .slots import PickupRules
from .stations import PRIORITIES, StationRules

# leases run out on their last attempt held in one run of the timer at most
# (``PrintStore.hold_lapsed``; more wait for the next run, seconds later)
LAPSED_PER_RUN = 100


# the held list's order: the queue's (``claim_store.QUEUE_ORDER``), equal
# times by id - a page starts after the last job of the page before
HELD_ORDER = [*QUEUE_ORDER, ("_id", ASCENDING)]
QueuePlace = tuple[int, datetime.datetime, str]  # priority, queued_at, _id


def queue_place(job: dict) -> QueuePlace:
    """A job's place in the held list (``HELD_ORDER``)."""
    return job["priority"], job["queued_at"], job["_id"]


class HeldJobStore(ClaimStore, ReportStore):
    def held_jobs(self, rules: StationRules, limit: int = 100,
                  after: QueuePlace | None = None, station_id: str | None = None,
                  last_failure: str | None = None) -> list[dict]:
        """Jobs waiting for an operator, in queue order (next-day requests and
        replacements first, then oldest first, equal times by id): the held
        ones, and the cards printed and still at the Dinas whose holder's
        death was recorded since (``cards_of_the_deceased``, noted by
        ``_listed_for_an_operator``: a list of its own, not a read of every
        printed job; until cancelled, or until Pos takes the parcel of its
        jemput-bola manifest: then it is no longer the Dinas' to cancel -
        cancel answers ``with_pos``). A lease run out on its last attempt and
        not held yet is listed as it will be (``domain.as_held``). Up to
        ``limit`` after ``after`` (``queue_place`` of the last job of the page
        before); ``station_id``, ``last_failure``: only those."""
        only = {key: value for key, value in (("station_id", station_id),
                                              ("last_failure", last_failure))
                if value is not None}
        held = [domain.as_held(job) for query in rules.held_filters(utcnow(), **only)
                for job in self._in_queue_order(query, limit, after)]
        return sorted([*held, *self._cards_to_cancel(only, after)], key=queue_place)[:limit]

    def _in_queue_order(self, query: dict, limit: int, after: QueuePlace | None) -> list[dict]:
        """Up to ``limit`` jobs of ``query`` in ``HELD_ORDER`` after ``after``:
        priority by priority (``PRIORITIES``), each paged on ``queued_at``
        and ``_id`` (``shared.paging.page_after``: flat filters, each read
        through the status index)."""
        def read(flat: dict, count: int) -> list[dict]:
            return list(self.db.print_jobs.find(flat, sort=HELD_ORDER, limit=count))
        jobs: list[dict] = []
        for priority in PRIORITIES:
            if after is not None and priority < after[0]:
                continue
            since = after[1:] if after is not None and priority == after[0] else None
            jobs += page_after(read, {**query, "priority": priority}, "queued_at",
                               limit - len(jobs), since)
            if len(jobs) >= limit:
                break
        return jobs

    def _cards_to_cancel(self, only: dict, after: QueuePlace | None) -> list[dict]:
        """The printed cards of the deceased still at the Dinas, after
        ``after``: all of them read (a few - deaths of holders whose card
        waits at the Dinas - and some with Pos, not listed), so a page is
        never cut short by one left out."""
        noted = [row["_id"] for row in self.db.cards_of_the_deceased.find({}, ["_id"])]
        printed = [job for job in self.db.print_jobs.find(
            {"_id": {"$in": noted}, "status": "printed", **only})
            if after is None or queue_place(job) > after] if noted else []
        with_pos = {manifest["_id"] for manifest in self.db.manifests.find(
            {"_id": {"$in": sorted({job["manifest_id"] for job in printed
                                    if job.get("manifest_id")})}})
            if handovers.pos_has_it(manifest)} if printed else set()
        return [job for job in printed
                if domain.at_the_dinas(job, job.get("manifest_id") in with_pos)]

    def print_jobs_of(self, application_id: str | None = None,
                      tracking_code: str | None = None) -> list[dict]:
        """The print jobs of an application, named by its id or its tracking
        code (any case), each read through its index (one job per
        application: none before it is verified)."""
        query = {"application_id": application_id} if application_id is not None \
            else by_code(tracking_code)
        return list(self.db.print_jobs.find(query, sort=[("queued_at", ASCENDING)]))

    def print_job(self, job_id: str) -> dict:
        if (job := self._find(None, job_id)) is None:
            raise JobNotFound()
        return job

    def hold_lapsed(self, rules: StationRules, limit: int = LAPSED_PER_RUN) -> list[dict]:
        """Hold the jobs whose lease ran out on their last attempt
        (``stations.lapsed``, one read through the status index), each in a
        transaction of its own with its ``print_job_held`` (``lease_expired``):
        the citizen reads ``print_held``. Each update is guarded - still
        leased under the token read, still run out - so of two printing
        processes at it, one holds the job and says so, and a station's
        report that came first (printed, failed) leaves it alone. The jobs
        it held, up to ``limit`` (the rest: the next run)."""
        now = utcnow()
        lapsed = self.db.print_jobs.find(
            rules.lapsed(now), [*domain.JOB_REF_FIELDS, "station_id", "lease_token"],
            limit=limit)
        return [held for job in lapsed if (held := self._hold_lapsed(job, rules, now))]

    def _hold_lapsed(self, job: dict, rules: StationRules, now: datetime.datetime) -> dict | None:
        def work(session):
            if not self.db.print_jobs.update_one(
                    {"_id": job["_id"], "lease_token": job["lease_token"], **rules.lapsed(now)},
                    {"$set": domain.HELD_AS_LAPSED}, session=session).modified_count:
                return None  # held by another process, or reported meanwhile
            held = {**job, **domain.HELD_AS_LAPSED}
            self._emit_all(session, [domain.held_here(held)])
            return held
        return self.run_transaction(work)

    def release_held(self, job_id: str, operator: str, rules: StationRules,
                     reason: str | None = None) -> dict:
        """Back to the queue with fresh attempts. ``reason``, here and below:
        why, in the operator's words (kept in the action history)."""
        return self._operator_decision(job_id, rules, ("released", operator, reason), lambda job:
                                       domain.release(job, operator, handovers.pos_has_it(
                                           self._manifest_of(job))))

    def cancel_held(self, job_id: str, operator: str, rules: StationRules,
                    pickup: PickupRules, reason: str | None = None) -> dict:
        """Given up: nothing will be printed for it, so its hand-over list (a
        kecamatan's, a jemput-bola manifest) no longer waits for it, and no
        document downloaded for it is valid (``_print_given_up``)."""
        def lists_go_on(session, job: dict) -> list[Event]:
            self._print_given_up(session, job, None)
            if domain.still_at_the_dinas(job):
                self._give_seat_back(session, job)
                self.db.cards_of_the_deceased.delete_one({"_id": job["_id"]}, session=session)
                self._off_the_lists(session, job, waited_for=False)
            events = self._handover_job_dropped(session, job, pickup) if job["next_day"] else []
            if job.get("manifest_id"):
                events += self._manifest_member_dropped(session, job["manifest_id"],
                                                        job["application_id"], pickup,
                                                        today_wib(utcnow()))
            return events
        def decide(job: dict):
            printed = domain.still_at_the_dinas(job)
            return domain.cancel(job, operator, self._deceased(
                None, domain.card_holders(job)) if printed else set(),
                printed and handovers.pos_has_it(self._manifest_of(job)), reason)
        return self._operator_decision(job_id, rules, ("cancelled", operator, reason), decide,
                                       lists_go_on)

    def reprint(self, job_id: str, operator: str, rules: StationRules,
                reason: str | None = None) -> dict:
        """A printed document still at the Dinas, missing or spoiled, back to
        the queue (``domain.reprint``), in one transaction: its window's seat
        given back, its hand-over list (a kecamatan's, a jemput-bola
        manifest) waiting for it again, and its downloads no longer valid
        (``_reprint_queued``). The reprint takes a blanko when it is printed,
        as any print."""
        def decide(job: dict):
            return domain.reprint(job, operator, self._deceased(None, domain.card_holders(job)),
                                  handovers.pos_has_it(self._manifest_of(job)), reason)
        def lists_wait(session, job: dict) -> list[Event]:
            self._give_seat_back(session, job)
            self._reprint_queued(session, job)
            self._off_the_lists(session, job, waited_for=True)
            return []
        return self._operator_decision(job_id, rules, ("reprinted", operator, reason), decide,
                                       lists_wait)

    def _off_the_lists(self, session, job: dict, waited_for: bool) -> None:
        """A printed document no longer on its hand-over list (a kecamatan's
        next-day list, a jemput-bola manifest): not among its printed items
        nor given a day - reprinted (``waited_for``: the list waits for it
        again), or given up (a card whose holder died: outside audit A - the
        officer's list, sent once its other members were printed, named it,
        and its family was told to collect it at the kelurahan office)."""
        application_id = job["application_id"]
        if job["next_day"]:
            self.db.handover_lists.update_one(
                {"_id": handovers.handover_list_id(job)},
                {**({"$addToSet": {"waiting": application_id}} if waited_for else {}),
                 "$pull": {"items": {"application_id": application_id}},
                 "$unset": {f"days.{application_id}": ""}}, session=session)
        if job.get("manifest_id") and handovers.goes_with_manifest(job):
            # one Pos takes to its citizen's door waits in a parcel of its
            # own: the manifest does not wait for its reprint
            self.db.manifests.update_one(
                {"_id": job["manifest_id"]},
                {"$pull": {"printed_ids": application_id, "deceased_ids": application_id,
                           "items": {"application_id": application_id}},
                 "$unset": {f"days.{application_id}": "",
                            f"follow_ups.{application_id}": ""}}, session=session)

    def _give_seat_back(self, session, job: dict) -> None:
        """A document that will not be collected in its window: the seat is free again."""
        if job.get("slot"):
            self.db.pickup_windows.update_one({"_id": job["slot"]["key"]},
                                              {"$inc": {"count": -1}}, session=session)

    def _reprint_queued(self, session, job: dict) -> None:
        """What else a printed job re-queued changes, in its transaction:
        ``IssuingPrintStore`` revokes its downloads (the document printed is
        replaced by the reprint); a store without issuances has nothing to do."""

    def _operator_decision(self, job_id: str, rules: StationRules,
                           action: tuple[str, str, str | None], decide,
                           then=lambda session, job: []) -> dict:
        """``decide`` on the job, and ``then`` what else follows from it
        (events), in one transaction; ``action`` (what, the operator, their
        reason) kept in the job's action history in the same update
        (``domain.action_taken``: the job's reason and note as the operator
        was shown them). A decision that changes nothing (a repeat:
        ``domain.cancel`` of a job cancelled already) has nothing follow from
        it either, and is not kept: a retry's reason neither."""
        def work(session):
            job = self._find(session, job_id)
            if job is None:
                raise JobNotFound()
            # a lease that ran out after the last attempt counts as held
            # (before ``hold_lapsed`` holds it)
            # (``domain.HELD_AS_LAPSED``: a cancel says ``lease_expired``, as
            # the held list showed it - outside review: it said the reason
            # of a failure before, or none)
            held = {**job, **domain.HELD_AS_LAPSED} \
                if domain.job_is_held(job, rules.max_attempts) \
                and job["lease_until"] is not None and job["lease_until"] < utcnow() else job
            update, events = decide(held)
            if not update:  # a repeat: nothing changed, so nothing follows
                return self._save(session, job, update, events)
            what, operator, reason = action
            return self._save(session, job, update, events + then(session, job),
                              domain.action_taken(what, operator, held, utcnow(),
                                                  operator_reason=reason))
        decided = self.run_transaction(work)
        self.groups.forget_reads_ahead()  # a released job is claimable again
        return decided
