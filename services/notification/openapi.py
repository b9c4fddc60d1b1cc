"""The notification API as an OpenAPI 3 document (``shared.openapi`` builds
it), served at ``GET /api/v1/openapi.json`` (outside audit D: notification
served none, its routes were in prose only); docs/api.md ("Notification:
what was sent") and docs/whatsapp-webhook.md keep what the document cannot
carry (the statuses, the re-send, Meta's set-up and signing in full).

``OPERATIONS`` lists every HTTP path and method of ``NotificationApi``; a
unit test walks its entrypoints and fails on a route this list lacks (or a
listed one no entrypoint serves). The answers are described below as
``schemas`` renders them: every field of a logged message is there, null
when it has not happened (``LoggedMessageSchema``).
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from shared.fields import JsonBoolean
from shared.http import NoBodySchema
from shared.openapi import (META_OPERATIONS, OPERATOR_BEARER, Api, Operation, cached_document,
                            error_answers, signed_in)

from .callbacks import SIGNATURE_HEADER
from .schemas import FailedQuerySchema

VERSION = "1.0.0"
OPERATOR, META_SIGNATURE = "operator", "metaSignature"
SECURITY_SCHEMES = {
    OPERATOR: OPERATOR_BEARER,
    META_SIGNATURE: signed_in(SIGNATURE_HEADER, (
        "Meta's signature of a WhatsApp Cloud API delivery, `sha256=<hex>`: HMAC-SHA256 of the "
        "raw body with the Meta app's secret (config WHATSAPP_APP_SECRET); "
        "docs/whatsapp-webhook.md.")),
}
ERRORS = error_answers({
    403: "Meta's handshake with a wrong verify token or mode (counted per client).",
    404: "No such message (`notification_id`).",
    409: "`conflict`: the message is not `failed` (the message names its status).",
}, unavailable="this kind of request's admission budget is full, or the database is "
               "unreachable or does not answer in time.")
MESSAGE_STATUSES = ("pending", "held", "sent", "failed", "superseded", "withdrawn")
CHANNELS = ("sms", "email", "whatsapp")
NULL_UNTIL = "null until it happens"


class AttemptSchema(Schema):
    at = fields.DateTime(required=True)
    ok = JsonBoolean(required=True)
    reason = fields.String(metadata={"description": "why it failed (a failed attempt)"})


class LoggedMessageSchema(Schema):
    notification_id = fields.String(required=True, metadata={
        "description": "`<event_id>.<channel>` (a hand-over list's notice to one of its "
                       "citizens: `<event_id>.<application_id>.<channel>`)"})
    about = fields.String(required=True, metadata={"description": "the event type"})
    template = fields.String(required=True)
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    status = fields.String(required=True, validate=validate.OneOf(MESSAGE_STATUSES))
    created_at = fields.DateTime(required=True)
    sent_at = fields.DateTime(required=True, allow_none=True, metadata={
        "description": NULL_UNTIL})
    gateway_id = fields.String(required=True, allow_none=True, metadata={
        "description": "the SMS gateway's message id, the e-mail's Message-ID, or for "
                       "WhatsApp `wamid#` and 12 hex digits of the SHA-256 of its message "
                       "id (Meta's id encodes the phone number)"})
    last_error = fields.String(required=True, allow_none=True)
    held_reason = fields.String(required=True, allow_none=True, metadata={
        "description": "`quiet_hours`, `phone_limit`, `daily_budget`, `email_limit`, `retry`, "
                       "`fallback`, `resend`: while it is held"})
    due_at = fields.DateTime(required=True, allow_none=True)
    dropped_at = fields.DateTime(required=True, allow_none=True)
    dropped_because = fields.String(required=True, allow_none=True)
    fallback_for = fields.String(required=True, allow_none=True, metadata={
        "description": "a stand-in: the notification_id of the message it took over from"})
    delivered_at = fields.DateTime(required=True, allow_none=True, metadata={
        "description": "WhatsApp's status callback"})
    read_at = fields.DateTime(required=True, allow_none=True, metadata={
        "description": "WhatsApp's status callback"})
    attempts = fields.List(fields.Nested(AttemptSchema), required=True)


class DeliveryLogSchema(Schema):
    application_id = fields.String(required=True)
    messages = fields.List(fields.Nested(LoggedMessageSchema), required=True)


class FailedMessageSchema(LoggedMessageSchema):
    application_id = fields.String(required=True)
    tracking_code = fields.String(required=True)
    failed_at = fields.DateTime(required=True)


class FailedMessagesSchema(Schema):
    messages = fields.List(fields.Nested(FailedMessageSchema), required=True)
    next_cursor = fields.String(required=True, allow_none=True, metadata={
        "description": "the page after this one (`cursor`); null on the last page"})


class ResentSchema(Schema):
    notification_id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(("held",)))
    held_reason = fields.String(required=True, validate=validate.OneOf(("resend",)))


class CountersSchema(Schema):
    day = fields.String(required=True, metadata={"description": "today, WIB (YYYY-MM-DD)"})
    sms_sent = fields.Integer(required=True)
    daily_budget = fields.Integer(required=True)
    per_phone_per_hour = fields.Integer(required=True)
    held_by_daily_budget = fields.Integer(required=True)
    held_by_phone_limit = fields.Integer(required=True)
    held_now = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True,
                           metadata={"description": "messages waiting now, by held_reason"})


class CallbackTakenSchema(Schema):
    statuses = fields.Integer(required=True, metadata={
        "description": "how many message statuses the delivery carried"})


HUB_PARAMETERS = [{"name": name, "in": "query", "required": True, "schema": {"type": "string"},
                   "description": description} for name, description in (
    ("hub.mode", "`subscribe`"),
    ("hub.verify_token", "the verify token set in the Meta app (config WHATSAPP_VERIFY_TOKEN)"),
    ("hub.challenge", "the text to echo: 1-128 letters, digits or `. _ ~ -` (Meta sends "
                      "digits)"))]
META_DELIVERY = {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "description": "A WhatsApp Cloud API webhook delivery "
                                     "(`object`: `whatsapp_business_account`, `entry`...)"}}}}

OPERATIONS: tuple[Operation, ...] = (
    Operation("GET", "/api/v1/whatsapp/webhook", "Meta's verification handshake", 200,
              {"type": "string", "description": "hub.challenge, echoed"}, (400, 403, 429),
              tag="whatsapp", media_type="text/plain", extra={"parameters": HUB_PARAMETERS}),
    Operation("POST", "/api/v1/whatsapp/webhook", "WhatsApp's status callbacks (signed)", 200,
              CallbackTakenSchema, (400, 413, 429), META_SIGNATURE, body=META_DELIVERY,
              tag="whatsapp", why={
                  401: "`bad_signature`: a missing, malformed or wrong X-Hub-Signature-256: "
                       "nothing recorded.",
                  503: "`not_yet_recorded`: a status about a message whose send notification "
                       "has not recorded yet (the other statuses of the delivery were "
                       "taken); `unavailable`: busy, or the database does not answer, "
                       "nothing recorded. Meta delivers it again."}),
    Operation("GET", "/api/v1/notifications/applications/<string:application_id>",
              "The delivery log of one application, oldest first", 200, DeliveryLogSchema,
              (400, 401, 429, 503), OPERATOR, tag="operator"),
    Operation("GET", "/api/v1/notifications/failed",
              "The messages given up, newest first, a page at a time", 200,
              FailedMessagesSchema, (400, 401, 429, 503), OPERATOR, query=FailedQuerySchema,
              tag="operator"),
    Operation("POST", "/api/v1/notifications/messages/<string:notification_id>/resend",
              "Send a message given up again", 200, ResentSchema,
              (400, 401, 404, 409, 429, 503),
              OPERATOR, tag="operator", body=NoBodySchema, body_required=False),
    Operation("GET", "/api/v1/notifications/counters", "Today's SMS cost guards", 200,
              CountersSchema, (400, 401, 429, 503), OPERATOR, tag="operator"),
    *META_OPERATIONS,
)


# the document served (built at the first request)
openapi_document = cached_document(Api(
    "Smartdukcapil notification API", VERSION,
    "What was sent to citizens and officers, and how it went (operators), and the WhatsApp "
    "Cloud API's webhook. Prose: docs/api.md (\"Notification: what was sent\") and "
    "docs/whatsapp-webhook.md.",
    "notification_api", SECURITY_SCHEMES, ERRORS, OPERATIONS))
