"""Event names, their emitting service, and versioned payload schemas.

Every event is a past-tense fact published on its emitting service's exchange
(``<service>.events``, routing key = event name). Each payload carries an
``event_id`` (consumers deduplicate on it), a ``schema_version`` and the time
it happened. Consumers load with ``unknown=EXCLUDE`` so a producer may add
fields without breaking them; removing or changing a field needs a new
``schema_version``.

Events carry what their consumers need (services never read each other's
databases), so some carry contact details: the broker is inside the Dinas
network, and logs only ever see masked values.
"""

from __future__ import annotations

import datetime
import functools
import re
import uuid

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validate

from .clock import as_utc, utcnow
from .fields import ItemCount, JsonBoolean

SCHEMA_VERSION = 1

DOCUMENT_TYPES = ("ktp_el", "akta_kelahiran", "akta_kematian", "skpwni", "kia")
# why a KTP-el is replaced (intake's ``details.reason`` besides ``first_issue``)
REPLACEMENT_REASONS = ("lost", "damaged", "data_change")
DELIVERY_METHODS = ("pickup", "pos")
LANGUAGES = ("id", "en")
CONTACT_CHANNELS = ("sms", "email", "whatsapp")  # how a citizen prefers to be told
PRINT_KINDS = ("card", "certificate")  # blanko card stock (KTP-el, KIA) or paper


# an event id as producers make it (``build_event``: a UUID4's 32 hex digits)
# or a hand-made one such as a replayed or test event's ("returned-SDK..."):
# consumers key their inbox rows and message ids (``<event_id>.<channel>``)
# on it, so a blank one would make every later blank id a duplicate
EVENT_ID = validate.Regexp(
    r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}\Z",
    error="Must be 1-64 letters, digits, '-' or '_', starting with a letter or digit.")

# a date and a time (seconds and fraction optional) with the zone, as
# ``utcnow().isoformat()`` writes it: "2025-03-10T05:02:47.114512+00:00"
_DATE_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})\Z", re.ASCII)


NOT_AN_INSTANT = ("Must be an ISO-8601 date-time with its zone, "
                  "e.g. 2025-03-10T05:02:47.114512+00:00.")


def iso_date_time(value: str) -> datetime.datetime:
    """An ISO-8601 date-time naming its zone, and a real one (no 31 June):
    consumers order events by it and read it as an instant. The time it
    names (a validator's truthy answer)."""
    if _DATE_TIME.match(value):
        try:
            return datetime.datetime.fromisoformat(value)
        except ValueError:
            pass
    raise ValidationError(NOT_AN_INSTANT)


