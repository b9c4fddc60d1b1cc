"""Pickup endpoints of printing:

Citizens (tracking code + NIK; failed checks limited as at intake's lookup):
  POST /api/v1/pickup/windows                      -> 200 free windows to move to
  POST /api/v1/pickup/reschedule                   -> 200 the new window
The counter (operator tokens) and kelurahan / kecamatan officers (scoped tokens):
  POST /api/v1/counter/collections                 -> 200 collected
  POST /api/v1/kelurahan/handovers                 -> 200 collected (jemput-bola)
  POST /api/v1/kecamatan/handovers                 -> 200 collected (next-day request)

A mixin of ``PrintingApi`` (its store, settings and token checkers).
"""

from __future__ import annotations

from shared.clock import today_wib
from shared.fields import CitizenLookupSchema
from shared.http import api, json_response, read_json

from .schemas import RescheduleSchema, SlotSchema


class PickupApi:
    @api("POST", "/api/v1/pickup/windows")
    def open_windows(self, request):
        """{"tracking_code": "SDK7KQ2M9XA", "nik": "3673..."} -> {"windows": [{slot}, ...]}"""
        body = read_json(request, CitizenLookupSchema())
        with self.citizen_checks.attempt(request, body["tracking_code"]):
            windows = self.store.open_windows(body["tracking_code"], body["nik"],
                                              self.settings.pickup, today_wib())
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

    @api("POST", "/api/v1/kelurahan/handovers")
    def record_handover(self, request):
        """{"tracking_code", "nik"}: the kelurahan officer handed a jemput-bola
        document to its citizen -> {"tracking_code", "status": "collected"}"""
        return self._handed_over(request, self.kelurahan_officers, "kelurahan")

    @api("POST", "/api/v1/kecamatan/handovers")
    def record_kecamatan_handover(self, request):
        """{"tracking_code", "nik"}: the kecamatan officer handed a next-day
        KTP-el to its citizen -> {"tracking_code", "status": "collected"}"""
        return self._handed_over(request, self.kecamatan_officers, "kecamatan")

    def _handed_over(self, request, officers, how: str):
        officer = officers.authenticate(request)
        body = read_json(request, CitizenLookupSchema())
        job = self.store.hand_over(body["tracking_code"], body["nik"], officer, how, today_wib())
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
