"""Printing stations: where each one stands, what it prints, how much it may
hold, and which jobs a claim may hand it. Plain Python, no I/O.

Configured in ``STATIONS`` (comma-separated)::

    station-serang-1@disdukcapil-serang:card+certificate:20,station-curug-1@kec-curug:card

``<station id>@<place id>:<kinds joined by +>[:<max jobs held at once>]``
(1 or more: a station that may hold none would claim nothing, its place's
jobs waiting for it for ever).
The station id is the principal of its token in ``STATION_TOKENS``; the
place is one of ``shared.offices.PLACES``. A station with a token but no
entry is a Dinas station printing every kind (how a Dinas with one counter
runs without configuring anything).

Routing: a job goes to a station at its pickup place that prints its kind
(card: KTP-el and KIA on blanko; certificate: the others); where no station
at that place prints the kind, the Dinas' stations print it (the document
travels to the place with the daily run). Next-day requests and replacements
go first, then oldest first.

A station away from the Dinas that has not claimed for ``STATION_SILENT_SECONDS``
(``silent_stations``: switched off, broken, its office closed) no longer
keeps its place's jobs: the Dinas' stations print them as for a place with
no station, until it claims again. Its claims (every agent asks for work
every few seconds, jobs or none) are its sign of life (``PrintStore``).
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from shared.events import PRINT_KINDS
from shared.offices import DINAS

DEFAULT_MAX_HELD = 10
_ENTRY = re.compile(r"(?P<id>[A-Za-z0-9._-]+)@(?P<place>[a-z0-9-]+):(?P<kinds>[a-z+]+)"
                    r"(?::(?P<cap>\d+))?")

# waiting in the queue, or leased with the lease run out (``domain.is_claimable``)
CLAIMABLE_STATUSES = frozenset({"queued", "leased"})

# failure reason -> whether the job goes back to the queue (else: held for an operator)
FAILURE_REASONS = {
    "misprint": True,       # spoilt card or paper: print it again
    "out_of_blanko": True,  # another station (or this one after a delivery) prints it
    "printer_fault": True,  # the printer, not the job
    "data_error": False,    # the record itself is wrong: an operator must look
}
# a lease run out on the job's last attempt (``lapsed``, ``domain.HELD_AS_LAPSED``)
LAPSED_REASON = "lease_expired"
# every ``last_failure`` of a job waiting for an operator: a station's
# failure, or one printing held itself (``domain``: ``HELD_AS_REPRINT``,
# ``HELD_AS_DECEASED``, ``HELD_AS_LAPSED``)
HELD_REASONS = (*FAILURE_REASONS, "already_printed", "holder_deceased", LAPSED_REASON)


class InvalidStations(ValueError):
    pass


@dataclass(frozen=True)
class Station:
    station_id: str
    place_id: str
    kinds: frozenset[str]
    max_held: int = DEFAULT_MAX_HELD


def parse_stations(spec: str | None, places) -> dict[str, Station]:
    """``STATIONS`` -> station id -> Station; a bad entry names its position."""
    stations = {}
    for number, item in enumerate((part.strip() for part in (spec or "").split(",")), start=1):
        if not item:
            continue
        match = _ENTRY.fullmatch(item)
        if match is None:
            raise InvalidStations(f"entry {number} is not id@place:kinds[:max held]")
        kinds = frozenset(match["kinds"].split("+"))
        if match["place"] not in places:
            raise InvalidStations(f"entry {number}: unknown place {match['place']!r}")
        if not kinds or not kinds <= set(PRINT_KINDS):
            raise InvalidStations(f"entry {number}: kinds are {' and '.join(PRINT_KINDS)}")
        if match["id"] in stations:
            raise InvalidStations(f"entry {number} repeats station {match['id']!r}")
        cap = int(match["cap"] or DEFAULT_MAX_HELD)
        if cap < 1:
            raise InvalidStations(f"entry {number}: max held must be 1 or more")
        stations[match["id"]] = Station(match["id"], match["place"], kinds, cap)
    return stations


def station_for(station_id: str, stations: dict[str, Station]) -> Station:
    return stations.get(station_id) or Station(station_id, DINAS.place_id,
                                               frozenset(PRINT_KINDS))


def served_places(station: Station, kind: str, stations: dict[str, Station],
                  places, silent: frozenset[str] = frozenset()) -> list[str]:
    """The pickup places whose jobs of ``kind`` this station prints: a
    Dinas station also those where no station that is not ``silent`` prints it."""
    if kind not in station.kinds:
        return []
    if station.place_id != DINAS.place_id:
        return [station.place_id]
    covered = {s.place_id for s in stations.values()
               if kind in s.kinds and s.station_id not in silent}
    return sorted({DINAS.place_id} | {p for p in places if p not in covered})


def away(stations: dict[str, Station]) -> list[Station]:
    """The configured stations away from the Dinas (at a kecamatan office)."""
    return [s for s in stations.values() if s.place_id != DINAS.place_id]


def silent_stations(stations: dict[str, Station], sightings: dict[str, datetime.datetime],
                    now: datetime.datetime, silent_after: datetime.timedelta) -> frozenset[str]:
    """The stations away from the Dinas not sighted (``sightings``: their
    latest claim, or when printing first looked for one never sighted)
    within ``silent_after`` of ``now``."""
    return frozenset(s.station_id for s in away(stations)
                     if sightings.get(s.station_id, now) < now - silent_after)


def put_back(claimed: list[dict], held: dict[str, int], max_held: int,
             cards: int | None) -> list[dict]:
    """Of a claim's jobs (``claimed``, in queue order), those to put back
    after its lease so that the station holds (``held``: its jobs on lease
    by print kind, this claim's among them) no more than ``max_held`` jobs
    and - ``cards``, its blanko, when tracked - no more card jobs than it
    has blanko for. The last claimed go back first."""
    back: list[dict] = []
    if cards is not None and (over := held.get("card", 0) - cards) > 0:
        back = [job for job in claimed if job.get("print_kind") == "card"][-over:]
    if (over := sum(held.values()) - len(back) - max_held) > 0:
        going = {job["_id"] for job in back}
        back += [job for job in claimed if job["_id"] not in going][-over:]
    return back


# ``priority``'s values, first first
PRIORITIES = (0, 1)


def priority(job: dict) -> int:
    """Sort key of the queue: next-day requests and replacements first."""
    return 0 if job.get("next_day") or job.get("replacement") else 1


def claim_filters(station: Station, kinds: frozenset[str], stations: dict[str, Station],
                  places, now: datetime.datetime, max_attempts: int,
                  silent: frozenset[str] = frozenset()) -> list[dict]:
    """What this station may claim now, in MongoDB's words: flat filters (no
    ``$or``), what is claimable (``claimable_query``) for each set of places
    it serves for some kinds; a job matches at most one. Flat,
    because the local database server (SecantusDB) reads such a filter
    through the status index and scans the whole collection - every job
    ever printed - for one with ``$or``. Empty: nothing to claim.

    ``kinds``: what it can print at the moment (no cards at zero blanko);
    ``silent``: the stations away whose places' jobs the Dinas' print
    (``silent_stations``). A job that used up its attempts is never handed out again: it waits for
    an operator (``is_held``). Change together with ``domain.is_claimable``.
    """
    by_places: dict[tuple[str, ...], list[str]] = {}
    for kind in sorted(kinds & station.kinds):
        if served := served_places(station, kind, stations, places, silent):
            by_places.setdefault(tuple(served), []).append(kind)
    routes = [{"print_kind": {"$in": route_kinds}, "pickup_place_id": {"$in": list(served)}}
              for served, route_kinds in by_places.items()]
    return [{**claimable_now(now, max_attempts), **route} for route in routes]


def claimable_now(now: datetime.datetime, max_attempts: int) -> dict:
    """What any station may claim now, whatever its place and kinds: what
    is claimable (``claimable_query``) and has attempts left. A claim's lease
    re-checks this, by ``_id``, of the jobs it picked: a job's route (kind,
    pickup place) never changes once queued, and with the route in it the
    local server reads the lease's filter through the status index - every
    claimable job, ~100 ms at 400 queued, ~400 ms at 2,000 - instead of the
    ``_id`` index (~12 ms)."""
    return {**claimable_query(now), "attempts": {"$lt": max_attempts}}


def claimable_query(now: datetime.datetime) -> dict:
    """``domain.is_claimable`` in MongoDB's words: one flat filter (a job
    matches it if and only if it is claimable); change the two together.
    Queued and run-out leases in one read and one lease (``$in`` on the
    status index's first field; "no lease running" is "missing or below
    now"): a claim is a round trip and a rewrite of each document fewer
    than with a filter for each."""
    return {"status": {"$in": sorted(CLAIMABLE_STATUSES)}, "lease_until": {"$not": {"$gte": now}}}


def claimed_under(station_id: str, claim_key: str, now: datetime.datetime) -> dict:
    """The jobs a claim of this station under ``claim_key`` (its
    ``Idempotency-Key``) leased that are still on that lease: not reported,
    not run out (a lease run out is any station's to claim; the claim is
    then a new one). What a claim repeating the key is answered, in
    MongoDB's words: read through the status index, as what a station holds
    is (the leased jobs, a few per station) - no index of its own, which
    every write of a job would pay for. Another station's key never
    matches: the station is the token's."""
    return {"status": "leased", "station_id": station_id, "claim_key": claim_key,
            "lease_until": {"$gte": now}}


def held_filters(now: datetime.datetime, max_attempts: int, station_id: str | None = None,
                 last_failure: str | None = None) -> list[dict]:
    """Jobs waiting for an operator, in MongoDB's words: held, or a lease
    that ran out after the last attempt and is not held yet (``lapsed``:
    printing holds it within seconds). Two flat filters, each read through
    the status index, not one ``$or``: the local server scans every job ever
    printed for that (as for ``claim_filters``). A job matches at most one.
    ``station_id``, ``last_failure``: only those (the operators' filters) -
    a lapsed lease is listed ``lease_expired`` whatever failure it had before
    (``domain.as_held``), so it is of no other reason."""
    only = {key: value for key, value in (("station_id", station_id),
                                          ("last_failure", last_failure)) if value is not None}
    held = [{"status": "held", **only}]
    if last_failure not in (None, LAPSED_REASON):
        return held
    return [*held, {**lapsed(now, max_attempts), **({"station_id": station_id}
                                                    if station_id is not None else {})}]


def lapsed(now: datetime.datetime, max_attempts: int) -> dict:
    """A lease that ran out on the job's last attempt (a station that crashed
    on it each time, or vanished mid-batch): never handed out again
    (``claimable_now``), held for an operator (``PrintStore.hold_lapsed``).
    One flat filter, read through the status index: the leased jobs, a few
    per station."""
    return {"status": "leased", "lease_until": {"$lt": now}, "attempts": {"$gte": max_attempts}}


@dataclass(frozen=True)
class StationRules:
    """The configured stations and the claim limits, as the settings read them."""

    stations: dict[str, Station]
    places: tuple[str, ...]  # every pickup place id (shared.offices.PLACES)
    lease: datetime.timedelta
    max_attempts: int = 3
    blanko_threshold: int = 50  # blanko_low when a station's stock falls to this
    # a station away from the Dinas not claiming this long is silent
    # (``silent_stations``); None: never (its jobs wait for it)
    silent_after: datetime.timedelta | None = None

    def station(self, station_id: str) -> Station:
        return station_for(station_id, self.stations)

    def watches_silence(self) -> bool:
        """Whether stations away from the Dinas can fall silent (configured, and watched)."""
        return self.silent_after is not None and bool(away(self.stations))

    def claim_filters(self, station: Station, kinds: frozenset[str],
                      now: datetime.datetime, silent: frozenset[str] = frozenset()) -> list[dict]:
        return claim_filters(station, kinds, self.stations, self.places, now, self.max_attempts,
                             silent)

    def claimable_now(self, now: datetime.datetime) -> dict:
        return claimable_now(now, self.max_attempts)

    def held_filters(self, now: datetime.datetime, station_id: str | None = None,
                     last_failure: str | None = None) -> list[dict]:
        return held_filters(now, self.max_attempts, station_id, last_failure)

    def lapsed(self, now: datetime.datetime) -> dict:
        return lapsed(now, self.max_attempts)
