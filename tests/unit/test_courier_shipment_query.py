"""The operators' shipment list at the boundary: the page cursor
(shared.paging, as intake's queue and notification's failed list) is the
last shipment's creation time and id, read back exactly; anything else is
refused naming ``cursor``."""

from __future__ import annotations

import base64
import datetime

import pytest
from marshmallow import ValidationError

from services.courier.schemas import ShipmentQuerySchema, StuckQuerySchema
from shared.paging import encode_cursor

AT = datetime.datetime(2026, 11, 29, 3, 4, 5, 123000, tzinfo=datetime.timezone.utc)


def test_no_cursor_is_the_first_page():
    assert ShipmentQuerySchema().load({})["cursor"] is None


@pytest.mark.parametrize("shipment_id", ["SDK-9b2f4c0e8a7d4e1f9c3b5a6d7e8f9012",
                                         "SDK-JB-3673041010-20261129-AB12CD"])
def test_cursor_round_trip(shipment_id):
    cursor = encode_cursor(AT, shipment_id)
    assert ShipmentQuerySchema().load({"cursor": cursor})["cursor"] == (AT, shipment_id)
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


# a time no shipment has (year 1 overflowed the list's windows: a 500,
# outside audit G2)
OUT_OF_RANGE = [encode_cursor(datetime.datetime(1, 1, 1, tzinfo=datetime.timezone.utc), "a"),
                encode_cursor(datetime.datetime(9999, 12, 31, tzinfo=datetime.timezone.utc), "a"),
                encode_cursor(datetime.datetime(1999, 12, 31, 23, 59,
                                                tzinfo=datetime.timezone.utc), "a")]


@pytest.mark.parametrize("cursor", ["not-a-cursor", "", "%%%", "MTIz", "x" * 300,
                                    encode_cursor(AT, "x")[:-3], encode_cursor(AT, "x") + "!",
                                    *OUT_OF_RANGE,
                                    # a review (forty-fifth session): each was a 500
                                    base64.urlsafe_b64encode(b"[" * 2000).decode(),
                                    encode_cursor(AT, "\ud800")])
def test_a_cursor_not_made_by_the_list_is_refused_naming_it(cursor):
    with pytest.raises(ValidationError) as refused:
        ShipmentQuerySchema().load({"cursor": cursor})
    assert list(refused.value.messages) == ["cursor"]
    assert refused.value.messages["cursor"][0].en == \
        "Invalid cursor; use next_cursor from the previous page."


@pytest.mark.parametrize("limit", ["+5", " 5", "5_0", "5.0", "-1", "0", "501"])
def test_a_limit_is_digits_within_the_page(limit):
    """Outside review (session 42): ``limit=+5`` was taken as 5 - ``int()``
    reads a sign, spaces and underscores a query string's count never has
    (shared.paging.PageLimit: the same on every operators' list)."""
    with pytest.raises(ValidationError) as refused:
        ShipmentQuerySchema().load({"limit": limit})
    assert list(refused.value.messages) == ["limit"]


def test_a_limit_within_the_page_loads():
    assert ShipmentQuerySchema().load({"limit": "500"})["limit"] == 500


@pytest.mark.parametrize("days", ["1_0", "\u0663", "\uff13", "\u20033", " 3", "3 ", "3\n",
                                  "1e2", "+3", "-1", "3.", ".5", "nan", "inf", "366"])
def test_the_stuck_lists_days_are_a_plain_number_within_a_year(days):
    """Outside audit (fifty-third session): ``days`` went through
    ``float()``, which read ``1_0`` as 10 and a full-width or Arabic-Indic
    digit as its number, where ``limit`` beside it refused them
    (shared.paging.PlainNumber)."""
    with pytest.raises(ValidationError) as refused:
        StuckQuerySchema().load({"days": days})
    assert list(refused.value.messages) == ["days"]


@pytest.mark.parametrize("days, read", [("3", 3), ("0", 0), ("0.5", 0.5), ("365", 365),
                                        ("2.25", 2.25)])
def test_the_stuck_lists_days_load_as_given(days, read):
    loaded = StuckQuerySchema().load({"days": days})["days"]
    assert loaded == read and type(loaded) is type(read)
