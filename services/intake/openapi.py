"""The intake API as an OpenAPI 3 document, generated from its marshmallow
schemas (apispec and its marshmallow plugin). Served at
``GET /api/v1/openapi.json``; docs/api.md keeps what the document cannot
carry (auth, idempotency, limits, the rules behind the 400s).

``OPERATIONS`` lists every HTTP path and method of ``IntakeApi``
(``shared.openapi`` builds the document and has what the services' documents
share); a unit test walks the service's entrypoints and fails on a route this
list lacks (or a listed one no entrypoint serves). Request bodies are the schemas the
entrypoints load; answers are the response schemas below, which describe
what ``views``/``domain`` render (no handler uses them to dump).
"""

from __future__ import annotations

import copy
import datetime
import functools

from marshmallow import RAISE, Schema, fields, validate

from shared.events import DOCUMENT_TYPES, SlotSchema
from shared.fields import (IDENTITY_NUMBER, TRACKING_CODE, TRACKING_CODE_TYPED, IsoDate,
                           ItemCount, JsonBoolean)
from shared import openapi as shared_openapi
from shared.clock import today_wib
from shared.http import NoBodySchema
from shared.openapi import (BINARY, META_OPERATIONS, Api, Operation, bearer, build_document,
                            error_answers, schema_name)

from . import (api_appointments, api_documents, api_resend, appointments, batches,
               queue_schemas, reasons, schemas)
from .api_examples import submit_examples
from .detail_schemas import DETAIL_SCHEMAS
from .domain import APPLICATION_STATUSES

VERSION = "1.0.0"
OPERATOR, KELURAHAN_OFFICER, KECAMATAN_OFFICER = "operator", "kelurahanOfficer", "kecamatanOfficer"
SERVICE = "service"
# an operator's token, or another service's (the documents endpoints)
OPERATOR_OR_SERVICE = (OPERATOR, SERVICE)
SECURITY_SCHEMES = {
    OPERATOR: bearer("An operator's token (config OPERATOR_TOKENS)."),
    SERVICE: bearer("Another service's token (config SERVICE_TOKENS): printing reads a KIA's "
                    "photo through the documents endpoints."),
    KELURAHAN_OFFICER: bearer("A kelurahan officer's token, scoped to one kelurahan "
                              "(config KELURAHAN_OFFICER_TOKENS)."),
    KECAMATAN_OFFICER: bearer("A kecamatan officer's token, scoped to one kecamatan "
                              "(config KECAMATAN_OFFICER_TOKENS)."),
}
# error answers: status -> when (the body is always ``Error``)
ERRORS = error_answers({
    403: "An officer's request for someone outside their region.",
    404: "Unknown application (or tracking code and NIK that do not match).",
    409: "Conflict (`error.code` says which rule): an active application for this "
         "subject (`conflict`), a birth already registered here (`birth_already_registered`), "
         "a first KTP-el for a NIK that has one (`card_already_issued`), the "
         "application is not in the status the action needs (`conflict`), no room for "
         "another document (`document_limit_reached`), a card verified before its photo was uploaded "
         "(`photo_not_uploaded`), a certificate verified before the name it prints of the "
         "deceased or a parent is known (`printed_name_missing`), or a recording rule (`day_full` "
         "and `day_closed` add `error.next_free_day`).",
}, refused_types="JSON endpoints: anything but application/json, or a charset other than "
                 "utf-8; a jemput-bola batch's CSV: a charset other than utf-8 or us-ascii; "
                 "the upload: anything but multipart/form-data",
   unavailable="this kind of request's admission budget is full (ADMISSION_WRITES, "
               "ADMISSION_LOOKUPS, ADMISSION_STAFF), the database is unreachable or does not "
               "answer in time, or - a new application (a submit, a next-day request, a "
               "jemput-bola batch) - the pipeline behind intake is too far behind "
               "(PIPELINE_BACKLOG_LIMIT) or more of intake's own events than "
               "OUTBOX_BACKLOG_LIMIT are past their hand-over to the broker, not yet "
               "published.")


class ErrorDetailSchema(shared_openapi.ErrorDetailSchema):
    next_free_day = IsoDate(allow_none=True, metadata={
        "description": "`day_full` and `day_closed` (a recording appointment) only: the next "
                       "working day with room at that place, or null (appointments.DayFull)"})


