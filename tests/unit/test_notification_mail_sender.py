"""The e-mails' sender and Message-ID domain have no default: a deployment
that forgot them sent from noreply@smartdukcapil.local, which SPF and DMARC
fail at every citizen's mailbox. Notification refuses to start without
them, naming them, as it does without the SMS gateway's credentials."""

from __future__ import annotations

import pytest

from tests.unit.test_settings import ENVIRONMENT, refusal


@pytest.mark.parametrize("key", ["MAIL_FROM", "MAIL_DOMAIN"])
def test_notification_without_its_mail_sender_refuses_to_start_naming_it(key, monkeypatch):
    refused = refusal("notification", {k: v for k, v in ENVIRONMENT.items() if k != key},
                      monkeypatch)
    assert refused is not None and refused.keys == [key]
    assert f"refuses to start: not configured: {key} " in str(refused)


def test_with_them_it_sends_as_configured(monkeypatch):
    from deploy.registry import load_config
    from nameko.containers import ServiceContainer
    from services.notification.gateways import Mailer
    from services.notification.service import NotificationEvents

    assert refusal("notification", ENVIRONMENT, monkeypatch) is None
    container = ServiceContainer(NotificationEvents, load_config("notification"))
    [mailer] = [extension for extension in container.extensions if isinstance(extension, Mailer)]
    mailer.setup()
    assert mailer.client.sender == ENVIRONMENT["MAIL_FROM"]
    assert mailer.client.domain == ENVIRONMENT["MAIL_DOMAIN"]
