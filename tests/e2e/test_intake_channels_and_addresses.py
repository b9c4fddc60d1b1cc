"""Checks at intake's edges, through the real stack: the operator's queue
filters the applications made from the PRR backlog (channel ``prr``); a
Pos delivery address whose kelurahan code is in no region list is a 400
naming ``delivery.address.kelurahan_code``, with nothing stored or published;
a WhatsApp applicant's document comes by Pos, and the notice that the
application is received says so, not where to collect it."""

from __future__ import annotations

import pytest
import requests

from tests.e2e.test_appointments import handled, prr_event
from tests.e2e.test_notification import mails_to, parts
from tests.helpers import (OPERATOR, BrokerProbe, eventually, publish, random_mobile,
                           random_nik, valid_body)


def test_the_queue_filters_the_prr_channel(system, mongo):
    nik = random_nik()
    event = prr_event(nik, random_mobile())
    publish(system.amqp_uri, "printing.events", "prr_record_imported", event)
    handled(mongo, event)

    def listed():
        rows = []
        for status in ("verified", "print_queued"):  # printing queues it soon after
            page = requests.get(f"{system.url('intake')}/api/v1/operator/applications",
                                headers=OPERATOR, timeout=10,
                                params={"status": status, "channel": "prr", "limit": 100})
            assert page.status_code == 200, page.text
            rows += page.json()["applications"]
        return [row for row in rows if row["full_name"] == "Dedi Kurniawan"] or None

    rows = eventually(listed, what="the PRR application in the queue")
    assert {row["channel"] for row in rows} == {"prr"}


def test_a_submission_may_not_name_the_prr_channel(system):
    response = requests.post(f"{system.url('intake')}/api/v1/applications", timeout=10,
                             json={**valid_body(), "channel": "prr"})
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["channel"]


@pytest.mark.parametrize("code", ["3673049999", "9999999999", "36730410"])
def test_a_delivery_address_outside_the_region_list_is_refused(system, intake_state, code):
    probe = BrokerProbe(system.amqp_uri, "intake.events")
    before = intake_state()
    body = {**valid_body(), "delivery": {"method": "pos", "address": {
        "street": "Jl. Raya Curug No. 40", "kelurahan_code": code, "postal_code": "42171"}}}
    try:
        response = requests.post(f"{system.url('intake')}/api/v1/applications", json=body,
                                 timeout=10, headers={"Accept-Language": "en"})
        assert response.status_code == 400, response.text
        assert list(response.json()["error"]["fields"]) == ["delivery.address.kelurahan_code"]
        assert intake_state() == before
        # a valid one after it is the only thing published
        accepted = requests.post(f"{system.url('intake')}/api/v1/applications", timeout=10,
                                 json={**body, "delivery": {"method": "pos", "address": {
                                     **body["delivery"]["address"],
                                     "kelurahan_code": "3673041010"}}})
        assert accepted.status_code == 202, accepted.text
        events = eventually(probe.drain, what="the valid application's event")
        assert [e["application_id"] for _, e in events] == [accepted.json()["application_id"]]
    finally:
        probe.close()


def test_a_whatsapp_applicant_gets_the_document_by_pos(system, intake_state):
    """DESIGN.md: "Pos Indonesia delivers documents for PRR and WhatsApp
    applicants" (outside audit P1: a WhatsApp application with no
    ``delivery`` was printed for the Dinas' counter). With no method named,
    a WhatsApp application is delivered by Pos, so it needs an address; the
    citizen may still choose to collect it."""
    intake = system.url("intake")
    before = intake_state()
    bare = {**valid_body(), "channel": "whatsapp"}
    refused = requests.post(f"{intake}/api/v1/applications", json=bare, timeout=10)
    assert refused.status_code == 400, refused.text
    assert list(refused.json()["error"]["fields"]) == ["delivery.address"]
    assert "WhatsApp" in refused.json()["error"]["fields"]["delivery.address"][0]
    assert intake_state() == before
    address = {"street": "Jl. Raya Curug No. 40", "kelurahan_code": "3673041010",
               "postal_code": "42171"}
    delivered = requests.post(f"{intake}/api/v1/applications", timeout=10,
                              json={**bare, "delivery": {"address": address}})
    collected = requests.post(f"{intake}/api/v1/applications", timeout=10,
                              json={**valid_body(), "channel": "whatsapp",
                                    "delivery": {"method": "pickup"}})
    methods = []
    for answer in (delivered, collected):
        assert answer.status_code == 202, answer.text
        detail = requests.get(f"{intake}/api/v1/operator/applications/"
                              f"{answer.json()['application_id']}", headers=OPERATOR, timeout=10)
        methods.append(detail.json()["delivery"]["method"])
    assert methods == ["pos", "pickup"]


