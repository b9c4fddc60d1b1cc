"""The one clock every service uses.

Times are stored and sent as timezone-aware UTC; the Dinas' calendar (today,
opening hours, pickup windows, quiet hours) is in Western Indonesian Time.
"""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

WIB = ZoneInfo("Asia/Jakarta")


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def today_wib(now: datetime.datetime | None = None) -> datetime.date:
    """The calendar date in Kota Serang at ``now`` (default: this instant)."""
    return (now or utcnow()).astimezone(WIB).date()


def as_utc(moment: datetime.datetime) -> datetime.datetime:
    """``moment`` (aware) as the same instant in UTC; ``OverflowError`` for a
    time with none in UTC's range (year 1 at ``+07:00``, year 9999 at
    ``-05:00``)."""
    return moment.astimezone(datetime.timezone.utc)


def whole_milliseconds(moment: datetime.datetime) -> datetime.datetime:
    """``moment`` as the database stores it (BSON dates are whole
    milliseconds): equal to what is read back, so a write may match on it."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)
