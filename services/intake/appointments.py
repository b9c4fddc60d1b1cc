"""KTP-el recording (perekaman) is once in a life: booking a recording, and
what follows from having recorded. Plain Python, no nameko.

* A NIK counts as **recorded** once intake knows of any KTP-el application
  for it that was not cancelled, or of a Print Ready Record for it
  (``prr_record_imported`` from the printing backlog, or
  ``prr_record_imported_without_phone`` for a record with no phone yet: no
  application then, but the NIK is recorded all the same). A recorded NIK books
  no recording: it requests a print ("if you recorded but have no card, come
  with your KK").
* A NIK **has a card** once one of its KTP-el applications reached printing
  (``CARD_STATUSES``), or a PRR application for it was verified: a further
  ``first_issue`` print is refused, a replacement is the way.
* A booking is for whom a first KTP-el is (17 or older, or married: the
  KTP-el rule of ``rules``: ``refuse_if_not_recordable``, by the register's
  birth date, on the appointment's day: who turns 17 before it books it),
  and made by whoever knows the NIK's KK: the register must confirm the
  NIK on the KK given, alive (``confirm_owner``; the NIK is public, the KK
  is not). The register's answers are asked within ``refusals``' limits
  (``screening.Screening.check_booking``).
* So is a Print Ready Record's application (``prr_refusal``): a record of a
  holder under 17 or recorded as deceased becomes none (``prr_record_refused``
  tells printing, whose operator sees why).
* A booking is for a place in ``shared.offices.PLACES`` (a kecamatan office or
  the Dinas), on a working day of the ``WorkingCalendar`` from tomorrow up to
  ``BOOKING_HORIZON_DAYS`` ahead, while the day has room
  (``Place.recording_capacity``; the store counts atomically).
* One upcoming booking per NIK. Another, made again on the NIK's KK, with
  ``replace`` moves it (the earlier one ends ``replaced``, its place freed,
  its contact told): no booking can lock a NIK's owner out, whoever made it.
  Whoever holds the booking code and the NIK may cancel it.
* A retry with the booking's Idempotency-Key gets the first booking; the key
  sent with another request is refused (``earlier_answer``). A move to the
  place and day the upcoming booking already has (a double tap, a new key
  per tap) is answered with that booking, nothing moved (``SameBooking``).
* An operator closes a place's day (``OFFICE_REASONS``: the office closed
  that day, as a cuti bersama added to the calendar after people booked):
  its bookings end ``cancelled`` with the reason, each contact told, and
  the day takes no booking any more (``DayClosed``). Never automatic: an
  operator decides.
"""

from __future__ import annotations

import datetime
import secrets
import uuid
from contextlib import contextmanager
from typing import Callable, Iterable, Mapping, NoReturn

from shared.clock import utcnow
from shared.errors import (Conflict, DomainError, Msg, NotFound, ServiceBusy, TooManyAttempts,
                           ValidationFailed)
from shared.masking import mask_identity
from shared.nik import ADULT_AGE
from shared.offices import Place, WorkingCalendar

from .domain import STATUSES, TRACKING_ALPHABET, digest_of, new_application
from .exceptions import IdempotencyKeyReused
from .population import REGISTER_UNCHECKED, Lookup, RegisterUnavailable
from .rules import check_applicant, refuse_unless_old_enough_for_a_ktp_el

BOOKING_HORIZON_DAYS = 90
AVAILABILITY_DAYS = 10  # working days shown ahead
PRR_IMPORTER = "prr-import"  # who "verified" an application made from a PRR record
PRR_CHANNEL = "prr"  # the channel of an application made from a PRR record
# no card came of these (``print_cancelled``: the operator gave its print job up)
NOT_COUNTED = ("rejected", "cancelled", "print_cancelled")
# a card left the printer: printed and every later step
CARD_STATUSES = tuple(status for status, info in STATUSES.items()
                      if info.rank >= STATUSES["printed"].rank and status not in NOT_COUNTED)
# a PRR application is a card on its way from the moment it is verified
PRR_CARD_STATUSES = tuple(status for status, info in STATUSES.items()
                          if info.rank >= STATUSES["verified"].rank and status not in NOT_COUNTED)


def has_card(application: dict) -> bool:
    """A KTP-el application whose card left the printer, or a PRR one verified."""
    return application["status"] in CARD_STATUSES or (
        application.get("channel") == PRR_CHANNEL and application["status"] in PRR_CARD_STATUSES)