class Instant(fields.String):
    """An ISO-8601 date-time naming its zone (``iso_date_time``), loaded as
    its instant in UTC written one way - to the microsecond, ``+00:00`` -
    so that its text sorts as its time: consumers compare ``occurred_at``
    as text (a review: ``12:00+07:00`` sorted after ``06:00:00.000001+00:00``,
    a window set by the earlier event kept)."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            instant = as_utc(iso_date_time(text))
        except OverflowError:  # year 1 at +07:00: no instant in UTC's range
            raise ValidationError(NOT_AN_INSTANT) from None
        return instant.isoformat(timespec="microseconds")


def occurred_at(event: dict) -> datetime.datetime:
    """When a loaded event happened: its ``occurred_at`` (``iso_date_time``
    checked that it names its zone)."""
    return datetime.datetime.fromisoformat(event["occurred_at"])


class EventSchema(Schema):
    """The envelope every event carries. A consumer reads only the version it
    knows: a payload of another ``schema_version`` (or the version as a string)
    fails here and is dead-lettered, not read as if it were this one."""
    class Meta:
        unknown = EXCLUDE

    event_id = fields.String(required=True, validate=EVENT_ID)
    schema_version = fields.Integer(
        required=True, strict=True,
        validate=validate.Equal(SCHEMA_VERSION, error="Unknown schema version: "
                                                      f"this consumer reads {SCHEMA_VERSION}."))
    occurred_at = Instant(required=True)


class ContactSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    phone = fields.String(allow_none=True, load_default=None)  # E.164, +62...
    email = fields.String(allow_none=True, load_default=None)
    language = fields.String(load_default="id", validate=validate.OneOf(LANGUAGES))
    # optional, no default: a contact passed on from an older event stays as it was
    preferred_channel = fields.String(allow_none=True, validate=validate.OneOf(CONTACT_CHANNELS))


class SlotSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    place = fields.String(required=True)
    address = fields.String(required=True)
    date = fields.String(required=True)  # ISO date, local (WIB)
    start = fields.String(required=True)  # "09:00"
    end = fields.String(required=True)


class ApplicationRefSchema(EventSchema):
    application_id = fields.String(required=True)
    tracking_code = fields.String(required=True)
    document_type = fields.String(required=True, validate=validate.OneOf(DOCUMENT_TYPES))


class ApplicationSubmittedSchema(ApplicationRefSchema):
    channel = fields.String(required=True)
    kecamatan_code = fields.String(allow_none=True, load_default=None)
    # optional within v1 (added later): intake always sends it
    contact = fields.Nested(ContactSchema, allow_none=True, load_default=None)
    # the applicant's name, whom notices greet; optional within v1 (added
    # later): intake always sends it
    full_name = fields.String(allow_none=True, load_default=None)
    # how the document will reach the citizen, as asked (a "received" notice
    # of a Pos delivery says no place to collect it); optional within v1
    # (added later): intake always sends it
    delivery_method = fields.String(allow_none=True, load_default=None,
                                    validate=validate.OneOf(DELIVERY_METHODS))


class PrintedAddressSchema(Schema):
    """An address as a document prints it: the area names spelled out."""
    class Meta:
        unknown = EXCLUDE

    street = fields.String(allow_none=True, load_default=None)
    rt = fields.String(allow_none=True, load_default=None)
    rw = fields.String(allow_none=True, load_default=None)
    postal_code = fields.String(allow_none=True, load_default=None)
    kelurahan_code = fields.String(allow_none=True, load_default=None)
    kelurahan = fields.String(allow_none=True, load_default=None)  # names: shared/wilayah.py
    kecamatan = fields.String(allow_none=True, load_default=None)
    kabkota = fields.String(allow_none=True, load_default=None)
    province = fields.String(allow_none=True, load_default=None)


class DocumentDetailsSchema(Schema):
    """What the printed document shows about its subject, by document type;
    every field optional (intake sends what it knows). No NIK but the
    deceased's (a death certificate prints it)."""
    class Meta:
        unknown = EXCLUDE

    # the person it is about: KTP-el and KIA (from the NIK), Akta Kelahiran
    sex = fields.String(validate=validate.OneOf(("M", "F")))
    birth_date = fields.String()  # ISO date
    # Akta Kelahiran: where (kab/kota code and name), the parents' names (the
    # register's, else the citizen's; a father only when one is given)
    birth_place_code = fields.String()
    birth_place = fields.String()
    mother_name = fields.String()
    father_name = fields.String()
    # KIA
    birth_certificate_number = fields.String()
    # Akta Kematian (the deceased's name is ``holder_name``)
    deceased_nik = fields.String()
    date_of_death = fields.String()  # ISO date
    place_of_death = fields.String()
    reporter_relation = fields.String()
    # SKPWNI
    move = fields.String()  # pindah_keluar, pindah_datang
    move_kind = fields.String()  # antar_provinsi, antar_kabkota, antar_kecamatan, dalam_kecamatan
    move_reason = fields.String()
    skpwni_number = fields.String()  # pindah datang: the SKPWNI of the place of origin
    destination = fields.Nested(PrintedAddressSchema)
    members_moving = fields.Integer()
    members_named = fields.List(fields.String())  # as the register names them


