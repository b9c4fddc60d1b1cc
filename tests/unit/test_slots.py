"""Unit tests for services.printing.slots (pickup windows)."""

from __future__ import annotations

import datetime
import itertools

from services.printing.slots import (
    MAX_DAYS_AHEAD,
    PickupPlace,
    candidate_windows,
    is_working_day,
    slot_payload,
    window_key,
)
from shared.events import SlotSchema

CURUG = PickupPlace("kec-curug", "Kantor Kecamatan Curug", "Jl. Raya Curug No. 1, Kota Serang")
WEDNESDAY = datetime.date(2025, 6, 4)
THURSDAY = datetime.date(2025, 6, 5)
FRIDAY = datetime.date(2025, 6, 6)
MONDAY = datetime.date(2025, 6, 9)
TUESDAY = datetime.date(2025, 6, 10)


def first(n, place=CURUG, printed_on=FRIDAY, holidays=frozenset()):
    return list(itertools.islice(candidate_windows(place, printed_on, holidays), n))


def test_place_defaults():
    assert (CURUG.opens, CURUG.closes, CURUG.capacity) == (8, 15, 40)


def test_is_working_day():
    assert is_working_day(FRIDAY)
    assert not is_working_day(datetime.date(2025, 6, 7))  # Saturday
    assert not is_working_day(datetime.date(2025, 6, 8))  # Sunday
    assert not is_working_day(MONDAY, frozenset({MONDAY}))


def test_from_friday_first_window_is_monday_morning():
    assert first(1) == [(MONDAY, "08:00", "09:00")]


def test_seven_hourly_windows_per_day_then_next_day():
    windows = first(8)
    assert windows[:7] == [(MONDAY, f"{h:02d}:00", f"{h + 1:02d}:00") for h in range(8, 15)]
    assert windows[6] == (MONDAY, "14:00", "15:00")
    assert windows[7] == (TUESDAY, "08:00", "09:00")


def test_from_wednesday_next_day_is_thursday_never_same_day():
    windows = first(7, printed_on=WEDNESDAY)
    assert {day for day, _, _ in windows} == {THURSDAY}
    assert windows[0] == (THURSDAY, "08:00", "09:00")


def test_holiday_is_skipped():
    assert first(1, printed_on=WEDNESDAY, holidays=frozenset({THURSDAY})) == [
        (FRIDAY, "08:00", "09:00")]
    assert first(1, holidays=frozenset({MONDAY})) == [(TUESDAY, "08:00", "09:00")]


def test_custom_opening_hours():
    place = PickupPlace("mpp", "Mal Pelayanan Publik Kota Serang", "Jl. Jend. Sudirman",
                        opens=9, closes=12)
    assert first(4, place=place) == [(MONDAY, "09:00", "10:00"), (MONDAY, "10:00", "11:00"),
                                     (MONDAY, "11:00", "12:00"), (TUESDAY, "09:00", "10:00")]


def test_search_is_bounded_and_only_on_working_days():
    windows = list(candidate_windows(CURUG, FRIDAY))
    assert MAX_DAYS_AHEAD == 20
    # Sat 7 June .. Thu 26 June 2025: 14 working days
    assert len(windows) == 14 * 7
    assert windows[-1] == (datetime.date(2025, 6, 26), "14:00", "15:00")
    assert all(day.weekday() < 5 for day, _, _ in windows)
    assert windows == sorted(windows)


def test_window_key_and_slot_payload():
    assert window_key(CURUG, MONDAY, "08:00") == "kec-curug|2025-06-09|08:00"
    payload = slot_payload(CURUG, MONDAY, "08:00", "09:00")
    assert payload == {"place": "Kantor Kecamatan Curug",
                       "address": "Jl. Raya Curug No. 1, Kota Serang",
                       "date": "2025-06-09", "start": "08:00", "end": "09:00"}
    assert SlotSchema().load(payload) == payload