class AlreadyRecorded(Conflict):
    code = "already_recorded"

    def __init__(self):
        super().__init__(
            Msg("NIK ini sudah melakukan perekaman KTP-el; perekaman hanya sekali seumur hidup. "
                "Ajukan pencetakan KTP-el (bila sudah rekam tetapi belum punya kartu, datang "
                "dengan membawa KK).",
                "This NIK has already been recorded for a KTP-el; recording happens once in a "
                "lifetime. Apply for a KTP-el print instead (recorded but no card yet: come "
                "with your KK)."),
            {"nik": [Msg("Sudah rekam KTP-el: ajukan cetak, bukan perekaman.",
                         "Already recorded: apply for a print, not a recording.")]})


class AppointmentExists(Conflict):
    code = "appointment_exists"

    def __init__(self):
        super().__init__(
            Msg("NIK ini sudah punya jadwal perekaman yang belum lewat. Untuk memindahkannya, "
                'kirim lagi dengan "replace": true; jadwal yang lama dibatalkan.',
                "This NIK already has an upcoming recording appointment. To move it, send "
                'again with "replace": true; the earlier one is cancelled.'),
            {"nik": [Msg("Sudah ada jadwal perekaman.", "An appointment is already booked.")]})


class OwnerNotConfirmable(TooManyAttempts):
    """429: the NIK or KK was refused too often lately (``refusals``), so the
    register is not asked about it, and a booking is made only on its answer."""

    too_many = Msg("Terlalu banyak percobaan yang ditolak untuk NIK atau No. KK ini; jadwal "
                   "perekaman untuknya tidak dapat dibuat secara daring untuk sementara "
                   "(atau datang langsung ke kantor kecamatan dengan membawa KK).",
                   "Too many refused attempts for this NIK or KK: no recording can be booked "
                   "online for it for now (or come to a kecamatan office with your KK).")


class RegisterNotAnswering(ServiceBusy):
    """503: the register cannot confirm the NIK on the KK now; a booking is
    not made without it (an application would be, for the operator to check)."""
    code = "register_unavailable"

    def __init__(self):
        DomainError.__init__(self, Msg(
            "Data kependudukan tidak dapat diperiksa saat ini, dan jadwal perekaman hanya dibuat "
            "untuk NIK yang terdaftar pada No. KK-nya. Coba lagi nanti.",
            "The population register cannot be checked now, and a recording is booked only for "
            "a NIK on its KK. Please retry later."))


class BookingNotFound(NotFound):
    """The same answer for an unknown booking code and a wrong NIK: no probing."""

    def __init__(self):
        super().__init__(Msg("Jadwal perekaman tidak ditemukan.",
                             "Recording appointment not found."))


class BookingEnded(Conflict):
    code = "appointment_ended"

    def __init__(self, why: Msg):
        super().__init__(Msg(f"Jadwal perekaman ini sudah tidak berlaku: {why}.",
                             f"This recording appointment no longer stands: {why.en}."))


class DayFull(Conflict):
    """The day has no room left; the body names the next day that has."""
    code = "day_full"
    # the message, and the one on ``day``
    why = (Msg("Kuota perekaman pada hari itu sudah penuh.",
               "Recording capacity for that day is full."),
           Msg("Kuota hari itu penuh.", "That day is full."))

    def __init__(self, next_free: datetime.date | None):
        hint_id = f" Hari kosong berikutnya: {next_free.isoformat()}." if next_free else ""
        hint_en = f" Next day with room: {next_free.isoformat()}." if next_free else ""
        message, on_day = self.why
        super().__init__(Msg(message + hint_id, message.en + hint_en),
                         {"day": [Msg(on_day + hint_id, on_day.en + hint_en)]})
        self.next_free = next_free

    def to_body(self, lang: str) -> dict:
        body = super().to_body(lang)
        body["error"]["next_free_day"] = self.next_free.isoformat() if self.next_free else None
        return body


class DayClosed(DayFull):
    """An operator closed the place's day (``OFFICE_REASONS``): no booking;
    the body names the next day with room, as for a full day."""
    code = "day_closed"
    why = (Msg("Kantor tutup pada hari itu; tidak ada perekaman.",
               "The office is closed that day; no recording is held."),
           Msg("Kantor tutup hari itu.", "The office is closed that day."))


class SameBooking(Exception):
    """Not an error to answer: a move (``replace``) to the place and day of
    the NIK's upcoming booking - a double tap, a new Idempotency-Key per
    tap - moves nothing; ``booking`` (that one) answers it. Raised out of
    the booking's transaction, so nothing is written or counted."""

    def __init__(self, booking: dict):
        super().__init__(booking["_id"])
        self.booking = booking


