"""Places and the working-day calendar (no I/O)."""

import datetime

from shared.offices import DINAS, PLACES, WorkingCalendar, office_for_kecamatan
from shared.wilayah import load_wilayah


def test_weekends_public_holidays_and_local_closing_days_are_skipped():
    calendar = WorkingCalendar.from_config("2026-12-24")
    # Wed 2026-12-23 -> Thu 24 closed locally (cuti bersama) -> Fri 25 Christmas
    # -> weekend -> Mon 28
    assert calendar.next_working_day(datetime.date(2026, 12, 23)) == datetime.date(2026, 12, 28)
    # Independence Day, Monday 17 August 2026
    assert not calendar.is_working_day(datetime.date(2026, 8, 17))
    assert calendar.next_working_day(datetime.date(2026, 8, 14)) == datetime.date(2026, 8, 18)


def test_working_days_run_on_in_order():
    days = WorkingCalendar().working_days(datetime.date(2026, 12, 30))
    # New Year's Day, a weekend, and Tuesday 5 January 2027 (Isra' Mi'raj) are skipped
    assert [next(days) for _ in range(3)] == [
        datetime.date(2026, 12, 31), datetime.date(2027, 1, 4), datetime.date(2027, 1, 6)]


def test_every_kecamatan_office_is_in_kota_serang_by_the_region_list():
    wilayah = load_wilayah()
    offices = [place for place in PLACES.values() if not place.is_dinas]
    assert len(offices) == 6 and DINAS.is_dinas
    for office in offices:
        assert wilayah.kecamatan(office.kecamatan_code) in office.name
        assert office.kecamatan_code.startswith("3673")
    assert office_for_kecamatan("367304").name == "Kantor Kecamatan Curug"
    assert office_for_kecamatan("320101") is None
