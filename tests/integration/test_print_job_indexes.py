"""The print jobs' indexes, against the real database server: the local
server rewrites every index of a document on each write of it (~0.85 ms an
index, bench/README.md), and a job is written at each claim and report."""

from __future__ import annotations

import datetime
import uuid

import pytest
from pymongo import ASCENDING

from services.printing.store import PrintStore
from tests.helpers import store_on_a_database_of_its_own

EXPECTED = {
    "_id_",
    "application_id_1",                  # one job per application (guard)
    "status_1_priority_1_queued_at_1",   # the queue; what a station holds
    "nik_1_document_type_1",             # a card printed again; the PRR backlog
    "tracking_code_1",                   # the counter's pickup
}


@pytest.fixture
def store(backing):
    yield from store_on_a_database_of_its_own(backing, PrintStore, "printing_indexes")


def test_the_station_and_manifest_indexes_of_an_earlier_version_are_dropped(store):
    store.db.print_jobs.create_index([("station_id", ASCENDING), ("status", ASCENDING)])
    store.db.print_jobs.create_index([("manifest_id", ASCENDING)])
    PrintStore.ensure_indexes(store.db)
    assert set(store.db.print_jobs.index_information()) == EXPECTED


def test_what_a_station_holds_is_counted_without_an_index_of_its_own(store):
    PrintStore.ensure_indexes(store.db)
    now = datetime.datetime(2026, 11, 30, 3, 0, tzinfo=datetime.timezone.utc)
    later = now + datetime.timedelta(minutes=10)
    rows = [("queued", None, None)] * 40 + [("printed", "st-1", None)] * 40 + [
        ("leased", "st-1", later), ("leased", "st-1", later), ("leased", "st-2", later),
        ("leased", "st-1", now - datetime.timedelta(minutes=1))]  # run out
    store.db.print_jobs.insert_many([
        {"_id": uuid.uuid4().hex, "application_id": uuid.uuid4().hex, "status": status,
         "station_id": station, "lease_until": until, "priority": 1, "queued_at": now}
        for status, station, until in rows])
    held = {"station_id": "st-1", "status": "leased", "lease_until": {"$gte": now}}
    assert store.db.print_jobs.count_documents(held) == 2
