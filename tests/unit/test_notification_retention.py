"""``RETENTION_DAYS``: how long notification keeps a message, a contact and
an application's end; never shorter than an event can come back (an
event's inbox row is kept 30 days), and read as whole days or refused."""

from __future__ import annotations

import datetime

import pytest

from services.notification.settings import retention
from shared.settings import InvalidSetting


def test_a_year_unless_set():
    assert retention({}) == datetime.timedelta(days=365)
    assert retention({"RETENTION_DAYS": " 30 "}) == datetime.timedelta(days=30)
    assert retention({"RETENTION_DAYS": 730}) == datetime.timedelta(days=730)
    # blank is unset, as for every setting (`${RETENTION_DAYS:}` in a config.yaml)
    assert retention({"RETENTION_DAYS": " "}) == datetime.timedelta(days=365)


@pytest.mark.parametrize("value", ["29", "0", "-5", "a year", "90.5"])
def test_shorter_than_a_redelivery_or_not_whole_days_is_refused(value):
    with pytest.raises(InvalidSetting) as refused:
        retention({"RETENTION_DAYS": value})
    assert refused.value.key == "RETENTION_DAYS"
