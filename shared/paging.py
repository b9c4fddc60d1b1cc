"""Keyset paging of the operators' lists (intake's queue, notification's
failed messages, courier's shipments): a page starts after the last row of the page before, found
by its sort key - a time, then ``_id``, since many rows share a moment (a
jemput-bola batch, a gateway outage) - never by skipping rows, so each row is
on exactly one page while rows come and go, and a page is read through the
index in that order. The client gets the key back as an opaque
``next_cursor``."""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import re
from typing import Callable

from marshmallow import ValidationError, fields, validate

from .errors import Msg

BAD_CURSOR = Msg("Cursor tidak valid; pakai next_cursor dari halaman sebelumnya.",
                 "Invalid cursor; use next_cursor from the previous page.")
MAX_CURSOR_LENGTH = 256  # ~80 in use
# the times a list's row can have: a cursor naming another (year 1: the
# shipments' windows reaching back from it overflowed, a 500 - outside
# audit G2) is none the list made
CURSOR_TIMES = (datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc),
                datetime.datetime(2100, 1, 1, tzinfo=datetime.timezone.utc))


def encode_cursor(at: datetime.datetime, row_id: str) -> str:
    """Where the next page starts: after this (time, _id) in the list's order."""
    raw = json.dumps([at.isoformat(), row_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class Cursor(fields.String):
    """A query's ``cursor``: ``encode_cursor``'s text -> ``(at, row_id)``;
    None when not given."""

    def __init__(self, **kwargs):
        # its length is checked as sent (``_deserialize``: a validator would
        # see the decoded pair), as the OpenAPI description's maxLength says
        super().__init__(load_default=None, metadata={"maxLength": MAX_CURSOR_LENGTH},
                         **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if len(text) > MAX_CURSOR_LENGTH:
            raise ValidationError(BAD_CURSOR)
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            at, row_id = json.loads(raw)
            at = datetime.datetime.fromisoformat(at)
            row_id.encode()  # a lone surrogate no query can hold (a 500: a review)
        except (ValueError, TypeError, AttributeError, binascii.Error, UnicodeError,
                RecursionError):
            raise ValidationError(BAD_CURSOR) from None
        if at.tzinfo is None or not isinstance(row_id, str) \
                or not CURSOR_TIMES[0] <= at < CURSOR_TIMES[1]:
            raise ValidationError(BAD_CURSOR)
        return at, row_id


class PageLimit(fields.Integer):
    """A list's ``limit``, 1 to ``maximum`` (``default`` when not given), as
    a query string writes a count: digits only. ``int()`` alone also took
    ``+5``, `` 5`` and ``5_0`` (50)."""

    def __init__(self, default: int, maximum: int, **kwargs):
        super().__init__(load_default=default, validate=validate.Range(min=1, max=maximum),
                         **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and not (value.isascii() and value.isdigit()):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class PlainNumber(fields.Float):
    """A number as a query string writes one: ASCII digits, a point and
    digits after it at most (``0.5``, ``3``). ``float()`` alone also took
    ``1_0`` (10), a full-width or Arabic-Indic digit, spaces around it,
    ``1e2`` and ``+3`` (an outside review)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and not PLAIN_NUMBER.fullmatch(value):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


PLAIN_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?", re.ASCII)


def page_after(read: Callable[[dict, int], list[dict]], query: dict, field: str, limit: int,
               after: tuple[datetime.datetime, str] | None = None,
               descending: bool = False) -> list[dict]:
    """Up to ``limit`` rows of ``query`` in (``field``, ``_id``) order, both
    ascending or both ``descending``, after ``after`` (the ``field`` and
    ``_id`` of the last row of the page before); ``read(filter, limit)``
    reads in that order. "After (at, id)" is two flat filters, not one
    ``$or`` (the local server scans the whole collection for an ``$or``: a
    second page of intake's queue at 20,000 applications 234 -> ~50 ms): the
    rest of the rows of the same moment, then the later (earlier) ones."""
    if after is None:
        return read(query, limit)
    at, row_id = after
    beyond = "$lt" if descending else "$gt"
    same_moment = read({**query, field: at, "_id": {beyond: row_id}}, limit)
    if len(same_moment) >= limit:
        return same_moment
    return same_moment + read({**query, field: {beyond: at}}, limit - len(same_moment))


def next_page(rows: list[dict], limit: int, field: str) -> tuple[list[dict], str | None]:
    """``rows`` read ``limit + 1`` at a time: the page, and the cursor of the
    page after it (None: this is the last)."""
    page = rows[:limit]
    if len(rows) <= limit:
        return page, None
    return page, encode_cursor(page[-1][field], page[-1]["_id"])
