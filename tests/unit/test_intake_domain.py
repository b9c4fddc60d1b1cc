"""Unit tests for services.intake.domain: new applications, timeline steps, public view."""

from __future__ import annotations

import datetime
import json
import re

import pytest

from services.intake.domain import (
    STATUSES,
    TRACKING_ALPHABET,
    Status,
    new_application,
    public_detail,
    public_view,
)
from services.intake.downstream import DETAIL_FIELDS, EVENT_STEPS, RECORDED_AS, step_from_event
from services.intake.schemas import ApplicationRequestSchema
from shared.events import EVENTS

NIK = "3673045207900001"
KK = "3673041201100003"
PHONE = "+6281234567890"
EMAIL = "siti.aminah@example.id"
DETAILS = {"reason": "first_issue", "police_report_number": None, "old_card_surrendered": False}
SLOT = {"place": "Kantor Kecamatan Curug", "address": "Jl. Raya Curug No. 1, Kota Serang",
        "date": "2025-06-09", "start": "09:00", "end": "10:00"}


def loaded_request() -> dict:
    return ApplicationRequestSchema().load({
        "document_type": "ktp_el", "channel": "kecamatan", "details": {"reason": "first_issue"},
        "applicant": {"nik": NIK, "kk_number": KK, "full_name": "Siti Aminah",
                      "phone": "081234567890", "email": EMAIL, "language": "en"}})


def test_new_application_fields():
    app = new_application(loaded_request(), DETAILS, None)
    assert re.fullmatch(r"SDK[%s]{8}" % TRACKING_ALPHABET, app["tracking_code"])
    assert re.fullmatch(r"[0-9a-f]{32}", app["_id"])
    assert (app["status"], app["status_rank"], app["active"]) == ("submitted", 10, True)
    assert app["applicant"] == {"nik": NIK, "kk_number": KK, "full_name": "Siti Aminah",
                                "marital_status": "belum_kawin"}
    assert app["contact"] == {"phone": PHONE, "email": EMAIL, "language": "en",
                              "preferred_channel": "sms"}
    assert app["details"] == DETAILS
    assert app["delivery"] == {"method": "pickup"}
    assert "idempotency_key" not in app
    [step] = app["timeline"]
    assert step["status"] == "submitted" and step["detail"] == {"channel": "kecamatan"}
    at = datetime.datetime.fromisoformat(step["at"])
    assert at.utcoffset() == datetime.timedelta(0)
    assert at == app["created_at"]


def test_tracking_alphabet_avoids_ambiguous_characters_and_codes_differ():
    assert not set("01OIL") & set(TRACKING_ALPHABET)
    codes = {new_application(loaded_request(), DETAILS, None)["tracking_code"] for _ in range(50)}
    assert len(codes) == 50


@pytest.mark.parametrize("key", ["idem-7f3a", ""])
def test_idempotency_key_only_when_given(key):
    app = new_application(loaded_request(), DETAILS, key)
    assert app.get("idempotency_key") == (key or None)
    assert ("idempotency_key" in app) == bool(key)


def test_status_labels_by_language():
    status = STATUSES["ready_for_pickup"]
    assert status == Status(50, "Siap diambil", "Ready for collection")
    assert (status.label("id"), status.label("en"), status.label("fr")) == (
        "Siap diambil", "Ready for collection", "Siap diambil")


def test_final_statuses_are_the_ends_of_the_road():
    assert {name for name, status in STATUSES.items() if status.final} == {
        "collected", "delivered", "cancelled", "print_cancelled"}
    assert not any(status.final for status in STATUSES.values() if status.rank == 0)


def test_event_step_mapping_is_consistent():
    recorded_as = {name: event for event, (name, _) in RECORDED_AS.items()}
    for event_type, status in EVENT_STEPS.items():
        assert recorded_as.get(event_type, event_type) in EVENTS
        assert status in STATUSES


