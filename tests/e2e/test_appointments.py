"""KTP-el recording (perekaman) is once in a life, through the real stack:
a citizen on the register sandbox (a booking is made only for a NIK the
register has on the KK given) books a recording on a working day with room
and is told by event;
a NIK from the PRR backlog (``prr_record_imported``, published as printing
would) is recorded, gets one verified print delivered by Pos, and books no
recording; a full day is refused with the next free day; a first KTP-el for a
NIK that already received one is refused, a replacement is not.
"""

from __future__ import annotations

import datetime
import json
import random
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from services.intake.appointments import BOOKING_HORIZON_DAYS
from services.intake.service import IntakeApi
from shared.clock import today_wib
from shared.events import build_event
from shared.offices import WorkingCalendar, place
from tests.document_bodies import body, death_body, nik_born, years_before
from tests.e2e.test_documents import accepted, register_answers, register_restored, seed_family
from tests.e2e.test_secrets_and_limits import new_client
from tests.openapi_answers import assert_answer_matches, served_document
from tests.helpers import (OPERATOR, STATION, BrokerProbe, claim_job_for, eventually,
                           personal_data_in_logs, publish, random_kk, random_mobile, random_nik,
                           valid_body)

__all__ = ["register_restored"]  # the fixture, shared with test_documents

CALENDAR = WorkingCalendar()


def working_day(at_least: int, at_most: int) -> datetime.date:
    """A random working day between ``at_least`` and ``at_most`` days from today."""
    today = today_wib()
    days = [today + datetime.timedelta(days=n) for n in range(at_least, at_most + 1)]
    return random.choice([day for day in days if CALENDAR.is_working_day(day)])


def booking(nik: str, place_id: str, day: datetime.date, kk: str | None = None,
            **extra) -> dict:
    return {"nik": nik, "kk_number": kk or random_kk(), "full_name": "Rina Marlina",
            "phone": random_mobile(), "place_id": place_id, "day": day.isoformat(), **extra}


def book(system, body: dict, lang: str = "id", client=requests, **headers) -> requests.Response:
    """From 127.0.0.1 unless ``client`` (``new_client()``: a loopback address of
    its own, for a test that books more than a client may in an hour)."""
    return client.post(f"{system.url('intake')}/api/v1/recording-appointments", json=body,
                       headers={"Accept-Language": lang, **headers}, timeout=30)


def on_register(system, *niks: str) -> str:
    """The NIKs as members of one fresh family on the register sandbox, not
    recorded for KTP-el: its KK."""
    return seed_family(system, *[(nik, "anak", False) for nik in niks])


def citizen(system, year: int = 2007, **nik) -> tuple[str, str]:
    """A NIK the register has on a KK, not yet recorded: (NIK, KK)."""
    nik = random_nik(year=year, **nik)
    return nik, on_register(system, nik)


def test_a_citizen_books_a_recording_once_and_is_told(system):
    probe = BrokerProbe(system.amqp_uri, "intake.events", "recording_appointment_booked")
    (nik, kk), day = citizen(system), working_day(2, 20)
    try:
        body = booking(nik, "kec-curug", day, kk)
        first = book(system, body, **{"Idempotency-Key": f"rek-{nik}"})
        assert first.status_code == 201, first.text
        answer = first.json()
        assert answer["booking_code"].startswith("REK") and answer["day"] == day.isoformat()
        assert answer["place"]["name"] == "Kantor Kecamatan Curug"
        retried = book(system, body, **{"Idempotency-Key": f"rek-{nik}"})
        assert retried.status_code == 201 and retried.json() == answer

        again = book(system, booking(nik, "disdukcapil-serang", day, kk), "en")
        assert again.status_code == 409, again.text
        assert again.json()["error"]["code"] == "appointment_exists"
        assert list(again.json()["error"]["fields"]) == ["nik"]
        assert '"replace": true' in again.json()["error"]["message"]  # how to move it

        events = eventually(probe.drain, what="recording_appointment_booked")
    finally:
        probe.close()
    [(_, event)] = [(key, e) for key, e in events if e["appointment_id"] == answer["appointment_id"]]
    assert (event["place_id"], event["day"], event["booking_code"]) == (
        "kec-curug", day.isoformat(), answer["booking_code"])
    assert (event["opens"], event["closes"]) == (answer["place"]["opens"], answer["place"]["closes"])
    assert event["contact"]["phone"] == "+62" + body["phone"][1:] and "nik" not in event
    assert event["contact"]["language"] == "id"
    assert personal_data_in_logs(system, nik, body["phone"]) == []


