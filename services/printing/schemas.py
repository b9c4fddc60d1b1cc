"""HTTP body schemas of the station API."""

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from shared.errors import Msg
from shared.fields import (TRACKING_CODE_TYPED, CitizenLookupSchema, IsoDate, ItemCount,
                           JsonBoolean, Text, TypedTrackingCode)
from shared.paging import BAD_CURSOR, Cursor, PageLimit, encode_cursor

from .domain import ACTIONS, holder
from .stations import FAILURE_REASONS, HELD_REASONS, PRIORITIES

# the operators' held list: a page's jobs by default, at most
HELD_PAGE, MAX_HELD_PAGE = 100, 500


class PrintedSchema(Schema):
    """A station's report on one job. Every station body (the reports, a
    batch's entries, the claim) refuses a field it does not know, 400
    naming it: a misspelt field is a station's bug to see at once."""

    class Meta:
        unknown = RAISE

    lease_token = fields.String(required=True, validate=validate.Length(min=8, max=64))


# what a print job's id can be (``domain``: a uuid4 hex); an entry's id is
# echoed back in its result, so anything else (spaces, a direction override,
# markup) is refused naming it, not answered not_found
PRINT_JOB_ID = validate.Regexp(r"[A-Za-z0-9_-]{1,64}\Z", error=Msg(
    "Bukan id pekerjaan cetak: 1-64 huruf Latin, angka, - atau _.",
    "Not a print job id: 1-64 Latin letters, digits, - or _."))


class PrintedReportSchema(PrintedSchema):
    print_job_id = fields.String(required=True, validate=PRINT_JOB_ID)


class PrintedBatchSchema(Schema):
    """A station's report of a printed batch: ``{"jobs": [{"print_job_id",
    "lease_token"}, ...]}``, at most a claim's worth; unknown fields refused
    here and in each entry (``PrintedReportSchema``)."""

    class Meta:
        unknown = RAISE

    jobs = fields.List(fields.Nested(PrintedReportSchema), required=True,
                       validate=ItemCount(min=1, max=100))


class FailedSchema(PrintedSchema):
    reason = fields.String(required=True, validate=validate.OneOf(tuple(FAILURE_REASONS)))
    note = fields.String(load_default=None, validate=validate.Length(max=300))


class ClaimSchema(Schema):
    """Optional body of a claim: how many jobs at most, or a whole manifest."""

    class Meta:
        unknown = RAISE

    max = fields.Integer(load_default=1, strict=True, validate=validate.Range(min=1, max=100))
    manifest = JsonBoolean(load_default=False)


class JobSchema(Schema):
    """What every view of a print job shows."""

    print_job_id = fields.String(attribute="_id")
    application_id = fields.String()
    tracking_code = fields.String()
    document_type = fields.String()
    print_kind = fields.String()
    pickup_place_id = fields.String()
    attempts = fields.Integer()


class StationJobSchema(JobSchema):
    """What a station receives when it claims a job (everything it prints)."""

    nik = fields.String()  # the applicant's
    full_name = fields.String()
    # whose document it is (a KIA: the child's), and the NIK on a card (null on a certificate)
    holder_name = fields.Function(lambda job: holder(job)[0])
    holder_nik = fields.Function(lambda job: holder(job)[1])
    manifest_id = fields.String()
    lease_token = fields.String()
    # on the service's clock: a station times the lease from the answer's
    # arrival with ``lease_seconds`` (``domain.lease_seconds``), never by
    # comparing ``lease_until`` with its own clock
    lease_until = fields.DateTime()
    lease_seconds = fields.Integer()


class RescheduleSchema(CitizenLookupSchema):
    date = IsoDate(required=True)  # WIB
    # outside audit D: "10:30" was answered "String does not match expected pattern."
    start = fields.String(required=True, validate=validate.Regexp(r"^[0-9]{2}:00$", error=Msg(
        "Jam mulai jendela, pukul tepat (HH:00, contoh: 09:00).",
        "The window's start, on the hour (HH:00, e.g. 09:00).")))


class SlotSchema(Schema):
    """A pickup window as clients see it (no bookkeeping)."""

    place = fields.String()
    address = fields.String()
    date = fields.String()
    start = fields.String()
    end = fields.String()


class HeldJobSchema(JobSchema):
    """A held job as an operator sees it (no NIK: the tracking code finds the
    rest), or a printed card an operator is to cancel (``status``). Every key is there, null when unknown: a job printing held itself
    (``holder_deceased``, ``already_printed``) while queued has no station nor
    a station's note."""

    # ``held``; or ``printed``: a card still at the Dinas whose holder is
    # recorded deceased since it was printed (``last_failure``
    # ``holder_deceased``) - cancel it
    status = fields.String(validate=validate.OneOf(["held", "printed"]))
    station_id = fields.String(dump_default=None)
    last_failure = fields.String(dump_default=None)
    failure_note = fields.String(dump_default=None)
    queued_at = fields.DateTime(dump_default=None)


class QueueCursor(Cursor):
    """The held list's ``cursor``: the place in queue order of the last job
    of the page before (``held_store.queue_place``: its priority rides
    with its id) -> ``(priority, queued_at, _id)``; None when not given."""

    def _deserialize(self, value, attr, data, **kwargs):
        at, place = super()._deserialize(value, attr, data, **kwargs)
        priority, colon, job_id = place.partition(":")
        if not colon or priority not in {str(first) for first in PRIORITIES} or not job_id:
            raise ValidationError(BAD_CURSOR)
        return int(priority), at, job_id


def queue_cursor(job: dict) -> str:
    """``QueueCursor``'s text for the page after ``job``."""
    return encode_cursor(job["queued_at"], f"{job['priority']}:{job['_id']}")


