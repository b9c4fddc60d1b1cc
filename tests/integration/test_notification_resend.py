"""An operator sends a message given up again (outside audit S2: a citizen
with a phone number only lost every notice of an SMS outage longer than the
retry schedule, and nothing sent it again once the gateway was back).

Against the real database server, broker and SMS sandbox: a failed SMS is
held by ``POST /api/v1/notifications/messages/<id>/resend`` and the
sweeper's round sends it to the gateway; one not failed answers 409
naming its status, an unknown one 404, a body it does not take 400."""

from __future__ import annotations

import pytest
import requests

from deploy.local.stack import DEV_SECRETS, free_port
from services.notification.domain import Delivery, Guards, Senders, deliver, send_due
from services.notification.gateways import SmsClient
from services.notification.service import NotificationApi
from services.notification.store import NotificationStore
from shared.clock import utcnow
from tests.helpers import (OPERATOR, random_mobile, service_config,
                           store_on_a_database_of_its_own)
from tests.integration.test_notification_delivery import sms_to
from tests.integration.test_notification_store import Gateway, message


@pytest.fixture
def store(backing):
    for store in store_on_a_database_of_its_own(backing, NotificationStore, "notification_resend"):
        NotificationStore.ensure_indexes(store.db)
        yield store


def given_up(store, phone: str):
    """An SMS to ``phone`` given up after the gateway refused it."""
    sms = message(1)
    sms = type(sms)(**{**sms.__dict__, "address": phone})
    assert store.open_message(sms) == "pending"
    store.record_failure(sms.message_id, "sms gateway answered 503")
    store.give_up(sms, "sms gateway answered 503")
    return sms


def test_an_operator_sends_a_message_given_up_again(backing, container_factory, store):
    config = service_config(backing, store.db.name, QUIET_HOURS="off",
                            WHATSAPP_API_URL=backing.url("whatsapp"),
                            WHATSAPP_TOKEN="sandbox-whatsapp-token",
                            WHATSAPP_PHONE_NUMBER_ID="100200300",
                            WHATSAPP_APP_SECRET=DEV_SECRETS["WHATSAPP_APP_SECRET"],
                            WHATSAPP_VERIFY_TOKEN=DEV_SECRETS["WHATSAPP_VERIFY_TOKEN"])
    port = free_port()
    container_factory(NotificationApi, {**config, "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}"}).start()
    api = f"http://127.0.0.1:{port}/api/v1/notifications/messages"
    phone = "+62" + random_mobile()[1:]
    sms = given_up(store, phone)
    assert store.db.messages.find_one({"_id": sms.message_id})["status"] == "failed"

    resent = requests.post(f"{api}/{sms.message_id}/resend", headers=OPERATOR, timeout=30)
    assert resent.status_code == 200, resent.text
    assert resent.json() == {"notification_id": sms.message_id, "status": "held",
                             "held_reason": "resend"}
    again = requests.post(f"{api}/{sms.message_id}/resend",
                          headers={**OPERATOR, "Accept-Language": "en"}, timeout=30)
    assert again.status_code == 409 and "'held'" in again.json()["error"]["message"]
    assert requests.post(f"{api}/nothing.sms/resend", headers=OPERATOR,
                         timeout=30).status_code == 404
    assert requests.post(f"{api}/{sms.message_id}/resend", json={"note": "x"},
                         headers=OPERATOR, timeout=30).status_code == 400
    assert requests.post(f"{api}/{sms.message_id}/resend", timeout=30).status_code == 401

    # the sweeper's round (``NotificationEvents.send_held_messages``; its
    # container is not started here: it would take the suite's events too)
    gateway = SmsClient(requests.Session(), config["SMS_GATEWAY_URL"] + "/api/sendsms/",
                        config["SMS_USERKEY"], config["SMS_PASSKEY"], 10)
    delivery = Delivery(store, Senders(sms=gateway, email=gateway), Guards(), 4, utcnow())
    assert send_due(store.claim_due(delivery.now), delivery) == 1
    row = store.db.messages.find_one({"_id": sms.message_id})
    assert row["status"] == "sent"
    assert [attempt["ok"] for attempt in row["attempts"]] == [False, True]
    assert [sent["message"] for sent in sms_to(backing, phone)] == [sms.text]


def test_a_message_the_channel_took_then_reported_failed_is_sent_again_on_a_resend(store):
    """Outside audit R: a WhatsApp message the Cloud API took, then reported
    failed (131026), was "sent before" by the process's memory of what it
    sent: its re-send was recorded sent with nothing sent."""
    whatsapp = Gateway()
    delivery = Delivery(store, Senders(sms=whatsapp, email=whatsapp), Guards(), 4, utcnow())
    sms = message(1)  # the same path for any channel the memory knew it on
    assert deliver([sms], delivery) == [] and whatsapp.sent == [sms.message_id]
    assert store.record_whatsapp_failed(sms, "whatsapp 131026: Message undeliverable", utcnow())
    assert store.resend(sms.message_id, utcnow()) == "failed"
    assert send_due(store.claim_due(utcnow()), delivery) == 1  # the same process, its memory
    assert whatsapp.sent == [sms.message_id] * 2
    row = store.db.messages.find_one({"_id": sms.message_id})
    assert (row["status"], row["resends"], row["provider_ref"]) == ("sent", 1, "gw-2")