class CardAlreadyIssued(Conflict):
    code = "card_already_issued"

    def __init__(self):
        super().__init__(
            Msg("NIK ini sudah pernah menerima KTP-el. Ajukan penggantian (hilang, rusak atau "
                "perubahan data), bukan penerbitan pertama.",
                "This NIK has already received a KTP-el. Apply for a replacement (lost, damaged "
                "or changed data), not a first issue."),
            {"details.reason": [Msg("KTP-el sudah pernah terbit: pilih lost, damaged atau "
                                    "data_change.",
                                    "A KTP-el was already issued: choose lost, damaged or "
                                    "data_change.")]})


def refuse_second_card(request: dict, details: dict, card_issued: Callable[[str], bool]) -> None:
    """A first-issue KTP-el for a NIK that already received one is refused."""
    if (request["document_type"] == "ktp_el" and details.get("reason") == "first_issue"
            and card_issued(request["applicant"]["nik"])):
        raise CardAlreadyIssued()


def refuse_if_recorded(nik: str, is_recorded: Callable[[str], bool], lookup: Lookup) -> None:
    """Recorded as far as intake knows, or as the register says (a register
    that cannot answer refuses nothing)."""
    if is_recorded(nik):
        raise AlreadyRecorded()
    person = lookup.person(nik)
    if person is not None and person.ktp_el_recorded:
        raise AlreadyRecorded()


def refuse_day(problem: Msg, following: datetime.date | None = None) -> NoReturn:
    """400 on ``day``; ``following``: the next working day one could book instead."""
    if following is not None:
        problem = Msg(f"{problem} Hari kerja berikutnya: {following.isoformat()}.",
                      f"{problem.en} Next working day: {following.isoformat()}.")
    raise ValidationFailed({"day": [problem]})


@contextmanager
def as_booking_fields():
    """A rule's refusal naming ``applicant.<field>`` names the booking's ``<field>``."""
    try:
        yield
    except ValidationFailed as refused:
        raise ValidationFailed({path.removeprefix("applicant."): messages
                                for path, messages in refused.fields.items()}) from None


def refuse_if_not_recordable(request: dict, lookup: Lookup) -> None:
    """A recording is for whom a first KTP-el is: the KTP-el rule itself
    (``rules``: 17 or older, or married - the booking's ``marital_status`` -
    and no younger than a married citizen can be; by the register's birth
    date for the NIK) with the booking as its applicant, aged on the
    booking's ``day`` - the day the card is recorded (outside review: a
    16-year-old turning 17 before the day booked was refused): 400 on ``nik``."""
    with as_booking_fields():
        refuse_unless_old_enough_for_a_ktp_el(request, request["day"], lookup)


def confirm_owner(request: dict, lookup: Lookup) -> None:
    """Whoever books knows the NIK's KK: the register has the NIK, alive, on
    the KK given - the applicant's own check (``rules.check_applicant``),
    where the register must also know the NIK, since nobody checks a
    booking by hand after (400 on ``nik`` for a death, on ``kk_number``
    otherwise). The register cannot answer: 503, nothing booked."""
    with as_booking_fields():
        check_applicant(request, lookup, known=True)
    if REGISTER_UNCHECKED in lookup.flags:
        raise RegisterNotAnswering()


def check_booking(request: dict, today: datetime.date, calendar: WorkingCalendar) -> None:
    """The day (tomorrow .. the horizon, a working day) and a way to reach the citizen."""
    day, last = request["day"], today + datetime.timedelta(days=BOOKING_HORIZON_DAYS)
    if day <= today:
        refuse_day(Msg("Pilih hari mulai besok.", "Choose a day from tomorrow on."),
                   calendar.next_working_day(today))
    if day > last:
        refuse_day(Msg(f"Jadwal paling lambat {last.isoformat()} ({BOOKING_HORIZON_DAYS} hari).",
                       f"Book no later than {last.isoformat()} ({BOOKING_HORIZON_DAYS} days)."))
    if not calendar.is_working_day(day):
        refuse_day(Msg("Bukan hari kerja (akhir pekan, libur nasional atau kantor tutup).",
                       "Not a working day (weekend, public holiday or office closed)."),
                   calendar.next_working_day(day))
    if not request["phone"] and not request["email"]:
        raise ValidationFailed({"phone": [Msg(
            "Isi nomor HP atau email agar kami dapat mengirim jadwal perekaman.",
            "Give a mobile number or an email so we can send the appointment.")]})


