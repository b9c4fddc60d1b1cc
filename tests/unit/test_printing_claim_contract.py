"""The claim's contract as the station sees it: ``lease_seconds`` beside
``lease_until`` (``domain.lease_seconds``), and the ``Idempotency-Key`` of a
claim sent again, in the served OpenAPI document."""

from __future__ import annotations

import datetime

import pytest
from jsonschema import ValidationError

from services.printing.domain import lease_seconds, new_lease
from services.printing.openapi import openapi_document
from services.printing.schemas import StationJobSchema
from tests.openapi_answers import answer_schema, assert_answer_matches
from tests.unit.test_printing_openapi import CLAIM, claimed

LEASE = datetime.timedelta(seconds=600)
# not whole milliseconds, as a clock reads
NOW = datetime.datetime(2026, 11, 30, 3, 0, 0, 123456, tzinfo=datetime.timezone.utc)


def test_a_new_lease_is_its_whole_length_and_one_answered_again_what_is_left():
    lease = new_lease("station-1", NOW, LEASE, "key-1")
    assert lease["claim_key"] == "key-1" and new_lease("station-1", NOW, LEASE)["claim_key"] is None
    assert lease_seconds(lease, NOW) == 600  # not 599: the database's milliseconds
    assert lease_seconds(lease, NOW + datetime.timedelta(seconds=30.5)) == 569
    assert lease_seconds(lease, NOW + LEASE + datetime.timedelta(seconds=1)) == 0


def test_the_claim_answers_lease_seconds_and_takes_an_idempotency_key():
    document = openapi_document()
    job = StationJobSchema().dump({**claimed("ktp_el"), "lease_seconds": 600})
    assert job["lease_seconds"] == 600
    assert_answer_matches(document, "POST", CLAIM, 200, {"jobs": [job]})
    single = answer_schema(document, "POST", CLAIM, 200)["oneOf"][0]["$ref"].rsplit("/", 1)[1]
    fields = document["components"]["schemas"][single]["properties"]
    assert "Idempotency-Key" in fields["lease_seconds"]["description"]
    assert "own clock" in fields["lease_until"]["description"]
    with pytest.raises(ValidationError):
        assert_answer_matches(document, "POST", CLAIM, 200, {**job, "lease_seconds": "600"})
    headers = [p for p in document["paths"][CLAIM]["post"]["parameters"] if p["in"] == "header"]
    assert [p["name"] for p in headers] == ["Idempotency-Key"]
    assert "same lease tokens" in headers[0]["description"]
