"""Printing's HTTP API run in-process on a database of its own: what a
station reads, byte for byte, when the queue is empty; what claims of one
station made at once get."""

from __future__ import annotations

import uuid

import pytest

from services.printing.service import PrintingApi
from services.printing.store import PrintStore
from tests.helpers import (STATION_TOKEN, at_once, pipelined, service_config,
                           store_on_a_database_of_its_own)
from tests.integration.test_printing_api_stock_and_handover import api_on, claim
from tests.integration.test_stations import queue_jobs

# times the claims at once are made (a race: before the fix, one time in two
# or three left the station short of its cap; every run of 8 failed)
ROUNDS = 8


def test_an_empty_claim_is_a_204_with_nothing_after_its_headers(backing, container_factory):
    """The station agent claims in a loop on one kept connection: a 204 with
    a chunked empty body (``0\\r\\n\\r\\n``) broke every empty claim of a
    Node.js agent (HPE_INVALID_CONSTANT). The answer ends with its headers,
    so the next request's answer starts right after them."""
    config = service_config(backing, f"printing_{uuid.uuid4().hex[:6]}")
    container_factory(PrintingApi, config).start()
    host, port = config["WEB_SERVER_ADDRESS"].split(":")
    claim = (b"POST /api/v1/station/jobs/claim HTTP/1.1\r\nHost: printing\r\n"
             b"Authorization: Bearer " + STATION_TOKEN.encode() + b"\r\nContent-Length: 0\r\n")

    received = pipelined((host, int(port)), claim + b"\r\n",
                         claim + b"Connection: close\r\n\r\n")

    first, after = received.split(b"\r\n\r\n", 1)
    assert first.startswith(b"HTTP/1.1 204 "), received
    headers = dict(line.split(b": ", 1) for line in first.lower().split(b"\r\n")[1:])
    assert b"transfer-encoding" not in headers and b"content-type" not in headers
    assert headers.get(b"content-length", b"0") == b"0"  # eventlet 0.33's own; see Bodyless
    assert after.startswith(b"HTTP/1.1 204 ") and after.endswith(b"\r\n\r\n"), after


@pytest.fixture
def store(backing):
    yield from store_on_a_database_of_its_own(backing, PrintStore, "printing_claims")


def test_claims_of_one_station_at_once_take_up_to_its_cap_while_jobs_wait(
        backing, container_factory, store):
    """Eight claims at once of one station holding nothing (no ``STATIONS``
    entry: a cap of 10), four for one job and four for three, twelve jobs
    queued: together they want more than the cap, so claims count the
    station over it and put back the overshoot. Each put back all of it, so
    those counting at once put back more: nine leased, three queued, three
    claims answered 204 (outside audit). Now the station holds its ten and
    two wait, no job goes to two claims, none gets more than it asked for."""
    printing = api_on(backing, container_factory, store, max_workers=16)  # all eight admitted
    jobs = queue_jobs(store, 12, pickup_place_id="disdukcapil-serang")
    bodies = [{}] * 4 + [{"max": 3}] * 4
    for _ in range(ROUNDS):
        store.db.print_jobs.update_many({}, {"$set": {"status": "queued", "attempts": 0,
                                                      "lease_until": None, "lease_token": None,
                                                      "station_id": None}})
        answers = at_once(len(bodies), lambda n: claim(printing, **bodies[n]))

        assert {answer.status_code for answer in answers} <= {200, 204}, answers
        batches = [[] if answer.status_code == 204 else
                   answer.json()["jobs"] if body else [answer.json()]
                   for answer, body in zip(answers, bodies)]
        assert all(len(batch) <= body.get("max", 1) for batch, body in zip(batches, bodies))
        handed = [job["print_job_id"] for batch in batches for job in batch]
        assert len(handed) == len(set(handed)) == 10, [len(batch) for batch in batches]
        assert store.db.print_jobs.count_documents({"status": "leased"}) == 10
        assert store.db.print_jobs.count_documents({"status": "queued"}) == len(jobs) - 10
