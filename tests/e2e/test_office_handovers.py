"""Documents an officer collects at the Dinas and hands to their citizens at
the office, end to end through the real stack.

* A kecamatan's next-day KTP-el request: printed, on the kecamatan's
  hand-over list (``kecamatan_handover_ready``); the citizen is told where
  and from when to collect it; the kecamatan officer records the hand-over
  (``document_collected``, how = kecamatan) and intake frees the NIK.
* A next-day request for a citizen who lives in the kecamatan, whose NIK
  was issued elsewhere: on the list of the kecamatan that asked for it.
* A jemput-bola manifest the kelurahan collects at the Dinas
  (``batch_ready_for_kelurahan``): the citizen's timeline says where the
  document is, and the citizen is told where and from when to collect it.
* Nothing is handed over at an office before its officer's day at the Dinas
  (409 ``not_at_office``), and the counter does not record a document an
  office handed over (409 ``not_at_counter``).
* A manifest with a member rejected at verification and one withdrawn by its
  citizen goes back with its printed member: they will not be printed with it.
* A member rejected, resubmitted and verified again before its manifest went
  is a member again: the manifest goes back as one, with it.
"""

from __future__ import annotations

import datetime

import requests

from services.notification.messages import day_text
from shared.clock import today_wib
from tests.document_bodies import death_body
from tests.e2e.test_batches import (address, batch_url, first_ktp, ktp_row, new_batch_id,
                                    next_day)
from tests.e2e.test_ktp_journey import ktp_application
from tests.e2e.test_notification import OFFICERS, mails_to, parts
from tests.e2e.test_operator_flow import citizen
from tests.helpers import (KECAMATAN_CODE, KECAMATAN_OFFICER, KELURAHAN_CODE, KELURAHAN_OFFICER,
                           OPERATOR,
                           STATION, BrokerProbe, claim_job_for, eventually, officers_day_came,
                           random_mobile, random_nik)


def sms_to(system, mobile: str) -> list[dict]:
    return requests.get(system.url("sms") + "/sandbox/messages",
                        params={"to": "62" + mobile[1:]}, timeout=5).json()


