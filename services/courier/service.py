"""Courier: Pos Indonesia delivery from dispatch to the citizen's door.

``CourierEvents`` keeps the delivery details of verified applications and
jemput-bola manifests (which stop waiting for a member rejected, withdrawn or
whose held print job was cancelled, and wait again for one verified again
before they went; and are sent by Pos only once printing confirmed the
operator's choice - never once it called their officer to the Dinas), posts
a shipment when a document to be delivered is printed, notes documents
collected (never posted again), polls Pos' track-and-trace for
shipments with no news, and takes the personal data of shipments final for
``RETENTION_DAYS`` (``retention``).
``CourierApi`` takes Pos' signed tracking webhooks and serves operators
(``api_operator``; docs/courier-api.md); ``dispatch`` makes the calls to Pos:
  POST /api/v1/pos/webhook                          Pos -> 200 | 400 | 401 | 404 | 409 | 429
  GET|POST /api/v1/shipments..., /api/v1/manifests... operator (``api_operator``)
  GET  /health
  GET  /api/v1/openapi.json                         this API as OpenAPI 3 (openapi.py)
"""

from __future__ import annotations

import datetime
import logging

from nameko.extensions import DependencyProvider

from shared.auth import BearerTokens
from shared.events import load_event, occurred_at
from shared.http import PARTNERS, BrokerCheck, HealthCheck, api, json_response, read_json
from shared.messaging import Republished, reliable_event_handler
from shared.mongo import StoreWithOutbox
from shared.openapi import ServesOpenApi
from shared.settings import integer, seconds
from shared.timers import ConfiguredTimer
from shared.wilayah import load_postal_codes, load_wilayah

from .api_operator import CourierOperatorApi
from .dispatch import poll, post_shipment
from .domain import HELD, concerns_courier
from .jemput_bola import drops_a_member
from .openapi import openapi_document
from .pos import PosApi
from .retention import purge_batch, retention
from .schemas import PosWebhookSchema
from .store import CourierStore
from .webhooks import WebhookSignatures

log = logging.getLogger(__name__)


class CourierSettings(DependencyProvider):
    """The region list (names for Pos' labels), polling and retention, read once."""

    def setup(self):
        config = self.container.config
        # postal codes too: for the addresses that came without one (PRR records)
        self.regions = load_wilayah().with_postal_codes(load_postal_codes())
        self.quiet = datetime.timedelta(seconds=seconds(config, "POLL_QUIET_SECONDS", 21600))
        self.poll_batch = integer(config, "POLL_BATCH", 50)
        self.retention = retention(config)
        self.purge_batch = purge_batch(config)

    def get_dependency(self, worker_ctx):
        return self


