"""KTP-el recording is once in a life, without I/O: the booking's day on the
working-day calendar, free capacity and the next free day, who may book (as
for a first KTP-el, alive, and only on the register's word that the NIK is on
the KK given), who counts as recorded or as having a card, and the
application a PRR record becomes (services/intake/appointments.py); a
booking's screening within the limits on refusals (services/intake/screening.py)."""

from __future__ import annotations

import dataclasses
import datetime

import pytest

from marshmallow import ValidationError

from services.intake import appointments
from services.intake.api_appointments import BookingSchema
from services.intake.appointments import (AlreadyRecorded, CardAlreadyIssued, DayFull,
                                          OwnerNotConfirmable, RegisterNotAnswering,
                                          check_booking, confirm_owner, days_ahead,
                                          first_free_day, refuse_if_not_recordable,
                                          refuse_if_recorded, refuse_second_card)
from services.intake.exceptions import IdempotencyKeyReused
from services.intake.population import Lookup, Person, RegisterUnavailable
from services.intake.refusals import SubmissionLimit, TooManyRefusals
from services.intake.screening import Screening
from shared.errors import ValidationFailed
from shared.ratelimit import FailureLimit
from shared.events import build_event
from shared.offices import WorkingCalendar, place

MONDAY = datetime.date(2025, 6, 2)
CALENDAR = WorkingCalendar()
NIK = "3673041207900001"


def booking(day: datetime.date, phone="+6281234567890", email=None) -> dict:
    return {"nik": NIK, "kk_number": "3673041201100003", "full_name": "Budi Santoso",
            "phone": phone, "email": email, "language": "id", "place_id": "kec-curug",
            "day": day}


@pytest.mark.parametrize(("field", "value"), [
    ("phone", "0812 FAST CALL"), ("phone", "08123abc7890"), ("phone", "O81234567890"),
    ("full_name", "   ")])
def test_a_booking_with_a_lettered_phone_or_a_blank_name_is_refused(field, value):
    body = {"nik": NIK, "kk_number": "3673041201100003", "full_name": "Budi Santoso",
            "phone": "081234567890", "place_id": "kec-curug", "day": "2025-06-03"}
    with pytest.raises(ValidationError) as excinfo:
        BookingSchema().load({**body, field: value})
    assert list(excinfo.value.messages) == [field]


def day_problem(day: datetime.date, calendar: WorkingCalendar = CALENDAR) -> str:
    with pytest.raises(ValidationFailed) as refused:
        check_booking(booking(day), MONDAY, calendar)
    [message] = refused.value.fields["day"]
    return message.en


def test_a_working_day_from_tomorrow_can_be_booked():
    check_booking(booking(MONDAY + datetime.timedelta(days=1)), MONDAY, CALENDAR)


@pytest.mark.parametrize("day, says", [
    (MONDAY, "from tomorrow on. Next working day: 2025-06-03"),
    (MONDAY - datetime.timedelta(days=3), "from tomorrow on. Next working day: 2025-06-03"),
    (datetime.date(2025, 6, 7), "Next working day: 2025-06-09"),  # a Saturday
    (datetime.date(2025, 6, 6), "Not a working day"),  # Idul Adha 2025
    (MONDAY + datetime.timedelta(days=appointments.BOOKING_HORIZON_DAYS + 1), "no later than"),
])
def test_other_days_are_refused_naming_day(day, says):
    assert says in day_problem(day)


def test_a_day_gone_by_names_the_next_working_day_from_tomorrow():
    """As a day off does (docs/api.md): the day one could book instead."""
    thursday = datetime.date(2025, 6, 5)  # Friday 2025-06-06 is Idul Adha
    with pytest.raises(ValidationFailed) as refused:
        check_booking(booking(datetime.date(2025, 3, 12)), thursday, CALENDAR)
    [message] = refused.value.fields["day"]
    assert str(message) == "Pilih hari mulai besok. Hari kerja berikutnya: 2025-06-09."
    assert message.en == "Choose a day from tomorrow on. Next working day: 2025-06-09."


