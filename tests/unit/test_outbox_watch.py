"""The admission's watch of a service's own overdue events (shared/pipeline.py
``OutboxWatch``): its setting, and what a measure that fails leaves."""

from __future__ import annotations

import logging

import pytest

from shared.pipeline import UNKNOWN, OutboxWatch, Watch
from shared.settings import InvalidSetting


def test_the_limit_is_a_whole_number_named_when_it_is_not_and_empty_watches_nothing():
    with pytest.raises(InvalidSetting) as refused:
        OutboxWatch.from_config("intake", {"OUTBOX_BACKLOG_LIMIT": "5rb"}, None)
    assert refused.value.key == "OUTBOX_BACKLOG_LIMIT"
    assert OutboxWatch.from_config("intake", {"OUTBOX_BACKLOG_LIMIT": ""}, None) is None
    watch = OutboxWatch.from_config("intake", {"OUTBOX_BACKLOG_LIMIT": "500",
                                               "PIPELINE_POLL_SECONDS": "0.5"}, None)
    assert (watch.limit, watch.poll_seconds, watch.backlog) == (500, 0.5, UNKNOWN)


class Gauge(Watch):
    """A backlog read from ``readings``; an exception in them fails the read."""

    def __init__(self, readings):
        super().__init__("intake_api", limit=2)
        self.readings = iter(readings)

    def measure(self) -> int:
        reading = next(self.readings)
        if isinstance(reading, Exception):
            raise reading
        return reading


def test_a_backlog_that_cannot_be_read_admits_and_is_said_once_until_read_again(caplog):
    caplog.set_level(logging.INFO, logger="shared.pipeline")
    gauge = Gauge([3, TimeoutError("no answer"), TimeoutError("no answer"), 1])
    assert gauge.poll() == 3 and gauge.behind()
    assert gauge.poll() == UNKNOWN and not gauge.behind()
    assert gauge.poll() == UNKNOWN
    assert gauge.poll() == 1 and not gauge.behind()
    assert [record.getMessage() for record in caplog.records] == [
        "backlog of intake_api unknown (TimeoutError: no answer): admitting meanwhile",
        "backlog of intake_api known again"]
