"""Unit tests for what ``read_json`` refuses before any schema: nesting,
control characters, lone surrogates; field names as error bodies show them;
the Idempotency-Key header."""

from __future__ import annotations

import json

import pytest
from marshmallow import Schema, fields
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from services.intake.channel import CHANNELS, channel_key
from shared.errors import (UnsupportedMediaType, ValidationFailed, field_label,
                           flatten_field_errors)
from shared.http import (BAD_FIELD_NAME, MAX_JSON_DEPTH, TOO_DEEP, body_problems,
                         idempotency_key, read_json)
from shared.text_rules import CONTROL_CHARACTER, LONE_SURROGATE


def request(data: bytes = b"{}", headers: dict | None = None,
            content_type: str | None = "application/json") -> Request:
    return Request(EnvironBuilder(method="POST", data=data, headers=headers or {},
                                  content_type=content_type).get_environ())


class NameSchema(Schema):
    name = fields.String()


def nested(depth: int) -> dict:
    """An object whose ``a`` holds lists so that the body is ``depth`` levels deep."""
    value: list = []
    for _ in range(depth - 2):
        value = [value]
    return {"a": value}


def test_ordinary_text_passes():
    assert body_problems({"name": "Siti Aminah binti Abdul-Rahman, S.Kom.",
                          "street": "Jl. Jend. Sudirman No. 5 — RT 01/RW 02", "n": 3,
                          "ok": True, "none": None, "emoji": "\U0001f600", "list": ["ß"]}) == {}


def test_nesting_up_to_the_limit_passes_and_one_more_level_is_refused():
    assert body_problems(nested(MAX_JSON_DEPTH)) == {}
    assert body_problems(nested(MAX_JSON_DEPTH + 1)) == {"_body": [TOO_DEEP]}


def test_nesting_beyond_the_parser_is_a_400_not_a_recursion_error():
    with pytest.raises(ValidationFailed) as excinfo:
        read_json(request(b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"), NameSchema())
    assert excinfo.value.fields == {"_body": [TOO_DEEP]}


@pytest.mark.parametrize("text", ["a\nb", "a\rb", "a\tb", "a\x00b", "a\x1bb", "a\x7fb",
                                  "a\x85b", "a\x9fb", "a\u2028b", "a\u2029b"])
def test_control_characters_and_line_breaks_are_refused_by_path(text):
    assert body_problems({"applicant": {"full_name": text}, "reasons": ["ok", text]}) == {
        "applicant.full_name": [CONTROL_CHARACTER], "reasons.1": [CONTROL_CHARACTER]}


def test_lone_surrogates_are_refused_but_paired_ones_are_text():
    assert body_problems(json.loads('{"a": "\\ud800", "b": "\\udc00x", "c": "\\ud83d\\ude00"}')) \
        == {"a": [LONE_SURROGATE], "b": [LONE_SURROGATE]}


def test_bad_field_names_are_refused_and_shown_safely():
    problems = body_problems({"applicant": {"na\nme": "x", "\ud800": "y"}})
    assert problems == {"applicant.na?me": [BAD_FIELD_NAME], "applicant.?": [BAD_FIELD_NAME]}
    json.dumps(problems, ensure_ascii=False).encode()  # the error body can be sent


def test_field_label_cuts_long_names():
    assert field_label("full_name") == "full_name"
    assert field_label("x" * 40) == "x" * 40
    assert field_label("x" * 1_000_000) == "x" * 40 + "..."
    assert field_label(3) == "3"


def test_a_nik_or_phone_number_sent_as_a_field_name_is_masked_in_error_bodies():
    """Outside audit B: echoed whole in ``fields`` and the message."""
    flat = flatten_field_errors({"3673041201100003": ["Unknown field."],
                                 "applicant": {"6281234567890": ["Unknown field."]}})
    assert flat == {"3673********0003": ["Unknown field."],
                    "applicant.62812*****890": ["Unknown field."]}
    assert field_label("applications.12.applicant.nik") == "applications.12.applicant.nik"


def test_unknown_field_names_are_cut_in_error_bodies():
    assert flatten_field_errors({"applicant": {"y" * 5000: ["Unknown field."]}}) == {
        "applicant." + "y" * 40 + "...": ["Unknown field."]}


def test_read_json_reports_the_walk_before_the_schema():
    with pytest.raises(ValidationFailed) as excinfo:
        read_json(request(json.dumps({"name": "a\nb"}).encode()), NameSchema())
    assert excinfo.value.fields == {"name": [CONTROL_CHARACTER]}
    assert read_json(request(json.dumps({"name": "Siti"}).encode()), NameSchema()) == {
        "name": "Siti"}


@pytest.mark.parametrize("key", ["6f1c2a7e-0b7d-4c55-9d0e-3d2f1a9b8c41", "k", "k" * 128,
                                 "retry 1/web:ok"])
def test_idempotency_key_accepted(key):
    assert idempotency_key(request(headers={"Idempotency-Key": key})) == key


def test_idempotency_key_absent():
    assert idempotency_key(request()) is None


@pytest.mark.parametrize("key", ["", "k" * 129, "kunci-\u00e9", "a\x7fb"])
def test_idempotency_key_refused_naming_the_header(key):
    with pytest.raises(ValidationFailed) as excinfo:
        idempotency_key(request(headers={"Idempotency-Key": key}))
    assert list(excinfo.value.fields) == ["Idempotency-Key"]


@pytest.mark.parametrize("channel", CHANNELS)
def test_no_idempotency_key_is_a_broker_channel_s_request_id(channel):
    """Both are stored in one unique index: as "<channel>:<id>", the header
    ``kelurahan:kel-row-0001`` was that channel's request (outside audit)."""
    stored = channel_key(channel, "kel-row-0001")
    with pytest.raises(ValidationFailed):
        idempotency_key(request(headers={"Idempotency-Key": stored}))


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8",
                                          "Application/JSON", 'application/json; charset="UTF-8"',
                                          "application/json;charset=Utf-8"])