class ApplicationVerifiedSchema(ApplicationRefSchema):
    nik = fields.String(required=True)
    full_name = fields.String(required=True)
    contact = fields.Nested(ContactSchema, required=True)
    delivery_method = fields.String(required=True, validate=validate.OneOf(DELIVERY_METHODS))
    delivery_address = fields.Dict(allow_none=True, load_default=None)
    verified_by = fields.String(required=True)
    # print needs, optional within v1 (added later): intake always sends them
    print_kind = fields.String(allow_none=True, load_default=None,
                               validate=validate.OneOf(PRINT_KINDS))
    pickup_place_id = fields.String(allow_none=True, load_default=None)  # shared.offices
    next_day = JsonBoolean(load_default=False)  # a kecamatan next-day request
    replacement = JsonBoolean(load_default=False)  # a KTP-el replacing an earlier card
    # why the replacement was approved (``lost``, ``damaged``, ``data_change``);
    # null for any other application and in older events. A card reported
    # lost answers ``revoked`` (``reported_lost``) from this verification on
    replacement_reason = fields.String(allow_none=True, load_default=None,
                                       validate=validate.OneOf(REPLACEMENT_REASONS))
    manifest_id = fields.String(allow_none=True, load_default=None)  # jemput-bola batch
    # the officer's kecamatan (6 digits) of a kecamatan or kelurahan officer's
    # request, whose hand-over list it goes on; null for a citizen's own
    kecamatan_code = fields.String(allow_none=True, load_default=None)
    # what the document says, optional within v1 (added later): intake always
    # sends them. ``full_name`` stays the applicant's (whom to tell, deliver to)
    # the child's for a KIA and a birth certificate, the deceased's for a death certificate
    holder_name = fields.String(allow_none=True, load_default=None)
    # the NIK a card carries (a KIA: the child's); null for a certificate; absent
    # in older events (then ``nik``)
    holder_nik = fields.String(allow_none=True)
    document_details = fields.Nested(DocumentDetailsSchema, allow_none=True, load_default=None)


class ApplicationRejectedSchema(ApplicationRefSchema):
    reasons = fields.List(fields.String(), required=True)  # texts, in contact.language
    contact = fields.Nested(ContactSchema, required=True)
    reason_codes = fields.List(fields.String(), load_default=list)  # intake's catalogue
    note = fields.String(allow_none=True, load_default=None)  # the operator's free text
    # the jemput-bola manifest it belongs to (printing stops waiting for it);
    # optional within v1 (added later): intake always sends it
    manifest_id = fields.String(allow_none=True, load_default=None)


class ApplicationResubmittedSchema(ApplicationRefSchema):
    corrected = fields.List(fields.String(), required=True)  # field names, e.g. applicant.full_name
    contact = fields.Nested(ContactSchema, required=True)  # as corrected
    # the applicant's name as corrected; optional within v1 (added later):
    # intake always sends it
    full_name = fields.String(allow_none=True, load_default=None)


class ApplicationCancelledSchema(ApplicationRefSchema):
    previous_status = fields.String(required=True)  # submitted or rejected
    contact = fields.Nested(ContactSchema, required=True)
    # as in application_rejected: the manifest that stops waiting for it
    manifest_id = fields.String(allow_none=True, load_default=None)


class PrintJobRefSchema(ApplicationRefSchema):
    print_job_id = fields.String(required=True)


class PrintJobQueuedSchema(PrintJobRefSchema):
    pass


class DocumentPrintedSchema(PrintJobRefSchema):
    station_id = fields.String(required=True)
    # how the document leaves (absent in events printed before they were added)
    delivery_method = fields.String(validate=validate.OneOf(DELIVERY_METHODS))
    manifest_id = fields.String(allow_none=True)


class PrintJobFailedSchema(PrintJobRefSchema):
    station_id = fields.String(required=True)
    reason = fields.String(required=True)
    requeued = JsonBoolean(required=True)


