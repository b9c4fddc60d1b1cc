"""Pickup windows: which day and hour a printed document can be collected.

Plain Python. A document printed on day D is ready from the first window of
the next working day after D (``shared.offices.WorkingCalendar``: weekends,
Indonesian public holidays, the Dinas' own closing days). Each place
(``shared.offices.Place``) has hourly windows from ``opens`` to ``closes``
holding ``pickup_capacity`` documents each. There is no horizon for
prints: the calendar runs on, so a backlog of any size still gets windows.
A citizen moving their window chooses among the ``WINDOWS_OFFERED`` next
ones (``offered_windows``, ``chosen_window``), no further.

Finding a window must not cost a read per full window (the store kept one
counter per window and read them in turn: 45 reads per print after 1,781
prints). So each place keeps a **fill pointer**, the first window not known
to be full; windows before it are never looked at again. The store reads the
pointer, moves it forward to the earliest window the document may use, and
takes a seat in that window's counter; a window found full (only citizens
moving into it ahead of the pointer can fill one there) moves the pointer on
by one; a pointer left on a day closed since moves on to the next working
day. Seats freed behind the pointer (a citizen moved away) go to citizens
who move their window, never to new prints: new prints only ever go forward.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Callable

from shared.offices import DINAS, Place, WorkingCalendar

from .exceptions import WindowUnavailable

# how far ahead a citizen may move their window: the next 35 of the place's
# windows (a week at seven a day); what the windows listing offers, and all
# a reschedule accepts
WINDOWS_OFFERED = 35


@dataclass(frozen=True, order=True)
class Window:
    """One hourly pickup window of a place: its day and its position that day."""

    day: datetime.date
    index: int  # 0 = the window starting at the place's ``opens`` hour

    def start(self, place: Place) -> str:
        return f"{place.opens + self.index:02d}:00"

    def end(self, place: Place) -> str:
        return f"{place.opens + self.index + 1:02d}:00"


def windows_per_day(place: Place) -> int:
    return place.closes - place.opens


def first_window(calendar: WorkingCalendar, printed_on: datetime.date) -> Window:
    """The earliest window for a document printed on ``printed_on`` (WIB)."""
    return Window(calendar.next_working_day(printed_on), 0)


def next_window(place: Place, calendar: WorkingCalendar, window: Window) -> Window:
    if window.index + 1 < windows_per_day(place):
        return Window(window.day, window.index + 1)
    return Window(calendar.next_working_day(window.day), 0)


def upcoming(place: Place, calendar: WorkingCalendar, start: Window, count: int) -> list[Window]:
    """``count`` windows from ``start`` on, in order."""
    windows = [start]
    while len(windows) < count:
        windows.append(next_window(place, calendar, windows[-1]))
    return windows


def window_key(place: Place, window: Window) -> str:
    """The id of the window's seat counter."""
    return f"{place.place_id}|{window.day.isoformat()}|{window.start(place)}"


def pointer_fields(window: Window) -> dict:
    """How a place's fill pointer stores a window."""
    return {"day": window.day.isoformat(), "index": window.index}


def pointer_window(doc: dict | None) -> Window | None:
    if not doc:
        return None
    return Window(datetime.date.fromisoformat(doc["day"]), doc["index"])


def search_start(calendar: WorkingCalendar, pointer: Window | None,
                 earliest: Window) -> Window:
    """Where the search for a seat begins: the fill pointer, unless the
    document may not be collected that early (or the pointer lies in the
    past). A pointer on a day closed since it was stored (``CLOSED_DAYS``
    given that day later) begins at the next working day's first window:
    nobody collects a document on a closed day."""
    if pointer is None or pointer < earliest:
        return earliest  # a working day's first window (``first_window``)
    if not calendar.is_working_day(pointer.day):
        return Window(calendar.next_working_day(pointer.day), 0)
    return pointer


def find_seat(place: Place, calendar: WorkingCalendar, pointer: Window | None,
              earliest: Window, taken: Callable[[Window], int]) -> tuple[Window, Window]:
    """The window to seat a document in, and where the fill pointer goes next.

    ``taken(window)`` is how many seats a window holds (one read of its
    counter); it is asked from the search start on and, unless citizens
    filled windows ahead of the pointer, answered below capacity at once.
    """
    window = search_start(calendar, pointer, earliest)
    while (seats := taken(window)) >= place.pickup_capacity:
        window = next_window(place, calendar, window)
    still_open = seats + 1 < place.pickup_capacity
    return window, window if still_open else next_window(place, calendar, window)


def slot_payload(place: Place, window: Window) -> dict:
    """The ``Slot`` of the events (shared/events.py)."""
    return {"place": place.name, "address": place.address, "date": window.day.isoformat(),
            "start": window.start(place), "end": window.end(place)}


def day_slot(place: Place, day: datetime.date) -> dict:
    """A whole opening day at ``place`` as the events' ``Slot``: an officer
    collecting a hand-over list comes at any hour the place is open, and
    takes no citizen's window."""
    first, last = Window(day, 0), Window(day, windows_per_day(place) - 1)
    return {**slot_payload(place, first), "end": last.end(place)}


def slot_record(place: Place, window: Window) -> dict:
    """What a job keeps of its window: the announced slot plus what finds its counter."""
    return {**slot_payload(place, window), "place_id": place.place_id,
            "key": window_key(place, window)}


def requested_window(place: Place, calendar: WorkingCalendar, day: datetime.date,
                     start: str) -> Window | None:
    """The window a citizen asked for (``day``, ``"09:00"``), or ``None`` when
    the place has no such window (a closed day, an hour outside opening time)."""
    if not calendar.is_working_day(day):
        return None
    for index in range(windows_per_day(place)):
        window = Window(day, index)
        if window.start(place) == start:
            return window
    return None


def kept_window(place: Place, calendar: WorkingCalendar, slot: dict | None,
                earliest: Window) -> Window | None:
    """The window of a slot record (``slot_record``) at ``place``, if it is
    one the place still has and not before ``earliest``; else ``None``."""
    if not slot or slot.get("place_id") != place.place_id:
        return None
    window = requested_window(place, calendar, datetime.date.fromisoformat(slot["date"]),
                              slot["start"])
    return window if window is not None and window >= earliest else None


def offered_windows(place: Place, calendar: WorkingCalendar,
                    today: datetime.date) -> list[Window]:
    """The windows a citizen may move to on ``today``, full ones included."""
    return upcoming(place, calendar, first_window(calendar, today), WINDOWS_OFFERED)


def chosen_window(place: Place, calendar: WorkingCalendar, today: datetime.date,
                  day: datetime.date, start: str) -> Window:
    """The window a citizen moves to, if it is one of those offered;
    ``WindowUnavailable`` names ``date`` (a closed day, too early, beyond the
    offered ones) or ``start`` (no window starts then)."""
    window = requested_window(place, calendar, day, start)
    if window is None:
        raise WindowUnavailable("date" if not calendar.is_working_day(day) else "start")
    offered = offered_windows(place, calendar, today)
    if not offered[0] <= window <= offered[-1]:
        raise WindowUnavailable("date")
    return window


@dataclass(frozen=True)
class PickupRules:
    """The places (``shared.offices.PLACES``, capacities as configured) and
    the working-day calendar, as the service's settings read them."""

    places: dict[str, Place]
    calendar: WorkingCalendar

    def place(self, place_id: str) -> Place:
        # a place this Dinas does not know (an older event): the Dinas counter
        return self.places.get(place_id) or self.places[DINAS.place_id]