class ErrorSchema(Schema):
    error = fields.Nested(ErrorDetailSchema, required=True)


class AcceptedSchema(Schema):
    application_id = fields.String(required=True)
    tracking_code = fields.String(required=True, metadata=TRACKING_CODE)
    status = fields.String(required=True, metadata={"example": "submitted"})


class NextDayAcceptedSchema(AcceptedSchema):
    next_day = JsonBoolean()
    pickup_place = fields.Dict(metadata={
        "description": "where the kecamatan's officer collects the printed card (the "
                       "Disdukcapil), not the citizen: the citizen collects it at the kecamatan "
                       "office, from the officer"})


class StepSchema(Schema):
    status = fields.String(required=True)
    label = fields.String(required=True)
    at = fields.String(required=True, metadata={"description": "ISO-8601 time"})
    detail = fields.Dict(metadata={"description": "what the step shows (slot, barcode, "
                                                  "reasons ...); never who acted"})
    withdrawn = JsonBoolean(metadata={
        "description": "only on a `printed` step, always `true`: the print of a reprint "
                       "withdrawn because Pos took the parcel with the print before "
                       "(`reprint_withdrawn` step); that print is not valid"})


class StatusViewSchema(AcceptedSchema):
    """What ``domain.public_view`` renders."""

    document_type = fields.String(required=True)
    status_label = fields.String(required=True)
    pickup_place = fields.Dict(metadata={
        "description": "a citizen's own application collected in person: the office they "
                       "chose (`delivery.place_id`, the Disdukcapil by default) - `place_id`, "
                       "`name`, `address`, `opens`, `closes`; absent for Pos (until its parcel "
                       "comes back: the Disdukcapil counter) and for an officer's "
                       "application"})
    pickup_slot = fields.Nested(SlotSchema, metadata={
        "description": "once known: the current pickup window (none once printing was "
                       "cancelled, `print_cancelled`)"})
    parcel_barcode = fields.String(metadata={"description": "once known: the Pos barcode"})
    timeline = fields.List(fields.Nested(StepSchema), required=True)


class QueueRowSchema(Schema):
    """What ``views.queue_row`` renders."""

    application_id = fields.String(required=True)
    tracking_code = fields.String(required=True, metadata=TRACKING_CODE)
    document_type = fields.String(required=True, validate=validate.OneOf(DOCUMENT_TYPES))
    status = fields.String(required=True, validate=validate.OneOf(APPLICATION_STATUSES))
    status_label = fields.String(required=True)
    channel = fields.String(required=True)
    full_name = fields.String(required=True)
    nik_masked = fields.String(required=True, metadata={
        "description": "the applicant's NIK, masked", "example": "3673********0001"})
    kecamatan_code = fields.String(required=True, allow_none=True)
    kelurahan_code = fields.String(required=True, allow_none=True)
    flags = fields.List(fields.String(), required=True)
    documents_count = fields.Integer(required=True)
    queued_at = fields.String(required=True, metadata={"description": "ISO-8601 time"})
    submitted_at = fields.String(required=True, metadata={"description": "ISO-8601 time"})


class QueuePageSchema(Schema):
    applications = fields.List(fields.Nested(QueueRowSchema), required=True)
    next_cursor = fields.String(allow_none=True)


class OperatorViewSchema(Schema):
    class Meta:
        description = "The whole application: fields, documents, timeline with who acted."

    application_id = fields.String(required=True)
    status = fields.String(required=True)
    documents = fields.List(fields.Dict())
    timeline = fields.List(fields.Dict(), metadata={
        "description": "each step's whole detail: `by` (who acted: an operator id, "
                       "`citizen`; on a print's release, reprint and cancel the operator); "
                       "a print step's `print_job_id`, a failure's or hold's `print_reason` and "
                       "`station_id`, a print's `station_id` (docs/api.md)"})


class ReasonListSchema(Schema):
    reasons = fields.List(fields.Dict(), required=True)


class DocumentListSchema(Schema):
    documents = fields.List(fields.Dict(), required=True)
    photo_required = JsonBoolean(
        required=True, metadata={"description": "The card prints an uploaded photo (a KIA "
                                                "from age 5): printing refuses it without one."})