def lookup(system, tracking_code: str, nik: str) -> dict:
    answer = requests.post(f"{system.url('intake')}/api/v1/applications/status",
                           json={"tracking_code": tracking_code, "nik": nik}, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def published(probe: BrokerProbe, seen: list, event_type: str, application_id: str) -> list:
    seen += probe.drain()
    return [body for key, body in seen if key == event_type and application_id in
            {body.get("application_id"), *(i["application_id"] for i in body.get("items", []))}]


def told_of_the_office(system, mobile: str, nik: str, code: str, office: str,
                       ready: dict) -> None:
    """The citizen's SMS naming the office and the day from which the
    document waits there; no NIK or phone number in it."""
    def office_sms():
        return [m["message"] for m in sms_to(system, mobile)
                if code in m["message"] and office in m["message"]]
    [text] = eventually(office_sms, what=f"the citizen's SMS: at the {office}")
    assert day_text(ready["at_office_from"], "id", short=True) in text, text
    assert nik not in text and mobile[1:] not in text


def printed_with_step(system, code: str, nik: str, step: str) -> dict:
    """The citizen's view once it shows ``step``, the application still
    ``printed`` (active until the officer's hand-over); that step."""
    def shown():
        found = lookup(system, code, nik)
        return found if found["status"] == "printed" and any(
            s["status"] == step for s in found["timeline"]) else None
    application = eventually(shown, what=f"intake: step {step}")
    [found] = [s for s in application["timeline"] if s["status"] == step]
    return found


def batch_sent(system, rows: list[dict], timeout: float = 60) -> dict:
    """The kelurahan officer's batch of ``rows``, stored: intake's answer."""
    batch = requests.put(batch_url(system, new_batch_id()), json={"applications": rows},
                         headers=KELURAHAN_OFFICER, timeout=timeout)
    assert batch.status_code == 200, batch.text[:2000]
    return batch.json()


def verify(system, application_id: str) -> None:
    verified = requests.post(f"{system.url('intake')}/api/v1/applications/{application_id}"
                             "/verify", headers=OPERATOR, timeout=10)
    assert verified.status_code == 200, verified.text


def death_verified(system, nik: str, mongo=None) -> None:
    """An Akta Kematian of ``nik`` (died two days ago) submitted and
    verified; with ``mongo``, until printing recorded the death."""
    died_on = today_wib() - datetime.timedelta(days=2)
    death = requests.post(f"{system.url('intake')}/api/v1/applications", timeout=10,
                          json=death_body(died_on, deceased_nik=nik))
    assert death.status_code == 202, death.text
    verify(system, death.json()["application_id"])
    if mongo is not None:
        eventually(lambda: mongo["printing"].deceased.find_one({"_id": nik}),
                   what="the death recorded at printing")


def reject(system, application_id: str) -> None:
    """The operator rejects the application at verification."""
    refused = requests.post(f"{system.url('intake')}/api/v1/applications/{application_id}"
                            "/reject", headers=OPERATOR, timeout=10,
                            json={"reasons": ["other"], "note": "Data KK tidak terbaca"})
    assert refused.status_code == 200, refused.text


def print_it(system, application_id: str) -> dict:
    """A station claims and prints the application's job; printing's answer."""
    printing = system.url("printing")
    job = claim_job_for(printing, application_id)
    printed = requests.post(f"{printing}/api/v1/station/jobs/{job['print_job_id']}/printed",
                            json={"lease_token": job["lease_token"]}, headers=STATION, timeout=10)
    assert printed.status_code == 200, printed.text
    return printed.json()


def not_at_office(answer: requests.Response) -> bool:
    """The officers' own 409: not the counter's code or text."""
    error = answer.json()["error"]
    return answer.status_code == 409 and error["code"] == "not_at_office" and \
        "loket" not in error["message"]


def test_a_next_day_request_is_handed_over_at_the_kecamatan_and_frees_the_nik(system, mongo):
    printing = system.url("printing")
    handovers = f"{printing}/api/v1/kecamatan/handovers"
    probe, seen = BrokerProbe(system.amqp_uri, "printing.events"), []
    nik = random_nik(kecamatan=KECAMATAN_CODE)
    body = first_ktp(nik)
    mobile = body["applicant"]["phone"]
    try:
        accepted = next_day(system, body)
        assert accepted.status_code == 202, accepted.text
        application_id, code = accepted.json()["application_id"], accepted.json()["tracking_code"]
        verify(system, application_id)
        handover = {"tracking_code": code, "nik": nik}

        job = claim_job_for(printing, application_id)
        # claimed, not printed: still at the Dinas
        early = requests.post(handovers, json=handover, headers=KECAMATAN_OFFICER, timeout=10)
        assert not_at_office(early), early.text
        printed = requests.post(f"{printing}/api/v1/station/jobs/{job['print_job_id']}/printed",
                                json={"lease_token": job["lease_token"]}, headers=STATION,
                                timeout=10)
        assert printed.status_code == 200 and printed.json()["slot"] is None, printed.text

        [ready] = eventually(lambda: published(probe, seen, "kecamatan_handover_ready",
                                               application_id), what="kecamatan_handover_ready")
        assert ready["kecamatan_code"] == KECAMATAN_CODE
        assert ready["at_office_from"] > ready["day"]  # the working day after the officer's

        # the citizen hears where and from when (no NIK, no phone number)
        told_of_the_office(system, mobile, nik, code, "Kantor Kecamatan Curug", ready)
        # the timeline says where the document is
        step = printed_with_step(system, code, nik, "to_kecamatan")
        assert "kantor kecamatan" in step["label"]
        assert step["detail"] == {"kecamatan_code": KECAMATAN_CODE, "day": ready["day"],
                                  "at_office_from": ready["at_office_from"]}

        # the counter does not hold it; a kelurahan token is not the kecamatan's
        assert requests.post(f"{printing}/api/v1/counter/collections", json=handover,
                             headers=OPERATOR, timeout=10).status_code == 409
        assert requests.post(handovers, json=handover, headers=KELURAHAN_OFFICER,
                             timeout=10).status_code == 401
        wrong = requests.post(handovers, json={**handover, "nik": random_nik()},
                              headers=KECAMATAN_OFFICER, timeout=10)
        assert wrong.status_code == 404, wrong.text
        missing = requests.post(handovers, json={"tracking_code": code},
                                headers=KECAMATAN_OFFICER, timeout=10)
        assert missing.status_code == 400 and "nik" in missing.json()["error"]["fields"]
        # today the card is still at the Dinas: its officer collects it on ``day``
        before = requests.post(handovers, json=handover, headers=KECAMATAN_OFFICER, timeout=10)
        assert not_at_office(before) and ready["day"] in before.json()["error"]["message"], \
            before.text

        officers_day_came(mongo["printing"], application_id)
        handed = requests.post(handovers, json=handover, headers=KECAMATAN_OFFICER, timeout=10)
        assert handed.status_code == 200, handed.text
        assert handed.json() == {"tracking_code": code, "status": "collected"}
        again = requests.post(handovers, json=handover, headers=KECAMATAN_OFFICER, timeout=10)
        assert again.status_code == 200 and again.json()["status"] == "collected"
        # the counter did not hand it over: no 'collected' from it
        counter = requests.post(f"{printing}/api/v1/counter/collections", json=handover,
                                headers=OPERATOR, timeout=10)
        assert counter.status_code == 409 and counter.json()["error"]["code"] == \
            "not_at_counter", counter.text
        [collected] = eventually(lambda: published(probe, seen, "document_collected",
                                                   application_id), what="document_collected")
        assert (collected["how"], collected["collected_by"]) == (
            "kecamatan", f"officer-curug@{KECAMATAN_CODE}")

        eventually(lambda: lookup(system, code, nik)["status"] == "collected",
                   what="intake: collected")
        # final: the NIK may apply again (a lost card)
        lost = {**ktp_application(nik, random_mobile(), None),
                "details": {"reason": "lost", "police_report_number": "LP/77/XII/2026"}}
        renewed = requests.post(f"{system.url('intake')}/api/v1/applications", json=lost,
                                timeout=10)
        assert renewed.status_code == 202, renewed.text
        assert len(published(probe, seen, "document_collected", application_id)) == 1
    finally:
        probe.close()


def test_a_manifest_the_kelurahan_collects_tells_its_citizens_where_and_when(system):
    probe, seen = BrokerProbe(system.amqp_uri, "printing.events"), []
    row = ktp_row()
    nik, mobile = row["applicant"]["nik"], row["applicant"]["phone"]
    try:
        batch = requests.put(batch_url(system, new_batch_id()), json={"applications": [row]},
                             headers=KELURAHAN_OFFICER, timeout=60)
        assert batch.status_code == 200, batch.text
        [accepted] = batch.json()["accepted"]
        application_id, code = accepted["application_id"], accepted["tracking_code"]
        verify(system, application_id)
        print_it(system, application_id)
        [ready] = eventually(lambda: published(probe, seen, "batch_ready_for_kelurahan",
                                               application_id), what="batch_ready_for_kelurahan")
        assert ready["day"] == ready["slot"]["date"]
        assert datetime.date.fromisoformat(ready["at_office_from"]) > \
            datetime.date.fromisoformat(ready["day"])

        step = printed_with_step(system, code, nik, "to_kelurahan")
        assert step["label"].startswith("Dicetak; diambil petugas kelurahan di Dinas")
        assert (step["detail"]["day"], step["detail"]["at_office_from"]) == (
            ready["day"], ready["at_office_from"])
        assert not any(s["status"] == "at_kelurahan"
                       for s in lookup(system, code, nik)["timeline"])
        told_of_the_office(system, mobile, nik, code, "Kantor Kelurahan Sukajaya", ready)
    finally:
        probe.close()


def test_a_next_day_request_for_a_citizen_who_moved_in_is_on_the_officer_s_list(system, mongo):
    """A NIK issued in Kasemen (367302), the address in Curug: accepted for
    Curug's officer, so it goes on Curug's list, where that officer collects
    it and records the hand-over."""
    printing = system.url("printing")
    probe, seen = BrokerProbe(system.amqp_uri, "printing.events"), []
    nik = random_nik(kecamatan="367302")
    try:
        accepted = next_day(system, {**first_ktp(nik), "address": address()})
        assert accepted.status_code == 202, accepted.text
        application_id, code = accepted.json()["application_id"], accepted.json()["tracking_code"]
        verify(system, application_id)
        print_it(system, application_id)
        [ready] = eventually(lambda: published(probe, seen, "kecamatan_handover_ready",
                                               application_id), what="kecamatan_handover_ready")
        assert ready["kecamatan_code"] == KECAMATAN_CODE
        officers_day_came(mongo["printing"], application_id)
        handed = requests.post(f"{printing}/api/v1/kecamatan/handovers",
                               json={"tracking_code": code, "nik": nik},
                               headers=KECAMATAN_OFFICER, timeout=10)
        assert handed.status_code == 200 and handed.json()["status"] == "collected", handed.text
    finally:
        probe.close()


def test_a_manifest_goes_back_without_its_rejected_and_withdrawn_members(system, mongo):
    """Three rows: one verified and printed, one rejected at verification and
    withdrawn by its citizen, one withdrawn before verification. Neither will
    be printed with the first: it goes back to the kelurahan alone, and its
    officer hands it over (from their day at the Dinas)."""
    intake, printing = system.url("intake"), system.url("printing")
    probe, seen = BrokerProbe(system.amqp_uri, "printing.events"), []
    rows = [ktp_row() for _ in range(3)]
    try:
        printed, rejected, withdrawn = batch_sent(system, rows)["accepted"]
        verify(system, printed["application_id"])
        reject(system, rejected["application_id"])
        print_it(system, printed["application_id"])
        for row, member in ((rows[1], rejected), (rows[2], withdrawn)):
            cancelled = citizen(intake, "cancel", member["tracking_code"],
                                row["applicant"]["nik"])
            assert cancelled.status_code == 200, cancelled.text

        [ready] = eventually(lambda: published(probe, seen, "batch_ready_for_kelurahan",
                                               printed["application_id"]),
                             what="batch_ready_for_kelurahan")
        assert [item["application_id"] for item in ready["items"]] == [
            printed["application_id"]]
        handover = {"tracking_code": printed["tracking_code"],
                    "nik": rows[0]["applicant"]["nik"]}
        handovers = f"{printing}/api/v1/kelurahan/handovers"
        early = requests.post(handovers, json=handover, headers=KELURAHAN_OFFICER, timeout=10)
        assert not_at_office(early), early.text
        officers_day_came(mongo["printing"], printed["application_id"])
        handed = requests.post(handovers, json=handover, headers=KELURAHAN_OFFICER, timeout=10)
        assert handed.status_code == 200 and handed.json()["status"] == "collected", handed.text
        counter = requests.post(f"{printing}/api/v1/counter/collections", json=handover,
                                headers=OPERATOR, timeout=10)
        assert counter.status_code == 409, counter.text
        eventually(lambda: lookup(system, printed["tracking_code"],
                                  rows[0]["applicant"]["nik"])["status"] == "collected",
                   what="intake: collected")
    finally:
        probe.close()


def test_a_member_verified_again_before_its_manifest_went_goes_back_with_it(
        system, backing, mongo):
    """Three rows; the second rejected at verification, resubmitted by its
    citizen and verified again while the others wait to print. Printed last,
    after the other two: it is a member again, so the manifest waits for it
    and goes back as one hand-over of all three - one e-mail to the
    kelurahan officer, none saying a member is not coming (the auditor's
    case: two e-mails at once, the first leaving it out)."""
    intake = system.url("intake")
    probe, seen = BrokerProbe(system.amqp_uri, "printing.events"), []
    rows = [ktp_row() for _ in range(3)]
    try:
        answer = batch_sent(system, rows)
        manifest_id = answer["manifest_id"]
        first, late, last = answer["accepted"]
        verify(system, first["application_id"])
        reject(system, late["application_id"])
        again = citizen(intake, "resubmit", late["tracking_code"], rows[1]["applicant"]["nik"],
                        applicant={"full_name": rows[1]["applicant"]["full_name"] + " Putri"})
        assert again.status_code == 200, again.text
        verify(system, late["application_id"])
        verify(system, last["application_id"])
        # printing has the re-verification (its job exists) before the others print
        eventually(lambda: mongo["printing"].print_jobs.find_one(
            {"application_id": late["application_id"]}), what="printing: the late member's job")
        for member in (first, last, late):
            print_it(system, member["application_id"])

        [ready] = eventually(lambda: published(probe, seen, "batch_ready_for_kelurahan",
                                               late["application_id"]),
                             what="batch_ready_for_kelurahan with the late member")
        members = [m["application_id"] for m in answer["accepted"]]
        assert [item["application_id"] for item in ready["items"]] == members
        assert (ready["follow_up"], ready["members"]) == (False, 3)
        assert [body for key, body in seen if key == "batch_ready_for_kelurahan"
                and body["manifest_id"] == manifest_id] == [ready]

        codes = [m["tracking_code"] for m in answer["accepted"]]

        def officers_mail():
            return [m for m in mails_to(backing, OFFICERS[KELURAHAN_CODE])
                    if manifest_id in parts(m)["text/plain"]]
        [mail] = eventually(officers_mail, what="the kelurahan officer's e-mail")
        text = parts(mail)["text/plain"]
        assert all(code in text for code in codes), text
        assert "tidak ikut" not in text and "susulan" not in mail["Subject"], text
    finally:
        probe.close()
