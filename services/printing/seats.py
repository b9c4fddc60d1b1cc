"""Pickup windows booked within one transaction, read and written together.

A station's batch report books a window for each counter pickup in it. Each
place's fill pointer and each window's count is read once (the first time a
booking needs it), the bookings are counted in memory, and ``flush`` writes
them: one ``$inc`` per window, all in one command, and each place's pointer
once if it moved. A batch of twenty prints at one place costs about five
commands instead of four per print; a single print three, unless it filled
its window (then four). Everything is
read and written in the caller's snapshot transaction: two transactions
booking the same window conflict at the write and one retries.
"""

from __future__ import annotations

import collections
import datetime

from pymongo import UpdateOne

from .slots import (PickupRules, find_seat, first_window, kept_window, pointer_fields,
                    pointer_window, slot_record, window_key)


class Seats:
    def __init__(self, db, session, rules: PickupRules):
        self.db, self.session, self.rules = db, session, rules
        self._pointers: dict[str, object] = {}  # place id -> fill pointer (a Window or None)
        self._stored: dict[str, object] = {}  # place id -> the pointer as read
        self._counts: dict[str, int] = {}  # window key -> seats taken when read
        self._booked: collections.Counter = collections.Counter()  # window key -> booked here

    def reserve(self, place_id: str, printed_on: datetime.date,
                keep: dict | None = None) -> dict:
        """The earliest window with a seat at the place from the next working
        day after ``printed_on``, booked; its slot record. ``keep``: a
        reprint's window announced for the print it replaced (its seat given
        back at the re-queue) - booked again if it is at this place, still
        ahead of the earliest window and has a seat: the citizen keeps the
        window they were told, or chose (outside audit: a reprint dropped it)."""
        place = self.rules.place(place_id)
        earliest = first_window(self.rules.calendar, printed_on)
        kept = kept_window(place, self.rules.calendar, keep, earliest) if keep else None
        if kept is not None and self._taken(window_key(place, kept)) < place.pickup_capacity:
            self._booked[window_key(place, kept)] += 1
            return slot_record(place, kept)
        if place_id not in self._pointers:
            self._pointers[place_id] = self._stored[place_id] = pointer_window(
                self.db.pickup_fill.find_one({"_id": place_id}, session=self.session))
        window, fill = find_seat(place, self.rules.calendar, self._pointers[place_id], earliest,
                                 lambda candidate: self._taken(window_key(place, candidate)))
        self._booked[window_key(place, window)] += 1
        self._pointers[place_id] = fill
        return slot_record(place, window)

    def _taken(self, key: str) -> int:
        if key not in self._counts:
            row = self.db.pickup_windows.find_one({"_id": key}, session=self.session)
            self._counts[key] = (row or {}).get("count", 0)
        return self._counts[key] + self._booked[key]

    def flush(self) -> None:
        """Write the bookings and the pointers that moved: a booking that
        leaves its window open leaves the pointer where it was, and writes
        nothing to it (the window's own counter is what two transactions
        booking it conflict on)."""
        if self._booked:
            self.db.pickup_windows.bulk_write(
                [UpdateOne({"_id": key}, {"$inc": {"count": seats}}, upsert=True)
                 for key, seats in self._booked.items()], session=self.session)
        for place_id in sorted(self._pointers):
            if self._pointers[place_id] != self._stored[place_id]:
                self.db.pickup_fill.update_one({"_id": place_id},
                                               {"$set": pointer_fields(self._pointers[place_id])},
                                               upsert=True, session=self.session)
                self._stored[place_id] = self._pointers[place_id]
        for key, seats in self._booked.items():
            self._counts[key] = self._counts.get(key, 0) + seats
        self._booked.clear()
