"""Unit tests of intake's decisions: operator transitions, downstream steps, event payloads.

Pure functions only: an application is a dict, a move is what the domain
returns, and ``apply`` below writes it the way the store does.
"""

from __future__ import annotations

import json

import pytest

from services.intake.domain import (
    EVENT_STATUS,
    STATUSES,
    TRANSITIONS,
    Transition,
    advance,
    earlier_answer,
    new_application,
    public_view,
    reject,
    status_fields,
    step_from_event,
    submitted_event,
    verify,
)
from services.intake.exceptions import IdempotencyKeyReused, WrongStatus
from services.intake.schemas import ApplicationRequestSchema
from shared.events import EVENTS, build_event

NIK = "3673045207900001"
OPERATOR = "operator-curug-7"
REASONS = ["Foto KK tidak terbaca"]
ADDRESS = {"street": "Jl. Raya Curug No. 5", "rt": "002", "rw": "004",
           "kelurahan_code": "3673041001", "postal_code": "42171"}


def submitted(delivery: dict | None = None) -> dict:
    body = {"document_type": "ktp_el", "channel": "web", "details": {"reason": "first_issue"},
            "applicant": {"nik": NIK, "kk_number": "3673041201100003",
                          "full_name": "Siti Aminah", "phone": "081234567890"}}
    if delivery:
        body["delivery"] = delivery
    return new_application(ApplicationRequestSchema().load(body), {"reason": "first_issue"}, None)


def apply(application: dict, move: Transition) -> dict:
    return {**application, **move.fields, "timeline": [*application["timeline"], move.step]}


def record(application: dict, event_type: str, at: str) -> dict:
    step = step_from_event(event_type, {"occurred_at": at})
    return {**application, **(advance(application["status_rank"], step) or {}),
            "timeline": [*application["timeline"], step]}


def test_transition_table_names_known_statuses_and_only_operator_moves():
    assert TRANSITIONS == {"verify": {"submitted": "verified"},
                           "reject": {"submitted": "rejected"}}
    for moves in TRANSITIONS.values():
        assert set(moves) | set(moves.values()) <= set(STATUSES)


def test_verify_from_submitted():
    app = submitted()
    move = verify(app, OPERATOR)
    assert (move.from_status, move.to_status) == ("submitted", "verified")
    assert move.fields == {"status": "verified", "status_rank": 20, "active": True}
    assert move.step["status"] == "verified" and move.step["detail"] == {"by": OPERATOR}
    assert [event_type for event_type, _ in move.events] == ["application_verified"]


def test_reject_from_submitted_ends_the_application():
    app = submitted()
    move = reject(app, OPERATOR, REASONS)
    assert (move.from_status, move.to_status) == ("submitted", "rejected")
    assert move.fields == {"status": "rejected", "status_rank": 20, "active": False}
    assert move.step["detail"] == {"by": OPERATOR, "reasons": REASONS}
    [(event_type, payload)] = move.events
    assert event_type == "application_rejected" and payload["reasons"] == REASONS


def test_a_move_does_not_change_the_application_it_was_given():
    app = submitted()
    verify(app, OPERATOR)
    assert app["status"] == "submitted" and len(app["timeline"]) == 1


@pytest.mark.parametrize("action", [
    lambda app: verify(app, OPERATOR),
    lambda app: reject(app, OPERATOR, REASONS),
], ids=["verify", "reject"])
@pytest.mark.parametrize("status", ["rejected", "verified", "printed", "collected"])
def test_actions_refused_outside_their_transitions(action, status):
    app = {**submitted(), **status_fields(status)}
    with pytest.raises(WrongStatus) as excinfo:
        action(app)
    assert excinfo.value.status == 409
    assert f"'{status}'" in excinfo.value.message.en


def test_verifying_a_rejected_application_is_refused():
    rejected = apply(submitted(), reject(submitted(), OPERATOR, REASONS))
    with pytest.raises(WrongStatus):
        verify(rejected, OPERATOR)


