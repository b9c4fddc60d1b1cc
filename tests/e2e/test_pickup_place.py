"""A citizen collects at the office they chose, end to end (outside audit T1:
every citizen's application was collected at the Dinas, so a kecamatan's
printing station answered 204 while its citizens' cards waited).

Submit naming Kantor Kecamatan Curug (``delivery.place_id``) -> verified ->
the Curug card station (``SYSTEM_ENV``) claims and prints it -> a window at
the Curug office, named in the SMS and the e-mail. An unknown place, or one
with Pos delivery, is refused on ``delivery.place_id`` and stores nothing.
"""

from __future__ import annotations

import pytest
import requests

from shared.offices import place
from tests.e2e.test_ktp_journey import emails_to, ktp_application, plain_text
from tests.helpers import (CURUG_STATION, OPERATOR, claim_job_for, eventually, random_mobile,
                          random_nik)

CURUG = place("kec-curug")


def test_a_citizen_collects_at_the_kecamatan_office_they_chose(system, backing, mongo):
    intake, printing, sms = system.url("intake"), system.url("printing"), system.url("sms")
    nik, phone = random_nik(), random_mobile()
    email = f"warga.curug.{nik[-6:]}@example.id"
    body = {**ktp_application(nik, phone, email),
            "delivery": {"method": "pickup", "place_id": "kec-curug"}}
    submitted = requests.post(f"{intake}/api/v1/applications", json=body, timeout=10)
    assert submitted.status_code == 202, submitted.text
    application_id = submitted.json()["application_id"]
    tracking_code = submitted.json()["tracking_code"]
    stored = mongo["intake"].applications.find_one({"_id": application_id})
    assert stored["pickup_place_id"] == "kec-curug"
    # the citizen sees their choice at once (outside audit A1: only the
    # "ready" notice named it)
    status = requests.post(f"{intake}/api/v1/applications/status", timeout=10,
                           json={"tracking_code": tracking_code, "nik": nik}).json()
    assert status["pickup_place"] == {"place_id": CURUG.place_id, "name": CURUG.name,
                                      "address": CURUG.address, **CURUG.opening_hours}

    verified = requests.post(f"{intake}/api/v1/applications/{application_id}/verify",
                             headers=OPERATOR, timeout=10)
    assert verified.status_code == 200, verified.text

    # the Curug station prints only what is collected at Curug: it gets this card
    job = claim_job_for(printing, application_id, CURUG_STATION)
    assert job["pickup_place_id"] == "kec-curug"
    printed = requests.post(f"{printing}/api/v1/station/jobs/{job['print_job_id']}/printed",
                            json={"lease_token": job["lease_token"]}, headers=CURUG_STATION,
                            timeout=10)
    assert printed.status_code == 200, printed.text
    slot = printed.json()["slot"]
    assert (slot["place"], slot["address"]) == (CURUG.name, CURUG.address)
    window = f"{slot['start']}-{slot['end']}".replace(":", ".")  # Bahasa: 08.00-09.00

    e164 = "62" + phone[1:]
    texts = eventually(lambda: [m["message"] for m in requests.get(
        f"{sms}/sandbox/messages", params={"to": e164}, timeout=5).json()
        if "siap diambil" in m["message"]], what="pickup SMS at the gateway")
    assert len(texts) == 1
    assert CURUG.name in texts[0] and window in texts[0] and tracking_code in texts[0]
    assert "Disdukcapil" not in texts[0]

    mails = eventually(lambda: emails_to(backing.maildir, email), what="email at the SMTP server")
    ready = plain_text(mails[-1])
    assert CURUG.name in ready and CURUG.address in ready and window in ready

    ready_step = eventually(lambda: next((step for step in requests.post(
        f"{intake}/api/v1/applications/status", timeout=10,
        json={"tracking_code": tracking_code, "nik": nik}).json()["timeline"]
        if step["status"] == "ready_for_pickup"), None), what="ready_for_pickup step")
    assert ready_step["detail"]["slot"]["place"] == CURUG.name


@pytest.mark.parametrize("delivery", [
    {"method": "pickup", "place_id": "kec-bogor"},
    {"method": "pos", "place_id": "kec-curug",
     "address": {"street": "Jl. Raya Curug No. 7", "kelurahan_code": "3673041010",
                 "postal_code": "42171"}},
])
def test_an_unknown_place_or_one_with_pos_is_refused_and_nothing_stored(system, intake_state,
                                                                        delivery):
    before = intake_state()
    body = {**ktp_application(random_nik(), random_mobile(), None), "delivery": delivery}
    response = requests.post(f"{system.url('intake')}/api/v1/applications", json=body,
                             headers={"Accept-Language": "en"}, timeout=10)
    assert response.status_code == 400, response.text
    assert list(response.json()["error"]["fields"]) == ["delivery.place_id"]
    assert intake_state() == before
