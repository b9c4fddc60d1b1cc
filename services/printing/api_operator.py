"""Printing's operator endpoints (operator tokens, ``OPERATOR_TOKENS``):

  GET  /api/v1/operator/print-jobs/held            -> 200 jobs waiting for an operator, paged
  GET  /api/v1/operator/print-jobs?application_id= | tracking_code=
                                                   -> 200 an application's print job, its history
  GET  /api/v1/operator/print-jobs/<id>            -> 200 one, with its action history
  POST /api/v1/operator/print-jobs/<id>/release    -> 200 back in the queue
  POST /api/v1/operator/print-jobs/<id>/cancel     -> 200 given up
  POST /api/v1/operator/print-jobs/<id>/reprint    -> 200 a printed document queued again
  GET  /api/v1/operator/stations/blanko            -> 200 blanko stock and deliveries per station
  POST /api/v1/operator/stations/<id>/blanko       -> 200 a delivery recorded (Idempotency-Key)
  POST /api/v1/operator/prr-imports                -> 200 what the PRR file gave (text/csv)
  GET  /api/v1/operator/prr-imports                -> 200 the imports, newest first, paged
  GET  /api/v1/operator/prr-imports/<id>           -> 200 what it gave, the rows intake refused
  GET  /api/v1/operator/prr-backlog/aging          -> 200 backlog by kecamatan and age

A mixin of ``PrintingApi`` (its store, settings and token checkers).
"""

from __future__ import annotations

import logging
import uuid

from eventlet import tpool

from shared.clock import today_wib
from shared.errors import ValidationFailed
from shared.http import (api, check_charset, idempotency_key, json_response, read_json,
                         read_optional_json, request_language, text_problem,
                         unsupported_media_type)
from shared.http import read_no_query, read_query
from shared.paging import next_page

from . import prr
from .exceptions import PrrImportNotFound
from .schemas import (BlankoDeliverySchema, BlankoSchema, BlankoStationSchema, HeldJobSchema,
                      HeldQuerySchema, JobLookupSchema, OperatorActionSchema, OperatorJobSchema,
                      ReprintSchema, queue_cursor)

log = logging.getLogger(__name__)

PRR_MAX_BODY_BYTES = 8 * 1024 * 1024  # about 60,000 rows


