"""Dates are ``YYYY-MM-DD``, as docs/api.md says, in every request schema.

marshmallow's ``fields.Date`` reads with ``date.fromisoformat``, which since
Python 3.11 takes every ISO 8601 form: ``20260920`` (basic) and
``2026-W38-7`` (a week date) were stored as 20 September 2026. A date typed
in another layout is refused, naming the field, with the message a date
always had (shared.errors: "Tanggal tidak valid (format YYYY-MM-DD).")."""

from __future__ import annotations

import datetime

import pytest
from marshmallow import Schema, ValidationError, fields

from services.courier.schemas import ShipmentQuerySchema
from services.intake.api_appointments import BookingSchema
from services.intake.detail_schemas import AktaKelahiranDetailsSchema, AktaKematianDetailsSchema
from services.intake.openapi import openapi_document
from services.printing.prr import PrrRowSchema
from services.printing.schemas import RescheduleSchema
from shared.errors import localize
from shared.fields import IsoDate
from tests.unit.test_fields import project_fields

OTHER_FORMS = ["20260920", "2026-W38-7", "2026W387", "2026-263", "2026263", "+2026-09-20",
               "2026-09-20T00:00:00", "2026-09-20 ", " 2026-09-20", "2026-9-20",
               "\uff12\uff10\uff12\uff16-\uff10\uff19-\uff12\uff10",  # full-width digits
               "2026-02-30", "", 20260920]


class Dated(Schema):
    day = IsoDate()


@pytest.mark.parametrize("value", OTHER_FORMS)
def test_a_date_in_another_form_is_refused_in_both_languages(value):
    with pytest.raises(ValidationError) as excinfo:
        Dated().load({"day": value})
    [message] = excinfo.value.messages["day"]
    assert (localize(message, "id"), localize(message, "en")) == (
        "Tanggal tidak valid (format YYYY-MM-DD).", "Not a valid date (format YYYY-MM-DD).")


def test_a_date_written_yyyy_mm_dd_loads_and_dumps_as_itself():
    loaded = Dated().load({"day": "2026-09-20"})
    assert loaded == {"day": datetime.date(2026, 9, 20)}
    assert Dated().dump(loaded) == {"day": "2026-09-20"}


# (schema, a body with the date at ``path``)
SCHEMA_DATES = {
    "birth": (AktaKelahiranDetailsSchema, ("child", "birth_date")),
    "death": (AktaKematianDetailsSchema, ("date_of_death",)),
    "booking": (BookingSchema, ("day",)),
    "pickup_reschedule": (RescheduleSchema, ("date",)),
    "shipments_from": (ShipmentQuerySchema, ("from",)),
    "shipments_to": (ShipmentQuerySchema, ("to",)),
    "prr_row": (PrrRowSchema, ("recorded_on",)),
}


def nested(path: tuple[str, ...], value) -> dict:
    return {path[0]: value} if len(path) == 1 else {path[0]: nested(path[1:], value)}


def date_messages(schema: type[Schema], path: tuple[str, ...], value):
    """The messages on ``path`` after loading ``value`` there (the rest of the body left out)."""
    try:
        loaded = schema().load(nested(path, value), partial=True)
    except ValidationError as refused:
        messages = refused.messages
        for key in path:
            messages = messages.get(key, {}) if isinstance(messages, dict) else {}
        return messages or None, None
    for key in path:
        loaded = loaded[key if key != "from" else "from_"]
    return None, loaded


@pytest.mark.parametrize("case", sorted(SCHEMA_DATES))
@pytest.mark.parametrize("value", ["20260920", "2026-W38-7"])
def test_every_request_date_takes_yyyy_mm_dd_only(case, value):
    schema, path = SCHEMA_DATES[case]
    messages, _ = date_messages(schema, path, value)
    assert messages == ["Not a valid date (format YYYY-MM-DD)."]
    assert date_messages(schema, path, "2026-09-20") == (None, datetime.date(2026, 9, 20))


def test_no_schema_declares_marshmallows_own_date():
    """A new date field is an ``IsoDate`` too (the OpenAPI document still says
    ``format: date``: apispec maps a field by its classes)."""
    loose = [(schema.__name__, name) for schema, name, field in project_fields()
             if isinstance(field, fields.Date) and not isinstance(field, IsoDate)]
    assert loose == []


def test_the_openapi_document_still_says_format_date():
    """``format: date`` is RFC 3339's full-date: ``YYYY-MM-DD``, what is taken."""
    schemas = openapi_document()["components"]["schemas"]
    for name, prop in (("Child", "birth_date"), ("AktaKematianDetails", "date_of_death"),
                       ("Booking", "day")):
        assert schemas[name]["properties"][prop] == {"type": "string", "format": "date"}
