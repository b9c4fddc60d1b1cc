"""Intake: citizens' applications and their status timeline.

HTTP API (v1, JSON; errors name the field, in Bahasa Indonesia or English):
  POST /api/v1/applications                   submit -> 202
  POST /api/v1/applications/status            citizen lookup (tracking code + NIK)
  operator queue, verify, reject; citizen resubmit, cancel (api_operator.py)
  .../documents                               supporting documents (api_documents.py)
  POST /api/v1/tracking-code/resend           the code again, to the contact on file (api_resend.py)
  recording appointments (api_appointments.py); jemput-bola batches and
  kecamatan next-day requests, officers' tokens (api_batches.py)
  GET  /api/v1/openapi.json                     this API as OpenAPI 3 (openapi.py, shared.openapi)
  GET  /health
``IntakeEvents`` listens to printing, courier and notification events to keep
the timeline and move the status (``downstream``), and finishes a minute the
jemput-bola batches their request left (``api_batches.finish_abandoned``). The two classes run in one ``nameko run`` as two containers,
each with its own worker pool and prefetch, so a backlog of events never
takes the workers the citizens' requests need.
"""

from __future__ import annotations

import logging

from nameko.timer import timer

from shared.auth import BearerTokens, ScopedBearerTokens
from shared.clock import today_wib
from shared.errors import DomainError
from shared.events import load_event
from shared.fields import schema
from shared.http import (LOOKUPS, BrokerCheck, HealthCheck, api, idempotency_key, json_response,
                         read_json, request_language)
from shared.masking import mask_identity
from shared.messaging import Republished, reliable_event_handler
from shared.mongo import StoreWithOutbox
from shared.openapi import ServesOpenApi
from shared.ratelimit import ClientQuota, TrackingCodeChecks

from .api_appointments import RecordingAppointmentApi, RecordingCalendar
from .api_batches import OfficerChannelsApi, finish_abandoned
from .api_documents import DocumentsApi, UploadSettings
from .api_operator import OperatorQueueApi
from . import downstream
from .api_resend import ResendLimits, TrackingCodeResendApi
from .domain import public_view
from .openapi import openapi_document
from .refusals import RegisterRefusals, TooManySubmissions
from .register import PopulationRegister
from .schemas import StatusLookupSchema, SubmitRequestSchema
from .screening import Screening
from .store import ApplicationStore
from .submission import accepted_body, submit_application

log = logging.getLogger(__name__)


class IntakeApi(HealthCheck, ServesOpenApi, DocumentsApi, OperatorQueueApi,
                RecordingAppointmentApi, OfficerChannelsApi, TrackingCodeResendApi):
    name = "intake_api"
    openapi_document = staticmethod(openapi_document)
    # /health/ready checks the queues of the service's event containers too
    broker_check = BrokerCheck("services.intake.service:IntakeEvents",
                               "services.intake.channel:IntakeChannel")

    store = StoreWithOutbox(ApplicationStore, publishes_as="intake")
    operators = BearerTokens("OPERATOR_TOKENS")
    # supporting documents are read by operators and by services (printing: a KIA photo)
    document_readers = BearerTokens("OPERATOR_TOKENS", "SERVICE_TOKENS")
    citizen_checks = TrackingCodeChecks()
    resend_limits = ResendLimits()
    upload_limits = UploadSettings()
    register = PopulationRegister()
    register_refusals = RegisterRefusals()
    # new applications per client: each sends a notice and fills the operators' queue
    submit_limits = ClientQuota("SUBMITS_PER_CLIENT", 20, "SUBMITS_WINDOW_SECONDS", 3600,
                                TooManySubmissions)
    kelurahan_officers = ScopedBearerTokens("KELURAHAN_OFFICER_TOKENS", scope_digits=10)
    kecamatan_officers = ScopedBearerTokens("KECAMATAN_OFFICER_TOKENS", scope_digits=6)
    calendar = RecordingCalendar()

    def screening(self) -> Screening:
        """The checks of every new or corrected application (``screening``)."""
        return Screening.of(self.register, self.store)

    def citizen_screening(self, request, body: dict) -> Screening:
        """The same checks for a citizen's own submission or resubmission
        (``body``: the request as loaded or corrected), with the limits on
        refusals the register's answers take part in (``refusals``)."""
        return Screening.of(self.register, self.store, self.register_refusals.of(request, body))

    @api("POST", "/api/v1/applications", new_work=True)
    def submit_application(self, request):
        """{"document_type": "ktp_el", "channel": "web",
            "applicant": {"nik": "3673045207900001", "kk_number": "3673041201100003",
                          "full_name": "Siti Aminah", "phone": "081234567890"},
            "details": {"reason": "first_issue"}}
        -> 202 {"application_id": "...", "tracking_code": "SDK7KQ2M9XA", "status": "submitted"}
        (429 + Retry-After past the client's new applications, before the body is read;
        a retry answered from what is stored is not counted, nor is a refused one)
        """
        self.submit_limits.check(request)
        key = idempotency_key(request)
        body = read_json(request, schema(SubmitRequestSchema, lang=request_language(request)))
        application = submit_application(self.store, self.citizen_screening(request, body), body,
                                         key, lambda: self.submit_limits.counting(request))
        return json_response(202, accepted_body(application))

    @api("POST", "/api/v1/applications/status", budget=LOOKUPS)
    def lookup_status(self, request):
        """{"tracking_code": "SDK7KQ2M9XA", "nik": "3673045207900001"} -> 200 timeline
        (429 + Retry-After after too many failed checks from this client or for this code)"""
        body = read_json(request, schema(StatusLookupSchema))
        with self.citizen_checks.attempt(request, body["tracking_code"]):
            application = self.store.find_for_citizen(body["tracking_code"], body["nik"])
        return json_response(200, public_view(application, request_language(request)))


