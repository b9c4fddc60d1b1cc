"""Unit tests of intake's decisions: operator and citizen transitions and
downstream steps (the event payloads: test_intake_payloads.py).

Pure functions only: an application is a dict, a move is what the domain
returns, and ``apply`` (tests/stored_applications.py) writes it the way the
store does.
"""

from __future__ import annotations

import copy
import json

import pytest

from services.intake.domain import (
    APPLICATION_STATUSES,
    STATUSES,
    TRANSITIONS,
    cancel,
    earlier_answer,
    public_view,
    reject,
    resubmit,
    status_fields,
    verify,
)
from services.intake.downstream import (EVENT_MOVES, EVENT_STEPS, RECORDED_AS, next_status,
                                        recorded_as, step_from_event)
from services.intake.exceptions import IdempotencyKeyReused, PersonDeceased, WrongStatus
from services.intake.request_fields import corrected_request, request_of
from services.intake.rules import validate_application
from shared.clock import today_wib
from shared.errors import ValidationFailed
from shared.events import EVENTS, build_event
from tests.stored_applications import (ADDRESS, CODES, NIK, OPERATOR, apply, rejected,
                                       submitted)


CHILD = "3673040805150002"


def in_status(status: str) -> dict:
    application = submitted()
    return {**application, **status_fields(status, application["_id"])}


def record(application: dict, event_type: str, at: str) -> dict:
    step = step_from_event(event_type, {"occurred_at": at})
    to_status = next_status(application["status"], event_type)
    return {**application, **(status_fields(to_status, application["_id"]) if to_status else {}),
            "timeline": [*application["timeline"], step]}


def test_transition_table_names_known_statuses():
    assert TRANSITIONS == {"verify": {"submitted": "verified"},
                           "reject": {"submitted": "rejected"},
                           "resubmit": {"rejected": "submitted"},
                           "cancel": {"submitted": "cancelled", "rejected": "cancelled"}}
    for moves in TRANSITIONS.values():
        assert set(moves) | set(moves.values()) <= set(APPLICATION_STATUSES)


def test_verify_from_submitted():
    app = submitted()
    move = verify(app, OPERATOR)
    assert (move.from_status, move.to_status) == ("submitted", "verified")
    assert move.fields == {"status": "verified", "status_rank": 20, "active": True,
                           "active_slot": "active"}
    assert move.step["status"] == "verified" and move.step["detail"] == {"by": OPERATOR}
    assert [event_type for event_type, _ in move.events] == ["application_verified"]


def for_them(document_type: str, **details) -> dict:
    """A submitted application of ``document_type`` with these details."""
    return {**submitted(), "document_type": document_type, "details": details,
            "required_documents": []}


@pytest.mark.parametrize(("application", "dead", "field"), [
    (submitted(), NIK, "applicant.nik"),
    (for_them("kia", child_nik=CHILD, parent_nik=NIK), CHILD, "details.child_nik"),
    (for_them("skpwni", move="pindah_keluar", members=[NIK, CHILD]), CHILD,
     "details.members.1"),
    (for_them("skpwni", move="pindah_datang", members=[]), NIK, "applicant.nik"),
], ids=["ktp_el", "kia", "skpwni_keluar", "skpwni_datang"])
def test_verify_refuses_a_document_for_someone_whose_death_was_verified(application, dead,
                                                                         field):
    with pytest.raises(PersonDeceased) as refused:
        verify(application, OPERATOR, deceased=lambda nik: nik == dead)
    assert (refused.value.status, refused.value.code) == (409, "deceased")
    [message] = refused.value.fields[field]
    assert (message, message.en) == ("NIK ini tercatat telah meninggal dunia.",
                                     "This NIK is recorded as deceased.")
    assert list(refused.value.fields) == [field]


