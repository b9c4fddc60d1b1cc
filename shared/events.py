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

import uuid

from marshmallow import EXCLUDE, RAISE, Schema, fields, validate

from .clock import utcnow

SCHEMA_VERSION = 1

DOCUMENT_TYPES = ("ktp_el", "akta_kelahiran", "akta_kematian", "skpwni", "kia")
DELIVERY_METHODS = ("pickup", "pos")
LANGUAGES = ("id", "en")


class EventSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    event_id = fields.String(required=True)
    schema_version = fields.Integer(required=True)
    occurred_at = fields.String(required=True)


class ContactSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    phone = fields.String(allow_none=True, load_default=None)  # E.164, +62...
    email = fields.String(allow_none=True, load_default=None)
    language = fields.String(load_default="id", validate=validate.OneOf(LANGUAGES))


class SlotSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    place = fields.String(required=True)
    address = fields.String(required=True)
    date = fields.String(required=True)  # ISO date, local (WIB)
    start = fields.String(required=True)  # "09:00"
    end = fields.String(required=True)


class ApplicationRef(EventSchema):
    application_id = fields.String(required=True)
    tracking_code = fields.String(required=True)
    document_type = fields.String(required=True, validate=validate.OneOf(DOCUMENT_TYPES))


class ApplicationSubmitted(ApplicationRef):
    channel = fields.String(required=True)
    kecamatan_code = fields.String(allow_none=True, load_default=None)


class ApplicationVerified(ApplicationRef):
    nik = fields.String(required=True)
    full_name = fields.String(required=True)
    contact = fields.Nested(ContactSchema, required=True)
    delivery_method = fields.String(required=True, validate=validate.OneOf(DELIVERY_METHODS))
    delivery_address = fields.Dict(allow_none=True, load_default=None)
    verified_by = fields.String(required=True)


class ApplicationRejected(ApplicationRef):
    reasons = fields.List(fields.String(), required=True)
    contact = fields.Nested(ContactSchema, required=True)


class PrintJobRef(ApplicationRef):
    print_job_id = fields.String(required=True)


class PrintJobQueued(PrintJobRef):
    pass


class DocumentPrinted(PrintJobRef):
    station_id = fields.String(required=True)


class PrintJobFailed(PrintJobRef):
    station_id = fields.String(required=True)
    reason = fields.String(required=True)
    requeued = fields.Boolean(required=True)


class DocumentReadyForPickup(PrintJobRef):
    full_name = fields.String(required=True)
    contact = fields.Nested(ContactSchema, required=True)
    slot = fields.Nested(SlotSchema, required=True)


class DocumentCollected(PrintJobRef):
    collected_by = fields.String(required=True)


class ParcelRef(ApplicationRef):
    shipment_id = fields.String(required=True)
    barcode = fields.String(allow_none=True, load_default=None)


class ParcelDispatched(ParcelRef):
    pass


class ParcelDelivered(ParcelRef):
    pass


class ParcelDeliveryFailed(ParcelRef):
    reason = fields.String(required=True)


class NotificationOutcome(EventSchema):
    application_id = fields.String(required=True)
    tracking_code = fields.String(required=True)
    notification_id = fields.String(required=True)
    channel = fields.String(required=True, validate=validate.OneOf(("sms", "email", "whatsapp")))
    about = fields.String(required=True)  # the event type the message was about


class NotificationSent(NotificationOutcome):
    pass


class NotificationFailed(NotificationOutcome):
    reason = fields.String(required=True)


# event name -> (emitting service, payload schema)
EVENTS: dict[str, tuple[str, type[EventSchema]]] = {
    "application_submitted": ("intake", ApplicationSubmitted),
    "application_verified": ("intake", ApplicationVerified),
    "application_rejected": ("intake", ApplicationRejected),
    "print_job_queued": ("printing", PrintJobQueued),
    "document_printed": ("printing", DocumentPrinted),
    "print_job_failed": ("printing", PrintJobFailed),
    "document_ready_for_pickup": ("printing", DocumentReadyForPickup),
    "document_collected": ("printing", DocumentCollected),
    "parcel_dispatched": ("courier", ParcelDispatched),
    "parcel_delivered": ("courier", ParcelDelivered),
    "parcel_delivery_failed": ("courier", ParcelDeliveryFailed),
    "notification_sent": ("notification", NotificationSent),
    "notification_failed": ("notification", NotificationFailed),
}


def source_of(event_type: str) -> str:
    return EVENTS[event_type][0]


def build_event(event_type: str, **payload) -> dict:
    """A new event payload, validated against its schema before it is stored.

    Validating at the producer means a malformed event fails the producer's
    transaction instead of poisoning a consumer's queue.
    """
    schema = EVENTS[event_type][1]()
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
    return EVENTS[event_type][1]().load(body)
