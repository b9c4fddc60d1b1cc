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
(docs/courier-api.md):
  POST /api/v1/pos/webhook                          Pos -> 200 | 400 | 401 | 404 | 409 | 429
  GET  /api/v1/shipments?status=&from=&to=&cursor=  operator, newest first, paged
  GET  /api/v1/shipments/stuck?days=3               operator
  GET  /api/v1/shipments/<shipment id or barcode>   operator, with its tracking history
  POST /api/v1/shipments/<shipment id>/release      operator: a held shipment's address corrected
  POST /api/v1/manifests/<manifest id>/send-by-pos  operator: a kelurahan's batch by Pos
  GET  /api/v1/manifests/<manifest id>              operator: whether it goes by Pos
  GET  /health
  GET  /api/v1/openapi.json                         this API as OpenAPI 3 (openapi.py)
"""

from __future__ import annotations

import datetime
import logging

from nameko.extensions import DependencyProvider

from shared.auth import BearerTokens
from shared.clock import WIB
from shared.events import load_event, occurred_at
from shared.http import (PARTNERS, BrokerCheck, HealthCheck, api, json_response, read_json,
                         read_optional_json, read_query)
from shared.logs import error_line
from shared.messaging import Republished, reliable_event_handler
from shared.mongo import StoreWithOutbox
from shared.openapi import ServesOpenApi
from shared.paging import next_page
from shared.settings import integer, seconds
from shared.timers import ConfiguredTimer
from shared.wilayah import load_postal_codes, load_wilayah

from .domain import AWAITS_REPRINT, HELD, concerns_courier, manifest_order_id
from .exceptions import (AddressStillIncomplete, PosBusy, PosRefused, PosUnavailable,
                         UndeliverableAddress, UndeliverableByPos, UnknownShipment)
from .jemput_bola import drops_a_member
from .openapi import openapi_document
from .pos import PosApi
from .retention import purge_batch, retention
from .schemas import (AddressCorrectionSchema, KelurahanOfficeSchema, PosWebhookSchema,
                      ShipmentQuerySchema, StuckQuerySchema, manifest_view, shipment_view)
from .store import IN_DOUBT, CourierStore
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


def post_shipment(pos, store, shipment: dict) -> dict:
    """Post a pending shipment to Pos and record the barcode. Safe to repeat:
    Pos answers the same order id with the same barcode. From the moment it
    is sent until its barcode is recorded the posting is in doubt - Pos may
    have taken it, its answer still on its way or lost - and Pos' webhooks
    about a barcode courier does not know yet are answered "not yet"
    (``CourierStore.apply_tracking``)."""
    retried = bool(shipment.get(IN_DOUBT))  # sent before: marked on the first try
    if not retried:
        store.posting_in_doubt(shipment["_id"])
    try:
        barcode = pos.add_posting(shipment["posting"])
    except PosRefused:
        store.posting_refused(shipment["_id"])
        raise
    recorded = store.record_dispatch(shipment["_id"], barcode)
    log.info("shipment %s dispatched: barcode %s", shipment["_id"], barcode)
    if retried:
        catch_up(pos, store, barcode)
    return recorded


def catch_up(pos, store, barcode: str) -> None:
    """A posting Pos may have had since an earlier try: what Pos' webhooks
    said of it meanwhile found no barcode here (answered "not yet", and Pos
    may not send them again), so its tracking is read now. Pos out of reach:
    the poll of quiet shipments reads it later."""
    try:
        events = pos.tracking(barcode)
        if events:
            store.apply_tracking(barcode, events, "poll")
    except PosUnavailable as exc:
        log.warning("tracking of %s not read after its posting: %s", barcode, exc)
    except Exception as exc:  # the dispatch is recorded: its caller must not fail now
        log.warning("tracking of %s not taken after its posting: %s", barcode,
                    error_line(exc))


def poll(pos, store, claimed: list[dict], quiet: datetime.timedelta) -> None:
    """Ask Pos about each shipment ``claimed`` (``CourierStore.claim_quiet``)
    and take its news. Pos out of reach: the round stops, and what it did
    not ask is given back - due at the next round. A shipment whose news
    cannot be taken is given back alone, and the round goes on (a review:
    one such stopped the round, the rest of its batch waited ``quiet``, and
    the same shipment stopped every round)."""
    failed: list[dict] = []
    for asked, shipment in enumerate(claimed):
        try:
            events = pos.tracking(shipment["barcode"])
            if events is not None:
                store.apply_tracking(shipment["barcode"], events, "poll")
        except PosUnavailable as exc:
            log.warning("polling Pos stopped for this round: %s", exc)
            store.give_back_quiet(failed + claimed[asked:], quiet)
            return
        except Exception as exc:  # this shipment's news, not the rest of the round
            log.warning("tracking of %s not taken, asked again next round: %s",
                        shipment["barcode"], error_line(exc))
            failed.append(shipment)
    if failed:
        store.give_back_quiet(failed, quiet)


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


class CourierApi(HealthCheck, ServesOpenApi):
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

    @api("GET", "/api/v1/shipments")
    def list_shipments(self, request):
        """?status=delivered&from=2026-11-01&to=2026-11-30&limit=100&cursor=...
        -> 200 {"shipments": [...], "next_cursor": "..." | null}"""
        self.operators.authenticate(request)
        query = read_query(request, ShipmentQuerySchema())
        since = wib_midnight(query["from_"])
        until = wib_midnight(query["to"] and query["to"] + datetime.timedelta(days=1))
        found = self.store.list_shipments(query["status"], since, until, query["limit"] + 1,
                                          query["cursor"])
        page, cursor = next_page(found, query["limit"], "created_at")
        return json_response(200, {"shipments": [shipment_view(s) for s in page],
                                   "next_cursor": cursor})

    @api("GET", "/api/v1/shipments/stuck")
    def stuck_shipments(self, request):
        self.operators.authenticate(request)
        query = read_query(request, StuckQuerySchema())
        found = self.store.stuck(query["days"], query["limit"])
        return json_response(200, {"days": query["days"],
                                   "shipments": [shipment_view(s) for s in found]})

    @api("GET", "/api/v1/shipments/<string:shipment_id>")
    def shipment(self, request, shipment_id):
        self.operators.authenticate(request)
        return json_response(200, shipment_view(self.store.shipment(shipment_id), True))

    @api("POST", "/api/v1/shipments/<string:shipment_id>/release")
    def release_held_shipment(self, request, shipment_id):
        """{"postal_code": "42171"} or {"kelurahan_code": "3673041010", ...}
        -> 200 the shipment, dispatched (400 naming what the address still lacks)"""
        operator = self.operators.authenticate(request)
        # none: the same request again after a 503 (any body, none too)
        corrections = read_optional_json(request, AddressCorrectionSchema())
        try:
            shipment = self.store.release_held(shipment_id, corrections, operator,
                                               self.settings.regions, self.pos.sender)
            if not shipment.get(AWAITS_REPRINT):  # else the reprint's print posts it
                shipment = post_shipment(self.pos, self.store, shipment)
        except UndeliverableAddress as exc:
            raise AddressStillIncomplete(exc.fields) from None
        except PosUnavailable:
            raise PosBusy() from None  # 503 + Retry-After: the same request again posts it
        except PosRefused as exc:
            raise UndeliverableByPos(str(exc)) from None
        log.info("shipment %s released by %s", shipment["_id"], operator)
        return json_response(200, shipment_view(shipment))

    @api("POST", "/api/v1/manifests/<string:manifest_id>/send-by-pos")
    def send_manifest_by_pos(self, request, manifest_id):
        """{"street": "Jl. Raya Curug No. 3", "postal_code": "42171", "phone": "0254..."}
        -> 200 the manifest's shipment; or 202 ``requested`` (printing has not
        confirmed yet that the manifest did not go to its officer at the
        Dinas) or ``waiting_for_print`` (confirmed; it is posted when the last
        document is printed); 409 ``collected_at_dinas`` once its
        kelurahan's officer was called to collect it at the Dinas; 503
        ``not_yet_known`` for a fresh id courier has not heard of yet, 404
        for any other unknown one. GET .../manifests/<id> follows it."""
        operator = self.operators.authenticate(request)
        office = read_json(request, KelurahanOfficeSchema())
        try:
            manifest, shipment = self.store.send_manifest_by_pos(
                manifest_id, office, operator, self.settings.regions, self.pos.sender)
            if shipment is not None:
                shipment = post_shipment(self.pos, self.store, shipment)
        except PosUnavailable:
            raise PosBusy() from None  # 503 + Retry-After: the same request again is safe
        except PosRefused as exc:
            raise UndeliverableByPos(str(exc)) from None
        if shipment is None:
            try:
                shipment = self.store.shipment(manifest_order_id(manifest_id))
            except UnknownShipment:
                return json_response(202, manifest_view(manifest, None))
        return json_response(200, shipment_view(shipment))

    @api("GET", "/api/v1/manifests/<string:manifest_id>")
    def manifest(self, request, manifest_id):
        """-> 200 {"manifest_id", "status": "at_dinas" | "requested" | "waiting_for_print"
        | "refused" | "posted" | null, ...}: how the manifest goes back to its kelurahan,
        as far as courier knows; 503 ``not_yet_known`` / 404 as for send-by-pos."""
        self.operators.authenticate(request)
        return json_response(200, manifest_view(*self.store.manifest(manifest_id)))


def wib_midnight(day: datetime.date | None) -> datetime.datetime | None:
    return None if day is None else datetime.datetime.combine(day, datetime.time(), WIB)
