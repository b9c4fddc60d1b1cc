"""Unit tests for shared.errors, shared.events and shared.auth."""

from __future__ import annotations

import datetime
import inspect
import itertools
import re

import pytest
from marshmallow import Schema, ValidationError, fields, validate

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


def field_messages() -> list[str]:
    """Every message a marshmallow field or schema gives while loading, as it
    gives it: each field class's ``default_error_messages`` (its own and
    inherited) filled with the class's ``OBJ_TYPE``/``AWARENESS`` - an
    abstract class without them is skipped - and ``Schema``'s. ``format`` is
    left out: it is a dump error, which never reaches a client as a 400."""
    messages = set(Schema._default_error_messages.values())
    for cls in vars(fields).values():
        if not (inspect.isclass(cls) and issubclass(cls, fields.Field)):
            continue
        values = {"input": "x", "choices": "a, b"}
        values.update({name.lower(): getattr(cls, name) for name in ("OBJ_TYPE", "AWARENESS")
                       if hasattr(cls, name)})
        for base in cls.__mro__:
            for key, template in getattr(base, "default_error_messages", {}).items():
                if key == "format":
                    continue
                try:
                    messages.add(template.format(**values))
                except KeyError:
                    pass  # needs what only a concrete subclass has
    return sorted(messages)


def validator_messages() -> list[str]:
    """Every message marshmallow's validators give, in each form: Range with
    min, max or both, each end inclusive or not; Length with min, max, both
    or equal; the rest."""
    cases = [(validate.Length(min=2), "a"), (validate.Length(max=1), "ab"),
             (validate.Length(min=1, max=2), ""), (validate.Length(equal=3), "ab"),
             (validate.OneOf(["a", "b"]), "c"), (validate.ContainsOnly(["a"]), ["b"]),
             (validate.ContainsNoneOf(["a"]), ["a"]), (validate.NoneOf([1]), 1),
             (validate.Equal(1), 2), (validate.Regexp("x"), "y"),
             (validate.Predicate("isdigit"), "a"), (validate.Email(), "x"),
             (validate.URL(), "x")]
    for inclusive in (True, False):
        cases += [(validate.Range(min=1, min_inclusive=inclusive), 0),
                  (validate.Range(max=5, max_inclusive=inclusive), 6)]
    for low, high in itertools.product((True, False), repeat=2):
        cases.append((validate.Range(min=1, max=5, min_inclusive=low, max_inclusive=high), 0))
    messages = []
    for validator, value in cases:
        with pytest.raises(ValidationError) as excinfo:
            validator(value)
        messages += excinfo.value.messages
    return messages


@pytest.mark.parametrize("message", field_messages() + validator_messages())
def test_every_marshmallow_message_has_bahasa_indonesia_and_keeps_english(message):
    indonesian = localize(message, "id")
    assert indonesian != message
    assert not re.search(r"\b(Must|Not a valid|Length|Longer|Shorter|Invalid|field)\b",
                         indonesian), indonesian
    assert localize(message, "en") == message


@pytest.mark.parametrize(("english", "indonesian"), [
    # what the audit met: a queue's ?limit=0, a claim's max, a blanko delivery
    ("Must be greater than or equal to 1 and less than or equal to 500.",
     "Harus antara 1 dan 500."),
    ("Must be greater than or equal to 1.", "Harus paling sedikit 1."),
    ("Must be greater than 0 and less than 10.", "Harus lebih dari 0 dan kurang dari 10."),
    ("Longer than maximum length 300.", "Maksimal 300 karakter."),  # a station's note
    ("Not a valid number.", "Harus berupa angka."),  # ?days=abc
    ("Not a valid aware datetime.",
     "Waktu harus menyertakan zona waktu (misalnya 2020-07-15T09:00:00+07:00)."),
])
def test_marshmallow_message_in_bahasa_indonesia(english, indonesian):
    assert localize(english, "id") == indonesian


def bad_request_messages() -> list[str]:
    body = {"document_type": "paspor", "channel": 1, "details": [],
            "applicant": {"full_name": "B", "email": "x", "language": "fr", "x": 1},
            "delivery": {"method": "pos", "address": {"street": "Jl. Curug", "kelurahan_code":
                                                      "3673041001", "postal_code": "4217"}}}
    with pytest.raises(ValidationError) as excinfo:
        ApplicationRequestSchema().load(body)
    return [m for ms in flatten_field_errors(excinfo.value.messages).values() for m in ms]


def test_real_marshmallow_messages_are_translated():
    messages = [m for m in bad_request_messages() if not isinstance(m, Msg)]
    assert len(messages) == 9
    assert all(localize(m, "id") != m for m in messages)


def test_a_postal_code_is_refused_saying_what_it_must_be():
    """It read "Format tidak sesuai." (outside audit D: a pattern says nothing)."""
    [message] = [m for m in bad_request_messages() if isinstance(m, Msg)]
    assert localize(message, "id") == "Kode pos 5 angka (contoh: 42171)."
    assert localize(message, "en") == "A postal code of 5 digits (e.g. 42171)."


def test_flatten_field_errors():
    nested = {"applicant": {"nik": ["a"], "address": {"street": ["b"]}}, "channel": ["c"],
              "reasons": {0: ["d"]}}
    assert flatten_field_errors(nested) == {"applicant.nik": ["a"], "applicant.address.street":
                                            ["b"], "channel": ["c"], "reasons.0": ["d"]}
    assert flatten_field_errors({"reason": ["x"]}, "details") == {"details.reason": ["x"]}
    assert flatten_field_errors(["bad"]) == {"_schema": ["bad"]}
    assert flatten_field_errors("bad", "details") == {"details": ["bad"]}


def test_an_error_of_a_nested_object_as_a_whole_names_the_object():
    # "applicant": "x" - marshmallow's key for the object is "_schema"
    with pytest.raises(ValidationError) as excinfo:
        ApplicationRequestSchema().load({"document_type": "ktp_el", "channel": "web",
                                         "applicant": "x"})
    assert flatten_field_errors(excinfo.value.messages) == {
        "applicant": ["Invalid input type."]}
    assert flatten_field_errors({"jobs": {0: {"_schema": ["a"], "lease_token": ["b"]}}}) == {
        "jobs.0": ["a"], "jobs.0.lease_token": ["b"]}


def test_domain_error_to_body_in_both_languages():
    exc = ValidationFailed({"channel": ["Missing data for required field."],
                            "applicant.phone": [Msg("Isi nomor HP.", "Give a mobile number.")]})
    assert (exc.status, str(exc)) == (400, "Invalid request data: applicant.phone, channel")
    assert exc.to_body("id") == {"error": {
        "code": "validation_failed", "message": "Data permintaan tidak valid: applicant.phone, "
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
