"""Intake HTTP: the operator's work queue and the moves along the transitions
(``IntakeApi`` mixes it in; it uses the service's ``store``, ``operators``,
``citizen_checks`` and ``citizen_screening()``).

  GET  /api/v1/operator/applications          operator: the queue, filtered, oldest first;
                                              or a lookup by tracking code or NIK, newest first
  GET  /api/v1/operator/applications/<id>     operator: one application (by id or tracking
                                              code), documents, timeline
  GET  /api/v1/operator/reasons               operator: the rejection reason catalogue
  POST /api/v1/applications/<id>/verify       operator: submitted -> verified
  POST /api/v1/applications/<id>/reject       operator: submitted -> rejected (reason codes)
  POST /api/v1/applications/resubmit          citizen (tracking code + NIK): rejected -> submitted
  POST /api/v1/applications/cancel            citizen (tracking code + NIK): -> cancelled
"""

from __future__ import annotations

import logging

from shared.clock import today_wib
from shared.http import (STAFF, api, json_response, read_json, read_no_body, read_no_query,
                         read_query, request_language)
from shared.masking import mask_identity
from shared.paging import next_page

from . import domain, residence_rules
from .queue_schemas import LOOKUPS, QueueQuerySchema, ReasonsQuerySchema, ResubmitSchema
from .exceptions import ActiveApplicationExists, MembersNotNamedYet, MovingMembersNotOnKk
from .population import RegisterUnavailable
from .reasons import catalogue
from .request_fields import corrected_request
from .schemas import RejectSchema, StatusLookupSchema
from .views import operator_view, queue_row

log = logging.getLogger(__name__)
# the queue's filters, which narrow a lookup too
FILTERS = ("document_type", "channel", "kecamatan", "kelurahan", "flag")


def moved(application: dict) -> dict:
    return {"application_id": application["_id"], "tracking_code": application["tracking_code"],
            "status": application["status"]}


class OperatorQueueApi:
    # the operators' endpoints have an admission budget of their own (STAFF):
    # a flood of citizens' submits, shed with 503, leaves them working
    @api("GET", "/api/v1/operator/applications", budget=STAFF)
    def list_queue(self, request):
        """?status=submitted&document_type=ktp_el&kecamatan=367304&flag=late_registration
        &limit=20&cursor=... -> 200 {"applications": [...], "next_cursor": "..." | null};
        ?tracking_code=SDK7KQ2M9XA or ?nik=3673045207900001: a lookup, any status
        (unless ``status`` is given), newest first"""
        self.operators.authenticate(request)
        query = read_query(request, QueueQuerySchema())
        filters = {name: query[name] for name in FILTERS if name in query}
        if keys := {name: query[name] for name in LOOKUPS if name in query}:
            rows = self.store.lookup(keys, query["status"], filters, query["limit"] + 1,
                                     query["cursor"])
            page, cursor = next_page(rows, query["limit"], "created_at")
        else:
            rows = self.store.queue(query["status"], filters, query["limit"] + 1,
                                    query["cursor"])
            page, cursor = next_page(rows, query["limit"], "queued_at")
        lang = request_language(request)
        return json_response(200, {"applications": [queue_row(row, lang) for row in page],
                                   "next_cursor": cursor})

    @api("GET", "/api/v1/operator/applications/<string:application_id>", budget=STAFF)
    def application_detail(self, request, application_id):
        """``application_id``: the id, or the tracking code (in either case)
        the citizen gives at the front desk"""
        self.operators.authenticate(request)
        read_no_query(request)
        return json_response(200, operator_view(self.store.get_by_id_or_code(application_id),
                                                request_language(request)))

    @api("GET", "/api/v1/operator/reasons", budget=STAFF)
    def reason_catalogue(self, request):
        """?document_type=kia -> 200 {"reasons": [{"code", "concerns", "text", "document_types"}]}"""
        self.operators.authenticate(request)
        query = read_query(request, ReasonsQuerySchema())
        return json_response(200, {"reasons": catalogue(request_language(request),
                                                        query.get("document_type"))})

    @api("POST", "/api/v1/applications/<string:application_id>/verify", budget=STAFF)
    def verify_application(self, request, application_id):
        """No body (``{}`` at most): a note is the rejection's, for the citizen."""
        operator = self.operators.authenticate(request)
        read_no_body(request)
        return json_response(200, moved(self.store.verify(application_id, operator,
                                                          self.names_the_register_gives)))

    def names_the_register_gives(self, application: dict) -> dict:
        """What an application accepted while the population register did not
        answer still lacks to be printed, asked again at its verification:
        an SKPWNI pindah keluar's moving members, by name (outside audit R:
        "Anggota yang Pindah : 2 orang" named nobody); ``{}`` when none are
        needed, or the register does not know the KK (as at a submission).
        The register still silent: 503 (``MembersNotNamedYet``), verify
        again later; a member it does not have on the KK: 409 - a
        submission is refused for it (outside audit R2: verified, the move
        was issued). Asked with the application the verification reads: no
        read of its own."""
        if not residence_rules.names_members_later(application):
            return {}
        try:
            family = self.register.family(application["applicant"]["kk_number"])
        except RegisterUnavailable:
            raise MembersNotNamedYet() from None
        members = application["details"]["members"]
        if family is not None and (missing := [
                f"details.members.{index}" for index, nik in enumerate(members)
                if family.member(nik) is None]):
            raise MovingMembersNotOnKk(missing)
        return residence_rules.members_named(family, members)

    @api("POST", "/api/v1/applications/<string:application_id>/reject", budget=STAFF)
    def reject_application(self, request, application_id):
        """{"reasons": ["kk_unreadable", "name_mismatch"], "note": "Foto KK terpotong"}"""
        operator = self.operators.authenticate(request)
        body = read_json(request, RejectSchema())
        application = self.store.reject(application_id, operator, body["reasons"], body["note"])
        return json_response(200, moved(application))

    @api("POST", "/api/v1/applications/resubmit")
    def resubmit_application(self, request):
        """{"tracking_code": "SDK7KQ2M9XA", "nik": "3673045207900001",
            "applicant": {"full_name": "Siti Aminah"}} -> 200 timeline"""
        body = read_json(request, ResubmitSchema())
        with self.citizen_checks.attempt(request, body["tracking_code"]):
            application = self.store.find_for_citizen(body["tracking_code"], body["nik"])
        domain.next_status(application, "resubmit")  # 409 before asking the register
        corrected = corrected_request(application, body)
        # the same checks as a new application (``submit_application``), its limits too
        screening = self.citizen_screening(request, corrected)
        checked = screening.check(corrected, today_wib())
        # another application in progress for a subject the correction names
        # (a deceased's, a child's NIK) tells what intake holds: counted, as
        # a submission's 409 is
        with screening.telling(ActiveApplicationExists):
            application = self.store.resubmit(application, lambda current: domain.resubmit(
                current, corrected, checked.details, checked.stored()))
        log.info("application %s resubmitted for NIK %s", application["tracking_code"],
                 mask_identity(body["nik"]))
        return json_response(200, domain.public_view(application, request_language(request)))

    @api("POST", "/api/v1/applications/cancel")
    def cancel_application(self, request):
        """{"tracking_code": "SDK7KQ2M9XA", "nik": "3673045207900001"} -> 200 timeline"""
        body = read_json(request, StatusLookupSchema())
        with self.citizen_checks.attempt(request, body["tracking_code"]):
            application = self.store.cancel(body["tracking_code"], body["nik"])
        return json_response(200, domain.public_view(application, request_language(request)))
