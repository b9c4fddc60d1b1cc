"""The officers' channels are theirs: the public ``POST /api/v1/applications``
(no token) took ``"channel": "kecamatan"`` or ``"kelurahan"`` with 202, and
such rows looked like a real officer's in the operators' queue filtered by
channel. Now it answers 400 naming ``channel`` and stores nothing; the
kecamatan's next-day requests (the officer's token) still come in as
``kecamatan``. Real intake container, database and broker."""

from __future__ import annotations

import uuid

import pytest

from services.intake.service import IntakeApi
from tests.helpers import (KECAMATAN_CODE, KECAMATAN_OFFICER, OPERATOR, new_client, random_kk,
                           random_mobile, random_nik, service_config, valid_body)


@pytest.fixture
def intake(backing, container_factory, mongo):
    database = f"intake_channels_{uuid.uuid4().hex[:6]}"
    config = service_config(backing, database, PIPELINE_QUEUES="")
    container_factory(IntakeApi, config).start()
    return f"http://{config['WEB_SERVER_ADDRESS']}/api/v1", mongo[database]


@pytest.mark.parametrize("channel", ["kecamatan", "kelurahan"])
def test_a_citizen_cannot_file_an_application_as_an_officers_channel(intake, channel):
    base, db = intake
    client = new_client()
    body = {**valid_body(), "channel": channel}
    body["applicant"]["nik"] = random_nik(kecamatan=KECAMATAN_CODE)
    refused = client.post(f"{base}/applications", json=body, timeout=30,
                          headers={"Accept-Language": "en"})
    assert refused.status_code == 400, refused.text
    error = refused.json()["error"]
    assert list(error["fields"]) == ["channel"]
    assert error["fields"]["channel"] == [
        "The kelurahan and kecamatan channels are for officers with their token; a citizen "
        "applies through web, app or whatsapp."]
    assert db.applications.count_documents({"applicant.nik": body["applicant"]["nik"]}) == 0
    in_bahasa = client.post(f"{base}/applications", json=body, timeout=30)
    assert in_bahasa.json()["error"]["fields"]["channel"][0].startswith(
        "Saluran kelurahan dan kecamatan hanya untuk petugas")
    # a channel that is none at all keeps marshmallow's words
    unknown = client.post(f"{base}/applications", json={**body, "channel": "fax"}, timeout=30,
                          headers={"Accept-Language": "en"})
    assert unknown.json()["error"]["fields"]["channel"] == [
        "Must be one of: web, app, whatsapp."]
    citizens = client.post(f"{base}/applications", json={**body, "channel": "web"}, timeout=30)
    assert citizens.status_code == 202, citizens.text


def test_the_kecamatan_officer_s_requests_are_the_only_kecamatan_rows(intake):
    base, db = intake
    officer = new_client().post(f"{base}/kecamatan/next-day-requests", headers=KECAMATAN_OFFICER,
                                timeout=30, json={
                                    "applicant": {"nik": random_nik(kecamatan=KECAMATAN_CODE),
                                                  "kk_number": random_kk(),
                                                  "full_name": "Siti Rohmah",
                                                  "phone": random_mobile()},
                                    "details": {"reason": "first_issue"}})
    assert officer.status_code == 202, officer.text
    stranger = {**valid_body(), "channel": "kecamatan"}
    stranger["applicant"]["nik"] = random_nik(kecamatan=KECAMATAN_CODE)
    assert new_client().post(f"{base}/applications", json=stranger, timeout=30).status_code == 400

    queue = new_client().get(f"{base}/operator/applications", headers=OPERATOR, timeout=30,
                             params={"channel": "kecamatan", "kecamatan": KECAMATAN_CODE})
    assert queue.status_code == 200, queue.text
    assert [row["application_id"] for row in queue.json()["applications"]] == [
        officer.json()["application_id"]]
