"""HTTP body schemas of the station API."""

from marshmallow import EXCLUDE, Schema, fields, validate

from shared.fields import CitizenLookupSchema


class PrintedSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    lease_token = fields.String(required=True, validate=validate.Length(min=8, max=64))


class FailedSchema(PrintedSchema):
    reason = fields.String(required=True, validate=validate.Length(min=3, max=300))


class StationJobSchema(Schema):
    """What a station receives when it claims a job (everything it prints)."""

    print_job_id = fields.String(attribute="_id")
    application_id = fields.String()
    tracking_code = fields.String()
    document_type = fields.String()
    nik = fields.String()
    full_name = fields.String()
    lease_token = fields.String()
    lease_until = fields.DateTime()
    attempts = fields.Integer()


class RescheduleSchema(CitizenLookupSchema):
    date = fields.Date(required=True)  # WIB
    start = fields.String(required=True, validate=validate.Regexp(r"^\d{2}:00$"))


class SlotSchema(Schema):
    """A pickup window as clients see it (no bookkeeping)."""

    place = fields.String()
    address = fields.String()
    date = fields.String()
    start = fields.String()
    end = fields.String()
