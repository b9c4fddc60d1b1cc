"""HTTP: KTP-el recording (perekaman) appointments, for citizens (no token).

  POST /api/v1/recording-appointments                 book (or move) -> 201
  POST /api/v1/recording-appointments/cancel          booking code + NIK -> 200
  GET  /api/v1/recording-appointments/availability    free places per working day
  GET  /api/v1/operator/recording-appointments        operator: a place's bookings of a day
  POST /api/v1/operator/recording-appointments/close-day
                                                      operator: a place's day closed, its
                                                      bookings cancelled, their contacts told

A booking is made only on the population register's word that the NIK is on
the KK given (the KK is what a stranger holding a NIK lacks), asked within
the limits on refusals of ``refusals`` (the same counts as submissions');
a client makes at most ``RECORDING_BOOKINGS_PER_CLIENT`` bookings within
``RECORDING_BOOKING_WINDOW_SECONDS`` (``booking_limits``), so nobody empties
the calendar. A mixin of ``IntakeApi`` (which supplies ``store``,
``calendar``, ``register``, ``register_refusals``, ``citizen_checks`` and
``operators``); the rules are in ``appointments``.
"""

from __future__ import annotations

import logging

from marshmallow import RAISE, Schema, fields, validate
from nameko.extensions import DependencyProvider

from shared.clock import today_wib
from shared.errors import Msg, TooManyAttempts
from shared.events import LANGUAGES
from shared.fields import IsoDate, JsonBoolean, Nik
from shared.http import (STAFF, api, idempotency_key, json_response, read_json, read_query,
                         request_language)
from shared.masking import mask_identity
from shared.offices import PLACES, WorkingCalendar, place
from shared.paging import Cursor, PageLimit, next_page
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
                             validate=validate.OneOf(LANGUAGES), metadata={
                                 "description": "Language of the SMS, e-mail and WhatsApp "
                                                "messages about the booking. Left out or "
                                                "null: the request's language "
                                                "(`Accept-Language`: `en` when it weighs "
                                                "English above Bahasa, else `id`)."})
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


class PlaceDayQuerySchema(Schema):
    """``GET /api/v1/operator/recording-appointments`` query parameters."""

    class Meta:
        unknown = RAISE

    place_id = PLACE_ID
    day = IsoDate(required=True)
    status = fields.String(validate=validate.OneOf(("booked", *appointments.ENDINGS)),
                           metadata={"description": "Only bookings of this status; left "
                                                    "out: every one."})
    limit = PageLimit(50, 100)
    cursor = Cursor()


class CloseDaySchema(Schema):
    """A place's day an operator closes, and why."""

    class Meta:
        unknown = RAISE

    place_id = PLACE_ID
    day = IsoDate(required=True, metadata={"description": "Today or a later day."})
    reason = fields.String(required=True, validate=validate.OneOf(appointments.OFFICE_REASONS),
                           metadata={"description": "`office_closed`: the office is closed "
                                                    "that day (a cuti bersama, a flood ...); "
                                                    "the citizens are told so."})


class RecordingAppointmentApi:
    # bookings made per client: a family books for its members, nobody books
    # a calendar full; only bookings stored count (``counting``: one refused -
    # day_full, appointment_exists, a 503 - gives its count back, or a kiosk
    # or a family behind one NAT was refused 429 after ten failed tries)
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
        200 the same for a move ("replace": true) to the upcoming booking's own place
            and day (a double tap): that booking, nothing moved
        400 nik: under 17 on the day and not married, or deceased | kk_number: NIK not on it
            | day | phone
        409 already_recorded (nik) | appointment_exists (nik; "replace": true moves it)
            | day_full, day_closed (day, next_free_day)
            | idempotency_key_reused (another request's key)
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
        try:
            with self.booking_limits.counting(request), \
                    screening.telling(appointments.AppointmentExists):
                booking = self.store.book_recording(appointments.new_booking(body, where, key),
                                                    where, self.calendar, today, body["replace"])
        except appointments.SameBooking as repeat:
            return json_response(200, appointments.booking_view(repeat.booking, where))
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
        booked = self.store.booked_counts(where, days)
        return json_response(200, {
            "place": where.view(),
            "days": [{"day": day.isoformat(),
                      "free": max(0, where.recording_capacity - booked.get(day.isoformat(), 0))}
                     for day in days]})

    @api("GET", "/api/v1/operator/recording-appointments", budget=STAFF)
    def place_day_bookings(self, request):
        """?place_id=kec-curug&day=2027-01-04&status=booked&limit=50&cursor=...
        -> 200 {"appointments": [{"appointment_id", "booking_code": "REK7KQ2M9XA",
                "status": "booked", "end_reason": null, "nik_masked": "3673********0006",
                "full_name": "Nur Fitriani", ...}], "next_cursor": "..." | null}
        in the order booked"""
        self.operators.authenticate(request)
        query = read_query(request, PlaceDayQuerySchema())
        rows = self.store.place_bookings(query["place_id"], query["day"].isoformat(),
                                         query.get("status"), query["limit"] + 1,
                                         query["cursor"])
        page, cursor = next_page(rows, query["limit"], "created_at")
        return json_response(200, {"appointments": [appointments.operator_row(row)
                                                    for row in page],
                                   "next_cursor": cursor})

    @api("POST", "/api/v1/operator/recording-appointments/close-day", budget=STAFF)
    def close_recording_day(self, request):
        """{"place_id": "kec-curug", "day": "2027-01-04", "reason": "office_closed"}
        -> 200 {"place_id": ..., "day": ..., "reason": ..., "closed": true,
                "cancelled_now": 12, "cancelled": 12}
        The day takes no booking any more; each booking of it that stands ends
        cancelled and its contact is told (recording_appointment_cancelled).
        Sent again: nothing more is cancelled or told (cancelled_now 0).
        400 day gone by | place_id | reason"""
        operator = self.operators.authenticate(request)
        body = read_json(request, CloseDaySchema())
        appointments.refuse_day_gone_by(body["day"], today_wib())
        where, day = place(body["place_id"]), body["day"].isoformat()
        counts = self.store.close_day(where, day, body["reason"], operator)
        log.info("recording day %s at %s closed (%s) by %s: %d bookings cancelled now",
                 day, where.place_id, body["reason"], operator, counts["cancelled_now"])
        return json_response(200, {"place_id": where.place_id, "day": day,
                                   "reason": body["reason"], "closed": True, **counts})
