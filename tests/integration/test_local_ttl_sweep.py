"""The local database server expires documents by their TTL indexes as
mongod does, walking each index (``deploy/local/database.py``: the
stand-in's own sweep decoded every document of the collection under its one
lock, once a minute - 1.42 s for 100,000 inbox rows - and is turned off)."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys

import pytest
from pymongo import ASCENDING, MongoClient

from deploy.local.stack import free_port, local_mongo_uri, port_open
from tests.helpers import eventually


@pytest.fixture
def server():
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "deploy.local.database", "--host", "127.0.0.1", "--port",
         str(port), "--storage-path", ":memory:", "--log-level", "WARNING"],
        env={**os.environ, "TTL_SWEEP_SECONDS": "0.5"})
    try:
        eventually(lambda: port_open(port), timeout=30, what="the database server listening")
        client = MongoClient(local_mongo_uri(port), tz_aware=True)
        yield client
        client.close()
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_expired_documents_go_and_the_others_stay_by_each_ttl_index(server):
    db = server.sweep_probe
    now = datetime.datetime.now(datetime.timezone.utc)
    old = now - datetime.timedelta(days=31)
    db.inbox.create_index([("processed_at", ASCENDING)], expireAfterSeconds=30 * 86400)
    db.inbox.insert_many([{"_id": "expired", "processed_at": old},
                          {"_id": "fresh", "processed_at": now},
                          {"_id": "no date", "processed_at": "yesterday"},
                          {"_id": "no field"}])
    # a partial TTL index expires only what its filter covers
    db.counters.create_index([("expires", ASCENDING)], expireAfterSeconds=0,
                             partialFilterExpression={"kind": "hour"})
    db.counters.insert_many([{"_id": "hour", "kind": "hour", "expires": old},
                             {"_id": "day", "kind": "day", "expires": old}])
    # no TTL index: nothing goes, however old
    db.plain.create_index([("at", ASCENDING)])
    db.plain.insert_one({"_id": "kept", "at": old})

    eventually(lambda: db.inbox.count_documents({}) == 3 and
               db.counters.count_documents({}) == 1, timeout=20, what="the sweep")
    assert sorted(row["_id"] for row in db.inbox.find()) == ["fresh", "no date", "no field"]
    assert [row["_id"] for row in db.counters.find()] == ["day"]
    assert [row["_id"] for row in db.plain.find()] == ["kept"]
