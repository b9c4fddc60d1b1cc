"""The printed document and its QR, through the real stack.

A verified application's job is claimed; the station downloads the print-ready
PDF under its lease; the QR decoded from the rendered page verifies offline
with the published key and at the public endpoint. An altered token, one
signed with another key and a revoked issuance (the job printed again) fail;
the NIK is in neither the QR nor the verification answer.
"""

from __future__ import annotations

import random

import pytest
import requests
import urllib3

from services.printing import tokens
from shared.clock import today_wib
from tests.document_bodies import kia_body, nik_born, years_before
from tests.documents import png
from tests.helpers import (OPERATOR, PRINTING_SERVICE_TOKEN, RETIRED_KEY, STATION, claim_job_for,
                           personal_data_in_logs, valid_body)
from tests.pdf_checks import pdf_qr_codes, pdf_text


def verified_job(system, body: dict | None = None, photo: bytes | None = None) -> dict:
    """Submit (and upload ``photo``), verify, claim: the claimed job + the NIK."""
    intake = system.url("intake")
    body = body or valid_body()
    submitted = requests.post(f"{intake}/api/v1/applications", json=body, timeout=10)
    assert submitted.status_code == 202, submitted.text
    application = submitted.json()
    if photo is not None:
        uploaded = requests.post(
            f"{intake}/api/v1/applications/documents", timeout=30,
            data={"tracking_code": application["tracking_code"],
                  "nik": body["applicant"]["nik"], "kind": "foto"},
            files={"file": ("foto.png", photo, "image/png")})
        assert uploaded.status_code == 201, uploaded.text
    verified = requests.post(f"{intake}/api/v1/applications/{application['application_id']}"
                             "/verify", headers=OPERATOR, timeout=10)
    assert verified.status_code == 200, verified.text
    job = claim_job_for(system.url("printing"), application["application_id"])
    return {**job, "nik": body["applicant"]["nik"]}


def download(system, job: dict, headers: dict = STATION, **params) -> requests.Response:
    return requests.get(f"{system.url('printing')}/api/v1/station/jobs/{job['print_job_id']}"
                        "/document.pdf", params={"lease_token": job["lease_token"], **params},
                        headers=headers, timeout=30)


def verify(system, token: str, session=requests) -> requests.Response:
    return session.get(f"{system.url('printing')}/api/v1/verify", params={"token": token},
                       timeout=10)


def own_client() -> urllib3.PoolManager:
    """A client from a loopback address of its own: what it trips (wrong tokens,
    the verification limit) holds back no other test (see test_secrets_and_limits)."""
    return urllib3.PoolManager(source_address=(
        f"127.{random.randint(1, 254)}.{random.randint(0, 255)}.{random.randint(1, 254)}", 0))


def published_keys(system) -> dict:
    response = requests.get(f"{system.url('printing')}/api/v1/verify/keys", timeout=10)
    assert response.status_code == 200, response.text
    return tokens.parse_public_keys(",".join(f"{key['kid']}:{key['x']}"
                                             for key in response.json()["keys"]))


def test_the_printed_qr_verifies_offline_and_at_the_endpoint(system):
    job = verified_job(system)
    response = download(system, job)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    assert "KARTU TANDA PENDUDUK ELEKTRONIK" in text and job["nik"] in text  # on the card
    assert "Ahmad Fauzi" in text
    [token] = pdf_qr_codes(response.content)  # scanned from the rendered page
    assert job["nik"] not in token and job["nik"] not in tokens.b64decode(
        token.split(".")[2]).decode()

    # offline: the published key set and nothing else
    keys = published_keys(system)
    assert {"test-now", "test-old"} <= set(keys)
    kid, claims = tokens.verify(token, keys)
    assert kid == "test-now"
    assert claims["document_type"] == "ktp_el" and claims["holder_name"] == "Ahmad Fauzi"
    assert claims["issue_date"] == today_wib().isoformat()
    assert claims["document_number"].startswith(f"3673-KTP-{today_wib().year}-")

    # at the endpoint: the same claims, and nothing else
    answer = verify(system, token)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"status": "valid", "kid": "test-now", "claims": claims}
    assert job["nik"] not in answer.text

    # the same lease downloads the same issuance, byte for byte
    assert download(system, job).content == response.content