class PrintOperatorApi:
    @api("GET", "/api/v1/operator/print-jobs/held")
    def held_jobs(self, request):
        """?limit=100&cursor=...&station_id=...&last_failure=... ->
        {"jobs": [{"print_job_id", "tracking_code", "last_failure", ...}],
        "next_cursor": "..." | null}, in queue order"""
        self.operators.authenticate(request)
        query = read_query(request, HeldQuerySchema())
        jobs = self.store.held_jobs(self.settings.stations, query["limit"] + 1, query["cursor"],
                                    query["station_id"], query["last_failure"])
        page = jobs[:query["limit"]]
        cursor = queue_cursor(page[-1]) if len(jobs) > query["limit"] else None
        return json_response(200, {"jobs": HeldJobSchema(many=True).dump(page),
                                   "next_cursor": cursor})

    @api("GET", "/api/v1/operator/print-jobs")
    def print_jobs_of(self, request):
        """?application_id=... or ?tracking_code=SDK7KQ2M9XA -> {"jobs":
        [{"print_job_id", "status", "print_kind", "delivery_method",
        "printed_at", "last_failure", "failure_note", "slot", "manifest_id",
        "actions": [{"action", "by", "at", "reason", "note", "station_id",
        "operator_reason"}],
        ...}]}: the application's print job ([] before it is verified)"""
        self.operators.authenticate(request)
        query = read_query(request, JobLookupSchema())
        jobs = self.store.print_jobs_of(query["application_id"], query["tracking_code"])
        return json_response(200, {"jobs": OperatorJobSchema(many=True).dump(jobs)})

    @api("GET", "/api/v1/operator/print-jobs/<string:job_id>")
    def print_job(self, request, job_id):
        """-> {"print_job_id", "status", ..., "actions": [...]} (as in the
        list above); 404 for an unknown job"""
        self.operators.authenticate(request)
        read_no_query(request)
        return json_response(200, OperatorJobSchema().dump(self.store.print_job(job_id)))

    @api("POST", "/api/v1/operator/print-jobs/<string:job_id>/release")
    def release_held(self, request, job_id):
        """{"reason": "foto sudah dicek"} (optional; no body, or ``{}``) -> a
        held job back to the queue, with fresh attempts -> {"status": "queued"}
        (``print_job_released``: the citizen's status is queued again); the
        same for one released already (a retry: its status now, changing
        nothing, its reason not kept)."""
        operator = self.operators.authenticate(request)
        reason = read_optional_json(request, OperatorActionSchema())["reason"]
        job = self.store.release_held(job_id, operator, self.settings.stations, reason)
        return json_response(200, {"print_job_id": job["_id"], "status": job["status"]})

    @api("POST", "/api/v1/operator/print-jobs/<string:job_id>/cancel")
    def cancel_held(self, request, job_id):
        """{"reason": "data KK salah"} (optional; no body, or ``{}``) -> a held
        job given up -> {"status": "cancelled"}; the same for one cancelled
        already (a retry), changing nothing."""
        operator = self.operators.authenticate(request)
        reason = read_optional_json(request, OperatorActionSchema())["reason"]
        job = self.store.cancel_held(job_id, operator, self.settings.stations,
                                     self.settings.pickup, reason)
        return json_response(200, {"print_job_id": job["_id"], "status": job["status"]})

    @api("POST", "/api/v1/operator/print-jobs/<string:job_id>/reprint")
    def reprint_printed(self, request, job_id):
        """{"reason": "rusak saat laminasi"} (required: a reprint spends a
        blanko) -> a printed document still at the Dinas (at a counter, on an
        office's hand-over list, or a citizen's own parcel Pos has not taken
        yet), missing or spoiled, back to the queue ->
        {"status": "queued"} (``print_job_requeued``; a retry of a reprint
        not printed yet: its status now, changing nothing); 409 ``not_printed``,
        ``handed_over``, ``with_pos``, ``holder_deceased``."""
        operator = self.operators.authenticate(request)
        reason = read_optional_json(request, ReprintSchema())["reason"]
        job = self.store.reprint(job_id, operator, self.settings.stations, reason)
        return json_response(200, {"print_job_id": job["_id"], "status": job["status"]})

    @api("GET", "/api/v1/operator/stations/blanko")
    def blanko_stocks(self, request):
        """-> {"stations": [{"station_id", "stock", "warned", "stock_discrepancy",
        "recent_deliveries": [{"delivery_id", "delivered", "recorded_by",
        "recorded_at", "stock_after"}]}]} (tracked stations only)"""
        self.operators.authenticate(request)
        read_no_query(request)
        return json_response(200, {"stations": BlankoStationSchema(many=True).dump(
            self.store.blanko_stocks())})

    @api("POST", "/api/v1/operator/stations/<string:station_id>/blanko")
    def record_blanko_delivery(self, request, station_id):
        """{"delivered": 500} -> {"station_id", "stock", "warned"}; 404 for a
        station neither in STATIONS nor tracked. ``Idempotency-Key``: a retry
        gets the first answer, counted once (409 ``idempotency_key_reused``
        for another delivery's key)."""
        operator = self.operators.authenticate(request)
        key = idempotency_key(request)
        body = read_json(request, BlankoDeliverySchema())
        stock = self.store.record_blanko_delivery(station_id, body["delivered"],
                                                  self.settings.stations, operator, key)
        return json_response(200, BlankoSchema().dump(stock))

    @api("POST", "/api/v1/operator/prr-imports", max_body_bytes=PRR_MAX_BODY_BYTES,
         max_body_setting="PRR_MAX_BODY_BYTES")
    def import_prr(self, request):
        """text/csv (docs/prr-import.md) -> {"import_id", "rows", "imported",
        "phone_added", "already_known", "waiting_for_phone", "repeated_in_file": [...],
        "bad_rows": [{"row", "field", "message"}] (the first prr.LISTED_ROWS bad rows'),
        "bad_row_count", "repeated_count"}; 415 for another Content-Type. Stored
        with the import (``prr_import_refusals``)."""
        operator = self.operators.authenticate(request)
        if request.mimetype != "text/csv":
            raise unsupported_media_type(request.mimetype, "text/csv")
        # read as UTF-8, as the jemput-bola CSV (one declared in another was
        # read so and garbled, or refused as no PRR file)
        check_charset(request.mimetype, request.mimetype_params, ("utf-8", "us-ascii"))
        try:
            text = prr.read_text(request.get_data(cache=True))
            # off the hub: 15,000 rows held every request of the process 2 s
            parsed = tpool.execute(prr.parse, text, today_wib(), request_language(request),
                                   text_problem=text_problem)
        except prr.NotAPrrFile as exc:
            raise ValidationFailed({"_body": [exc.message]}) from None
        import_id = uuid.uuid4().hex
        found = {"rows": parsed.rows, "repeated_in_file": parsed.repeated,
                 "repeated_count": parsed.repeated_count, "bad_rows": parsed.bad_rows,
                 "bad_row_count": parsed.bad_row_count}
        counts = self.store.import_prr(parsed.records, import_id, operator, found)
        log.info("PRR import %s by %s: %s rows, %s, %s bad", import_id, operator, parsed.rows,
                 counts, parsed.bad_row_count)
        return json_response(200, {"import_id": import_id, **found, **counts})

    @api("GET", "/api/v1/operator/prr-imports")
    def prr_imports(self, request):
        """?limit=20&cursor=... -> {"imports": [{"import_id", "imported_at",
        "finished_at" (null: cut short, or still running), "operator", "rows",
        "imported", ..., "bad_row_count", "repeated_count"}], "next_cursor"}:
        newest first - an upload whose answer never came is found here"""
        self.operators.authenticate(request)
        query = read_query(request, prr.ImportsQuerySchema())
        rows = self.store.list_imports(query["limit"] + 1, query["cursor"])
        page, cursor = next_page(rows, query["limit"], "imported_at")
        return json_response(200, {"imports": [prr.import_view(row) for row in page],
                                   "next_cursor": cursor})

    @api("GET", "/api/v1/operator/prr-imports/<string:import_id>")
    def prr_import_refusals(self, request, import_id):
        """-> {"import_id", "imported_at", "finished_at", "operator", "rows",
        "imported", ..., "bad_rows", "bad_row_count", "repeated_in_file",
        "repeated_count", "refused": [{"import_id", "row", "nik" (masked),
        "reason", "message", "refused_at"}]}: what the upload answered (or
        would have: ``finished_at`` null when cut short) and the records
        intake refused so far (it checks each announced record within
        moments) that the import announced or found known; 404 for an
        unknown import"""
        self.operators.authenticate(request)
        read_no_query(request)
        if (stored := self.store.prr_import(import_id)) is None:
            raise PrrImportNotFound()
        lang = request_language(request)
        return json_response(200, {**prr.import_view(stored, full=True), "refused": [
            prr.refused_view(record, lang) for record in self.store.refused_records(import_id)]})

    @api("GET", "/api/v1/operator/prr-backlog/aging")
    def prr_aging(self, request):
        """-> {"as_of": "2026-11-30", "bands": [...], "kecamatan": [{"kecamatan_code",
        "bands": {"0-30": n, ...}, "total"}]}"""
        self.operators.authenticate(request)
        read_no_query(request)
        today = today_wib()
        return json_response(200, {"as_of": today.isoformat(),
                                   "bands": [name for name, _ in prr.AGE_BANDS],
                                   "kecamatan": prr.aging(self.store.prr_backlog(), today)})