class UploadedSchema(Schema):
    application_id = fields.String(required=True)
    tracking_code = fields.String(required=True, metadata=TRACKING_CODE)
    document = fields.Dict(required=True)
    documents = fields.List(fields.Dict(), required=True)


class BookingViewSchema(Schema):
    appointment_id = fields.String(required=True)
    booking_code = fields.String(required=True)
    status = fields.String(required=True)
    day = IsoDate(required=True)
    place = fields.Dict(required=True)


class AvailabilityViewSchema(Schema):
    place = fields.Dict(required=True)
    days = fields.List(fields.Dict(), required=True)


class PlaceDayBookingSchema(Schema):
    """What ``appointments.operator_row`` renders."""

    appointment_id = fields.String(required=True)
    booking_code = fields.String(required=True, metadata={
        "description": "The `REK…` code the citizen shows at the counter"})
    status = fields.String(required=True, validate=validate.OneOf(
        ("booked", *appointments.ENDINGS)))
    end_reason = fields.String(required=True, allow_none=True, validate=validate.OneOf(
        tuple(appointments.OFFICE_REASONS)), metadata={
            "description": "an operator's reason for a `cancelled` booking (the day closed); "
                           "null otherwise"})
    nik_masked = fields.String(required=True, metadata={"description": "the NIK, masked",
                                                         "example": "3673********0006"})
    full_name = fields.String(required=True)
    day = IsoDate(required=True)
    place_id = fields.String(required=True)
    created_at = fields.String(required=True, metadata={"description": "ISO-8601 time"})
    ended_at = fields.String(required=True, allow_none=True, metadata={
        "description": "ISO-8601 time it was replaced or cancelled; null while it stands"})


class PlaceDayPageSchema(Schema):
    appointments = fields.List(fields.Nested(PlaceDayBookingSchema), required=True)
    next_cursor = fields.String(required=True, allow_none=True)


class DayClosedSchema(Schema):
    place_id = fields.String(required=True)
    day = IsoDate(required=True)
    reason = fields.String(required=True, validate=validate.OneOf(
        tuple(appointments.OFFICE_REASONS)))
    closed = JsonBoolean(required=True)
    cancelled_now = fields.Integer(required=True, metadata={
        "description": "bookings this request cancelled (0 when sent again)"})
    cancelled = fields.Integer(required=True, metadata={
        "description": "all the day's bookings cancelled for this reason, by this request "
                       "or an earlier one"})


class BatchReplySchema(Schema):
    batch_id = fields.String(required=True)
    manifest_id = fields.String(required=True, allow_none=True)  # null: no row accepted
    kelurahan_code = fields.String(required=True)
    rows = fields.Integer(required=True)
    status = fields.String(required=True, validate=validate.OneOf(("done", "processing")),
                           metadata={"description": "`processing`: still being stored (a GET "
                                     "meanwhile): `accepted` the rows stored so far, "
                                     "`rejected` empty until it is done"})
    accepted = fields.List(fields.Dict(), required=True)
    rejected = fields.List(fields.Dict(), required=True)
    accepted_count = fields.Integer(required=True)
    rejected_count = fields.Integer(required=True)


class BatchMemberSchema(Schema):
    row = fields.Integer(required=True)
    line = fields.Integer(metadata={"description": "a CSV batch's line"})
    application_id = fields.String(required=True)
    tracking_code = fields.String(required=True, metadata=TRACKING_CODE)
    document_type = fields.String(required=True, validate=validate.OneOf(DOCUMENT_TYPES))
    status = fields.String(required=True, validate=validate.OneOf(APPLICATION_STATUSES))
    status_label = fields.String(required=True)
    reasons = fields.List(fields.String(), required=True, allow_none=True, metadata={
        "description": "a rejected member's reasons (the catalogue's texts, in the request's "
                       "language); null for any other status"})


class BatchMembersSchema(Schema):
    batch_id = fields.String(required=True)
    manifest_id = fields.String(required=True, allow_none=True)  # null: no row accepted
    applications = fields.List(fields.Nested(BatchMemberSchema), required=True)


# request bodies an entrypoint takes as they come and checks row by row or
# field by field itself (``batches``): what they must be, described here


class NextDayDetailsSchema(schemas.KtpElDetailsSchema):
    reason = fields.String(required=True, validate=validate.OneOf(("first_issue",)),
                           metadata={"description": "A first KTP-el only."})


