"""``details`` of each document type: HTTP boundary schemas (no business rules).

The request's ``details`` object is loaded by its document type's schema
(``DETAIL_SCHEMAS``); what the fields must mean together (dates, ages, codes,
the supporting documents, the register) is checked in the rules modules.
Dates load as ``datetime.date`` and are stored as ISO strings (``dump``).
"""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from shared.fields import (IsoDate, ItemCount, JsonBoolean, KkNumber, Nik, PersonName,
                           PrintedText, RegionCode)

from .requirements import DOCUMENT_KINDS
from .schemas import AddressSchema, KtpElDetailsSchema

SEXES = ("M", "F")  # as the NIK encodes it (day + 40 for women)
REPORTER_RELATIONS = ("suami", "istri", "anak", "orang_tua", "saudara", "lainnya")
MOVE_REASONS = ("pekerjaan", "pendidikan", "keamanan", "kesehatan", "perumahan", "keluarga",
                "lainnya")
MOVES = ("pindah_keluar", "pindah_datang")


def full_name(**kwargs) -> PersonName:
    """A name the document prints (the child's on the KIA, the birth certificate)."""
    return PersonName(min=2, max=120, **kwargs)


def named_by_citizen() -> PersonName:
    """The name of a person the application gives by NIK, as the citizen
    writes it: printed when the register does not know the NIK (the
    register's own is printed when it does, ``rule_helpers.register_name``)."""
    return full_name(load_default=None)


def documents() -> fields.List:
    """The supporting documents the citizen declares (kinds of ``DOCUMENT_KINDS``)."""
    return fields.List(fields.String(validate=validate.OneOf(DOCUMENT_KINDS)),
                       load_default=list, validate=ItemCount(max=len(DOCUMENT_KINDS)))


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


class ChildSchema(StrictSchema):
    full_name = full_name(required=True)
    sex = fields.String(required=True, validate=validate.OneOf(SEXES))
    birth_date = IsoDate(required=True)
    birth_place_code = RegionCode(4, required=True)  # kab/kota of birth ("3673" or "36.73")


class AktaKelahiranDetailsSchema(StrictSchema):
    child = fields.Nested(ChildSchema, required=True)
    mother_nik = Nik(required=True)
    mother_full_name = named_by_citizen()
    parents_married = JsonBoolean(required=True)
    father_nik = Nik(load_default=None)  # required when the parents are married
    father_full_name = named_by_citizen()  # only with father_nik
    kk_number = KkNumber(required=True)  # the KK the child joins
    # two witnesses' NIKs: required when the birth is attested by an SPTJM
    witnesses = fields.List(Nik(), load_default=list, validate=ItemCount(max=2))
    documents = documents()


class AktaKematianDetailsSchema(StrictSchema):
    deceased_nik = Nik(required=True)
    deceased_full_name = named_by_citizen()
    date_of_death = IsoDate(required=True)
    place_of_death = PrintedText(required=True, min=3, max=200)  # on the certificate
    reporter_nik = Nik(required=True)
    reporter_relation = fields.String(required=True,
                                      validate=validate.OneOf(REPORTER_RELATIONS))
    documents = documents()


class DestinationSchema(AddressSchema):
    """A destination anywhere in Indonesia (its kelurahan code checked as any address's)."""


class SkpwniDetailsSchema(StrictSchema):
    move = fields.String(required=True, validate=validate.OneOf(MOVES))
    # the new address: anywhere in Indonesia (pindah keluar), here (pindah datang)
    destination = fields.Nested(DestinationSchema, required=True)
    # pindah keluar: why, and who moves (NIKs on the applicant's KK)
    reason = fields.String(load_default=None, validate=validate.OneOf(MOVE_REASONS))
    members = fields.List(Nik(), load_default=list, validate=ItemCount(max=30))
    # pindah datang: the number of the SKPWNI the place of origin issued
    skpwni_number = fields.String(load_default=None, validate=[
        validate.Length(min=5, max=40), validate.Regexp(r"^[0-9A-Za-z./-]+$")])
    documents = documents()


class KiaDetailsSchema(StrictSchema):
    child_nik = Nik(required=True)
    child_full_name = full_name(required=True)
    birth_certificate_number = fields.String(required=True, validate=[
        validate.Length(min=5, max=40), validate.Regexp(r"^[0-9A-Za-z./-]+$")])
    parent_nik = Nik(required=True)
    kk_number = KkNumber(required=True)  # the child's family card
    documents = documents()


DETAIL_SCHEMAS: dict[str, type[Schema]] = {
    "ktp_el": KtpElDetailsSchema,
    "akta_kelahiran": AktaKelahiranDetailsSchema,
    "akta_kematian": AktaKematianDetailsSchema,
    "skpwni": SkpwniDetailsSchema,
    "kia": KiaDetailsSchema,
}