def test_altered_foreign_and_unknown_tokens_fail(system):
    job = verified_job(system)
    [token] = pdf_qr_codes(download(system, job).content)
    claims = tokens.verify(token, published_keys(system))[1]
    prefix, kid, payload, signature = token.split(".")
    renamed = tokens.b64encode(tokens.b64decode(payload).replace(b"Ahmad", b"Ahmed"))
    forger = tokens.generate("test-now")  # our kid, not our key
    cases = {
        "altered": (".".join([prefix, kid, renamed, signature]), "bad_signature"),
        "foreign key": (tokens.sign(claims, forger), "bad_signature"),
        "unknown kid": (tokens.sign(claims, tokens.generate("elsewhere")), "unknown_key"),
        # a published retired key, yet this issuance was never signed with it
        "not as issued": (tokens.sign(claims, RETIRED_KEY), "unknown_issuance"),
        "garbage": ("hello", "malformed"),
    }
    for case, (bad, reason) in cases.items():
        answer = verify(system, bad)
        assert answer.status_code == 200, (case, answer.text)
        assert answer.json() == {"status": "invalid", "reason": reason}, case


def test_a_reprint_revokes_the_earlier_print(system):
    first_lease = verified_job(system)
    [first] = pdf_qr_codes(download(system, first_lease).content)
    failed = requests.post(f"{system.url('printing')}/api/v1/station/jobs/"
                           f"{first_lease['print_job_id']}/failed", headers=STATION, timeout=10,
                           json={"lease_token": first_lease["lease_token"], "reason": "misprint"})
    assert failed.status_code == 200, failed.text
    second_lease = claim_job_for(system.url("printing"), first_lease["application_id"])
    [second] = pdf_qr_codes(download(system, second_lease).content)

    old, new = verify(system, first).json(), verify(system, second).json()
    assert old["status"] == "revoked" and new["status"] == "valid"
    assert old["claims"]["issuance_id"] != new["claims"]["issuance_id"]
    # the document keeps its number across the reprint
    assert old["claims"]["document_number"] == new["claims"]["document_number"]


def test_only_the_lease_holder_downloads(system):
    job = verified_job(system)
    assert download(system, job, lease_token="x" * 22).status_code == 409
    missing = requests.get(f"{system.url('printing')}/api/v1/station/jobs/"
                           f"{job['print_job_id']}/document.pdf", headers=STATION, timeout=10)
    assert missing.status_code == 400 and "lease_token" in missing.json()["error"]["fields"]
    unknown = download(system, {**job, "print_job_id": "no-such-job"})
    assert unknown.status_code == 404
    # no station token: 401, from an address of our own (failures count per client)
    own = own_client()
    url = (f"{system.url('printing')}/api/v1/station/jobs/{job['print_job_id']}/document.pdf"
           f"?lease_token={job['lease_token']}")
    assert own.request("GET", url, timeout=10).status == 401
    assert own.request("GET", url, headers=OPERATOR, timeout=10).status == 401
    own.clear()
    assert download(system, job).status_code == 200


def test_the_verification_endpoint_is_rate_limited(system):
    job = verified_job(system)
    [token] = pdf_qr_codes(download(system, job).content)
    own = own_client()
    url = f"{system.url('printing')}/api/v1/verify?token={token}"
    for _ in range(60):  # VERIFY_REQUESTS_PER_CLIENT
        assert own.request("GET", url, timeout=10).status == 200
    # retries=False: urllib3 would otherwise wait out the Retry-After and ask again
    limited = own.request("GET", url, timeout=10, retries=False)
    assert limited.status == 429 and int(limited.headers["Retry-After"]) > 0
    own.clear()
    assert verify(system, token).json()["status"] == "valid"  # other clients go on


def test_a_kia_carries_the_photo_uploaded_at_intake(system):
    child = nik_born(years_before(today_wib(), 7))
    job = verified_job(system, kia_body(child), photo=png(40, 60))
    response = download(system, job)
    assert response.status_code == 200, response.text
    assert b"/Subtype /Image" in response.content
    assert "KARTU IDENTITAS ANAK" in pdf_text(response.content)
    assert len(pdf_qr_codes(response.content)) == 1
    # printing's service token reads documents at intake, and does nothing else there
    service = {"Authorization": f"Bearer {PRINTING_SERVICE_TOKEN}"}
    intake = system.url("intake")
    assert requests.get(f"{intake}/api/v1/applications/{job['application_id']}/documents",
                        headers=service, timeout=10).status_code == 200
    own = own_client()
    assert own.request("POST", f"{intake}/api/v1/applications/{job['application_id']}/verify",
                       headers=service, timeout=10).status == 401
    own.clear()


@pytest.mark.parametrize("missing", [{}, {"token": ""}])
def test_a_verification_without_a_token_names_the_parameter(system, missing):
    answer = requests.get(f"{system.url('printing')}/api/v1/verify", params=missing, timeout=10,
                          headers={"Accept-Language": "en"})
    assert answer.status_code == 400 and "token" in answer.json()["error"]["fields"]


def test_no_nik_in_the_logs(system):
    job = verified_job(system)
    download(system, job)
    assert personal_data_in_logs(system, job["nik"]) == []
