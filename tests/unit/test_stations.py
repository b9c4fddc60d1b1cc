"""Unit tests for services.printing.stations and the failure rules: where a
job may go, what a station may hold, what a failure does."""

from __future__ import annotations

import datetime

import pytest

from services.printing import domain
from services.printing.exceptions import LeaseLost, NotHeld
from services.printing.schemas import FailedSchema, PrintedBatchSchema, PrintedSchema
from services.printing.stations import (InvalidStations, Station, StationRules, claim_filters,
                                        parse_stations, priority, served_places, station_for)
from shared.errors import ValidationFailed
from shared.events import build_event
from shared.http import load_checked
from shared.offices import PLACES

NOW = datetime.datetime(2025, 6, 5, 3, 0, tzinfo=datetime.timezone.utc)
SPEC = ("station-serang-1@disdukcapil-serang:card+certificate:20,"
        "station-curug-1@kec-curug:card,station-kasemen-1@kec-kasemen:card+certificate")
STATIONS = parse_stations(SPEC, PLACES)


def test_parse_stations():
    assert STATIONS["station-serang-1"] == Station("station-serang-1", "disdukcapil-serang",
                                                   frozenset({"card", "certificate"}), 20)
    assert STATIONS["station-curug-1"].max_held == 10  # the default cap
    assert parse_stations("", PLACES) == {}
    for bad, why in [("station-1", "entry 1"), ("s@nowhere:card", "unknown place"),
                     ("s@kec-curug:paper", "kinds"), ("s@kec-curug:card,s@kec-curug:card",
                                                      "repeats"),
                     # may hold none: claims none, its place's jobs wait for ever
                     ("s@kec-curug:card:20,t@kec-kasemen:card:0", "entry 2: max held")]:
        with pytest.raises(InvalidStations, match=why):
            parse_stations(bad, PLACES)


def test_an_unlisted_station_prints_everything_at_the_dinas():
    station = station_for("station-test-1", {})
    assert (station.place_id, station.kinds) == ("disdukcapil-serang",
                                                 frozenset({"card", "certificate"}))


def test_routing_by_place_and_kind():
    curug, kasemen, dinas = (STATIONS[s] for s in ("station-curug-1", "station-kasemen-1",
                                                   "station-serang-1"))
    assert served_places(curug, "card", STATIONS, PLACES) == ["kec-curug"]
    assert served_places(curug, "certificate", STATIONS, PLACES) == []  # prints no paper
    assert served_places(kasemen, "certificate", STATIONS, PLACES) == ["kec-kasemen"]
    # the Dinas prints for itself and for every place without a station of that kind
    assert "kec-curug" not in served_places(dinas, "card", STATIONS, PLACES)
    assert "kec-curug" in served_places(dinas, "certificate", STATIONS, PLACES)
    assert "kec-kasemen" not in served_places(dinas, "certificate", STATIONS, PLACES)
    assert "kec-taktakan" in served_places(dinas, "card", STATIONS, PLACES)


def test_claim_filters():
    curug = STATIONS["station-curug-1"]
    [claimable] = claim_filters(curug, frozenset({"card", "certificate"}), STATIONS, PLACES,
                                NOW, 3)
    assert claimable == {"status": {"$in": ["leased", "queued"]},
                         "lease_until": {"$not": {"$gte": NOW}}, "attempts": {"$lt": 3},
                         "print_kind": {"$in": ["card"]},
                         "pickup_place_id": {"$in": ["kec-curug"]}}
    # no cards to print (no blanko) and it prints nothing else: nothing to claim
    assert claim_filters(curug, frozenset({"certificate"}), STATIONS, PLACES, NOW, 3) == []
    # the Dinas serves other places for cards than for certificates: one route each
    dinas = STATIONS["station-serang-1"]
    filters = claim_filters(dinas, frozenset({"card", "certificate"}), STATIONS, PLACES, NOW, 3)
    assert len(filters) == 2
    assert all("$or" not in query and "$and" not in query for query in filters)


def test_next_day_and_replacements_go_first():
    assert priority({"next_day": True}) == priority({"replacement": True}) == 0
    assert priority({"next_day": False, "replacement": False}) == 1


def leased(attempts: int) -> dict:
    return {"_id": "job-1", "application_id": "app-1", "tracking_code": "SDK00000001",
            "document_type": "ktp_el", "status": "leased", "station_id": "station-curug-1",
            "attempts": attempts, "lease_until": NOW, "full_name": "Siti Aminah",
            "contact": {"phone": "+6281234567890", "email": None, "language": "id"}}


