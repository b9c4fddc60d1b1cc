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


class ApplicationRefSchema(EventSchema):
    application_id = fields.String(required=True)
    tracking_code = fields.String(required=True)
    document_type = fields.String(required=True, validate=validate.OneOf(DOCUMENT_TYPES))


class ApplicationSubmittedSchema(ApplicationRefSchema):
    channel = fields.String(required=True)
    kecamatan_code = fields.String(allow_none=True, load_default=None)


class ApplicationVerifiedSchema(ApplicationRefSchema):
    nik = fields.String(required=True)
    full_name = fields.String(required=True)
    contact = fields.Nested(ContactSchema, required=True)
    delivery_method = fields.String(required=True, validate=validate.OneOf(DELIVERY_METHODS))
    delivery_address = fields.Dict(allow_none=True, load_default=None)
    verified_by = fields.String(required=True)


class ApplicationRejectedSchema(ApplicationRefSchema):
    reasons = fields.List(fields.String(), required=True)
    contact = fields.Nested(ContactSchema, required=True)


class PrintJobRefSchema(ApplicationRefSchema):
    print_job_id = fields.String(required=True)


class PrintJobQueuedSchema(PrintJobRefSchema):
    pass


class DocumentPrintedSchema(PrintJobRefSchema):
    station_id = fields.String(required=True)


class PrintJobFailedSchema(PrintJobRefSchema):
    station_id = fields.String(required=True)
    reason = fields.String(required=True)
    requeued = fields.Boolean(required=True)


class DocumentReadyForPickupSchema(PrintJobRefSchema):
    full_name = fields.String(required=True)
    contact = fields.Nested(ContactSchema, required=True)
    slot = fields.Nested(SlotSchema, required=True)


class DocumentCollectedSchema(PrintJobRefSchema):
    collected_by = fields.String(required=True)


class ParcelRefSchema(ApplicationRefSchema):
    shipment_id = fields.String(required=True)
    barcode = fields.String(allow_none=True, load_default=None)


class ParcelDispatchedSchema(ParcelRefSchema):
    pass


class ParcelDeliveredSchema(ParcelRefSchema):
    pass


class ParcelDeliveryFailedSchema(ParcelRefSchema):
    reason = fields.String(required=True)


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


# event name -> (emitting service, payload schema)
EVENTS: dict[str, tuple[str, type[EventSchema]]] = {
    "application_submitted": ("intake", ApplicationSubmittedSchema),
    "application_verified": ("intake", ApplicationVerifiedSchema),
    "application_rejected": ("intake", ApplicationRejectedSchema),
    "print_job_queued": ("printing", PrintJobQueuedSchema),
    "document_printed": ("printing", DocumentPrintedSchema),
    "print_job_failed": ("printing", PrintJobFailedSchema),
    "document_ready_for_pickup": ("printing", DocumentReadyForPickupSchema),
    "document_collected": ("printing", DocumentCollectedSchema),
    "parcel_dispatched": ("courier", ParcelDispatchedSchema),
    "parcel_delivered": ("courier", ParcelDeliveredSchema),
    "parcel_delivery_failed": ("courier", ParcelDeliveryFailedSchema),
    "notification_sent": ("notification", NotificationSentSchema),
    "notification_failed": ("notification", NotificationFailedSchema),
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
