"""Values in the services' config files that look like numbers but are text:
YAML reads an unquoted 0254200000 as an octal integer (45154304)."""

import datetime

import pytest
from marshmallow import ValidationError

from deploy.registry import load_config
from services.printing.schemas import ClaimSchema
from shared.messaging import retry_delays
from shared.offices import WorkingCalendar


def test_the_pos_sender_phone_and_zip_stay_text(monkeypatch):
    monkeypatch.delenv("POS_SENDER_PHONE", raising=False)
    monkeypatch.delenv("POS_SENDER_ZIP", raising=False)
    config = load_config("courier")
    assert (config["POS_SENDER_PHONE"], config["POS_SENDER_ZIP"]) == ("0254200000", "42118")
    monkeypatch.setenv("POS_SENDER_PHONE", "0812345678")
    assert load_config("courier")["POS_SENDER_PHONE"] == "0812345678"


@pytest.mark.parametrize("given", ["5", 5.0, True])
def test_a_claims_max_is_a_json_integer(given):
    with pytest.raises(ValidationError) as refused:
        ClaimSchema().load({"max": given})
    assert "max" in refused.value.messages
    assert ClaimSchema().load({"max": 5})["max"] == 5


@pytest.mark.parametrize("service", ["intake", "printing"])
@pytest.mark.parametrize("closed_days, expected", [
    ("2026-12-02", {datetime.date(2026, 12, 2)}),  # one cuti-bersama day: YAML read a date
    ("2026-12-02,2026-12-31", {datetime.date(2026, 12, 2), datetime.date(2026, 12, 31)}),
    ("", set()),
])
def test_closed_days_from_the_environment(monkeypatch, service, closed_days, expected):
    """A single date in CLOSED_DAYS stopped intake and printing from starting
    (YAML turned it into a date, which the calendar tried to iterate)."""
    monkeypatch.setenv("CLOSED_DAYS", closed_days)
    calendar = WorkingCalendar.from_config(load_config(service)["CLOSED_DAYS"])
    assert calendar.closed == expected


@pytest.mark.parametrize("service, variable", [
    ("intake", "RETRY_DELAYS"), ("printing", "RETRY_DELAYS"),
    ("notification", "RETRY_DELAYS"), ("courier", "COURIER_RETRY_DELAYS")])
@pytest.mark.parametrize("delays, expected", [("5", (5.0,)), ("1,5,30", (1.0, 5.0, 30.0))])
def test_retry_delays_from_the_environment(monkeypatch, service, variable, delays, expected):
    """One retry delay (RETRY_DELAYS=5) was read by YAML as an integer the
    retry schedule could not iterate: the service would not start."""
    monkeypatch.setenv(variable, delays)
    assert retry_delays(load_config(service)) == expected
