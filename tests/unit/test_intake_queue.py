"""The operator's queue at the boundary: query parameters, the page cursor,
what a queue row and the detail show; the applicant's preferred channel."""

from __future__ import annotations

import datetime
import json
import re
from pathlib import Path

import pytest
from marshmallow import ValidationError

from services.intake.domain import APPLICATION_STATUSES, STATUSES, reject
from services.intake.queue_schemas import QueueQuerySchema, ResubmitSchema
from services.intake.schemas import CHANNELS
from services.intake.request_fields import contact_of
from services.intake.views import operator_view, queue_row
from shared.errors import ValidationFailed
from shared.paging import encode_cursor
from tests.stored_applications import ADDRESS, NIK, submitted

AT = datetime.datetime(2025, 6, 9, 2, 15, 4, 120000, tzinfo=datetime.timezone.utc)


def application() -> dict:
    return submitted({"method": "pos", "address": ADDRESS})


def test_query_defaults_to_the_verification_queue():
    assert QueueQuerySchema().load({}) == {"status": "submitted", "limit": 20, "cursor": None}


def test_query_filters_load():
    query = QueueQuerySchema().load({"status": "rejected", "document_type": "kia",
                                     "channel": "kelurahan", "kecamatan": "367304",
                                     "kelurahan": "3673041001", "flag": "late_registration",
                                     "limit": "100"})
    assert query["limit"] == 100 and query["flag"] == "late_registration"


def test_region_filters_take_dotted_codes_as_bodies_do():
    """An operator pasting a code as the region list writes it (outside
    review, session 42: the body took ``36.73.04.1001``, the filter only
    bare digits)."""
    query = QueueQuerySchema().load({"kecamatan": "36.73.04", "kelurahan": "36.73.04.1001"})
    assert (query["kecamatan"], query["kelurahan"]) == ("367304", "3673041001")


@pytest.mark.parametrize(("params", "field"), [
    ({"limit": "0"}, "limit"), ({"limit": "101"}, "limit"), ({"limit": "x"}, "limit"),
    ({"status": "resubmitted"}, "status"),  # a timeline step, never a status
    ({"status": "notified"}, "status"),
    ({"kecamatan": "3673"}, "kecamatan"), ({"kelurahan": "36730410"}, "kelurahan"),
    ({"kelurahan": "3673049999"}, "kelurahan"),  # well formed, no such kelurahan
    ({"limit": "+5"}, "limit"), ({"limit": " 5"}, "limit"), ({"limit": "5_0"}, "limit"),
    ({"flag": "Late Registration"}, "flag"), ({"document_type": "paspor"}, "document_type"),
    ({"cursor": "not-a-cursor"}, "cursor"), ({"cursor": encode_cursor(AT, "x")[:-3]}, "cursor"),
    ({"sort": "newest"}, "sort"),
])
def test_bad_query_parameters_are_named(params, field):
    with pytest.raises(ValidationError) as excinfo:
        QueueQuerySchema().load(params)
    assert list(excinfo.value.messages) == [field]


def test_cursor_round_trip():
    cursor = encode_cursor(AT, "9b2f4c0e")
    assert QueueQuerySchema().load({"cursor": cursor})["cursor"] == (AT, "9b2f4c0e")
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_resubmission_cannot_change_the_nik_and_corrects_only_what_is_sent():
    loaded = ResubmitSchema().load({"tracking_code": "SDK7KQ2M9XA", "nik": NIK,
                                    "applicant": {"full_name": "Siti Aminah Rahma"}})
    assert loaded["applicant"] == {"full_name": "Siti Aminah Rahma"}
    with pytest.raises(ValidationError) as excinfo:
        ResubmitSchema().load({"tracking_code": "SDK7KQ2M9XA", "nik": NIK,
                               "applicant": {"nik": "3673041207900001"}})
    assert excinfo.value.messages == {"applicant": {"nik": ["Unknown field."]}}


@pytest.mark.parametrize("name", ["   ", "\u200b\u200b"])
def test_a_correction_to_a_blank_name_is_refused(name):
    with pytest.raises(ValidationError) as excinfo:
        ResubmitSchema().load({"tracking_code": "SDK7KQ2M9XA", "nik": NIK,
                               "applicant": {"full_name": name}})
    assert list(excinfo.value.messages) == ["applicant"]
    assert list(excinfo.value.messages["applicant"]) == ["full_name"]


