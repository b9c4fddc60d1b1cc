"""Intake's store, recording half: who is recorded, who has a card, recording
bookings and their per-day counters, PRR records (database ``intake``).

Collections: ``recorded_niks`` (``_id`` = NIK, from the PRR backlog),
``recording_appointments`` (the bookings), ``recording_days`` (``_id`` =
``<place_id>:<ISO day>``, ``booked``: the counter a booking increments
only while it is below the place's capacity and the day is not ``closed``
by an operator, in the booking's transaction, so concurrent bookings can
never overfill a day nor land on one closed; a booking that ends -
replaced or cancelled - gives its place back in its own transaction).
Decisions are in ``appointments``.
"""

from __future__ import annotations

import datetime

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from shared.clock import utcnow
from shared.offices import Place, WorkingCalendar, place
from shared.indexes import drop_index_if_present
from shared.paging import page_after
from shared.store import duplicate_fields, update_then_read

from . import appointments, domain
from .exceptions import ActiveApplicationExists, WrongStatus
from .nik_records import NikRecords
from .screening import Screening


class AppointmentStore(NikRecords):
    @classmethod
    def ensure_indexes(cls, db) -> None:
        # "is recorded" / "has a card" look up every application of a NIK, not
        # only the active ones the partial one-active index holds
        db.applications.create_index([("applicant.nik", ASCENDING), ("document_type", ASCENDING),
                                      ("status", ASCENDING)], name="nik_document_status")
        bookings = db.recording_appointments
        bookings.create_index([("nik", ASCENDING)], unique=True, name="one_upcoming_per_nik",
                              partialFilterExpression={"active": True})
        # sparse, not partial: read by the local server (shared/store.py)
        drop_index_if_present(bookings, "idempotency_key_1")
        bookings.create_index([("idempotency_key", ASCENDING)], unique=True, sparse=True,
                              name="one_per_idempotency_key")
        # a citizen cancels with the booking code (and the NIK)
        bookings.create_index([("booking_code", ASCENDING)], name="by_booking_code")
        # an operator's list of a place's day, in the order booked; closing the day
        bookings.create_index([("place_id", ASCENDING), ("day", ASCENDING),
                               ("created_at", ASCENDING), ("_id", ASCENDING)],
                              name="place_day")
        db.recording_days.create_index([("place_id", ASCENDING), ("day", ASCENDING)])
        super().ensure_indexes(db)

    def is_recorded(self, nik: str) -> bool:
        """Recorded as far as intake knows: a Print Ready Record, or a KTP-el
        print application that says so (``domain.shows_recording``: not one
        a stranger could have made by guessing at the NIK)."""
        if self.db.recorded_niks.find_one({"_id": nik}, {"_id": 1}) is not None:
            return True
        applications = self.db.applications.find(
            {"applicant.nik": nik, "document_type": "ktp_el",
             "status": {"$nin": sorted(domain.NOT_SHOWING_RECORDING)}}, {"status": 1, "flags": 1})
        return any(domain.shows_recording(application) for application in applications)

    def booked_counts(self, place: Place, days: list[datetime.date]) -> dict[str, int]:
        """ISO day -> bookings counted, for the days that have any; a day an
        operator closed counts as full."""
        rows = self.db.recording_days.find(
            {"place_id": place.place_id, "day": {"$in": [day.isoformat() for day in days]}})
        return {row["day"]: place.recording_capacity if row.get("closed") else row["booked"]
                for row in rows}

    def book_recording(self, booking: dict, place: Place, calendar: WorkingCalendar,
                       today: datetime.date, replace: bool = False) -> dict:
        """Count the booking against its day and store it with its event, in one
        transaction. A retry with the same Idempotency-Key gets the first booking
        (another request with it: ``IdempotencyKeyReused``).
        ``replace``: the NIK's upcoming booking, if any, ends ``replaced`` in
        the same transaction (``_end``) - or, for the same place and day,
        answers (``appointments.SameBooking``, nothing written); else one
        answers ``AppointmentExists``. A closed day: ``DayClosed``."""
        key = booking.get("idempotency_key")
        asked = (key, booking["nik"], booking["kk_number"], booking.get("request_digest"))
        if key and (earlier := self._earlier_booking(*asked)) is not None:
            return earlier

        def work(session):
            # the NIK's one active booking (the unique index), read as the
            # index holds it: with the day in the filter the local server
            # scanned every booking (shared/store.py)
            active = self.db.recording_appointments.find_one(
                {"nik": booking["nik"], "active": True}, session=session)
            if active and not appointments.holds_its_nik(active, today):
                # a booking whose day has passed no longer holds the NIK
                self.db.recording_appointments.update_one(
                    {"_id": active["_id"], "active": True}, {"$set": {"active": False}},
                    session=session)
            elif active and replace:
                if appointments.repeats(active, booking):
                    raise appointments.SameBooking(active)
                self._end(session, active["_id"], "replaced", replaced_by=booking["_id"])
            # full or closed: the filter misses, the upsert collides with the day's _id
            self.db.recording_days.update_one(
                {"_id": f"{place.place_id}:{booking['day']}",
                 "booked": {"$lt": place.recording_capacity}, "closed": {"$exists": False}},
                {"$inc": {"booked": 1},
                 "$setOnInsert": {"place_id": place.place_id, "day": booking["day"]}},
                upsert=True, session=session)
            self.db.recording_appointments.insert_one(booking, session=session)
            self.emit(session, "recording_appointment_booked",
                      **appointments.booked_event(booking, place))
            return booking

        try:
            return self.run_transaction(work)
        except DuplicateKeyError as exc:
            # a concurrent retry won, or this request's own earlier try landed
            # since (the store's ``submit``): whichever index refused it
            if key and (earlier := self._earlier_booking(*asked)) is not None:
                return earlier
            refused_by = duplicate_fields(exc)
            if refused_by == {"_id"}:
                refusal = appointments.DayClosed if self.db.recording_days.find_one(
                    {"_id": f"{place.place_id}:{booking['day']}", "closed": {"$exists": True}},
                    {"_id": 1}) else appointments.DayFull
                raise refusal(self._next_free_day(place, booking, calendar, today)) from None
            if refused_by == {"nik"}:
                raise appointments.AppointmentExists() from None
            raise

    def booking_by_key(self, key: str | None, request: dict) -> dict | None:
        """The booking a request with this Idempotency-Key made before (ask
        before the checks: a retry is answered as its first try was);
        ``IdempotencyKeyReused`` when the key was used for another request
        (``request``: ``BookingSchema`` loaded; ``appointments.earlier_answer``)."""
        if not key:
            return None
        return self._earlier_booking(key, request["nik"], request["kk_number"],
                                     appointments.booking_digest(request))

    def _earlier_booking(self, key: str, nik: str, kk_number: str,
                        digest: str | None) -> dict | None:
        earlier = self.db.recording_appointments.find_one({"idempotency_key": key})
        return None if earlier is None else appointments.earlier_answer(earlier, nik, kk_number,
                                                                        digest)

    def cancel_recording(self, booking_code: str, nik: str, today: datetime.date) -> dict:
        """The citizen's booking of this code and NIK ends ``cancelled`` and gives
        its place back, with its event, in one transaction
        (``appointments.BookingNotFound`` for a wrong code or NIK alike,
        ``BookingEnded`` for one that no longer stands). Returns it as ended."""
        booking = self.db.recording_appointments.find_one(
            {"booking_code": booking_code.strip().upper(), "nik": nik})
        if booking is None:
            raise appointments.BookingNotFound()
        appointments.refuse_unless_cancellable(booking, today)

        def work(session):
            return self._end(session, booking["_id"], "cancelled")

        if (cancelled := self.run_transaction(work)) is None:  # ended meanwhile
            appointments.refuse_unless_cancellable(
                self.db.recording_appointments.find_one({"_id": booking["_id"]}), today)
            raise appointments.BookingEnded(appointments.DAY_PASSED)
        return cancelled

    def place_bookings(self, place_id: str, day: str, status: str | None, limit: int,
                       after: tuple[datetime.datetime, str] | None = None) -> list[dict]:
        """A place's bookings of a day (of ``status``, or every one), in the
        order they were made, ``limit`` after ``after`` (``shared.paging``)."""
        query = {"place_id": place_id, "day": day, **({"status": status} if status else {})}
        return page_after(lambda where, count: list(
            self.db.recording_appointments.find(where).sort(
                [("created_at", ASCENDING), ("_id", ASCENDING)]).limit(count)),
            query, "created_at", limit, after)

    def close_day(self, place: Place, day: str, reason: str, operator: str) -> dict:
        """An operator closes a place's day (``reason``: ``appointments.OFFICE_REASONS``):
        in one transaction the day takes no booking any more and every
        booking of it that stands ends ``cancelled`` with the reason, its
        contact told (``_end``). Safe to repeat: a closed day stays closed,
        a booking ended already is not ended again. Returns
        ``{"cancelled_now": n, "cancelled": all the day's bookings ended
        for this reason}``."""
        day_id = f"{place.place_id}:{day}"

        def work(session):
            self.db.recording_days.update_one(
                {"_id": day_id},
                {"$set": appointments.closed_day(reason, operator, utcnow()),
                 "$setOnInsert": {"place_id": place.place_id, "day": day, "booked": 0}},
                upsert=True, session=session)
            standing = self.db.recording_appointments.find(
                {"place_id": place.place_id, "day": day, "active": True}, {"_id": 1},
                session=session)
            return sum(1 for row in list(standing)
                       if self._end(session, row["_id"], "cancelled", reason=reason))

        cancelled_now = self.run_transaction(work)
        return {"cancelled_now": cancelled_now,
                "cancelled": self.db.recording_appointments.count_documents(
                    {"place_id": place.place_id, "day": day, "end_reason": reason})}

    def _end(self, session, booking_id: str, status: str,
             replaced_by: str | None = None, reason: str | None = None) -> dict | None:
        """The booking ends if it is still active (``appointments.ended``): its
        day's place is given back and ``recording_appointment_cancelled``
        emitted (its contact is told). None when it had ended already.

        A guarded ``update_one`` then a read by ``_id`` (``update_then_read``),
        not a findAndModify: the local server scans every booking ever made
        for one (shared/store.py). The guard decides inside the caller's
        transaction: a booking another request ended since is not matched,
        or conflicts and the transaction runs again."""
        booking = update_then_read(
            self.db.recording_appointments, {"_id": booking_id, "active": True},
            {"$set": appointments.ended(status, utcnow(), replaced_by, reason)},
            session=session)
        if booking is None:
            return None
        self.db.recording_days.update_one(
            {"_id": f"{booking['place_id']}:{booking['day']}", "booked": {"$gt": 0}},
            {"$inc": {"booked": -1}}, session=session)
        self.emit(session, "recording_appointment_cancelled",
                  **appointments.cancelled_event(booking, place(booking["place_id"])))
        return booking

    def _next_free_day(self, place: Place, booking: dict, calendar: WorkingCalendar,
                       today: datetime.date) -> datetime.date | None:
        days = appointments.days_ahead(datetime.date.fromisoformat(booking["day"]), calendar,
                                       appointments.BOOKING_HORIZON_DAYS, today)
        return appointments.first_free_day(days, self.booked_counts(place, days),
                                           place.recording_capacity)

    def import_prr(self, event: dict, screening: Screening,
                   today: datetime.date) -> dict | None:
        """A Print Ready Record: unless the NIK already has a card, a verified
        print application delivered by Pos - or, for a holder under 17 or
        recorded as deceased (``appointments.prr_refusal``, asking
        ``screening``'s register), none: ``prr_record_refused`` instead,
        nothing printed, no one told. One with an active KTP-el application
        of its own (applied online too) is refused ``active_application``:
        printing does not count the record done, and a later upload of it
        (once that application is rejected or cancelled) announces it anew -
        it was swallowed, printing's record announced for good, the NIK left
        without a card when the online application ended. Either way the
        NIK is recorded. ``RegisterUnavailable`` (the register could
        not say whether the holder died): nothing done, the event is tried
        again later. Safe to repeat per event: the application is keyed by
        the event id, only a still-submitted one is verified, a refusal is
        announced once, and the event id is added to the recorded NIK last,
        when all is done."""
        application = None
        if not screening.card_issued(event["nik"]):
            if reason := appointments.prr_refusal(event["nik"], today, screening.lookup()):
                return self._refuse_prr_record(event, reason)
            try:
                application = self.submit(appointments.prr_application(event))
            except ActiveApplicationExists:
                return self._refuse_prr_record(event, "active_application")
        if application is not None and application["status"] == "submitted":
            try:
                application = self.verify(application["_id"], appointments.PRR_IMPORTER)
            except WrongStatus:
                pass  # verified meanwhile
        self.record_prr_nik(event)
        return application

    def _refuse_prr_record(self, event: dict, reason: str) -> None:
        """``prr_record_refused`` once per event, and the NIK recorded."""
        self.consume_once(event, "prr_refusal", lambda session: self.emit(
            session, "prr_record_refused", **appointments.prr_refused_event(event, reason)))
        self.record_prr_nik(event)

    def record_prr_nik(self, event: dict) -> None:
        """The NIK of a Print Ready Record is recorded: no recording booking
        for it. Also for a record without a phone (no application yet).
        Safe to repeat: the event id is added once."""
        recorded = ({"_id": event["nik"]},
                    {"$setOnInsert": {"source": "prr", "recorded_on": event["recorded_on"],
                                      "at": utcnow()},
                     "$addToSet": {"prr_events": event["event_id"]}})
        try:
            self.db.recorded_niks.update_one(*recorded, upsert=True)
        except DuplicateKeyError:  # a concurrent upsert inserted it first: now an update
            self.db.recorded_niks.update_one(*recorded)
