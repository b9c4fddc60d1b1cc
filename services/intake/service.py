"""Intake: citizens' applications and their status timeline.

HTTP API (v1, JSON; errors name the field, in Bahasa Indonesia or English):
  POST /api/v1/applications                   submit -> 202
  POST /api/v1/applications/status            citizen lookup (tracking code + NIK)
  POST /api/v1/applications/<id>/verify       operator (Bearer token)
  POST /api/v1/applications/<id>/reject       operator (Bearer token)
  GET  /health
``IntakeEvents`` listens to printing, courier and notification events to keep
the timeline. The two classes run in one ``nameko run`` as two containers,
each with its own worker pool and prefetch, so a backlog of events never
takes the workers the citizens' requests need.
"""

from __future__ import annotations

import logging

from shared.auth import BearerTokens
from shared.clock import today_wib
from shared.events import load_event
from shared.http import HealthCheck, api, json_response, read_json, request_language
from shared.masking import mask_identity
from shared.messaging import reliable_event_handler
from shared.mongo import StoreWithOutbox

from .domain import new_application, public_view
from .rules import validate_application
from .schemas import ApplicationRequestSchema, RejectSchema, StatusLookupSchema
from .store import ApplicationStore

log = logging.getLogger(__name__)


def accepted_body(application: dict) -> dict:
    return {"application_id": application["_id"],
            "tracking_code": application["tracking_code"],
            "status": application["status"]}


class IntakeApi(HealthCheck):
    name = "intake_api"

    store = StoreWithOutbox(ApplicationStore, publishes_as="intake")
    operators = BearerTokens("OPERATOR_TOKENS")

    @api("POST", "/api/v1/applications")
    def submit_application(self, request):
        """{"document_type": "ktp_el", "channel": "web",
            "applicant": {"nik": "3673045207900001", "kk_number": "3673041201100003",
                          "full_name": "Siti Aminah", "phone": "081234567890"},
            "details": {"reason": "first_issue"}}
        -> 202 {"application_id": "...", "tracking_code": "SDK7KQ2M9XA", "status": "submitted"}
        """
        body = read_json(request, ApplicationRequestSchema())
        details = validate_application(body, today_wib())
        application = self.store.submit(
            new_application(body, details, request.headers.get("Idempotency-Key")))
        log.info("application %s submitted for NIK %s", application["tracking_code"],
                 mask_identity(application["applicant"]["nik"]))
        return json_response(202, accepted_body(application))

    @api("POST", "/api/v1/applications/status")
    def lookup_status(self, request):
        """{"tracking_code": "SDK7KQ2M9XA", "nik": "3673045207900001"} -> 200 timeline"""
        body = read_json(request, StatusLookupSchema())
        application = self.store.find_for_citizen(body["tracking_code"], body["nik"])
        return json_response(200, public_view(application, request_language(request)))

    @api("POST", "/api/v1/applications/<string:application_id>/verify")
    def verify_application(self, request, application_id):
        operator = self.operators.authenticate(request)
        application = self.store.verify(application_id, operator)
        return json_response(200, accepted_body(application))

    @api("POST", "/api/v1/applications/<string:application_id>/reject")
    def reject_application(self, request, application_id):
        """{"reasons": ["Foto KK tidak terbaca"]}"""
        operator = self.operators.authenticate(request)
        body = read_json(request, RejectSchema())
        application = self.store.reject(application_id, operator, body["reasons"])
        return json_response(200, accepted_body(application))



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