def test_the_dinas_own_closing_days_count():
    closed = WorkingCalendar.from_config("2025-06-03")
    assert "Next working day: 2025-06-04" in day_problem(datetime.date(2025, 6, 3), closed)


def test_a_booking_needs_a_way_to_reach_the_citizen():
    with pytest.raises(ValidationFailed) as refused:
        check_booking(booking(MONDAY + datetime.timedelta(days=1), phone=None), MONDAY, CALENDAR)
    assert list(refused.value.fields) == ["phone"]


def test_the_next_free_day_skips_full_and_non_working_days():
    days = days_ahead(datetime.date(2025, 6, 4), CALENDAR, 3, MONDAY)
    assert days == [datetime.date(2025, 6, 5), datetime.date(2025, 6, 9),  # 6/6 Idul Adha
                    datetime.date(2025, 6, 10)]
    booked = {"2025-06-05": 40, "2025-06-09": 39}
    assert first_free_day(days, booked, 40) == datetime.date(2025, 6, 9)
    assert first_free_day(days, {**booked, "2025-06-09": 40, "2025-06-10": 40}, 40) is None
    horizon_end = MONDAY + datetime.timedelta(days=appointments.BOOKING_HORIZON_DAYS)
    assert all(day <= horizon_end for day in days_ahead(MONDAY, CALENDAR, 500, MONDAY))


def test_a_full_day_names_day_and_the_next_free_one():
    body = DayFull(datetime.date(2025, 6, 9)).to_body("en")["error"]
    assert (body["code"], body["next_free_day"]) == ("day_full", "2025-06-09")
    assert "Next day with room: 2025-06-09" in body["fields"]["day"][0]
    assert DayFull(None).to_body("id")["error"]["next_free_day"] is None


class Register:
    def __init__(self, person=None, fails=False):
        self.answer, self.fails = person, fails

    def person(self, nik):
        if self.fails:
            raise RegisterUnavailable("down")
        return self.answer

    def family(self, kk_number):
        return None


def person(recorded: bool) -> Person:
    return Person(nik=NIK, kk_number="3673041201100003", full_name="Budi", sex="M",
                  birth_date=datetime.date(1990, 7, 12), relation="anak",
                  ktp_el_recorded=recorded, deceased=False)


@pytest.mark.parametrize("known_here, register, refused", [
    (True, Register(), True),  # an earlier KTP-el application or a PRR record
    (False, Register(person(recorded=True)), True),
    (False, Register(person(recorded=False)), False),
    (False, Register(), False),  # the register does not know the NIK
    (False, Register(fails=True), False),  # nor can it answer: nothing refused for that
])
def test_a_recorded_nik_books_no_recording(known_here, register, refused):
    def book():
        refuse_if_recorded(NIK, lambda nik: known_here, Lookup(register))
    if refused:
        with pytest.raises(AlreadyRecorded) as error:
            book()
        assert list(error.value.fields) == ["nik"] and error.value.status == 409
        assert "print" in error.value.to_body("en")["error"]["message"]
    else:
        book()


TODAY = datetime.date(2026, 11, 30)
FIVE_YEARS_OLD = "3673041505210001"  # born 2021-05-15
SIXTEEN_YEARS_OLD = "3673045106100002"  # a woman born 2010-06-11
SEVENTEEN_TODAY = "3673043011090003"  # born 2009-11-30


def booker(nik: str, marital_status: str = "belum_kawin") -> dict:
    """A booking as ``BookingSchema`` loads it."""
    return {**booking(TODAY + datetime.timedelta(days=1)), "nik": nik,
            "marital_status": marital_status}


def refused_fields(check) -> dict:
    with pytest.raises(ValidationFailed) as refused:
        check()
    return refused.value.to_body("id")["error"]["fields"]


