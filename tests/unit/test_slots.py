"""Unit tests for services.printing.slots: pickup windows, the calendar and the fill pointer."""

from __future__ import annotations

import dataclasses
import datetime

import pytest

from services.printing.exceptions import WindowUnavailable
from services.printing.slots import (
    WINDOWS_OFFERED,
    PickupRules,
    Window,
    chosen_window,
    find_seat,
    first_window,
    kept_window,
    next_window,
    offered_windows,
    pointer_fields,
    pointer_window,
    requested_window,
    slot_payload,
    slot_record,
    upcoming,
    window_key,
)
from shared.events import SlotSchema
from shared.offices import DINAS, PLACES, WorkingCalendar, place

CURUG = place("kec-curug")
CALENDAR = WorkingCalendar()
WEDNESDAY = datetime.date(2025, 6, 4)
THURSDAY = datetime.date(2025, 6, 5)
FRIDAY = datetime.date(2025, 6, 6)
MONDAY = datetime.date(2025, 6, 9)
TUESDAY = datetime.date(2025, 6, 10)


def starts(windows, place=CURUG):
    return [(w.day, w.start(place)) for w in windows]


def test_place_defaults():
    assert (CURUG.opens, CURUG.closes, CURUG.pickup_capacity) == (8, 15, 40)


def test_from_friday_first_window_is_monday_morning():
    assert first_window(CALENDAR, FRIDAY) == Window(MONDAY, 0)


def test_seven_hourly_windows_per_day_then_next_working_day():
    windows = upcoming(CURUG, CALENDAR, first_window(CALENDAR, FRIDAY), 8)
    assert starts(windows[:7]) == [(MONDAY, f"{h:02d}:00") for h in range(8, 15)]
    assert windows[6].end(CURUG) == "15:00"
    assert windows[7] == Window(TUESDAY, 0)


def test_never_the_same_day():
    assert first_window(CALENDAR, WEDNESDAY) == Window(THURSDAY, 0)


def test_a_public_holiday_and_a_closing_day_are_skipped():
    # Idul Adha 2025 fell on Friday 6 June; 1 June (Pancasila) was a Sunday
    assert not CALENDAR.is_working_day(FRIDAY)
    assert first_window(CALENDAR, THURSDAY) == Window(MONDAY, 0)
    closed_monday = WorkingCalendar.from_config(MONDAY.isoformat())
    assert first_window(closed_monday, THURSDAY) == Window(TUESDAY, 0)
    assert next_window(CURUG, closed_monday, Window(THURSDAY, 6)) == Window(TUESDAY, 0)


def test_custom_opening_hours():
    mpp = dataclasses.replace(CURUG, opens=9, closes=12)
    windows = upcoming(mpp, CALENDAR, first_window(CALENDAR, THURSDAY), 4)
    assert starts(windows, mpp) == [(MONDAY, "09:00"), (MONDAY, "10:00"), (MONDAY, "11:00"),
                                    (TUESDAY, "09:00")]


def test_no_horizon_a_backlog_of_a_year_still_gets_windows():
    windows = upcoming(CURUG, CALENDAR, Window(MONDAY, 0), 7 * 300)
    assert windows[-1].day > MONDAY + datetime.timedelta(days=365)
    assert all(CALENDAR.is_working_day(w.day) for w in windows)
    assert windows == sorted(windows)


def test_find_seat_starts_at_the_pointer_and_reads_one_counter():
    small = dataclasses.replace(CURUG, pickup_capacity=3)
    asked = []

    def taken(window):
        asked.append(window)
        return 1

    pointer = Window(datetime.date(2026, 3, 2), 4)  # far ahead: a big backlog
    window, fill = find_seat(small, CALENDAR, pointer, Window(MONDAY, 0), taken)
    assert (window, fill, asked) == (pointer, pointer, [pointer])
    # the last seat moves the pointer on
    window, fill = find_seat(small, CALENDAR, pointer, Window(MONDAY, 0), lambda w: 2)
    assert (window, fill) == (pointer, Window(pointer.day, 5))


def test_find_seat_jumps_a_pointer_left_in_the_past_and_skips_windows_filled_ahead():
    small = dataclasses.replace(CURUG, pickup_capacity=2)
    stale = Window(datetime.date(2025, 1, 6), 3)
    full = {Window(MONDAY, 0), Window(MONDAY, 1)}  # citizens moved into these
    window, fill = find_seat(small, CALENDAR, stale, first_window(CALENDAR, THURSDAY),
                             lambda w: 2 if w in full else 0)
    assert (window, fill) == (Window(MONDAY, 2), Window(MONDAY, 2))


