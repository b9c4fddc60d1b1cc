"""The tracking-code re-send, through the real stack: a NIK with an active
application of the type asked for gets ``tracking_code_resend_requested``
(the reference and the contact on file) on intake.events; an unknown NIK gets
the same answer and nothing is published; the per-NIK and per-client limits
hold (429 + Retry-After); bad input is a 400 naming the field.

Each test asks from a loopback address of its own (as the limit tests do), so
the per-client limit it spends holds back no other test."""

from __future__ import annotations

import pytest
import requests

from tests.e2e.test_office_handovers import reject
from tests.e2e.test_secrets_and_limits import new_client
from tests.document_bodies import skpwni_keluar_body
from tests.helpers import BrokerProbe, eventually, random_nik, valid_body

RESEND = "/api/v1/tracking-code/resend"
ROUTING_KEY = "tracking_code_resend_requested"


def submit(intake: str, body: dict) -> dict:
    response = requests.post(f"{intake}/api/v1/applications", json=body, timeout=10)
    assert response.status_code == 202, response.text
    return response.json()


@pytest.fixture
def probe(system):
    probe = BrokerProbe(system.amqp_uri, "intake.events", ROUTING_KEY)
    yield probe
    probe.close()


def test_an_active_application_gets_its_code_resent_unknown_nik_the_same_answer(system, probe):
    intake, client = system.url("intake"), new_client()
    body = valid_body()
    application = submit(intake, body)
    unknown = client.post(intake + RESEND, timeout=10,
                          json={"nik": random_nik(), "document_type": "ktp_el"})
    other_type = client.post(intake + RESEND, timeout=10,
                             json={"nik": body["applicant"]["nik"], "document_type": "kia"})
    known = client.post(intake + RESEND, timeout=10,
                        json={"nik": body["applicant"]["nik"], "document_type": "ktp_el"})
    for response in (unknown, other_type, known):
        assert response.status_code == 202, response.text
        assert response.json() == known.json()
        assert application["tracking_code"] not in response.text
    events = eventually(probe.drain, what="the re-send event")
    # the unknown NIK and the other type were asked first and published nothing
    assert [key for key, _ in events] == [ROUTING_KEY]
    event = events[0][1]
    assert event["application_id"] == application["application_id"]
    assert event["tracking_code"] == application["tracking_code"]
    assert event["contact"]["phone"] == "+62" + body["applicant"]["phone"][1:]
    assert probe.drain() == []


def test_a_rejected_application_gets_its_code_resent_until_its_subject_applies_again(
        system, probe):
    """Outside audit C: a citizen who lost the code of a rejected application
    could neither resubmit nor withdraw it (the re-send covered active ones
    only). The latest rejected one of a subject with none active is sent;
    once the subject has one in progress, only that one."""
    intake, client = system.url("intake"), new_client()
    body = valid_body()
    nik = body["applicant"]["nik"]
    first = submit(intake, body)
    reject(system, first["application_id"])
    second = submit(intake, body)  # applied again after the rejection
    reject(system, second["application_id"])
    assert client.post(intake + RESEND, timeout=10,
                       json={"nik": nik, "document_type": "ktp_el"}).status_code == 202
    [(_, event)] = eventually(probe.drain, what="the re-send event")
    assert (event["application_id"], event["tracking_code"]) == (
        second["application_id"], second["tracking_code"])  # the latest rejected one
    third = submit(intake, body)  # in progress: the rejected ones need no code
    assert client.post(intake + RESEND, timeout=10,
                       json={"nik": nik, "document_type": "ktp_el"}).status_code == 202
    [(_, event)] = eventually(probe.drain, what="the second re-send event")
    assert event["application_id"] == third["application_id"]
    assert probe.drain() == []


def test_english_answer(system):
    response = new_client().post(system.url("intake") + RESEND, timeout=10,
                                 headers={"Accept-Language": "en"},
                                 json={"nik": random_nik(), "document_type": "ktp_el"})
    assert response.status_code == 202
    assert response.json()["message"].startswith("If there is an active application")


def test_three_per_nik_then_429_from_any_client(system, probe):
    intake = system.url("intake")
    body = valid_body()
    submit(intake, body)
    ask = {"nik": body["applicant"]["nik"], "document_type": "ktp_el"}
    for _ in range(3):
        assert new_client().post(intake + RESEND, json=ask, timeout=10).status_code == 202
    refused = new_client().post(intake + RESEND, json=ask, timeout=10)
    assert refused.status_code == 429, refused.text
    assert int(refused.headers["Retry-After"]) > 0
    assert refused.json()["error"]["code"] == "too_many_attempts"
    assert "kirim ulang" in refused.json()["error"]["message"]
    seen = []
    eventually(lambda: seen.extend(probe.drain()) or len(seen) >= 3, what="three re-sends")
    assert len(seen) == 3


def test_twenty_per_client_then_429(system):
    intake, client = system.url("intake"), new_client()
    for _ in range(20):
        response = client.post(intake + RESEND, timeout=10,
                               json={"nik": random_nik(), "document_type": "ktp_el"})
        assert response.status_code == 202, response.text
    refused = client.post(intake + RESEND, timeout=10,
                          json={"nik": random_nik(), "document_type": "ktp_el"})
    assert refused.status_code == 429
    assert "Retry-After" in refused.headers
    # another client is not held back
    assert new_client().post(intake + RESEND, timeout=10, json={
        "nik": random_nik(), "document_type": "ktp_el"}).status_code == 202


@pytest.mark.parametrize("ask, field", [
    ({"document_type": "ktp_el"}, "nik"),
    ({"nik": "1234", "document_type": "ktp_el"}, "nik"),
    ({"nik": "3673045207900001", "document_type": "passport"}, "document_type"),
    ({"nik": "3673045207900001", "document_type": "ktp_el", "phone": "0812"}, "phone"),
])
def test_bad_input_names_the_field_and_publishes_nothing(system, probe, ask, field):
    response = new_client().post(system.url("intake") + RESEND, json=ask, timeout=10)
    assert response.status_code == 400, response.text
    assert field in response.json()["error"]["fields"]
    assert probe.drain() == []


def test_an_skpwni_gets_its_code_resent(system, probe):
    """An SKPWNI's subject is its members, a list: the re-send read it as a
    dict key and answered 500 (a review, forty-fifth session)."""
    intake, client = system.url("intake"), new_client()
    body = skpwni_keluar_body()
    application = submit(intake, body)
    answer = client.post(intake + RESEND, timeout=10,
                         json={"nik": body["applicant"]["nik"], "document_type": "skpwni"})
    assert answer.status_code == 202, answer.text
    [(_, event)] = eventually(probe.drain, what="the re-send event")
    assert event["tracking_code"] == application["tracking_code"]
