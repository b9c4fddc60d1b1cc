"""HTTP: KTP-el recording (perekaman) appointments, for citizens (no token).

  POST /api/v1/recording-appointments                 book (or move) -> 201
  POST /api/v1/recording-appointments/cancel          booking code + NIK -> 200
  GET  /api/v1/recording-appointments/availability    free places per working day

A booking is made only on the population register's word that the NIK is on
the KK given (the KK is what a stranger holding a NIK lacks), asked within
the limits on refusals of ``refusals`` (the same counts as submissions');
a client makes at most ``RECORDING_BOOKINGS_PER_CLIENT`` bookings within
``RECORDING_BOOKING_WINDOW_SECONDS`` (``booking_limits``), so nobody empties
the calendar. A mixin of ``IntakeApi`` (which supplies ``store``,
``calendar``, ``register``, ``register_refusals`` and ``citizen_checks``);
the rules are in ``appointments``.
"""

from __future__ import annotations

import logging

from marshmallow import RAISE, Schema, fields, validate
from nameko.extensions import DependencyProvider

from shared.clock import today_wib
from shared.errors import Msg, TooManyAttempts
from shared.events import LANGUAGES
from shared.fields import IsoDate, JsonBoolean, Nik
from shared.http import (api, idempotency_key, json_response, read_json, read_query,
                         request_language)
from shared.masking import mask_identity
from shared.offices import PLACES, WorkingCalendar, place
from shared.ratelimit import ClientQuota

from . import appointments
from .schemas import ApplicantSchema
from .screening import Screening

log = logging.getLogger(__name__)


class RecordingCalendar(DependencyProvider):
    """The working-day calendar, with the Dinas' own closing days (``CLOSED_DAYS``:
    ISO dates, e.g. cuti bersama) from config."""

    def setup(self):
        self.calendar = WorkingCalendar.from_config(self.container.config.get("CLOSED_DAYS"))

    def get_dependency(self, worker_ctx):
        return self.calendar


class TooManyBookings(TooManyAttempts):
    """429 as for failed attempts, worded for bookings made."""

    too_many = Msg("Terlalu banyak jadwal perekaman dibuat dari sambungan ini.",
                   "Too many recording appointments booked from this connection.")


PLACE_ID = fields.String(required=True, validate=validate.OneOf(sorted(PLACES)))


class BookingSchema(ApplicantSchema):
    """Who books, as an application names its applicant; then where and when."""

    class Meta:
        unknown = RAISE
        # marital_status: a married citizen under 17 may record (as for a first KTP-el)
        exclude = ("preferred_channel",)

    # left out or null: the request's language, as an application's (outside
    # audit H: an English front-end's booking was told in Bahasa)
    language = fields.String(load_default=None, allow_none=True,
                             validate=validate.OneOf(LANGUAGES))
    place_id = PLACE_ID
    day = IsoDate(required=True)
    # the NIK's upcoming booking, if any, ends ``replaced`` (else 409 appointment_exists)
    replace = JsonBoolean(load_default=False)


class CancelBookingSchema(Schema):
    """The booking code and the NIK, as a status lookup's tracking code and NIK."""

    class Meta:
        unknown = RAISE

    booking_code = fields.String(required=True, validate=validate.Length(min=6, max=20))
    nik = Nik(required=True)


class AvailabilitySchema(Schema):
    class Meta:
        unknown = RAISE

    place_id = PLACE_ID


class RecordingAppointmentApi:
    # bookings made per client: a family books for its members, nobody books
    # a calendar full; counted once the register confirmed it (``take``)
    booking_limits = ClientQuota("RECORDING_BOOKINGS_PER_CLIENT", 10,
                                 "RECORDING_BOOKING_WINDOW_SECONDS", 3600, TooManyBookings)

    def booking_screening(self, request, body: dict) -> Screening:
        """A booking's checks (``Screening.check_booking``), in the limits on
        refusals a citizen's submissions count in."""
        return Screening.of(self.register, self.store, self.register_refusals.of_booking(
            request, body))

    @api("POST", "/api/v1/recording-appointments")
    def book_recording(self, request):
        """{"nik": "3673056304090006", "kk_number": "3673051506190004",
            "full_name": "Nur Fitriani", "phone": "081234567890",
            "place_id": "kec-curug", "day": "<DAY>"}
        -> 201 {"appointment_id": "...", "booking_code": "REK7KQ2M9XA", "status": "booked",
                "day": "<DAY>", "place": {"place_id": "kec-curug", "name": ..., ...}}
        400 nik: under 17 on the day and not married, or deceased | kk_number: NIK not on it
            | day | phone
        409 already_recorded (nik) | appointment_exists (nik; "replace": true moves it)
            | day_full (day, next_free_day) | idempotency_key_reused (another request's key)
        429 this client's bookings or refusals, or the NIK's or KK's refusals | 503 no register
        """
        key = idempotency_key(request)
        body = read_json(request, BookingSchema())
        body["language"] = body["language"] or request_language(request)
        # a retry: as first answered; another request's key: 409
        if earlier := self.store.booking_by_key(key, body):
            return json_response(201, appointments.booking_view(earlier,
                                                                place(earlier["place_id"])))
        today = today_wib()
        appointments.check_booking(body, today, self.calendar)
        self.booking_limits.check(request)
        screening = self.booking_screening(request, body)
        screening.check_booking(body, self.store.is_recorded)
        where = place(body["place_id"])
        self.booking_limits.take(request)
        with screening.telling(appointments.AppointmentExists):
            booking = self.store.book_recording(appointments.new_booking(body, where, key),
                                                where, self.calendar, today, body["replace"])
        log.info("recording appointment %s at %s on %s for NIK %s", booking["booking_code"],
                 where.place_id, booking["day"], mask_identity(booking["nik"]))
        return json_response(201, appointments.booking_view(booking, where))

    @api("POST", "/api/v1/recording-appointments/cancel")
    def cancel_recording(self, request):
        """{"booking_code": "REK7KQ2M9XA", "nik": "3673056304090006"}
        -> 200 {"appointment_id": "...", "booking_code": ..., "status": "cancelled", ...}
        404 unknown code or wrong NIK (counted: 429 past the limit) | 409 appointment_ended"""
        body = read_json(request, CancelBookingSchema())
        with self.citizen_checks.attempt(request, body["booking_code"]):
            booking = self.store.cancel_recording(body["booking_code"], body["nik"], today_wib())
        log.info("recording appointment %s cancelled for NIK %s", booking["booking_code"],
                 mask_identity(booking["nik"]))
        return json_response(200, appointments.booking_view(booking, place(booking["place_id"])))

    @api("GET", "/api/v1/recording-appointments/availability")
    def recording_availability(self, request):
        """?place_id=kec-curug -> 200 {"place": {...}, "days": [{"day": "2025-03-12", "free": 37}, ...]}"""
        query = read_query(request, AvailabilitySchema())
        where = place(query["place_id"])
        today = today_wib()
        days = appointments.days_ahead(today, self.calendar, appointments.AVAILABILITY_DAYS, today)
        booked = self.store.booked_counts(where.place_id, days)
        return json_response(200, {
            "place": where.view(),
            "days": [{"day": day.isoformat(),
                      "free": max(0, where.recording_capacity - booked.get(day.isoformat(), 0))}
                     for day in days]})
