"""Printing: print jobs for verified applications, leased to printing stations;
pickup windows, their changes and collection at the counter.

Stations are outside programs with their own tokens (docs/station-api.md):
their claims and reports are ``api_station``'s, and
  GET  /api/v1/station/jobs/<id>/document.pdf      -> the print-ready PDF (api_documents)
  GET  /api/v1/verify?token=..., /api/v1/verify/keys   public QR verification
Citizens, the counter and kelurahan and kecamatan officers: ``api_pickup``; operators
(held jobs, blanko, PRR imports): ``api_operator``.
  GET  /health
  GET  /api/v1/openapi.json                        this API as OpenAPI 3 (openapi.py)
``PrintingEvents`` turns verified applications into print jobs (a verified
Akta Kematian also revokes the deceased's cards and holds their jobs), accepted
jemput-bola batches into manifests (which stop waiting for a member rejected or
withdrawn, and wait again for one verified again before they went) and
returned parcels into counter pickups, holds a job whose lease ran out on
its last attempt (every ``LAPSED_LEASE_CHECK_SECONDS``), takes the PRR records intake refused
off the backlog, and answers an operator's choice of Pos for a manifest
(confirmed unless it went to its kelurahan's officer already) and follows
its parcel, and notes a citizen's own parcel Pos has in hand (printed again
no more); it runs beside
``PrintingApi`` in its own container (own worker pool and prefetch).
"""

from __future__ import annotations

import dataclasses
import datetime
import logging

from nameko.extensions import DependencyProvider

from shared.auth import BearerTokens, ScopedBearerTokens
from shared.events import load_event, occurred_at, shipment_manifest
from shared.http import BrokerCheck, HealthCheck
from shared.messaging import Republished, reliable_event_handler
from shared.mongo import StoreWithOutbox
from shared.offices import PLACES, WorkingCalendar
from shared.openapi import ServesOpenApi
from shared.ratelimit import TrackingCodeChecks
from shared.settings import InvalidSetting, integer
from shared.timers import ConfiguredTimer

from . import handovers
from .api_documents import DocumentsApi, IntakeDocuments, SigningKeys, VerificationRate
from .api_operator import PrintOperatorApi
from .api_pickup import PickupApi
from .api_station import StationApi
from .issuance_store import IssuingPrintStore
from .openapi import openapi_document
from .slots import PickupRules
from .stations import InvalidStations, StationRules, parse_stations

log = logging.getLogger(__name__)


def pickup_rules(config: dict) -> PickupRules:
    """The places of ``shared.offices`` (``PICKUP_SLOT_CAPACITY``, when set,
    overrides every place's window capacity) and the calendar with this
    Dinas' ``CLOSED_DAYS``."""
    capacity = integer(config, "PICKUP_SLOT_CAPACITY", None, minimum=1)
    places = {place_id: dataclasses.replace(place, pickup_capacity=capacity)
              if capacity is not None else place for place_id, place in PLACES.items()}
    return PickupRules(places, WorkingCalendar.from_config(config.get("CLOSED_DAYS")))


# STATION_SILENT_SECONDS at most (30 days): "never" is 0
MOST_SILENT_SECONDS = 30 * 24 * 3600
# LEASE_SECONDS at most (a day): a batch is printed within minutes, and a
# lease past what a date holds failed every claim (OverflowError: 500)
MOST_LEASE_SECONDS = 24 * 3600
# MAX_PRINT_ATTEMPTS from 1 (0 let no job be claimed, nor listed held: every
# job stranded in the queue) to 100 (a number past what the database stores
# failed every claim)
MOST_PRINT_ATTEMPTS = 100


def silent_after(seconds: int) -> datetime.timedelta | None:
    """``STATION_SILENT_SECONDS`` as ``StationRules`` takes it (0: never silent)."""
    return datetime.timedelta(seconds=seconds) if seconds else None


