"""Printing's operator API after an outside review of an operator's day,
through the HTTP API run in-process on a database of its own (the tests'
station ``station-test-1``, no ``STATIONS`` entry):

* the counter finds a print job from what it knows - the application's id
  or its tracking code, in any case - and reprints it by the id found;
* the held list pages (limit + cursor, in queue order), filters by station
  and reason, and refuses a parameter it does not take, as the blanko list
  does now;
* each station's failure report and each operator's release, cancel and
  reprint is kept in the job's action history - a second reprint does not
  overwrite the first, a reprint does not lose the failure note;
* a 409 ``not_held`` / ``not_printed`` says where the job stands;
* an operator says why they release, cancel or reprint (``reason``; a
  reprint spends a blanko, so it must say): the history keeps it beside
  who and when, and ``print_job_cancelled`` / ``print_job_requeued`` carry
  it with the operator.
"""

from __future__ import annotations

import datetime

import pytest
import requests

from services.printing.store import PrintStore
from shared.clock import utcnow
from tests.helpers import OPERATOR, STATION, store_on_a_database_of_its_own
from tests.integration.test_printing_api_stock_and_handover import (  # noqa: F401
    api_on, claim, published)
from tests.integration.test_stations import queue_jobs

NIK = "3673045207900001"
STATION_ID, OPERATOR_ID = "station-test-1", "operator-test"
SPOILED = {"reason": "Rusak saat laminasi"}


@pytest.fixture
def api(backing, container_factory):
    """The API's address, and a store on its database."""
    for store in store_on_a_database_of_its_own(backing, PrintStore, "printing_lookup"):
        yield api_on(backing, container_factory, store), store


def operator(printing: str, method: str, path: str, **kwargs) -> requests.Response:
    return requests.request(method, f"{printing}/api/v1/operator/{path}", headers=OPERATOR,
                            timeout=30, **kwargs)


def station(printing: str, job: dict, report: str, **body) -> requests.Response:
    return requests.post(f"{printing}/api/v1/station/jobs/{job['print_job_id']}/{report}",
                         json={"lease_token": job["lease_token"], **body}, headers=STATION,
                         timeout=30)


def a_job(store) -> dict:
    """A certificate collected at the Dinas counter, queued."""
    [job] = queue_jobs(store, 1, print_kind="certificate", pickup_place_id="disdukcapil-serang",
                       delivery_method="pickup", document_type="akta_kelahiran")
    return job


def printed_by_the_station(printing: str) -> None:
    claimed = claim(printing).json()
    assert station(printing, claimed, "printed").status_code == 200


def failed_by_the_station(printing: str, note: str) -> None:
    claimed = claim(printing).json()
    answer = station(printing, claimed, "failed", reason="data_error", note=note)
    assert answer.json()["status"] == "held"


def looked_up(printing: str, job_id: str) -> dict:
    answer = operator(printing, "GET", f"print-jobs/{job_id}")
    assert answer.status_code == 200, answer.text
    return answer.json()


def fields_of(answer: requests.Response) -> set[str]:
    assert answer.status_code == 400, answer.text
    return set(answer.json()["error"]["fields"])


def test_the_counter_finds_a_print_job_by_what_it_knows_and_reprints_it(api):
    printing, store = api
    job = a_job(store)
    printed_by_the_station(printing)
    by_code = operator(printing, "GET", "print-jobs",
                       params={"tracking_code": f" {job['tracking_code'].lower()} "})
    assert by_code.status_code == 200, by_code.text
    [found] = by_code.json()["jobs"]
    assert (found["print_job_id"], found["application_id"], found["status"],
            found["print_kind"], found["delivery_method"]) == (
        job["_id"], job["application_id"], "printed", "certificate", "pickup")
    assert found["printed_at"] and found["slot"]["place"] and found["actions"] == []
    assert "nik" not in found and "full_name" not in found and "contact" not in found
    by_id = operator(printing, "GET", "print-jobs",
                     params={"application_id": job["application_id"]})
    assert by_id.json() == by_code.json()
    assert looked_up(printing, job["_id"]) == found

    for _ in range(2):  # a second reprint is kept beside the first
        assert operator(printing, "POST", f"print-jobs/{found['print_job_id']}/reprint",
                        json=SPOILED).json()["status"] == "queued"
        # a retry after a lost answer changes nothing, and is not kept
        assert operator(printing, "POST", f"print-jobs/{found['print_job_id']}/reprint",
                        json=SPOILED).status_code == 200
        printed_by_the_station(printing)
    actions = looked_up(printing, job["_id"])["actions"]
    assert [(action["action"], action["by"]) for action in actions] == [
        ("reprinted", OPERATOR_ID), ("reprinted", OPERATOR_ID)]
    assert actions[0]["at"] < actions[1]["at"]


