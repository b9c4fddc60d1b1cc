"""The operators' lookup by NIK and tracking code against the real database
server: every application of the NIK in any status, newest first, paged
as the queue pages; read through indexes that exist already (no index of
its own: each costs every write of an application)."""

from __future__ import annotations

import datetime
import uuid

import pytest

from services.intake.domain import new_tracking_code, status_fields
from services.intake.queue_store import LOOKUP_ORDER
from services.intake.store import ApplicationStore
from shared.paging import next_page
from tests.helpers import store_on_a_database_of_its_own
from tests.integration.test_application_indexes import EXPECTED

NIK, OTHER = "3673045207900001", "3673041207900002"
START = datetime.datetime(2026, 11, 30, 1, 0, tzinfo=datetime.timezone.utc)


@pytest.fixture
def store(backing):
    yield from store_on_a_database_of_its_own(backing, ApplicationStore, "intake_lookup")


def stored(store, nik: str, status: str, minutes: int, document_type: str = "ktp_el") -> dict:
    application_id = uuid.uuid4().hex
    application = {
        "_id": application_id, "tracking_code": new_tracking_code(),
        "document_type": document_type, "channel": "web", "subject_key": f"nik:{application_id}",
        **status_fields(status, application_id),
        "created_at": START + datetime.timedelta(minutes=minutes), "queued_at": START,
        "area": {"kecamatan_code": "367304", "kelurahan_code": "3673041001"}, "flags": [],
        "applicant": {"nik": nik, "full_name": "Siti Aminah"}}
    store.db.applications.insert_one(application)
    return application


def test_a_nik_lookup_reads_every_status_newest_first_page_by_page(store):
    ApplicationStore.ensure_indexes(store.db)
    older = stored(store, NIK, "collected", 1)
    same_moment = [stored(store, NIK, "cancelled", 5), stored(store, NIK, "rejected", 5)]
    newest = stored(store, NIK, "submitted", 9, "kia")
    stored(store, OTHER, "submitted", 7)
    expected = [newest["_id"], *sorted((a["_id"] for a in same_moment), reverse=True),
                older["_id"]]

    seen, after = [], None
    for _ in range(5):
        page, cursor = next_page(store.lookup({"nik": NIK}, None, {}, 2, after), 1, "created_at")
        seen += [row["_id"] for row in page]
        if cursor is None:
            break
        after = (page[-1]["created_at"], page[-1]["_id"])
    assert seen == expected
    assert [row["_id"] for row in store.lookup({"nik": NIK}, "rejected", {}, 10)] == \
        [same_moment[1]["_id"]]
    assert [row["_id"] for row in store.lookup({"nik": NIK}, None,
                                                {"document_type": "kia"}, 10)] == [newest["_id"]]
    row = store.lookup({"tracking_code": older["tracking_code"].lower()}, None, {}, 10)
    assert [r["_id"] for r in row] == [older["_id"]] and row[0]["applicant"]["nik"] == NIK

    # through the indexes there are, none added for it
    assert set(store.db.applications.index_information()) == EXPECTED
    by_nik = store.db.applications.find({"applicant.nik": NIK}).sort(LOOKUP_ORDER).explain()
    assert "nik_document_status" in str(by_nik)
    by_code = store.db.applications.find({"tracking_code": older["tracking_code"]}).explain()
    assert "tracking_code_1" in str(by_code)


def test_an_application_is_found_by_its_id_or_its_tracking_code(store):
    application = stored(store, NIK, "submitted", 1)
    for key in (application["_id"], application["tracking_code"],
                application["tracking_code"].lower()):
        assert store.get_by_id_or_code(key)["_id"] == application["_id"]