class HeldQuerySchema(Schema):
    """``GET /api/v1/operator/print-jobs/held`` query parameters; any other
    is refused, 400 naming it (outside review: every one was ignored)."""

    class Meta:
        unknown = RAISE

    limit = PageLimit(HELD_PAGE, MAX_HELD_PAGE)
    cursor = QueueCursor()  # next_cursor of the page before
    station_id = fields.String(load_default=None, validate=validate.Length(min=1, max=64))
    last_failure = fields.String(load_default=None, validate=validate.OneOf(HELD_REASONS))


class JobLookupSchema(Schema):
    """``GET /api/v1/operator/print-jobs``: the application the counter
    knows - its id, or its tracking code (any case) - one of them."""

    class Meta:
        unknown = RAISE

    application_id = fields.String(load_default=None, validate=validate.Length(min=1, max=64))
    tracking_code = TypedTrackingCode(load_default=None, metadata=TRACKING_CODE_TYPED)

    @validates_schema
    def one_of_them(self, data, **kwargs):
        given = [name for name in ("application_id", "tracking_code") if data.get(name)]
        if len(given) != 1:
            raise ValidationError(Msg(
                "Isi salah satu: application_id atau tracking_code.",
                "Give one of application_id and tracking_code."),
                given[-1] if given else "application_id")


def operator_reason(**kwargs) -> Text:
    """Why an operator released, cancelled or reprinted a job, in their own
    words: 3-300 characters once trimmed (``Text``: NFC, no control or
    invisible character)."""
    return Text(min=3, max=300, metadata={"description": "why, in the operator's words (e.g. "
                                                         "`rusak saat laminasi`)"}, **kwargs)


class OperatorActionSchema(Schema):
    """An operator's release or cancel: none, ``{}``, or why - kept in the
    job's action history and told with its event, a NIK or phone typed in
    masked (``domain.action_taken``). Any other field is refused, 400
    naming it."""

    class Meta:
        unknown = RAISE

    reason = operator_reason(load_default=None)


class ReprintSchema(OperatorActionSchema):
    """A reprint must say why: it spends a blanko (a card) the Dinas accounts
    for, and a supervisor reading why a card was printed twice must find it."""

    reason = operator_reason(required=True)


class ActionSchema(Schema):
    """An entry of a print job's action history (``domain.action_taken``)."""

    action = fields.String(required=True, validate=validate.OneOf(ACTIONS))
    by = fields.String(required=True, metadata={"description": "the operator; the station "
                                                               "for `failed`"})
    at = fields.DateTime(required=True)
    reason = fields.String(required=True, allow_none=True, dump_default=None, metadata={
        "description": "the job's `last_failure` as it was done (`failed`: the station's)"})
    note = fields.String(required=True, allow_none=True, dump_default=None, metadata={
        "description": "the station's note the job carried, masked"})
    station_id = fields.String(required=True, allow_none=True, dump_default=None,
                               metadata={"description": "the station of a `failed` report"})
    operator_reason = fields.String(required=True, allow_none=True, dump_default=None, metadata={
        "description": "why the operator released, cancelled or reprinted it, in their words "
                       "(masked; null when none was given)"})


class OperatorJobSchema(JobSchema):
    """A print job as an operator looks it up: where it stands, why it is
    held (the station's note masked, as the held list shows it), its window
    or hand-over, and its action history, oldest first (empty for a job
    older than it). No NIK, name, phone or address."""

    status = fields.String(required=True)
    delivery_method = fields.String(required=True)
    manifest_id = fields.String(required=True, allow_none=True, dump_default=None)
    next_day = JsonBoolean(required=True, dump_default=False)
    station_id = fields.String(required=True, allow_none=True, dump_default=None)
    last_failure = fields.String(required=True, allow_none=True, dump_default=None)
    failure_note = fields.String(required=True, allow_none=True, dump_default=None)
    queued_at = fields.DateTime(required=True, allow_none=True, dump_default=None)
    printed_at = fields.DateTime(required=True, allow_none=True, dump_default=None)
    collected_at = fields.DateTime(required=True, allow_none=True, dump_default=None)
    slot = fields.Nested(SlotSchema, required=True, allow_none=True, dump_default=None)
    actions = fields.List(fields.Nested(ActionSchema), required=True, dump_default=[])


class OperatorJobListSchema(Schema):
    jobs = fields.List(fields.Nested(OperatorJobSchema), required=True)


class BlankoDeliverySchema(Schema):
    class Meta:
        unknown = RAISE

    delivered = fields.Integer(required=True, strict=True,
                               validate=validate.Range(min=1, max=100_000))


class BlankoSchema(Schema):
    station_id = fields.String(attribute="_id")
    stock = fields.Integer()
    # false until the stock first fell to the threshold (the flag is stored then)
    warned = JsonBoolean(dump_default=False)


class BlankoDeliveryViewSchema(Schema):
    """One delivery of a station's ledger (``blanko.delivery_row``)."""

    delivery_id = fields.String(attribute="_id", required=True)
    delivered = fields.Integer(required=True)
    recorded_by = fields.String(required=True)  # the operator's id
    recorded_at = fields.DateTime(required=True)
    stock_after = fields.Integer(attribute="answer.stock", required=True)


class BlankoStationSchema(BlankoSchema):
    """A tracked station in the operators' listing: its stock, the cards
    printed beyond the stock recorded (``blanko.below_zero``; 0 when none),
    and its latest deliveries, newest first."""

    stock_discrepancy = fields.Integer(dump_default=0)
    recent_deliveries = fields.List(fields.Nested(BlankoDeliveryViewSchema), dump_default=[])
