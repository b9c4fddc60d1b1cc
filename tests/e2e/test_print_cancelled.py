"""A print job a station cannot print because the record itself is wrong,
end to end through the real stack: held for an operator, the citizen's
status says so (not "retrying"); the operator gives it up
(``print_job_cancelled``): intake ends the application - the NIK may apply
again - and the citizen is told printing was stopped and what to do. Or the operator
releases it (``print_job_released``): the citizen's status is queued again.
A job held because its holder died is closed with condolences instead.
"""

from __future__ import annotations

import datetime

import pytest
import requests

from shared.clock import WIB

from tests.e2e.test_ktp_journey import ktp_application
from tests.e2e.test_office_handovers import death_verified, lookup, sms_to, verify
from tests.e2e.test_printed_document import held_jobs, report_printed
from tests.e2e.test_courier import pos_body, print_it
from tests.e2e.test_manifest_pos_choice import pos_confirmed_manifest
from tests.e2e.test_reprint import counter_job, pos_news
from tests.helpers import OPERATOR, STATION, claim_job_for, eventually, random_mobile, random_nik


def held_job(system, nik: str, mobile: str) -> tuple[str, str, dict]:
    """A KTP-el application verified, its job failed by a station with a data
    error (held at once): (application id, tracking code, the job as claimed)."""
    intake, printing = system.url("intake"), system.url("printing")
    submitted = requests.post(f"{intake}/api/v1/applications",
                              json=ktp_application(nik, mobile, None), timeout=10)
    assert submitted.status_code == 202, submitted.text
    application_id, code = submitted.json()["application_id"], submitted.json()["tracking_code"]
    verify(system, application_id)
    job = claim_job_for(printing, application_id)
    failed = requests.post(f"{printing}/api/v1/station/jobs/{job['print_job_id']}/failed",
                           json={"lease_token": job["lease_token"], "reason": "data_error"},
                           headers=STATION, timeout=10)
    assert failed.status_code == 200 and failed.json()["status"] == "held", failed.text
    return application_id, code, job



def cancelled_by_an_operator(system, print_job_id: str, code: str, nik: str) -> dict:
    """An operator cancels a held job; the citizen's status view once intake says so."""
    cancelled = requests.post(f"{system.url('printing')}/api/v1/operator/print-jobs/"
                              f"{print_job_id}/cancel", headers=OPERATOR, timeout=10)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled", \
        cancelled.text
    return eventually(lambda: (found := lookup(system, code, nik))["status"] == "print_cancelled"
                      and found, what="intake: print_cancelled")

def test_a_held_job_the_operator_cancels_ends_the_application_and_tells_the_citizen(system):
    intake = system.url("intake")
    nik, mobile = random_nik(female=True), random_mobile()
    application_id, code, job = held_job(system, nik, mobile)
    # held for an operator: the citizen is not told it is being retried
    held = eventually(lambda: (found := lookup(system, code, nik))["status"] == "print_held"
                      and found, what="intake: print_held")
    assert held["status_label"] == "Cetak tertunda, menunggu pemeriksaan petugas"
    assert not any(step["status"] == "print_failed" for step in held["timeline"])

    ended = cancelled_by_an_operator(system, job["print_job_id"], code, nik)
    assert ended["status_label"].startswith("Pencetakan dihentikan")
    # the operator's retry after a lost answer: the same 200, nothing said
    # again (outside audit F5: 409 not_held) - one SMS below
    again = requests.post(f"{system.url('printing')}/api/v1/operator/print-jobs/"
                          f"{job['print_job_id']}/cancel", headers=OPERATOR, timeout=10)
    assert again.status_code == 200 and again.json() == {
        "print_job_id": job["print_job_id"], "status": "cancelled"}, again.text

    def stopped_sms():
        return [m["message"] for m in sms_to(system, mobile)
                if code in m["message"] and "dihentikan" in m["message"]]
    [text] = eventually(stopped_sms, what="the citizen's SMS: printing stopped")
    assert "ajukan permohonan baru" in text
    assert nik not in text and mobile[1:] not in text

    # final: the NIK may apply again (no card was printed: a first issue still)
    again = requests.post(f"{intake}/api/v1/applications",
                          json=ktp_application(nik, random_mobile(), None), timeout=10)
    assert again.status_code == 202, again.text


