"""A recording booking's held notices (quiet hours, a limit) are old news
once the booking is moved or cancelled: booked at 21:30 WIB, moved at
22:00, the "booked for A" held overnight is withdrawn at 06:00 - it went
out with the move's notices, in any order, and could land last."""

from __future__ import annotations

import datetime
from dataclasses import replace

from services.notification.domain import (Finished, finished_by, kinds_replacing, notice_for,
                                          outdated)
from shared.clock import WIB
from shared.events import build_event
from tests.unit.test_notification_domain import filed

CONTACT = {"phone": "+6281234567890", "email": None, "language": "id"}
NIGHT = datetime.datetime(2026, 11, 30, 21, 30, tzinfo=WIB)


def booking_event(event_type: str, appointment_id: str, day: str, at: datetime.datetime,
                  **reason) -> dict:
    event = build_event(event_type, appointment_id=appointment_id,
                        booking_code="REK" + appointment_id[-4:].upper(), place_id="kec-curug",
                        place_name="Kantor Kecamatan Curug",
                        place_address="Jl. Raya Curug No. 1, Kota Serang", day=day,
                        opens="08:00", closes="15:00", contact=CONTACT, **reason)
    event["occurred_at"] = at.isoformat()
    return event


def sms_of(event_type: str, event: dict):
    [sms] = notice_for(event_type, event, CONTACT).messages()
    return sms


def moved_at_ten() -> tuple[dict, list]:
    """Booked for A at 21:30, moved to B at 22:00: the move's events as
    intake emits them (A's end, then B), and the three SMS held."""
    booked_a = booking_event("recording_appointment_booked", "apt-aaaa", "2026-12-02", NIGHT)
    ten = NIGHT + datetime.timedelta(minutes=30)
    ended_a = booking_event("recording_appointment_cancelled", "apt-aaaa", "2026-12-02", ten,
                            reason="replaced")
    booked_b = booking_event("recording_appointment_booked", "apt-bbbb", "2026-12-03",
                             ten + datetime.timedelta(milliseconds=3))
    return ended_a, [sms_of("recording_appointment_booked", booked_a),
                     sms_of("recording_appointment_cancelled", ended_a),
                     sms_of("recording_appointment_booked", booked_b)]


def test_a_held_booked_notice_is_withdrawn_once_its_booking_ended():
    ended_a, (booked_a, cancelled_a, booked_b) = moved_at_ten()
    end = finished_by("recording_appointment_cancelled", ended_a)
    assert end == Finished("apt-aaaa", "recording_appointment_cancelled",
                           NIGHT + datetime.timedelta(minutes=30))
    assert booked_a.may_go_stale and not booked_a.about_an_application
    due = [booked_a, cancelled_a, booked_b]
    # the end's own notice and the new booking's still go
    assert outdated(due, filed(due), {"apt-aaaa": end}) == {
        booked_a.message_id: ("withdrawn", "recording_appointment_cancelled")}


def test_a_later_notice_of_the_same_booking_replaces_its_held_booked_notice():
    """Where the end is not on file, the later notice of the booking is."""
    _, (booked_a, cancelled_a, booked_b) = moved_at_ten()
    assert kinds_replacing(["appointment"]) is None  # any later notice of it
    due = [booked_a, cancelled_a, booked_b]
    assert outdated(due, filed(due), {}) == {
        booked_a.message_id: ("superseded", cancelled_a.message_id)}
    # nothing later of a booking: sent; another booking's notices change nothing
    assert outdated([booked_b], filed(due), {}) == {}
    earlier = replace(cancelled_a, occurred_at=NIGHT - datetime.timedelta(minutes=1))
    assert outdated([booked_a], filed([booked_a, earlier]), {}) == {}


def test_a_cancelled_booking_ends_it_a_booked_one_does_not():
    ended_a, _ = moved_at_ten()
    for reason in ("replaced", "cancelled", "office_closed"):
        assert finished_by("recording_appointment_cancelled",
                           {**ended_a, "reason": reason}).application_id == "apt-aaaa"
    assert finished_by("recording_appointment_booked", ended_a) is None