@pytest.mark.parametrize(("event_type", "status"), sorted(EVENT_STEPS.items()))
def test_step_from_event_shows_its_own_fields_only(event_type, status):
    event = {"occurred_at": "2025-06-05T03:00:00+00:00", "slot": SLOT, "channel": "sms",
             "barcode": "RB123456789ID", "reason": "Alamat tidak ditemukan", "how": "counter",
             "kelurahan_code": "3673041010", "manifest_id": "JB-1", "kecamatan_code": "367304",
             "day": "2025-06-09", "at_office_from": "2025-06-10",
             "nik": NIK, "contact": {"phone": PHONE}, "station_id": "st-1",
             "print_job_id": "job-1", "released_by": "op-1", "requeued_by": "op-1",
             "cancelled_by": "op-1"}
    step = step_from_event(event_type, event)
    assert (step["status"], step["at"]) == (status, "2025-06-05T03:00:00+00:00")
    # a field the step names otherwise is (the event's, the step's): a print's
    # reason and operator, which the citizen's view does not show (12d1e2c)
    assert set(step["detail"]) == {field[1] if isinstance(field, tuple) else field
                                   for field in DETAIL_FIELDS.get(event_type, ())}
    assert not {"nik", "contact"} & set(step["detail"])
    # the operator's detail may show the station, the job and who acted; the citizen never
    assert not {"station_id", "print_job_id", "by", "print_reason"} & set(
        public_detail(step["detail"], "id"))


def test_step_from_event_skips_absent_and_empty_fields():
    step = step_from_event("parcel_dispatched", {"occurred_at": "2025-06-05T03:00:00+00:00",
                                                 "barcode": None})
    assert step == {"status": "dispatched", "at": "2025-06-05T03:00:00+00:00", "detail": {}}
    with pytest.raises(KeyError):
        step_from_event("application_submitted", {"occurred_at": "2025-06-05T03:00:00+00:00"})


def application_with_steps() -> dict:
    app = new_application(loaded_request(), DETAILS, "idem-1")
    app["status"] = "ready_for_pickup"
    app["timeline"] += [  # arrived out of order
        step_from_event("document_ready_for_pickup",
                        {"occurred_at": "2099-01-03T00:00:00+00:00", "slot": SLOT}),
        step_from_event("document_printed", {"occurred_at": "2099-01-02T00:00:00+00:00"}),
        step_from_event("notification_sent",
                        {"occurred_at": "2099-01-04T00:00:00+00:00", "channel": "sms"}),
    ]
    return app


@pytest.mark.parametrize(("lang", "labels"), [
    ("id", ["Permohonan diterima", "Dokumen dicetak", "Siap diambil", "Pemberitahuan terkirim"]),
    ("en", ["Application received", "Document printed", "Ready for collection",
            "Notification sent"]),
])
def test_public_view_sorted_and_labelled(lang, labels):
    app = application_with_steps()
    view = public_view(app, lang)
    assert set(view) == {"application_id", "tracking_code", "document_type", "status",
                         "status_label", "pickup_place", "timeline"}
    assert view["pickup_place"]["place_id"] == "disdukcapil-serang"  # a pickup, by default
    assert view["application_id"] == app["_id"]
    assert view["tracking_code"] == app["tracking_code"]
    assert (view["document_type"], view["status"]) == ("ktp_el", "ready_for_pickup")
    assert view["status_label"] == labels[2]
    assert [s["status"] for s in view["timeline"]] == [
        "submitted", "printed", "ready_for_pickup", "notified"]
    assert [s["label"] for s in view["timeline"]] == labels
    assert view["timeline"][2]["detail"] == {"slot": SLOT}


def test_a_window_given_up_with_its_print_is_not_shown():
    """Outside audit A: a printed card cancelled (its holder died) still
    showed its window beside "Printing stopped"."""
    app = {**application_with_steps(), "pickup": {"slot": SLOT, "since": "2099-01-03"}}
    assert public_view(app, "id")["pickup_slot"] == SLOT
    assert "pickup_slot" not in public_view({**app, "status": "print_cancelled"}, "id")


