"""Station endpoints of printing (station tokens, ``STATION_TOKENS``;
docs/station-api.md):

  POST /api/v1/station/jobs/claim                  -> 200 job + lease, or 204
  POST /api/v1/station/jobs/<id>/printed           -> 200 pickup slot
  POST /api/v1/station/jobs/printed                -> 200 one result per job reported
  POST /api/v1/station/jobs/<id>/failed            -> 200, job requeued or held

A mixin of ``PrintingApi`` (its store, settings and token checkers).
"""

from __future__ import annotations

from shared.http import api, idempotency_key, json_response, read_json, request_language

from .schemas import (ClaimSchema, FailedSchema, PrintedBatchSchema, PrintedSchema, SlotSchema,
                      StationJobSchema)


def printed_view(job: dict) -> dict:
    """What a station is answered for a job it reported printed."""
    return {"print_job_id": job["_id"], "status": job["status"],
            "slot": SlotSchema().dump(job["slot"]) if job.get("slot") else None}


class StationApi:
    @api("POST", "/api/v1/station/jobs/claim")
    def claim_job(self, request):
        """No body: one job, or 204. {"max": 10} or {"manifest": true}:
        {"jobs": [...]}, or 204. ``Idempotency-Key``: a claim sent again
        with it is answered the jobs still leased under it (``PrintStore.claim``)."""
        station = self.settings.stations.station(self.stations.authenticate(request))
        batch = bool(request.get_data(cache=True))
        body = read_json(request, ClaimSchema()) if batch else ClaimSchema().load({})
        jobs = self.store.claim(station, self.settings.stations, body["max"], body["manifest"],
                                claim_key=idempotency_key(request))
        if not jobs:
            return 204, ""  # sent bodyless (shared.http.Bodyless)
        if not batch:
            return json_response(200, StationJobSchema().dump(jobs[0]))
        return json_response(200, {"jobs": StationJobSchema(many=True).dump(jobs)})

    @api("POST", "/api/v1/station/jobs/<string:job_id>/printed")
    def report_printed(self, request, job_id):
        """{"lease_token": "..."} -> {"print_job_id": "...", "slot": {...}}"""
        station = self.stations.authenticate(request)
        body = read_json(request, PrintedSchema())
        job = self.store.mark_printed(job_id, station, body["lease_token"],
                                      self.settings.pickup, self.settings.stations)
        return json_response(200, printed_view(job))

    @api("POST", "/api/v1/station/jobs/printed")
    def report_printed_batch(self, request):
        """{"jobs": [{"print_job_id", "lease_token"}, ...]} -> {"results": [...]}, one
        per job in order: {"print_job_id", "status", "slot"} when recorded, or
        {"print_job_id", "error": {"code", "message"}} when refused (lease lost,
        unknown job); the others are recorded all the same."""
        station = self.stations.authenticate(request)
        reports = read_json(request, PrintedBatchSchema())["jobs"]
        # with the other reports of the moment, one transaction at a time
        # (``PrintStore.mark_printed_batch``)
        outcomes = self.store.mark_printed_batch(reports, station, self.settings.pickup,
                                                 self.settings.stations)
        lang = request_language(request)
        return json_response(200, {"results": [
            printed_view(outcome) if isinstance(outcome, dict)
            else {"print_job_id": report["print_job_id"], **outcome.to_body(lang)}
            for report, outcome in zip(reports, outcomes)]})

    @api("POST", "/api/v1/station/jobs/<string:job_id>/failed")
    def report_failed(self, request, job_id):
        """{"lease_token": "...", "reason": "misprint", "note": "pita macet"}
        -> {"print_job_id", "status": "queued" | "held"}"""
        station = self.stations.authenticate(request)
        body = read_json(request, FailedSchema())
        job = self.store.mark_failed(job_id, station, body["lease_token"], body["reason"],
                                     body["note"], self.settings.stations)
        return json_response(200, {"print_job_id": job["_id"], "status": job["status"]})