def test_a_lookup_names_what_is_wrong_with_it(api):
    printing, store = api
    job = a_job(store)
    assert fields_of(operator(printing, "GET", "print-jobs")) == {"application_id"}
    assert fields_of(operator(printing, "GET", "print-jobs", params={
        "application_id": job["application_id"], "tracking_code": job["tracking_code"]})) \
        == {"tracking_code"}
    assert fields_of(operator(printing, "GET", "print-jobs",
                              params={"tracking_code": "SDK-7KQ2"})) == {"tracking_code"}
    assert fields_of(operator(printing, "GET", "print-jobs", params={
        "tracking_code": job["tracking_code"], "nik": NIK})) == {"nik"}
    assert fields_of(operator(printing, "GET", f"print-jobs?tracking_code={job['tracking_code']}"
                                               f"&tracking_code={job['tracking_code']}")) \
        == {"tracking_code"}
    assert operator(printing, "GET", "print-jobs",
                    params={"tracking_code": "SDK7KQ2M9XA"}).json() == {"jobs": []}
    assert operator(printing, "GET", "print-jobs/no-such-job").status_code == 404
    assert requests.get(f"{printing}/api/v1/operator/print-jobs/{job['_id']}",
                        timeout=30).status_code == 401


def test_the_held_list_pages_in_queue_order_and_filters(api):
    printing, store = api
    now = utcnow() - datetime.timedelta(hours=1)
    at = [now + datetime.timedelta(seconds=n) for n in range(3)]
    late, soon = now - datetime.timedelta(minutes=5), now + datetime.timedelta(hours=2)
    jobs = [
        *queue_jobs(store, 2, status="held", last_failure="data_error", station_id="st-a",
                    queued_at=at[0]),  # tied in time: by id
        *queue_jobs(store, 1, status="held", last_failure="misprint", station_id="st-b",
                    queued_at=at[1]),
        *queue_jobs(store, 2, status="held", last_failure="already_printed", priority=0,
                    next_day=True, queued_at=at[2]),
        # a lease run out on its last attempt: listed lease_expired
        *queue_jobs(store, 1, status="leased", attempts=3, lease_until=late,
                    station_id="st-b", last_failure="misprint", queued_at=at[0]),
    ]
    queue_jobs(store, 3, status="queued")
    queue_jobs(store, 1, status="leased", attempts=3, lease_until=soon)
    expected = [job["_id"] for job in sorted(jobs, key=lambda job: (
        job["priority"], job["queued_at"], job["_id"]))]
    whole = operator(printing, "GET", "print-jobs/held").json()
    assert [job["print_job_id"] for job in whole["jobs"]] == expected
    assert whole["next_cursor"] is None

    pages, cursor = [], None
    while True:
        page = operator(printing, "GET", "print-jobs/held",
                        params={"limit": 2, **({"cursor": cursor} if cursor else {})}).json()
        pages.append([job["print_job_id"] for job in page["jobs"]])
        if (cursor := page["next_cursor"]) is None:
            break
    assert pages == [expected[0:2], expected[2:4], expected[4:6]]

    by_station = operator(printing, "GET", "print-jobs/held", params={"station_id": "st-b"})
    assert [(job["print_job_id"], job["last_failure"]) for job in by_station.json()["jobs"]] \
        == [(jobs[5]["_id"], "lease_expired"), (jobs[2]["_id"], "misprint")]
    by_reason = operator(printing, "GET", "print-jobs/held",
                         params={"last_failure": "misprint"}).json()["jobs"]
    assert [job["print_job_id"] for job in by_reason] == [jobs[2]["_id"]]
    lapsed = operator(printing, "GET", "print-jobs/held",
                      params={"last_failure": "lease_expired"}).json()["jobs"]
    assert [job["print_job_id"] for job in lapsed] == [jobs[5]["_id"]]

    assert fields_of(operator(printing, "GET", "print-jobs/held",
                              params={"cursor": "garbage"})) == {"cursor"}
    assert fields_of(operator(printing, "GET", "print-jobs/held",
                              params={"limit2": "x"})) == {"limit2"}
    assert fields_of(operator(printing, "GET", "print-jobs/held?limit=1&limit=2")) == {"limit"}
    assert fields_of(operator(printing, "GET", "print-jobs/held",
                              params={"last_failure": "bored"})) == {"last_failure"}
    assert fields_of(operator(printing, "GET", "stations/blanko", params={"foo": 1})) == {"foo"}
    assert fields_of(operator(printing, "GET", f"print-jobs/{jobs[0]['_id']}",
                              params={"foo": 1})) == {"foo"}


def test_failures_releases_and_cancels_are_kept_in_the_jobs_history(api):
    printing, store = api
    job = a_job(store)
    failed_by_the_station(printing, f"NIK {NIK} tidak cocok")
    assert operator(printing, "POST", f"print-jobs/{job['_id']}/release").status_code == 200
    failed_by_the_station(printing, "foto buram")
    assert operator(printing, "POST", f"print-jobs/{job['_id']}/cancel").status_code == 200
    viewed = looked_up(printing, job["_id"])
    assert viewed["status"] == "cancelled"
    actions = viewed["actions"]
    assert [(a["action"], a["by"], a["reason"], a["station_id"]) for a in actions] == [
        ("failed", STATION_ID, "data_error", STATION_ID),
        ("released", OPERATOR_ID, "data_error", None),
        ("failed", STATION_ID, "data_error", STATION_ID),
        ("cancelled", OPERATOR_ID, "data_error", None)]
    assert actions[0]["note"] == actions[1]["note"] and "tidak cocok" in actions[0]["note"]
    assert NIK not in str(viewed)  # masked, as the held list shows it
    assert actions[3]["note"] == "foto buram"
    # a job from before the history: an empty one
    [old] = queue_jobs(store, 1, status="held", last_failure="data_error")
    assert looked_up(printing, old["_id"])["actions"] == []


