"""The envelope every event carries (``shared.events.EventSchema``): a
consumer of version 1 reads only version 1, a blank or ill-formed event id
(consumers deduplicate on it) and an ``occurred_at`` that is no date-time
fail the schema - and so are dead-lettered, not acted on (outside audit)."""

from __future__ import annotations

import pytest
from marshmallow import ValidationError

from shared.events import SCHEMA_VERSION, build_event, load_event

READY = {"application_id": "a1b2", "tracking_code": "SDK7H3KQ9MX", "document_type": "ktp_el",
         "print_job_id": "job-1", "full_name": "Siti",
         "contact": {"phone": "+6281234567890", "email": None, "language": "id"},
         "slot": {"place": "Loket", "address": "Jl. Jend. Sudirman No. 5", "date": "2099-01-05",
                  "start": "09:00", "end": "10:00"}}


def failing(body: dict) -> list[str]:
    with pytest.raises(ValidationError) as excinfo:
        load_event("document_ready_for_pickup", body)
    return sorted(excinfo.value.messages)


@pytest.fixture
def event() -> dict:
    return build_event("document_ready_for_pickup", **READY)


@pytest.mark.parametrize("version", [99, 2, 0, "1", True, 1.0, None])
def test_only_the_schema_version_this_consumer_knows_is_read(event, version):
    assert failing({**event, "schema_version": version}) == ["schema_version"]


@pytest.mark.parametrize("event_id", ["", " ", "\u200b", "abc\n", "-abc", "a" * 65, "a.sms",
                                      "a:b", "3673\u0661", None, 17])
def test_a_blank_or_ill_formed_event_id_is_refused(event, event_id):
    assert failing({**event, "event_id": event_id}) == ["event_id"]


@pytest.mark.parametrize("occurred_at", [
    "not a date", "", "2025-03-10", "2025-03-10T05:02:47", "2025-06-31T05:02:47+00:00",
    "2025-03-10 05:02:47+00:00", "2025-03-10T05:02:47+00:00\n", "20250310T050247Z", 1741582967,
    "0001-01-01T00:00:00+07:00"])
def test_occurred_at_must_be_an_iso_date_time_with_its_zone(event, occurred_at):
    assert failing({**event, "occurred_at": occurred_at}) == ["occurred_at"]


def test_what_producers_and_hand_made_events_send_is_read(event):
    assert load_event("document_ready_for_pickup", event)["schema_version"] == SCHEMA_VERSION
    for event_id in ("returned-SDK7KQ2M9XA", "ev_1", "E1", "a" * 64):
        assert load_event("document_ready_for_pickup", {**event, "event_id": event_id})
    # read as its instant in UTC, written one way: consumers compare the
    # text, and "10:00+07:00" sorted after "03:00:00.000001+00:00" (a review)
    for occurred_at, read in (("2026-01-05T03:00:00+00:00", "2026-01-05T03:00:00.000000+00:00"),
                              ("2026-01-05T03:00:00Z", "2026-01-05T03:00:00.000000+00:00"),
                              ("2026-01-05T10:00+07:00", "2026-01-05T03:00:00.000000+00:00"),
                              ("2026-01-05T03:00:00.5+00:00", "2026-01-05T03:00:00.500000+00:00")):
        loaded = load_event("document_ready_for_pickup", {**event, "occurred_at": occurred_at})
        assert loaded["occurred_at"] == read
    later = load_event("document_ready_for_pickup",
                       {**event, "occurred_at": "2026-01-05T03:00:00.000001+00:00"})
    assert later["occurred_at"] > read_as("2026-01-05T10:00+07:00", event)


def read_as(occurred_at: str, event: dict) -> str:
    return load_event("document_ready_for_pickup", {**event, "occurred_at": occurred_at})[
        "occurred_at"]