class CourierEvents:
    name = "courier"

    store = StoreWithOutbox(CourierStore, publishes_as="courier")
    pos = PosApi()
    settings = CourierSettings()
    republished = Republished()  # a copy published again: most likely handled already

    @reliable_event_handler("intake", "application_verified")
    def on_application_verified(self, body):
        event = load_event("application_verified", body)
        if concerns_courier(event):
            self.store.remember_application(event, handled_before=self.republished)

    @reliable_event_handler("intake", "batch_accepted")
    def on_batch_accepted(self, body):
        self.store.remember_manifest(load_event("batch_accepted", body),
                                     handled_before=self.republished)

    @reliable_event_handler("printing", "batch_ready_for_kelurahan")
    def on_batch_ready_for_kelurahan(self, body):
        """Its officer is called to the Dinas for the manifest: no Pos for it.
        A follow-up (a member printed after the manifest went) is skipped
        with no database work: how the manifest went was settled before."""
        event = load_event("batch_ready_for_kelurahan", body)
        if not event["follow_up"]:
            self.store.note_collection_at_dinas(event)

    @reliable_event_handler("printing", "manifest_pos_confirmed")
    def on_manifest_pos_confirmed(self, body):
        """Printing confirmed the operator's choice of Pos: the parcel goes
        once every document is printed (now, if they are)."""
        self._pos_answered("manifest_pos_confirmed", body)

    @reliable_event_handler("printing", "manifest_pos_refused")
    def on_manifest_pos_refused(self, body):
        """Printing had released the manifest for its kelurahan's officer to
        collect at the Dinas: nothing is posted."""
        event = self._pos_answered("manifest_pos_refused", body)
        log.warning("manifest %s not sent by Pos: %s (its officer collects it at the Dinas "
                    "on %s)", event["manifest_id"], event["reason"], event["day"])

    def _pos_answered(self, event_type: str, body) -> dict:
        event = load_event(event_type, body)
        self._post(self.store.pos_answered(event_type, event, self.settings.regions,
                                           self.pos.sender))
        return event

    @reliable_event_handler("printing", "document_printed")
    def on_document_printed(self, body):
        event = load_event("document_printed", body)
        if concerns_courier(event):
            for shipment in self.store.shipments_for_printed(event, self.settings.regions,
                                                             self.pos.sender):
                self._post(shipment)

    @reliable_event_handler("printing", "print_job_requeued")
    def on_print_job_requeued(self, body):
        """A citizen's own parcel Pos has not taken goes back to print: it is
        posted with the reprint's print, not the one before (Pos out of
        reach at that one: its retry posts nothing); a jemput-bola manifest
        waits for the member's reprint. A counter pickup outside a manifest
        is skipped with no database work."""
        event = load_event("print_job_requeued", body)
        if concerns_courier(event):
            self.store.await_reprint(event)

    @reliable_event_handler("intake", "application_rejected")
    def on_application_rejected(self, body):
        """A jemput-bola member rejected at verification: its manifest's
        parcel does not wait for it."""
        self._ended(load_event("application_rejected", body))

    @reliable_event_handler("intake", "application_cancelled")
    def on_application_cancelled(self, body):
        self._ended(load_event("application_cancelled", body))

    @reliable_event_handler("printing", "print_job_cancelled")
    def on_print_job_cancelled(self, body):
        self._ended(load_event("print_job_cancelled", body))

    def _ended(self, event: dict) -> None:
        """The application will not be delivered: its delivery record's
        retention starts, and the manifest's parcel is posted if it waited
        only for this member."""
        self.store.application_ended(event["application_id"])
        if drops_a_member(event):
            self._post(self.store.drop_manifest_member(
                event["application_id"], event.get("manifest_id"), occurred_at(event),
                self.settings.regions, self.pos.sender))

    def _post(self, shipment: dict | None) -> None:
        """Post a shipment the store says is due, unless held for an operator."""
        if shipment is None:
            return
        if shipment["status"] == HELD:
            log.warning("shipment %s held for an operator: the address lacks %s",
                        shipment["_id"], ", ".join(shipment["hold"]["fields"]))
            return
        post_shipment(self.pos, self.store, shipment)  # PosUnavailable: retried later

    @reliable_event_handler("printing", "document_collected")
    def on_document_collected(self, body):
        self.store.record_collection(load_event("document_collected", body),
                                     handled_before=self.republished)

    @ConfiguredTimer.decorator(interval=300, setting="POLL_INTERVAL_SECONDS")
    def poll_quiet_shipments(self):
        poll(self.pos, self.store,
             self.store.claim_quiet(self.settings.quiet, self.settings.poll_batch),
             self.settings.quiet)

    @ConfiguredTimer.decorator(interval=3600, setting="PURGE_INTERVAL_SECONDS")
    def purge_personal_data(self):
        # one batch a run: a backlog drains over the next runs, none holds the database long
        kept, batch = self.settings.retention, self.settings.purge_batch
        if purged := self.store.purge_personal_data(kept, batch):
            log.info("personal data of %d shipment(s) final for over %d days taken",
                     purged, kept.days)
        if purged := self.store.purge_ended_deliveries(kept, batch):
            log.info("personal data of %d delivery record(s) ended for over %d days taken",
                     purged, kept.days)


class CourierApi(HealthCheck, ServesOpenApi, CourierOperatorApi):
    name = "courier_api"
    openapi_document = staticmethod(openapi_document)
    # /health/ready checks the queues of the service's event container too
    broker_check = BrokerCheck("services.courier.service:CourierEvents")

    store = StoreWithOutbox(CourierStore, publishes_as="courier")
    operators = BearerTokens("OPERATOR_TOKENS")
    webhook_signatures = WebhookSignatures()
    pos = PosApi()
    settings = CourierSettings()

    # Pos does not send a refused webhook again: its news would wait for
    # polling (hours), so it waits for a worker instead, up to every worker
    @api("POST", "/api/v1/pos/webhook", budget=PARTNERS)
    def pos_webhook(self, request):
        """X-Pos-Signature: t=...,v1=...  {"eventId": "...", "barcode": "P...",
        "status": "DELIVERED", "at": "2026-11-29T10:00:00+07:00", ...}"""
        self.webhook_signatures.verify(request)  # 401 bad_signature; 429 past the limit
        # a courier's note of several lines is news all the same: Pos does
        # not send a webhook we refuse again (docs/courier-api.md)
        body = read_json(request, PosWebhookSchema(), partner_text=("note", "location"))
        news = {**body, "at": body["at"].isoformat()}
        shipment = self.store.apply_tracking(body["barcode"], [news], "webhook", body["eventId"])
        return json_response(200, {"received": body["eventId"], "status": shipment["status"]})
