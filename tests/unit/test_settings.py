"""Settings a service refuses to start without, or with a value it cannot
use, named in one line (shared/settings.py), read from the services' own
config.yaml as ``nameko run`` reads them."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest
from nameko.containers import ServiceContainer

from deploy.local.stack import DEV_SECRETS
from deploy.registry import SERVICES, config_path, load_config, service_classes
from services.notification.settings import settings_from_config
from services.printing.service import pickup_rules
from shared.http import Admission
from shared.messaging import delivery_limit, retry_delays
from shared.offices import WorkingCalendar
from shared.pipeline import PipelineWatch
from shared.settings import (InvalidSetting, MissingSettings, config_file, environment_variable,
                             flag, integer, require, seconds, seconds_list, web_address)

# where each service's partners are: no default, production names its own
PARTNER_URLS = [("intake", "REGISTER_URL"), ("printing", "INTAKE_URL"),
                ("notification", "SMS_GATEWAY_URL"), ("notification", "SMTP_HOST"),
                ("notification", "SMTP_PORT"), ("courier", "POS_API_URL")]
ENVIRONMENT = {**DEV_SECRETS, "AMQP_URI": "amqp://broker.example", "MONGO_URI": "mongodb://db",
               "VERIFY_SIGNING_KEY": "any", "REGISTER_URL": "https://siak.example",
               "INTAKE_URL": "https://intake.example", "SMS_GATEWAY_URL": "https://sms.example",
               "SMTP_HOST": "smtp.example", "SMTP_PORT": "587",
               "MAIL_FROM": "Smartdukcapil <noreply@dukcapil.example>",
               "MAIL_DOMAIN": "dukcapil.example",
               "POS_API_URL": "https://pos.example"}


def refusal(service: str, environment: dict, monkeypatch) -> MissingSettings | None:
    """What the service's containers' settings check says with this environment:
    ``require`` of each extension that has required settings, as its
    ``setup()`` calls it before anything connects."""
    monkeypatch.setattr(os, "environ", environment)
    config = load_config(service)
    for service_class in service_classes(service):
        container = ServiceContainer(service_class, config)
        for extension in container.extensions:
            if getattr(extension, "required_settings", ()):
                try:
                    require(extension)
                except MissingSettings as refused:
                    return refused
    return None


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_a_fully_configured_service_passes_the_check(service, monkeypatch):
    assert refusal(service, ENVIRONMENT, monkeypatch) is None


@pytest.mark.parametrize("service, key", PARTNER_URLS)
def test_a_service_without_a_partners_address_refuses_to_start_naming_it(
        service, key, monkeypatch):
    """A default pointing at the local sandboxes' ports let a production
    service start without its partner: intake then accepted every
    application register_unchecked, notification sent every SMS to nowhere."""
    refused = refusal(service, {k: v for k, v in ENVIRONMENT.items() if k != key}, monkeypatch)
    assert refused is not None and refused.keys == [key]
    assert f"refuses to start: not configured: {key} " in str(refused)


@pytest.mark.parametrize("read, key, value", [
    (lambda config: settings_from_config(config), "SMS_DAILY_BUDGET", "10rb"),
    (lambda config: settings_from_config(config), "SMS_PER_PHONE_PER_HOUR", "-1"),
    (lambda config: settings_from_config(config), "RETRY_DELAYS", "1,5,x"),
    (retry_delays, "RETRY_DELAYS", "1,,nan"),
    (delivery_limit, "DELIVERY_LIMIT", "5.5"),
    (lambda config: PipelineWatch.from_config("intake", config), "PIPELINE_BACKLOG_LIMIT", "2rb"),
    (lambda config: PipelineWatch.from_config("intake", config), "PIPELINE_POLL_SECONDS", "1s"),
    (lambda config: pickup_rules(config), "PICKUP_SLOT_CAPACITY", "banyak"),
])
def test_a_number_that_is_not_one_is_refused_naming_its_key(read, key, value):
    """A typo ended in a ValueError naming neither the setting nor the service."""
    config = {"QUIET_HOURS": "off", "PIPELINE_QUEUES": "some-queue", key: value}
    with pytest.raises(InvalidSetting) as refused:
        read(config)
    assert refused.value.key == key
    assert str(refused.value).startswith(f"refusing to start: {key}: expected ")
    assert value not in str(refused.value)


@pytest.mark.parametrize("value, expected", [("5", 5), (5, 5), (" 12 ", 12), ("", 7), (None, 7)])
def test_a_whole_number(value, expected):
    assert integer({"K": value}, "K", 7) == expected


@pytest.mark.parametrize("value", ["5s", "-1", "1.5", 1.5, True, "1e3", "0x10"])
def test_not_a_whole_number(value):
    with pytest.raises(InvalidSetting, match="^refusing to start: K: expected a whole number"):
        integer({"K": value}, "K", 7)


def test_a_whole_number_below_its_minimum_is_refused():
    assert integer({"K": "1"}, "K", 7, minimum=1) == 1
    with pytest.raises(InvalidSetting, match="^refusing to start: K: expected a whole number, "
                                             "1 or more"):
        integer({"K": "0"}, "K", 7, minimum=1)


@pytest.mark.parametrize("value, expected", [("true", True), ("ON", True), (" yes ", True),
                                             ("1", True), ("false", False), ("off", False),
                                             ("No", False), ("0", False), ("", False),
                                             (None, False), (True, True), (False, False)])
def test_an_on_off_setting(value, expected):
    assert flag({"K": value}, "K") is expected


@pytest.mark.parametrize("value", ["maybe", "enabled", "tru", "2"])
def test_an_on_off_setting_that_is_neither_is_refused(value):
    """``SMTP_STARTTLS=maybe`` was read as off: the relay's login in plain text."""
    with pytest.raises(InvalidSetting, match="^refusing to start: K: expected on or off"):
        flag({"K": value}, "K")


