"""A recording booking belongs to whoever knows the NIK's KK, through the
real stack (outside audit: anyone could block a citizen for 90 days with the
NIK alone, fill the calendar with made-up NIKs, and ask the register freely).

The NIK is public, the KK is not: a booking is made only for a NIK the
population register has on the KK given; a booking made on the KK can be
moved by another made on the KK (``"replace": true``: its contact is told),
or cancelled with its booking code and NIK; a client books at most
RECORDING_BOOKINGS_PER_CLIENT (10) an hour; and the booking's refusals count
in the same limits as a submission's (services/intake/refusals.py).
"""

from __future__ import annotations

import datetime

import requests

from tests.e2e.test_appointments import book, booking, citizen, on_register, working_day
from tests.e2e.test_secrets_and_limits import first_card, flags_of, new_client
from tests.openapi_answers import assert_answer_matches, served_document
from tests.helpers import (BrokerProbe, eventually, random_kk, random_mobile, random_nik,
                           valid_body)

NOT_ON_KK = {"kk_number": ["NIK pemohon tidak terdaftar pada No. KK ini."]}


def free_on(system, place_id: str, day: datetime.date) -> int | None:
    answer = requests.get(f"{system.url('intake')}/api/v1/recording-appointments/availability",
                          params={"place_id": place_id}, timeout=10)
    assert answer.status_code == 200, answer.text
    return next((d["free"] for d in answer.json()["days"] if d["day"] == day.isoformat()), None)


def cancel(system, booking_code: str, nik: str, client=requests) -> requests.Response:
    return client.post(f"{system.url('intake')}/api/v1/recording-appointments/cancel",
                       json={"booking_code": booking_code, "nik": nik}, timeout=10)


def test_a_stranger_holding_only_the_nik_books_nothing_and_blocks_nobody(system, mongo):
    """The audit's case: the victim's NIK, any KK, the attacker's e-mail, a
    day 87 days ahead was booked (201) and the citizen refused
    ``appointment_exists`` until that day. Now the register must have the
    NIK on the KK: 400 on ``kk_number``, nothing stored, and the citizen books."""
    nik, kk = citizen(system)
    day = working_day(80, 87)
    stranger = book(system, {**booking(nik, "kec-curug", day), "phone": None,
                             "email": "penyerang@example.com"}, client=new_client())
    assert stranger.status_code == 400, stranger.text
    assert stranger.json()["error"]["fields"] == NOT_ON_KK
    assert mongo["intake"].recording_appointments.count_documents({"nik": nik}) == 0
    owner = book(system, booking(nik, "kec-curug", working_day(2, 20), kk), client=new_client())
    assert owner.status_code == 201, owner.text


def test_a_booking_made_on_the_kk_is_moved_by_the_owner_and_its_contact_is_told(system, mongo):
    """Someone else who knows the KK (a relative) booked first: the owner is
    told a booking exists, moves it with ``"replace": true`` (201), and the
    earlier booking ends ``replaced``, gives its place back, and its contact
    hears of it (``recording_appointment_cancelled``, by SMS)."""
    probe = BrokerProbe(system.amqp_uri, "intake.events", "recording_appointment_cancelled")
    nik, kk = citizen(system)
    first_day, second_day = working_day(2, 9), working_day(10, 30)
    relative_phone = random_mobile()
    try:
        free_before = free_on(system, "kec-serang", first_day)
        relatives = book(system, {**booking(nik, "kec-serang", first_day, kk),
                                  "phone": relative_phone}, client=new_client())
        assert relatives.status_code == 201, relatives.text
        owners = {**booking(nik, "kec-walantaka", second_day, kk)}
        exists = book(system, owners, client=new_client())
        assert exists.status_code == 409 and exists.json()["error"]["code"] == \
            "appointment_exists", exists.text
        moved = book(system, {**owners, "replace": True}, client=new_client())
        assert moved.status_code == 201, moved.text
        assert_answer_matches(served_document(system.url("intake")), "POST",
                              "/api/v1/recording-appointments", 201, moved.json())
        events = eventually(lambda: [e for _, e in probe.drain()
                                     if e["appointment_id"] == relatives.json()["appointment_id"]],
                            what="recording_appointment_cancelled of the earlier booking")
    finally:
        probe.close()
    [told] = events
    assert (told["reason"], told["day"], told["contact"]["phone"]) == (
        "replaced", first_day.isoformat(), "+62" + relative_phone[1:])
    earlier = mongo["intake"].recording_appointments.find_one(
        {"_id": relatives.json()["appointment_id"]})
    assert (earlier["status"], earlier["active"], earlier["replaced_by"]) == (
        "replaced", False, moved.json()["appointment_id"])
    assert free_on(system, "kec-serang", first_day) == free_before
    def sms_to_relative():
        sent = requests.get(system.url("sms") + "/sandbox/messages",
                            params={"to": "+62" + relative_phone[1:]}, timeout=5).json()
        return [m for m in sent if "diganti jadwal baru" in m["message"]]
    [sms] = eventually(sms_to_relative, what="the SMS telling the earlier booking's contact")
    assert relatives.json()["booking_code"] in sms["message"] and nik not in sms["message"]