def days_ahead(after: datetime.date, calendar: WorkingCalendar, count: int,
               today: datetime.date) -> list[datetime.date]:
    """Up to ``count`` working days after ``after`` within the booking horizon."""
    last = today + datetime.timedelta(days=BOOKING_HORIZON_DAYS)
    days = []
    for day in calendar.working_days(after):
        if day > last or len(days) == count:
            break
        days.append(day)
    return days


def first_free_day(days: Iterable[datetime.date], booked: Mapping[str, int],
                   capacity: int) -> datetime.date | None:
    return next((day for day in days if booked.get(day.isoformat(), 0) < capacity), None)


# how a booking ends (``ended``), as the refusal to cancel it again says it
ENDINGS = {"replaced": Msg("sudah diganti dengan jadwal baru", "replaced by a new booking"),
           "cancelled": Msg("sudah dibatalkan", "cancelled")}
# why an operator cancels a place's day of bookings (a cancelled booking's
# ``end_reason``, its ``recording_appointment_cancelled`` event's ``reason``),
# as the refusal to cancel such a booking again says it
OFFICE_REASONS = {"office_closed": Msg("dibatalkan karena kantor tutup pada hari itu",
                                       "cancelled: the office is closed that day")}
DAY_PASSED = Msg("harinya sudah lewat", "its day has passed")


def refuse_unless_cancellable(booking: dict, today: datetime.date) -> None:
    """A booking may be cancelled while it stands: not ended, its day not
    gone by (on the day itself it may: the place is freed for nobody, but
    the citizen has said they will not come)."""
    if booking["status"] in ENDINGS:
        raise BookingEnded(OFFICE_REASONS.get(booking.get("end_reason"))
                           or ENDINGS[booking["status"]])
    if booking["day"] < today.isoformat():
        raise BookingEnded(DAY_PASSED)


def refuse_day_gone_by(day: datetime.date, today: datetime.date) -> None:
    """An operator closes today or a later day: a day gone by has no
    booking left to tell (400 on ``day``)."""
    if day < today:
        refuse_day(Msg("Hari itu sudah lewat; pilih hari ini atau sesudahnya.",
                       "That day has passed; choose today or a later day."))


def repeats(upcoming: dict, booking: dict) -> bool:
    """A move to the place and day the upcoming booking already has."""
    return (upcoming["place_id"], upcoming["day"]) == (booking["place_id"], booking["day"])


def holds_its_nik(booking: dict, today: datetime.date) -> bool:
    """An active booking holds its NIK until its day has passed."""
    return booking["day"] >= today.isoformat()


def new_booking(request: dict, place: Place, idempotency_key: str | None) -> dict:
    booking = {
        "_id": uuid.uuid4().hex,
        # read over the phone like a tracking code (same alphabet)
        "booking_code": "REK" + "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(8)),
        "nik": request["nik"], "kk_number": request["kk_number"],
        "full_name": request["full_name"],
        "contact": {"phone": request["phone"], "email": request["email"],
                    "language": request["language"]},
        "place_id": place.place_id, "day": request["day"].isoformat(),
        "status": "booked", "active": True, "created_at": utcnow(),
    }
    if idempotency_key:
        booking["idempotency_key"] = idempotency_key
        booking["request_digest"] = booking_digest(request)
    return booking


def booking_digest(request: dict) -> str:
    """What a retry of a booking repeats (``BookingSchema`` loaded): who
    books, where, which day, and whether it moves an upcoming booking - not
    the contact: corrected on a retry, it is still the same request, as an
    application's (``domain.request_digests``)."""
    return digest_of({"nik": request["nik"], "kk_number": request["kk_number"],
                      "full_name": request["full_name"],
                      "marital_status": request.get("marital_status"),
                      "place_id": request["place_id"], "day": request["day"].isoformat(),
                      "replace": bool(request.get("replace"))})


def earlier_answer(earlier: dict, nik: str, kk_number: str, digest: str) -> dict:
    """The booking stored under a request's Idempotency-Key, for a retry of
    that request (``digest``: its ``booking_digest``). ``IdempotencyKeyReused``
    for another NIK's request, or the same NIK's with another KK - the answer
    carries the booking code, which with the NIK cancels the booking, and a
    key may be guessable - or for another request of the same NIK and KK:
    another day, place or name, or ``replace`` (outside review: a move to
    another day under the first booking's key was answered 201 with that
    booking, nothing moved). A booking stored before its digest was kept is
    compared by NIK and KK only."""
    if (earlier["nik"], earlier["kk_number"]) != (nik, kk_number) \
            or earlier.get("request_digest", digest) != digest:
        raise IdempotencyKeyReused(booking=True)
    return earlier