def test_a_booking_s_key_sent_with_another_request_is_refused(system, mongo):
    """Outside review: the key of a booking for day D sent with day D2,
    another place or ``"replace": true`` was answered 201 with the booking
    for D, nothing moved. Now 409 ``idempotency_key_reused`` (without the
    booking code), nothing booked or moved; the same request again - its
    contact corrected - still gets the first booking."""
    (nik, kk), day = citizen(system), working_day(2, 20)
    key = {"Idempotency-Key": f"rek-{uuid.uuid4().hex}"}
    body = booking(nik, "kec-curug", day, kk)
    first = book(system, body, **key)
    assert first.status_code == 201, first.text
    for other in ({**body, "day": working_day(21, 40).isoformat()},
                  {**body, "place_id": "disdukcapil-serang"}, {**body, "replace": True}):
        refused = book(system, other, "en", **key)
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"]["code"] == "idempotency_key_reused"
        assert list(refused.json()["error"]["fields"]) == ["Idempotency-Key"]
        assert first.json()["booking_code"] not in refused.text
    retried = book(system, {**body, "phone": random_mobile()}, **key)
    assert retried.status_code == 201 and retried.json() == first.json()
    [stored] = mongo["intake"].recording_appointments.find({"nik": nik})
    assert (stored["day"], stored["place_id"], stored["status"]) == (
        day.isoformat(), "kec-curug", "booked")


def test_who_turns_17_before_the_day_booked_books_it(system):
    """Outside review: the age rule was judged on the day the booking was
    made, so a 16-year-old who turns 17 before the appointment was refused.
    The appointment's day decides (at most 90 days ahead)."""
    day = working_day(20, 40)
    nik = nik_born(years_before(day - datetime.timedelta(days=7), 17))  # 17 before the day
    kk = on_register(system, nik)
    early = book(system, booking(nik, "kec-curug", working_day(2, 9), kk))
    assert early.status_code == 400, early.text  # a day before the birthday
    assert list(early.json()["error"]["fields"]) == ["nik"]
    booked = book(system, booking(nik, "kec-curug", day, kk))
    assert booked.status_code == 201, booked.text
    assert booked.json()["day"] == day.isoformat()


def test_a_booking_made_in_english_is_told_in_english(system):
    """Outside audit H: with no ``language`` the booking's messages were in
    Bahasa whatever the request's language; now they follow it, as an
    application's do."""
    probe = BrokerProbe(system.amqp_uri, "intake.events", "recording_appointment_booked")
    (nik, kk), day = citizen(system), working_day(2, 20)
    try:
        answer = book(system, booking(nik, "kec-curug", day, kk), "en")
        assert answer.status_code == 201, answer.text
        events = eventually(probe.drain, what="recording_appointment_booked")
    finally:
        probe.close()
    [event] = [e for _, e in events if e["appointment_id"] == answer.json()["appointment_id"]]
    assert event["contact"]["language"] == "en"


def test_a_day_off_or_a_day_gone_by_is_refused_naming_day(system):
    saturday = today_wib() + datetime.timedelta(days=(5 - today_wib().weekday()) % 7 or 7)
    for day in (saturday, today_wib()):
        refused = book(system, booking(random_nik(), "kec-curug", day))
        assert refused.status_code == 400, refused.text
        assert list(refused.json()["error"]["fields"]) == ["day"]
    unknown = book(system, booking(random_nik(), "kec-atlantis", working_day(2, 9)))
    assert list(unknown.json()["error"]["fields"]) == ["place_id"]