class NextDayRequestSchema(Schema):
    """``batches.check_next_day``: a submission's body without ``channel``
    (always ``kecamatan``) and ``delivery`` (collected at the Dinas)."""

    class Meta:
        unknown = RAISE

    document_type = fields.String(validate=validate.OneOf(("ktp_el",)),
                                  metadata={"description": "May be left out: KTP-el only."})
    applicant = fields.Nested(schemas.ApplicantSchema, required=True)
    details = fields.Nested(NextDayDetailsSchema, required=True)
    address = fields.Nested(batches.ROW_ADDRESS, metadata={
        "description": "The applicant's address, optional: its kecamatan or the NIK's must "
                       "be the officer's."})


class BatchRowSchema(Schema):
    """``batches.check_batch_row``: a submission's body without ``channel``
    (always ``kelurahan``), plus the applicant's address."""

    class Meta:
        unknown = RAISE  # no ``description`` here: apispec then leaves additionalProperties out

    document_type = fields.String(required=True, validate=validate.OneOf(DOCUMENT_TYPES))
    applicant = fields.Nested(schemas.ApplicantSchema, required=True)
    details = fields.Dict()  # by document type: ``openapi_document``
    delivery = fields.Nested(schemas.DeliverySchema(exclude=("place_id",)))  # the round decides
    address = fields.Nested(batches.ROW_ADDRESS, required=True, metadata={
        "description": "In the officer's kelurahan."})


class BatchRequestSchema(Schema):
    class Meta:
        unknown = RAISE

    applications = fields.List(
        fields.Nested(BatchRowSchema), required=True,
        validate=ItemCount(min=1, max=batches.MAX_ROWS),
        metadata={"description": "One application a row. A row that breaks a rule, or is no "
                                 "object (`null` included), is refused in the reply's "
                                 "`rejected` (its row number and fields), not with a 400."})


class ResendAnswerSchema(Schema):
    """The same answer whether or not an application exists."""

    status = fields.String(required=True, metadata={"example": "accepted"})
    message = fields.String(required=True)


# the header a client retries with (docs/api.md "Idempotency")
IDEMPOTENCY_KEY = {"parameters": [{
    "in": "header", "name": "Idempotency-Key",
    "description": "A fresh unique value (a UUID) per request, sent again on its retries: "
                   "a request whose key was used is answered as the first was, stored "
                   "once. Reused for another request (another NIK or KK, document, "
                   "details, delivery or name): 409 `idempotency_key_reused`. Malformed: 400.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 128, "pattern": "^[ -~]+$"}}]}
# a new application's: its answer's language, and its notices' without applicant.language
NOTICE_LANGUAGE = {"in": "header", "name": "Accept-Language", "schema": {"type": "string"},
                   "description": "The answer's language - and, without "
                                  "`applicant.language`, the citizen's notices': `en` when "
                                  "it weighs English above Bahasa (`en-US` counts as `en`, "
                                  "`id-ID` as `id`), else `id`."}
NEW_APPLICATION = {"parameters": [*IDEMPOTENCY_KEY["parameters"], NOTICE_LANGUAGE]}
# a recording booking's: its key, as an application's, and its notices' language
# without the body's ``language`` (``api_appointments.book_recording``)
NEW_BOOKING = {"parameters": [
    {**IDEMPOTENCY_KEY["parameters"][0],
     "description": "A fresh unique value (a UUID) per request, sent again on its retries: "
                    "a retry gets the first booking (201), stored once. Reused for another "
                    "request (another NIK, KK, name, marital status, place, day or "
                    "`replace`): 409 `idempotency_key_reused`. Malformed: 400."},
    {**NOTICE_LANGUAGE,
     "description": "The answer's language - and, without `language` in the body, the "
                    "booking's notices': `en` when it weighs English above Bahasa (`en-US` "
                    "counts as `en`, `id-ID` as `id`), else `id`."}]}
REUSED_KEY = ("Conflict (`error.code` says which rule): the Idempotency-Key was used for "
              "another request (`idempotency_key_reused`), an active application for this "
              "subject (`conflict`), a first KTP-el for a NIK that has one "
              "(`card_already_issued`), or a birth already registered here "
              "(`birth_already_registered`).")

# its examples are dated when the document is served (``openapi_document``)
SUBMIT_BODY = {"required": True, "content": {"application/json": {
    "schema": schemas.SubmitRequestSchema}}}
UPLOAD_BODY = {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["tracking_code", "nik", "kind", "file"],
    "properties": {
        "tracking_code": {"type": "string", **TRACKING_CODE_TYPED},
        "nik": {"type": "string", **IDENTITY_NUMBER},
        "kind": {"type": "string", "enum": list(api_documents.DOCUMENT_KINDS)},
        "file": {**BINARY, "description": "JPEG, PNG or PDF (type decided by content)"}}}}}}