class PrintJobHeldSchema(PrintJobRefSchema):
    """Printing held a job itself, no station's report, for an operator to
    release or cancel: ``holder_deceased`` (a card of a person whose death
    is recorded), ``already_printed`` (a second KTP-el of a NIK that is not
    an approved replacement), ``lease_expired`` (a station's lease ran out
    on the job's last attempt)."""
    reason = fields.String(required=True)


class PrintJobReleasedSchema(PrintJobRefSchema):
    """An operator checked a held job and sent it back to the queue."""
    released_by = fields.String(required=True)  # the operator


class PrintJobRequeuedSchema(PrintJobRefSchema):
    """An operator sent a printed document still at the Dinas (missing or
    spoiled) back to the queue: it is printed again."""
    requeued_by = fields.String(required=True)  # the operator
    # why, in the operator's words (masked; a reprint spends a blanko): absent
    # in events from before it was asked
    operator_reason = fields.String(allow_none=True)
    # how the document leaves (courier: a citizen's own parcel waits for the
    # reprint); absent in events from before it was added
    delivery_method = fields.String(validate=validate.OneOf(DELIVERY_METHODS))
    manifest_id = fields.String(allow_none=True)  # its jemput-bola manifest


class ReprintWithdrawnSchema(PrintJobRefSchema):
    """Pos took the parcel carrying the print before a re-queued document's
    reprint was printed (or before Pos' news of it came): the reprint is
    withdrawn, the job is that print's again. Times in UTC, ISO 8601."""
    picked_up_at = fields.String(required=True, validate=iso_date_time)  # Pos' time
    printed_at = fields.String(required=True, validate=iso_date_time)  # the print Pos carries
    # the reprint's print, when it was printed before printing heard from Pos
    reprint_printed_at = fields.String(required=True, allow_none=True, validate=iso_date_time)
    manifest_id = fields.String(allow_none=True)  # the jemput-bola manifest's parcel


class PrintJobCancelledSchema(PrintJobRefSchema):
    """An operator gave a held job up: nothing is printed for the application."""
    reason = fields.String(allow_none=True, load_default=None)  # the job's last failure
    # the operator, and why in their words (masked; null when not said):
    # both absent in events from before they were added
    cancelled_by = fields.String()
    operator_reason = fields.String(allow_none=True)
    full_name = fields.String(required=True)
    contact = fields.Nested(ContactSchema, required=True)
    # the jemput-bola manifest that stops waiting for it (courier); absent in
    # events from before it was added (courier looks it up)
    manifest_id = fields.String(allow_none=True)


class DocumentReadyForPickupSchema(PrintJobRefSchema):
    full_name = fields.String(required=True)
    contact = fields.Nested(ContactSchema, required=True)
    slot = fields.Nested(SlotSchema, required=True)
    # back at the Dinas after Pos could not deliver it (printed days ago, not
    # just now); absent in older events
    returned = JsonBoolean(load_default=False)
    # a reprint's window that is the very window announced for the print it
    # replaced: the citizen was told it already (notification sends nothing;
    # outside audit E: the same "ready" SMS twice); absent in older events
    window_told = JsonBoolean(load_default=False)


# at a pickup counter, or handed over by the kelurahan (jemput bola) or the
# kecamatan (next-day requests) office
COLLECTION_WAYS = ("counter", "kelurahan", "kecamatan")


class DocumentCollectedSchema(PrintJobRefSchema):
    collected_by = fields.String(required=True)  # who recorded it (station, officer)
    how = fields.String(load_default="counter", validate=validate.OneOf(COLLECTION_WAYS))


class PickupRescheduledSchema(PrintJobRefSchema):
    """The citizen (or the Dinas) moved the pickup window; the new one is ``slot``."""
    slot = fields.Nested(SlotSchema, required=True)
    contact = fields.Nested(ContactSchema, required=True)