def test_verify_goes_on_for_the_living_and_for_whom_a_document_is_not():
    assert verify(submitted(), OPERATOR, deceased=lambda nik: nik != NIK).to_status == "verified"
    # a KIA's parent is not whom the card is for (flagged at submission instead)
    kia = for_them("kia", child_nik=CHILD, parent_nik=NIK)
    assert verify(kia, OPERATOR, deceased=lambda nik: nik == NIK).to_status == "verified"


def test_a_wrong_status_is_said_before_a_death():
    with pytest.raises(WrongStatus):
        verify(in_status("verified"), OPERATOR, deceased=lambda nik: True)


def test_reject_frees_the_slot_but_is_not_the_end():
    app = submitted()
    move = reject(app, OPERATOR, ["kk_unreadable", "name_mismatch", "kk_unreadable"],
                  "Foto KK terpotong di bagian bawah")
    assert (move.from_status, move.to_status) == ("submitted", "rejected")
    assert move.fields == {"status": "rejected", "status_rank": 20, "active": False,
                           "active_slot": app["_id"]}
    assert not STATUSES["rejected"].final
    assert move.step["detail"] == {"by": OPERATOR, "note": "Foto KK terpotong di bagian bawah",
                                   "reason_codes": ["kk_unreadable", "name_mismatch"]}
    [(event_type, payload)] = move.events
    assert event_type == "application_rejected"
    assert payload["reason_codes"] == ["kk_unreadable", "name_mismatch"]


def test_a_phone_number_or_nik_in_the_rejection_note_is_masked():
    move = reject(submitted(), OPERATOR, ["other"],
                  "Hubungi 0812 3456 7805 atau bawa KK 3673041201100003")
    [(_, payload)] = move.events
    for note in (move.step["detail"]["note"], payload["note"]):
        assert "3456" not in note and "3673041201100003" not in note
        assert note.startswith("Hubungi ") and "bawa KK" in note


@pytest.mark.parametrize(("codes", "note", "field"), [
    (["foto_buram"], None, "reasons"),                      # not in the catalogue
    (["kk_unreadable", "KK_UNREADABLE"], None, "reasons"),  # codes are exact
    (["death_letter_missing"], None, "reasons"),            # not about a KTP-el
    ([], None, "reasons"),
    (["other"], None, "note"),                              # other says nothing by itself
    (["other"], "   ", "note"),
])
def test_reject_refuses_codes_the_citizen_cannot_act_on(codes, note, field):
    with pytest.raises(ValidationFailed) as excinfo:
        reject(submitted(), OPERATOR, codes, note)
    assert list(excinfo.value.fields) == [field]
    assert excinfo.value.status == 400


def test_unknown_code_is_named_in_both_languages():
    with pytest.raises(ValidationFailed) as excinfo:
        reject(submitted(), OPERATOR, ["kk_unreadable", "foto_buram"])
    [message] = excinfo.value.fields["reasons"]
    assert "foto_buram" in message and "foto_buram" in message.en
    assert "kk_unreadable" not in message


def test_resubmit_returns_a_rejected_application_to_the_queue():
    app = rejected()
    request = corrected_request(app, {"applicant": {"full_name": "Siti Aminah Rahma",
                                                    "email": "siti@example.id"}})
    move = resubmit(app, request, validate_application(request, today_wib()))
    assert (move.from_status, move.to_status) == ("rejected", "submitted")
    assert move.fields == {"status": "submitted", "status_rank": 10, "active": True,
                           "active_slot": "active"}
    assert move.step["status"] == "resubmitted"  # the timeline says what happened
    assert move.step["detail"] == {"by": "citizen",
                                   "corrected": ["applicant.email", "applicant.full_name"]}
    assert move.changes["applicant"]["full_name"] == "Siti Aminah Rahma"
    assert move.changes["contact"]["email"] == "siti@example.id"
    assert move.changes["queued_at"] > app["queued_at"]  # back in the queue, at its end
    [(event_type, payload)] = move.events
    event = build_event(event_type, **payload)
    assert event["corrected"] == ["applicant.email", "applicant.full_name"]
    assert event["contact"]["email"] == "siti@example.id"
    back = apply(app, move)
    assert verify(back, OPERATOR).to_status == "verified"  # the operator can act again


