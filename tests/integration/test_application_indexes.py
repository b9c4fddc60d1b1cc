"""The applications' indexes, against the real database server: the local
server rewrites every index of a document on each write of it, so each
index here costs every write of an application (bench/README.md, seventh
session); the operator's queue filters on the entries of one status index."""

from __future__ import annotations

import datetime
import uuid

import pytest
from pymongo import ASCENDING, MongoClient
from pymongo.errors import DuplicateKeyError

from services.intake.domain import status_fields
from services.intake.queue_store import FILTER_FIELDS
from services.intake.store import ONE_ACTIVE_PER_SUBJECT, ApplicationStore
from shared.store import duplicate_fields
from tests.helpers import CommandCounter, store_on_a_database_of_its_own

# every index an application's write maintains, and why it is there
EXPECTED = {
    "_id_",                      # the document
    "tracking_code_1",           # the citizen's lookup
    "one_active_per_subject",    # one application in progress per subject (guard), and
                                 # the reads of a subject (its prefix)
    "one_per_idempotency_key",   # a retried request gets its first answer
    "nik_document_status",       # what intake knows of a NIK; the re-send
    "queue",                     # the operators' queue, every filter
}


@pytest.fixture
def store(backing):
    yield from store_on_a_database_of_its_own(backing, ApplicationStore, "intake_indexes")


def test_the_old_per_filter_queue_indexes_are_dropped(store):
    for name, stored in FILTER_FIELDS.items():  # as an earlier version made them
        store.db.applications.create_index(
            [("status", ASCENDING), (stored, ASCENDING), ("queued_at", ASCENDING),
             ("_id", ASCENDING)], name=f"queue_by_{name}")
    ApplicationStore.ensure_indexes(store.db)
    assert set(store.db.applications.index_information()) == EXPECTED


def test_a_filtered_queue_reads_the_status_index_and_filters_right(store):
    ApplicationStore.ensure_indexes(store.db)
    start = datetime.datetime(2026, 11, 30, 1, 0, tzinfo=datetime.timezone.utc)
    rows = [("ktp_el", "web", "3673041010", []), ("kia", "whatsapp", "3673041010", []),
            ("ktp_el", "kelurahan", "3673041011", ["register_unchecked"]),
            ("kia", "web", "3673041011", ["register_unchecked"]),
            ("akta_kelahiran", "web", "3673041010", [])]
    ids = []
    for n, (document_type, channel, kelurahan, flags) in enumerate(rows):
        ids.append(uuid.uuid4().hex)
        store.db.applications.insert_one({
            "_id": ids[-1], "tracking_code": f"SDK{uuid.uuid4().hex[:8].upper()}",
            "document_type": document_type, "channel": channel, "subject_key": f"nik:{n}",
            **status_fields("submitted", ids[-1]),
            "queued_at": start + datetime.timedelta(minutes=len(rows) - n),  # newest first
            "area": {"kecamatan_code": kelurahan[:6], "kelurahan_code": kelurahan},
            "flags": flags, "applicant": {"full_name": f"Warga {n}"}})
    store.db.applications.insert_one({  # another status: never in this queue
        "_id": "verified", "tracking_code": "SDKVERIFIED", "document_type": "kia",
        "subject_key": "nik:v", **status_fields("verified", "verified"), "queued_at": start,
        "flags": []})

    def queue(**filters):
        return [row["_id"] for row in store.queue("submitted", filters, limit=10)]

    assert queue(document_type="kia") == [ids[3], ids[1]]  # oldest in the queue first
    assert queue(kelurahan="3673041011") == [ids[3], ids[2]]
    assert queue(flag="register_unchecked", document_type="ktp_el") == [ids[2]]
    assert queue(channel="web") == [ids[4], ids[3], ids[0]]
    assert queue() == ids[::-1]
    plan = store.db.applications.find({"status": "submitted", "document_type": "kia"}) \
        .sort([("queued_at", 1), ("_id", 1)]).explain()
    assert "queue" in str(plan)  # through the status index, not a collection scan


