"""Recording bookings against the real database server (``AppointmentStore``):
an operator closes a place's day (outside review: a cuti bersama added to
CLOSED_DAYS after people booked left their bookings standing, nobody told);
a move to the place and day the booking already has moves nothing (a
double tap); and every read a booking makes of the bookings goes through an
index (the passed-day clean-up with ``day`` in its filter scanned them all
on the local server)."""

from __future__ import annotations

import datetime

import pytest
from pymongo import monitoring

from services.intake import appointments
from services.intake.store import ApplicationStore
from shared.clock import today_wib
from shared.offices import WorkingCalendar, place
from tests.helpers import random_kk, random_mobile, random_nik, store_on_a_database_of_its_own

CURUG, SERANG = place("kec-curug"), place("kec-serang")
CALENDAR = WorkingCalendar()


class Filters(monitoring.CommandListener):
    """The filters of the finds and updates sent to the bookings."""

    def __init__(self):
        self.seen: list[dict] = []

    def started(self, event):
        command = event.command
        if command.get("find") == "recording_appointments":
            self.seen.append(command.get("filter", {}))
        if command.get("update") == "recording_appointments":
            self.seen.extend(update["q"] for update in command.get("updates", []))

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


@pytest.fixture
def watched(backing):
    """A store on a database of its own, and the filters its client sent."""
    filters = Filters()
    for store in store_on_a_database_of_its_own(backing, ApplicationStore, "intake_day_closed",
                                                filters):  # one, dropped after the test
        ApplicationStore.ensure_indexes(store.db)
        yield store, filters


def working_day(after: int) -> datetime.date:
    return next(CALENDAR.working_days(today_wib() + datetime.timedelta(days=after)))


def book(store, nik: str, day: datetime.date, where=CURUG, replace: bool = False,
         phone: str | None = None) -> dict:
    request = {"nik": nik, "kk_number": random_kk(), "full_name": "Rina Marlina",
               "phone": phone or random_mobile(), "email": None, "language": "id", "day": day}
    return store.book_recording(appointments.new_booking(request, where, None), where,
                                CALENDAR, today_wib(), replace)


def told(store, reason: str) -> list[dict]:
    return [row["payload"] for row in store.db.outbox.find(
        {"event_type": "recording_appointment_cancelled"}) if row["payload"]["reason"] == reason]


def test_an_operator_closes_a_day_its_bookings_end_told_once_and_it_takes_no_more(watched):
    store, _ = watched
    day = working_day(5)
    standing = [book(store, random_nik(year=2007), day) for _ in range(3)]
    elsewhere = book(store, random_nik(year=2007), day, SERANG)
    moved = book(store, random_nik(year=2007), working_day(20))
    cancelled = store.cancel_recording(moved["booking_code"], moved["nik"], today_wib())

    closed = store.close_day(CURUG, day.isoformat(), "office_closed", "operator-test")

    assert closed == {"cancelled_now": 3, "cancelled": 3}
    events = told(store, "office_closed")
    assert sorted(e["appointment_id"] for e in events) == sorted(b["_id"] for b in standing)
    assert {e["contact"]["phone"] for e in events} == {b["contact"]["phone"] for b in standing}
    for booking in standing:
        row = store.db.recording_appointments.find_one({"_id": booking["_id"]})
        assert (row["status"], row["active"], row["end_reason"]) == (
            "cancelled", False, "office_closed")
        with pytest.raises(appointments.BookingEnded) as ended:
            store.cancel_recording(booking["booking_code"], booking["nik"], today_wib())
        assert "kantor tutup" in ended.value.message
    # another place's day, and a booking ended before, are left as they were
    assert store.db.recording_appointments.find_one({"_id": elsewhere["_id"]})["active"]
    assert cancelled["status"] == "cancelled" and "end_reason" not in \
        store.db.recording_appointments.find_one({"_id": cancelled["_id"]})

    # sent again: nothing more ended, nobody told twice
    assert store.close_day(CURUG, day.isoformat(), "office_closed", "operator-test") == {
        "cancelled_now": 0, "cancelled": 3}
    assert len(told(store, "office_closed")) == 3

    # the day takes no booking (its places were given back), and counts as full
    with pytest.raises(appointments.DayClosed) as refused:
        book(store, random_nik(year=2007), day)
    assert refused.value.next_free and refused.value.next_free > day
    assert store.booked_counts(CURUG, [day]) == {day.isoformat(): CURUG.recording_capacity}
    assert store.booked_counts(SERANG, [day]) == {day.isoformat(): 1}
    listed = store.place_bookings(CURUG.place_id, day.isoformat(), None, 10)
    assert [row["_id"] for row in listed] == [b["_id"] for b in standing]
    assert store.place_bookings(CURUG.place_id, day.isoformat(), "booked", 10) == []


def test_a_day_closed_before_anyone_booked_takes_no_booking(watched):
    store, _ = watched
    day = working_day(8)
    assert store.close_day(CURUG, day.isoformat(), "office_closed", "operator-test") == {
        "cancelled_now": 0, "cancelled": 0}
    with pytest.raises(appointments.DayClosed):
        book(store, random_nik(year=2007), day)
    assert book(store, random_nik(year=2007), day, SERANG)["status"] == "booked"


def test_a_move_to_the_booking_s_own_place_and_day_moves_nothing(watched):
    """Outside review: a double-tapped move (``replace`` twice, no key or a
    new key per tap) moved the booking again - three notices."""
    store, _ = watched
    nik = random_nik(year=2007)
    first = book(store, nik, working_day(3))
    moved = book(store, nik, working_day(10), replace=True)
    with pytest.raises(appointments.SameBooking) as again:
        book(store, nik, working_day(10), replace=True)
    assert again.value.booking["_id"] == moved["_id"]
    rows = {row["_id"]: row for row in store.db.recording_appointments.find({"nik": nik})}
    assert set(rows) == {first["_id"], moved["_id"]} and rows[moved["_id"]]["active"]
    assert [e["appointment_id"] for e in told(store, "replaced")] == [first["_id"]]
    # another day, or another place on that day, still moves it
    assert book(store, nik, working_day(10), SERANG, replace=True)["place_id"] == "kec-serang"


def test_every_read_of_the_bookings_a_booking_makes_goes_through_an_index(watched):
    store, filters = watched
    nik = random_nik(year=2007)
    # a booking of the NIK whose day has passed: the next one frees the NIK of it
    past = {**appointments.new_booking(
        {"nik": nik, "kk_number": random_kk(), "full_name": "Rina Marlina",
         "phone": random_mobile(), "email": None, "language": "id",
         "day": today_wib() - datetime.timedelta(days=3)}, CURUG, None)}
    store.db.recording_appointments.insert_one(past)
    filters.seen.clear()
    book(store, nik, working_day(4))
    book(store, nik, working_day(12), replace=True)
    assert not store.db.recording_appointments.find_one({"_id": past["_id"]})["active"]
    assert filters.seen
    # by ``_id`` (a guarded update_one: ``_end``), or through an index
    for query in [query for query in filters.seen if "_id" not in query]:
        plan = str(store.db.recording_appointments.find(query).explain())
        assert "COLLSCAN" not in plan, (query, plan)