def test_a_409_says_where_the_job_stands(api):
    printing, store = api
    job = a_job(store)
    for action, code in (("release", "not_held"), ("cancel", "not_held"),
                         ("reprint", "not_printed")):
        refused = operator(printing, "POST", f"print-jobs/{job['_id']}/{action}", json=SPOILED)
        assert refused.status_code == 409 and refused.json()["error"]["code"] == code
        assert "dalam antrean cetak" in refused.json()["error"]["message"]
        english = requests.post(f"{printing}/api/v1/operator/print-jobs/{job['_id']}/{action}",
                                headers={**OPERATOR, "Accept-Language": "en"}, json=SPOILED,
                                timeout=30)
        assert "queued for printing" in english.json()["error"]["message"]
    assert looked_up(printing, job["_id"])["actions"] == []


def test_a_reprint_says_why_or_spends_no_blanko(api, published):
    """A supervisor reading why a card was printed twice (a reprint spends a
    blanko the Dinas accounts for) saw who and when, never why: a reprint
    without a reason, or with a bad one, is 400 naming the field and stores
    nothing; one with a reason keeps it - NFC, trimmed, a NIK typed into it
    masked - beside who and when, and ``print_job_requeued`` carries it."""
    printing, store = api
    job = a_job(store)
    printed_by_the_station(printing)
    reprint = f"print-jobs/{job['_id']}/reprint"
    for body, field in ((None, "reason"), ({}, "reason"), ({"reason": None}, "reason"),
                        ({"reason": " ab "}, "reason"), ({"reason": "x" * 301}, "reason"),
                        ({"reason": "rusak\u0007 laminasi"}, "reason"),
                        ({"reason": "rusak\u200b laminasi"}, "reason"),
                        ({**SPOILED, "note": "lagi"}, "note")):
        assert fields_of(operator(printing, "POST", reprint, json=body)) == {field}, body
    viewed = looked_up(printing, job["_id"])
    assert (viewed["status"], viewed["actions"]) == ("printed", [])

    said = f"  Warga {NIK} bilang hilang sebelum diambil; kafe\u0301 tumpah "
    assert operator(printing, "POST", reprint, json={"reason": said}).status_code == 200
    # a retry after a lost answer, saying it otherwise: the first is kept
    assert operator(printing, "POST", reprint, json=SPOILED).status_code == 200
    [reprinted] = looked_up(printing, job["_id"])["actions"]
    kept = reprinted["operator_reason"]
    assert (reprinted["action"], reprinted["by"]) == ("reprinted", OPERATOR_ID)
    assert kept.startswith("Warga ") and kept.endswith("kafé tumpah") and NIK not in kept
    [event] = [body for body in published("print_job_requeued")
               if body["print_job_id"] == job["_id"]]
    assert (event["requeued_by"], event["operator_reason"]) == (OPERATOR_ID, kept)


def test_a_release_and_a_cancel_keep_the_reason_the_operator_gave(api, published):
    """Release and cancel may say why (none, ``{}``, or a reason); the
    history shows it, and ``print_job_cancelled`` names the operator and
    their reason (intake showed its step with nobody who acted)."""
    printing, store = api
    job = a_job(store)
    failed_by_the_station(printing, "foto buram")
    assert fields_of(operator(printing, "POST", f"print-jobs/{job['_id']}/release",
                              json={"reason": "ok"})) == {"reason"}
    assert operator(printing, "POST", f"print-jobs/{job['_id']}/release",
                    json={}).status_code == 200
    failed_by_the_station(printing, "foto buram")
    cancelled = operator(printing, "POST", f"print-jobs/{job['_id']}/cancel",
                         json={"reason": "Data KK salah, perbaiki di SIAK dulu"})
    assert cancelled.status_code == 200, cancelled.text
    assert operator(printing, "POST", f"print-jobs/{job['_id']}/cancel",
                    json={"reason": "dicoba lagi"}).status_code == 200  # a retry: not kept
    actions = looked_up(printing, job["_id"])["actions"]
    assert [(a["action"], a["by"], a["reason"], a["operator_reason"]) for a in actions] == [
        ("failed", STATION_ID, "data_error", None),
        ("released", OPERATOR_ID, "data_error", None),
        ("failed", STATION_ID, "data_error", None),
        ("cancelled", OPERATOR_ID, "data_error", "Data KK salah, perbaiki di SIAK dulu")]
    [event] = [body for body in published("print_job_cancelled")
               if body["print_job_id"] == job["_id"]]
    assert (event["cancelled_by"], event["operator_reason"], event["reason"]) == (
        OPERATOR_ID, "Data KK salah, perbaiki di SIAK dulu", "data_error")