class HandoverItemSchema(Schema):
    """One line of a hand-over list an officer signs off: no NIK."""
    class Meta:
        unknown = EXCLUDE

    application_id = fields.String(required=True)
    tracking_code = fields.String(required=True)
    full_name = fields.String(required=True)  # the applicant, whom the officer hands it to
    # the name printed on the document (a KIA's child, ...); absent in older
    # events: ``full_name``
    holder_name = fields.String(allow_none=True, load_default=None)
    document_type = fields.String(required=True, validate=validate.OneOf(DOCUMENT_TYPES))


class BatchReadyForKelurahanSchema(EventSchema):
    """Every document of a jemput-bola manifest is printed: the kelurahan collects them as one."""
    manifest_id = fields.String(required=True)
    kelurahan_code = fields.String(required=True)
    items = fields.List(fields.Nested(HandoverItemSchema), required=True,
                        validate=ItemCount(min=1))
    slot = fields.Nested(SlotSchema, allow_none=True, load_default=None)
    # ISO dates (WIB): the officer collects at the Dinas on ``day``; the
    # citizens collect at the kelurahan office from ``at_office_from`` (the
    # next working day). Both null in older events
    day = fields.String(allow_none=True, load_default=None)
    at_office_from = fields.String(allow_none=True, load_default=None)
    # a member printed after its manifest went back (rejected, resubmitted,
    # verified): a hand-over of its own for the same manifest
    follow_up = JsonBoolean(load_default=False)
    # how many applications the manifest has (``batch_accepted``): more than
    # ``items`` when some will not be printed with them; null in older events
    members = fields.Integer(allow_none=True, load_default=None,
                             validate=validate.Range(min=1))
    # of ``members``, those Pos takes to their citizens' doors in parcels of
    # their own (on no officer's list); 0 in a follow-up and older events
    to_the_door = fields.Integer(load_default=0, validate=validate.Range(min=0))


class KecamatanHandoverReadySchema(EventSchema):
    """A kecamatan's next-day documents are ready at the Dinas for its officer."""
    kecamatan_code = fields.String(required=True)
    day = fields.String(required=True)  # ISO date (WIB) the officer collects them
    items = fields.List(fields.Nested(HandoverItemSchema), required=True,
                        validate=ItemCount(min=1))
    slot = fields.Nested(SlotSchema, allow_none=True, load_default=None)
    # ISO date (WIB) the citizens collect at the kecamatan office from (the
    # next working day after ``day``); null in older events
    at_office_from = fields.String(allow_none=True, load_default=None)
    # a list of next-day requests verified the same day after the day's
    # list went: it follows that list, not repeats it
    follow_up = JsonBoolean(load_default=False)


class BlankoLowSchema(EventSchema):
    """A station's blanko (card stock) fell to or below its threshold."""
    station_id = fields.String(required=True)
    place_id = fields.String(required=True)
    stock_left = fields.Integer(required=True)
    threshold = fields.Integer(required=True)


class ParcelRefSchema(ApplicationRefSchema):
    shipment_id = fields.String(required=True)
    barcode = fields.String(allow_none=True, load_default=None)


# a parcel_* event's shipment_id, courier's Pos order id: "SDK-<print job id>"
# for a citizen's own parcel (the id is hex), "SDK-<manifest id>" for a
# jemput-bola manifest's, a manifest id being intake's
# "JB-<kelurahan code>-<yyyymmdd>-<6 chars>" (docs/events.md)
MANIFEST_SHIPMENT_PREFIX = "SDK-JB-"


# a manifest id is intake's, readable on paper: the kelurahan and the day
# (WIB) its batch was stored, "JB-3673041010-20200715-7KQ2MX"
MANIFEST_ID = re.compile(r"^JB-([0-9]{10})-([0-9]{8})-([0-9A-Z]{6})$")


def manifest_id(kelurahan_code: str, day: datetime.date, suffix: str) -> str:
    return f"JB-{kelurahan_code}-{day:%Y%m%d}-{suffix}"


