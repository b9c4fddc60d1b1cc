"""HTTP schemas of the operator's work queue and the citizen's resubmission
(boundary only: the rules live in ``domain``, ``rules`` and ``reasons``)."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from shared.events import DOCUMENT_TYPES
from shared.fields import RegionCode
from shared.paging import Cursor, PageLimit

from .appointments import PRR_CHANNEL
from .domain import APPLICATION_STATUSES
from .schemas import CHANNELS, ApplicantSchema, DeliverySchema, StatusLookupSchema

MAX_PAGE = 100


class QueueQuerySchema(Schema):
    """``GET /api/v1/operator/applications`` query parameters."""

    class Meta:
        unknown = RAISE

    status = fields.String(load_default="submitted",
                           validate=validate.OneOf(APPLICATION_STATUSES))
    document_type = fields.String(validate=validate.OneOf(DOCUMENT_TYPES))
    # also ``prr``: applications made from the PRR backlog (no submission names it)
    channel = fields.String(validate=validate.OneOf((*CHANNELS, PRR_CHANNEL)))
    # of the applicant's NIK (the code it was issued under, listed or not)
    kecamatan = RegionCode(6, listed=False)
    kelurahan = RegionCode(10)  # of the address given
    flag = fields.String(validate=validate.Regexp(r"^[a-z][a-z0-9_]{1,39}$"))
    limit = PageLimit(20, MAX_PAGE)
    cursor = Cursor()


class ResubmitSchema(StatusLookupSchema):
    """The citizen's corrections: any applicant field but the NIK (it is who
    they are: a wrong NIK needs a new application), the details, the delivery
    (each replaced whole). Sending none resubmits as is (the documents were
    the problem)."""

    class Meta:
        unknown = RAISE

    applicant = fields.Nested(ApplicantSchema(partial=True, exclude=("nik",)))
    details = fields.Dict()
    delivery = fields.Nested(DeliverySchema)


class ReasonsQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    document_type = fields.String(validate=validate.OneOf(DOCUMENT_TYPES))
