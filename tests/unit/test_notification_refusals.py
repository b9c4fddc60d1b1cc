"""Which gateway answers give a message up at once (``DeliveryFailed.permanent``)
and which are retried on the event's schedule: one rule for SMS and WhatsApp,
except our credentials, credit or address refused, which an SMS rides out."""

from __future__ import annotations

import pytest

from services.notification.domain import notice_for
from services.notification.exceptions import DeliveryFailed
from services.notification.gateways import SmsClient, WhatsAppClient
from shared.events import build_event
from tests.unit.test_notification_texts import PHONE, FakeResponse, FakeSession


def refusal(client_for, status: int) -> DeliveryFailed:
    event = build_event("tracking_code_resend_requested", application_id="app-1",
                        tracking_code="SDK7H3KQ9MX", document_type="ktp_el",
                        contact={"phone": PHONE})
    [message] = notice_for("tracking_code_resend_requested", event, event["contact"]).messages()
    client = client_for(FakeSession(FakeResponse(status, '{"status": "0", "text": "x"}')))
    with pytest.raises(DeliveryFailed) as raised:
        client.send(message)
    return raised.value


def sms(session) -> SmsClient:
    return SmsClient(session, "http://gw", "u", "p", 1)


def whatsapp(session) -> WhatsAppClient:
    return WhatsAppClient(session, "http://graph", "token", 1)


@pytest.mark.parametrize("status", [400, 410, 413, 422])
def test_an_sms_the_gateway_would_refuse_again_is_refused_for_good(status):
    failed = refusal(sms, status)
    assert failed.permanent and str(failed) == f"sms gateway answered {status}"


@pytest.mark.parametrize("status", [401, 402, 403, 404, 405, 408, 429, 500, 502, 503])
def test_an_sms_refused_for_now_or_for_our_account_is_retried(status):
    assert not refusal(sms, status).permanent


@pytest.mark.parametrize("status,permanent", [(400, True), (401, True), (403, True),
                                              (408, False), (429, False), (503, False)])
def test_whatsapp_keeps_its_rule_a_token_refused_goes_by_sms_at_once(status, permanent):
    assert refusal(whatsapp, status).permanent is permanent