def test_resubmit_as_is_corrects_nothing():
    app = rejected()
    request = corrected_request(app, {})
    assert request == request_of(app)
    # a stored application's request passes its rules again, to the same details
    details = validate_application(request, today_wib())
    assert details == app["details"]
    assert resubmit(app, request, details).step["detail"]["corrected"] == []


def test_resubmit_with_new_details_and_delivery():
    app = rejected()
    request = corrected_request(app, {"details": {"reason": "lost",
                                                  "police_report_number": "LP/123/VI/2025"},
                                      "delivery": {"method": "pos", "address": ADDRESS}})
    move = resubmit(app, request, validate_application(request, today_wib()))
    assert move.step["detail"]["corrected"] == ["details", "delivery"]
    assert move.changes["area"] == {"kecamatan_code": "367304", "kelurahan_code": "3673041001"}
    later = apply(apply(app, move), verify(apply(app, move), OPERATOR))
    assert later["status"] == "verified"


def test_resubmit_stores_what_the_rules_found_again():
    app = {**rejected(), "flags": ["register_unchecked"], "derived": {}}
    request = corrected_request(app, {})
    move = resubmit(app, request, app["details"],
                    {"flags": [], "required_documents": ["kartu_keluarga"], "derived": {}})
    assert (move.changes["flags"], move.changes["required_documents"]) == (
        [], ["kartu_keluarga"])
    assert move.changes["subject_key"] == f"nik:{NIK}"


@pytest.mark.parametrize("status", ["submitted", "verified", "printed", "collected", "cancelled"])
def test_resubmit_only_a_rejected_application(status):
    app = in_status(status)
    with pytest.raises(WrongStatus):
        resubmit(app, request_of(app), app["details"])


@pytest.mark.parametrize("make", [submitted, rejected], ids=["submitted", "rejected"])
def test_cancel_before_verification_is_final(make):
    app = make()
    move = cancel(app)
    assert (move.from_status, move.to_status) == (app["status"], "cancelled")
    assert move.fields == {"status": "cancelled", "status_rank": 70, "active": False,
                           "active_slot": app["_id"]}
    assert STATUSES["cancelled"].final and move.step["detail"] == {"by": "citizen"}
    [(event_type, payload)] = move.events
    event = build_event(event_type, **payload)
    assert (event["previous_status"], event["contact"]["phone"]) == (
        app["status"], "+6281234567890")
    done = apply(app, move)
    for action in (cancel, lambda a: verify(a, OPERATOR), lambda a: reject(a, OPERATOR, CODES),
                   lambda a: resubmit(a, request_of(a), a["details"])):
        with pytest.raises(WrongStatus):
            action(done)


@pytest.mark.parametrize("status", ["verified", "print_queued", "printed", "ready_for_pickup",
                                    "collected", "delivered"])
def test_cancel_after_verification_is_refused(status):
    with pytest.raises(WrongStatus) as excinfo:
        cancel(in_status(status))
    label = STATUSES[status]
    assert excinfo.value.status == 409
    assert excinfo.value.message == \
        f'Permohonan sudah berstatus "{label.label_id}" dan tidak dapat diproses.'
    assert excinfo.value.message.en == \
        f'The application is already "{label.label_en}" and cannot take this action.'
    assert excinfo.value.to_body("en")["error"]["code"] == "conflict"


def test_a_downstream_step_never_moves_a_cancelled_application():
    app = apply(submitted(), cancel(submitted()))
    for event_type in EVENT_STEPS:
        assert next_status(app["status"], event_type) is None


def test_a_move_does_not_change_the_application_it_was_given():
    app = submitted()
    verify(app, OPERATOR)
    assert app["status"] == "submitted" and len(app["timeline"]) == 1