def test_verified_payload_is_a_valid_application_verified_event():
    app = submitted({"method": "pos", "address": ADDRESS})
    [(event_type, payload)] = verify(app, OPERATOR).events
    event = build_event(event_type, **payload)  # the catalogue's schema, unknown fields refused
    assert event["application_id"] == app["_id"]
    assert (event["nik"], event["full_name"]) == (NIK, "Siti Aminah")
    assert event["contact"] == {"phone": "+6281234567890", "email": None, "language": "id"}
    assert (event["delivery_method"], event["delivery_address"]) == ("pos", ADDRESS)
    assert event["verified_by"] == OPERATOR


def test_verified_payload_for_pickup_has_no_address():
    [(_, payload)] = verify(submitted(), OPERATOR).events
    assert (payload["delivery_method"], payload["delivery_address"]) == ("pickup", None)


def test_rejected_payload_carries_reasons_and_contact_but_no_operator():
    app = submitted()
    [(event_type, payload)] = reject(app, OPERATOR, REASONS).events
    event = build_event(event_type, **payload)
    assert set(payload) == {"application_id", "tracking_code", "document_type", "reasons",
                            "contact"}
    assert event["reasons"] == REASONS and event["contact"]["phone"] == "+6281234567890"
    assert OPERATOR not in json.dumps(payload)


def test_submitted_payload_names_the_kecamatan_of_the_nik():
    app = submitted()
    event = build_event("application_submitted", **submitted_event(app))
    assert (event["channel"], event["kecamatan_code"]) == ("web", "367304")
    assert NIK not in json.dumps(event)


@pytest.mark.parametrize("lang", ["id", "en"])
def test_the_citizen_never_sees_which_operator_acted(lang):
    for move in (verify(submitted(), OPERATOR), reject(submitted(), OPERATOR, REASONS)):
        view = public_view(apply(submitted(), move), lang)
        assert OPERATOR not in json.dumps(view)
    rejected = public_view(apply(submitted(), reject(submitted(), OPERATOR, REASONS)), lang)
    assert rejected["timeline"][-1]["detail"] == {"reasons": REASONS}


def test_steps_move_the_status_forward_only():
    app = apply(submitted(), verify(submitted(), OPERATOR))
    app = record(app, "document_printed", "2099-01-02T00:00:00+00:00")
    app = record(app, "print_job_queued", "2099-01-01T00:00:00+00:00")  # arrived late
    assert (app["status"], app["status_rank"]) == ("printed", 40)
    assert [step["status"] for step in public_view(app, "id")["timeline"]] == [
        "submitted", "verified", "print_queued", "printed"]


def test_a_step_of_the_same_rank_does_not_replace_the_status():
    app = record({**submitted(), **status_fields("print_queued")}, "print_job_failed",
                 "2099-01-01T00:00:00+00:00")
    assert app["status"] == "print_queued"


@pytest.mark.parametrize("event_type", ["notification_sent", "notification_failed"])
def test_notification_steps_never_change_the_status(event_type):
    step = step_from_event(event_type, {"occurred_at": "2099-01-01T00:00:00+00:00"})
    assert STATUSES[step["status"]].rank == 0
    assert advance(0, step) is None
    app = record(submitted(), event_type, "2099-01-01T00:00:00+00:00")
    assert (app["status"], len(app["timeline"])) == ("submitted", 2)


@pytest.mark.parametrize(("event_type", "active"), [
    ("document_collected", False), ("parcel_delivered", False),
    ("document_ready_for_pickup", True), ("parcel_delivery_failed", True)])
def test_a_final_step_frees_the_nik_for_a_new_application(event_type, active):
    step = step_from_event(event_type, {"occurred_at": "2099-01-01T00:00:00+00:00"})
    assert advance(STATUSES["verified"].rank, step)["active"] is active


def test_every_downstream_event_is_in_the_catalogue():
    assert set(EVENT_STATUS) <= set(EVENTS)


def test_a_retry_gets_the_earlier_answer_unless_the_nik_differs():
    earlier = submitted()
    assert earlier_answer(earlier, submitted()) is earlier
    other = submitted()
    other["applicant"] = {**other["applicant"], "nik": "3673041207900001"}
    with pytest.raises(IdempotencyKeyReused):
        earlier_answer(earlier, other)
