"""Printing: print jobs for verified applications, leased to printing stations;
pickup windows, their changes and collection at the counter.

Stations are outside programs with their own tokens (docs/station-api.md):
  POST /api/v1/station/jobs/claim                  -> 200 job + lease, or 204
  POST /api/v1/station/jobs/<id>/printed           -> 200 pickup slot
  POST /api/v1/station/jobs/<id>/failed            -> 200, job requeued or held
Operators (operator tokens): held jobs
  GET  /api/v1/operator/print-jobs/held            -> 200 jobs waiting for an operator
  POST /api/v1/operator/print-jobs/<id>/release    -> 200 back in the queue
  POST /api/v1/operator/print-jobs/<id>/cancel     -> 200 given up
  GET  /api/v1/operator/stations/blanko            -> 200 blanko stock per station
  POST /api/v1/operator/stations/<id>/blanko       -> 200 a delivery recorded
Kelurahan officers (scoped tokens): jemput-bola hand-over per citizen
  POST /api/v1/kelurahan/handovers                 -> 200 collected
Citizens (tracking code + NIK) and the counter (operator tokens), docs/api.md:
  POST /api/v1/pickup/windows                      -> 200 free windows to move to
  POST /api/v1/pickup/reschedule                   -> 200 the new window
  POST /api/v1/counter/collections                 -> 200 collected
  GET  /health
``PrintingEvents`` turns verified applications into print jobs and returned
parcels into counter pickups; it runs beside ``PrintingApi`` in its own
container (own worker pool and prefetch).
"""

from __future__ import annotations

import dataclasses
import datetime
import logging

from nameko.extensions import DependencyProvider

from shared.auth import BearerTokens, ScopedBearerTokens
from shared.clock import today_wib
from shared.events import load_event
from shared.fields import CitizenLookupSchema
from shared.http import HealthCheck, api, json_response, read_json
from shared.messaging import reliable_event_handler
from shared.mongo import StoreWithOutbox
from shared.offices import PLACES, WorkingCalendar
from shared.ratelimit import TrackingCodeChecks
from shared.settings import InvalidSetting

from .exceptions import UnknownStation
from .schemas import (BlankoDeliverySchema, BlankoSchema, ClaimSchema, FailedSchema,
                      HeldJobSchema, PrintedSchema, RescheduleSchema, SlotSchema,
                      StationJobSchema)
from .slots import PickupRules
from .stations import InvalidStations, StationRules, parse_stations
from .store import PrintStore

log = logging.getLogger(__name__)

WINDOWS_OFFERED = 35  # a week of the place's windows, when a citizen moves theirs


def pickup_rules(config: dict) -> PickupRules:
    """The places of ``shared.offices`` (``PICKUP_SLOT_CAPACITY``, when set,
    overrides every place's window capacity) and the calendar with this
    Dinas' ``CLOSED_DAYS``."""
    capacity = str(config.get("PICKUP_SLOT_CAPACITY") or "").strip()
    places = {place_id: dataclasses.replace(place, pickup_capacity=int(capacity))
              if capacity else place for place_id, place in PLACES.items()}
    return PickupRules(places, WorkingCalendar.from_config(config.get("CLOSED_DAYS")))


class PrintingSettings(DependencyProvider):
    """The stations, lease and attempts, the pickup places and the working-day
    calendar, read once from config; a bad ``STATIONS`` stops the service."""

    def setup(self):
        config = self.container.config
        try:
            stations = parse_stations(config.get("STATIONS"), PLACES)
        except InvalidStations as exc:
            raise InvalidSetting("STATIONS", str(exc)) from None
        self.stations = StationRules(
            stations, tuple(PLACES),
            datetime.timedelta(seconds=int(config.get("LEASE_SECONDS", 600))),
            int(config.get("MAX_PRINT_ATTEMPTS", 3)),
            int(config.get("BLANKO_LOW_THRESHOLD", 50)))
        self.pickup = pickup_rules(config)

    def get_dependency(self, worker_ctx):
        return self


class PrintingEvents:
    name = "printing"

    store = StoreWithOutbox(PrintStore, publishes_as="printing")
    settings = PrintingSettings()

    @reliable_event_handler("intake", "application_verified")
    def on_application_verified(self, body):
        event = load_event("application_verified", body)
        if self.store.queue_job(event) is None:
            log.info("application_verified %s already handled", event["event_id"])

    @reliable_event_handler("intake", "batch_accepted")
    def on_batch_accepted(self, body):
        event = load_event("batch_accepted", body)
        if self.store.learn_manifest(event) is None:
            log.info("batch_accepted %s already handled", event["event_id"])

    @reliable_event_handler("courier", "parcel_returned")
    def on_parcel_returned(self, body):
        event = load_event("parcel_returned", body)
        job = self.store.parcel_returned(event, self.settings.pickup)
        log.info("parcel of %s returned: %s", event["tracking_code"],
                 "window at the counter" if job and job.get("slot") else "nothing to do")


