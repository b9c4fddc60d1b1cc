"""Printing's store, reports half: what stations report of the jobs they
hold - printed (alone, or a batch; the reports of a moment in one
transaction, each card taking its blanko, each document its pickup window or
its place on a hand-over list) or failed (back in the queue, or held for an
operator). It builds on the blanko half (``blanko_store``) and, through
it, the pickup half; ``held_store`` and ``PrintStore`` build on it.
"""

from __future__ import annotations

import collections
import datetime
import logging

from pymongo import UpdateMany

from shared.clock import today_wib, utcnow
from shared.errors import DomainError

from . import domain
from .blanko import emptied, spoilt
from .blanko_store import BlankoStore
from .domain import check_report, print_outcome
from .exceptions import JobNotFound, LeaseLost
from .seats import Seats
from .slots import PickupRules
from .stations import StationRules

log = logging.getLogger(__name__)

# jobs of stations' reports recorded in one transaction at most (a report
# of more - a report holds up to 100 - goes alone): a transaction stays well
# within its deadline (MONGO_TIMEOUT_MS) on a busy server
JOBS_PER_TRANSACTION = 120


def _jobs(item: tuple) -> int:
    """How many jobs a waiting report (``mark_printed_batch``'s item) holds."""
    return len(item[0])


class ReportStore(BlankoStore):
    def mark_printed(self, job_id: str, station_id: str, lease_token: str,
                     rules: PickupRules, stations: StationRules | None = None,
                     now: datetime.datetime | None = None) -> dict:
        """Record a printed document, take its blanko (a card), give it its
        pickup window (or put it on its kecamatan's or kelurahan's hand-over
        list), emit the facts. ``now``: the clock (tests print on a chosen day)."""
        [outcome] = self.mark_printed_batch(
            [{"print_job_id": job_id, "lease_token": lease_token}], station_id, rules,
            stations, now)
        if isinstance(outcome, DomainError):
            raise outcome
        return outcome

    def mark_printed_batch(self, reports: list[dict], station_id: str, rules: PickupRules,
                           stations: StationRules | None = None,
                           now: datetime.datetime | None = None) -> list[dict | DomainError]:
        """``mark_printed`` for a station's batch (``print_job_id``,
        ``lease_token`` each). Per report, the printed job or the error that
        refused it (a lease lost, an unknown job: nothing written for that one).

        The batches reported at the same moment in this process - by any
        station - are recorded in one transaction (``_print_together``), one
        after another: every counter print books its place's window, and two
        transactions booking one window conflict and retry (four stations
        reporting at one place at once ran out of their transaction budget).
        The leader's ``rules`` and ``stations`` serve the whole batch (a
        process has one of each); each report keeps its own ``now``."""
        return self.groups.batches("print_reports", JOBS_PER_TRANSACTION, size=_jobs).join(
            (reports, station_id, now), lambda batch: self._print_together(batch, rules, stations))

    def _print_together(self, batch: list[tuple], rules: PickupRules,
                        stations: StationRules | None) -> list[list]:
        """Reports of many stations (``mark_printed_batch``'s) in one
        transaction and a few commands whatever their size: the jobs read in
        one, the windows booked together (``Seats``), the jobs written in one
        command, an ``update_many`` in it per distinct change (the jobs of one
        window share theirs: the local server rewrites them ~2× faster so
        than one by one), each station's blanko taken once, what the prints
        replace (``_prints_recorded``) in one read and one write, the events
        in one insert."""
        def work(session):
            jobs = {job["_id"]: job for job in self.db.print_jobs.find(
                {"_id": {"$in": [report["print_job_id"]
                                 for reports, _, _ in batch for report in reports]}},
                session=session)}
            seats, changes, events, answers = Seats(self.db, session, rules), {}, [], []
            printed: list[tuple[dict, str, datetime.datetime]] = []
            cards: collections.Counter = collections.Counter()
            for reports, station_id, now in batch:
                moment, results = now or utcnow(), []
                for report in reports:
                    try:
                        job = check_report(jobs.get(report["print_job_id"]), station_id,
                                           report["lease_token"])
                    except (JobNotFound, LeaseLost) as refused:
                        results.append(refused)
                        continue
                    update, job_events = print_outcome(job, moment, seats.reserve)
                    if update and job["next_day"]:
                        job_events += self._add_to_handover(session, job, rules,
                                                            today_wib(moment))
                    if update and job.get("manifest_id"):
                        job_events += self._manifest_member_printed(session, job, rules,
                                                                    today_wib(moment))
                    if update:
                        changes.setdefault(repr(update), (update, []))[1].append(job["_id"])
                        printed.append((job, report["lease_token"], moment))
                        cards[station_id] += job.get("print_kind") == "card"
                    events += job_events
                    jobs[job["_id"]] = {**job, **update}  # a job reported twice prints once
                    results.append(jobs[job["_id"]])
                answers.append(results)
            seats.flush()
            self._prints_recorded(session, printed)
            for station_id, taken in cards.items():
                if taken and stations is not None:
                    events += self._change_blanko(session, stations, station_id,
                                                  {"$inc": {"stock": -taken}})
            if changes:
                self.db.print_jobs.bulk_write([UpdateMany({"_id": {"$in": ids}}, {"$set": update})
                                               for update, ids in changes.values()],
                                              session=session)
            self._emit_all(session, events)
            return answers
        return self.run_transaction(work)

    def _prints_recorded(self, session, printed: list[tuple[dict, str, datetime.datetime]]
                         ) -> None:
        """What else the prints of a report change, in its transaction:
        ``printed`` holds (job, the reported lease token, when) of each job
        it printed. ``IssuingPrintStore`` revokes what their documents
        replace; a store without issuances has nothing to do."""

    def _print_given_up(self, session, job: dict, lease_token: str | None) -> None:
        """What else a print that will not be handed out changes, in the
        transaction that says so: the lease ``lease_token``'s (a failure
        reported), or every lease's of the job (None: cancelled).
        ``IssuingPrintStore`` makes their downloads never valid."""

    def mark_failed(self, job_id: str, station_id: str, lease_token: str, reason: str,
                    note: str | None, stations: StationRules) -> dict:
        """A station could not print: back to the queue, or held for an operator;
        what it downloaded under this lease is not the citizen's document
        (``_print_given_up``). A station out of blanko is taken at its word:
        its stock is zero - one without a ``STATIONS`` entry too (tracked
        from now on: a delivery brings its cards back,
        ``record_blanko_delivery``) - unless a delivery was recorded since
        the job was leased (``blanko.emptied``). A card misprinted took its blanko, as a
        print does (``blanko.spoilt``; ``blanko_low`` as a print's)."""
        def work(session):
            job = check_report(self._find(session, job_id), station_id, lease_token)
            update, events = domain.failure_outcome(job, reason, note, stations.max_attempts)
            self._print_given_up(session, job, lease_token)
            if reason == "out_of_blanko":
                since = domain.leased_at(job, stations.lease)
                if emptied(self.db.blanko.find_one({"_id": station_id}, session=session), since):
                    events += self._change_blanko(session, stations, station_id,
                                                  {"$set": {"stock": 0}}, upsert=True)
                else:
                    log.info("station %s out of blanko on job %s leased at %s, before the "
                             "last delivery recorded: its stock is kept", station_id, job_id,
                             since.isoformat())
            elif taken := spoilt(job, reason):
                events += self._change_blanko(session, stations, station_id,
                                              {"$inc": {"stock": -taken}})
            done = domain.action_taken("failed", station_id, {**job, **update}, utcnow(),
                                       station_id)
            return self._save(session, job, update, events, done)
        failed = self.run_transaction(work)
        self.groups.forget_reads_ahead()  # a job back in the queue comes first again
        return failed