def test_a_held_job_the_operator_releases_is_queued_again_for_the_citizen(system):
    """Checked and released by an operator: the citizen no longer reads that
    printing waits for an officer's check; printed, it moves on as usual."""
    printing, nik = system.url("printing"), random_nik()
    application_id, code, job = held_job(system, nik, random_mobile())
    eventually(lambda: lookup(system, code, nik)["status"] == "print_held",
               what="intake: print_held")

    released = requests.post(f"{printing}/api/v1/operator/print-jobs/{job['print_job_id']}"
                             "/release", headers=OPERATOR, timeout=10)
    assert released.status_code == 200 and released.json()["status"] == "queued", released.text
    queued = eventually(lambda: (found := lookup(system, code, nik))["status"] == "print_queued"
                        and found, what="intake: queued again")
    assert queued["status_label"] == "Masuk antrean cetak"
    steps = [s["status"] for s in queued["timeline"]]
    assert len(steps) - 1 - steps[::-1].index("print_queued") > steps.index("print_held")

    job = claim_job_for(printing, application_id)
    printed = requests.post(f"{printing}/api/v1/station/jobs/{job['print_job_id']}/printed",
                            json={"lease_token": job["lease_token"]}, headers=STATION, timeout=10)
    assert printed.status_code == 200, printed.text
    eventually(lambda: lookup(system, code, nik)["status"] in ("printed", "ready_for_pickup"),
               what="intake: printed")


def test_a_job_held_for_its_deceased_holder_cancelled_closes_it_with_condolences(system):
    """The auditor's case: a man's KTP-el in the queue, his Akta Kematian
    verified, the held job cancelled: his contact read "... dihentikan
    Disdukcapil. Hubungi Disdukcapil ... atau ajukan permohonan baru." - an
    application his family cannot make. They read that it is closed."""
    intake = system.url("intake")
    nik, mobile = random_nik(), random_mobile()
    submitted = requests.post(f"{intake}/api/v1/applications",
                              json=ktp_application(nik, mobile, None), timeout=10)
    assert submitted.status_code == 202, submitted.text
    application_id, code = submitted.json()["application_id"], submitted.json()["tracking_code"]
    verify(system, application_id)
    death_verified(system, nik)
    held = eventually(lambda: held_jobs(system).get(application_id), what="his job held")
    assert held["last_failure"] == "holder_deceased"

    view = cancelled_by_an_operator(system, held["print_job_id"], code, nik)
    assert view["status_label"] == "Pencetakan dihentikan; hubungi Disdukcapil"  # not "apply again"

    def closed_sms():
        return [m["message"] for m in sms_to(system, mobile)
                if code in m["message"] and "meninggal dunia" in m["message"]]
    [text] = eventually(closed_sms, what="the family's SMS: the application closed")
    assert "Turut berduka cita" in text
    told = [m["message"] for m in sms_to(system, mobile) if code in m["message"]]
    assert not any("ajukan permohonan baru" in m or "dihentikan" in m for m in told), told


def test_a_printed_card_whose_holder_died_since_is_listed_for_an_operator_to_cancel(system):
    """Outside audit A1: a card printed and waiting at the counter when its
    holder's Akta Kematian is verified was handed over to nobody - but no
    list showed it, and the family kept reading "ready for pickup" until
    someone came to the counter. It is listed with the held jobs (``status``
    ``printed``, ``last_failure`` ``holder_deceased``) until an operator
    cancels it; the cancel frees its seat and tells the family."""
    nik, mobile = random_nik(), random_mobile()
    application_id, code, job = counter_job(system, nik, mobile)
    report_printed(system, job)
    assert application_id not in held_jobs(system)
    death_verified(system, nik)
    listed = eventually(lambda: held_jobs(system).get(application_id),
                        what="the printed card listed for an operator")
    assert (listed["status"], listed["last_failure"]) == ("printed", "holder_deceased")
    assert listed["print_job_id"] == job["print_job_id"]

    view = cancelled_by_an_operator(system, job["print_job_id"], code, nik)
    assert view["status"] == "print_cancelled"
    assert application_id not in held_jobs(system)
    eventually(lambda: [m for m in sms_to(system, mobile)
                        if code in m["message"] and "meninggal dunia" in m["message"]],
               what="the family's SMS")