def test_a_child_books_no_recording_unless_married():
    """The first KTP-el's own rule: 17 or older, or married (docs/api.md);
    the register does not know these NIKs: their own birth dates decide."""
    unknown = Lookup(Register())
    for nik in (FIVE_YEARS_OLD, SIXTEEN_YEARS_OLD):
        assert refused_fields(lambda: refuse_if_not_recordable(booker(nik), unknown)) == {
            "nik": ["KTP-el pertama hanya untuk usia 17 tahun ke atas atau sudah/pernah kawin."]}
    for married in ("kawin", "cerai"):
        refuse_if_not_recordable(booker(SIXTEEN_YEARS_OLD, married), unknown)
    refuse_if_not_recordable(booker(SEVENTEEN_TODAY), unknown)
    refuse_if_not_recordable(booker(NIK), unknown)


@pytest.mark.parametrize("change", [
    {"day": TODAY + datetime.timedelta(days=2)}, {"place_id": "disdukcapil-serang"},
    {"replace": True}, {"full_name": "Budi Santosa"}, {"marital_status": "kawin"},
    {"kk_number": "3673041201100099"}, {"nik": SEVENTEEN_TODAY}])
def test_a_booking_s_key_sent_with_another_request_is_refused(change):
    """Outside review: only the NIK and KK were compared, so the key of a
    booking sent to move it (another day, place, ``"replace": true``) got the
    first booking, 201, nothing moved. A retry - its contact corrected or
    not - gets the first booking."""
    asked = {**booker(NIK), "replace": False}
    first = appointments.new_booking(asked, place("kec-curug"), "rek-key-1")
    retry = {**asked, "phone": "+6281299990000", "email": "budi@example.id", "language": "en"}
    assert appointments.earlier_answer(first, retry["nik"], retry["kk_number"],
                                       appointments.booking_digest(retry)) is first
    other = {**asked, **change}
    with pytest.raises(IdempotencyKeyReused):
        appointments.earlier_answer(first, other["nik"], other["kk_number"],
                                    appointments.booking_digest(other))


@pytest.mark.parametrize(("nik", "marital_status"), [
    ("3673040412090005", "belum_kawin"),  # born 2009-12-04: 17 four days after TODAY
    ("3673040412160006", "kawin"),  # born 2016-12-04: married, 10 four days after TODAY
])
def test_the_age_is_judged_on_the_appointment_s_day(nik, marital_status):
    """Outside review: the age was judged on the day the booking was made,
    so a 16-year-old who turns 17 before the day booked was refused. By the
    register's birth date and by the NIK's own alike."""
    born = datetime.date(int("20" + nik[10:12]), 12, 4)
    for lookup in (Lookup(Register()), Lookup(Register(born_on(nik, born)))):
        on_the_birthday = {**booker(nik, marital_status), "day": datetime.date(2026, 12, 4)}
        refuse_if_not_recordable(on_the_birthday, lookup)
        the_day_before = {**on_the_birthday, "day": datetime.date(2026, 12, 3)}
        assert list(refused_fields(lambda: refuse_if_not_recordable(the_day_before,
                                                                    lookup))) == ["nik"]


CENTENARIAN = "3673041501260004"  # born 1926-01-15: by its NIK alone, 2026-01-15


def born_on(nik: str, day: datetime.date) -> Person:
    """The register's record of ``nik``, born on ``day``."""
    return dataclasses.replace(person(recorded=False), nik=nik, birth_date=day)


def test_a_centenarian_books_a_recording_by_the_registers_birth_date():
    register = Register(born_on(CENTENARIAN, datetime.date(1926, 1, 15)))
    refuse_if_not_recordable(booker(CENTENARIAN), Lookup(register))


def test_a_married_five_year_old_books_no_recording():
    """Married is what the booking says; the register (and the NIK) say 5."""
    register = Register(born_on(FIVE_YEARS_OLD, datetime.date(2021, 5, 15)))
    for married in ("kawin", "cerai"):
        refused = refused_fields(lambda: refuse_if_not_recordable(
            booker(FIVE_YEARS_OLD, married), Lookup(register)))
        assert list(refused) == ["nik"] and "10 tahun" in refused["nik"][0]


