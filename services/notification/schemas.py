"""What notification's HTTP API answers (marshmallow, dump only), and the
failed list's query. The delivery log shows how a message went, never what
it said nor to whom."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields

from shared.fields import JsonBoolean
from shared.paging import Cursor, PageLimit

from .callbacks import wamid_digest

MAX_PAGE = 100


class AttemptSchema(Schema):
    at = fields.DateTime()
    ok = JsonBoolean()
    reason = fields.String()


class LoggedMessageSchema(Schema):
    """Every field in every message (docs/api.md): what a message has not
    had yet (sent, an error, a hold) is null, not left out."""
    notification_id = fields.String(attribute="_id")
    about = fields.String()  # the event type
    template = fields.String(attribute="kind")
    channel = fields.String()
    status = fields.String()  # pending, held, sent, failed, superseded, withdrawn
    created_at = fields.DateTime()
    sent_at = fields.DateTime(dump_default=None)
    # a WhatsApp message's as a digest: Meta's id encodes the phone number
    gateway_id = fields.Method("gateway_reference")
    last_error = fields.String(dump_default=None)
    held_reason = fields.String(dump_default=None)
    due_at = fields.DateTime(dump_default=None)
    # a held message not sent after all (superseded, withdrawn): when, and
    # the newer notice's notification_id or the event that ended its application
    dropped_at = fields.DateTime(dump_default=None)
    dropped_because = fields.String(dump_default=None)
    # a stand-in: the notification_id of the message it took over from
    # (given up, or reported failed by WhatsApp after it was sent)
    fallback_for = fields.String(dump_default=None)
    # WhatsApp's status callbacks: when the message reached the phone, and
    # when it was read (docs/whatsapp-webhook.md)
    delivered_at = fields.DateTime(dump_default=None)
    read_at = fields.DateTime(dump_default=None)

    @staticmethod
    def gateway_reference(row: dict) -> str | None:
        reference = row.get("provider_ref")
        if reference is None or row.get("channel") != "whatsapp":
            return reference
        return wamid_digest(reference)
    attempts = fields.List(fields.Nested(AttemptSchema), dump_default=list)


class DeliveryLogSchema(Schema):
    application_id = fields.String()
    messages = fields.List(fields.Nested(LoggedMessageSchema))


class FailedQuerySchema(Schema):
    """``GET /api/v1/notifications/failed`` query parameters."""

    class Meta:
        unknown = RAISE

    limit = PageLimit(MAX_PAGE, MAX_PAGE)
    cursor = Cursor()


class FailedMessageSchema(LoggedMessageSchema):
    application_id = fields.String()
    tracking_code = fields.String()
    failed_at = fields.DateTime()


class FailedMessagesSchema(Schema):
    messages = fields.List(fields.Nested(FailedMessageSchema))
    next_cursor = fields.String(allow_none=True)


class CountersSchema(Schema):
    day = fields.String()  # WIB
    sms_sent = fields.Integer()
    daily_budget = fields.Integer()
    per_phone_per_hour = fields.Integer()
    held_by_daily_budget = fields.Integer()
    held_by_phone_limit = fields.Integer()
    held_now = fields.Dict(keys=fields.String(), values=fields.Integer())