@pytest.mark.parametrize("death_first", [True, False])
def test_a_parcel_back_from_pos_of_a_holder_who_died_is_listed_for_an_operator(
        system, courier_events, pos, mongo, death_first):
    """Outside audit A3: a Pos parcel returned after its holder's death was
    given a window and the family read "siap diambil", the card listed
    nowhere. Back at the counter it is listed for an operator to cancel
    (never released) whichever printing hears of first; heard of after the
    death, it gets no window and no "ready" notice."""
    body = pos_body()
    nik, mobile = body["applicant"]["nik"], body["applicant"]["phone"]
    submitted = requests.post(f"{system.url('intake')}/api/v1/applications", json=body,
                              timeout=10)
    assert submitted.status_code == 202, submitted.text
    application_id, code = submitted.json()["application_id"], submitted.json()["tracking_code"]
    verify(system, application_id)
    print_it(system, application_id)
    [sent] = courier_events.wait_for(application_id, "parcel_dispatched")

    def comes_back():
        requests.post(f"{pos}/sandbox/advance/{sent['barcode']}", timeout=10,
                      json={"status": "RETURNED", "note": "Kembali ke pengirim",
                            "webhook_url": f"{system.url('courier')}/api/v1/pos/webhook"})
    if death_first:
        death_verified(system, nik, mongo)
        assert application_id not in held_jobs(system)  # with Pos: not the Dinas' to list
        comes_back()
    else:
        comes_back()
        eventually(lambda: lookup(system, code, nik)["status"] == "ready_for_pickup",
                   what="back at the counter")
        death_verified(system, nik)
    listed = eventually(lambda: held_jobs(system).get(application_id),
                        what="the returned card listed for an operator")
    assert (listed["status"], listed["last_failure"]) == ("printed", "holder_deceased")
    released = requests.post(f"{system.url('printing')}/api/v1/operator/print-jobs/"
                             f"{listed['print_job_id']}/release", headers=OPERATOR, timeout=10)
    assert released.status_code == 409, released.text
    assert released.json()["error"]["code"] == "holder_deceased", released.text
    cancelled_by_an_operator(system, listed["print_job_id"], code, nik)
    # the return is told by its window's notice alone ("gagal diantar Pos; ambil
    # di ..."): none for a holder who died first - courier's parcel_returned
    # tells nothing ("... hari dan jamnya segera kami kirim": outside audit A)
    texts = [m["message"] for m in sms_to(system, mobile)]
    ready = [text for text in texts if "gagal diantar Pos; ambil di" in text]
    assert ready == [] if death_first else len(ready) == 1, texts
    assert not any("segera kami kirim" in text for text in texts), texts


def test_a_member_of_a_manifest_pos_has_taken_is_not_listed_when_its_holder_dies(
        system, mongo, courier_events):
    """Outside audit A3: a jemput-bola member whose manifest the Dinas sends
    by Pos was listed (and cancelled) as "at the Dinas" when its holder died,
    while Pos carried it - the family read both the condolences and "arrived
    at the kelurahan office". Once Pos' courier has taken the parcel it is
    Pos': not listed, and a cancel answers ``with_pos``. (Before Pos takes
    it, the card is still the Dinas': listed and cancelled, kept out of the
    parcel - tests/integration/test_operator_repeats_and_blanko_ledger.py.)"""
    manifest_id, member, nik = pos_confirmed_manifest(system, mongo)
    job_id = print_it(system, member["application_id"])
    [posted] = courier_events.wait_for(member["application_id"], "parcel_dispatched")
    taken_at = datetime.datetime.now(WIB).replace(microsecond=0).isoformat()
    pos_news(system, posted["barcode"], posted["shipment_id"], "IN_TRANSIT", taken_at)
    eventually(lambda: mongo["printing"].manifests.find_one(
        {"_id": manifest_id, "pos_picked_up_at": {"$ne": None}}), what="printing hears Pos has it")
    death_verified(system, nik, mongo)
    assert member["application_id"] not in held_jobs(system)
    cancelled = requests.post(f"{system.url('printing')}/api/v1/operator/print-jobs/"
                              f"{job_id}/cancel", headers=OPERATOR, timeout=10)
    assert cancelled.status_code == 409, cancelled.text
    assert cancelled.json()["error"]["code"] == "with_pos"
