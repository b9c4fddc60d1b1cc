"""Per-document rules for a new application. Plain Python, no nameko.

Each rule set takes the loaded request and returns the validated ``details``
or raises ``ValidationFailed`` naming the failing field.
"""

from __future__ import annotations

import datetime

from marshmallow import ValidationError

from shared.errors import Msg, Unprocessable, ValidationFailed, flatten_field_errors
from shared.nik import parse_nik

from .schemas import KtpElDetailsSchema

ADULT_AGE = 17


def age_on(birth: datetime.date, today: datetime.date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def ktp_el_details(request: dict, today: datetime.date) -> dict:
    try:
        details = KtpElDetailsSchema().load(request["details"])
    except ValidationError as exc:
        raise ValidationFailed(flatten_field_errors(exc.messages, "details"))
    applicant = request["applicant"]
    if details["reason"] == "first_issue":
        # KTP-el is issued at 17, or earlier to a married citizen
        age = age_on(parse_nik(applicant["nik"], today=today).birth_date, today)
        if age < ADULT_AGE and applicant["marital_status"] == "belum_kawin":
            raise ValidationFailed({"applicant.nik": [Msg(
                "KTP-el pertama hanya untuk usia 17 tahun ke atas atau sudah/pernah kawin.",
                "A first KTP-el requires age 17 or older, or being/having been married.")]})
    if details["reason"] == "lost" and not details["police_report_number"]:
        raise ValidationFailed({"details.police_report_number": [Msg(
            "Penggantian KTP-el hilang wajib melampirkan nomor surat keterangan kehilangan dari kepolisian.",
            "Replacing a lost KTP-el requires the police report number.")]})
    if details["reason"] == "damaged" and not details["old_card_surrendered"]:
        raise ValidationFailed({"details.old_card_surrendered": [Msg(
            "Penggantian KTP-el rusak wajib menyerahkan KTP-el lama.",
            "Replacing a damaged KTP-el requires surrendering the old card.")]})
    return details


# Document types whose rules are implemented; the others are known but not yet
# accepted online (they answer 422 rather than being stored without checks).
RULES = {"ktp_el": ktp_el_details}


def validate_application(request: dict, today: datetime.date) -> dict:
    """Validate the cross-field rules of a loaded request; returns the details."""
    rule = RULES.get(request["document_type"])
    if rule is None:
        raise Unprocessable(Msg("Jenis dokumen ini belum dapat diajukan secara online.",
                                "This document type cannot be applied for online yet."),
                            {"document_type": [Msg("Belum tersedia secara online.",
                                                   "Not yet available online.")]})
    applicant = request["applicant"]
    if not applicant["phone"] and not applicant["email"]:
        raise ValidationFailed({"applicant.phone": [Msg(
            "Isi nomor HP atau email agar kami dapat mengabari jadwal pengambilan.",
            "Give a mobile number or an email so we can tell you when to collect.")]})
    delivery = request["delivery"]
    if delivery["method"] == "pos" and not delivery["address"]:
        raise ValidationFailed({"delivery.address": [Msg(
            "Alamat wajib diisi untuk pengiriman lewat Pos Indonesia.",
            "An address is required for delivery by Pos Indonesia.")]})
    return rule(request, today)
