"""Printing's settings that would strand the print jobs - silently, or with
every claim answering 500 - stop the service at start, naming the setting
(``PrintingSettings``; docs/settings.md), as STATION_SILENT_SECONDS does."""

from __future__ import annotations

import datetime
from types import SimpleNamespace

import pytest

from services.printing.service import PrintingSettings
from shared.settings import InvalidSetting

# the limits docs/settings.md gives
MOST_LEASE_SECONDS, MOST_PRINT_ATTEMPTS = 86_400, 100


def settings(**config) -> PrintingSettings:
    provider = PrintingSettings()
    provider.container = SimpleNamespace(config=config)
    provider.setup()
    return provider


@pytest.mark.parametrize("key, value", [
    # a station that may hold no job claims none: its place's jobs wait for ever
    ("STATIONS", "station-curug-1@kec-curug:card:0"),
    ("STATIONS", "station-serang-1@disdukcapil-serang:card+certificate,"
                 "station-curug-1@kec-curug:card:00"),
    # no job is ever claimed (attempts below 0), nor listed held
    ("MAX_PRINT_ATTEMPTS", "0"),
    ("MAX_PRINT_ATTEMPTS", str(2 ** 63)),  # past what the database stores: every claim 500
    # a lease past what a date holds: every claim 500 (OverflowError)
    ("LEASE_SECONDS", "100000000000"),
    ("LEASE_SECONDS", str(MOST_LEASE_SECONDS + 1)),
])
def test_a_setting_that_would_strand_the_jobs_stops_the_service_naming_it(key, value):
    with pytest.raises(InvalidSetting) as refused:
        settings(**{key: value})
    assert refused.value.key == key


def test_the_limits_themselves_are_taken():
    taken = settings(STATIONS="station-curug-1@kec-curug:card:1", MAX_PRINT_ATTEMPTS="1",
                     LEASE_SECONDS=str(MOST_LEASE_SECONDS))
    rules = taken.stations
    assert rules.station("station-curug-1").max_held == 1
    assert (rules.max_attempts, rules.lease) == (1, datetime.timedelta(days=1))
    assert settings(MAX_PRINT_ATTEMPTS=str(MOST_PRINT_ATTEMPTS)).stations.max_attempts == 100
