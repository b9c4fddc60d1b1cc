"""What the printed document says, beyond the applicant: whose document it
is (``holder``) and the details of its document type (``document_details``),
for ``application_verified``. Plain Python, no nameko.

Printing renders these and never reads intake's database, so region codes
travel with their names (``shared.wilayah``). Only what intake stores is
sent: the parents, the deceased and the moving family members are kept by
NIK, not by name, so a name is sent only where the applicant is that person.
No NIK goes into the details; the card's own NIK is ``holder_nik``.
"""

from __future__ import annotations

import datetime

from shared.nik import InvalidIdentityNumber, parse_nik
from shared.wilayah import load_wilayah


def holder(application: dict) -> dict:
    """Whose name the document is issued in, and the NIK a card carries
    (cards only: a certificate prints no NIK). A KIA and a birth certificate
    are the child's; the rest are issued to the applicant."""
    applicant, details = application["applicant"], application["details"]
    document_type = application["document_type"]
    if document_type == "kia":
        return {"holder_name": details.get("child_full_name"),
                "holder_nik": details.get("child_nik")}
    if document_type == "akta_kelahiran":
        return {"holder_name": details.get("child", {}).get("full_name"), "holder_nik": None}
    return {"holder_name": applicant["full_name"],
            "holder_nik": applicant["nik"] if document_type == "ktp_el" else None}


def born(nik: str | None, on: datetime.datetime) -> dict:
    """Sex and birth date as the NIK encodes them (``on``: when it was
    applied for, which decides the century); nothing for an odd NIK."""
    try:
        info = parse_nik(nik, today=on)
    except InvalidIdentityNumber:
        return {}
    return {"sex": info.sex, "birth_date": info.birth_date.isoformat()}


def named_parent(application: dict, nik_field: str) -> str | None:
    """A parent's name, known when that parent is the applicant."""
    nik = application["details"].get(nik_field)
    applicant = application["applicant"]
    return applicant["full_name"] if nik and nik == applicant["nik"] else None


def destination(address: dict | None) -> dict | None:
    """The new address, with its area names spelled out."""
    if not address:
        return None
    return {**{name: address.get(name) for name in ("street", "rt", "rw", "postal_code")},
            "kelurahan_code": address.get("kelurahan_code"),
            **load_wilayah().area(address.get("kelurahan_code"))}


def birth(application: dict) -> dict:
    child = application["details"].get("child", {})
    return {"sex": child.get("sex"), "birth_date": child.get("birth_date"),
            "birth_place_code": child.get("birth_place_code"),
            "birth_place": load_wilayah().kabkota(child.get("birth_place_code")),
            "mother_name": named_parent(application, "mother_nik"),
            "father_name": named_parent(application, "father_nik")}


def death(application: dict) -> dict:
    details = application["details"]
    return {name: details.get(name)
            for name in ("date_of_death", "place_of_death", "reporter_relation")}


def move(application: dict) -> dict:
    details, applicant = application["details"], application["applicant"]
    members = details.get("members") or []
    return {"move": details.get("move"), "move_kind": application.get("derived", {}).get(
                "move_kind"),
            "move_reason": details.get("reason"), "skpwni_number": details.get("skpwni_number"),
            "destination": destination(details.get("destination")),
            # pindah datang names no members: the SKPWNI of origin lists them
            "members_moving": len(members) or None,
            "members_named": [applicant["full_name"]] if applicant["nik"] in members else None}


def kia(application: dict) -> dict:
    details = application["details"]
    return {**born(details.get("child_nik"), application["created_at"]),
            "birth_certificate_number": details.get("birth_certificate_number")}


def ktp_el(application: dict) -> dict:
    return born(application["applicant"]["nik"], application["created_at"])


DETAILS = {"ktp_el": ktp_el, "kia": kia, "akta_kelahiran": birth, "akta_kematian": death,
           "skpwni": move}


def document_details(application: dict) -> dict:
    """The details printed on the document (``shared.events.DocumentDetailsSchema``);
    what intake does not know (or an application stored before a field
    existed lacks) is left out: a verification never fails for it."""
    details = DETAILS[application["document_type"]](application)
    return {name: value for name, value in details.items() if value is not None}