def test_a_deceased_nik_books_no_recording():
    """Dead by a death certificate verified here (whatever the register
    says, or if it cannot answer), or by the register."""
    dead = dataclasses.replace(person(recorded=False), deceased=True)
    for lookup in (Lookup(Register(fails=True), verified_death=lambda nik: nik == NIK),
                   Lookup(Register(person(recorded=False)), verified_death=lambda nik: True),
                   Lookup(Register(dead))):
        assert refused_fields(lambda: confirm_owner(booker(NIK), lookup)) == {"nik": [
            "NIK ini tercatat telah meninggal dunia."]}


def test_who_moved_out_of_kota_serang_books_no_recording_here():
    """An SKPWNI pindah keluar out of the city verified here: the register
    still has the NIK on the old KK, intake knows better (400 on ``nik``)."""
    lookup = Lookup(Register(person(recorded=False)), moved_out=lambda nik: nik == NIK)
    refused = refused_fields(lambda: confirm_owner(booker(NIK), lookup))
    assert list(refused) == ["nik"]
    assert refused["nik"][0].startswith("NIK ini tercatat sudah pindah keluar Kota Serang")


def test_a_booking_is_made_only_for_a_nik_the_register_has_on_the_kk_given():
    """The NIK is public, the KK is not: whoever books must know the NIK's
    KK, and the register must say so - a NIK it does not know, or on
    another KK, is refused alike (400 on kk_number); a register that cannot
    answer books nothing (503: nobody checks a booking by hand after)."""
    confirm_owner(booker(NIK), Lookup(Register(person(recorded=False))))
    on_another_kk = dataclasses.replace(person(recorded=False), kk_number="3673041201100099")
    for register in (Register(on_another_kk), Register()):
        assert refused_fields(lambda: confirm_owner(booker(NIK), Lookup(register))) == {
            "kk_number": ["NIK pemohon tidak terdaftar pada No. KK ini."]}
    with pytest.raises(RegisterNotAnswering) as down:
        confirm_owner(booker(NIK), Lookup(Register(fails=True)))
    assert down.value.status == 503 and down.value.code == "register_unavailable"


class CountingRegister(Register):
    def __init__(self, person=None):
        super().__init__(person)
        self.asked = 0

    def person(self, nik):
        self.asked += 1
        return super().person(nik)


def limit(per_client: int = 30, per_number: int = 10) -> SubmissionLimit:
    return SubmissionLimit({"client": FailureLimit(per_client, 3600),
                            "kk": FailureLimit(per_number, 3600),
                            "nik": FailureLimit(per_number, 3600)},
                           "192.0.2.7", [("kk", "3673041201100003"), ("nik", NIK)])


def booking_screening(register: Register, within: SubmissionLimit) -> Screening:
    return Screening(register, lambda nik: False, lambda nik: False, within)


def test_a_booking_asks_the_register_within_the_limits_of_refused_submissions():
    """Every refusal after the register is asked counts (a NIK it does not
    know too); past the client's limit a booking is refused before the
    register is asked; past the NIK's or KK's, 429 too - a booking is never
    made without the register's word, and the wait is the same whether the
    KK was right or wrong."""
    within, register = limit(per_client=4, per_number=2), CountingRegister()
    for _ in range(2):  # the register does not know the NIK: refused, counted
        with pytest.raises(ValidationFailed):
            booking_screening(register, within).check_booking(booker(NIK), lambda nik: False)
    owner = CountingRegister(person(recorded=False))
    with pytest.raises(OwnerNotConfirmable) as withheld:
        booking_screening(owner, within).check_booking(booker(NIK), lambda nik: False)
    assert withheld.value.status == 429 and 0 < withheld.value.retry_after <= 3600
    assert owner.asked == 0
    # a child, by the birth date the register gives: counted too
    child = CountingRegister(born_on(FIVE_YEARS_OLD, datetime.date(2021, 5, 15)))
    for_child = dataclasses.replace(within, numbers=[("kk", "3673041201100066"),
                                                     ("nik", FIVE_YEARS_OLD)])
    with pytest.raises(ValidationFailed):
        booking_screening(child, for_child).check_booking(booker(FIVE_YEARS_OLD),
                                                          lambda nik: False)
    assert child.asked == 1
    other = dataclasses.replace(within, numbers=[("kk", "3673041201100077"),
                                                 ("nik", SEVENTEEN_TODAY)])
    with pytest.raises(AlreadyRecorded):  # recorded here: counted too
        booking_screening(owner, other).check_booking(booker(SEVENTEEN_TODAY), lambda nik: True)
    with pytest.raises(TooManyRefusals):
        booking_screening(owner, other).check_booking(booker(SEVENTEEN_TODAY), lambda nik: False)
    assert owner.asked == 1  # only the booking refused as recorded asked it


