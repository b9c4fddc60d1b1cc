"""HTTP: KTP-el recording (perekaman) appointments, for citizens (no token).

  POST /api/v1/recording-appointments                 book -> 201
  GET  /api/v1/recording-appointments/availability    free places per working day

A mixin of ``IntakeApi`` (which supplies ``store``, ``calendar`` and
``screening()``); the rules are in ``appointments``.
"""

from __future__ import annotations

import logging

from marshmallow import RAISE, Schema, fields, validate
from nameko.extensions import DependencyProvider

from shared.clock import today_wib
from shared.http import api, idempotency_key, json_response, read_json, read_query
from shared.masking import mask_identity
from shared.offices import PLACES, WorkingCalendar, place

from . import appointments
from .schemas import ApplicantSchema

log = logging.getLogger(__name__)


class RecordingCalendar(DependencyProvider):
    """The working-day calendar, with the Dinas' own closing days (``CLOSED_DAYS``:
    ISO dates, e.g. cuti bersama) from config."""

    def setup(self):
        self.calendar = WorkingCalendar.from_config(self.container.config.get("CLOSED_DAYS"))

    def get_dependency(self, worker_ctx):
        return self.calendar


PLACE_ID = fields.String(required=True, validate=validate.OneOf(sorted(PLACES)))


class BookingSchema(ApplicantSchema):
    """Who books, as an application names its applicant; then where and when."""

    class Meta:
        unknown = RAISE
        # marital_status: a married citizen under 17 may record (as for a first KTP-el)
        exclude = ("preferred_channel",)

    place_id = PLACE_ID
    day = fields.Date(required=True)


class AvailabilitySchema(Schema):
    class Meta:
        unknown = RAISE

    place_id = PLACE_ID


class RecordingAppointmentApi:
    @api("POST", "/api/v1/recording-appointments")
    def book_recording(self, request):
        """{"nik": "3673045207080001", "kk_number": "3673041201100003",
            "full_name": "Siti Aminah", "phone": "081234567890",
            "place_id": "kec-curug", "day": "2025-03-12"}
        -> 201 {"appointment_id": "...", "booking_code": "REK7KQ2M9XA", "status": "booked",
                "day": "2025-03-12", "place": {"place_id": "kec-curug", "name": ..., ...}}
        400 nik: under 17 and not married, or deceased | day | phone
        409 already_recorded (nik) | appointment_exists (nik) | day_full (day, next_free_day)
        """
        key = idempotency_key(request)
        body = read_json(request, BookingSchema())
        today = today_wib()
        appointments.check_booking(body, today, self.calendar)
        lookup = self.screening().lookup()  # intake's verified deaths, then the register
        appointments.refuse_if_not_recordable(body, today, lookup)
        appointments.refuse_if_recorded(body["nik"], self.store.is_recorded, lookup)
        where = place(body["place_id"])
        booking = self.store.book_recording(appointments.new_booking(body, where, key), where,
                                            self.calendar, today)
        log.info("recording appointment %s at %s on %s for NIK %s", booking["booking_code"],
                 where.place_id, booking["day"], mask_identity(booking["nik"]))
        return json_response(201, appointments.booking_view(booking, where))

    @api("GET", "/api/v1/recording-appointments/availability")
    def recording_availability(self, request):
        """?place_id=kec-curug -> 200 {"place": {...}, "days": [{"day": "2025-03-12", "free": 37}, ...]}"""
        query = read_query(request, AvailabilitySchema())
        where = place(query["place_id"])
        today = today_wib()
        days = appointments.days_ahead(today, self.calendar, appointments.AVAILABILITY_DAYS, today)
        booked = self.store.booked_counts(where.place_id, days)
        return json_response(200, {
            "place": appointments.place_view(where),
            "days": [{"day": day.isoformat(),
                      "free": max(0, where.recording_capacity - booked.get(day.isoformat(), 0))}
                     for day in days]})
