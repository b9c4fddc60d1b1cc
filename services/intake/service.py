"""Intake: citizens' applications and their status timeline.

HTTP API (v1, JSON; errors name the field, in Bahasa Indonesia or English):
  POST /api/v1/applications                   submit -> 202
  POST /api/v1/applications/status            citizen lookup (tracking code + NIK)
  operator queue, verify, reject; citizen resubmit, cancel (api_operator.py)
  .../documents                               supporting documents (api_documents.py)
  recording appointments (api_appointments.py); jemput-bola batches and
  kecamatan next-day requests, officers' tokens (api_batches.py)
  GET  /health
``IntakeEvents`` listens to printing, courier and notification events to keep
the timeline. The two classes run in one ``nameko run`` as two containers,
each with its own worker pool and prefetch, so a backlog of events never
takes the workers the citizens' requests need.
"""

from __future__ import annotations

import logging

from shared.auth import BearerTokens, ScopedBearerTokens
from shared.events import load_event
from shared.http import (LOOKUPS, HealthCheck, api, idempotency_key, json_response, read_json,
                         request_language)
from shared.masking import mask_identity
from shared.messaging import reliable_event_handler
from shared.mongo import StoreWithOutbox
from shared.ratelimit import TrackingCodeChecks

from .api_appointments import RecordingAppointmentApi, RecordingCalendar
from .api_batches import OfficerChannelsApi
from .api_documents import DocumentsApi, UploadSettings
from .api_operator import OperatorQueueApi
from .domain import public_view
from .register import PopulationRegister
from .schemas import ApplicationRequestSchema, StatusLookupSchema
from .store import ApplicationStore
from .submission import accepted_body, submit_application

log = logging.getLogger(__name__)


class IntakeApi(HealthCheck, DocumentsApi, OperatorQueueApi, RecordingAppointmentApi,
                OfficerChannelsApi):
    name = "intake_api"

    store = StoreWithOutbox(ApplicationStore, publishes_as="intake")
    operators = BearerTokens("OPERATOR_TOKENS")
    citizen_checks = TrackingCodeChecks()
    upload_limits = UploadSettings()
    register = PopulationRegister()
    kelurahan_officers = ScopedBearerTokens("KELURAHAN_OFFICER_TOKENS", scope_digits=10)
    kecamatan_officers = ScopedBearerTokens("KECAMATAN_OFFICER_TOKENS", scope_digits=6)
    calendar = RecordingCalendar()

    @api("POST", "/api/v1/applications")
    def submit_application(self, request):
        """{"document_type": "ktp_el", "channel": "web",
            "applicant": {"nik": "3673045207900001", "kk_number": "3673041201100003",
                          "full_name": "Siti Aminah", "phone": "081234567890"},
            "details": {"reason": "first_issue"}}
        -> 202 {"application_id": "...", "tracking_code": "SDK7KQ2M9XA", "status": "submitted"}
        """
        key = idempotency_key(request)
        body = read_json(request, ApplicationRequestSchema())
        application = submit_application(self.store, self.register, body, key)
        return json_response(202, accepted_body(application))

    @api("POST", "/api/v1/applications/status", budget=LOOKUPS)
    def lookup_status(self, request):
        """{"tracking_code": "SDK7KQ2M9XA", "nik": "3673045207900001"} -> 200 timeline
        (429 + Retry-After after too many failed checks from this client or for this code)"""
        body = read_json(request, StatusLookupSchema())
        with self.citizen_checks.attempt(request, body["tracking_code"]):
            application = self.store.find_for_citizen(body["tracking_code"], body["nik"])
        return json_response(200, public_view(application, request_language(request)))


class IntakeEvents:
    name = "intake"

    store = StoreWithOutbox(ApplicationStore, publishes_as="intake")

    def _record(self, event_type: str, body: dict):
        event = load_event(event_type, body)
        if not self.store.record_step(event_type, event):
            log.info("%s %s already recorded or unknown application", event_type, event["event_id"])

    @reliable_event_handler("printing", "print_job_queued")
    def on_print_job_queued(self, body):
        self._record("print_job_queued", body)

    @reliable_event_handler("printing", "document_printed")
    def on_document_printed(self, body):
        self._record("document_printed", body)

    @reliable_event_handler("printing", "print_job_failed")
    def on_print_job_failed(self, body):
        self._record("print_job_failed", body)

    @reliable_event_handler("printing", "document_ready_for_pickup")
    def on_document_ready_for_pickup(self, body):
        self._record("document_ready_for_pickup", body)

    @reliable_event_handler("printing", "document_collected")
    def on_document_collected(self, body):
        self._record("document_collected", body)

    @reliable_event_handler("notification", "notification_sent")
    def on_notification_sent(self, body):
        self._record("notification_sent", body)

    @reliable_event_handler("notification", "notification_failed")
    def on_notification_failed(self, body):
        self._record("notification_failed", body)

    @reliable_event_handler("printing", "prr_record_imported")
    def on_prr_record_imported(self, body):
        event = load_event("prr_record_imported", body)
        application = self.store.import_prr(event)
        log.info("PRR record for NIK %s: %s", mask_identity(event["nik"]),
                 f"application {application['tracking_code']}" if application
                 else "recorded, no new application (card issued or application active)")