@pytest.mark.parametrize("value, usable", [("http://127.0.0.1:9002", True),
                                           ("https://api.posindonesia.co.id/v2", True),
                                           ("ftp//x", False), ("ftp://host", False),
                                           ("http://", False), ("localhost:9002", False),
                                           ("http://127.0.0.1:notaport", False)])
def test_a_partners_address_must_be_a_web_address(value, usable):
    assert web_address(value) is usable


@pytest.mark.parametrize("value, expected", [("0.5", 0.5), (2, 2.0), ("", 1.0), ("1e3", 1000.0)])
def test_seconds(value, expected):
    assert seconds({"K": value}, "K", 1.0) == expected


@pytest.mark.parametrize("value", ["5s", "-0.1", "inf", "nan", False, [1]])
def test_not_seconds(value):
    with pytest.raises(InvalidSetting, match="^refusing to start: K: expected a number of seconds"):
        seconds({"K": value}, "K", 1.0)


@pytest.mark.parametrize("value, expected", [
    ("1,5,30", (1.0, 5.0, 30.0)), (" 1, 5 ,", (1.0, 5.0)), ("5", (5.0,)), (5, (5.0,)),
    ([0.5, "2"], (0.5, 2.0)), ("", ()), (None, (1.0,))])
def test_seconds_list(value, expected):
    assert seconds_list({"K": value}, "K", (1.0,)) == expected


def test_closed_days_that_are_not_dates_are_refused_naming_the_setting():
    with pytest.raises(InvalidSetting) as refused:
        WorkingCalendar.from_config("2026-12-02,2026-13-01")
    assert refused.value.key == "CLOSED_DAYS"


def test_retry_after_is_a_whole_number_of_seconds():
    """It went out as written in every 503's Retry-After header."""
    admission = Admission()
    admission.container = SimpleNamespace(config={"RETRY_AFTER_SECONDS": "2rb"}, max_workers=8,
                                          dependencies=())
    with pytest.raises(InvalidSetting) as refused:
        admission.setup()
    assert refused.value.key == "RETRY_AFTER_SECONDS"
    admission.container.config["RETRY_AFTER_SECONDS"] = 3
    admission.setup()
    assert admission.retry_after == "3"


def test_a_refusal_names_the_environment_variable_the_operator_set():
    """Outside audit P3: ``INTAKE_SUBMITS_PER_CLIENT=-1`` was refused as
    ``SUBMITS_PER_CLIENT``, a name the operator never typed."""
    intake = str(config_path("intake"))
    assert config_file(["nameko", "run", "--config", intake, "x:Y"]) == intake
    assert config_file(["nameko", "run", f"--config={intake}"]) == intake
    assert config_file(["pytest"]) is None
    assert environment_variable("SUBMITS_PER_CLIENT", intake) == "INTAKE_SUBMITS_PER_CLIENT"
    assert environment_variable("AMQP_URI", intake) == "AMQP_URI"
    assert environment_variable("LEASE_SECONDS", str(config_path("printing"))) \
        == "PRINT_LEASE_SECONDS"
    assert environment_variable("NO_SUCH_KEY", intake) is None
    assert environment_variable("SUBMITS_PER_CLIENT", None) is None


def test_a_timers_interval_must_be_more_than_zero():
    """Outside audit R1: ``PRINT_LAPSED_CHECK_SECONDS=0`` ran the timer back
    to back (3.5 s of printing's CPU and 5.9 s of its database's in 10 s)."""
    assert seconds({"K": "0.5"}, "K", 5, positive=True) == 0.5
    assert seconds({"K": "0"}, "K", 5) == 0
    with pytest.raises(InvalidSetting, match="^refusing to start: K: expected a number of "
                                             "seconds, more than 0"):
        seconds({"K": "0"}, "K", 5, positive=True)