def test_a_booking_is_cancelled_with_its_code_and_nik(system, mongo):
    """The place goes back to the calendar; a wrong NIK is 404 (as an
    unknown code); a booking cancelled (or replaced) cannot be cancelled again."""
    nik, kk = citizen(system)
    day = working_day(2, 9)
    made = book(system, booking(nik, "kec-kasemen", day, kk), client=new_client())
    assert made.status_code == 201, made.text
    code = made.json()["booking_code"]
    taken = free_on(system, "kec-kasemen", day)
    wrong = cancel(system, code, random_nik(year=2007), new_client())
    assert wrong.status_code == 404 and wrong.json()["error"]["code"] == "not_found", wrong.text
    cancelled = cancel(system, code.lower(), nik, new_client())
    assert cancelled.status_code == 200, cancelled.text
    assert (cancelled.json()["status"], cancelled.json()["appointment_id"]) == (
        "cancelled", made.json()["appointment_id"])
    document = served_document(system.url("intake"))
    assert_answer_matches(document, "POST", "/api/v1/recording-appointments/cancel", 200,
                          cancelled.json())
    assert free_on(system, "kec-kasemen", day) == taken + 1
    again = cancel(system, code, nik, new_client())
    assert again.status_code == 409 and again.json()["error"]["code"] == "appointment_ended", \
        again.text
    assert_answer_matches(document, "POST", "/api/v1/recording-appointments/cancel", 409,
                          again.json())
    assert book(system, booking(nik, "kec-kasemen", day, kk), client=new_client()
                ).status_code == 201  # the NIK is free to book again


def test_made_up_niks_take_no_place_and_a_client_books_at_most_ten_an_hour(system):
    """The audit filled a day with six made-up valid NIKs (40 -> 34). Now
    the register refuses them; and even real citizens booked from one client
    stop at RECORDING_BOOKINGS_PER_CLIENT (10): 429 with Retry-After."""
    day = working_day(2, 9)
    free = free_on(system, "kec-taktakan", day)
    client = new_client()
    for _ in range(6):
        made_up = book(system, booking(random_nik(year=2000), "kec-taktakan", day), client=client)
        assert made_up.status_code == 400 and made_up.json()["error"]["fields"] == NOT_ON_KK, \
            made_up.text
    assert free_on(system, "kec-taktakan", day) == free

    family = [random_nik(year=2001) for _ in range(11)]
    kk = on_register(system, *family)
    booker = new_client()
    for nik in family[:10]:
        assert book(system, booking(nik, "kec-taktakan", day, kk), client=booker
                    ).status_code == 201
    limited = book(system, booking(family[10], "kec-taktakan", day, kk), "en", client=booker)
    assert limited.status_code == 429, limited.text
    assert 0 < int(limited.headers["Retry-After"]) <= 3600
    assert limited.json()["error"]["message"].startswith(
        "Too many recording appointments booked from this connection.")
    assert_answer_matches(served_document(system.url("intake")), "POST",
                          "/api/v1/recording-appointments", 429, limited.json())
    assert book(system, booking(family[10], "kec-taktakan", day, kk), client=new_client()
                ).status_code == 201


