"""Notification: tells citizens and officers what they need to know, by SMS,
e-mail and WhatsApp.

Listens to every event in ``domain.NOTICES`` (DESIGN.md's event catalogue),
to ``document_collected`` and to ``application_resubmitted``, and keeps its
own contact book from ``application_submitted`` and
``application_resubmitted`` (``domain.BOOK_EVENTS``: a hand-over list's and a
parcel's citizens are told from it, and greeted by its name). The domain
decides which messages an event causes and delivers them through the store
and the gateways; a channel that failed for now makes the handler raise, so
the shared delayed-retry mechanism brings the event back later (sent
channels are skipped); the last attempt gives a message up
(``notification_failed``) and falls back to the next channel. A timer sends
the messages held back by quiet hours or SMS limits when they are due,
but drops those a later notice replaced or whose application is over since
(``document_collected``, ``parcel_delivered``, ``application_cancelled``,
``print_job_cancelled``) - or whose recording booking was moved or cancelled
since (``recording_appointment_cancelled``); those due at once go in the
order their events happened.
The HTTP API shows operators the delivery log, what failed and the counters,
and takes the WhatsApp Cloud API's webhook (docs/whatsapp-webhook.md): a
message WhatsApp reports failed after it took it is given up there, and its
stand-in on the next channel waits, due now, for the sweeper.
  GET  /api/v1/notifications/applications/<id>   operator: the delivery log
  GET  /api/v1/notifications/failed              operator: newest first, a page at a time
  GET  /api/v1/notifications/counters            operator
  POST /api/v1/notifications/messages/<id>/resend   operator: a message given up, again
  GET  /api/v1/openapi.json                      this API as OpenAPI 3 (openapi.py)
  GET  /api/v1/whatsapp/webhook                  Meta's handshake -> 200 text/plain | 403
  POST /api/v1/whatsapp/webhook                  Meta, signed -> 200 | 401 | 413 | 415 | 429 | 503
"""

from __future__ import annotations

import functools
import logging

from nameko.timer import timer
from werkzeug.wrappers import Response

from shared.auth import BearerTokens
from shared.events import load_event
from shared.fields import ISSUED_CODE
from shared.http import (BrokerCheck, HealthCheck, api, check_json_type, json_response,
                         read_no_body, read_no_query, read_query)
from shared.messaging import DeliveryAttempt, Republished, reliable_event_handler
from shared.openapi import ServesOpenApi
from shared.paging import next_page

from .callbacks import read_callback, settle_callback
from .domain import (Delivery, Senders, awaited_contacts, book_entry, deliver, ended_before,
                     finished_by, notices_for, send_due, told_from_the_book)
from .exceptions import (ContactNotYetKnown, DeliveryFailed, MessageNotFound, NotGivenUp,
                         TrackingCodeGiven)
from .gateways import Mailer, RecentSends, SmsGateway, WhatsApp
from .openapi import openapi_document
from .schemas import CountersSchema, DeliveryLogSchema, FailedMessagesSchema, FailedQuerySchema
from .settings import NotificationSettings
from .store import NotificationStoreProvider
from .webhook import WhatsAppWebhook

log = logging.getLogger(__name__)
SWEEP_SECONDS = 5
# Meta's deliveries are up to 3 MB (statuses of many messages in one)
WEBHOOK_MAX_BODY_BYTES = 3 * 1024 * 1024