class PrintingApi(HealthCheck):
    name = "printing_api"

    store = StoreWithOutbox(PrintStore, publishes_as="printing")
    stations = BearerTokens("STATION_TOKENS")
    operators = BearerTokens("OPERATOR_TOKENS")
    kelurahan_officers = ScopedBearerTokens("KELURAHAN_OFFICER_TOKENS", scope_digits=10)
    citizen_checks = TrackingCodeChecks()
    settings = PrintingSettings()

    @api("POST", "/api/v1/station/jobs/claim")
    def claim_job(self, request):
        """No body: one job, or 204. {"max": 10} or {"manifest": true}:
        {"jobs": [...]}, or 204."""
        station = self.settings.stations.station(self.stations.authenticate(request))
        batch = bool(request.get_data(cache=True))
        body = read_json(request, ClaimSchema()) if batch else ClaimSchema().load({})
        jobs = self.store.claim(station, self.settings.stations, body["max"], body["manifest"])
        if not jobs:
            return 204, ""
        if not batch:
            return json_response(200, StationJobSchema().dump(jobs[0]))
        return json_response(200, {"jobs": StationJobSchema(many=True).dump(jobs)})

    @api("POST", "/api/v1/station/jobs/<string:job_id>/printed")
    def report_printed(self, request, job_id):
        """{"lease_token": "..."} -> {"print_job_id": "...", "slot": {...}}"""
        station = self.stations.authenticate(request)
        body = read_json(request, PrintedSchema())
        job = self.store.mark_printed(job_id, station, body["lease_token"], self.settings.pickup,
                                      self.settings.stations)
        return json_response(200, {"print_job_id": job["_id"], "status": job["status"],
                                   "slot": SlotSchema().dump(job["slot"]) if job.get("slot")
                                   else None})

    @api("POST", "/api/v1/station/jobs/<string:job_id>/failed")
    def report_failed(self, request, job_id):
        """{"lease_token": "...", "reason": "misprint", "note": "pita macet"}
        -> {"print_job_id", "status": "queued" | "held"}"""
        station = self.stations.authenticate(request)
        body = read_json(request, FailedSchema())
        job = self.store.mark_failed(job_id, station, body["lease_token"], body["reason"],
                                     body["note"], self.settings.stations)
        return json_response(200, {"print_job_id": job["_id"], "status": job["status"]})

    @api("GET", "/api/v1/operator/print-jobs/held")
    def held_jobs(self, request):
        """-> {"jobs": [{"print_job_id", "tracking_code", "last_failure", ...}]}"""
        self.operators.authenticate(request)
        jobs = self.store.held_jobs(self.settings.stations)
        return json_response(200, {"jobs": HeldJobSchema(many=True).dump(jobs)})

    @api("POST", "/api/v1/operator/print-jobs/<string:job_id>/release")
    def release_held(self, request, job_id):
        """A held job back to the queue, with fresh attempts -> {"status": "queued"}"""
        self.operators.authenticate(request)
        job = self.store.release_held(job_id, self.settings.stations)
        return json_response(200, {"print_job_id": job["_id"], "status": job["status"]})

    @api("POST", "/api/v1/operator/print-jobs/<string:job_id>/cancel")
    def cancel_held(self, request, job_id):
        """A held job given up -> {"status": "cancelled"}"""
        operator = self.operators.authenticate(request)
        job = self.store.cancel_held(job_id, operator, self.settings.stations)
        return json_response(200, {"print_job_id": job["_id"], "status": job["status"]})

    @api("POST", "/api/v1/pickup/windows")
    def open_windows(self, request):
        """{"tracking_code": "SDK7KQ2M9XA", "nik": "3673..."} -> {"windows": [{slot}, ...]}"""
        body = read_json(request, CitizenLookupSchema())
        with self.citizen_checks.attempt(request, body["tracking_code"]):
            windows = self.store.open_windows(body["tracking_code"], body["nik"],
                                              self.settings.pickup, today_wib(), WINDOWS_OFFERED)
        return json_response(200, {"windows": SlotSchema(many=True).dump(windows)})

    @api("POST", "/api/v1/pickup/reschedule")
    def reschedule(self, request):
        """{"tracking_code", "nik", "date": "2025-06-10", "start": "09:00"} -> {"slot": {...}}"""
        body = read_json(request, RescheduleSchema())
        with self.citizen_checks.attempt(request, body["tracking_code"]):
            job = self.store.reschedule(body["tracking_code"], body["nik"], body["date"],
                                        body["start"], self.settings.pickup, today_wib())
        return json_response(200, {"tracking_code": job["tracking_code"],
                                   "slot": SlotSchema().dump(job["slot"])})

    @api("GET", "/api/v1/operator/stations/blanko")
    def blanko_stocks(self, request):
        """-> {"stations": [{"station_id", "stock", "warned"}]} (tracked stations only)"""
        self.operators.authenticate(request)
        return json_response(200, {"stations": BlankoSchema(many=True).dump(
            self.store.blanko_stocks())})

    @api("POST", "/api/v1/operator/stations/<string:station_id>/blanko")
    def record_blanko_delivery(self, request, station_id):
        """{"delivered": 500} -> {"station_id", "stock", "warned"}"""
        self.operators.authenticate(request)
        body = read_json(request, BlankoDeliverySchema())
        if station_id not in self.settings.stations.stations:
            raise UnknownStation()
        stock = self.store.record_blanko_delivery(station_id, body["delivered"],
                                                  self.settings.stations)
        return json_response(200, BlankoSchema().dump(stock))

    @api("POST", "/api/v1/kelurahan/handovers")
    def record_handover(self, request):
        """{"tracking_code", "nik"}: the kelurahan officer handed a jemput-bola
        document to its citizen -> {"tracking_code", "status": "collected"}"""
        officer = self.kelurahan_officers.authenticate(request)
        body = read_json(request, CitizenLookupSchema())
        job = self.store.hand_over(body["tracking_code"], body["nik"], officer)
        return json_response(200, {"tracking_code": job["tracking_code"],
                                   "status": job["status"]})

    @api("POST", "/api/v1/counter/collections")
    def record_collection(self, request):
        """{"tracking_code", "nik"} (the citizen's KTP checked at the counter) -> 200"""
        operator = self.operators.authenticate(request)
        body = read_json(request, CitizenLookupSchema())
        job = self.store.collect(body["tracking_code"], body["nik"], operator, "counter")
        return json_response(200, {"tracking_code": job["tracking_code"],
                                   "status": job["status"]})