def test_a_first_card_refused_counts_though_the_register_knew_nobody():
    """``card_already_issued`` tells whoever asks what intake holds of a
    NIK: counted whether or not the register answered."""
    within = limit(per_client=1)
    application = {"document_type": "ktp_el",
                   "applicant": {"nik": NIK, "kk_number": "3673041201100003",
                                 "full_name": "Budi Santoso", "phone": "+6281234567890",
                                 "email": None, "marital_status": "belum_kawin"},
                   "details": {"reason": "first_issue"},
                   "delivery": {"method": "pickup", "address": None}}
    issued = Screening(Register(), lambda nik: False, lambda nik: True, within)
    with pytest.raises(CardAlreadyIssued):
        issued.check(application, TODAY)
    with pytest.raises(TooManyRefusals):
        issued.check(application, TODAY)


def test_a_booking_may_say_the_citizen_is_married():
    body = {"nik": SIXTEEN_YEARS_OLD, "kk_number": "3673041201100003",
            "full_name": "Siti Aminah", "phone": "081234567890", "place_id": "kec-curug",
            "day": "2026-12-01"}
    assert BookingSchema().load(body)["marital_status"] == "belum_kawin"
    assert BookingSchema().load({**body, "marital_status": "kawin"})["marital_status"] == "kawin"


def ktp_request(reason: str = "first_issue", document_type: str = "ktp_el") -> dict:
    return {"document_type": document_type, "applicant": {"nik": NIK}}


def test_a_first_card_for_a_nik_that_has_one_is_refused_naming_the_reason():
    with pytest.raises(CardAlreadyIssued) as refused:
        refuse_second_card(ktp_request(), {"reason": "first_issue"}, lambda nik: True)
    assert list(refused.value.fields) == ["details.reason"]
    assert "replacement" in refused.value.to_body("en")["error"]["message"]
    refuse_second_card(ktp_request(), {"reason": "lost"}, lambda nik: True)
    refuse_second_card(ktp_request(), {"reason": "first_issue"}, lambda nik: False)
    refuse_second_card(ktp_request(document_type="kia"), {}, lambda nik: True)


def test_which_statuses_mean_a_card_was_issued():
    assert set(appointments.CARD_STATUSES) == {"printed", "ready_for_pickup", "dispatched",
                                               "returned_to_dinas", "collected", "delivered"}
    assert {"verified", "print_queued"} < set(appointments.PRR_CARD_STATUSES)
    for status in ("submitted", "rejected", "cancelled"):
        assert status not in appointments.PRR_CARD_STATUSES


def test_a_booking_and_its_event():
    curug = place("kec-curug")
    stored = appointments.new_booking(booking(datetime.date(2025, 6, 3)), curug, "key-1")
    assert stored["booking_code"].startswith("REK") and len(stored["booking_code"]) == 11
    assert (stored["day"], stored["active"], stored["idempotency_key"]) == ("2025-06-03", True,
                                                                           "key-1")
    event = build_event("recording_appointment_booked", **appointments.booked_event(stored, curug))
    assert event["place_name"] == "Kantor Kecamatan Curug" and "nik" not in event
    assert appointments.booking_view(stored, curug)["place"]["opens"] == "08:00"
    # the notice says when to come: the place's hours, as the booking's answer gives them
    assert (event["opens"], event["closes"]) == ("08:00", "15:00")
    cancelled = build_event("recording_appointment_cancelled", **appointments.cancelled_event(
        {**stored, "status": "cancelled"}, curug))
    assert (cancelled["opens"], cancelled["closes"]) == ("08:00", "15:00")