class NotificationApi(HealthCheck, ServesOpenApi):
    name = "notification_api"
    openapi_document = staticmethod(openapi_document)
    # /health/ready checks the queues of the service's event container too
    broker_check = BrokerCheck("services.notification.service:NotificationEvents")

    store = NotificationStoreProvider()
    operators = BearerTokens("OPERATOR_TOKENS")
    settings = NotificationSettings()
    whatsapp_webhook = WhatsAppWebhook()

    @api("GET", "/api/v1/whatsapp/webhook")
    def whatsapp_verification(self, request):
        """?hub.mode=subscribe&hub.verify_token=...&hub.challenge=1158201444 -> 1158201444"""
        return Response(self.whatsapp_webhook.challenge(request), status=200,
                        mimetype="text/plain")

    @api("POST", "/api/v1/whatsapp/webhook", max_body_bytes=WEBHOOK_MAX_BODY_BYTES,
         max_body_setting="WHATSAPP_WEBHOOK_MAX_BODY_BYTES")
    def whatsapp_callback(self, request):
        """X-Hub-Signature-256: sha256=...  {"object": "whatsapp_business_account",
        "entry": [{"changes": [{"field": "messages", "value": {"statuses": [{"id":
        "wamid...", "status": "failed", "errors": [{"code": 131026, ...}], ...}]}}]}]}"""
        self.whatsapp_webhook.verify(request)  # 401 bad_signature; 429 past the limit
        # Meta sends JSON: anything else is refused as every JSON endpoint
        # refuses it, 415 (outside audit H: any type was read as JSON)
        check_json_type(request.mimetype, request.mimetype_params)
        callback = read_callback(request.get_data(cache=True))
        settle_callback(callback, self.store, self.settings.now())  # 503: deliver again
        return json_response(200, {"statuses": len(callback.statuses)})

    @api("GET", "/api/v1/notifications/applications/<string:application_id>")
    def delivery_log(self, request, application_id):
        self.operators.authenticate(request)
        read_no_query(request)
        if ISSUED_CODE.fullmatch(application_id):
            raise TrackingCodeGiven()
        messages = self.store.delivery_log(application_id)
        return json_response(200, DeliveryLogSchema().dump(
            {"application_id": application_id, "messages": messages}))

    @api("GET", "/api/v1/notifications/failed")
    def failed(self, request):
        """?limit=100&cursor=... -> 200 {"messages": [...], "next_cursor": "..." | null}"""
        self.operators.authenticate(request)
        query = read_query(request, FailedQuerySchema())
        rows = self.store.failed_messages(query["limit"] + 1, query["cursor"])
        page, cursor = next_page(rows, query["limit"], "failed_at")
        return json_response(200, FailedMessagesSchema().dump(
            {"messages": page, "next_cursor": cursor}))

    @api("POST", "/api/v1/notifications/messages/<string:notification_id>/resend")
    def resend(self, request, notification_id):
        """(no body) -> 200 {"notification_id": "4b1e….sms", "status": "held",
        "held_reason": "resend"}: sent again within SWEEP_SECONDS"""
        self.operators.authenticate(request)
        read_no_query(request)
        read_no_body(request)
        before = self.store.resend(notification_id, self.settings.now())
        if before is None:
            raise MessageNotFound()
        if before != "failed":
            raise NotGivenUp(before)
        log.info("message %s held to be sent again, as an operator asked", notification_id)
        return json_response(200, {"notification_id": notification_id, "status": "held",
                                   "held_reason": "resend"})

    @api("GET", "/api/v1/notifications/counters")
    def counters(self, request):
        self.operators.authenticate(request)
        read_no_query(request)
        guards = self.settings.guards
        return json_response(200, CountersSchema().dump({
            **self.store.counters(self.settings.now()), "daily_budget": guards.daily_budget,
            "per_phone_per_hour": guards.per_phone_per_hour}))


