"""The one clock every service uses: timezone-aware UTC (stored and sent as such)."""

import datetime


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)