def test_public_view_unknown_language_falls_back_to_indonesian():
    assert public_view(application_with_steps(), "fr")["status_label"] == "Siap diambil"


@pytest.mark.parametrize("lang", ["id", "en"])
def test_public_view_has_no_personal_data(lang):
    text = json.dumps(public_view(application_with_steps(), lang))
    for secret in (NIK, KK, PHONE, "081234567890", "81234567890", EMAIL, "Siti Aminah",
                   "idem-1"):
        assert secret not in text


@pytest.mark.parametrize("lang, expected", [("en", "en"), (None, "id")])
def test_a_null_language_is_the_request_s_language(lang, expected):
    """Outside audit A2: a front-end writing absent fields as null got 400
    on ``applicant.language`` and could not have the notices follow the
    request's language; null is as left out."""
    from services.intake.schemas import ApplicationRequestSchema
    from tests.helpers import valid_body
    body = valid_body()
    body["applicant"]["language"] = None
    assert ApplicationRequestSchema(lang=lang).load(body)["applicant"]["language"] == expected
    body["applicant"]["language"] = "id"  # given: it wins
    assert ApplicationRequestSchema(lang="en").load(body)["applicant"]["language"] == "id"


def test_the_status_shows_the_office_the_citizen_chose_before_it_is_ready():
    """Outside audit A1: nothing showed the office a citizen chose
    (``delivery.place_id``) until the "ready" notice; not for Pos, nor for
    an officer's application (collected through its office)."""
    app = application_with_steps()
    chosen = public_view({**app, "pickup_place_id": "kec-curug"}, "id")["pickup_place"]
    assert (chosen["place_id"], chosen["name"]) == ("kec-curug", "Kantor Kecamatan Curug")
    assert {"address", "opens", "closes"} <= set(chosen)
    for other in ({"pickup_place_id": None}, {"manifest_id": "JB-1"},
                  {"next_day": True, "pickup_place_id": "disdukcapil-serang"}):
        assert "pickup_place" not in public_view({**app, **other, "pickup": None}, "id")
    # a Pos parcel come back waits at the Disdukcapil counter (a window given)
    returned = {**app, "pickup_place_id": None, "pickup": {"slot": SLOT, "since": "x"}}
    assert public_view(returned, "id")["pickup_place"]["place_id"] == "disdukcapil-serang"


def test_a_re_send_sends_each_subject_s_active_code_or_else_its_latest_rejected_one():
    """Outside audit C: a rejected application's code could not be re-sent."""
    from services.intake.domain import codes_still_needed
    at = [datetime.datetime(2026, 12, day, tzinfo=datetime.timezone.utc) for day in (1, 2, 3)]
    child_a_old = {"_id": "a1", "status": "rejected", "subject_key": "kia:A", "created_at": at[0]}
    child_a_new = {"_id": "a2", "status": "rejected", "subject_key": "kia:A", "created_at": at[1]}
    child_b_rejected = {"_id": "b1", "status": "rejected", "subject_key": "kia:B",
                        "created_at": at[2]}
    child_b_active = {"_id": "b2", "status": "verified", "subject_key": "kia:B",
                      "created_at": at[0]}
    sent = codes_still_needed([child_b_rejected, child_a_new, child_b_active, child_a_old])
    assert sorted(application["_id"] for application in sent) == ["a2", "b2"]
    assert codes_still_needed([]) == []
    # an SKPWNI's subject is its members (a list: a TypeError, the re-send 500)
    move_old = {"_id": "m1", "status": "rejected", "subject_key": ["nik:1", "nik:2"],
                "created_at": at[0]}
    move_new = {**move_old, "_id": "m2", "created_at": at[1]}
    alone = {**move_old, "_id": "m3", "subject_key": ["nik:1"], "created_at": at[2]}
    sent = codes_still_needed([move_new, alone, move_old])
    assert sorted(application["_id"] for application in sent) == ["m2", "m3"]