class NotificationEvents:
    """Runs beside ``NotificationApi`` in its own container (own worker pool)."""

    name = "notification"

    store = NotificationStoreProvider()
    sms = SmsGateway()
    mail = Mailer()
    whatsapp = WhatsApp()
    settings = NotificationSettings()
    sent = RecentSends()
    last_delivery = DeliveryAttempt()
    republished = Republished()

    def _delivery(self, last_delivery: bool | None = None, republished: bool = False) -> Delivery:
        return Delivery(self.store, Senders(sms=self.sms, email=self.mail, whatsapp=self.whatsapp),
                        self.settings.guards, self.settings.max_attempts, self.settings.now(),
                        self.sent, last_delivery, republished)

    def _notify(self, event_type: str, body: dict) -> None:
        event = load_event(event_type, body)
        self._keep_contact(event_type, event)
        self._note_finished(event_type, event)
        if told_from_the_book(event_type, event) and ended_before(
                event, end := self.store.finished(event["application_id"])):
            log.info("%s %s: not sent, its application ended after it (%s)",
                     event_type, event["event_id"], end.by)
            return
        delivery, failed = self._delivery(self.last_delivery, self.republished), []
        book = functools.lru_cache(maxsize=None)(self.store.contact_for)  # one read each
        for notice in notices_for(event_type, event, book, self.settings.officer_contact):
            failed += deliver(notice.messages(), delivery, fallback=notice.message)
        if failed:
            raise DeliveryFailed(", ".join(failed))  # the event comes back later
        if waiting := awaited_contacts(event_type, event, book):
            raise ContactNotYetKnown(waiting)  # so does one that overtook a contact

    def _keep_contact(self, event_type: str, event: dict) -> None:
        if (entry := book_entry(event_type, event)) is not None:
            self.store.save_contact(entry)

    def _note_finished(self, event_type: str, event: dict) -> None:
        if (end := finished_by(event_type, event)) is not None:
            self.store.note_finished(end)

    @timer(interval=SWEEP_SECONDS)
    def send_held_messages(self):
        delivery = self._delivery()
        send_due(self.store.claim_due(delivery.now), delivery)

    @reliable_event_handler("intake", "application_submitted")
    def on_application_submitted(self, body):
        self._notify("application_submitted", body)

    @reliable_event_handler("intake", "application_resubmitted")
    def on_application_resubmitted(self, body):
        # no notice (the citizen made the correction): the contact book takes
        # the corrected contact and name, which every later notice uses
        self._keep_contact("application_resubmitted",
                           load_event("application_resubmitted", body))

    @reliable_event_handler("intake", "application_rejected")
    def on_application_rejected(self, body):
        self._notify("application_rejected", body)

    @reliable_event_handler("intake", "application_cancelled")
    def on_application_cancelled(self, body):
        self._notify("application_cancelled", body)

    @reliable_event_handler("intake", "recording_appointment_booked")
    def on_recording_appointment_booked(self, body):
        self._notify("recording_appointment_booked", body)

    @reliable_event_handler("intake", "recording_appointment_cancelled")
    def on_recording_appointment_cancelled(self, body):
        self._notify("recording_appointment_cancelled", body)

    @reliable_event_handler("intake", "tracking_code_resend_requested")
    def on_tracking_code_resend_requested(self, body):
        self._notify("tracking_code_resend_requested", body)

    @reliable_event_handler("printing", "document_ready_for_pickup")
    def on_document_ready_for_pickup(self, body):
        self._notify("document_ready_for_pickup", body)

    @reliable_event_handler("printing", "print_job_cancelled")
    def on_print_job_cancelled(self, body):
        self._notify("print_job_cancelled", body)

    @reliable_event_handler("printing", "document_collected")
    def on_document_collected(self, body):
        # no notice: the citizen was there. Held notices from before it are dropped
        self._note_finished("document_collected", load_event("document_collected", body))

    @reliable_event_handler("printing", "pickup_rescheduled")
    def on_pickup_rescheduled(self, body):
        self._notify("pickup_rescheduled", body)

    @reliable_event_handler("printing", "batch_ready_for_kelurahan")
    def on_batch_ready_for_kelurahan(self, body):
        self._notify("batch_ready_for_kelurahan", body)

    @reliable_event_handler("printing", "kecamatan_handover_ready")
    def on_kecamatan_handover_ready(self, body):
        self._notify("kecamatan_handover_ready", body)

    @reliable_event_handler("printing", "blanko_low")
    def on_blanko_low(self, body):
        self._notify("blanko_low", body)

    @reliable_event_handler("courier", "parcel_dispatched")
    def on_parcel_dispatched(self, body):
        self._notify("parcel_dispatched", body)

    @reliable_event_handler("courier", "parcel_delivered")
    def on_parcel_delivered(self, body):
        self._notify("parcel_delivered", body)

    @reliable_event_handler("courier", "parcel_delivery_failed")
    def on_parcel_delivery_failed(self, body):
        self._notify("parcel_delivery_failed", body)

    @reliable_event_handler("courier", "parcel_returned")
    def on_parcel_returned(self, body):
        """No notice (``domain.NOTICES``): printing's ``document_ready_for_pickup``
        (``returned``) tells the citizen, or nothing does for a holder who
        died. Still consumed - read and acknowledged - so that the queue a
        running system has bound to it does not fill."""
        load_event("parcel_returned", body)
