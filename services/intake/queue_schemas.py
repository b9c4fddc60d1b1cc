"""HTTP schemas of the operator's work queue and the citizen's resubmission
(boundary only: the rules live in ``domain``, ``rules`` and ``reasons``)."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, post_load, validate

from shared.events import CONTACT_CHANNELS, DOCUMENT_TYPES, LANGUAGES
from shared.fields import (TRACKING_CODE_TYPED, DeliverableEmail, MobilePhone, Nik, RegionCode,
                           TypedTrackingCode)
from shared.paging import Cursor, PageLimit

from .appointments import PRR_CHANNEL
from .domain import APPLICATION_STATUSES
from .schemas import (CHANNELS, MARITAL_STATUSES, ApplicantSchema, DeliverySchema,
                      StatusLookupSchema)

MAX_PAGE = 100
# the parameters that make the list a lookup: the applications they name,
# in any status, newest first - the front desk's "where is my KTP?"
LOOKUPS = ("tracking_code", "nik")


class QueueQuerySchema(Schema):
    """``GET /api/v1/operator/applications`` query parameters: the queue of
    one status, or a lookup (``LOOKUPS``) the other filters narrow."""

    class Meta:
        unknown = RAISE

    status = fields.String(load_default="submitted",
                           validate=validate.OneOf(APPLICATION_STATUSES), metadata={
                               "description": "Default `submitted`; with `tracking_code` or "
                                              "`nik`, any status."})
    tracking_code = TypedTrackingCode(metadata={
        **TRACKING_CODE_TYPED, "description": "A lookup: the application of this code, in "
                                              "either case, whatever its status."})
    nik = Nik(metadata={"description": "A lookup: every application this NIK applied for "
                                       "(the applicant's), whatever its status, newest first."})
    document_type = fields.String(validate=validate.OneOf(DOCUMENT_TYPES))
    # also ``prr``: applications made from the PRR backlog (no submission names it)
    channel = fields.String(validate=validate.OneOf((*CHANNELS, PRR_CHANNEL)))
    # of the applicant's NIK (the code it was issued under, listed or not)
    kecamatan = RegionCode(6, listed=False)
    kelurahan = RegionCode(10)  # of the address given
    flag = fields.String(validate=validate.Regexp(r"^[a-z][a-z0-9_]{1,39}$"))
    limit = PageLimit(20, MAX_PAGE)
    cursor = Cursor()

    @post_load(pass_original=True)
    def lookup_in_any_status(self, query: dict, given: dict, **kwargs) -> dict:
        """A lookup names applications in any status: ``status`` is None
        unless given."""
        if any(name in query for name in LOOKUPS) and "status" not in given:
            query["status"] = None
        return query


KEPT = "Left out: kept as stored."


class ApplicantCorrectionsSchema(ApplicantSchema):
    """A resubmission's ``applicant``: each field given replaces the stored
    one, each left out is kept as stored (``request_fields.corrected_request``;
    loaded ``partial``: no default is applied). So the fields that have a
    default or a fallback on a new application say so here (outside review:
    the served document gave the resubmission ``marital_status`` default
    ``belum_kawin``, phone and email default null, and a ``language`` that
    null would make the request's, which answers 400). Not the NIK: it is
    who they are (a wrong NIK needs a new application)."""

    class Meta:
        unknown = RAISE
        exclude = ("nik",)

    phone = MobilePhone(allow_none=True, metadata={
        "description": f"{KEPT} null: none (an email must then be on file or given)."})
    email = DeliverableEmail(allow_none=True, metadata={
        "description": f"{KEPT} null: none (a phone must then be on file or given)."})
    language = fields.String(validate=validate.OneOf(LANGUAGES), metadata={
        "description": "Language of the SMS, e-mail and WhatsApp messages sent later. "
                       f"{KEPT} Not null (400)."})
    preferred_channel = fields.String(validate=validate.OneOf(CONTACT_CHANNELS), metadata={
        "description": KEPT})
    marital_status = fields.String(validate=validate.OneOf(MARITAL_STATUSES), metadata={
        "description": KEPT})


class ResubmitSchema(StatusLookupSchema):
    """The citizen's corrections: any applicant field but the NIK, the details,
    the delivery (each replaced whole). Sending none resubmits as is (the
    documents were the problem)."""

    class Meta:
        unknown = RAISE

    applicant = fields.Nested(ApplicantCorrectionsSchema(partial=True), metadata={
        "description": f"The applicant's corrections, each field on its own. {KEPT}"})
    details = fields.Dict()
    delivery = fields.Nested(DeliverySchema)


class ReasonsQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    document_type = fields.String(validate=validate.OneOf(DOCUMENT_TYPES))
