"""Unit tests for shared.errors, shared.events and shared.auth."""

from __future__ import annotations

import datetime
import re

import pytest
from marshmallow import ValidationError

from services.intake.schemas import ApplicationRequestSchema
from shared.errors import (
    DomainError, Msg, Unauthorized, Unprocessable, ValidationFailed, flatten_field_errors,
    localize)
from shared.events import EVENTS, SCHEMA_VERSION, build_event, load_event, source_of

SUBMITTED = {"application_id": "a1b2", "tracking_code": "SDK7H3KQ9MX",
             "document_type": "ktp_el", "channel": "web"}


def test_msg_is_indonesian_str_carrying_english():
    msg = Msg("Wajib diisi.", "Required.")
    assert isinstance(msg, str) and msg == "Wajib diisi." and msg.en == "Required."
    assert (localize(msg, "id"), localize(msg, "en")) == ("Wajib diisi.", "Required.")


@pytest.mark.parametrize(("english", "indonesian"), [
    ("Missing data for required field.", "Wajib diisi."),
    ("Unknown field.", "Kolom tidak dikenal."),
    ("Not a valid email address.", "Alamat email tidak valid."),
    ("Must be one of: a, b.", "Harus salah satu dari: a, b."),
    ("Length must be between 2 and 120.", "Panjang harus antara 2 dan 120 karakter."),
    ("Something unexpected.", "Something unexpected."),
])
def test_localize_plain_strings(english, indonesian):
    assert localize(english, "id") == indonesian
    assert localize(english, "en") == english


def bad_request_messages() -> list[str]:
    body = {"document_type": "paspor", "channel": 1, "details": [],
            "applicant": {"full_name": "B", "email": "x", "language": "fr", "x": 1},
            "delivery": {"method": "pos", "address": {"street": "Jl. Curug", "kelurahan_code":
                                                      "3673041001", "postal_code": "4217"}}}
    with pytest.raises(ValidationError) as excinfo:
        ApplicationRequestSchema().load(body)
    return [m for ms in flatten_field_errors(excinfo.value.messages).values() for m in ms]


def test_real_marshmallow_messages_are_translated():
    messages = [m for m in bad_request_messages() if "pattern" not in m]
    assert len(messages) == 9
    assert all(localize(m, "id") != m for m in messages)


def test_postal_code_pattern_message_is_translated():
    [message] = [m for m in bad_request_messages() if "pattern" in m]
    assert localize(message, "id") != message


def test_flatten_field_errors():
    nested = {"applicant": {"nik": ["a"], "address": {"street": ["b"]}}, "channel": ["c"],
              "reasons": {0: ["d"]}}
    assert flatten_field_errors(nested) == {"applicant.nik": ["a"], "applicant.address.street":
                                            ["b"], "channel": ["c"], "reasons.0": ["d"]}
    assert flatten_field_errors({"reason": ["x"]}, "details") == {"details.reason": ["x"]}
    assert flatten_field_errors(["bad"]) == {"_schema": ["bad"]}
    assert flatten_field_errors("bad", "details") == {"details": ["bad"]}


def test_domain_error_to_body_in_both_languages():
    exc = ValidationFailed({"channel": ["Missing data for required field."],
                            "applicant.phone": [Msg("Isi nomor HP.", "Give a mobile number.")]})
    assert (exc.status, str(exc)) == (400, "Invalid request data: applicant.phone, channel")
    assert exc.to_body("id") == {"error": {
        "code": "validation_failed", "message": "Data permohonan tidak valid: applicant.phone, "
        "channel", "fields": {"channel": ["Wajib diisi."], "applicant.phone": ["Isi nomor HP."]}}}
    assert exc.to_body("en")["error"]["fields"] == {
        "channel": ["Missing data for required field."], "applicant.phone": ["Give a mobile number."]}
    plain = Unprocessable(Msg("Belum bisa.", "Not yet."))
    assert plain.status == 422 and plain.to_body("en") == {
        "error": {"code": "unprocessable", "message": "Not yet."}}
    assert issubclass(Unauthorized, DomainError) and Unauthorized.status == 401


def test_build_event_fills_envelope():
    event = build_event("application_submitted", **SUBMITTED)
    assert re.fullmatch(r"[0-9a-f]{32}", event["event_id"])
    assert event["schema_version"] == SCHEMA_VERSION == 1
    at = datetime.datetime.fromisoformat(event["occurred_at"])
    assert at.utcoffset() == datetime.timedelta(0)
    assert abs(datetime.datetime.now(datetime.timezone.utc) - at) < datetime.timedelta(minutes=1)
    assert {k: event[k] for k in SUBMITTED} == SUBMITTED and event["kecamatan_code"] is None
    assert build_event("application_submitted", **SUBMITTED)["event_id"] != event["event_id"]


def test_build_event_validates():
    with pytest.raises(ValidationError) as excinfo:
        build_event("application_submitted", **{**SUBMITTED, "channel": None})
    assert list(excinfo.value.messages) == ["channel"]
    with pytest.raises(ValidationError) as excinfo:
        build_event("document_printed", **SUBMITTED)
    # missing fields, and the misspelled/foreign "channel" is refused at the producer
    assert set(excinfo.value.messages) == {"print_job_id", "station_id", "channel"}


def test_load_event_is_forward_compatible_but_validates():
    body = {**build_event("application_submitted", **SUBMITTED), "added_in_v2": "x"}
    loaded = load_event("application_submitted", body)
    assert "added_in_v2" not in loaded and loaded["tracking_code"] == "SDK7H3KQ9MX"
    with pytest.raises(ValidationError) as excinfo:
        load_event("application_submitted", {**body, "document_type": "paspor"})
    assert list(excinfo.value.messages) == ["document_type"]


def test_every_event_has_a_known_source():
    assert {source for source, _ in EVENTS.values()} == {
        "intake", "printing", "notification", "courier"}
    assert source_of("document_ready_for_pickup") == "printing"
    assert source_of("parcel_delivered") == "courier"