def booked_event(booking: dict, place: Place) -> dict:
    """``recording_appointment_booked``: where, when - the day and the place's
    hours - and whom to tell and greet (no NIK)."""
    return {"appointment_id": booking["_id"], "booking_code": booking["booking_code"],
            "place_id": place.place_id, "place_name": place.name,
            "place_address": place.address, "day": booking["day"], **place.opening_hours,
            "contact": booking["contact"], "full_name": booking["full_name"]}


def ended(status: str, at: datetime.datetime, replaced_by: str | None = None,
          reason: str | None = None) -> dict:
    """The fields a booking that ends (``ENDINGS``) gets: it no longer holds
    its NIK (``active``) nor its day's place. ``reason``: an operator's
    (``OFFICE_REASONS``), for a ``cancelled`` one."""
    assert status in ENDINGS and (reason is None or reason in OFFICE_REASONS)
    fields = {"status": status, "active": False, "ended_at": at}
    if replaced_by:
        fields["replaced_by"] = replaced_by
    if reason:
        fields["end_reason"] = reason
    return fields


def cancelled_event(booking: dict, place: Place) -> dict:
    """``recording_appointment_cancelled``: the booking that ended, why
    (``replaced``, ``cancelled`` or an operator's ``OFFICE_REASONS``), and
    whom to tell: its own contact, who may not be whoever ended it."""
    return {**booked_event(booking, place),
            "reason": booking.get("end_reason") or booking["status"]}


def closed_day(reason: str, operator: str, at: datetime.datetime) -> dict:
    """What a place's day an operator closed keeps (``recording_days``)."""
    return {"closed": reason, "closed_by": operator, "closed_at": at}


def booking_view(booking: dict, place: Place) -> dict:
    return {"appointment_id": booking["_id"], "booking_code": booking["booking_code"],
            "status": booking["status"], "day": booking["day"], "place": place.view()}


def operator_row(booking: dict) -> dict:
    """A booking in an operator's list of a place's day: the NIK masked, as
    the operators' lists show one (whoever comes to the counter brings the
    rest)."""
    return {"appointment_id": booking["_id"], "booking_code": booking["booking_code"],
            "status": booking["status"], "end_reason": booking.get("end_reason"),
            "nik_masked": mask_identity(booking["nik"]), "full_name": booking["full_name"],
            "day": booking["day"], "place_id": booking["place_id"],
            "created_at": booking["created_at"].isoformat(),
            "ended_at": booking["ended_at"].isoformat() if booking.get("ended_at") else None}


def prr_refusal(nik: str, today: datetime.date, lookup: Lookup) -> str | None:
    """Why a Print Ready Record becomes no application (``prr_record_refused``),
    or None: it is one. A first KTP-el's rules as for a recording booking
    (``refuse_if_not_recordable``): ``deceased`` - a death certificate
    verified here, or the register says so; ``under_age`` - not 17 by the
    register's birth date, or the NIK's when the register does not know the
    NIK (the export has no marital status: a married minor applies
    themselves). A register that cannot answer refuses nothing here, and
    accepts nothing either: a PRR application is verified at once, so an
    unchecked one would be printed and posted unseen, and the NIK alone
    cannot tell a child born in 2026 from a citizen born in 1926 - it raises
    ``RegisterUnavailable`` and the event is tried again later (delayed
    retries, then the dead-letter queue an operator replays from)."""
    if lookup.deceased(nik):
        return "deceased"
    if REGISTER_UNCHECKED in lookup.flags:
        raise RegisterUnavailable("a PRR record is not screened without the register")
    if lookup.age(nik, today) < ADULT_AGE:
        return "under_age"
    return None


def prr_refused_event(event: dict, reason: str) -> dict:
    """``prr_record_refused``: printing takes the record off its backlog."""
    return {"nik": event["nik"], "prr_record_id": event["prr_record_id"], "reason": reason}


def prr_application(event: dict) -> dict:
    """The KTP-el print application a Print Ready Record becomes: channel
    ``prr``, delivered by Pos Indonesia to the recorded address. Its key
    (``§`` cannot arrive in an HTTP Idempotency-Key) makes it once per event."""
    request = {"document_type": "ktp_el", "channel": PRR_CHANNEL,
               "applicant": {"nik": event["nik"], "kk_number": None,
                             "full_name": event["full_name"], "phone": event["phone"],
                             "email": None, "language": "id", "marital_status": None},
               "delivery": {"method": "pos", "address": event["address"]}}
    details = {"reason": "first_issue", "recorded_on": event["recorded_on"]}
    application = new_application(request, details, f"\u00a7prr:{event['event_id']}")
    application["prr_record_id"] = event["prr_record_id"]
    return application
