"""Notification: tells citizens by SMS and email when and where to collect.

Listens to ``document_ready_for_pickup``; sends once per channel; a channel
that fails raises so the broker redelivers (sent channels are skipped), and
after the delivery limit the event waits in the dead-letter queue.
"""

from __future__ import annotations

import logging

from shared.events import load_event
from shared.masking import mask_address
from shared.http import HealthCheck, api, json_response
from shared.messaging import reliable_event_handler
from shared.mongo import StoreWithOutbox

from .gateways import DeliveryFailed, Mailer, SmsGateway
from .messages import pickup_email, pickup_sms
from .store import NotificationStore

log = logging.getLogger(__name__)


class NotificationService(HealthCheck):
    name = "notification"

    store = StoreWithOutbox(NotificationStore)
    sms = SmsGateway()
    mail = Mailer()

    @reliable_event_handler("printing", "document_ready_for_pickup")
    def on_document_ready_for_pickup(self, body):
        event = load_event("document_ready_for_pickup", body)
        contact = event["contact"]
        failures = []
        if contact.get("phone"):
            failures += self._deliver(event, "sms", contact["phone"],
                                      lambda ref: self.sms.send(contact["phone"], pickup_sms(event), ref))
        if contact.get("email"):
            subject, text = pickup_email(event)
            failures += self._deliver(event, "email", contact["email"],
                                      lambda ref: self.mail.send(contact["email"], subject, text, ref))
        if failures:
            raise DeliveryFailed(", ".join(failures))  # broker retries; sent channels are skipped

    def _deliver(self, event, channel, address, send) -> list[str]:
        message = self.store.open_message(event, "document_ready_for_pickup", channel, address)
        if message["status"] == "sent":
            return []
        try:
            provider_ref = send(message["_id"])
        except DeliveryFailed as exc:
            self.store.record_failure(message["_id"], str(exc))
            log.warning("%s to %s failed: %s", channel, self._masked(channel, address), exc)
            return [channel]
        self.store.record_sent(message, provider_ref)
        log.info("%s sent for %s to %s", channel, event["tracking_code"],
                 self._masked(channel, address))
        return []

    @staticmethod
    def _masked(channel: str, address: str) -> str:
        if channel == "sms":
            return mask_phone(address)
        name, _, domain = address.partition("@")
        return f"{name[:1]}***@{domain}"
