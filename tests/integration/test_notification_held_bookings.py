"""A recording booking's notices held by the quiet hours, against the real
broker, database server and SMS sandbox (notification in-process, its clock
moved as in test_notification_delivery's quiet-hours tests).

Outside review: booked at 21:30 WIB, moved (``replace``) or cancelled at
22:00 - at 06:00 every held SMS went, in no guaranteed order, and a stale
"booked for A" could land last. Now the "booked" of a booking that ended
since is withdrawn (the delivery log says why), and what is due at once
goes in the order its events happened.
"""

from __future__ import annotations

import datetime
import uuid

from shared.clock import WIB
from shared.events import build_event
from tests.helpers import eventually, publish
from tests.integration.test_notification_delivery import (FakeClock, citizen, mails_to,
                                                          message_row, sms_to,
                                                          start_notification)

CURUG = {"place_id": "kec-curug", "place_name": "Kantor Kecamatan Curug",
         "place_address": "Jl. Raya Curug No. 1, Kota Serang", "opens": "08:00",
         "closes": "15:00"}
NIGHT = datetime.datetime(2026, 11, 30, 21, 30, tzinfo=WIB)
MORNING = datetime.datetime(2026, 12, 1, 6, 0, 1, tzinfo=WIB)


def booking(contact: dict, day: str) -> dict:
    appointment_id = uuid.uuid4().hex
    return {**CURUG, "appointment_id": appointment_id, "day": day, "contact": contact,
            "booking_code": "REK" + appointment_id[:8].upper()}


def publish_event(backing, event_type: str, event: dict) -> None:
    publish(backing.amqp_uri, "intake.events", event_type, event)


def held(mongo, database: str, event: dict) -> bool:
    return (message_row(mongo, database, event, "sms") or {}).get("status") == "held"


def booked_at_half_past_nine(backing, mongo, database: str, contact: dict) -> tuple[dict, dict]:
    first = booking(contact, "2026-12-02")
    booked = build_event("recording_appointment_booked", **first)
    publish_event(backing, "recording_appointment_booked", booked)
    eventually(lambda: held(mongo, database, booked), what="the booked SMS held")
    return first, booked


def final(mongo, database: str, events: list[dict]) -> list[dict] | None:
    rows = [message_row(mongo, database, event, "sms") for event in events]
    return rows if all(row["status"] not in ("held", "pending") for row in rows) else None


def test_a_booking_moved_at_ten_sends_the_move_at_six_never_the_old_booking(
        backing, container_factory, mongo):
    clock = FakeClock(NIGHT)
    database = start_notification(backing, container_factory, clock=clock,
                                  QUIET_HOURS="21:00-06:00")
    contact = citizen()
    first, booked_a = booked_at_half_past_nine(backing, mongo, database, contact)

    clock.now = NIGHT + datetime.timedelta(minutes=30)
    # intake's move: A's end, then B (one transaction, in this order); each
    # event type has its queue, so B may reach notification first
    ended_a = build_event("recording_appointment_cancelled", **first, reason="replaced")
    second = booking(contact, "2026-12-03")
    booked_b = build_event("recording_appointment_booked", **second)
    publish_event(backing, "recording_appointment_booked", booked_b)
    eventually(lambda: held(mongo, database, booked_b), what="B's SMS held")
    publish_event(backing, "recording_appointment_cancelled", ended_a)
    eventually(lambda: held(mongo, database, ended_a), what="A's end held")
    eventually(lambda: mails_to(backing, contact["email"]), what="A's end by e-mail, at once")
    assert sms_to(backing, contact["phone"]) == []

    clock.now = MORNING
    rows = eventually(lambda: final(mongo, database, [booked_a, ended_a, booked_b]),
                      what="the held SMS released")
    assert [(row["status"], row.get("dropped_because")) for row in rows] == [
        ("withdrawn", "recording_appointment_cancelled"), ("sent", None), ("sent", None)]
    assert rows[0]["attempts"] == [] and "held_reason" not in rows[0]
    texts = [text["message"] for text in sms_to(backing, contact["phone"])]
    # the end of A first, the booking that stands last
    assert len(texts) == 2 and first["booking_code"] in texts[0], texts
    assert second["booking_code"] in texts[1] and "diganti" not in texts[1], texts


def test_a_booking_cancelled_at_ten_sends_only_the_cancellation_at_six(
        backing, container_factory, mongo):
    clock = FakeClock(NIGHT)
    database = start_notification(backing, container_factory, clock=clock,
                                  QUIET_HOURS="21:00-06:00")
    contact = citizen(email=False)
    first, booked = booked_at_half_past_nine(backing, mongo, database, contact)

    clock.now = NIGHT + datetime.timedelta(minutes=30)
    cancelled = build_event("recording_appointment_cancelled", **first, reason="cancelled")
    publish_event(backing, "recording_appointment_cancelled", cancelled)
    eventually(lambda: held(mongo, database, cancelled), what="the cancellation held")

    clock.now = MORNING
    rows = eventually(lambda: final(mongo, database, [booked, cancelled]),
                      what="the held SMS released")
    assert [(row["status"], row.get("dropped_because")) for row in rows] == [
        ("withdrawn", "recording_appointment_cancelled"), ("sent", None)]
    [text] = eventually(lambda: sms_to(backing, contact["phone"]), what="the cancellation")
    assert "dibatalkan" in text["message"] and first["booking_code"] in text["message"]
