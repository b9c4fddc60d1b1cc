"""A claim whose answer was lost, sent again under its ``Idempotency-Key``:
printing's HTTP API in-process on a database of its own
(docs/station-api.md, "Claim a job")."""

from __future__ import annotations

import uuid

import pytest
import requests

from clients.station.station_api import StationApi
from services.printing.store import PrintStore
from tests.helpers import (CURUG_STATION, STATION, STATION_TOKEN,
                           store_on_a_database_of_its_own)
from tests.integration.test_printing_api_stock_and_handover import api_on
from tests.integration.test_stations import queue_jobs


@pytest.fixture
def store(backing):
    yield from store_on_a_database_of_its_own(backing, PrintStore, "printing_claim_retry")


@pytest.fixture
def printing(backing, container_factory, store) -> str:
    """Both test stations in no ``STATIONS``: Dinas stations printing every kind."""
    return api_on(backing, container_factory, store)


def claim(printing: str, key: str | None, headers: dict = STATION, **body) -> requests.Response:
    return requests.post(f"{printing}/api/v1/station/jobs/claim", json=body,
                         headers={**headers, **({"Idempotency-Key": key} if key else {})},
                         timeout=30)


def leases(answer: requests.Response) -> dict[str, str]:
    return {job["print_job_id"]: job["lease_token"] for job in answer.json()["jobs"]}


def stored(store: PrintStore) -> dict[str, tuple]:
    return {job["_id"]: (job["status"], job.get("lease_token"), job["attempts"],
                         job.get("lease_until"))
            for job in store.db.print_jobs.find()}


def test_a_batch_claim_sent_again_under_its_key_gets_the_jobs_it_leased(printing, store):
    """An outside review: a claim answer lost on the network left its jobs
    leased to a station that did not know them for the whole lease - held
    toward its cap, an attempt each - and the claim sent again leased others.
    Now the same key answers the same jobs under the same lease, and nothing
    more is leased or counted."""
    queue_jobs(store, 5, pickup_place_id="disdukcapil-serang")
    key = uuid.uuid4().hex
    lost = claim(printing, key, max=2)  # its answer never reaches the station
    assert lost.status_code == 200
    before = stored(store)

    again = claim(printing, key, max=2)

    assert again.status_code == 200
    assert leases(again) == leases(lost) and len(leases(lost)) == 2
    assert [job["lease_until"] for job in again.json()["jobs"]] == \
        [job["lease_until"] for job in lost.json()["jobs"]]  # not extended
    assert stored(store) == before  # nothing new leased, no attempt counted
    assert all(job["attempts"] == 1 for job in again.json()["jobs"])

    other = claim(printing, uuid.uuid4().hex, max=2)
    assert other.status_code == 200 and not set(leases(other)) & set(leases(lost))
    elsewhere = claim(printing, key, headers=CURUG_STATION, max=2)  # not its key
    assert elsewhere.status_code == 200
    assert set(leases(elsewhere)).isdisjoint({*leases(lost), *leases(other)})
    assert store.db.print_jobs.count_documents({"status": "leased"}) == 5
    assert claim(printing, uuid.uuid4().hex, max=2).status_code == 204


def test_a_single_claim_sent_again_by_the_agent_gets_the_same_job(printing, store):
    queue_jobs(store, 2, pickup_place_id="disdukcapil-serang")
    api, key = StationApi(printing, STATION_TOKEN), uuid.uuid4().hex
    try:
        lost, again = api.claim(key), api.claim(key)
        other = api.claim(uuid.uuid4().hex)
    finally:
        api.close()
    assert lost.status == again.status == other.status == 200
    # the bare job, as the first answer was; its lease_seconds what is left
    assert {**again.body, "lease_seconds": None} == {**lost.body, "lease_seconds": None}
    assert other.body["print_job_id"] != lost.body["print_job_id"]
    assert store.db.print_jobs.count_documents({"status": "leased", "attempts": 1}) == 2


def test_a_claim_answers_the_lease_length_in_seconds(printing, store):
    """A station times the lease from the answer's arrival, never by its
    own clock against ``lease_until``: ``lease_seconds`` is LEASE_SECONDS
    (600 by default), and what is left of it when answered again."""
    queue_jobs(store, 1, pickup_place_id="disdukcapil-serang")
    key = uuid.uuid4().hex
    first = claim(printing, key, max=1).json()["jobs"][0]
    again = claim(printing, key, max=1).json()["jobs"][0]
    assert first["lease_seconds"] == 600
    assert 0 < again["lease_seconds"] <= 600


def test_a_malformed_key_is_refused_naming_the_header_and_leases_nothing(printing, store):
    queue_jobs(store, 1, pickup_place_id="disdukcapil-serang")
    answer = claim(printing, "kunci\u00e9", max=1)
    assert answer.status_code == 400
    assert "Idempotency-Key" in answer.json()["error"]["fields"]
    assert store.db.print_jobs.count_documents({"status": "leased"}) == 0
