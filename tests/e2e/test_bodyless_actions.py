"""The operators' actions that take no body - intake's verify - or an
optional ``reason`` at most - printing's release and cancel of a held print
job - refuse what they do not take, through the real stack, instead of
answering 200 and dropping it: an operator's note on a verify was lost
without a word. A field: 400 naming it (in the request's language); another
Content-Type: 415 naming it; nothing changed. No body, or ``{}``, still
works."""

from __future__ import annotations

import requests

from tests.e2e.test_ktp_journey import ktp_application
from tests.e2e.test_office_handovers import lookup
from tests.e2e.test_print_cancelled import held_job
from tests.helpers import OPERATOR, random_mobile, random_nik


def refused_with_a_body(url: str) -> None:
    """A note (JSON) and a text body are refused, each naming what is wrong."""
    note = requests.post(url, json={"note": "Data sudah dicek"}, timeout=10,
                         headers={**OPERATOR, "Accept-Language": "en"})
    assert note.status_code == 400, note.text
    assert note.json()["error"]["fields"] == {"note": ["Unknown field."]}
    text = requests.post(url, data="Data sudah dicek", timeout=10,
                         headers={**OPERATOR, "Content-Type": "text/plain"})
    assert text.status_code == 415, text.text
    assert set(text.json()["error"]["fields"]) == {"Content-Type"}


def test_a_verify_with_a_body_is_refused_and_changes_nothing(system):
    intake, nik = system.url("intake"), random_nik()
    submitted = requests.post(f"{intake}/api/v1/applications",
                              json=ktp_application(nik, random_mobile(), None), timeout=10)
    assert submitted.status_code == 202, submitted.text
    application_id, code = submitted.json()["application_id"], submitted.json()["tracking_code"]
    verify = f"{intake}/api/v1/applications/{application_id}/verify"
    refused_with_a_body(verify)
    assert lookup(system, code, nik)["status"] == "submitted"
    verified = requests.post(verify, json={}, headers=OPERATOR, timeout=10)
    assert verified.status_code == 200 and verified.json()["status"] == "verified", verified.text


def test_a_held_job_s_release_or_cancel_with_a_body_is_refused(system, mongo):
    printing = system.url("printing")
    _, _, job = held_job(system, random_nik(), random_mobile())
    actions = f"{printing}/api/v1/operator/print-jobs/{job['print_job_id']}"
    for action in ("release", "cancel"):
        refused_with_a_body(f"{actions}/{action}")
    assert mongo["printing"].print_jobs.find_one({"_id": job["print_job_id"]})["status"] == "held"
    released = requests.post(f"{actions}/release", headers=OPERATOR, timeout=10)
    assert released.status_code == 200 and released.json()["status"] == "queued", released.text
