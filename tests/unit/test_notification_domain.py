"""Unit tests for services.notification.domain: which messages a pickup event
causes, and how a failing channel is retried. Fakes, not mocks: the SMS
gateway and the mailer record what they were asked to send, the message store
is a dict; no broker, no database.
"""

from __future__ import annotations

import logging

import pytest
from nameko.testing.services import worker_factory

from services.notification.domain import Senders, deliver_all, messages_for
from services.notification.exceptions import DeliveryFailed
from services.notification.service import NotificationEvents
from shared.events import build_event

NIK = "3673045207900001"
PHONE = "+6281234567890"
EMAIL = "siti.aminah@example.id"
SLOT = {"place": "Kantor Kecamatan Curug", "address": "Jl. Raya Curug No. 1, Kota Serang",
        "date": "2026-11-30", "start": "09:00", "end": "10:00"}


class FakeSms:
    """Records each SMS; ``failing = True`` makes it fail like an unreachable gateway."""

    def __init__(self):
        self.sent: list[dict] = []
        self.failing = False

    def send(self, to: str, text: str, reference: str) -> str:
        if self.failing:
            raise DeliveryFailed("sms gateway answered 503")
        self.sent.append({"to": to, "text": text, "reference": reference})
        return f"sms-{len(self.sent)}"


class FakeMailer:
    def __init__(self):
        self.sent: list[dict] = []
        self.failing = False

    def send(self, to: str, subject: str, body: str, reference: str) -> str:
        if self.failing:
            raise DeliveryFailed("smtp failed: ConnectionRefusedError")
        self.sent.append({"to": to, "subject": subject, "body": body, "reference": reference})
        return f"<{reference}@test>"


class FakeMessageStore:
    """NotificationStore's delivery methods over a dict; ``emitted`` stands for the outbox."""

    def __init__(self):
        self.messages: dict[str, dict] = {}
        self.emitted: list[dict] = []

    def open_message(self, message) -> str:
        row = self.messages.setdefault(message.message_id,
                                       {"status": "pending", "attempts": [], "claimed": False})
        if row["status"] == "sent":
            return "sent"
        if row["claimed"]:
            return "in_flight"
        row["claimed"] = True
        return "pending"

    def record_failure(self, message_id: str, reason: str) -> None:
        self.messages[message_id]["attempts"].append({"ok": False, "reason": reason})
        self.messages[message_id]["claimed"] = False

    def record_sent(self, message, provider_ref: str) -> None:
        row = self.messages[message.message_id]
        if row["status"] == "pending":
            row.update(status="sent", provider_ref=provider_ref)
            row["attempts"].append({"ok": True})
            self.emitted.append({"event": "notification_sent", "channel": message.channel,
                                 "notification_id": message.message_id})


def pickup_event(phone: str | None = PHONE, email: str | None = EMAIL) -> dict:
    return build_event("document_ready_for_pickup", application_id="app-1",
                       tracking_code="SDK7H3KQ9MX", document_type="ktp_el",
                       print_job_id="job-1", full_name="Siti Aminah",
                       contact={"phone": phone, "email": email, "language": "id"},
                       slot=dict(SLOT))


@pytest.fixture
def sms():
    return FakeSms()


@pytest.fixture
def mail():
    return FakeMailer()


@pytest.fixture
def store():
    return FakeMessageStore()


def test_pickup_event_causes_one_sms_and_one_email():
    event = pickup_event()
    sms, email = messages_for("document_ready_for_pickup", event)
    assert (sms.channel, sms.address, sms.subject) == ("sms", PHONE, None)
    assert (email.channel, email.address) == ("email", EMAIL)
    assert sms.message_id == f"{event['event_id']}:sms"
    assert email.message_id == f"{event['event_id']}:email"
    assert "Senin, 30 November 2026 pukul 09:00-10:00 WIB" in sms.text
    assert email.subject == "KTP-el Anda siap diambil (SDK7H3KQ9MX)"
    assert "Hari: Senin, 30 November 2026" in email.text
    for message in (sms, email):
        assert message.about == "document_ready_for_pickup"
        assert (message.application_id, message.tracking_code) == ("app-1", "SDK7H3KQ9MX")


@pytest.mark.parametrize(("phone", "email", "channels"), [
    (None, EMAIL, ["email"]),
    (PHONE, None, ["sms"]),
    (None, None, []),
])
def test_a_channel_only_for_an_address_the_citizen_gave(phone, email, channels):
    messages = messages_for("document_ready_for_pickup", pickup_event(phone, email))
    assert [message.channel for message in messages] == channels


