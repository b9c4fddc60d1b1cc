"""The printing API as an OpenAPI 3 document (``shared.openapi`` builds it),
served at ``GET /api/v1/openapi.json``; docs/station-api.md keeps what the
document cannot carry (the station loop, leases, routing, blanko, hand-overs).

``OPERATIONS`` lists every HTTP path and method of ``PrintingApi``; a unit
test walks its entrypoints and fails on a route this list lacks (or a listed
one no entrypoint serves). Request bodies are the schemas the entrypoints
load; answers are the schemas below, which describe what the entrypoints
render (``printed_view``, ``verification``, ``prr``; those already dumping
through a schema are described by it).
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from shared.fields import TRACKING_CODE, CitizenLookupSchema, IsoDate
from shared.openapi import (BINARY, META_OPERATIONS, Api, ErrorDetailSchema, Operation, bearer,
                            cached_document, error_answers)

from .api_documents import LeaseQuerySchema, TokenQuerySchema
from .api_operator import PRR_MAX_BODY_BYTES
from .prr import (AGE_BANDS, IMPORT_COUNTS, LISTED_ROWS, REFUSALS, REQUIRED_COLUMNS,
                  ImportsQuerySchema)
from .schemas import (BlankoDeliverySchema, BlankoSchema, BlankoStationSchema, ClaimSchema,
                      FailedSchema, HeldJobSchema, HeldQuerySchema, JobLookupSchema,
                      OperatorActionSchema, OperatorJobListSchema, OperatorJobSchema,
                      PrintedBatchSchema, PrintedSchema, ReprintSchema, RescheduleSchema,
                      SlotSchema, StationJobSchema)
from .tokens import CLAIM_KEYS

VERSION = "1.0.0"
STATION, OPERATOR = "station", "operator"
KELURAHAN_OFFICER, KECAMATAN_OFFICER = "kelurahanOfficer", "kecamatanOfficer"
SECURITY_SCHEMES = {
    STATION: bearer("A printing station's token (config STATION_TOKENS): the station is the "
                    "token's, never a field."),
    OPERATOR: bearer("An operator's token (config OPERATOR_TOKENS, the same entries as "
                     "intake's): held jobs, blanko, PRR imports, the counter."),
    KELURAHAN_OFFICER: bearer("A kelurahan officer's token, scoped to one kelurahan "
                              "(config KELURAHAN_OFFICER_TOKENS, as intake's)."),
    KECAMATAN_OFFICER: bearer("A kecamatan officer's token, scoped to one kecamatan "
                              "(config KECAMATAN_OFFICER_TOKENS, as intake's)."),
}
ERRORS = error_answers({
    401: "Missing or invalid bearer token (of the kind the operation lists).",
    404: "Unknown print job, station or PRR import, or a tracking code and NIK that do "
         "not match (answered alike).",
    409: "Conflict (`error.code` says which rule; the operation says which it answers).",
    429: "Too many attempts; `Retry-After` says when to try again: 10 wrong tokens of one "
         "kind from an address (AUTH_FAILURES_PER_CLIENT), a citizen's failed checks "
         "(per client and tracking code), or past VERIFY_REQUESTS_PER_CLIENT verifications.",
}, refused_types="JSON endpoints: anything but application/json, or a charset other than "
                 "utf-8; the PRR import: anything but text/csv, or a charset other than "
                 "utf-8 or us-ascii",
   unavailable="this kind of request's admission budget is full (ADMISSION_WRITES, "
               "ADMISSION_LOOKUPS), or the database is unreachable or does not answer in "
               "time.")

LEASE_LOST = "`conflict` naming `lease_token`: the lease is not this station's (expired and " \
             "taken over, or never its own)."
# a printed report or a download again under the same lease answers as the first
# did (docs/station-api.md "Safe to retry"); a failure report ends the lease
LEASE_ENDED = "`conflict` naming `lease_token`: the lease is not this station's (expired and " \
              "taken over, or never its own), or has ended (a failure reported already: a " \
              "retry of it answers this)."
HELD_ONLY = "`not_held`: the job is not held (the message names its status)."
AT_COUNTER = ("`not_at_counter`: not waiting at a counter (not printed, sent by Pos, "
              "collected, or an office's to hand over); `holder_deceased`: a card whose holder "
              "is recorded deceased.")


class ClaimedJobSchema(StationJobSchema):
    """A job leased to the station: everything it prints."""

    print_kind = fields.String(allow_none=True)
    pickup_place_id = fields.String(allow_none=True)
    manifest_id = fields.String(allow_none=True)
    holder_name = fields.String(metadata={"description": "whose document it is (a KIA: the "
                                                         "child's; a death certificate: the "
                                                         "deceased's)"})
    holder_nik = fields.String(allow_none=True, metadata={
        "description": "the NIK the card carries; null on a certificate"})
    lease_until = fields.DateTime(metadata={
        "description": "the lease's end on the service's clock: never compare it with the "
                       "station's own clock; time the lease from when the answer arrived "
                       "(lease_seconds)"})
    lease_seconds = fields.Integer(metadata={
        "description": "the lease's length in whole seconds (LEASE_SECONDS), to time from "
                       "when the answer arrived; a claim answered again under its "
                       "Idempotency-Key: what is left of the lease"})


class ClaimedBatchSchema(Schema):
    jobs = fields.List(fields.Nested(ClaimedJobSchema), required=True,
                       metadata={"description": "all under one lease_token"})


class PrintedAnswerSchema(Schema):
    """``api_station.printed_view``."""

    print_job_id = fields.String(required=True)
    status = fields.String(required=True, metadata={"example": "printed"})
    slot = fields.Nested(SlotSchema, required=True, allow_none=True, metadata={
        "description": "the citizen's pickup window; null for Pos, a next-day request, a "
                       "jemput-bola member"})


class RefusedReportSchema(Schema):
    print_job_id = fields.String(required=True)
    error = fields.Nested(ErrorDetailSchema, required=True,
                          metadata={"description": "`conflict` (lease lost) or `not_found`"})


class JobStatusSchema(Schema):
    print_job_id = fields.String(required=True)
    status = fields.String(required=True,
                           validate=validate.OneOf(("queued", "held", "cancelled")))


# what an operator sees of a held job: every key there (audit A found the
# document looser than docs/station-api.md), null where ``HeldJobSchema``
# dumps null when unknown
HeldJobAnswerSchema = HeldJobSchema.from_dict(
    {name: type(field)(required=True, allow_none=field.dump_default is None,
                       validate=field.validators)
     for name, field in HeldJobSchema().fields.items()},
    name="HeldJobAnswerSchema")


class HeldJobListSchema(Schema):
    jobs = fields.List(fields.Nested(HeldJobAnswerSchema), required=True)
    next_cursor = fields.String(required=True, allow_none=True, metadata={
        "description": "the page after this one (`cursor`); null on the last page"})


class BlankoListSchema(Schema):
    stations = fields.List(fields.Nested(BlankoStationSchema), required=True)


# a delivery's retry (docs/station-api.md "Blanko stock"): the key as
# ``shared.http.idempotency_key`` takes it
KEY_TEXT = {"type": "string", "minLength": 1, "maxLength": 128, "pattern": "^[ -~]+$"}
DELIVERY_KEY = {"parameters": [dict(
    name="Idempotency-Key", schema=KEY_TEXT, description=(
        "A fresh unique value (a UUID) per delivery, sent again on its retries: a delivery "
        "whose key was used is answered as the first was, counted once. Used for another "
        "station or amount: 409 `idempotency_key_reused`. Malformed: 400."),
    **{"in": "header"})]}
# a claim's retry after its answer was lost (docs/station-api.md "Claim a job")
CLAIM_KEY = {"parameters": [dict(
    name="Idempotency-Key", schema=KEY_TEXT, description=(
        "A fresh unique value (a UUID) per claim round, sent again with the same body when "
        "the answer did not come (a timeout, a reset connection, a 5xx): a claim whose key "
        "leased jobs still on that lease is answered those jobs again - same lease tokens, "
        "the lease not extended, no attempt counted - instead of leasing others. A key is "
        "the station's own: another station's claim with it leases as any. Without it, "
        "every claim leases anew. Malformed: 400."),
    **{"in": "header"})]}


class RepeatedRowSchema(Schema):
    row = fields.Integer(required=True)
    same_as_row = fields.Integer(required=True)


class BadRowSchema(Schema):
    row = fields.Integer(required=True)
    field = fields.String(required=True)
    message = fields.String(required=True)


LISTED = {"description": f"the first {LISTED_ROWS} rows' (the count counts all)"}
# what the file itself gave (``import_prr``'s ``found``)
FOUND = {"rows": fields.Integer(required=True),
         "repeated_in_file": fields.List(fields.Nested(RepeatedRowSchema), required=True,
                                         metadata=LISTED),
         "repeated_count": fields.Integer(required=True),
         "bad_rows": fields.List(fields.Nested(BadRowSchema), required=True, metadata=LISTED),
         "bad_row_count": fields.Integer(required=True)}
# ``import_prr``'s answer: the counts of ``PrrStore.import_prr`` with the file's own findings
PrrImportSchema = Schema.from_dict({
    "import_id": fields.String(required=True), **FOUND,
    **{count: fields.Integer(required=True) for count in IMPORT_COUNTS}},
    name="PrrImportSchema")
# ``prr.import_view``: null counts for an import an earlier version stored
IMPORT_SUMMARY = {
    "import_id": fields.String(required=True), "imported_at": fields.DateTime(required=True),
    "finished_at": fields.DateTime(required=True, allow_none=True, metadata={
        "description": "null: still running, or cut short (a 503, a stop): upload the file "
                       "again"}),
    "operator": fields.String(required=True, allow_none=True),
    **{key: fields.Integer(required=True, allow_none=True)
       for key in ("rows", *IMPORT_COUNTS, "bad_row_count", "repeated_count")}}
PrrImportSummarySchema = Schema.from_dict(IMPORT_SUMMARY, name="PrrImportSummarySchema")


class PrrImportListSchema(Schema):
    imports = fields.List(fields.Nested(PrrImportSummarySchema), required=True,
                          metadata={"description": "newest first"})
    next_cursor = fields.String(required=True, allow_none=True)


class RefusedRecordSchema(Schema):
    """``prr.refused_view``."""

    import_id = fields.String(required=True, allow_none=True, metadata={
        "description": "the import that announced the record: another one's for a record "
                       "this import found known (a re-upload)"})
    row = fields.Integer(required=True, allow_none=True, metadata={
        "description": "the record's row in that import"})
    nik = fields.String(required=True, metadata={"description": "masked"})
    reason = fields.String(required=True, validate=validate.OneOf(tuple(REFUSALS)))
    message = fields.String(required=True)
    refused_at = fields.DateTime(required=True)


# ``prr_import_refusals``: the import as its upload answered, and its refusals
PrrRefusalsSchema = Schema.from_dict({
    **IMPORT_SUMMARY, **{key: FOUND[key] for key in ("bad_rows", "repeated_in_file")},
    "refused": fields.List(fields.Nested(RefusedRecordSchema), required=True)},
    name="PrrRefusalsSchema")


class KecamatanAgingSchema(Schema):
    kecamatan_code = fields.String(required=True)
    bands = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True,
                        metadata={"description": "band -> records"})
    total = fields.Integer(required=True)


class PrrAgingSchema(Schema):
    as_of = IsoDate(required=True)
    bands = fields.List(fields.String(), required=True,
                        metadata={"example": [name for name, _ in AGE_BANDS]})
    kecamatan = fields.List(fields.Nested(KecamatanAgingSchema), required=True)


class CollectedSchema(Schema):
    tracking_code = fields.String(required=True, metadata=TRACKING_CODE)
    status = fields.String(required=True, metadata={"example": "collected"})


class WindowsSchema(Schema):
    windows = fields.List(fields.Nested(SlotSchema), required=True)


class RescheduledSchema(Schema):
    tracking_code = fields.String(required=True, metadata=TRACKING_CODE)
    slot = fields.Nested(SlotSchema, required=True)


# what a token vouches for (``tokens.claims_for``)
ClaimsSchema = Schema.from_dict({**{key: fields.String(required=True) for key in CLAIM_KEYS},
                                 "issue_date": IsoDate(required=True)}, name="ClaimsSchema")


class VerdictSchema(Schema):
    """``verification.verdict``."""

    status = fields.String(required=True, validate=validate.OneOf(("valid", "revoked",
                                                                   "invalid")))
    reason = fields.String(metadata={
        "description": "revoked: replaced, deceased, reported_lost, not_issued; invalid: "
                       "malformed, unknown_key, bad_signature, unknown_issuance"})
    kid = fields.String()
    claims = fields.Nested(ClaimsSchema)


class PublicKeySchema(Schema):
    kty = fields.String(required=True, metadata={"example": "OKP"})
    crv = fields.String(required=True, metadata={"example": "Ed25519"})
    alg = fields.String(required=True, metadata={"example": "EdDSA"})
    use = fields.String(required=True, metadata={"example": "sig"})
    kid = fields.String(required=True)
    x = fields.String(required=True, metadata={"description": "base64url"})


class KeySetSchema(Schema):
    keys = fields.List(fields.Nested(PublicKeySchema), required=True)


PRR_BODY = {"required": True, "content": {"text/csv": {"schema": {
    "type": "string", "description": "A PRR export (docs/prr-import.md): UTF-8 CSV with a "
                                     "header row and the columns "
                                     + ", ".join(REQUIRED_COLUMNS)}}}}
BATCH_RESULTS = {"type": "object", "required": ["results"], "properties": {"results": {
    "type": "array", "description": "one per report, in order",
    "items": {"oneOf": [PrintedAnswerSchema, RefusedReportSchema]}}}}
# release and cancel may say why (no body, ``{}``, or a ``reason``)
MAY_SAY_WHY = {"body": OperatorActionSchema, "body_required": False}
LOOKUP = ("One of `application_id` and `tracking_code` (any case), 400 naming it otherwise. "
          "`jobs`: the application's print job (one per application; none before it is "
          "verified), with its action history (`actions`: who failed, released, cancelled or "
          "reprinted it, when, the reason and masked note it carried, the operator's own "
          "`operator_reason`; empty for a job older than it). No NIK, name, phone or address.")

OPERATIONS: tuple[Operation, ...] = (
    Operation("POST", "/api/v1/station/jobs/claim", "Lease the next job (or a batch, or a "
              "manifest's members)", 200, {"oneOf": [ClaimedJobSchema, ClaimedBatchSchema]},
              (400, 401, 429, 503), STATION, body=ClaimSchema, body_required=False,
              tag="station", other_answers={204: ("Nothing to print for this station (or "
                                                  "it holds its cap): no body", None)},
              extra={**CLAIM_KEY, "description": "No body: one job. Any body (`{}` too): "
                                                 "`{\"jobs\": [...]}`, up to `max`."}),
    Operation("POST", "/api/v1/station/jobs/<string:job_id>/printed", "Report printed", 200,
              PrintedAnswerSchema, (400, 401, 404, 429, 503), STATION, body=PrintedSchema,
              tag="station", why={409: LEASE_LOST}),
    Operation("POST", "/api/v1/station/jobs/printed", "Report a printed batch", 200,
              BATCH_RESULTS, (400, 401, 429, 503), STATION, body=PrintedBatchSchema,
              tag="station"),
    Operation("POST", "/api/v1/station/jobs/<string:job_id>/failed", "Report failed", 200,
              JobStatusSchema, (400, 401, 404, 429, 503), STATION, body=FailedSchema,
              tag="station", why={409: LEASE_ENDED}),
    Operation("GET", "/api/v1/station/jobs/<string:job_id>/document.pdf",
              "The print-ready document, for the lease holder", 200, BINARY,
              (400, 401, 404, 429), STATION, query=LeaseQuerySchema, tag="station",
              media_type="application/pdf",
              extra={"description": "Header `X-Issuance-Id` names this print."},
              why={409: LEASE_ENDED + " `reported_printed`: the job was reported printed - "
                                      "no new download (a reprint goes through an operator). "
                                      "`photo_missing`: a KIA that must carry a photo has "
                                      "none at intake (or it does not decode): the job is held.",
                   503: "`unavailable`: the KIA's photo could not be fetched from intake "
                        "yet, the admission budget is full or the database does not answer; "
                        "or `service_stopping`. Retry after `Retry-After`."}),
    Operation("GET", "/api/v1/verify", "Verify a document's QR token", 200, VerdictSchema,
              (400, 429, 503), query=TokenQuerySchema, tag="verification"),
    Operation("GET", "/api/v1/verify/keys", "The verification key set", 200, KeySetSchema,
              (503,), tag="verification"),
    Operation("GET", "/api/v1/operator/print-jobs/held",
              "Jobs held for an operator, in queue order, a page at a time", 200,
              HeldJobListSchema, (400, 401, 429, 503), OPERATOR, query=HeldQuerySchema,
              tag="operator",
              extra={"description": "The held jobs (`status` `held`), and the cards printed "
                                    "and at the Dinas - at a counter, on an office's list "
                                    "(a jemput-bola manifest's until Pos takes its parcel), "
                                    "back from Pos - whose holder's death was recorded since "
                                    "(`status` `printed`, `last_failure` `holder_deceased`): "
                                    "cancel these. Next-day requests and replacements "
                                    "first, then oldest first, equal times by id; `limit` + "
                                    "`cursor` (the page before's `next_cursor`); "
                                    "`station_id`, `last_failure`: only those. An unknown or "
                                    "repeated parameter, or a bad cursor, is a 400 naming "
                                    "it."}),
    Operation("GET", "/api/v1/operator/print-jobs",
              "An application's print job, by application id or tracking code", 200,
              OperatorJobListSchema, (400, 401, 429, 503), OPERATOR, query=JobLookupSchema,
              tag="operator",
              extra={"description": LOOKUP}),
    Operation("GET", "/api/v1/operator/print-jobs/<string:job_id>",
              "A print job, with its action history", 200, OperatorJobSchema,
              (400, 401, 404, 429, 503), OPERATOR, tag="operator"),
    Operation("POST", "/api/v1/operator/print-jobs/<string:job_id>/release",
              "A held job back to the queue", 200, JobStatusSchema, (401, 404, 429, 503),
              OPERATOR, tag="operator", **MAY_SAY_WHY,
              extra={"description": "A job released already and not held since (a retry "
                                    "after a lost answer) answers 200 with its status now "
                                    "(`queued`, or `leased`) and changes nothing (its "
                                    "`reason` is not kept: the first one is)."},
              why={409: HELD_ONLY + " `holder_deceased`: held (or listed printed) for a "
                                    "deceased holder, never released (cancel it). "
                                    "`with_pos`: such a printed card's jemput-bola parcel "
                                    "is in Pos' hands."}),
    Operation("POST", "/api/v1/operator/print-jobs/<string:job_id>/cancel",
              "Give a held job up (or a printed card of a holder recorded deceased)", 200,
              JobStatusSchema, (401, 404, 429, 503), OPERATOR, tag="operator", **MAY_SAY_WHY,
              extra={"description": "`print_job_cancelled` names the operator "
                                    "(`cancelled_by`) and their `reason` (`operator_reason`). "
                                    "A job cancelled already (a retry after a lost answer) "
                                    "answers 200 `cancelled` again and changes nothing: no "
                                    "second `print_job_cancelled`, no second notice."},
              why={409: "`not_held` (the message names the job's status): the job is "
                        "neither held, cancelled already, nor a "
                        "printed card at the Dinas of a holder recorded deceased (a citizen's "
                        "own Pos parcel is not the Dinas' to give up). `with_pos`: a printed "
                        "member of a jemput-bola manifest whose parcel Pos has in hand."}),
    Operation("POST", "/api/v1/operator/print-jobs/<string:job_id>/reprint",
              "A printed document still at the Dinas (a parcel's - a citizen's own, a "
              "jemput-bola manifest's - until Pos has it), printed again", 200, JobStatusSchema,
              (401, 404, 429, 503), OPERATOR, tag="operator", body=ReprintSchema,
              extra={"description": "`reason` is required (400 naming it; nothing stored): a "
                                    "reprint spends a blanko. A job a reprint queued again "
                                    "and not printed yet (a retry after a lost answer) "
                                    "answers 200 with its status now (`queued`, or `leased`) "
                                    "and changes nothing (its `reason` is not kept: the "
                                    "first one is)."},
              why={409: "`not_printed` (the message names the job's status), `handed_over`, "
                        "`with_pos`, `holder_deceased`: the job is left as it was."}),
    Operation("GET", "/api/v1/operator/stations/blanko",
              "Blanko stock and latest deliveries per tracked station",
              200, BlankoListSchema, (400, 401, 429, 503), OPERATOR, tag="operator"),
    Operation("POST", "/api/v1/operator/stations/<string:station_id>/blanko",
              "A blanko delivery", 200, BlankoSchema, (400, 401, 404, 429, 503), OPERATOR,
              body=BlankoDeliverySchema, tag="operator", extra=DELIVERY_KEY,
              why={409: "`idempotency_key_reused`: the key of another delivery (another "
                        "station or amount)."}),
    Operation("POST", "/api/v1/operator/prr-imports", "Import a PRR export", 200,
              PrrImportSchema, (400, 401, 429, 503), OPERATOR, body=PRR_BODY, tag="operator",
              why={413: f"Body over PRR_MAX_BODY_BYTES ({PRR_MAX_BODY_BYTES:,} bytes by "
                        "default)."}),
    Operation("GET", "/api/v1/operator/prr-imports", "The PRR imports, newest first", 200,
              PrrImportListSchema, (400, 401, 429, 503), OPERATOR, query=ImportsQuerySchema,
              tag="operator"),
    Operation("GET", "/api/v1/operator/prr-imports/<string:import_id>",
              "An import: what it gave, and its records intake refused", 200,
              PrrRefusalsSchema, (400, 401, 404, 429, 503), OPERATOR, tag="operator"),
    Operation("GET", "/api/v1/operator/prr-backlog/aging",
              "The PRR backlog by kecamatan and age", 200, PrrAgingSchema, (400, 401, 429, 503),
              OPERATOR, tag="operator"),
    Operation("POST", "/api/v1/kelurahan/handovers",
              "A jemput-bola document handed to its citizen", 200, CollectedSchema,
              (400, 401, 404, 429, 503), KELURAHAN_OFFICER, body=CitizenLookupSchema,
              tag="officer", why={409: "`not_at_office`, `holder_deceased`."}),
    Operation("POST", "/api/v1/kecamatan/handovers",
              "A next-day KTP-el handed to its citizen", 200, CollectedSchema,
              (400, 401, 404, 429, 503), KECAMATAN_OFFICER, body=CitizenLookupSchema,
              tag="officer", why={409: "`not_at_office`, `holder_deceased`."}),
    Operation("POST", "/api/v1/counter/collections", "The citizen collected it at the counter",
              200, CollectedSchema, (400, 401, 404, 429, 503), OPERATOR,
              body=CitizenLookupSchema, tag="operator", why={409: AT_COUNTER}),
    Operation("POST", "/api/v1/pickup/windows", "Free windows to move the pickup to", 200,
              WindowsSchema, (400, 404, 429, 503), body=CitizenLookupSchema,
              why={409: AT_COUNTER}),
    Operation("POST", "/api/v1/pickup/reschedule", "Move the pickup window", 200,
              RescheduledSchema, (400, 404, 429, 503), body=RescheduleSchema,
              why={409: AT_COUNTER + " `window_unavailable` naming `date` or `start`: not a "
                                     "window offered, or full."}),
    *META_OPERATIONS,
)


# the document served (built at the first request)
openapi_document = cached_document(Api(
    "Smartdukcapil printing API", VERSION,
    "Print jobs leased to printing stations, the printed document and its QR "
    "verification, pickup windows, hand-overs and the operators' held jobs, blanko and "
    "PRR imports. Prose (the station loop, leases, routing): docs/station-api.md.",
    "printing_api", SECURITY_SCHEMES, ERRORS, OPERATIONS))
