"""Recording bookings an operator cancels by closing a place's day, and a
booking's words (``appointments``, notification's texts): no I/O."""

from __future__ import annotations

import datetime

import pytest

from services.intake import appointments
from services.intake.exceptions import IdempotencyKeyReused
from shared.errors import ValidationFailed
from shared.events import build_event
from shared.offices import place
from tests.unit.test_notification_texts import CURUG, render

TODAY = datetime.date(2026, 12, 7)
NOW = datetime.datetime(2026, 12, 7, 2, 0, tzinfo=datetime.timezone.utc)


def booking() -> dict:
    request = {"nik": "3673056304090006", "kk_number": "3673051506190004",
               "full_name": "Nur Fitriani", "phone": "+6281234567890", "email": None,
               "language": "id", "day": datetime.date(2027, 1, 4)}
    return appointments.new_booking(request, place("kec-curug"), None)


def test_a_booking_cancelled_for_a_closed_office_says_so_to_its_contact_and_the_citizen():
    cancelled = {**booking(), **appointments.ended("cancelled", NOW, reason="office_closed")}
    event = build_event("recording_appointment_cancelled",
                        **appointments.cancelled_event(cancelled, place("kec-curug")))
    assert event["reason"] == "office_closed"
    with pytest.raises(appointments.BookingEnded) as ended:
        appointments.refuse_unless_cancellable(cancelled, TODAY)
    assert ended.value.to_body("en")["error"]["message"] == (
        "This recording appointment no longer stands: cancelled: the office is closed that day.")
    # a citizen's own cancel still says only "cancelled"
    own = {**booking(), **appointments.ended("cancelled", NOW)}
    assert appointments.cancelled_event(own, place("kec-curug"))["reason"] == "cancelled"


@pytest.mark.parametrize("lang, words", [("id", "dibatalkan karena kantor tutup hari itu"),
                                         ("en", "cancelled: the office is closed that day")])
def test_the_notice_of_a_closed_office_says_why_and_to_book_another_day(lang, words):
    texts = render("appointment_cancelled", {**CURUG, "reason": "office_closed"}, lang)
    assert words in texts.sms and "REK8MW8TFZG" in texts.sms
    assert ("Bukan Anda" not in texts.sms) and ("Not you" not in texts.sms)
    assert ("kantor tutup" if lang == "id" else "office closed") in texts.subject
    assert ("buat jadwal di hari lain" if lang == "id" else "book another day") in texts.text


def test_a_closed_day_is_refused_naming_day_and_the_next_day_with_room():
    body = appointments.DayClosed(datetime.date(2027, 1, 5)).to_body("id")["error"]
    assert (body["code"], body["next_free_day"]) == ("day_closed", "2027-01-05")
    assert body["fields"]["day"] == ["Kantor tutup hari itu. Hari kosong berikutnya: 2027-01-05."]
    assert appointments.DayFull(None).to_body("en")["error"]["code"] == "day_full"


def test_an_operator_closes_today_or_later_only():
    appointments.refuse_day_gone_by(TODAY, TODAY)
    with pytest.raises(ValidationFailed) as refused:
        appointments.refuse_day_gone_by(TODAY - datetime.timedelta(days=1), TODAY)
    assert list(refused.value.fields) == ["day"]


def test_a_move_to_the_same_place_and_day_repeats_the_booking():
    stored = booking()
    assert appointments.repeats(stored, {**booking(), "day": stored["day"]})
    assert not appointments.repeats(stored, {**stored, "day": "2027-01-05"})
    assert not appointments.repeats(stored, {**stored, "place_id": "kec-serang"})


def test_a_booking_s_key_reused_is_worded_for_a_booking_not_an_application():
    stored = {**booking(), "request_digest": "one"}
    with pytest.raises(IdempotencyKeyReused) as reused:
        appointments.earlier_answer(stored, stored["nik"], stored["kk_number"], "another")
    body = reused.value.to_body("en")["error"]
    assert body["message"] == ("This Idempotency-Key was already used for another recording "
                               "appointment.")
    assert reused.value.to_body("id")["error"]["fields"]["Idempotency-Key"] == [
        "Gunakan kunci baru untuk jadwal perekaman baru."]
    assert "application" in IdempotencyKeyReused().to_body("en")["error"]["message"]
