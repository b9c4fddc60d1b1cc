"""HTTP body schemas of the intake API (boundary only: no business rules)."""

from marshmallow import (RAISE, Schema, ValidationError, fields, pre_load, validate,
                         validates_schema)

from shared.errors import Msg
from shared.events import CONTACT_CHANNELS, DELIVERY_METHODS, DOCUMENT_TYPES, LANGUAGES
from shared.fields import (POSTAL_CODE, RT_RW, CitizenLookupSchema, DeliverableEmail,
                           JsonBoolean, KkNumber, MobilePhone, Nik, PersonName, PrintedText,
                           RegionCode, Text)
from shared.offices import DINAS, PLACES

CHANNELS = ("web", "app", "whatsapp", "kelurahan", "kecamatan")
# the officers': a jemput-bola batch row or a next-day request (their tokens,
# api_batches.py), the kelurahan back-end's broker channel (channel.py)
OFFICER_CHANNELS = ("kelurahan", "kecamatan")
CITIZEN_CHANNELS = tuple(c for c in CHANNELS if c not in OFFICER_CHANNELS)
MARITAL_STATUSES = ("belum_kawin", "kawin", "cerai")


class ApplicantSchema(Schema):
    class Meta:
        unknown = RAISE

    nik = Nik(required=True)
    kk_number = KkNumber(required=True)
    full_name = PersonName(required=True, min=2, max=120)  # on the KTP-el, certificates
    phone = MobilePhone(load_default=None)
    email = DeliverableEmail(load_default=None)
    # no default of its own: an application's and a booking's are the
    # request's language (``ApplicationRequestSchema``; ``BookingSchema``
    # declares its own field, null allowed); for an application, null is
    # read as left out before the field is loaded
    # (``ApplicationRequestSchema.notices_in_the_request_s_language``)
    language = fields.String(validate=validate.OneOf(LANGUAGES), metadata={
        "nullable": True,
        "description": "Language of the SMS, e-mail and WhatsApp messages sent later. Left "
                       "out or null: the request's language (`Accept-Language`: `en` when it "
                       "weighs English above Bahasa, else `id`); in a kelurahan batch's row, "
                       "`id`."})
    # how to be told (default: sms with a phone, else email); needs its address
    preferred_channel = fields.String(validate=validate.OneOf(CONTACT_CHANNELS))
    marital_status = fields.String(load_default="belum_kawin",
                                   validate=validate.OneOf(MARITAL_STATUSES))


class AddressSchema(Schema):
    class Meta:
        unknown = RAISE

    # on the Pos label; a destination's on the SKPWNI
    street = PrintedText(required=True, min=3, max=200)
    rt = fields.String(load_default=None, validate=RT_RW)
    rw = fields.String(load_default=None, validate=RT_RW)
    kelurahan_code = RegionCode(10, required=True)  # in the region list
    postal_code = fields.String(required=True, validate=POSTAL_CODE)


class DeliverySchema(Schema):
    class Meta:
        unknown = RAISE

    # not named: ``request_fields.delivery_asked`` decides by the channel
    method = fields.String(load_default=None, validate=validate.OneOf(DELIVERY_METHODS),
                           metadata={"description": "`pickup` or `pos`; when not given, "
                                     "`pickup` with a `place_id`, else `pos` for the "
                                     "`whatsapp` channel, else `pickup`"})
    address = fields.Nested(AddressSchema, load_default=None)
    # where the citizen collects it (outside audit T1: every application was
    # the Dinas', so a kecamatan's station never had a job); stored as the
    # application's ``pickup_place_id`` (``request_fields.pickup_place``)
    place_id = fields.String(validate=validate.OneOf(tuple(PLACES)), metadata={
        "description": "Where to collect it, with `pickup` (not given: `pickup`): the Dinas "
                       f"(`{DINAS.place_id}`, the default) or a kecamatan office"})

    @validates_schema
    def a_place_only_to_collect(self, data, **kwargs):
        if data.get("place_id") and data.get("method") == "pos":
            raise ValidationError(Msg(
                "Hanya untuk delivery.method pickup: Pos Indonesia mengantar ke alamat Anda.",
                "Only with delivery.method pickup: Pos Indonesia delivers to your address."),
                "place_id")


class ApplicationRequestSchema(Schema):
    class Meta:
        unknown = RAISE

    document_type = fields.String(required=True, validate=validate.OneOf(DOCUMENT_TYPES))
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    applicant = fields.Nested(ApplicantSchema, required=True)
    details = fields.Dict(load_default=dict)
    delivery = fields.Nested(DeliverySchema, load_default=dict)

    def __init__(self, *args, lang: str | None = None, **kwargs):
        """``lang``: the request's language (HTTP's Accept-Language, the
        channel's accept-language), the notices' when ``applicant.language``
        is not given (outside audit T3: a front-end sending only
        ``Accept-Language: en`` got English answers and Bahasa SMS); None:
        Bahasa Indonesia."""
        super().__init__(*args, **kwargs)
        self.lang = lang

    @pre_load
    def notices_in_the_request_s_language(self, data, **kwargs):
        """``applicant.language`` left out or null (a front-end writing absent
        fields as null: outside audit A2) is the request's language."""
        applicant = data.get("applicant") if isinstance(data, dict) else None
        if isinstance(applicant, dict) and applicant.get("language") is None:
            data = {**data, "applicant": {**applicant, "language": self.lang or "id"}}
        return data


class CitizenChannel(validate.OneOf):
    """A citizen's own channel (a ``OneOf``: the OpenAPI document lists them);
    an officers' channel is refused in words of its own."""

    officers_only = Msg("Saluran kelurahan dan kecamatan hanya untuk petugas dengan tokennya; "
                        "permohonan warga melalui web, app atau whatsapp.",
                        "The kelurahan and kecamatan channels are for officers with their "
                        "token; a citizen applies through web, app or whatsapp.")

    def __init__(self):
        super().__init__(CITIZEN_CHANNELS)

    def __call__(self, value):
        if value in OFFICER_CHANNELS:
            raise ValidationError(self.officers_only)
        return super().__call__(value)


class SubmitRequestSchema(ApplicationRequestSchema):
    """``POST /api/v1/applications``, with no token: a citizen's channel only,
    so nobody files an application as an officer's (the operators' queue
    filters and trusts them by channel)."""

    channel = fields.String(required=True, validate=CitizenChannel())


class KtpElDetailsSchema(Schema):
    class Meta:
        unknown = RAISE

    reason = fields.String(required=True, validate=validate.OneOf(
        ("first_issue", "lost", "damaged", "data_change")))
    # the police's own numbering ("LP/B/123/VII/2020/SPKT/POLDA BANTEN"): any text,
    # never printed
    police_report_number = Text(load_default=None, max=64)
    old_card_surrendered = JsonBoolean(load_default=False)


StatusLookupSchema = CitizenLookupSchema  # tracking code + NIK, shared with printing


class RejectSchema(Schema):
    """Reason codes from the catalogue (``services.intake.reasons``, checked
    there: an unknown code is a 400 naming ``reasons``) and an optional note."""

    class Meta:
        unknown = RAISE

    reasons = fields.List(fields.String(validate=validate.Length(min=1, max=40)),
                          required=True)
    note = Text(load_default=None, min=1, max=300)