def test_pages_after_a_row_take_the_rest_of_its_moment_then_the_later_ones(store):
    """A page after a row is two flat reads (the local server scans the whole
    collection for an ``$or``): the rows queued at the same moment with a
    greater id, then the later rows - each row on exactly one page, in
    queue order, also when a jemput-bola batch queued many at once."""
    ApplicationStore.ensure_indexes(store.db)
    start = datetime.datetime(2026, 11, 30, 1, 0, tzinfo=datetime.timezone.utc)
    moments = [start] * 5 + [start + datetime.timedelta(seconds=n) for n in range(1, 6)]
    for n, moment in enumerate(moments):
        application_id = f"app-{n:02d}-{uuid.uuid4().hex[:4]}"
        store.db.applications.insert_one({
            "_id": application_id, "tracking_code": f"SDK{n:08d}", "document_type": "ktp_el",
            "subject_key": f"nik:{n}", **status_fields("submitted", application_id),
            "queued_at": moment, "flags": []})
    expected = [row["_id"] for row in store.db.applications.find().sort(
        [("queued_at", 1), ("_id", 1)])]
    pages, after = [], None
    while True:
        page = store.queue("submitted", {}, limit=3, after=after)
        if not page:
            break
        pages.append([row["_id"] for row in page])
        after = (page[-1]["queued_at"], page[-1]["_id"])
    assert [row for page in pages for row in page] == expected
    assert [len(page) for page in pages] == [3, 3, 3, 1]


def stored(store, subject: str, status: str) -> dict:
    application_id = uuid.uuid4().hex
    application = {"_id": application_id, "tracking_code": f"SDK{application_id[:8].upper()}",
                   "subject_key": subject, "document_type": "ktp_el",
                   **status_fields(status, application_id)}
    store.db.applications.insert_one(application)
    return application


def test_one_application_in_progress_per_subject_any_number_finished(store):
    ApplicationStore.ensure_indexes(store.db)
    stored(store, "nik:3673040101900001", "collected")
    stored(store, "nik:3673040101900001", "cancelled")
    first = stored(store, "nik:3673040101900001", "submitted")
    with pytest.raises(DuplicateKeyError) as refused:
        stored(store, "nik:3673040101900001", "verified")
    assert duplicate_fields(refused.value) == set(ONE_ACTIVE_PER_SUBJECT)
    stored(store, "nik:3673040101900002", "submitted")  # another subject
    # once the first is collected, its slot is its own: a new one may start
    store.db.applications.update_one({"_id": first["_id"]}, {"$set": status_fields(
        "collected", first["_id"])})
    stored(store, "nik:3673040101900001", "submitted")
    assert store.db.applications.count_documents(
        {"subject_key": "nik:3673040101900001", "active": True}) == 1


def test_an_earlier_versions_guard_and_read_index_become_one(store):
    """Before: a partial unique index (the guard) and a plain one to read the
    subjects; applications had no ``active_slot``."""
    apps = store.db.applications
    keys = [("subject_key", ASCENDING), ("document_type", ASCENDING)]
    apps.create_index(keys, unique=True, name="one_active_per_subject",
                      partialFilterExpression={"active": True})
    apps.create_index(keys, name="by_subject")
    apps.create_index([("manifest_id", ASCENDING)], sparse=True)  # never read
    apps.insert_many([{"_id": "in-progress", "tracking_code": "SDKAAAA0001",
                       "subject_key": "nik:1", "document_type": "ktp_el", "active": True},
                      {"_id": "done", "tracking_code": "SDKAAAA0002",
                       "subject_key": "nik:1", "document_type": "ktp_el", "active": False}])

    ApplicationStore.ensure_indexes(store.db)

    assert set(apps.index_information()) == EXPECTED
    assert {row["_id"]: row["active_slot"] for row in apps.find()} == {
        "in-progress": "active", "done": "done"}


def test_the_reads_of_a_subject_go_through_the_one_active_index(store):
    ApplicationStore.ensure_indexes(store.db)
    for n in range(30):
        stored(store, f"nik:36730401019000{n:02d}", "collected")
    plan = store.db.applications.find(
        {"subject_key": "nik:3673040101900007", "document_type": "ktp_el"}).explain()
    assert "one_active_per_subject" in str(plan)


def test_a_later_start_reads_one_row_instead_of_every_application(backing):
    """The start-up migrations run once per database: a later start does not
    scan the applications for documents that lack a field."""
    counter = CommandCounter()
    name = f"intake_restart_{uuid.uuid4().hex[:8]}"
    client = MongoClient(backing.mongo_uri, tz_aware=True, event_listeners=[counter])
    try:
        apps = client[name].applications
        apps.insert_one({"_id": "old", "tracking_code": "SDKAAAA0003", "subject_key": "nik:1",
                         "document_type": "ktp_el", "active": True})
        ApplicationStore.ensure_indexes(client[name])
        assert apps.find_one({"_id": "old"})["active_slot"] == "active"
        assert {row["_id"] for row in client[name].migrations.find()} == {
            "applications.subject_key", "applications.active_slot",
            "applications.skpwni_subjects"}

        counter.commands.clear(), counter.collections.clear()
        ApplicationStore.ensure_indexes(client[name])
        reads = [command for command, collection in zip(counter.commands, counter.collections)
                 if command == "find" and collection == "applications"]
        assert reads == []
    finally:
        client.drop_database(name)
        client.close()