@pytest.mark.parametrize("reason,requeued", [("misprint", True), ("out_of_blanko", True),
                                             ("printer_fault", True), ("data_error", False)])
def test_failure_reasons_decide_requeue_or_hold(reason, requeued):
    update, [event] = domain.failure_outcome(leased(1), reason, "catatan", max_attempts=3)
    assert update["status"] == ("queued" if requeued else "held")
    assert (event.type, event.payload["requeued"], event.payload["reason"]) == (
        "print_job_failed", requeued, reason)
    assert update["failure_note"] == "catatan"


def test_after_the_last_attempt_a_job_is_held_never_cycled():
    assert domain.failure_outcome(leased(2), "misprint", None, 3)[0]["status"] == "queued"
    assert domain.failure_outcome(leased(3), "misprint", None, 3)[0]["status"] == "held"
    with pytest.raises(LeaseLost):
        domain.failure_outcome({**leased(1), "status": "printed"}, "misprint", None, 3)


def test_an_operator_releases_or_cancels_only_a_held_job():
    held = {**leased(3), "status": "held", "last_failure": "data_error"}
    update, [released] = domain.release(held, "operator-1")
    assert (update["status"], update["attempts"]) == ("queued", 0)
    # intake moves the citizen's status from print_held back to the queue
    assert (released.type, released.payload["application_id"],
            released.payload["released_by"]) == ("print_job_released", "app-1", "operator-1")
    build_event(released.type, **released.payload)
    update, [event] = domain.cancel(held, "operator-1")
    assert update["status"] == "cancelled"
    # intake ends the application, notification tells the citizen
    assert (event.type, event.payload["application_id"], event.payload["reason"]) == (
        "print_job_cancelled", "app-1", "data_error")
    build_event(event.type, **event.payload)
    with pytest.raises(NotHeld):
        domain.release(leased(1), "operator-1")
    assert domain.job_is_held(leased(3), max_attempts=3)
    assert not domain.job_is_held(leased(2), max_attempts=3)


def test_rules():
    rules = StationRules(STATIONS, tuple(PLACES), datetime.timedelta(minutes=10), 3)
    assert rules.station("unknown").place_id == "disdukcapil-serang"
    assert rules.held_filters(NOW) == [
        {"status": "held"},
        {"status": "leased", "lease_until": {"$lt": NOW}, "attempts": {"$gte": 3}}]


LEASE = {"lease_token": "q3Zr8V1cS0yXbP2mT7wK4A"}
ENTRY = {"print_job_id": "5e0d7c1b", **LEASE}


@pytest.mark.parametrize("job_id", ["", "   ", "Siti\u202eAminah", "Si\u200bti", "job \U0001f600",
                                    "<script>", "a\u0301", "x" * 65, "job-1\n"])
def test_a_batch_entry_whose_print_job_id_is_no_id_is_refused_naming_it(job_id):
    """Outside audit: any string was taken as an id and echoed back in a
    ``not_found`` result."""
    with pytest.raises(ValidationFailed) as refused:
        load_checked(PrintedBatchSchema(), {"jobs": [ENTRY, {**ENTRY, "print_job_id": job_id}]})
    assert list(refused.value.fields) == ["jobs.1.print_job_id"]


@pytest.mark.parametrize("job_id", ["5e0d7c1b2a3f4e6d8c9b0a1f2e3d4c5b", "no-such-job", "x"])
def test_a_batch_entry_takes_an_id_of_the_print_jobs_form(job_id):
    body = {"jobs": [{**ENTRY, "print_job_id": job_id}]}
    [entry] = load_checked(PrintedBatchSchema(), body)["jobs"]
    assert entry["print_job_id"] == job_id


@pytest.mark.parametrize(("schema", "body", "named"), [
    (PrintedSchema, {**LEASE, "bar": 1}, "bar"),
    (FailedSchema, {**LEASE, "reason": "misprint", "bar": 1}, "bar"),
    (PrintedBatchSchema, {"jobs": [ENTRY], "bar": 1}, "bar"),
    (PrintedBatchSchema, {"jobs": [ENTRY, {**ENTRY, "bar": 1}]}, "jobs.1.bar"),
])
def test_a_station_report_refuses_a_field_it_does_not_know_naming_it(schema, body, named):
    with pytest.raises(ValidationFailed) as refused:
        load_checked(schema(), body)
    assert list(refused.value.fields) == [named]
