"""Printing's store: print jobs, station claims and leases, held jobs
(database ``printing``); the pickup half is ``pickup_store``, the PRR
backlog ``prr_store``.

Each method loads, asks ``domain`` (and ``slots``) what follows, and writes
the answer with its events in one transaction.
"""

from __future__ import annotations

import collections
import datetime
import logging

from pymongo import ASCENDING, ReturnDocument, UpdateMany
from pymongo.errors import BulkWriteError, DuplicateKeyError

from shared import metrics
from shared.clock import today_wib, utcnow
from shared.errors import DomainError
from shared.group_writes import ReadAhead
from shared.indexes import drop_index_if_present
from shared.offices import DINAS
from shared.store import duplicate_fields

from . import domain, handovers
from .domain import Event, check_report, lease_seconds, new_job, new_lease, print_outcome
from .exceptions import JobNotFound, LeaseLost, UnknownStation
from .pickup_store import PickupStore
from .prr_store import PrrStore
from .seats import Seats
from .slots import PickupRules
from .blanko import (RECENT_DELIVERIES, below_zero, cards_left, delivery_row,
                     delivery_starts_tracking, earlier_delivery, emptied, low_stock,
                     printable_kinds, spoilt, within_stock)
from .stations import (Station, StationRules, away, claimed_under, put_back,
                       silent_stations)

log = logging.getLogger(__name__)

QUEUE_ORDER = [("priority", ASCENDING), ("queued_at", ASCENDING)]
# jobs of stations' reports recorded in one transaction at most (a report
# of more - a report holds up to 100 - goes alone): a transaction stays well
# within its deadline (MONGO_TIMEOUT_MS) on a busy server
JOBS_PER_TRANSACTION = 120
# a claim reads this many times the jobs it may take (``PrintStore.claim``)
CLAIM_SPARE = 4
# a station away from the Dinas notes its claims at most this often (its
# sign of life, ``stations.silent_stations``), and the Dinas' claims read
# those notes at most this often - each at most a quarter of the silence
# watched for (``_silence``: a station claiming is never found silent)
SIGHTING_SECONDS = 60
SILENCE_READ_SECONDS = 15
# the claims of a moment share a read of the queue (``shared.group_writes.ReadAhead``):
# the local server reads every claimable job for each read whatever its limit
# (43 ms at 500 queued, 509 ms at 5,000: bench/README.md, eleventh session);
# one read hands out up to READ_AHEAD_JOBS jobs for READ_AHEAD_SECONDS; a job
# a station's failure or an operator puts back (the API container's writes) is
# seen at once, any other change (a job queued by the events container, a
# lease run out, another process) within READ_AHEAD_SECONDS. A read finding
# fewer than READ_AHEAD_JOBS read the whole queue: once its jobs are handed
# out, the claims of the rest of its READ_AHEAD_SECONDS answer nothing
# without a read (``ReadAhead.drained``: a station polling an empty queue
# cost a read of its blanko and of the queue each time)
READ_AHEAD_JOBS = 200
READ_AHEAD_SECONDS = 1.0
# reads of the queue one claim may make at most (the rest were taken meanwhile)
CLAIM_READS = 2
# leases run out on their last attempt held in one run of the timer at most
# (``PrintStore.hold_lapsed``; more wait for the next run, seconds later)
LAPSED_PER_RUN = 100


def _jobs(item: tuple) -> int:
    """How many jobs a waiting report (``mark_printed_batch``'s item) holds."""
    return len(item[0])


def _cards(jobs: list[dict]) -> int:
    """How many of ``jobs`` are printed on blanko."""
    return sum(job.get("print_kind") == "card" for job in jobs)


def queue_position(job: dict) -> tuple:
    """A job's place in ``QUEUE_ORDER``."""
    return job["priority"], job["queued_at"]


