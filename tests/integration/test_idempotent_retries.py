"""A retried submission (the same Idempotency-Key) is answered as its first
try was, before the checks run again: what changed since - the card printed,
so a first KTP-el would now be refused - does not turn the retry into a
refusal. Against the real database server."""

from __future__ import annotations

import logging
import uuid

import pytest

from services.intake.appointments import CardAlreadyIssued
from services.intake.exceptions import IdempotencyKeyReused
from services.intake.schemas import ApplicationRequestSchema
from services.intake.screening import Screening
from services.intake.store import ApplicationStore
from services.intake.submission import submit_application
from shared.errors import ValidationFailed
from tests.document_bodies import kia_body
from tests.helpers import at_once, random_nik, store_on_a_database_of_its_own, valid_body
from tests.unit.test_batches import NoRegister


@pytest.fixture
def store(backing):
    yield from store_on_a_database_of_its_own(backing, ApplicationStore, "intake_retries")


def screening(card_issued: bool) -> Screening:
    return Screening(NoRegister(), lambda nik: False, lambda nik: card_issued)


def test_a_retry_gets_its_first_answer_after_the_card_is_printed(store):
    ApplicationStore.ensure_indexes(store.db)
    body = ApplicationRequestSchema().load(valid_body())
    assert body["details"]["reason"] == "first_issue"
    key = f"retry-{uuid.uuid4().hex}"
    first = submit_application(store, screening(card_issued=False), body, key)

    printed_since = screening(card_issued=True)
    again = submit_application(store, printed_since, body, key)
    assert (again["_id"], again["tracking_code"]) == (first["_id"], first["tracking_code"])
    with pytest.raises(CardAlreadyIssued):  # a new request (no key) is checked
        submit_application(store, printed_since, body, None)
    other = ApplicationRequestSchema().load(
        {**valid_body(), "applicant": {**valid_body()["applicant"], "nik": random_nik()}})
    with pytest.raises(IdempotencyKeyReused):  # the key of another NIK's request
        submit_application(store, printed_since, other, key)
    assert store.db.applications.count_documents({}) == 1


def test_a_key_reused_for_another_document_of_the_same_citizen_is_refused(store):
    """Outside audit T4: a back-end that reused its request ids got 202 with
    the first application's code for a second one of the same citizen (a
    KIA after a KTP-el, a second child's birth certificate), which was never
    stored. The same NIK and KK with another document or other details is
    refused as another NIK's request is; a retry of the same request, loaded
    afresh, still gets the first answer."""
    ApplicationStore.ensure_indexes(store.db)
    sent = valid_body()
    key = f"reused-{uuid.uuid4().hex}"
    first = submit_application(store, screening(card_issued=False),
                               ApplicationRequestSchema().load(sent), key)
    again = submit_application(store, screening(card_issued=False),
                               ApplicationRequestSchema().load(valid_body() | {
                                   "applicant": sent["applicant"]}), key)
    assert again["tracking_code"] == first["tracking_code"]
    kia = kia_body(random_nik(), sent["applicant"]["nik"], sent["applicant"]["kk_number"])
    for other in ({**sent, "details": {**sent["details"], "reason": "data_change"}},
                  {**sent, "document_type": "kia", "details": kia["details"]}):
        with pytest.raises(IdempotencyKeyReused):
            submit_application(store, screening(card_issued=False),
                               ApplicationRequestSchema().load(other), key)
    # details that do not load: the 400 naming them, as on a first try (audit B)
    with pytest.raises(ValidationFailed) as refused:
        submit_application(store, screening(card_issued=False), ApplicationRequestSchema().load(
            {**sent, "document_type": "kia", "details": {"child_nik": random_nik()}}), key)
    assert "details.child_full_name" in refused.value.fields
    assert store.db.applications.count_documents({}) == 1


def test_an_application_stored_without_a_digest_is_still_answered_on_a_retry(store):
    """Applications stored before the request's digest was kept are compared
    by NIK and KK only: their retries keep getting the first answer."""
    ApplicationStore.ensure_indexes(store.db)
    sent, key = valid_body(), f"older-{uuid.uuid4().hex}"
    first = submit_application(store, screening(card_issued=False),
                               ApplicationRequestSchema().load(sent), key)
    store.db.applications.update_one({"_id": first["_id"]}, {"$unset": {"request_digest": ""}})
    again = submit_application(store, screening(card_issued=False),
                               ApplicationRequestSchema().load(sent), key)
    assert again["_id"] == first["_id"]


