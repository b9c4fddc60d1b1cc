"""The courier API as an OpenAPI 3 document (``shared.openapi`` builds it),
served at ``GET /api/v1/openapi.json``; docs/courier-api.md keeps what the
document cannot carry (how a shipment comes about, statuses, retention,
the webhook's signing in full).

``OPERATIONS`` lists every HTTP path and method of ``CourierApi``; a unit
test walks its entrypoints and fails on a route this list lacks (or a listed
one no entrypoint serves). Request bodies and queries are the schemas the
entrypoints load; answers are the schemas below, which describe what
``schemas.shipment_view`` and ``manifest_view`` render.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from shared.fields import TRACKING_CODE, JsonBoolean
from shared.openapi import (META_OPERATIONS, OPERATOR_BEARER, Api, Operation, cached_document,
                            error_answers, signed_in)

from .domain import RETURN_REASONS, STATUSES
from .jemput_bola import CONFIRMED, REFUSED, REQUESTED
from .schemas import (AddressCorrectionSchema, KelurahanOfficeSchema, PosWebhookSchema,
                      ReturnedAtDinasSchema, ShipmentQuerySchema, StuckQuerySchema)
from .signatures import TOLERANCE_SECONDS
from .webhooks import SIGNATURE_HEADER

VERSION = "1.0.0"
OPERATOR, POS_SIGNATURE = "operator", "posSignature"
SECURITY_SCHEMES = {
    OPERATOR: OPERATOR_BEARER,
    POS_SIGNATURE: signed_in(SIGNATURE_HEADER, (
        "Pos Indonesia's signature, `t=<unix seconds>,v1=<hex>`: HMAC-SHA256 with the shared "
        "secret (config POS_WEBHOOK_SECRET) over `<t>.` and the raw body; more than one `v1=` "
        f"may be sent, one must match; `t` within {TOLERANCE_SECONDS} s of courier's clock.")),
}
ERRORS = error_answers({
    404: "Unknown shipment (id or barcode) or manifest.",
    409: "Conflict (`error.code` says which rule; the operation says which it answers).",
    422: "Pos refused the posting (it can never succeed as it stands).",
}, unavailable="this kind of request's admission budget is full (ADMISSION_LOOKUPS, "
               "ADMISSION_WRITES, ADMISSION_PARTNERS for Pos' webhook), or the database is "
               "unreachable or does not answer in time.")
NOT_YET_KNOWN = ("`not_yet_known`: a manifest id of intake's shape dated today or yesterday "
                 "(WIB) courier has not heard of yet (retry); ")
POS_BUSY = "`unavailable`: Pos could not be reached; the same request again is safe. "
BUSY = ("`unavailable`: the admission budget is full or the database does not answer; or "
        "`service_stopping`. Retry after `Retry-After`.")


class CollectionSchema(Schema):
    how = fields.String(required=True)
    at = fields.DateTime(required=True)


class CarriedSchema(Schema):
    """An application a shipment carries."""

    application_id = fields.String(required=True)
    tracking_code = fields.String(required=True, metadata=TRACKING_CODE)
    document_type = fields.String(required=True)
    collected = fields.Nested(CollectionSchema, metadata={
        "description": "once its document is in the citizen's hands"})


class DestinationSchema(Schema):
    subdistrict = fields.String(required=True, allow_none=True)
    district = fields.String(required=True, allow_none=True)
    city = fields.String(required=True, allow_none=True)


class HoldSchema(Schema):
    reason = fields.String(required=True, metadata={"example": "address_incomplete"})
    fields_missing = fields.List(fields.String(), required=True, data_key="fields")
    since = fields.DateTime(required=True)


class ReleasedSchema(Schema):
    by = fields.String(required=True, metadata={"description": "the operator"})
    at = fields.DateTime(required=True)
    corrected = fields.List(fields.String(), required=True,
                            metadata={"description": "the address fields the operator gave"})
    held_for = fields.List(fields.String(), required=True,
                           metadata={"description": "the fields it was held for"})


class ReturnedSchema(Schema):
    by = fields.String(required=True, metadata={"description": "the operator"})
    at = fields.DateTime(required=True)
    reason = fields.String(required=True, validate=validate.OneOf(RETURN_REASONS))


class ShipmentSchema(Schema):
    """``schemas.shipment_view``: no phone, no street."""

    shipment_id = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(("application", "manifest")))
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    barcode = fields.String(required=True, allow_none=True)
    applications = fields.List(fields.Nested(CarriedSchema), required=True)
    manifest_id = fields.String(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)
    dispatched_at = fields.DateTime(required=True, allow_none=True)
    picked_up_at = fields.String(required=True, allow_none=True, metadata={
        "description": "Pos' time (ISO 8601) of its earliest news that it has the parcel "
                       "(in transit or after; moved back when news of an earlier pickup "
                       "comes late); null until then: the parcel may still be at "
                       "the Dinas, its document may be printed again (reprint)"})
    awaits_reprint = fields.String(required=True, allow_none=True, metadata={
        "description": "a citizen's pending or held shipment whose document an operator "
                       "sent back to print (reprint) at this time (ISO 8601): posted with "
                       "the reprint's print, not the one before; a manifest's parcel Pos "
                       "has not taken: since its first member was sent back to print, "
                       "until every one is printed again (or Pos took the parcel before); "
                       "null otherwise"})
    last_news_at = fields.DateTime(required=True)
    personal_data_purged_at = fields.DateTime(required=True, allow_none=True)
    destination = fields.Nested(DestinationSchema, required=True)
    hold = fields.Nested(HoldSchema, metadata={"description": "a held shipment only"})
    released = fields.Nested(ReleasedSchema, metadata={
        "description": "a shipment held, then released by an operator, only"})
    returned_at_dinas = fields.Nested(ReturnedSchema, metadata={
        "description": "a shipment an operator recorded back at the Dinas "
                       "(POST .../returned), only"})


class HistoryEntrySchema(Schema):
    status = fields.String(required=True)
    at = fields.String(required=True, metadata={
        "description": "Pos' time, ISO 8601 (an operator's entry: when it was recorded)"})
    location = fields.String(required=True, allow_none=True)
    note = fields.String(required=True, allow_none=True)
    source = fields.String(required=True, validate=validate.OneOf(("webhook", "poll",
                                                                  "operator")))
    stale = JsonBoolean(required=True, allow_none=True)
    received_at = fields.DateTime(required=True)
    by = fields.String(metadata={"description": "the operator, for an entry of source "
                                               "`operator` (the parcel back at the Dinas) only"})


class ShipmentWithHistorySchema(ShipmentSchema):
    history = fields.List(fields.Nested(HistoryEntrySchema), required=True)


class ShipmentPageSchema(Schema):
    shipments = fields.List(fields.Nested(ShipmentSchema), required=True)
    next_cursor = fields.String(required=True, allow_none=True)


class StuckSchema(Schema):
    days = fields.Float(required=True, metadata={"description": "as given: 3, not 3.0"})
    shipments = fields.List(fields.Nested(ShipmentSchema), required=True)
    next_cursor = fields.String(required=True, allow_none=True, metadata={
        "description": "the page after this one (`cursor`); null on the last page"})


class ByPosSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf((REQUESTED, CONFIRMED,
                                                                   REFUSED)))
    decided_by = fields.String(required=True)
    decided_at = fields.DateTime(required=True, allow_none=True)
    answered_at = fields.DateTime(required=True, allow_none=True)
    reason = fields.String(required=True, allow_none=True)


class AtDinasSchema(Schema):
    day = fields.String(required=True, allow_none=True)
    at_office_from = fields.String(required=True, allow_none=True)


class ManifestSchema(Schema):
    """``schemas.manifest_view``."""

    manifest_id = fields.String(required=True)
    kelurahan_code = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf((
        "undecided", REQUESTED, "waiting_for_print", "shipment", "collected_at_dinas")))
    not_printed = fields.List(fields.String(), required=True,
                              metadata={"description": "the members still expected: neither printed "
                                                     "nor dropped; one sent back to print "
                                                     "(reprint) until its reprint is printed"})
    by_pos = fields.Nested(ByPosSchema, required=True, allow_none=True)
    at_dinas = fields.Nested(AtDinasSchema, required=True, allow_none=True)
    shipment = fields.Nested(ShipmentSchema, required=True, allow_none=True)


class WebhookReceivedSchema(Schema):
    received = fields.String(required=True, metadata={"description": "the eventId"})
    status = fields.String(required=True, validate=validate.OneOf(STATUSES),
                           metadata={"description": "the shipment's status"})


OPERATIONS: tuple[Operation, ...] = (
    Operation("POST", "/api/v1/pos/webhook", "A tracking event from Pos Indonesia", 200,
              WebhookReceivedSchema, (400, 404, 413), POS_SIGNATURE, body=PosWebhookSchema,
              tag="pos", why={
                  401: "`bad_signature`: no or a malformed signature, a wrong one, or `t` "
                       "outside the tolerance: nothing stored.",
                  409: "`replayed`: this eventId was received before (kept 7 days): do not "
                       "retry.",
                  429: "`too_many_attempts`: this client failed the signature check "
                       "WEBHOOK_FAILURES_PER_CLIENT times within "
                       "WEBHOOK_FAILURE_WINDOW_SECONDS.",
                  503: "`not_yet_known`: no shipment has this barcode yet while a posting is "
                       "in doubt (send it again); " + BUSY}),
    Operation("GET", "/api/v1/shipments", "Shipments, newest first, a page at a time", 200,
              ShipmentPageSchema, (400, 401, 429, 503), OPERATOR, query=ShipmentQuerySchema,
              tag="operator"),
    Operation("GET", "/api/v1/shipments/stuck",
              "Shipments with no news for `days`, oldest news first, a page at a time", 200,
              StuckSchema, (400, 401, 429, 503), OPERATOR, query=StuckQuerySchema,
              tag="operator"),
    Operation("GET", "/api/v1/shipments/<string:shipment_id>",
              "One shipment (by id or barcode) with its tracking history", 200,
              ShipmentWithHistorySchema, (400, 401, 404, 429, 503), OPERATOR, tag="operator"),
    Operation("POST", "/api/v1/shipments/<string:shipment_id>/release",
              "Correct a held shipment's address and post it", 200, ShipmentSchema,
              (400, 401, 404, 422, 429), OPERATOR, body=AddressCorrectionSchema,
              body_required=False,
              tag="operator", why={409: "`not_held`: the shipment is not held.",
                                   503: POS_BUSY + BUSY}),
    Operation("POST", "/api/v1/shipments/<string:shipment_id>/returned",
              "Record a parcel of Pos' back at the Dinas (Pos never said RETURNED)", 200,
              ShipmentWithHistorySchema, (400, 401, 404, 429, 503), OPERATOR,
              body=ReturnedAtDinasSchema,
              tag="operator", extra={"description": (
                  "The shipment (dispatched, in transit or delivery failed) becomes `returned` "
                  "and `parcel_returned` is emitted, as for Pos' RETURNED: printing gives its "
                  "document a window at the Dinas counter and tells the citizen. The same "
                  "request again answers 200 with the shipment, nothing emitted again. The "
                  "shipment comes with its history, ending in the operator's entry.")},
              why={409: "`final`: the shipment is delivered, returned (by Pos), or its "
                        "documents are collected - the message names its status; "
                        "`not_posted`: held or pending, Pos never had it."}),
    Operation("POST", "/api/v1/manifests/<string:manifest_id>/send-by-pos",
              "Send a kelurahan's jemput-bola batch by Pos", 200, ShipmentSchema,
              (400, 401, 404, 422, 429), OPERATOR, body=KelurahanOfficeSchema,
              tag="operator",
              other_answers={202: ("No parcel yet (`requested`: printing has not "
                                   "answered; `waiting_for_print`): the manifest's view",
                                   ManifestSchema)},
              extra={"description": "200: the manifest's shipment; 202: the manifest (not "
                                    "yet a yes: follow it with GET .../manifests/{id})."},
              why={409: "`collected_at_dinas`: printing released the manifest for its "
                        "kelurahan's officer: nothing recorded or posted.",
                   503: NOT_YET_KNOWN + POS_BUSY + BUSY}),
    Operation("GET", "/api/v1/manifests/<string:manifest_id>",
              "How a jemput-bola batch goes back to its kelurahan", 200, ManifestSchema,
              (400, 401, 404, 429), OPERATOR, tag="operator", why={503: NOT_YET_KNOWN + BUSY}),
    *META_OPERATIONS,
)


# the document served (built at the first request)
openapi_document = cached_document(Api(
    "Smartdukcapil courier API", VERSION,
    "Pos Indonesia's signed tracking webhook, and the operators' view of shipments and "
    "jemput-bola manifests sent by Pos. Prose (how a shipment comes about, statuses, "
    "retention): docs/courier-api.md.",
    "courier_api", SECURITY_SCHEMES, ERRORS, OPERATIONS))
