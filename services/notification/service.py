"""Notification: tells citizens by SMS and email when and where to collect.

Listens to ``document_ready_for_pickup``. The domain decides which messages
the event causes and delivers them through the store and the gateways; a
channel that failed makes the handler raise, so the broker redelivers (sent
channels are skipped), and after the delivery limit the event waits in the
dead-letter queue.
"""

from __future__ import annotations

from shared.events import load_event
from shared.http import HealthCheck
from shared.messaging import reliable_event_handler
from shared.mongo import StoreWithOutbox

from .domain import Senders, deliver_all, messages_for
from .exceptions import DeliveryFailed
from .gateways import Mailer, SmsGateway
from .store import NotificationStore


class NotificationApi(HealthCheck):
    name = "notification_api"

    store = StoreWithOutbox(NotificationStore, publishes_as="notification")


class NotificationEvents:
    """Runs beside ``NotificationApi`` in its own container (own worker pool)."""

    name = "notification"

    store = StoreWithOutbox(NotificationStore, publishes_as="notification")
    sms = SmsGateway()
    mail = Mailer()

    @reliable_event_handler("printing", "document_ready_for_pickup")
    def on_document_ready_for_pickup(self, body):
        event = load_event("document_ready_for_pickup", body)
        messages = messages_for("document_ready_for_pickup", event)
        failed = deliver_all(messages, self.store, Senders(sms=self.sms, email=self.mail))
        if failed:
            raise DeliveryFailed(", ".join(failed))  # the broker redelivers the event