def test_texts_carry_no_nik_or_phone_number():
    event = {**pickup_event(), "nik": NIK}  # an extra key the texts must not use
    for message in messages_for("document_ready_for_pickup", event):
        for secret in (NIK, PHONE, PHONE[3:], EMAIL):
            assert secret not in message.text and secret not in (message.subject or "")


def test_both_channels_delivered_once_with_the_message_id_as_reference(sms, mail, store):
    messages = messages_for("document_ready_for_pickup", pickup_event())
    assert deliver_all(messages, store, Senders(sms=sms, email=mail)) == []
    assert [(s["to"], s["reference"]) for s in sms.sent] == [(PHONE, messages[0].message_id)]
    assert [(m["to"], m["reference"]) for m in mail.sent] == [(EMAIL, messages[1].message_id)]
    assert mail.sent[0]["subject"] == messages[1].subject
    assert sorted(e["channel"] for e in store.emitted) == ["email", "sms"]


def test_sms_gateway_failure_means_retry_while_the_email_still_goes(sms, mail, store):
    sms.failing = True
    messages = messages_for("document_ready_for_pickup", pickup_event())
    assert deliver_all(messages, store, Senders(sms=sms, email=mail)) == ["sms"]
    assert sms.sent == [] and len(mail.sent) == 1
    sms_row = store.messages[messages[0].message_id]
    assert sms_row["status"] == "pending"
    assert sms_row["attempts"] == [{"ok": False, "reason": "sms gateway answered 503"}]
    assert [e["channel"] for e in store.emitted] == ["email"]


def test_on_the_retry_only_the_failed_channel_is_sent(sms, mail, store):
    event = pickup_event()
    senders = Senders(sms=sms, email=mail)
    sms.failing = True
    deliver_all(messages_for("document_ready_for_pickup", event), store, senders)

    sms.failing = False  # the gateway is back; the broker redelivers the same event
    assert deliver_all(messages_for("document_ready_for_pickup", event), store, senders) == []
    assert len(sms.sent) == 1 and len(mail.sent) == 1
    assert sorted(e["channel"] for e in store.emitted) == ["email", "sms"]


def test_a_redelivered_event_sends_nothing_again(sms, mail, store):
    event = pickup_event()
    senders = Senders(sms=sms, email=mail)
    for _ in range(3):
        assert deliver_all(messages_for("document_ready_for_pickup", event), store, senders) == []
    assert len(sms.sent) == 1 and len(mail.sent) == 1 and len(store.emitted) == 2


def test_every_channel_failing_reports_every_channel(sms, mail, store):
    sms.failing = mail.failing = True
    messages = messages_for("document_ready_for_pickup", pickup_event())
    assert deliver_all(messages, store, Senders(sms=sms, email=mail)) == ["sms", "email"]
    assert store.emitted == []


def test_logs_show_masked_addresses_only(sms, mail, store, caplog):
    caplog.set_level(logging.INFO, logger="services.notification")
    mail.failing = True
    deliver_all(messages_for("document_ready_for_pickup", pickup_event()), store,
                Senders(sms=sms, email=mail))
    assert "sms sent for SDK7H3KQ9MX to +6281******890" in caplog.text
    assert "email to s***@example.id failed: smtp failed" in caplog.text
    assert PHONE not in caplog.text and EMAIL not in caplog.text


def test_the_handler_raises_so_the_broker_redelivers(sms, mail, store):
    service = worker_factory(NotificationEvents, store=store, sms=sms, mail=mail)
    event = pickup_event()
    sms.failing = True
    with pytest.raises(DeliveryFailed, match="^sms$"):
        service.on_document_ready_for_pickup(event)
    assert len(mail.sent) == 1

    sms.failing = False
    service.on_document_ready_for_pickup(event)  # the redelivery: returns, so it is acked
    assert len(sms.sent) == 1 and len(mail.sent) == 1


def test_a_message_another_worker_is_sending_is_not_sent_twice():
    store, sms, mail = FakeMessageStore(), FakeSms(), FakeMailer()
    messages = messages_for("document_ready_for_pickup", pickup_event())
    store.open_message(messages[0])  # a concurrent copy of the event claimed the SMS
    assert deliver_all(messages, store, Senders(sms=sms, email=mail)) == ["sms"]
    assert sms.sent == [] and len(mail.sent) == 1
