"""A station reports a printed batch in one request (docs/station-api.md):
each job gets its pickup window as if reported alone, a job whose lease is
not the station's (or that does not exist) is refused by itself while the
others are recorded, and the same report again changes nothing."""

from __future__ import annotations

import requests

from tests.e2e.test_ktp_journey import ktp_application
from tests.helpers import OPERATOR, STATION, claim_job_for, eventually, random_mobile, random_nik


def verified_application(intake: str) -> dict:
    nik = random_nik()
    submitted = requests.post(f"{intake}/api/v1/applications", timeout=10,
                              json=ktp_application(nik, random_mobile(), None))
    assert submitted.status_code == 202, submitted.text
    application = {**submitted.json(), "nik": nik}
    verified = requests.post(f"{intake}/api/v1/applications/{application['application_id']}"
                             "/verify", headers=OPERATOR, timeout=10)
    assert verified.status_code == 200, verified.text
    return application


def report(printing: str, jobs: list[dict]) -> requests.Response:
    return requests.post(f"{printing}/api/v1/station/jobs/printed", headers=STATION, timeout=30,
                         json={"jobs": [{"print_job_id": job["print_job_id"],
                                         "lease_token": job["lease_token"]} for job in jobs]})


def test_a_printed_batch_is_recorded_job_by_job_in_one_report(system):
    intake, printing = system.url("intake"), system.url("printing")
    applications = [verified_application(intake) for _ in range(3)]
    jobs = [claim_job_for(printing, application["application_id"])
            for application in applications]
    forged = {**jobs[0], "lease_token": "not-this-stations-token"}
    unknown = {"print_job_id": "no-such-job", "lease_token": "whatever-token"}

    answer = report(printing, [forged, *jobs, unknown])
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [r["print_job_id"] for r in results] == [
        jobs[0]["print_job_id"], *(job["print_job_id"] for job in jobs), "no-such-job"]
    assert results[0]["error"]["code"] == "conflict"  # the lease token is not the job's
    assert results[-1]["error"]["code"] == "not_found"
    printed = results[1:-1]
    assert all(r["status"] == "printed" and r["slot"]["date"] for r in printed)

    again = report(printing, jobs)  # a lost answer, reported again: the same windows
    assert again.status_code == 200, again.text
    assert [r["slot"] for r in again.json()["results"]] == [r["slot"] for r in printed]

    for application in applications:  # each citizen sees their window
        eventually(lambda: requests.post(
            f"{intake}/api/v1/applications/status", timeout=10,
            json={"tracking_code": application["tracking_code"], "nik": application["nik"]}
        ).json()["status"] == "ready_for_pickup", what="ready for pickup on the status")


def test_a_batch_report_names_the_field_it_cannot_read(system):
    printing = system.url("printing")
    for body, field in (({}, "jobs"), ({"jobs": []}, "jobs"),
                        ({"jobs": [{"print_job_id": "x"}]}, "jobs.0.lease_token"),
                        ({"jobs": [{"print_job_id": "x", "lease_token": "whatever-token"}],
                          "bar": 1}, "bar"),
                        ({"jobs": [{"print_job_id": "x", "lease_token": "whatever-token",
                                    "bar": 1}]}, "jobs.0.bar"),
                        # outside audit: echoed back in a not_found result
                        ({"jobs": [{"print_job_id": "x", "lease_token": "whatever-token"},
                                   {"print_job_id": "Siti\u202eAminah<script>",
                                    "lease_token": "whatever-token"}]}, "jobs.1.print_job_id")):
        answer = requests.post(f"{printing}/api/v1/station/jobs/printed", headers=STATION,
                               json=body, timeout=10)
        assert answer.status_code == 400, answer.text
        assert field in answer.json()["error"]["fields"], answer.text


def test_a_report_with_an_empty_job_id_is_no_path(system):
    """Outside audit: ``/jobs//printed`` was the batch report, slashes merged."""
    answer = requests.post(f"{system.url('printing')}/api/v1/station/jobs//printed",
                           headers=STATION, json={"lease_token": "whatever-token"}, timeout=10)
    assert answer.status_code == 404, answer.text
    assert answer.json()["error"]["code"] == "unknown_path"


def test_a_single_report_refuses_an_unknown_field_like_the_batch(system):
    answer = requests.post(f"{system.url('printing')}/api/v1/station/jobs/no-such-job/printed",
                           headers=STATION, json={"lease_token": "whatever-token", "bar": 1},
                           timeout=10)
    assert answer.status_code == 400, answer.text
    assert list(answer.json()["error"]["fields"]) == ["bar"]
