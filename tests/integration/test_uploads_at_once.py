"""Uploads to one application that land between another upload's read and
its listing (``DocumentStore.attach_document``), against the real database
server: the upload that loses the listing's guard reads the application
again and is listed against what it holds now; one that keeps losing is
answered 503, its file deleted, nothing listed."""

from __future__ import annotations

import datetime
import uuid

import pytest

from services.intake import uploads
from services.intake.domain import new_application
from services.intake.rules import validate_application
from services.intake.schemas import ApplicationRequestSchema
from services.intake.store import ApplicationStore
from shared.clock import today_wib, utcnow, whole_milliseconds
from tests.documents import pdf
from tests.helpers import store_on_a_database_of_its_own, valid_body

KIND = "kartu_keluarga"
LIMITS = uploads.DEFAULT_LIMITS


class Racing(ApplicationStore):
    """A store on which ``meanwhile`` runs right after each read of the
    application an upload makes (``find_for_citizen`` first, ``get`` after a
    listing that missed): another request landing between this upload's
    read and its listing."""

    def meanwhile(self) -> None:
        pass

    def find_for_citizen(self, tracking_code: str, nik: str) -> dict:
        application = super().find_for_citizen(tracking_code, nik)
        self.meanwhile()
        return application

    def get(self, application_id: str) -> dict:
        application = super().get(application_id)
        self.meanwhile()
        return application


@pytest.fixture
def store(backing):
    for store in store_on_a_database_of_its_own(backing, Racing, "intake_uploads"):
        ApplicationStore.ensure_indexes(store.db)
        yield store  # the database is dropped when the loop ends


def checked(text: str) -> uploads.CheckedFile:
    return uploads.check_file(pdf(text), LIMITS, KIND)


def rejected_with_pages(store: Racing, pages: int) -> dict:
    """A KTP-el application with ``pages`` pages of its KK, rejected
    ``kk_unreadable``: a new KK takes their place."""
    request = ApplicationRequestSchema().load(valid_body())
    application = store.submit(new_application(
        request, validate_application(request, today_wib()), None))
    code, nik = application["tracking_code"], application["applicant"]["nik"]
    for page in range(pages):
        store.attach_document(code, nik, KIND, checked(f"KK buram hal {page + 1}"), LIMITS)
    store.reject(application["_id"], "operator-curug-7", ["kk_unreadable"], None)
    rejected_at = datetime.datetime.fromisoformat(
        store.get(application["_id"])["timeline"][-1]["at"])
    # what is uploaded next is after the rejection, to the millisecond BSON keeps
    while whole_milliseconds(utcnow()) <= rejected_at:
        pass
    return store.get(application["_id"])


def files_of(store: Racing, application: dict) -> set[str]:
    return {row["_id"] for row in store.db["documents.files"].find(
        {"metadata.application_id": application["_id"]}, {"_id": 1})}


def test_two_new_pages_of_a_kind_uploaded_at_once_after_a_rejection_are_both_listed(store):
    """Outside review: both uploads read the rejected KK as the one they
    replace; the second to list lost that guard, its file was deleted and it
    was answered 409 ``document_limit_reached`` with room to spare. Now it
    reads the application again and is listed: the first page took the old
    KK's place, the second is one more."""
    application = rejected_with_pages(store, 1)
    [old] = application["documents"]
    code, nik = application["tracking_code"], application["applicant"]["nik"]
    page_one, page_two = checked("KK jelas hal 1"), checked("KK jelas hal 2")
    landed = []

    def page_one_lands_first():
        store.meanwhile = lambda: None
        landed.append(store.attach_document(code, nik, KIND, page_one, LIMITS))

    store.meanwhile = page_one_lands_first
    listed, entry, created = store.attach_document(code, nik, KIND, page_two, LIMITS)

    [(_, first, first_created)] = landed
    assert created and first_created
    ids = [old["document_id"], first["document_id"], entry["document_id"]]
    assert [e["document_id"] for e in listed["documents"]] == ids
    assert listed["documents_replaced"] == {old["document_id"]: first["document_id"]}
    assert (listed["documents_count"], listed["documents_bytes"]) == (
        2, page_one.size + page_two.size)
    assert files_of(store, application) == set(ids)


def test_an_upload_that_keeps_losing_its_listing_is_answered_503_and_stores_nothing(store):
    """Each time it reads the application, another upload takes the place of
    a page it would replace before it lists itself: after
    ``LISTING_ATTEMPTS`` tries it gives up - 503 (retry), not a 409 saying
    the application is full - and its file is deleted again."""
    application = rejected_with_pages(store, 4)
    olds = [entry["document_id"] for entry in application["documents"]]
    waiting = list(olds)

    def another_upload_takes_a_place():
        store.db.applications.update_one({"_id": application["_id"]}, {
            "$set": {f"documents_replaced.{waiting.pop(0)}": uuid.uuid4().hex}})

    store.meanwhile = another_upload_takes_a_place
    with pytest.raises(uploads.DocumentsChanging) as busy:
        store.attach_document(application["tracking_code"], application["applicant"]["nik"],
                              KIND, checked("KK jelas"), LIMITS)
    assert (busy.value.status, busy.value.code) == (503, "unavailable")
    # read once, then again after each of its 3 listings missed
    assert waiting == []
    after = store.db.applications.find_one({"_id": application["_id"]})
    assert [e["document_id"] for e in after["documents"]] == olds
    assert after["documents_count"] == 4
    assert files_of(store, application) == set(olds)