class IntakeEvents:
    name = "intake"

    store = StoreWithOutbox(ApplicationStore, publishes_as="intake")
    register = PopulationRegister()  # a PRR record's holder: deceased?
    republished = Republished()  # a copy published again: most likely recorded already

    @timer(interval=60, eager=True)
    def finish_abandoned_batches(self):
        """Jemput-bola batches their request left processing for good (intake
        killed mid-batch), finished with the rows they stored
        (``api_batches.finish_abandoned``: one indexed read when none is)."""
        try:
            if finished := finish_abandoned(self.store):
                log.info("%d jemput-bola batches left processing finished", finished)
        except DomainError as exc:  # the database away: the next minute's try
            log.warning("abandoned jemput-bola batches not checked: %s", exc)

    def _record(self, event_type: str, body: dict):
        """One downstream event: its step (and status move, ``downstream``) on
        its application, once per event id."""
        event = load_event(event_type, body)
        if not self.store.record_event(downstream.recorded_as(event_type, event), event,
                                       handled_before=self.republished):
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

    @reliable_event_handler("printing", "print_job_held")
    def on_print_job_held(self, body):
        self._record("print_job_held", body)

    @reliable_event_handler("printing", "print_job_released")
    def on_print_job_released(self, body):
        self._record("print_job_released", body)

    @reliable_event_handler("printing", "print_job_requeued")
    def on_print_job_requeued(self, body):
        self._record("print_job_requeued", body)

    @reliable_event_handler("printing", "print_job_cancelled")
    def on_print_job_cancelled(self, body):
        self._record("print_job_cancelled", body)

    @reliable_event_handler("printing", "reprint_withdrawn")
    def on_reprint_withdrawn(self, body):
        self._record("reprint_withdrawn", body)

    @reliable_event_handler("printing", "document_ready_for_pickup")
    def on_document_ready_for_pickup(self, body):
        self._record("document_ready_for_pickup", body)

    @reliable_event_handler("printing", "pickup_rescheduled")
    def on_pickup_rescheduled(self, body):
        self._record("pickup_rescheduled", body)

    @reliable_event_handler("printing", "document_collected")
    def on_document_collected(self, body):
        self._record("document_collected", body)

    @reliable_event_handler("printing", "batch_ready_for_kelurahan")
    def on_batch_ready_for_kelurahan(self, body):
        self._record_list("batch_ready_for_kelurahan", body)

    @reliable_event_handler("printing", "kecamatan_handover_ready")
    def on_kecamatan_handover_ready(self, body):
        self._record_list("kecamatan_handover_ready", body)

    def _record_list(self, event_type: str, body: dict):
        """A hand-over list an officer collects at the Dinas: its step on
        every application of the list."""
        event = load_event(event_type, body)
        found = self.store.record_handover(event_type, event)
        log.info("%s %s: %d of %d applications found", event_type, event["event_id"], found,
                 len(event["items"]))

    @reliable_event_handler("courier", "parcel_dispatched")
    def on_parcel_dispatched(self, body):
        self._record("parcel_dispatched", body)

    @reliable_event_handler("courier", "parcel_picked_up")
    def on_parcel_picked_up(self, body):
        self._record("parcel_picked_up", body)

    @reliable_event_handler("courier", "parcel_delivery_failed")
    def on_parcel_delivery_failed(self, body):
        self._record("parcel_delivery_failed", body)

    @reliable_event_handler("courier", "parcel_delivered")
    def on_parcel_delivered(self, body):
        self._record("parcel_delivered", body)

    @reliable_event_handler("courier", "parcel_returned")
    def on_parcel_returned(self, body):
        self._record("parcel_returned", body)

    @reliable_event_handler("notification", "notification_sent")
    def on_notification_sent(self, body):
        self._record("notification_sent", body)

    @reliable_event_handler("notification", "notification_failed")
    def on_notification_failed(self, body):
        self._record("notification_failed", body)

    @reliable_event_handler("printing", "prr_record_imported")
    def on_prr_record_imported(self, body):
        event = load_event("prr_record_imported", body)
        application = self.store.import_prr(event, Screening.of(self.register, self.store),
                                            today_wib())
        log.info("PRR record for NIK %s: %s", mask_identity(event["nik"]),
                 f"application {application['tracking_code']}" if application
                 else "recorded, no new application (card issued, or refused: under 17, "
                      "deceased, or an active application of its own)")

    @reliable_event_handler("printing", "prr_record_imported_without_phone")
    def on_prr_record_imported_without_phone(self, body):
        event = load_event("prr_record_imported_without_phone", body)
        self.store.record_prr_nik(event)
        log.info("PRR record for NIK %s: recorded, no phone yet", mask_identity(event["nik"]))
