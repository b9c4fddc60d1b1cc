"""Settings a service refuses to start without, or with a value it cannot
use, named in one line (shared/settings.py), read from the services' own
config.yaml as ``nameko run`` reads them."""

from __future__ import annotations

import os

import pytest
from nameko.containers import ServiceContainer

from deploy.local.stack import DEV_SECRETS
from deploy.registry import SERVICES, load_config, service_classes
from shared.settings import MissingSettings, require

# where each service's partners are: no default, production names its own
PARTNER_URLS = [("intake", "REGISTER_URL"), ("printing", "INTAKE_URL"),
                ("notification", "SMS_GATEWAY_URL"), ("notification", "SMTP_HOST"),
                ("notification", "SMTP_PORT"), ("courier", "POS_API_URL")]
ENVIRONMENT = {**DEV_SECRETS, "AMQP_URI": "amqp://broker.example", "MONGO_URI": "mongodb://db",
               "VERIFY_SIGNING_KEY": "any", "REGISTER_URL": "https://siak.example",
               "INTAKE_URL": "https://intake.example", "SMS_GATEWAY_URL": "https://sms.example",
               "SMTP_HOST": "smtp.example", "SMTP_PORT": "587",
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