def prr_event(nik: str, phone: str) -> dict:
    return build_event("prr_record_imported", nik=nik, full_name="Dedi Kurniawan",
                       recorded_on="2019-08-14", phone="+62" + phone[1:],
                       prr_record_id=f"PRR-{uuid.uuid4().hex[:8]}",
                       address={"street": "Jl. Melati No. 3", "rt": "003", "rw": "005",
                                "kelurahan_code": "3673041010", "postal_code": "42171"})


def handled(mongo, event: dict):
    """Wait until intake has handled ``event`` (its id is on the recorded NIK)."""
    return eventually(lambda: mongo["intake"].recorded_niks.find_one(
        {"_id": event["nik"], "prr_events": event["event_id"]}), what="PRR record handled")


def test_a_child_or_a_deceased_nik_books_no_recording(system, mongo):
    """The same rules as a first KTP-el: under 17 only when married; never
    for a NIK whose death certificate was verified. 400 on ``nik``, nothing
    stored, no place of the day taken."""
    day = working_day(2, 20)
    child = nik_born(years_before(today_wib(), 5))
    refused = book(system, booking(child, "kec-curug", day, on_register(system, child)))
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["fields"] == {"nik": [
        "KTP-el pertama hanya untuk usia 17 tahun ke atas atau sudah/pernah kawin."]}
    married = nik_born(years_before(today_wib(), 16), female=True)
    assert book(system, booking(married, "kec-curug", day, on_register(system, married),
                                marital_status="kawin")).status_code == 201

    deceased = random_nik(year=1945)
    death = requests.post(f"{system.url('intake')}/api/v1/applications", timeout=15,
                          json=death_body(today_wib() - datetime.timedelta(days=1),
                                          deceased_nik=deceased))
    assert death.status_code == 202, death.text
    verified = requests.post(f"{system.url('intake')}/api/v1/applications/"
                             f"{death.json()['application_id']}/verify", headers=OPERATOR,
                             timeout=15)
    assert verified.status_code == 200, verified.text
    refused = book(system, booking(deceased, "kec-curug", day), "en")
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["fields"] == {"nik": ["This NIK is recorded as deceased."]}
    assert mongo["intake"].recording_appointments.count_documents(
        {"nik": {"$in": [child, deceased]}}) == 0


def test_a_nik_in_the_prr_backlog_gets_one_print_and_books_no_recording(system, mongo):
    probe = BrokerProbe(system.amqp_uri, "intake.events", "application_verified")
    nik, phone = random_nik(), random_mobile()
    event = prr_event(nik, phone)
    try:
        publish(system.amqp_uri, "printing.events", "prr_record_imported", event)
        handled(mongo, event)
        # the backlog overlaps: the same record again, and another for the same NIK
        publish(system.amqp_uri, "printing.events", "prr_record_imported", event)
        overlap = prr_event(nik, phone)
        publish(system.amqp_uri, "printing.events", "prr_record_imported", overlap)
        handled(mongo, overlap)
        verified = eventually(lambda: [e for _, e in probe.drain() if e["nik"] == nik],
                              what="application_verified of the PRR application")
    finally:
        probe.close()
    [application] = mongo["intake"].applications.find({"applicant.nik": nik})
    assert (application["channel"], application["document_type"]) == ("prr", "ktp_el")
    assert application["status"] in ("verified", "print_queued")
    assert application["delivery"]["method"] == "pos"
    [sent] = verified
    assert (sent["delivery_method"], sent["delivery_address"]["postal_code"]) == ("pos", "42171")
    assert sent["application_id"] == application["_id"]

    kk = seed_family(system, (nik, "anak", True))  # on the register, recorded
    for lang, says in (("id", "Ajukan pencetakan"), ("en", "Apply for a KTP-el print")):
        refused = book(system, booking(nik, "kec-curug", working_day(2, 20), kk), lang)
        assert refused.status_code == 409, refused.text
        error = refused.json()["error"]
        assert error["code"] == "already_recorded" and list(error["fields"]) == ["nik"]
        assert says in error["message"] and nik not in refused.text

    # printed from the backlog: a first KTP-el is refused, a replacement is the way
    first = valid_body()
    first["applicant"].update(nik=nik, kk_number=kk)
    second_card = requests.post(f"{system.url('intake')}/api/v1/applications", json=first,
                                timeout=15)
    assert second_card.status_code == 409, second_card.text
    assert list(second_card.json()["error"]["fields"]) == ["details.reason"]
    assert personal_data_in_logs(system, nik, phone) == []