@pytest.mark.parametrize(("applicant", "preferred"), [
    ({"phone": "+6281234567890", "email": None}, "sms"),
    ({"phone": None, "email": "siti@example.id"}, "email"),
    ({"phone": "+6281234567890", "email": "siti@example.id", "preferred_channel": "email"},
     "email"),
    ({"phone": "+6281234567890", "email": None, "preferred_channel": "whatsapp"}, "whatsapp"),
])
def test_preferred_channel_defaults_to_sms_with_a_phone_else_email(applicant, preferred):
    assert contact_of({"language": "id", **applicant})["preferred_channel"] == preferred


@pytest.mark.parametrize(("applicant", "needs"), [
    ({"phone": None, "email": "siti@example.id", "preferred_channel": "whatsapp"}, "phone"),
    ({"phone": "+6281234567890", "email": None, "preferred_channel": "email"}, "email")])
def test_a_preferred_channel_needs_its_address(applicant, needs):
    with pytest.raises(ValidationFailed) as excinfo:
        contact_of({"language": "id", **applicant})
    [message] = excinfo.value.fields["applicant.preferred_channel"]
    assert f"applicant.{needs}" in message.en


def test_queue_row_is_a_summary():
    app = {**application(), "flags": ["late_registration"], "documents_count": 2}
    row = queue_row(app, "en")
    assert row == {"application_id": app["_id"], "tracking_code": app["tracking_code"],
                   "document_type": "ktp_el", "status": "submitted",
                   "status_label": "Application received", "channel": "web",
                   "full_name": "Siti Aminah", "nik_masked": NIK[:4] + "*" * 8 + NIK[-4:],
                   "kecamatan_code": "367304",
                   "kelurahan_code": "3673041001", "flags": ["late_registration"],
                   "documents_count": 2, "queued_at": app["queued_at"].isoformat(),
                   "submitted_at": app["created_at"].isoformat()}


def test_operator_view_shows_everything_but_bookkeeping_and_who_acted():
    app = application()
    move = reject(app, "operator-curug-7", ["kk_unreadable"], "Foto terpotong")
    app = {**app, **move.fields, "timeline": [*app["timeline"], move.step],
           "idempotency_key": "idem-1", "seen_events": ["e1"],
           "documents": [{"document_id": "d1", "kind": "kk", "uploaded_at": AT}]}
    view = operator_view(app, "id")
    json.dumps(view)  # plain JSON all the way down
    assert view["application_id"] == app["_id"] and "_id" not in view
    assert not {"idempotency_key", "seen_events", "status_rank"} & set(view)
    assert view["applicant"]["nik"] == NIK and view["contact"]["phone"] == "+6281234567890"
    assert view["documents"] == [{"document_id": "d1", "kind": "kk",
                                  "uploaded_at": AT.isoformat(), "replaced_by": None}]
    assert view["status_label"] == "Permohonan ditolak"
    step = view["timeline"][-1]
    assert step["detail"]["by"] == "operator-curug-7"
    assert step["detail"]["reasons"][0].startswith("Foto Kartu Keluarga tidak terbaca")


def test_the_prr_channel_is_a_queue_filter_not_a_submission_channel():
    assert QueueQuerySchema().load({"channel": "prr"})["channel"] == "prr"
    assert "prr" not in CHANNELS


def test_the_queue_filter_refuses_the_statuses_the_docs_say_it_refuses():
    """docs/api.md's ``status`` row names every status the filter refuses:
    the rank-0 steps, which are never an application's status."""
    row = next(line for line in (Path(__file__).parents[2] / "docs" / "api.md").open()
               if line.startswith("| `status` | an application status"))
    named = set(re.findall(r"`(\w+)`", row.split("not a rank-0 step", 1)[1].split(")", 1)[0]))
    assert named == set(STATUSES) - set(APPLICATION_STATUSES)
    for status in named:
        with pytest.raises(ValidationError):
            QueueQuerySchema().load({"status": status})


def test_a_lookup_by_nik_or_tracking_code_takes_any_status_unless_given():
    """Outside review: the front desk could not find an application by its
    tracking code or NIK (400 unknown field); a lookup reads every status."""
    assert QueueQuerySchema().load({"nik": NIK})["status"] is None
    assert QueueQuerySchema().load({"tracking_code": " sdk7kq2m9xa "})["tracking_code"] == \
        "sdk7kq2m9xa"
    assert QueueQuerySchema().load({"nik": NIK, "status": "collected"})["status"] == "collected"


@pytest.mark.parametrize(("params", "field"), [
    ({"nik": "3673"}, "nik"), ({"nik": "367304520790000A"}, "nik"),
    ({"tracking_code": "SDK-7KQ2M9XA"}, "tracking_code"), ({"tracking_code": "SDK"}, "tracking_code"),
])
def test_a_bad_lookup_is_named(params, field):
    with pytest.raises(ValidationError) as excinfo:
        QueueQuerySchema().load(params)
    assert list(excinfo.value.messages) == [field]