def test_bookings_ask_the_register_within_the_limits_submissions_count_in(system, mongo):
    """The audit's 45 wrong-KK bookings from one client were all answered
    (409 already_recorded, 400 deceased). Now a booking's refusals count
    with a submission's: past the client's 30, 429 before the register is
    asked (a submission from it too); past a NIK's 10 (whoever asked), its
    owner's booking with the right KK answers the same 429 as a wrong guess
    - no booking without the register's word, and no oracle - while an
    application naming it is accepted flagged register_withheld."""
    people = [random_nik(year=1995) for _ in range(31)]
    on_register(system, *people)
    prober = new_client()
    day = working_day(2, 20)
    for nik in people[:30]:
        refused = book(system, booking(nik, "kec-curug", day, random_kk()), client=prober)
        assert refused.status_code == 400 and refused.json()["error"]["fields"] == NOT_ON_KK, \
            refused.text
    limited = book(system, booking(people[30], "kec-curug", day, random_kk()), "en",
                   client=prober)
    assert limited.status_code == 429, limited.text
    assert limited.json()["error"]["message"].startswith(
        "Too many applications refused on the population register's data.")
    assert first_card(prober, system.url("intake"), random_nik(), random_kk()).status_code == 429

    probed, kk = citizen(system, year=1999)
    for _ in range(10):  # ten strangers' wrong KKs for one NIK
        assert book(system, booking(probed, "kec-curug", day, random_kk()),
                    client=new_client()).status_code == 400
    wrong = book(system, booking(probed, "kec-curug", day, random_kk()), client=new_client())
    right = book(system, booking(probed, "kec-curug", day, kk), client=new_client())
    for answer in (wrong, right):
        assert answer.status_code == 429, answer.text
        assert answer.json()["error"]["code"] == "too_many_attempts"
        assert 0 < int(answer.headers["Retry-After"]) <= 3600
    assert mongo["intake"].recording_appointments.count_documents({"nik": probed}) == 0
    applied = first_card(new_client(), system.url("intake"), probed, kk)
    assert flags_of(mongo, applied) == ["register_withheld"]


def test_a_retry_s_key_with_another_kk_gets_neither_the_booking_nor_the_application(system):
    """A replayed Idempotency-Key answered the first booking (its code, which
    with the NIK cancels it) and the first application (its tracking code,
    which with the NIK opens and cancels it) to anyone sending the key with
    the NIK - any KK, no limit (outside re-audit H1; keys can be guessable,
    e.g. ``rek-<nik>``). The KK must be the first request's too."""
    nik, kk = citizen(system)
    first = booking(nik, "kec-curug", working_day(2, 20), kk)
    key = {"Idempotency-Key": f"rek-{nik}"}
    owner = book(system, first, client=new_client(), **key)
    assert owner.status_code == 201, owner.text
    retried = book(system, first, client=new_client(), **key)
    assert retried.status_code == 201 and \
        retried.json()["booking_code"] == owner.json()["booking_code"]
    stranger = book(system, {**first, "kk_number": random_kk(), "phone": None,
                             "email": "penyerang@example.com"}, client=new_client(), **key)
    assert stranger.status_code == 409, stranger.text
    assert stranger.json()["error"]["code"] == "idempotency_key_reused"
    assert owner.json()["booking_code"] not in stranger.text

    application = valid_body()
    intake = system.url("intake")
    key = {"Idempotency-Key": f"app-{application['applicant']['nik']}"}
    submitted = new_client().post(f"{intake}/api/v1/applications", json=application,
                                  headers=key, timeout=10)
    assert submitted.status_code == 202, submitted.text
    guessed = {**application, "applicant": {**application["applicant"], "kk_number": random_kk()}}
    stranger = new_client().post(f"{intake}/api/v1/applications", json=guessed, headers=key,
                                 timeout=10)
    assert stranger.status_code == 409, stranger.text
    assert stranger.json()["error"]["code"] == "idempotency_key_reused"
    assert submitted.json()["tracking_code"] not in stranger.text
