"""Blanko: the blank card stock (KTP-el, KIA) each station prints cards on.
Plain Python, no I/O.

A station's stock is tracked from the first delivery an operator records
for it; a station with no record is not tracked (e.g. a Dinas counter
supplied from the central store) and prints cards as before. A tracked
station at zero gets no card jobs while certificates still flow; a printed
card takes one blanko in the print's own transaction, and so does a card
reported ``misprint`` (spoilt: ``spoilt``); a station reporting
``out_of_blanko`` is set to zero - a station without a ``STATIONS`` entry
too, tracked from then on, so that an operator's delivery can bring its
cards back (``delivery_starts_tracking``). A claim hands a tracked station
no more card jobs than it has blanko for, counting the card jobs it holds
leased already (``cards_left``, ``within_stock``, ``stations.put_back``).
Falling to or below the threshold (``BLANKO_LOW_THRESHOLD``) emits
``blanko_low`` once; a delivery that lifts the stock above it re-arms the
warning. Not counted: a card a station printed under a lease that ran out
and went to another station meanwhile (its report is refused, and the
other prints the job again) is taken from no stock: the first station's
then reads one card more than it holds.

Each delivery is a row of the station's ledger (``delivery_row``: who
recorded it, when, how many, the stock it left), written with the stock's
change; a retry under the same ``Idempotency-Key`` is answered as the first
(``earlier_delivery``), counted once. An ``out_of_blanko`` report does not
empty a stock a delivery refilled after the job was leased (``emptied``:
the station ran out before the delivery). A stock never reads below zero:
cards printed beyond it (a station printing the card of a lease that ran
out on its last attempt while another card job took that blanko, or a
delivery not recorded) are counted as ``stock_discrepancy`` instead
(``below_zero``) and logged - count the station's blanko and record a
delivery of what is there.
"""

from __future__ import annotations

import datetime
import uuid

from .domain import Event
from .exceptions import BlankoKeyReused
from .stations import Station

# deliveries shown with each station's stock (``GET .../stations/blanko``)
RECENT_DELIVERIES = 5


def printable_kinds(station: Station, stock: dict | None) -> frozenset[str]:
    """What the station can print now: no cards from a tracked, empty stock."""
    if stock is not None and stock["stock"] <= 0:
        return station.kinds - {"card"}
    return station.kinds


def cards_left(stock: dict | None) -> int | None:
    """How many card jobs a station may hold leased at once: one per blanko
    it has (never below none); None for a station not tracked (no limit)."""
    return None if stock is None else max(stock["stock"], 0)


def within_stock(jobs: list[dict], cards: int | None) -> list[dict]:
    """``jobs`` in their order, with no more than ``cards`` card jobs among
    them (None: no limit); the other kinds use no blanko and all stay."""
    if cards is None:
        return jobs
    kept = []
    for job in jobs:
        if job.get("print_kind") == "card":
            if cards <= 0:
                continue
            cards -= 1
        kept.append(job)
    return kept


def spoilt(job: dict, reason: str) -> int:
    """Blanko a failed print of ``job`` used up: a card misprinted spoilt
    one, as a card printed takes one; no other failure uses any (out of
    blanko, a printer fault or a record's error before printing)."""
    return int(reason == "misprint" and job.get("print_kind") == "card")


def delivery_starts_tracking(station_id: str, stations: dict[str, Station]) -> bool:
    """Whether an operator's delivery may start tracking a station with no
    stock yet: only a configured one (``STATIONS``), so a mistyped id makes
    no stock. A station without an entry is tracked from its first
    ``out_of_blanko`` report; its deliveries are recorded from then on."""
    return station_id in stations


def delivery_row(station_id: str, delivered: int, operator: str, key: str | None,
                 now: datetime.datetime, stock: dict) -> dict:
    """A delivery as the ledger keeps it: with the answer it got (``stock``
    after it), which a retry of it gets again."""
    return {"_id": uuid.uuid4().hex, "station_id": station_id, "delivered": delivered,
            "recorded_by": operator, "recorded_at": now,
            **({"idempotency_key": key} if key else {}),
            "answer": {"stock": stock["stock"], "warned": bool(stock.get("warned"))}}


def earlier_delivery(row: dict, station_id: str, delivered: int) -> dict:
    """A retry's answer: the stock as the delivery recorded under its key
    left it; ``BlankoKeyReused`` for the key of another delivery (another
    station or amount)."""
    if (row["station_id"], row["delivered"]) != (station_id, delivered):
        raise BlankoKeyReused()
    return {"_id": station_id, **row["answer"]}


def emptied(stock: dict | None, leased_at: datetime.datetime) -> bool:
    """Whether a station's ``out_of_blanko`` on a job leased at ``leased_at``
    sets its stock to zero: not when a delivery was recorded since (its
    ``delivered_at``) - the station ran out before the blanko came (outside
    review: a report of a job held since before it erased a delivery of 500)."""
    delivered_at = (stock or {}).get("delivered_at")
    return delivered_at is None or delivered_at <= leased_at


def below_zero(stock: dict) -> dict | None:
    """The change for a stock a print took below zero: kept at zero, the
    cards short counted in ``stock_discrepancy``; None for a stock at or
    above zero."""
    if stock["stock"] >= 0:
        return None
    return {"$set": {"stock": 0}, "$inc": {"stock_discrepancy": -stock["stock"]}}


def low_stock(station: Station, stock: dict, threshold: int) -> tuple[dict, list[Event]]:
    """After the stock changed: the warning flag to set and the event, if this
    change crossed the threshold (from above to at or below)."""
    if stock["stock"] <= threshold and not stock.get("warned"):
        return {"warned": True}, [Event("blanko_low", {
            "station_id": station.station_id, "place_id": station.place_id,
            "stock_left": max(stock["stock"], 0), "threshold": threshold})]
    if stock["stock"] > threshold and stock.get("warned"):
        return {"warned": False}, []
    return {}, []