@pytest.mark.parametrize("action", [
    lambda app: verify(app, OPERATOR),
    lambda app: reject(app, OPERATOR, CODES),
], ids=["verify", "reject"])
@pytest.mark.parametrize("status", ["rejected", "verified", "printed", "collected", "cancelled"])
def test_operator_actions_refused_outside_their_transitions(action, status):
    app = in_status(status)
    with pytest.raises(WrongStatus) as excinfo:
        action(app)
    assert excinfo.value.status == 409
    assert f'"{STATUSES[status].label_en}"' in excinfo.value.message.en
    assert f"'{status}'" not in excinfo.value.message.en


@pytest.mark.parametrize("lang", ["id", "en"])
def test_the_citizen_never_sees_who_acted(lang):
    app = rejected()
    request = corrected_request(app, {"applicant": {"full_name": "Siti Aminah Rahma"}})
    app = apply(app, resubmit(app, request, app["details"]))
    app = apply(app, verify(app, OPERATOR))
    view = public_view(app, lang)
    assert OPERATOR not in json.dumps(view) and "citizen" not in json.dumps(view)
    assert [step["status"] for step in view["timeline"]] == [
        "submitted", "rejected", "resubmitted", "verified"]
    rejected_step, resubmitted_step = view["timeline"][1:3]
    assert rejected_step["detail"]["reason_codes"] == CODES
    assert rejected_step["detail"]["reasons"][0].startswith(
        "Foto Kartu Keluarga" if lang == "id" else "The family card")
    assert resubmitted_step["detail"] == {"corrected": ["applicant.full_name"]}
    assert resubmitted_step["label"] == STATUSES["resubmitted"].label(lang)


def test_steps_move_the_status_forward_only():
    app = apply(submitted(), verify(submitted(), OPERATOR))
    app = record(app, "document_printed", "2099-01-02T00:00:00+00:00")
    app = record(app, "print_job_queued", "2099-01-01T00:00:00+00:00")  # arrived late
    assert (app["status"], app["status_rank"]) == ("printed", 40)
    assert [step["status"] for step in public_view(app, "id")["timeline"]] == [
        "submitted", "verified", "print_queued", "printed"]


def test_a_failed_print_after_the_queue_moves_to_print_failed_not_back():
    app = record(in_status("print_queued"), "print_job_failed",
                 "2099-01-01T00:00:00+00:00")
    assert app["status"] == "print_failed"
    app = record(app, "print_job_queued", "2099-01-01T00:00:00+00:00")  # came late
    assert app["status"] == "print_failed"
    assert record(app, "document_printed", "2099-01-02T00:00:00+00:00")["status"] == "printed"


def test_a_job_held_for_an_operator_says_so_and_its_cancel_ends_the_application():
    failed = {"occurred_at": "2099-01-01T00:00:00+00:00", "requeued": False}
    assert recorded_as("print_job_failed", failed) == "print_job_held"
    assert recorded_as("print_job_failed", {**failed, "requeued": True}) == "print_job_failed"
    app = record(in_status("print_queued"), "print_job_held", "2099-01-01T00:00:00+00:00")
    view = public_view(app, "en")
    assert (view["status"], view["status_label"]) == (
        "print_held", "Printing on hold, waiting for an officer's check")
    # an earlier failure printing retried, come late: the hold stands
    assert record(app, "print_job_failed", "2099-01-01T00:00:00+00:00")["status"] == "print_held"
    cancelled = record(app, "print_job_cancelled", "2099-01-02T00:00:00+00:00")
    assert (cancelled["status"], cancelled["active"]) == ("print_cancelled", False)
    assert cancelled["active_slot"] == cancelled["_id"]  # the subject may apply again
    assert "Disdukcapil" in public_view(cancelled, "id")["status_label"]
    # released by the operator and printed after all
    assert record(app, "document_printed", "2099-01-02T00:00:00+00:00")["status"] == "printed"