class PrintingSettings(DependencyProvider):
    """The stations, lease and attempts, the pickup places and the working-day
    calendar, read once from config; a bad ``STATIONS`` (a station's cap of
    0 too), or a lease or attempts out of range, stops the service naming
    the setting: each would strand the jobs."""

    def setup(self):
        config = self.container.config
        try:
            stations = parse_stations(config.get("STATIONS"), PLACES)
        except InvalidStations as exc:
            raise InvalidSetting("STATIONS", str(exc)) from None
        self.stations = StationRules(
            stations, tuple(PLACES),
            # a lease of 0 s runs out as it is handed out
            datetime.timedelta(seconds=integer(config, "LEASE_SECONDS", 600, minimum=1,
                                               maximum=MOST_LEASE_SECONDS)),
            integer(config, "MAX_PRINT_ATTEMPTS", 3, minimum=1, maximum=MOST_PRINT_ATTEMPTS),
            integer(config, "BLANKO_LOW_THRESHOLD", 50),
            silent_after(integer(config, "STATION_SILENT_SECONDS", 1800, minimum=0,
                                 maximum=MOST_SILENT_SECONDS)))
        self.pickup = pickup_rules(config)

    def get_dependency(self, worker_ctx):
        return self


class PrintingEvents:
    name = "printing"

    # with issuances: a death recorded revokes the holder's cards
    store = StoreWithOutbox(IssuingPrintStore, publishes_as="printing")
    republished = Republished()  # a copy published again: most likely handled already
    settings = PrintingSettings()

    @reliable_event_handler("intake", "application_verified")
    def on_application_verified(self, body):
        """A jemput-bola member: its manifest waits for it (again, if it was
        rejected before) - noted before its job exists, so no print of the
        others can let the manifest go without it."""
        event = load_event("application_verified", body)
        if event["manifest_id"] is not None:
            self.store.manifest_member_verified(event["manifest_id"], event["application_id"],
                                                occurred_at(event))
        if self.store.queue_job(event, handled_before=self.republished) is None:
            log.info("application_verified %s already handled", event["event_id"])

    @reliable_event_handler("intake", "batch_accepted")
    def on_batch_accepted(self, body):
        event = load_event("batch_accepted", body)
        if self.store.learn_manifest(event, self.settings.pickup,
                                     handled_before=self.republished) is None:
            log.info("batch_accepted %s already handled", event["event_id"])

    @reliable_event_handler("intake", "application_rejected")
    def on_application_rejected(self, body):
        """A jemput-bola member rejected at verification: its manifest does
        not wait for it (it follows on its own if resubmitted and printed)."""
        self._manifest_member_dropped("application_rejected", body)

    @reliable_event_handler("intake", "application_cancelled")
    def on_application_cancelled(self, body):
        self._manifest_member_dropped("application_cancelled", body)

    def _manifest_member_dropped(self, event_type: str, body) -> None:
        """An application that is no manifest's member is skipped before any
        database work."""
        event = load_event(event_type, body)
        if event["manifest_id"] is not None:
            self.store.manifest_member_dropped(event["manifest_id"], event["application_id"],
                                               self.settings.pickup, occurred_at(event))

    @reliable_event_handler("intake", "prr_record_refused")
    def on_prr_record_refused(self, body):
        """Intake made no application of a PRR record (its holder is recorded
        as deceased, say): off the backlog, listed with its import."""
        event = load_event("prr_record_refused", body)
        if not self.store.refuse_prr_record(event):
            log.info("prr_record_refused %s already recorded or unknown record",
                     event["event_id"])

    @reliable_event_handler("courier", "manifest_sent_by_pos")
    def on_manifest_sent_by_pos(self, body):
        """An operator chose Pos: printing confirms it (its kelurahan is then
        never called to the Dinas for it) or refuses it (it was already):
        ``handovers.pos_answer``."""
        event = load_event("manifest_sent_by_pos", body)
        answer = self.store.answer_pos_choice(event, handled_before=self.republished)
        if answer is not None:
            log.info("manifest %s by Pos: %s", event["manifest_id"], answer.type)

    @reliable_event_handler("courier", "parcel_dispatched")
    def on_parcel_dispatched(self, body):
        self._manifest_parcel_news("parcel_dispatched", body)

    @reliable_event_handler("courier", "parcel_delivered")
    def on_parcel_delivered(self, body):
        self._manifest_parcel_news("parcel_delivered", body)

    @reliable_event_handler("courier", "parcel_picked_up")
    def on_parcel_picked_up(self, body):
        """Pos has a parcel in hand - a citizen's own, or a jemput-bola
        manifest's: its documents are no longer at the Dinas to be printed
        again (``domain.awaiting_pos``, ``handovers.pos_has_it``), and a
        reprint not printed before that is withdrawn."""
        event = load_event("parcel_picked_up", body)
        taken_at = datetime.datetime.fromisoformat(event["picked_up_at"])
        manifest_id = shipment_manifest(event["shipment_id"])
        if manifest_id is None:
            found = self.store.picked_up_by_pos(event["application_id"], taken_at)
            withdrawn = [found[0]] if found is not None and found[1] else []
        else:
            job = self.store.manifest_picked_up_by_pos(manifest_id, event["application_id"],
                                                       taken_at)
            withdrawn = [job] if job is not None else []
        for job in withdrawn:
            log.warning("Pos took the parcel %s with the document of print job %s (%s) before "
                        "its reprint was printed: the parcel carries the document printed "
                        "before, valid again; the reprint is withdrawn (not valid: destroy it "
                        "if it was printed)", event["shipment_id"], job["_id"],
                        job["tracking_code"])

    def _manifest_parcel_news(self, event_type: str, body) -> None:
        """Whether a jemput-bola manifest sent by Pos is at its kelurahan
        (``handovers.parcel_in_transit``); a citizen's parcel is skipped
        before any database work."""
        event = load_event(event_type, body)
        manifest_id = shipment_manifest(event["shipment_id"])
        if manifest_id is not None:
            self.store.manifest_parcel_news(manifest_id, handovers.PARCEL_NEWS[event_type])

    @ConfiguredTimer.decorator(interval=5, setting="LAPSED_LEASE_CHECK_SECONDS")
    def hold_lapsed_leases(self):
        """A job whose lease ran out on its last attempt is handed out no
        more: held, and the citizen's status says so (``print_job_held``,
        ``lease_expired``). Every printing process runs it: one holds each job."""
        for job in self.store.hold_lapsed(self.settings.stations):
            log.warning("print job %s held: the lease of %s ran out on its last attempt",
                        job["_id"], job.get("station_id"))

    @reliable_event_handler("courier", "parcel_returned")
    def on_parcel_returned(self, body):
        event = load_event("parcel_returned", body)
        job = self.store.parcel_returned(event, self.settings.pickup,
                                         handled_before=self.republished)
        log.info("parcel of %s returned: %s", event["tracking_code"],
                 "window at the counter" if job and job.get("slot") else "nothing to do")


class PrintingApi(HealthCheck, ServesOpenApi, StationApi, PickupApi, PrintOperatorApi,
                  DocumentsApi):
    name = "printing_api"
    openapi_document = staticmethod(openapi_document)
    # /health/ready checks the queues of the service's event container too
    broker_check = BrokerCheck("services.printing.service:PrintingEvents")

    store = StoreWithOutbox(IssuingPrintStore, publishes_as="printing")
    stations = BearerTokens("STATION_TOKENS")
    operators = BearerTokens("OPERATOR_TOKENS")
    kelurahan_officers = ScopedBearerTokens("KELURAHAN_OFFICER_TOKENS", scope_digits=10)
    kecamatan_officers = ScopedBearerTokens("KECAMATAN_OFFICER_TOKENS", scope_digits=6)
    citizen_checks = TrackingCodeChecks()
    settings = PrintingSettings()
    signing_keys = SigningKeys()
    verification_rate = VerificationRate()
    intake_documents = IntakeDocuments()
