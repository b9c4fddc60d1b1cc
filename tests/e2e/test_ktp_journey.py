"""One KTP-el print application, end to end, through the real stack.

Citizen submits -> operator verifies -> printing queues a job -> a station
claims it and reports it printed -> pickup slot -> SMS through the gateway's
HTTP API and email through SMTP, both with the slot -> the citizen's status
lookup shows every step with its time.
"""

from __future__ import annotations

import datetime
import mailbox

import requests

from shared.clock import today_wib
from shared.offices import WorkingCalendar
from tests.helpers import (OPERATOR, STATION, claim_job_for, eventually, random_kk,
                           random_mobile, random_nik)

DAYS_ID = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")


def ktp_application(nik: str, phone: str, email: str) -> dict:
    return {"document_type": "ktp_el", "channel": "web",
            "applicant": {"nik": nik, "kk_number": random_kk(), "full_name": "Siti Aminah",
                          "phone": phone, "email": email},
            "details": {"reason": "first_issue"}}


def emails_to(maildir, address: str) -> list:
    return [message for message in mailbox.Maildir(str(maildir), create=False)
            if message["To"] == address]


def plain_text(message) -> str:
    """The text/plain part of an e-mail (they carry an HTML part too)."""
    part = next(part for part in message.walk() if part.get_content_type() == "text/plain")
    return part.get_payload(decode=True).decode()


def test_ktp_el_print_journey(system, backing):
    intake, printing, sms = system.url("intake"), system.url("printing"), system.url("sms")
    nik, phone = random_nik(female=True), random_mobile()
    email = f"warga.{nik[-6:]}@example.id"

    submitted = requests.post(f"{intake}/api/v1/applications",
                              json=ktp_application(nik, phone, email), timeout=10)
    assert submitted.status_code == 202, submitted.text
    application_id = submitted.json()["application_id"]
    tracking_code = submitted.json()["tracking_code"]
    assert tracking_code.startswith("SDK")

    verified = requests.post(f"{intake}/api/v1/applications/{application_id}/verify",
                             headers=OPERATOR, timeout=10)
    assert verified.status_code == 200, verified.text

    job = claim_job_for(printing, application_id)
    assert job["nik"] == nik and job["document_type"] == "ktp_el"
    printed = requests.post(f"{printing}/api/v1/station/jobs/{job['print_job_id']}/printed",
                            json={"lease_token": job["lease_token"]}, headers=STATION, timeout=10)
    assert printed.status_code == 200, printed.text
    slot = printed.json()["slot"]
    slot_day = datetime.date.fromisoformat(slot["date"])
    # printed today (WIB): ready from the next working day, first free window
    assert slot_day == WorkingCalendar().next_working_day(today_wib())
    day_text = f"{DAYS_ID[slot_day.weekday()]}, {slot_day.day}"
    # Indonesian-style times in Bahasa texts (08.00-09.00) since outside audit T3
    window = f"{slot['start']}-{slot['end']}".replace(":", ".")

    e164 = "62" + phone[1:]
    # "received" (routine: the preferred channel, SMS), then "ready for pickup"
    texts = eventually(lambda: [m["message"] for m in requests.get(
        f"{sms}/sandbox/messages", params={"to": e164}, timeout=5).json()
        if "siap diambil" in m["message"]], what="pickup SMS at the gateway")
    assert len(texts) == 1
    assert day_text in texts[0] and window in texts[0]  # the day in full

    assert slot["place"] in texts[0] and tracking_code in texts[0]
    assert nik not in texts[0] and phone[1:] not in texts[0]

    mails = eventually(lambda: emails_to(backing.maildir, email), what="email at the SMTP server")
    assert len(mails) == 1
    body = plain_text(mails[0])
    assert day_text in body and window in body and slot["place"] in body
    assert nik not in body

    def timeline():
        response = requests.post(f"{intake}/api/v1/applications/status",
                                 json={"tracking_code": tracking_code, "nik": nik}, timeout=10)
        assert response.status_code == 200, response.text
        steps = response.json()["timeline"]
        # the printed step may come last: its event can lose a status race
        # with print_job_queued and be retried after 1/5/30 s
        # (tests/e2e/test_downstream_events.py, "the late printed step")
        complete = sum(s["status"] == "notified" for s in steps) == 3 \
            and any(s["status"] == "printed" for s in steps)
        return response.json() if complete else None

    status = eventually(timeline, timeout=60, what="complete status timeline")
    steps = [step["status"] for step in status["timeline"]]
    assert [step for step in steps if step != "notified"] \
        == ["submitted", "verified", "print_queued", "printed", "ready_for_pickup"]
    assert sorted(s["detail"]["channel"] for s in status["timeline"] if s["status"] == "notified") \
        == ["email", "sms", "sms"]
    assert status["status"] == "ready_for_pickup" and status["status_label"] == "Siap diambil"
    ready = next(s for s in status["timeline"] if s["status"] == "ready_for_pickup")
    assert ready["detail"]["slot"] == slot
    times = [datetime.datetime.fromisoformat(step["at"]) for step in status["timeline"]]
    assert times == sorted(times) and all(t.tzinfo for t in times)
    assert nik not in str(status) and phone[1:] not in str(status)

    # personal data never reaches the services' logs unmasked
    logs = "".join(path.read_text() for path in (system.run_dir / "logs").glob("*.log"))
    assert tracking_code in logs  # the logs are there and speak of this application
    assert nik not in logs and phone[1:] not in logs and e164 not in logs


def test_status_lookup_with_wrong_nik_reveals_nothing(system):
    intake = system.url("intake")
    nik = random_nik()
    submitted = requests.post(f"{intake}/api/v1/applications",
                              json=ktp_application(nik, random_mobile(), None), timeout=10)
    assert submitted.status_code == 202, submitted.text
    lookup = requests.post(f"{intake}/api/v1/applications/status", timeout=10,
                           json={"tracking_code": submitted.json()["tracking_code"],
                                 "nik": random_nik()})
    assert lookup.status_code == 404
    assert lookup.json()["error"]["code"] == "not_found"


def test_verify_needs_an_operator_token(system):
    response = requests.post(f"{system.url('intake')}/api/v1/applications/x/verify",
                             headers={"Authorization": "Bearer wrong"}, timeout=10)
    assert response.status_code == 401