def test_a_retry_changing_the_delivery_or_the_name_is_refused_and_a_contact_is_not(store):
    """Outside audit A2: a retry switching to delivery by Pos (or to another
    pickup place, or with another name) was answered 202 with the first code
    and the change was dropped - the front-end believed Pos would deliver.
    Refused now as other details are; a corrected contact or language is
    still the same request."""
    ApplicationStore.ensure_indexes(store.db)
    sent, key = valid_body(), f"changed-{uuid.uuid4().hex}"
    first = submit_application(store, screening(card_issued=False),
                               ApplicationRequestSchema().load(sent), key)
    applicant = sent["applicant"]
    same = {**sent, "applicant": {**applicant, "phone": "081298765432", "language": "en",
                                  "email": "fauzi@example.id"}}
    again = submit_application(store, screening(card_issued=False),
                               ApplicationRequestSchema().load(same), key)
    assert again["tracking_code"] == first["tracking_code"]
    # the defaults spelt out are the same delivery (outside audit A3)
    for spelt_out in ({"method": "pickup"},
                      {"method": "pickup", "place_id": "disdukcapil-serang"},
                      {"place_id": "disdukcapil-serang"}):
        again = submit_application(store, screening(card_issued=False),
                                   ApplicationRequestSchema().load({**sent,
                                                                    "delivery": spelt_out}), key)
        assert again["tracking_code"] == first["tracking_code"], spelt_out
    pos = {"method": "pos", "address": {"street": "Jl. Raya Curug No. 7", "rt": "002",
                                        "rw": "005", "kelurahan_code": "3673041001",
                                        "postal_code": "42171"}}
    for changed in ({**sent, "delivery": pos},
                    {**sent, "delivery": {"method": "pickup", "place_id": "kec-curug"}},
                    {**sent, "applicant": {**applicant, "full_name": "Ahmad Fauzan"}}):
        with pytest.raises(IdempotencyKeyReused):
            submit_application(store, screening(card_issued=False),
                               ApplicationRequestSchema().load(changed), key)
    assert store.db.applications.count_documents({}) == 1


def test_an_application_stored_with_the_earlier_digest_is_compared_by_it(store):
    """Applications stored before the digest covered the delivery and the
    name (``DIGEST_VERSION``) keep being compared by document and details."""
    from services.intake.domain import request_digests
    ApplicationStore.ensure_indexes(store.db)
    sent, key = valid_body(), f"v1-{uuid.uuid4().hex}"
    loaded = ApplicationRequestSchema().load(sent)
    first = submit_application(store, screening(card_issued=False), loaded, key)
    store.db.applications.update_one({"_id": first["_id"]},
                                     {"$set": {"request_digest": request_digests(loaded)[1]}})
    again = submit_application(store, screening(card_issued=False),
                               ApplicationRequestSchema().load(sent), key)
    assert again["_id"] == first["_id"]
    with pytest.raises(IdempotencyKeyReused):
        submit_application(store, screening(card_issued=False), ApplicationRequestSchema().load(
            {**sent, "details": {"reason": "data_change"}}), key)


def test_tries_of_one_request_at_once_make_one_application_and_say_so_once(store, caplog):
    # outside review: eight at once with one key gave one application, but
    # intake's log said "submitted" three times (each retry that raced the
    # first try and was answered with it)
    ApplicationStore.ensure_indexes(store.db)
    body = ApplicationRequestSchema().load(valid_body())
    key = f"race-{uuid.uuid4().hex}"
    caplog.set_level(logging.INFO, logger="services.intake.submission")
    answers = at_once(8, lambda _: submit_application(store, screening(card_issued=False),
                                                      body, key))
    assert len({answer["_id"] for answer in answers}) == 1
    assert store.db.applications.count_documents({}) == 1
    said = [record.getMessage() for record in caplog.records if "submitted" in record.getMessage()]
    assert len(said) == 1, said
