"""An action that takes no body (an operator's verify:
``shared.http.read_no_body``) takes none, or ``{}``; anything else is
refused as any endpoint refuses what it does not take - never read past and
dropped, as an operator's note sent along was. One whose body may be left
out (``read_optional_json``: a held print job's release, cancel, reprint)
names a field it requires when it is left out."""

from __future__ import annotations

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from services.printing.schemas import ReprintSchema
from shared.errors import UnsupportedMediaType, ValidationFailed, localize
from shared.http import read_no_body, read_optional_json


def request(data: bytes, content_type: str | None = "application/json") -> Request:
    return Request(EnvironBuilder(method="POST", data=data,
                                  content_type=content_type).get_environ())


@pytest.mark.parametrize(("data", "content_type"), [
    (b"", None), (b"", "application/json"), (b"", "text/plain"), (b"{}", "application/json"),
    (b" { } ", "application/json; charset=utf-8")])
def test_no_body_or_an_empty_object_is_taken(data, content_type):
    assert read_no_body(request(data, content_type)) is None


def test_a_field_is_refused_naming_it():
    with pytest.raises(ValidationFailed) as refused:
        read_no_body(request(b'{"note": "Data sudah dicek", "verified_by": "x"}'))
    assert set(refused.value.fields) == {"note", "verified_by"}
    assert [localize(m, "id") for m in refused.value.fields["note"]] == ["Kolom tidak dikenal."]
    assert [localize(m, "en") for m in refused.value.fields["note"]] == ["Unknown field."]


@pytest.mark.parametrize("data", [b"[]", b'"catatan"', b"null", b"not json"])
def test_a_body_that_is_no_object_is_refused_as_the_body(data):
    with pytest.raises(ValidationFailed) as refused:
        read_no_body(request(data))
    assert set(refused.value.fields) == {"_body"}


@pytest.mark.parametrize("content_type", ["text/plain", None, "application/x-www-form-urlencoded"])
def test_a_body_of_another_type_is_refused_naming_the_content_type(content_type):
    with pytest.raises(UnsupportedMediaType) as refused:
        read_no_body(request(b"catatan: data sudah dicek", content_type))
    assert set(refused.value.fields) == {"Content-Type"}


def test_a_body_left_out_that_must_say_something_is_refused_naming_the_field():
    """A body an action may leave out (``read_optional_json``) whose schema
    requires a field - a reprint's ``reason`` - is a 400 naming it, not a
    500 (marshmallow's own error, never turned into one)."""
    for data in (b"", b"{}"):
        with pytest.raises(ValidationFailed) as refused:
            read_optional_json(request(data), ReprintSchema())
        assert set(refused.value.fields) == {"reason"}