def test_a_held_job_the_operator_releases_is_queued_again_and_a_late_release_moves_nothing():
    held = record(in_status("print_queued"), "print_job_held", "2099-01-01T00:00:00+00:00")
    released = record(held, "print_job_released", "2099-01-01T01:00:00+00:00")
    view = public_view(released, "id")
    assert (view["status"], view["status_label"]) == ("print_queued", "Masuk antrean cetak")
    assert released["timeline"][-1]["status"] == "print_queued"
    assert record(released, "document_printed", "2099-01-02T00:00:00+00:00")["status"] == \
        "printed"
    # the release comes after the print (or the cancel): the step only, never back
    printed = record(held, "document_printed", "2099-01-02T00:00:00+00:00")
    assert record(printed, "print_job_released", "2099-01-01T01:00:00+00:00")["status"] == \
        "printed"
    cancelled = record(held, "print_job_cancelled", "2099-01-02T00:00:00+00:00")
    assert record(cancelled, "print_job_released", "2099-01-01T01:00:00+00:00")["status"] == \
        "print_cancelled"
    for status in ("verified", "print_queued", "print_failed", "dispatched", "collected"):
        assert next_status(status, "print_job_released") is None


@pytest.mark.parametrize("event_type", ["notification_sent", "notification_failed",
                                        "parcel_delivery_failed", "pickup_rescheduled",
                                        "batch_ready_for_kelurahan", "kecamatan_handover_ready"])
def test_step_only_events_never_change_the_status(event_type):
    assert STATUSES[EVENT_STEPS[event_type]].rank == 0
    for status in APPLICATION_STATUSES:
        assert next_status(status, event_type) is None
    app = record(submitted(), event_type, "2099-01-01T00:00:00+00:00")
    assert (app["status"], len(app["timeline"])) == ("submitted", 2)


@pytest.mark.parametrize(("event_type", "active"), [
    ("document_collected", False), ("parcel_delivered", False),
    ("document_ready_for_pickup", True), ("parcel_dispatched", True),
    ("parcel_returned", True)])
def test_a_final_step_frees_the_nik_for_a_new_application(event_type, active):
    to_status = next_status("verified", event_type)
    assert status_fields(to_status, "a1")["active"] is active
    # the one-active index's slot: shared while in progress, the application's own after
    assert status_fields(to_status, "a1")["active_slot"] == ("active" if active else "a1")


def test_the_event_table_names_known_statuses():
    for event_type, (to_status, from_statuses) in EVENT_MOVES.items():
        assert STATUSES[to_status].rank > 0, event_type
        assert from_statuses <= set(APPLICATION_STATUSES), event_type
        assert not from_statuses & {"submitted", "rejected", "cancelled", "collected",
                                    "delivered"}, event_type


def history(app: dict, events: list[str]) -> dict:
    for number, event_type in enumerate(events):
        app = record(app, event_type, f"2099-01-01T00:00:{number:02d}+00:00")
    return app


POS_HISTORY = ["print_job_queued", "document_printed", "parcel_dispatched",
               "parcel_delivery_failed", "parcel_delivered"]
RETURNED_HISTORY = ["print_job_queued", "document_printed", "parcel_dispatched",
                    "parcel_returned", "document_ready_for_pickup", "pickup_rescheduled",
                    "document_collected"]
PICKUP_HISTORY = ["print_job_queued", "print_job_failed", "document_printed",
                  "document_ready_for_pickup", "notification_sent", "document_collected"]


@pytest.mark.parametrize(("events", "end"), [(POS_HISTORY, "delivered"),
                                             (RETURNED_HISTORY, "collected"),
                                             (PICKUP_HISTORY, "collected")])