def test_a_nik_with_a_ktp_el_application_books_no_recording(system):
    body = valid_body()
    submitted = requests.post(f"{system.url('intake')}/api/v1/applications", json=body,
                              timeout=15)
    assert submitted.status_code == 202, submitted.text
    nik = body["applicant"]["nik"]
    refused = book(system, booking(nik, "kec-serang", working_day(2, 20),
                                   on_register(system, nik)))
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "already_recorded"


def test_a_stranger_s_unchecked_ktp_el_application_keeps_no_owner_from_booking(
        system, mongo, register_restored):
    """Outside audit C (HIGH): a KTP-el print application the register did
    not check - made in an outage (or by guessing at the NIK: withheld) by
    someone with another KK - told the NIK's owner, never recorded,
    "already recorded, apply for a print instead", and no booking was
    possible until the stranger cancelled. It shows nothing now; one an
    operator verified does."""
    nik = random_nik(year=2007)
    kk = on_register(system, nik)  # on the register, not recorded
    faults = f"{register_restored.url('register')}/sandbox/faults"
    requests.post(faults, json={"fail_next": 100, "status": 503}, timeout=5)
    stranger = accepted(system, mongo, body("ktp_el", {"reason": "first_issue"}, nik=nik))
    assert stranger["flags"] == ["register_unchecked"]
    requests.post(faults, json={"fail_next": 0}, timeout=5)
    eventually(lambda: register_answers(system), what="intake checking the register again")
    booked = book(system, booking(nik, "kec-curug", working_day(2, 20), kk))
    assert booked.status_code == 201, booked.text

    # a verified one does show the recording (the operator checked it by hand)
    other = random_nik(year=2007)
    other_kk = on_register(system, other)
    requests.post(faults, json={"fail_next": 100, "status": 503}, timeout=5)
    checked = accepted(system, mongo, body("ktp_el", {"reason": "first_issue"}, nik=other))
    requests.post(faults, json={"fail_next": 0}, timeout=5)
    eventually(lambda: register_answers(system), what="intake checking the register again")
    verified = requests.post(f"{system.url('intake')}/api/v1/applications/{checked['_id']}/verify",
                             headers=OPERATOR, timeout=10)
    assert verified.status_code == 200, verified.text
    refused = book(system, booking(other, "kec-curug", working_day(2, 20), other_kk))
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "already_recorded"