def manifest_parts(manifest_id: str) -> tuple[str, datetime.date] | None:
    """A manifest id's kelurahan code and day, or None for an id not of
    intake's shape (or naming no real day)."""
    found = MANIFEST_ID.match(manifest_id)
    if found is None:
        return None
    try:
        return found.group(1), datetime.datetime.strptime(found.group(2), "%Y%m%d").date()
    except ValueError:
        return None


def shipment_manifest(shipment_id: str) -> str | None:
    """The jemput-bola manifest a parcel carries (it goes to the kelurahan
    office, not a citizen's home), or None for a citizen's own parcel: told
    by the order id alone, with no database work."""
    if not str(shipment_id).startswith(MANIFEST_SHIPMENT_PREFIX):
        return None
    return str(shipment_id)[len("SDK-"):]


class ParcelDispatchedSchema(ParcelRefSchema):
    pass


class ParcelPickedUpSchema(ParcelRefSchema):
    """Pos has the parcel in hand (its first news after the order): its
    document is no longer at the Dinas to be printed again."""
    # Pos' time of that news (``occurred_at`` is when courier learnt it: a
    # webhook lost, polling finds it hours later)
    picked_up_at = fields.String(required=True, validate=iso_date_time)


class ParcelDeliveredSchema(ParcelRefSchema):
    pass


class ParcelDeliveryFailedSchema(ParcelRefSchema):
    # Pos' note (masked); null when Pos gave none (older events: "FAILED")
    reason = fields.String(required=True, allow_none=True)


class ParcelReturnedSchema(ParcelRefSchema):
    """The parcel is back at the Dinas: the document falls back to counter pickup."""
    reason = fields.String(allow_none=True, load_default=None)


class TrackingCodeResendRequestedSchema(ApplicationRefSchema):
    """The citizen asked for their tracking code again: send it to the contact on file."""
    contact = fields.Nested(ContactSchema, required=True)


class NotificationOutcomeSchema(EventSchema):
    application_id = fields.String(required=True)
    tracking_code = fields.String(required=True)
    notification_id = fields.String(required=True)
    channel = fields.String(required=True, validate=validate.OneOf(("sms", "email", "whatsapp")))
    about = fields.String(required=True)  # the event type the message was about


class NotificationSentSchema(NotificationOutcomeSchema):
    pass


class NotificationFailedSchema(NotificationOutcomeSchema):
    reason = fields.String(required=True)


class RecordingAppointmentBookedSchema(EventSchema):
    """A KTP-el recording (perekaman) booked: where and when, and whom to tell."""
    appointment_id = fields.String(required=True)
    booking_code = fields.String(required=True)
    place_id = fields.String(required=True)  # shared.offices
    place_name = fields.String(required=True)
    place_address = fields.String(required=True)
    day = fields.String(required=True)  # ISO date, WIB
    # the place's opening hours ("08:00", "15:00" WIB); optional within v1
    # (added later): intake always sends them, an older event has none
    opens = fields.String(allow_none=True, load_default=None)
    closes = fields.String(allow_none=True, load_default=None)
    contact = fields.Nested(ContactSchema, required=True)
    # whom the notice greets; optional within v1 (added later): intake always sends it
    full_name = fields.String(allow_none=True, load_default=None)


class RecordingAppointmentCancelledSchema(RecordingAppointmentBookedSchema):
    """A booked recording that no longer stands: ``replaced`` by a new booking
    made on the NIK's KK, ``cancelled`` with its booking code, or
    ``office_closed``: an operator closed the place's day. Whom to tell is
    the booking's own contact (who may not be whoever ended it)."""
    reason = fields.String(required=True, validate=validate.OneOf(
        ("replaced", "cancelled", "office_closed")))


class ManifestSentByPosSchema(EventSchema):
    """An operator asks to send a jemput-bola manifest to its kelurahan
    office by Pos: printing answers (``manifest_pos_confirmed`` or
    ``manifest_pos_refused``), courier posts nothing before."""
    manifest_id = fields.String(required=True)
    kelurahan_code = fields.String(allow_none=True, load_default=None)


