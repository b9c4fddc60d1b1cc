"""Printing: print jobs for verified applications, leased to printing stations.

Stations are outside programs with their own tokens (docs/station-api.md):
  POST /api/v1/station/jobs/claim                  -> 200 job + lease, or 204
  POST /api/v1/station/jobs/<id>/printed           -> 200 pickup slot
  POST /api/v1/station/jobs/<id>/failed            -> 200, job back in the queue
  GET  /api/v1/station/jobs/<id>/document.pdf      -> the print-ready PDF (api_documents)
  GET  /api/v1/verify?token=..., /api/v1/verify/keys   public QR verification
  GET  /health
``PrintingEvents`` turns verified applications into print jobs; it runs beside
``PrintingApi`` in its own container (own worker pool and prefetch).
"""

from __future__ import annotations

import datetime
import logging

from nameko.extensions import DependencyProvider

from shared.auth import BearerTokens
from shared.events import load_event
from shared.http import HealthCheck, api, json_response, read_json
from shared.messaging import reliable_event_handler
from shared.mongo import StoreWithOutbox

from .api_documents import DocumentsApi, IntakeDocuments, SigningKeys, VerificationRate
from .issuance_store import IssuingPrintStore
from .schemas import FailedSchema, PrintedSchema, StationJobSchema
from .slots import PickupPlace
from .store import PrintStore

log = logging.getLogger(__name__)


class PrintingSettings(DependencyProvider):
    """Lease length and the pickup place, read once from config."""

    def setup(self):
        config = self.container.config
        self.lease = datetime.timedelta(seconds=int(config.get("LEASE_SECONDS", 600)))
        self.place = PickupPlace(
            place_id=config.get("PICKUP_PLACE_ID", "disdukcapil-serang"),
            name=config.get("PICKUP_PLACE_NAME", "Loket Disdukcapil Kota Serang"),
            address=config.get("PICKUP_PLACE_ADDRESS", "Jl. Jenderal Sudirman No. 5, Kota Serang"),
            capacity=int(config.get("PICKUP_SLOT_CAPACITY", 40)))

    def get_dependency(self, worker_ctx):
        return self


class PrintingEvents:
    name = "printing"

    store = StoreWithOutbox(PrintStore, publishes_as="printing")

    @reliable_event_handler("intake", "application_verified")
    def on_application_verified(self, body):
        event = load_event("application_verified", body)
        if self.store.queue_job(event) is None:
            log.info("application_verified %s already handled", event["event_id"])


class PrintingApi(HealthCheck, DocumentsApi):
    name = "printing_api"

    store = StoreWithOutbox(IssuingPrintStore, publishes_as="printing")
    stations = BearerTokens("STATION_TOKENS")
    settings = PrintingSettings()
    signing_keys = SigningKeys()
    verification_rate = VerificationRate()
    intake_documents = IntakeDocuments()

    @api("POST", "/api/v1/station/jobs/claim")
    def claim_job(self, request):
        station = self.stations.authenticate(request)
        job = self.store.claim_next(station, self.settings.lease)
        if job is None:
            return 204, ""
        return json_response(200, StationJobSchema().dump(job))

    @api("POST", "/api/v1/station/jobs/<string:job_id>/printed")
    def report_printed(self, request, job_id):
        """{"lease_token": "..."} -> {"print_job_id": "...", "slot": {...}}"""
        station = self.stations.authenticate(request)
        body = read_json(request, PrintedSchema())
        job = self.store.mark_printed(job_id, station, body["lease_token"], self.settings.place)
        return json_response(200, {"print_job_id": job["_id"], "status": job["status"],
                                   "slot": job.get("slot")})

    @api("POST", "/api/v1/station/jobs/<string:job_id>/failed")
    def report_failed(self, request, job_id):
        """{"lease_token": "...", "reason": "blanko macet"}"""
        station = self.stations.authenticate(request)
        body = read_json(request, FailedSchema())
        job = self.store.mark_failed(job_id, station, body["lease_token"], body["reason"])
        return json_response(200, {"print_job_id": job["_id"], "status": job["status"]})