def test_a_prr_record_becomes_a_print_delivered_by_pos():
    event = build_event("prr_record_imported", nik=NIK, full_name="Budi Santoso",
                        recorded_on="2019-03-02", phone="+6281234567890",
                        address={"street": "Jl. Melati 3", "kelurahan_code": "3673041010",
                                 "postal_code": "42171"})
    application = appointments.prr_application(event)
    assert (application["channel"], application["document_type"]) == ("prr", "ktp_el")
    assert application["delivery"] == {"method": "pos", "address": event["address"]}
    assert application["idempotency_key"] == f"\u00a7prr:{event['event_id']}"
    assert application["subject_key"] == f"nik:{NIK}"
    assert application["contact"]["phone"] == "+6281234567890"
    assert application["details"] == {"reason": "first_issue", "recorded_on": "2019-03-02"}


def deceased_person(nik: str) -> Person:
    return dataclasses.replace(person(recorded=True), nik=nik, deceased=True)


@pytest.mark.parametrize("nik, verified_death, register, refusal", [
    (SIXTEEN_YEARS_OLD, False, Register(), "under_age"),  # not on the register: the NIK's age
    (SEVENTEEN_TODAY, False, Register(), None),  # the register does not know it: printed
    (NIK, True, Register(fails=True), "deceased"),  # intake's own death certificate
    (NIK, False, Register(deceased_person(NIK)), "deceased"),  # the register's word
    (NIK, False, Register(person(recorded=True)), None),
    (CENTENARIAN, False, Register(born_on(CENTENARIAN, datetime.date(1926, 1, 15))), None),
])
def test_a_prr_record_of_a_child_or_of_the_dead_becomes_no_application(
        nik, verified_death, register, refusal):
    """A PRR application was made (and printed, posted, announced by SMS) for
    a NIK whose death certificate was verified here, one the register records
    as deceased, and a child of 11: the first card's rules, as for a booking."""
    lookup = Lookup(register, lambda asked: verified_death and asked == nik)
    assert appointments.prr_refusal(nik, TODAY, lookup) == refusal


def test_a_prr_record_waits_while_the_register_cannot_say_whether_its_holder_died():
    """Verified at once, an application accepted unchecked would be printed
    and posted before anyone looked: the event is tried again later."""
    with pytest.raises(RegisterUnavailable):
        appointments.prr_refusal(NIK, TODAY, Lookup(Register(fails=True)))
    # nor whether a NIK read as 16 years old is a child's or a centenarian's
    for nik in (SIXTEEN_YEARS_OLD, CENTENARIAN):
        with pytest.raises(RegisterUnavailable):
            appointments.prr_refusal(nik, TODAY, Lookup(Register(fails=True)))
    event = build_event("prr_record_refused", **appointments.prr_refused_event(
        {"nik": NIK, "prr_record_id": "rec-1"}, "deceased"))
    assert (event["nik"], event["reason"]) == (NIK, "deceased")


def test_only_a_ktp_el_application_the_register_or_an_operator_checked_shows_a_recording():
    """Outside audit C: a stranger's KTP-el application the register did not
    check (an outage, or a NIK guessed at too often) told the NIK's owner
    "already recorded" and kept them from booking."""
    from services.intake.domain import shows_recording
    for flags in ([], ["late_registration"]):
        assert shows_recording({"status": "submitted", "flags": flags})
    for flags in (["register_unchecked"], ["register_withheld", "late_registration"]):
        assert not shows_recording({"status": "submitted", "flags": flags})
        # verified by an operator, who checked it by hand: it does
        for status in ("verified", "print_queued", "printed", "collected", "print_cancelled"):
            assert shows_recording({"status": status, "flags": flags})
    for status in ("rejected", "cancelled"):
        assert not shows_recording({"status": status, "flags": []})
    assert shows_recording({"status": "submitted"})  # stored before flags were
