"""Which messages an event causes, and how they are delivered. Plain Python, no nameko.

One message per (event, channel), with the id ``<event_id>:<channel>``: a
redelivered event yields the same ids, so the store finds a message already
sent and the gateway gets the same idempotency reference on a resend.

The delivery rule: every message is tried, even when another channel fails.
A failure is recorded and reported; the caller then has the whole event
redelivered later, and on that retry the messages already sent are skipped.
A citizen gets each message once while a failing channel is retried.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Iterable, Protocol

from shared.masking import mask_address

from .exceptions import DeliveryFailed
from .messages import pickup_email, pickup_sms

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutgoingMessage:
    message_id: str  # <event_id>:<channel>
    about: str  # the event type that caused it
    application_id: str
    tracking_code: str
    channel: str  # "sms" or "email"
    address: str  # E.164 phone number or e-mail address
    text: str
    subject: str | None = None  # email only


# event type -> how it reads as an SMS, and as an email (subject, body)
TEXTS: dict[str, tuple[Callable[[dict], str], Callable[[dict], tuple[str, str]]]] = {
    "document_ready_for_pickup": (pickup_sms, pickup_email),
}


def messages_for(event_type: str, event: dict) -> list[OutgoingMessage]:
    """An SMS if the citizen gave a phone number, an email if an e-mail address."""
    sms_text, email_text = TEXTS[event_type]
    contact = event["contact"]

    def message(channel: str, address: str, text: str, subject: str | None = None):
        return OutgoingMessage(f"{event['event_id']}:{channel}", event_type,
                               event["application_id"], event["tracking_code"],
                               channel, address, text, subject)

    messages = []
    if contact.get("phone"):
        messages.append(message("sms", contact["phone"], sms_text(event)))
    if contact.get("email"):
        subject, body = email_text(event)
        messages.append(message("email", contact["email"], body, subject))
    return messages


class MessageStore(Protocol):
    """What delivery needs of the store (``NotificationStore``)."""

    def open_message(self, message: OutgoingMessage) -> str:
        """Record the message if new and claim it; return ``"pending"`` (claimed
        here), ``"sent"`` or ``"in_flight"`` (claimed by another worker)."""

    def record_failure(self, message_id: str, reason: str) -> None: ...

    def record_sent(self, message: OutgoingMessage, provider_ref: str) -> None: ...


class SmsSender(Protocol):
    def send(self, to: str, text: str, reference: str) -> str: ...


class MailSender(Protocol):
    def send(self, to: str, subject: str, body: str, reference: str) -> str: ...


@dataclass(frozen=True)
class Senders:
    """One sender per channel; each raises ``DeliveryFailed`` or returns the provider's reference."""

    sms: SmsSender
    email: MailSender

    def send(self, message: OutgoingMessage) -> str:
        # the message id is the idempotency reference: a resend is recognisable
        if message.channel == "sms":
            return self.sms.send(message.address, message.text, message.message_id)
        return self.email.send(message.address, message.subject, message.text,
                               message.message_id)


def deliver_all(messages: Iterable[OutgoingMessage], store: MessageStore,
                senders: Senders) -> list[str]:
    """Send every message not sent yet; return the channels that failed.

    A non-empty result means "retry the event later": the caller has the
    broker redeliver it, and this runs again skipping what was sent.
    """
    failed = []
    for message in messages:
        status = store.open_message(message)
        if status == "sent":
            continue  # sent on an earlier delivery of this event
        if status == "in_flight":
            # another copy of this event is sending it right now: look again
            # later (then it is sent, or its claim has lapsed and we send)
            failed.append(message.channel)
            continue
        masked = mask_address(message.channel, message.address)
        try:
            provider_ref = senders.send(message)
        except DeliveryFailed as exc:
            store.record_failure(message.message_id, str(exc))
            log.warning("%s to %s failed: %s", message.channel, masked, exc)
            failed.append(message.channel)
            continue
        store.record_sent(message, provider_ref)
        log.info("%s sent for %s to %s", message.channel, message.tracking_code, masked)
    return failed