BATCH_BODY = {"required": True, "content": {
    "application/json": {"schema": BatchRequestSchema},
    "text/csv": {"schema": {"type": "string", "description":
                            "one application per row, dotted column names "
                            "(applicant.nik, details.reason, address.kelurahan_code); "
                            "UTF-8 (a charset other than utf-8 or us-ascii: 415)"}}}}

OPERATIONS: tuple[Operation, ...] = (
    Operation("POST", "/api/v1/applications", "Submit an application", 202, AcceptedSchema,
              (400, 409, 429, 503), body=SUBMIT_BODY, extra=NEW_APPLICATION,
              why={409: REUSED_KEY}),
    Operation("POST", "/api/v1/applications/status", "The citizen's status lookup", 200,
              StatusViewSchema, (400, 404, 429, 503), body=schemas.StatusLookupSchema),
    Operation("POST", "/api/v1/applications/resubmit", "Resubmit a rejected application", 200,
              StatusViewSchema, (400, 404, 409, 429, 503),
              body=queue_schemas.ResubmitSchema),
    Operation("POST", "/api/v1/applications/cancel", "Cancel before verification", 200,
              StatusViewSchema, (400, 404, 409, 429, 503), body=schemas.StatusLookupSchema),
    Operation("POST", "/api/v1/tracking-code/resend",
              "Send the tracking code again, to the contact on file", 202, ResendAnswerSchema,
              (400, 429, 503), body=api_resend.ResendSchema),
    Operation("POST", "/api/v1/applications/documents", "Upload a supporting document", 201,
              UploadedSchema, (400, 404, 409, 429, 503), body=UPLOAD_BODY,
              also_ok={200: "The same file again: its first entry, nothing stored twice"},
              why={409: "`conflict`: the application takes no documents in its status "
                        "(only submitted or rejected); `document_limit_reached` (naming "
                        "`file`): no room for another document."}),
    Operation("GET", "/api/v1/applications/<string:application_id>/documents",
              "An application's documents", 200, DocumentListSchema, (400, 401, 404, 429, 503),
              OPERATOR_OR_SERVICE, tag="operator"),
    Operation("GET",
              "/api/v1/applications/<string:application_id>/documents/<string:document_id>",
              "One document's file", 200, BINARY, (400, 401, 404, 429, 503), OPERATOR_OR_SERVICE,
              tag="operator", media_type="application/octet-stream"),
    Operation("GET", "/api/v1/operator/applications",
              "The work queue, oldest first; or a lookup by tracking code or NIK", 200,
              QueuePageSchema, (400, 401, 429, 503), OPERATOR,
              query=queue_schemas.QueueQuerySchema, tag="operator",
              extra={"description": "Without `tracking_code` and `nik`: the applications "
                                    "in one `status` (default `submitted`), oldest in the "
                                    "queue first (`queued_at`, then id). With either (a "
                                    "lookup, both: both match): the applications they name "
                                    "in any status - ended ones too - unless `status` is "
                                    "given, newest first (`created_at`, then id); the other "
                                    "filters narrow it, paged the same way. Each row has the "
                                    "applicant's NIK masked (`nik_masked`)."}),
    Operation("GET", "/api/v1/operator/applications/<string:application_id>",
              "One application in full", 200, OperatorViewSchema, (400, 401, 404, 429, 503),
              OPERATOR, tag="operator",
              extra={"description": "`application_id`: the application's id, or its "
                                    "tracking code (in either case)."}),
    Operation("GET", "/api/v1/operator/reasons", "The rejection reason catalogue", 200,
              ReasonListSchema, (400, 401, 429, 503), OPERATOR,
              query=queue_schemas.ReasonsQuerySchema, tag="operator"),
    Operation("POST", "/api/v1/applications/<string:application_id>/verify", "Verify", 200,
              AcceptedSchema, (401, 404, 409, 429, 503), OPERATOR, tag="operator",
              body=NoBodySchema, body_required=False,
              extra={"description": "No body (`{}` at most: a field is refused, 400 naming "
                                    "it - a note for the citizen is the rejection's; a body "
                                    "of another type 415). "
                                    "submitted -> verified. 409 `conflict` from another "
                                    "status, or for an application accepted without asking "
                                    "the register (`register_withheld`) whose subject another "
                                    "holds by then; 409 `deceased` (naming "
                                    "`applicant.nik`, `details.child_nik` or "
                                    "`details.members.<i>`) for a document for someone whose "
                                    "death certificate was verified here since; "
                                    "409 `photo_not_uploaded` (naming "
                                    "`documents.foto`) for a KIA from age 5 whose photo was "
                                    "declared but not uploaded; 409 "
                                    "`printed_name_missing` (naming "
                                    "`details.<role>_full_name`) for a certificate naming the "
                                    "deceased or a parent whom neither the register nor the "
                                    "citizen named: nothing stored or emitted (reject with "
                                    "`photo_missing`, `deceased_name_missing` or "
                                    "`parent_name_missing` instead)."},
              why={409: "`conflict`, `deceased`, `photo_not_uploaded`, `printed_name_missing`; "
                        "`members_not_on_kk` (naming each `details.members.<i>`): an SKPWNI "
                        "accepted while the register was silent whose moving members the "
                        "register, asked now, does not have on the applicant's KK - reject it. "
                        "Nothing stored or emitted.",
                   503: "`register_unavailable`: an SKPWNI accepted while the register was "
                        "silent is verified once the register names its moving members (the "
                        "certificate names them): still silent, verify it again later. "
                        "`unavailable`: the admission budget is full or the database does "
                        "not answer; `service_stopping`. Retry after `Retry-After`."}),
    Operation("POST", "/api/v1/applications/<string:application_id>/reject",
              "Reject with reason codes", 200, AcceptedSchema, (400, 401, 404, 409, 429, 503),
              OPERATOR, body=schemas.RejectSchema, tag="operator"),
    Operation("POST", "/api/v1/recording-appointments", "Book (or move) a KTP-el recording",
              201, BookingViewSchema, (400, 409, 429, 503), body=api_appointments.BookingSchema,
              also_ok={200: "A move (`\"replace\": true`) to the place and day the NIK's "
                            "upcoming booking already has (a double tap): that booking, "
                            "nothing moved, no notice, not counted"},
              extra={**NEW_BOOKING, "description": (
                  "Only for a NIK the population register has on the KK given (400 on "
                  "`kk_number` otherwise). 409 `already_recorded`, `appointment_exists` (send "
                  "`\"replace\": true` to move it: the earlier booking ends `replaced`, its "
                  "contact is told), `day_full`, `day_closed` (an operator closed the "
                  "place's day), `idempotency_key_reused` (the key of "
                  "another request: another NIK, KK, name, place, day or `replace`; the same "
                  "request again answers its first booking). The age rule (17, or married "
                  "and at least 10) is judged on the appointment's `day`. 429 past this "
                  "client's bookings made (RECORDING_BOOKINGS_PER_CLIENT; a refused one is "
                  "not counted) or refusals, or the "
                  "NIK's or KK's refusals (the register is not asked then, and no booking is "
                  "made without it). 503 "
                  "`register_unavailable`: the register cannot confirm the NIK on the KK now.")}),
    Operation("POST", "/api/v1/recording-appointments/cancel",
              "Cancel a recording with its booking code and NIK", 200, BookingViewSchema,
              (400, 404, 409, 429, 503), body=api_appointments.CancelBookingSchema,
              extra={"description": "The booking ends `cancelled` and its place is freed. 404 "
                                    "for an unknown code and a wrong NIK alike (counted as a "
                                    "status lookup's: 429 past the limit); 409 "
                                    "`appointment_ended` once replaced, cancelled or its day "
                                    "gone by."}),
    Operation("GET", "/api/v1/recording-appointments/availability",
              "Free recordings per working day", 200, AvailabilityViewSchema, (400, 503),
              query=api_appointments.AvailabilitySchema),
    Operation("GET", "/api/v1/operator/recording-appointments",
              "A place's recording bookings of a day, in the order booked", 200,
              PlaceDayPageSchema, (400, 401, 429, 503), OPERATOR,
              query=api_appointments.PlaceDayQuerySchema, tag="operator"),
    Operation("POST", "/api/v1/operator/recording-appointments/close-day",
              "Close a place's day: cancel its recording bookings, their contacts told", 200,
              DayClosedSchema, (400, 401, 429, 503), OPERATOR,
              body=api_appointments.CloseDaySchema, tag="operator",
              extra={"description": "The day takes no booking any more (409 `day_closed`); "
                                    "each booking of it that stands ends `cancelled` with the "
                                    "reason and `recording_appointment_cancelled` tells its "
                                    "contact. Sent again: nothing more is cancelled or told. "
                                    "400 on `day` for a day gone by. Never done by itself: "
                                    "a closing day added to CLOSED_DAYS leaves the bookings "
                                    "made before until an operator closes the day here."}),
    Operation("PUT", "/api/v1/jemput-bola/batches/<string:batch_id>",
              "A jemput-bola batch (JSON or CSV)", 200, BatchReplySchema,
              (400, 401, 409, 429, 503), KELURAHAN_OFFICER, body=BATCH_BODY, tag="officer",
              why={409: "`batch_id_reused` (naming `batch_id`): this batch id was used for "
                        "other rows; the same rows again get the first reply (or finish a "
                        "batch cut short)."}),
    Operation("GET", "/api/v1/jemput-bola/batches/<string:batch_id>",
              "A batch's reply again (or what is stored so far)",
              200, BatchReplySchema, (400, 401, 404, 429, 503), KELURAHAN_OFFICER, tag="officer"),
    Operation("GET", "/api/v1/jemput-bola/batches/<string:batch_id>/applications",
              "Where each accepted row of a batch stands now", 200, BatchMembersSchema,
              (400, 401, 404, 429, 503), KELURAHAN_OFFICER, tag="officer"),
    Operation("POST", "/api/v1/kecamatan/next-day-requests", "A next-day KTP-el request", 202,
              NextDayAcceptedSchema, (400, 401, 403, 409, 429, 503), KECAMATAN_OFFICER,
              body=NextDayRequestSchema, tag="officer",
              extra=NEW_APPLICATION, why={409: REUSED_KEY}),
    *META_OPERATIONS,
)