class ManifestPosAnswerSchema(EventSchema):
    """Printing's answer to ``manifest_sent_by_pos``: printing alone knows
    whether it already released the manifest for its kelurahan's officer to
    collect at the Dinas, so it decides which of the two happens."""
    manifest_id = fields.String(required=True)
    kelurahan_code = fields.String(allow_none=True, load_default=None)


class ManifestPosConfirmedSchema(ManifestPosAnswerSchema):
    """Not released yet: the manifest goes by Pos, and printing never calls
    its kelurahan's officer to the Dinas for it (courier posts it once every
    member is printed). ``not_printed``: the members printing still waits
    for when it confirmed - one an operator re-queued after it was printed
    (``print_job_requeued``) among them: courier waits for its print again
    (absent in older events)."""
    not_printed = fields.List(fields.String(), load_default=list)


# why printing refuses Pos for a manifest
POS_REFUSALS = ("collected_at_dinas",)


class ManifestPosRefusedSchema(ManifestPosAnswerSchema):
    """Released already (``batch_ready_for_kelurahan``): its officer collects
    it at the Dinas on ``day``; courier posts nothing."""
    reason = fields.String(required=True, validate=validate.OneOf(POS_REFUSALS))
    day = fields.String(allow_none=True, load_default=None)  # ISO date, WIB


class BatchAcceptedSchema(EventSchema):
    """A jemput-bola batch: the applications printing returns to the kelurahan as one."""
    manifest_id = fields.String(required=True)
    batch_id = fields.String(required=True)  # the kelurahan officer's own name for it
    kelurahan_code = fields.String(required=True)
    application_ids = fields.List(fields.String(), required=True,
                                  validate=ItemCount(min=1))


class PrrAddressSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    street = fields.String(required=True)
    rt = fields.String(allow_none=True, load_default=None)
    rw = fields.String(allow_none=True, load_default=None)
    kelurahan_code = fields.String(required=True)
    postal_code = fields.String(allow_none=True, load_default=None)


class PrrRecordImportedSchema(EventSchema):
    """A Print Ready Record from the backlog: recorded, centrally verified, not printed."""
    nik = fields.String(required=True, validate=validate.Regexp(r"^[0-9]{16}$"))
    full_name = fields.String(required=True)
    recorded_on = fields.String(required=True)  # ISO date of the recording (perekaman)
    address = fields.Nested(PrrAddressSchema, required=True)
    phone = fields.String(required=True)  # E.164, +62...: the courier and the SMS need it
    prr_record_id = fields.String(allow_none=True, load_default=None)  # printing's id


class PrrRecordImportedWithoutPhoneSchema(EventSchema):
    """A Print Ready Record with no phone yet: the NIK is recorded (no second
    recording), but nothing can be sent; ``prr_record_imported`` follows once
    an import brings the phone."""
    nik = fields.String(required=True, validate=validate.Regexp(r"^[0-9]{16}$"))
    recorded_on = fields.String(required=True)  # ISO date of the recording (perekaman)
    prr_record_id = fields.String(allow_none=True, load_default=None)  # printing's id


PRR_REFUSALS = ("deceased", "under_age", "active_application")


class PrrRecordRefusedSchema(EventSchema):
    """Intake made no application of a ``prr_record_imported``: the holder is
    recorded as deceased (a death certificate verified here, or the
    population register), or is under the first KTP-el's age by the NIK, or
    has an active KTP-el application of their own (``active_application``:
    printing keeps the record, and a later upload announces it again)."""
    nik = fields.String(required=True, validate=validate.Regexp(r"^[0-9]{16}$"))
    prr_record_id = fields.String(allow_none=True, load_default=None)  # printing's id
    reason = fields.String(required=True, validate=validate.OneOf(PRR_REFUSALS))


