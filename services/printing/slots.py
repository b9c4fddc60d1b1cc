"""Pickup slots: which day and hour a printed document can be collected.

Plain Python. A document printed today is ready from the next working day
(Kecamatan requests are collected "the next day"); each place has hourly
windows with a capacity. Weekends are closed; Indonesian public holidays are
a later addition (roadmap: pickup slots with holidays).

The seats already taken are counted by the caller (the store keeps one
counter per window key); ``choose_window`` only reads them.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Callable

from .exceptions import NoSlotAvailable

MAX_DAYS_AHEAD = 20


@dataclass(frozen=True)
class PickupPlace:
    place_id: str
    name: str
    address: str
    opens: int = 8    # first window starts 08:00 WIB
    closes: int = 15  # last window ends 15:00 WIB
    capacity: int = 40  # documents per hourly window


def is_working_day(day: datetime.date, holidays: frozenset = frozenset()) -> bool:
    return day.weekday() < 5 and day not in holidays


def candidate_windows(place: PickupPlace, printed_on: datetime.date,
                      holidays: frozenset = frozenset()):
    """Yield (date, start, end) windows in order, from the next working day."""
    day = printed_on
    for _ in range(MAX_DAYS_AHEAD):
        day += datetime.timedelta(days=1)
        if not is_working_day(day, holidays):
            continue
        for hour in range(place.opens, place.closes):
            yield day, f"{hour:02d}:00", f"{hour + 1:02d}:00"


def window_key(place: PickupPlace, day: datetime.date, start: str) -> str:
    return f"{place.place_id}|{day.isoformat()}|{start}"


def slot_payload(place: PickupPlace, day: datetime.date, start: str, end: str) -> dict:
    return {"place": place.name, "address": place.address, "date": day.isoformat(),
            "start": start, "end": end}


def choose_window(place: PickupPlace, printed_on: datetime.date, taken: Callable[[str], int],
                  holidays: frozenset = frozenset()) -> tuple[str, dict]:
    """The first window with a seat left: its counter key and the slot to announce.

    ``taken(key)`` is how many documents a window already holds; it is asked
    window by window, in order, so the search stops at the first free one.
    """
    for day, start, end in candidate_windows(place, printed_on, holidays):
        key = window_key(place, day, start)
        if taken(key) < place.capacity:
            return key, slot_payload(place, day, start, end)
    raise NoSlotAvailable()