def test_a_valid_history_ends_in_the_same_status_in_every_order_the_queues_allow(events, end):
    """Printing's and courier's events come through different queues: each
    source's own events stay in order, the two interleave in any way."""
    verified = apply(submitted(), verify(submitted(), OPERATOR))
    assert history(verified, events)["status"] == end
    printing = [e for e in events if e in ("print_job_queued", "print_job_failed",
                                           "document_printed", "document_ready_for_pickup",
                                           "pickup_rescheduled", "document_collected")]
    courier = [e for e in events if e.startswith("parcel_")]
    others = [e for e in events if e not in printing and e not in courier]
    # the courier's events all first, then printing's (the worst interleaving)
    app = history(verified, courier + printing + others)
    assert app["status"] == end, courier + printing
    assert len(app["timeline"]) == 2 + len(events)


def test_dispatched_shows_then_a_late_printed_step_leaves_it():
    verified = apply(submitted(), verify(submitted(), OPERATOR))
    app = history(verified, ["parcel_dispatched", "document_printed"])
    assert app["status"] == "dispatched"


def test_every_event_of_the_domain_is_in_the_catalogue():
    # a step some events are recorded as is no event of its own (downstream.recorded_as)
    assert set(EVENT_STEPS) - {name for name, _ in RECORDED_AS.values()} <= set(EVENTS)
    assert set(RECORDED_AS) <= set(EVENTS)
    assert {"application_resubmitted", "application_cancelled"} <= set(EVENTS)


def test_a_retry_gets_the_earlier_answer_unless_the_nik_differs():
    earlier = submitted()
    assert earlier_answer(earlier, submitted()["applicant"]) is earlier
    other = submitted()
    other["applicant"] = {**other["applicant"], "nik": "3673041207900001"}
    with pytest.raises(IdempotencyKeyReused):
        earlier_answer(earlier, other["applicant"])
    # the same NIK with another KK: a stranger who guessed the key gets no
    # tracking code (which with the NIK opens the application)
    with pytest.raises(IdempotencyKeyReused):
        earlier_answer(earlier, {**earlier["applicant"], "kk_number": "3673041201109999"})


def test_a_retry_by_someone_else_is_another_request():
    """Outside audit B: a citizen's submission under the key of an officer's
    next-day request got the officer's application (collected at the
    kecamatan office) back as its own; nor does an officer get a citizen's."""
    officers = {**submitted(), "submitted_by": "kecamatan-367304"}
    with pytest.raises(IdempotencyKeyReused):
        earlier_answer(officers, officers["applicant"])
    assert earlier_answer(officers, officers["applicant"], (),
                          "kecamatan-367304") is officers
    with pytest.raises(IdempotencyKeyReused):
        earlier_answer(officers, officers["applicant"], (), "kecamatan-367305")
    citizens = submitted()
    with pytest.raises(IdempotencyKeyReused):
        earlier_answer(citizens, citizens["applicant"], (), "kecamatan-367304")


def test_the_same_details_written_another_way_are_the_same_request():
    """Outside audit A2: a retry with a dotted region code, an explicit
    default, the declared documents in another order or spaces around a
    name was refused as "another application"; its digest is of the details
    as their schema loads them."""
    from services.intake.domain import request_digests
    from services.intake.schemas import ApplicationRequestSchema
    from tests.document_bodies import birth_body
    first = birth_body("2026-11-01")
    variant = copy.deepcopy(first)
    variant["details"]["child"]["birth_place_code"] = "36.73"
    variant["details"]["child"]["full_name"] += " "
    variant["details"]["documents"].reverse()
    variant["details"]["documents"].append(variant["details"]["documents"][0])  # once or twice
    loaded = [ApplicationRequestSchema().load(body) for body in (first, variant)]
    assert request_digests(loaded[0])[0] == request_digests(loaded[1])[0]
    other = copy.deepcopy(first)
    other["details"]["child"]["full_name"] = "Nur Aisyah"
    assert request_digests(ApplicationRequestSchema().load(other))[0] != \
        request_digests(loaded[0])[0]
