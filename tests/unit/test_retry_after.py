"""A partner's ``Retry-After`` (RFC 9110 §10.2.3): read in either form,
capped, and honoured by the shared delayed retry - a partner that asked for
60 s is not called again after 1 s and 5 s. No I/O."""

from __future__ import annotations

import datetime
from email.utils import format_datetime

import pytest

from shared.messaging import retry_delay
from shared.partners import retry_after_seconds

NOW = datetime.datetime(2026, 11, 29, 3, 0, tzinfo=datetime.timezone.utc)
SCHEDULE = (1, 5, 30, 120, 600, 1800)


def http_date(seconds_from_now: float) -> str:
    return format_datetime(NOW + datetime.timedelta(seconds=seconds_from_now), usegmt=True)


@pytest.mark.parametrize("header, seconds", [
    ("3", 3), (" 60 ", 60), ("0", 0),
    (http_date(90), 90), ("Sun, 29 Nov 2026 03:02:00 GMT", 120),
    (http_date(-30), 0),  # a moment past: now
    ("99999999999999999999", 1800), (http_date(86400), 1800),  # capped
    (None, None), ("", None), ("soon", None), ("-5", None), ("1.5", None), ("3 s", None),
    ("Sun, 31 Nov 2026 03:00:00 GMT", None), ("\u0663", None),  # an Arabic-Indic 3
])
def test_a_retry_after_is_read_in_either_form_and_capped(header, seconds):
    assert retry_after_seconds(header, 1800, NOW) == seconds


class AskedToWait(Exception):
    def __init__(self, retry_after):
        super().__init__("partner busy")
        self.retry_after = retry_after


@pytest.mark.parametrize("attempt, asked, delay", [
    (0, 3, 5), (0, 60, 120), (1, 5, 5), (3, 10, 120), (0, 0, 1), (0, None, 1),
    (0, 5000, 1800),  # beyond the schedule: its longest
])
def test_a_retry_waits_the_schedule_s_shortest_delay_as_long_as_the_partner_asked(
        attempt, asked, delay):
    """Each delay is a wait queue of one fixed TTL: only the schedule's delays exist."""
    assert retry_delay(SCHEDULE, attempt, AskedToWait(asked)) == delay


def test_an_error_that_asks_nothing_keeps_the_schedule_even_an_unordered_one():
    assert [retry_delay((5, 1, 30), attempt, RuntimeError("down")) for attempt in range(3)] \
        == [5, 1, 30]