def test_read_json_takes_a_json_body_with_or_without_charset(content_type):
    assert read_json(request(b'{"name": "Siti"}', content_type=content_type),
                     NameSchema()) == {"name": "Siti"}


@pytest.mark.parametrize(("content_type", "named"), [
    ("text/plain", "text/plain"), ("application/x-www-form-urlencoded",
                                   "application/x-www-form-urlencoded"),
    (None, "tanpa Content-Type")])
def test_read_json_refuses_a_body_of_another_type_with_415(content_type, named):
    with pytest.raises(UnsupportedMediaType) as refused:
        read_json(request(b'{"name": "Siti"}', content_type=content_type), NameSchema())
    body = refused.value.to_body("id")["error"]
    assert (refused.value.status, body["code"]) == (415, "unsupported_media_type")
    assert list(body["fields"]) == ["Content-Type"] and named in body["message"]
    assert "application/json" in refused.value.to_body("en")["error"]["message"]


@pytest.mark.parametrize("charset", ["utf-16", "iso-8859-1", '"UTF-16LE"', "utf8"])
def test_read_json_refuses_a_body_declared_in_another_charset_with_415(charset):
    """Outside audit: ``charset=utf-16`` or ``iso-8859-1`` was read as UTF-8,
    and stored garbled when it happened to decode."""
    with pytest.raises(UnsupportedMediaType) as refused:
        read_json(request('{"name": "José"}'.encode(),
                          content_type=f"application/json; charset={charset}"), NameSchema())
    body = refused.value.to_body("en")["error"]
    assert (refused.value.status, list(body["fields"])) == (415, ["Content-Type"])
    assert "UTF-8" in body["message"] and charset.strip('"') in body["message"]


def test_read_json_without_a_body_is_a_400_whatever_the_type():
    with pytest.raises(ValidationFailed) as refused:
        read_json(request(b"", content_type=None), NameSchema())
    assert list(refused.value.fields) == ["_body"]