def test_the_received_notice_of_a_pos_delivery_names_no_place_to_collect(system, backing):
    """Outside audit (LOW): a WhatsApp application, delivered by Pos, was told
    "Hasilnya, serta kapan dan di mana dokumen dapat diambil, kami kirim" -
    wrong for a document Pos brings to the door. The SMS (Bahasa Indonesia)
    and the e-mail (English) of a Pos delivery say Pos brings it to the address."""
    intake = system.url("intake")
    address = {"street": "Jl. Raya Curug No. 40", "kelurahan_code": "3673041010",
               "postal_code": "42171"}
    by_whatsapp = {**valid_body(), "channel": "whatsapp", "delivery": {"address": address}}
    by_email = valid_body()
    email = f"warga.{by_email['applicant']['nik']}@example.id"
    by_email["applicant"].update(email=email, preferred_channel="email", language="en")
    by_email["delivery"] = {"method": "pos", "address": address}
    codes = []
    for body in (by_whatsapp, by_email):
        answer = requests.post(f"{intake}/api/v1/applications", json=body, timeout=10)
        assert answer.status_code == 202, answer.text
        codes.append(answer.json()["tracking_code"])

    phone = "62" + by_whatsapp["applicant"]["phone"][1:]
    [sms] = eventually(lambda: requests.get(system.url("sms") + "/sandbox/messages",
                                            params={"to": phone}, timeout=5).json(),
                       what="the 'received' SMS")
    assert codes[0] in sms["message"], sms
    # the receipt (29a1aa9): what comes next is the parcel sent, nowhere to collect
    assert "saat dikirim Pos" in sms["message"] and "diambil" not in sms["message"], sms
    [mail] = eventually(lambda: mails_to(backing, email), what="the 'received' e-mail")
    text = parts(mail)["text/plain"]
    assert codes[1] in text
    assert "when the KTP-el (ID card) is sent" in text, text
    assert "Pos Indonesia delivers it to the address you gave" in text, text
    assert "where to collect" not in text, text


def test_notices_follow_the_request_s_language_unless_the_applicant_names_one(system):
    """Outside audit T3: a front-end sending only ``Accept-Language: en`` got
    its answers in English and every SMS in Bahasa Indonesia. Without
    ``applicant.language`` the notices take the request's language; one
    given wins."""
    intake = system.url("intake")
    english, bahasa = valid_body(), valid_body()
    bahasa["applicant"]["language"] = "id"
    for body in (english, bahasa):
        answer = requests.post(f"{intake}/api/v1/applications", json=body, timeout=10,
                               headers={"Accept-Language": "en"})
        assert answer.status_code == 202, answer.text
    # outside audit A2: a regional tag weighs as its language - Bahasa first
    # here (werkzeug's best match took the exact ``en`` before ``id-ID``)
    regional = valid_body()
    answer = requests.post(f"{intake}/api/v1/applications", json=regional, timeout=10,
                           headers={"Accept-Language": "id-ID,en;q=0.5"})
    assert answer.status_code == 202, answer.text

    def received(body) -> str:
        phone = "62" + body["applicant"]["phone"][1:]
        [sms] = eventually(lambda: requests.get(system.url("sms") + "/sandbox/messages",
                                                params={"to": phone}, timeout=5).json(),
                           what="the 'received' SMS")
        return sms["message"]

    assert "application received" in received(english)
    assert "permohonan" in received(bahasa) and "diterima" in received(bahasa)
    assert "permohonan" in received(regional) and "diterima" in received(regional)