def openapi_document() -> dict:
    """The whole document: built once per process, its submit examples
    dated once a day (WIB)."""
    return _dated_document(today_wib())


@functools.lru_cache(maxsize=1)
def _dated_document(today: datetime.date) -> dict:
    document = copy.deepcopy(_document())
    document["paths"]["/api/v1/applications"]["post"]["requestBody"]["content"][
        "application/json"]["examples"] = {
            document_type: {"summary": document_type, "value": example}
            for document_type, example in submit_examples(today).items()}
    return document


@functools.lru_cache(maxsize=1)
def _document() -> dict:
    document = build_document(Api(
        title="Smartdukcapil intake API", version=VERSION, service="intake_api",
        description="Citizens' applications, the operators' queue and the officers' channels "
                    "of a Disdukcapil. Prose (auth, idempotency, limits, document rules): "
                    "docs/api.md.",
        security=SECURITY_SCHEMES, errors=ERRORS, operations=OPERATIONS,
        error_schema=ErrorSchema, schemas=tuple(DETAIL_SCHEMAS.values())))
    # ``details`` is a free object to marshmallow (each type's schema loads it
    # after the document type is known): here, one of the five
    for body in ("SubmitRequest", "Resubmit", "BatchRow"):
        details = document["components"]["schemas"][body]["properties"]["details"]
        details.clear()
        details.update({
            "description": "By document_type: " + ", ".join(
                f"{document_type} -> {schema_name(schema)}"
                for document_type, schema in DETAIL_SCHEMAS.items()),
            "oneOf": [{"$ref": f"#/components/schemas/{schema_name(schema)}"}
                      for schema in DETAIL_SCHEMAS.values()]})
    # the count is checked with the codes (reasons.checked_codes), not by the schema
    document["components"]["schemas"]["Reject"]["properties"]["reasons"].update(
        minItems=1, maxItems=reasons.MAX_REASONS)
    return document