def test_find_seat_never_starts_on_a_day_closed_since_the_pointer_stopped_there():
    """Outside review: ``CLOSED_DAYS`` gained the day the fill pointer was
    on, and new prints were booked for windows of that closed day."""
    closed_tuesday = WorkingCalendar.from_config(TUESDAY.isoformat())
    pointer = Window(TUESDAY, 3)  # stored while Tuesday was a working day
    window, fill = find_seat(CURUG, closed_tuesday, pointer,
                             first_window(closed_tuesday, THURSDAY), lambda w: 0)
    assert window == fill == Window(datetime.date(2025, 6, 11), 0)  # Wednesday, 08:00


def test_requested_window():
    assert requested_window(CURUG, CALENDAR, TUESDAY, "10:00") == Window(TUESDAY, 2)
    assert requested_window(CURUG, CALENDAR, TUESDAY, "15:00") is None  # closed by then
    assert requested_window(CURUG, CALENDAR, datetime.date(2025, 6, 7), "09:00") is None


def test_a_reprint_keeps_its_window_only_while_it_lies_ahead_at_its_place():
    earliest = first_window(CALENDAR, WEDNESDAY)  # Thursday 08:00
    told = slot_record(CURUG, Window(MONDAY, 2))
    assert kept_window(CURUG, CALENDAR, told, earliest) == Window(MONDAY, 2)
    assert kept_window(CURUG, CALENDAR, slot_record(CURUG, earliest), earliest) == earliest
    # past (printed on Monday: Tuesday is the earliest), another place's, none
    assert kept_window(CURUG, CALENDAR, told, first_window(CALENDAR, MONDAY)) is None
    assert kept_window(DINAS, CALENDAR, told, earliest) is None
    assert kept_window(CURUG, CALENDAR, None, earliest) is None
    # a window the place no longer has (its hours changed since): a new one
    assert kept_window(CURUG, CALENDAR, {**told, "start": "23:00"}, earliest) is None


def test_keys_payloads_and_pointer_fields():
    window = Window(MONDAY, 0)
    assert window_key(CURUG, window) == "kec-curug|2025-06-09|08:00"
    payload = slot_payload(CURUG, window)
    assert payload == {"place": "Kantor Kecamatan Curug",
                       "address": "Jl. Raya Curug No. 1, Kota Serang",
                       "date": "2025-06-09", "start": "08:00", "end": "09:00"}
    assert SlotSchema().load(payload) == payload
    assert slot_record(CURUG, window) == {**payload, "place_id": "kec-curug",
                                          "key": "kec-curug|2025-06-09|08:00"}
    assert pointer_window(pointer_fields(window)) == window
    assert pointer_window(None) is None


def test_rules_fall_back_to_the_dinas_for_an_unknown_place():
    rules = PickupRules(PLACES, CALENDAR)
    assert rules.place("kec-curug") is CURUG
    assert rules.place("nowhere") is DINAS


def test_a_citizen_chooses_among_the_windows_offered_and_no_further():
    offered = offered_windows(CURUG, CALENDAR, WEDNESDAY)
    assert len(offered) == WINDOWS_OFFERED
    assert offered[0] == Window(THURSDAY, 0)
    last = offered[-1]
    assert chosen_window(CURUG, CALENDAR, WEDNESDAY, THURSDAY, "08:00") == offered[0]
    assert chosen_window(CURUG, CALENDAR, WEDNESDAY, last.day, last.start(CURUG)) == last


@pytest.mark.parametrize("day, start, field", [
    (datetime.date(9999, 12, 31), "10:00", "date"),  # a Friday, open, but far beyond
    (datetime.date(2027, 6, 3), "10:00", "date"),
    (WEDNESDAY, "10:00", "date"),                     # today: before the next working day
    (FRIDAY, "10:00", "date"),                        # Idul Adha
    (THURSDAY, "17:00", "start"),                     # after closing
])
def test_a_window_not_offered_is_refused_naming_the_field(day, start, field):
    with pytest.raises(WindowUnavailable) as refused:
        chosen_window(CURUG, CALENDAR, WEDNESDAY, day, start)
    assert list(refused.value.fields) == [field]


def test_the_window_after_the_last_offered_is_refused():
    after = next_window(CURUG, CALENDAR, offered_windows(CURUG, CALENDAR, WEDNESDAY)[-1])
    with pytest.raises(WindowUnavailable):
        chosen_window(CURUG, CALENDAR, WEDNESDAY, after.day, after.start(CURUG))