class PrintStore(PickupStore, PrrStore):
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
        # a retried delivery finds its first by key; the ledger is read per station
        db.blanko_deliveries.create_index([("idempotency_key", ASCENDING)], unique=True,
                                          sparse=True)
        db.blanko_deliveries.create_index([("station_id", ASCENDING), ("recorded_at", ASCENDING)])
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

    def _card_reported_lost(self, session, nik: str, document_type: str) -> None:
        """A replacement for a card reported lost is verified (its job queued
        in this transaction, once per application): ``IssuingPrintStore``
        revokes the holder's cards of that type still valid - whoever holds
        the lost card now is not its holder; a store without issuances has
        nothing to do."""

    def claim(self, station: Station, rules: StationRules, count: int,
              manifest: bool = False, claim_key: str | None = None) -> list[dict]:
        """Lease up to ``count`` jobs to a station (``_claim``), each with
        ``lease_seconds`` (``domain.lease_seconds``).

        ``claim_key``, the claim's ``Idempotency-Key``, is kept with the
        lease: a claim of this station repeating it - its answer was lost
        on the way - is answered the jobs still on that lease
        (``stations.claimed_under``: same lease tokens, the lease not
        extended, no attempt counted) instead of leasing others; only when
        none are (it leased nothing, or they were reported or ran out) is it
        a claim as any. The station's keyed claims in this process go one
        at a time: a retry sent while the first is still at work waits for
        it and gets its jobs, rather than each leasing its own.
        """
        if claim_key is None:
            now = utcnow()
            return self._with_lease_seconds(self._claim(station, rules, count, manifest, now),
                                            now)
        with self.groups.turn(f"keyed claims of {station.station_id}"):
            now = utcnow()
            again = list(self.db.print_jobs.find(
                claimed_under(station.station_id, claim_key, now), sort=QUEUE_ORDER))
            if again:
                self._silence(station, rules, now)  # a sign of life all the same
                log.info("claim of %s answered again under its key: %d job(s) of its "
                         "lease", station.station_id, len(again))
                return self._with_lease_seconds(again, now)
            return self._with_lease_seconds(
                self._claim(station, rules, count, manifest, now, claim_key), now)

    @staticmethod
    def _with_lease_seconds(jobs: list[dict], now: datetime.datetime) -> list[dict]:
        return [{**job, "lease_seconds": lease_seconds(job, now)} for job in jobs]

    def _claim(self, station: Station, rules: StationRules, count: int, manifest: bool,
               now: datetime.datetime, claim_key: str | None = None) -> list[dict]:
        """Lease up to ``count`` jobs to a station, never more than it may hold.

        A few round trips whatever ``count``: pick the jobs (the claims of the
        moment on the same routes share a read of the queue, ``_read_ahead``:
        one read per flat filter, ``stations.claim_filters``: usually one,
        waiting jobs and leases that ran out together), lease those still
        claimable in one ``update_many`` by their ids (``_lease``); only when
        it leased fewer than it wanted, read back what this claim's token got,
        and lease the next ones, until it has ``count`` or none are left.
        ``manifest``: the batch is the members of the oldest waiting
        jemput-bola manifest. Concurrent claims of one station may overshoot
        its cap for an instant - so may a claim of a station still holding
        jobs; the overshoot is put back before answering. A station's claims
        in this process count and put back one at a time (``groups.turn``),
        each counting what the one before put back: claims counting at once
        each put back the whole overshoot, together more than it was (twelve
        queued, eight claims of a station of ten at once: nine leased, three
        queued, three claims answered nothing). Claims of one station through
        two printing processes still may (one API container claims).

        Blanko (``blanko``): a station out of it gets no card jobs; one with
        less than the claim could take gets no more card jobs than its stock
        (read for itself, ``_picker``: the card jobs it skips stay for the
        others), and after the lease no more than its stock less the card
        jobs it held already (put back with the overshoot of its cap). The
        stock is read before the lease; only when it is close to what the
        station may hold is it read again after the count (a card printed in
        between takes a blanko and a held job together: read after the count,
        the stock is never more than it should be).
        """
        silent = self._silence(station, rules, now)
        every_kind = rules.claim_filters(station, station.kinds, now, silent)
        if self._drained(every_kind):
            return []  # nothing it could print whatever its blanko: no read
        stock = self.db.blanko.find_one({"_id": station.station_id})
        kinds = printable_kinds(station, stock)
        filters = every_kind if kinds == station.kinds else \
            rules.claim_filters(station, kinds, now, silent)
        # what it holds already is counted once, after the lease (below): a
        # station reports a batch before it claims the next, so the overshoot
        # put back there is rare, and a claim costs one count, not two
        room = min(count, station.max_held)
        if not filters or room <= 0:
            return []
        if manifest:
            firsts = [job for query in filters if (job := self.db.print_jobs.find_one(
                {**query, "manifest_id": {"$ne": None}}, sort=QUEUE_ORDER,
                projection=["manifest_id", "priority", "queued_at"]))]
            if not firsts:
                return []
            oldest = min(firsts, key=queue_position)["manifest_id"]
            filters = [{**query, "manifest_id": oldest} for query in filters]
        cards = cards_left(stock) if "card" in kinds else None
        short = cards is not None and cards < room  # fewer blanko than the claim could take
        lease, claimable = new_lease(station.station_id, now, rules.lease,
                                      claim_key), rules.claimable_now(now)
        take = self._picker(filters, room) if manifest or short else self._read_ahead(filters)
        claimed: list[dict] = []
        while len(claimed) < room and (read := take(room - len(claimed))):
            # a read shared with other claims, made before this one leased
            # some of it, may offer a job this claim holds already: leasing
            # it again changes nothing, but its token's read back would list
            # it twice - one job handed out twice in one answer
            mine = {job["_id"] for job in claimed}
            read = [job for job in read if job["_id"] not in mine]
            wanted = within_stock(read, cards - _cards(claimed)) if short else read
            claimed += self._lease(wanted, lease, claimable) if wanted else []
        if not claimed:
            return []
        with self.groups.turn(f"claims of {station.station_id}"):
            held = self._held_by(station, now)
            if cards is not None and stock["stock"] < station.max_held + _cards(claimed):
                # it may have printed some of what it held since the stock was read
                cards = cards_left(self.db.blanko.find_one({"_id": station.station_id}))
            back = put_back(claimed, held, station.max_held, cards)
            if back:
                self._unclaim(back, lease["lease_token"])
        going = {job["_id"] for job in back}
        return [job for job in claimed if job["_id"] not in going]

    def _silence(self, station: Station, rules: StationRules,
                 now: datetime.datetime) -> frozenset[str]:
        """A claim away from the Dinas is its station's sign of life (noted
        at most every ``SIGHTING_SECONDS``); a claim at the Dinas gets the
        stations away that are silent (``stations.silent_stations``, read at
        most every ``SILENCE_READ_SECONDS``): it prints their places' jobs."""
        if not rules.watches_silence():
            return frozenset()
        # a sighting at most this old when read, a read at most this old: a
        # station claiming is seen within half the silence
        quarter = rules.silent_after.total_seconds() / 4
        if station.place_id != DINAS.place_id:
            self.groups.recent(f"sighting of {station.station_id}",
                               min(SIGHTING_SECONDS, quarter)).get(
                lambda: self.db.station_sightings.update_one(
                    {"_id": station.station_id},
                    {"$max": {"at": now}, "$unset": {"never_claimed": ""}}, upsert=True))
            return frozenset()
        return self.groups.recent("silent stations", min(SILENCE_READ_SECONDS, quarter)).get(
            lambda: self._silent_now(rules, now))

    def _silent_now(self, rules: StationRules, now: datetime.datetime) -> frozenset[str]:
        """The silent stations away from the Dinas, as their sightings say; one
        never sighted is noted as sighted now (when printing first looked for
        it): silent from ``silent_after`` later, if it never claims. Each
        change is logged for the operators, and shown in ``/metrics``."""
        stations = away(rules.stations)
        rows = {row["_id"]: row for row in self.db.station_sightings.find(
            {"_id": {"$in": [s.station_id for s in stations]}})}
        for s in stations:
            if s.station_id not in rows:
                self.db.station_sightings.update_one(
                    {"_id": s.station_id},
                    {"$setOnInsert": {"at": now, "never_claimed": True}}, upsert=True)
        sightings = {station_id: row["at"] for station_id, row in rows.items()}
        silent = silent_stations(rules.stations, sightings, now, rules.silent_after)
        for s in stations:
            if metrics.station_silent(s.station_id, s.place_id, s.station_id in silent):
                if s.station_id in silent:
                    since = sightings[s.station_id].isoformat()
                    log.warning("station %s at %s %s: the Dinas' stations print its place's "
                                "jobs until it claims", s.station_id, s.place_id,
                                f"has never claimed (watched since {since})"
                                if rows[s.station_id].get("never_claimed")
                                else f"has not claimed since {since}")
                else:
                    # its first claim, or its first since it fell silent (audit A:
                    # "claims again" of one that had never claimed)
                    log.info("station %s at %s is claiming: it prints its place's jobs, the "
                             "Dinas' stations no longer", s.station_id, s.place_id)
        return silent

    def _picker(self, filters: list[dict], room: int):
        """The jobs one claim reads for itself, handed out in queue order: more
        than it may take (the others claiming at the same moment pick the same
        first jobs, and a claim that lost them leases the next ones read
        instead of answering nothing; the local server reads every match of a
        filter whatever the limit: the spare ones cost no read)."""
        picked = self._queue_read(filters, room * CLAIM_SPARE)

        def take(count: int) -> list[dict]:
            nonlocal picked
            wanted, picked = picked[:count], picked[count:]
            return wanted
        return take

    def _ahead(self, filters: list[dict]) -> ReadAhead:
        """The reads ahead of the claims on these routes (``filters``)."""
        routes = repr([(query["print_kind"], query["pickup_place_id"]) for query in filters])
        return self.groups.read_ahead(f"claims {routes}", READ_AHEAD_SECONDS, READ_AHEAD_JOBS)

    def _drained(self, filters: list[dict]) -> bool:
        """Whether the claims on these routes read the whole queue lately
        and handed all of it out (``ReadAhead.drained``)."""
        return bool(filters) and self._ahead(filters).drained()

    def _read_ahead(self, filters: list[dict]):
        """The jobs the claims of the moment on these routes share, read
        ahead (``READ_AHEAD_JOBS``), each handed to one claim; a claim reads
        again (``CLAIM_READS`` times at most) when those are used up or old."""
        ahead, reads = self._ahead(filters), 0

        def read() -> list[dict] | None:
            nonlocal reads
            reads += 1
            if reads > CLAIM_READS:
                return None  # no read: the queue may hold more
            return self._queue_read(filters, READ_AHEAD_JOBS)
        return lambda count: ahead.take(count, read)

    def _queue_read(self, filters: list[dict], limit: int) -> list[dict]:
        """The first ``limit`` jobs of each filter's queue, all in queue order."""
        return sorted((job for query in filters for job in self.db.print_jobs.find(
            query, sort=QUEUE_ORDER, limit=limit)), key=queue_position)

    def _lease(self, wanted: list[dict], lease: dict, claimable: dict) -> list[dict]:
        """Lease the jobs ``wanted`` that are still ``claimable`` (re-checked
        atomically by id, so a job another claim took in between is skipped,
        never handed out twice); the ones this lease got, in queue order."""
        wanted = list({job["_id"]: job for job in wanted}.values())  # each once
        ids = [job["_id"] for job in wanted]
        leased = self.db.print_jobs.update_many(
            {"_id": {"$in": ids}, **claimable},
            {"$set": lease, "$inc": {"attempts": 1}}).modified_count
        if leased == len(wanted):  # all of them: they are what was read, leased
            return [{**job, **lease, "attempts": job.get("attempts", 0) + 1} for job in wanted]
        if leased == 0:
            return []
        # another claim took some in between: read back which this one got
        return list(self.db.print_jobs.find(
            {"_id": {"$in": ids}, "lease_token": lease["lease_token"]}, sort=QUEUE_ORDER))

    def _held_by(self, station: Station, now: datetime.datetime) -> collections.Counter:
        """The station's jobs on lease, by print kind (one command, as a count)."""
        rows = self.db.print_jobs.aggregate([
            {"$match": {"station_id": station.station_id, "status": "leased",
                        "lease_until": {"$gte": now}}},
            {"$group": {"_id": "$print_kind", "jobs": {"$sum": 1}}}])
        return collections.Counter({row["_id"]: row["jobs"] for row in rows})

    def _unclaim(self, jobs: list[dict], lease_token: str) -> None:
        self.db.print_jobs.update_many(
            {"_id": {"$in": [job["_id"] for job in jobs]}, "lease_token": lease_token},
            {"$set": {"status": "queued", "lease_until": None, "lease_token": None,
                      "station_id": None, "claim_key": None}, "$inc": {"attempts": -1}})
        self.groups.forget_reads_ahead()  # back in the queue: the next claim reads again

    def held_jobs(self, rules: StationRules, limit: int = 100) -> list[dict]:
        """Jobs waiting for an operator, in queue order (next-day requests and
        replacements first, then oldest first): the held ones, and the cards
        printed and still at the Dinas whose holder's death was recorded since
        (``cards_of_the_deceased``, noted by ``_listed_for_an_operator``: a
        list of its own, not a read of every printed job; until cancelled,
        or until Pos takes the parcel of its jemput-bola manifest: then it
        is no longer the Dinas' to cancel - cancel answers ``with_pos``).
        A lease run out on its last attempt and not held yet is listed as it
        will be (``domain.as_held``)."""
        noted = [row["_id"] for row in self.db.cards_of_the_deceased.find({}, limit=limit)]
        printed = list(self.db.print_jobs.find({"_id": {"$in": noted}, "status": "printed"})) \
            if noted else []
        with_pos = {manifest["_id"] for manifest in self.db.manifests.find(
            {"_id": {"$in": sorted({job["manifest_id"] for job in printed
                                    if job.get("manifest_id")})}})
            if handovers.pos_has_it(manifest)} if printed else set()
        to_cancel = [job for job in printed
                     if domain.at_the_dinas(job, job.get("manifest_id") in with_pos)]
        held = [domain.as_held(job) for job in self._queue_read(rules.held_filters(utcnow()),
                                                                 limit)]
        return sorted([*held, *to_cancel], key=queue_position)[:limit]

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

    def release_held(self, job_id: str, operator: str, rules: StationRules) -> dict:
        """Back to the queue with fresh attempts."""
        return self._operator_decision(job_id, rules, lambda job: domain.release(
            job, operator, handovers.pos_has_it(self._manifest_of(job))))

    def cancel_held(self, job_id: str, operator: str, rules: StationRules,
                    pickup: PickupRules) -> dict:
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
                printed and handovers.pos_has_it(self._manifest_of(job)))
        return self._operator_decision(job_id, rules, decide, lists_go_on)

    def _manifest_of(self, job: dict, session=None) -> dict:
        """``job``'s jemput-bola manifest; empty for none (no read)."""
        if not job.get("manifest_id"):
            return {}
        return self.db.manifests.find_one({"_id": job["manifest_id"]}, session=session) or {}

    def reprint(self, job_id: str, operator: str, rules: StationRules) -> dict:
        """A printed document still at the Dinas, missing or spoiled, back to
        the queue (``domain.reprint``), in one transaction: its window's seat
        given back, its hand-over list (a kecamatan's, a jemput-bola
        manifest) waiting for it again, and its downloads no longer valid
        (``_reprint_queued``). The reprint takes a blanko when it is printed,
        as any print."""
        def decide(job: dict):
            return domain.reprint(job, operator, self._deceased(None, domain.card_holders(job)),
                                  handovers.pos_has_it(self._manifest_of(job)))
        def lists_wait(session, job: dict) -> list[Event]:
            self._give_seat_back(session, job)
            self._reprint_queued(session, job)
            self._off_the_lists(session, job, waited_for=True)
            return []
        return self._operator_decision(job_id, rules, decide, lists_wait)

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

    def _operator_decision(self, job_id: str, rules: StationRules, decide,
                           then=lambda session, job: []) -> dict:
        """``decide`` on the job, and ``then`` what else follows from it
        (events), in one transaction. A decision that changes nothing (a
        repeat: ``domain.cancel`` of a job cancelled already) has nothing
        follow from it either."""
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
            return self._save(session, job, update, events + then(session, job))
        decided = self.run_transaction(work)
        self.groups.forget_reads_ahead()  # a released job is claimable again
        return decided

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
            return self._save(session, job, update, events)
        failed = self.run_transaction(work)
        self.groups.forget_reads_ahead()  # a job back in the queue comes first again
        return failed

    def record_blanko_delivery(self, station_id: str, delivered: int, stations: StationRules,
                               operator: str = "unknown", key: str | None = None) -> dict:
        """An operator received ``delivered`` blanko at a station; its stock is
        tracked from now on. ``UnknownStation`` for a station neither
        configured nor tracked (``blanko.delivery_starts_tracking``). A
        first delivery that leaves it at or below the threshold warns
        (``blanko_low``) as a print falling there would. The delivery is a
        row of the ledger (``blanko_deliveries``: ``operator``, when, how
        many, ``key``) in the stock's transaction, and a log line; a retry
        under its ``Idempotency-Key`` (``key``) gets the first answer and
        counts nothing again (outside review: a retry after a lost answer
        counted the stock twice), another delivery under it ``BlankoKeyReused``."""
        if key and (earlier := self._earlier_delivery(key, station_id, delivered)):
            return earlier

        def work(session):
            now = utcnow()
            events = self._change_blanko(
                session, stations, station_id,
                {"$inc": {"stock": delivered}, "$set": {"delivered_at": now}},
                upsert=delivery_starts_tracking(station_id, stations.stations))
            stock = self.db.blanko.find_one({"_id": station_id}, session=session)
            if stock is None:
                raise UnknownStation()
            self.db.blanko_deliveries.insert_one(
                delivery_row(station_id, delivered, operator, key, now, stock), session=session)
            self._emit_all(session, events)
            return stock
        try:
            stock = self.run_transaction(work)
        except DuplicateKeyError:
            # the same delivery retried at the same moment: the first committed
            if key and (earlier := self._earlier_delivery(key, station_id, delivered)):
                return earlier
            raise
        log.info("blanko delivery of %d to station %s recorded by %s: stock %d",
                 delivered, station_id, operator, stock["stock"])
        return stock

    def _earlier_delivery(self, key: str, station_id: str, delivered: int) -> dict | None:
        row = self.db.blanko_deliveries.find_one({"idempotency_key": key})
        return None if row is None else earlier_delivery(row, station_id, delivered)

    def blanko_stocks(self) -> list[dict]:
        """Each tracked station's stock, with its latest deliveries (newest first)."""
        return [{**stock, "recent_deliveries": list(self.db.blanko_deliveries.find(
                    {"station_id": stock["_id"]}, sort=[("recorded_at", -1)],
                    limit=RECENT_DELIVERIES))}
                for stock in self.db.blanko.find(sort=[("_id", ASCENDING)])]

    def _change_blanko(self, session, stations: StationRules, station_id: str, change: dict,
                       upsert: bool = False) -> list:
        stock = self.db.blanko.find_one_and_update(
            {"_id": station_id}, change, upsert=upsert, return_document=ReturnDocument.AFTER,
            session=session)
        if stock is None:
            return []  # not tracked
        if short := below_zero(stock):
            log.warning("station %s printed %d card(s) beyond its recorded blanko stock: kept "
                        "at 0, counted in stock_discrepancy - count its blanko and record a "
                        "delivery of what is there", station_id, -stock["stock"])
            stock = self.db.blanko.find_one_and_update(
                {"_id": station_id}, short, return_document=ReturnDocument.AFTER,
                session=session)
        flag, events = low_stock(stations.station(station_id), stock, stations.blanko_threshold)
        if flag:
            self.db.blanko.update_one({"_id": station_id}, {"$set": flag}, session=session)
        return events
