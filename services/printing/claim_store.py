"""Printing's store, claims half: stations lease print jobs (``claim``),
a claim sent again under its ``Idempotency-Key`` answered its first lease's
jobs, the claims of a moment sharing a read of the queue, a station's cap
and blanko kept to, and the stations away from the Dinas watched for
silence (their places' jobs go to the Dinas' stations). What a station may
claim is decided in ``stations``; ``PrintStore`` builds on it.
"""

from __future__ import annotations

import collections
import datetime
import logging

from pymongo import ASCENDING

from shared import metrics
from shared.clock import utcnow
from shared.group_writes import ReadAhead
from shared.offices import DINAS
from shared.store import BaseStore

from .blanko import cards_left, printable_kinds, within_stock
from .domain import lease_seconds, new_lease
from .stations import (Station, StationRules, away, claimed_under, put_back,
                       silent_stations)

log = logging.getLogger(__name__)

QUEUE_ORDER = [("priority", ASCENDING), ("queued_at", ASCENDING)]
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


def _cards(jobs: list[dict]) -> int:
    """How many of ``jobs`` are printed on blanko."""
    return sum(job.get("print_kind") == "card" for job in jobs)


def queue_position(job: dict) -> tuple:
    """A job's place in ``QUEUE_ORDER``."""
    return job["priority"], job["queued_at"]


class ClaimStore(BaseStore):
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
