"""Recording bookings that end (``AppointmentStore``), against the real
database server, among a thousand past bookings: moving one
(``replace``) and cancelling one end it with a guarded ``update_one`` -
never a findAndModify, which the local server answers with a scan of every
booking ever made (shared/store.py) - and a booking ended by a concurrent
request is still refused, its day's place given back once."""

from __future__ import annotations

import datetime
import uuid

import pytest

from services.intake import appointments
from services.intake.exceptions import IdempotencyKeyReused
from services.intake.store import ApplicationStore
from shared.clock import today_wib
from shared.offices import WorkingCalendar, place
from tests.helpers import (CommandCounter, at_once, random_kk, random_mobile, random_nik,
                           store_on_a_database_of_its_own)

CURUG = place("kec-curug")
CALENDAR = WorkingCalendar()
PAST_BOOKINGS = 1000


@pytest.fixture
def counted(backing):
    """A store over a thousand past bookings, and its client's commands."""
    counter = CommandCounter()
    stores = store_on_a_database_of_its_own(backing, ApplicationStore, "intake_bookings",
                                            counter)
    store = next(stores)
    ApplicationStore.ensure_indexes(store.db)
    store.db.recording_appointments.insert_many([
        {**appointments.new_booking(request(random_nik(year=2007)), CURUG, None),
         "day": "2025-01-06", "status": "cancelled", "active": False}
        for _ in range(PAST_BOOKINGS)])
    yield store, counter
    stores.close()


def request(nik: str, days_ahead: int = 10) -> dict:
    return {"nik": nik, "kk_number": random_kk(), "full_name": "Rina Marlina",
            "phone": random_mobile(), "email": None, "language": "id",
            "day": today_wib() + datetime.timedelta(days=days_ahead)}


def book(store: ApplicationStore, nik: str, days_ahead: int = 10, replace: bool = False):
    return store.book_recording(appointments.new_booking(request(nik, days_ahead), CURUG, None),
                                CURUG, CALENDAR, today_wib(), replace)


def booked(store: ApplicationStore, booking: dict) -> int:
    day = store.db.recording_days.find_one({"_id": f"{CURUG.place_id}:{booking['day']}"})
    return day["booked"] if day else 0


def cancelled_events(store: ApplicationStore, booking: dict) -> list[dict]:
    return [row["payload"] for row in store.db.outbox.find(
        {"event_type": "recording_appointment_cancelled"})
        if row["payload"]["appointment_id"] == booking["_id"]]


def test_moving_and_cancelling_a_booking_end_it_without_a_find_and_modify(counted):
    store, counter = counted
    nik = random_nik(year=2007)
    first = book(store, nik)
    counter.commands.clear()
    moved = book(store, nik, days_ahead=11, replace=True)
    ended = store.db.recording_appointments.find_one({"_id": first["_id"]})
    assert (ended["status"], ended["active"], ended["replaced_by"]) == (
        "replaced", False, moved["_id"])
    assert (booked(store, first), booked(store, moved)) == (0, 1)
    [told] = cancelled_events(store, first)
    assert told["reason"] == "replaced"
    cancelled = store.cancel_recording(moved["booking_code"], nik, today_wib())
    assert (cancelled["_id"], cancelled["status"], cancelled["active"]) == (
        moved["_id"], "cancelled", False)
    assert booked(store, moved) == 0 and len(cancelled_events(store, moved)) == 1
    assert "findAndModify" not in counter.commands, counter.commands
    # the NIK's upcoming booking is found through its (partial) index
    plan = store.db.recording_appointments.find({"nik": nik, "active": True}).explain()
    assert "COLLSCAN" not in str(plan) and "one_upcoming_per_nik" in str(plan)
    with pytest.raises(appointments.BookingEnded):
        store.cancel_recording(moved["booking_code"], nik, today_wib())


def test_a_booking_cancelled_by_many_requests_at_once_ends_once(counted):
    store, _ = counted
    nik = random_nik(year=2007)
    booking = book(store, nik)
    answers = at_once(6, lambda n: store.cancel_recording(booking["booking_code"], nik,
                                                          today_wib()))
    assert [a["_id"] for a in answers if isinstance(a, dict)] == [booking["_id"]], answers
    refused = [a for a in answers if not isinstance(a, dict)]
    assert len(refused) == 5 and all(isinstance(a, appointments.BookingEnded) for a in refused)
    assert booked(store, booking) == 0 and len(cancelled_events(store, booking)) == 1


def test_moves_at_once_to_one_day_move_the_booking_once(counted):
    """A move tapped four times at once: one moves the booking, the others
    (the same place and day) are answered with it - nothing moved again."""
    store, _ = counted
    nik = random_nik(year=2007)
    first = book(store, nik)
    moves = at_once(4, lambda n: book(store, nik, days_ahead=12, replace=True))
    [moved] = [move for move in moves if isinstance(move, dict)]
    repeats = [move for move in moves if not isinstance(move, dict)]
    assert len(repeats) == 3 and all(isinstance(r, appointments.SameBooking)
                                     and r.booking["_id"] == moved["_id"] for r in repeats), moves
    [standing] = store.db.recording_appointments.find({"nik": nik, "active": True})
    assert standing["_id"] == moved["_id"]
    [ended] = store.db.recording_appointments.find({"nik": nik, "active": False})
    assert (ended["_id"], ended["status"]) == (first["_id"], "replaced")
    assert (booked(store, first), booked(store, standing)) == (0, 1)
    assert len(cancelled_events(store, ended)) == 1


def test_a_key_sent_with_another_booking_is_refused_and_moves_nothing(counted):
    """Outside review: a booking's Idempotency-Key sent with a move to
    another day (``replace``) was answered with the first booking, nothing
    moved. Refused now, before anything is written; the same request again
    (its contact corrected) still gets the first booking."""
    store, _ = counted
    key, asked = f"rek-{uuid.uuid4().hex}", {**request(random_nik(year=2007)),
                                             "place_id": CURUG.place_id, "replace": False,
                                             "marital_status": "belum_kawin"}
    first = store.book_recording(appointments.new_booking(asked, CURUG, key), CURUG, CALENDAR,
                                 today_wib())
    moved = {**asked, "day": asked["day"] + datetime.timedelta(days=1), "replace": True}
    with pytest.raises(IdempotencyKeyReused):
        store.book_recording(appointments.new_booking(moved, CURUG, key), CURUG, CALENDAR,
                             today_wib(), replace=True)
    with pytest.raises(IdempotencyKeyReused):
        store.booking_by_key(key, moved)
    retried = {**asked, "phone": random_mobile()}
    again = store.book_recording(appointments.new_booking(retried, CURUG, key), CURUG, CALENDAR,
                                 today_wib())
    assert again["_id"] == store.booking_by_key(key, retried)["_id"] == first["_id"]
    [stored] = store.db.recording_appointments.find({"nik": asked["nik"]})
    assert (stored["day"], stored["status"], booked(store, first)) == (
        first["day"], "booked", 1)