def test_a_full_day_is_refused_with_the_next_free_day(system, mongo):
    dinas = place("disdukcapil-serang")
    day = working_day(30, BOOKING_HORIZON_DAYS - 20)
    people = [random_nik(year=2008) for _ in range(dinas.recording_capacity + 24)]
    kk = on_register(system, *people)

    def attempt(_):  # each citizen from an address of their own (bookings per client)
        return book(system, booking(people.pop(), dinas.place_id, day, kk), client=new_client())

    # concurrent bookings race for the day's places: none may overfill it
    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(attempt, range(dinas.recording_capacity + 8)))
    assert {a.status_code for a in answers} <= {201, 409, 503}, {a.text for a in answers}
    taken = sum(a.status_code == 201 for a in answers)
    assert taken <= dinas.recording_capacity
    while (answer := attempt(None)).status_code == 201:
        taken += 1
    assert taken == dinas.recording_capacity
    assert answer.status_code == 409, answer.text
    error = answer.json()["error"]
    assert error["code"] == "day_full" and list(error["fields"]) == ["day"]
    assert_answer_matches(served_document(system.url("intake")), "POST",
                          "/api/v1/recording-appointments", 409, answer.json())
    next_free = datetime.date.fromisoformat(error["next_free_day"])
    assert next_free > day and CALENDAR.is_working_day(next_free)
    counter = mongo["intake"].recording_days.find_one({"_id": f"{dinas.place_id}:{day}"})
    assert counter["booked"] == dinas.recording_capacity
    assert mongo["intake"].recording_appointments.count_documents(
        {"place_id": dinas.place_id, "day": day.isoformat()}) == dinas.recording_capacity

    free = requests.get(f"{system.url('intake')}/api/v1/recording-appointments/availability",
                        params={"place_id": dinas.place_id}, timeout=10)
    assert free.status_code == 200 and len(free.json()["days"]) == 10
    assert all(CALENDAR.is_working_day(datetime.date.fromisoformat(d["day"]))
               for d in free.json()["days"])


def test_a_second_first_ktp_el_for_a_nik_that_got_one_is_refused(system):
    intake, printing = system.url("intake"), system.url("printing")
    body = valid_body()
    submitted = requests.post(f"{intake}/api/v1/applications", json=body, timeout=15)
    assert submitted.status_code == 202, submitted.text
    application_id = submitted.json()["application_id"]
    assert requests.post(f"{intake}/api/v1/applications/{application_id}/verify",
                         headers=OPERATOR, timeout=15).status_code == 200
    job = claim_job_for(printing, application_id)
    printed = requests.post(f"{printing}/api/v1/station/jobs/{job['print_job_id']}/printed",
                            json={"lease_token": job["lease_token"]}, headers=STATION,
                            timeout=15)
    assert printed.status_code == 200, printed.text

    def status():
        answer = requests.post(f"{intake}/api/v1/applications/status", timeout=10, json={
            "tracking_code": submitted.json()["tracking_code"], "nik": body["applicant"]["nik"]})
        return answer.json()["status"] in ("printed", "ready_for_pickup")
    eventually(status, what="the card printed")

    again = valid_body()
    again["applicant"] = body["applicant"]
    for lang, says in (("id", "Ajukan penggantian"), ("en", "Apply for a replacement")):
        refused = requests.post(f"{intake}/api/v1/applications", json=again, timeout=15,
                                headers={"Accept-Language": lang})
        assert refused.status_code == 409, refused.text
        error = refused.json()["error"]
        assert error["code"] == "card_already_issued" and says in error["message"]
        assert list(error["fields"]) == ["details.reason"]


DOCS = Path(__file__).parents[2] / "docs" / "api.md"


def documented_booking() -> tuple[dict, dict]:
    """docs/api.md's booking example and its 201 answer (``<DAY>``: any day one may book)."""
    section = DOCS.read_text().split("### POST /api/v1/recording-appointments\n", 1)[1]
    body, answer = re.findall(r"```json\n(.*?)```", section, re.S)[:2]
    return json.loads(body), json.loads(answer.replace("…", ""))


def test_the_documented_booking_example_books_on_the_register_sandbox(system):
    """The docs' (and the endpoint's docstring's) example is a person the
    local register sandbox has, alive and not recorded, on the KK given: an
    integrator trying it gets the documented 201, not a refusal."""
    body, documented = documented_booking()
    docstring = IntakeApi.book_recording.__doc__.split("->")[0]
    assert json.loads(docstring) == body
    day = working_day(2, 20).isoformat()
    booked = book(system, {**body, "day": day})
    assert booked.status_code == 201, booked.text
    answer = booked.json()
    assert set(answer) == set(documented) and answer["day"] == day
    assert answer["place"] == documented["place"]