# event name -> (emitting service, payload schema)
EVENTS: dict[str, tuple[str, type[EventSchema]]] = {
    "application_submitted": ("intake", ApplicationSubmittedSchema),
    "application_verified": ("intake", ApplicationVerifiedSchema),
    "application_rejected": ("intake", ApplicationRejectedSchema),
    "application_resubmitted": ("intake", ApplicationResubmittedSchema),
    "application_cancelled": ("intake", ApplicationCancelledSchema),
    "print_job_queued": ("printing", PrintJobQueuedSchema),
    "document_printed": ("printing", DocumentPrintedSchema),
    "print_job_failed": ("printing", PrintJobFailedSchema),
    "print_job_held": ("printing", PrintJobHeldSchema),
    "print_job_released": ("printing", PrintJobReleasedSchema),
    "print_job_requeued": ("printing", PrintJobRequeuedSchema),
    "print_job_cancelled": ("printing", PrintJobCancelledSchema),
    "reprint_withdrawn": ("printing", ReprintWithdrawnSchema),
    "document_ready_for_pickup": ("printing", DocumentReadyForPickupSchema),
    "document_collected": ("printing", DocumentCollectedSchema),
    "parcel_dispatched": ("courier", ParcelDispatchedSchema),
    "parcel_picked_up": ("courier", ParcelPickedUpSchema),
    "parcel_delivered": ("courier", ParcelDeliveredSchema),
    "parcel_delivery_failed": ("courier", ParcelDeliveryFailedSchema),
    "parcel_returned": ("courier", ParcelReturnedSchema),
    "manifest_sent_by_pos": ("courier", ManifestSentByPosSchema),
    "manifest_pos_confirmed": ("printing", ManifestPosConfirmedSchema),
    "manifest_pos_refused": ("printing", ManifestPosRefusedSchema),
    "notification_sent": ("notification", NotificationSentSchema),
    "notification_failed": ("notification", NotificationFailedSchema),
    "recording_appointment_booked": ("intake", RecordingAppointmentBookedSchema),
    "recording_appointment_cancelled": ("intake", RecordingAppointmentCancelledSchema),
    "batch_accepted": ("intake", BatchAcceptedSchema),
    "prr_record_imported": ("printing", PrrRecordImportedSchema),
    "prr_record_imported_without_phone": ("printing", PrrRecordImportedWithoutPhoneSchema),
    "prr_record_refused": ("intake", PrrRecordRefusedSchema),
    "tracking_code_resend_requested": ("intake", TrackingCodeResendRequestedSchema),
    "pickup_rescheduled": ("printing", PickupRescheduledSchema),
    "batch_ready_for_kelurahan": ("printing", BatchReadyForKelurahanSchema),
    "kecamatan_handover_ready": ("printing", KecamatanHandoverReadySchema),
    "blanko_low": ("printing", BlankoLowSchema),
}


def source_of(event_type: str) -> str:
    return EVENTS[event_type][0]


def build_event(event_type: str, **payload) -> dict:
    """A new event payload, validated against its schema before it is stored.

    Validating at the producer means a malformed event fails the producer's
    transaction instead of poisoning a consumer's queue.
    """
    schema = schema_of(event_type)
    event = {
        "event_id": uuid.uuid4().hex,
        "schema_version": SCHEMA_VERSION,
        "occurred_at": utcnow().isoformat(),
        **payload,
    }
    # producers must not misspell a field: consumers would silently drop it
    return schema.load(event, unknown=RAISE)


def load_event(event_type: str, body: dict) -> dict:
    """Validate an incoming event payload; raises ``marshmallow.ValidationError``."""
    return schema_of(event_type).load(body)


@functools.cache
def schema_of(event_type: str) -> Schema:
    """The schema of ``event_type``, made once per process: a marshmallow
    schema keeps nothing of one load for the next, and making one (its
    fields, then its nested schemas on their first load) cost more than
    loading the event (py-spy, intake at 25 applications/s: 6 % of its
    CPU went to making the schemas of the events it built and loaded)."""
    return EVENTS[event_type][1]()
