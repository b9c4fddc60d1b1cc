"""What the printed document says, beyond the applicant: whose document it
is (``holder``) and the details of its document type (``document_details``),
for ``application_verified``. Plain Python, no nameko.

Printing renders these and never reads intake's database, so region codes
travel with their names (``shared.wilayah``). Only what intake stores is
sent. A certificate names the people it is about, whom the application gives
by NIK (``NAMED``: the deceased, a newborn's mother and father): by the name
screening took from the register (``derived``), else the citizen's
(``details.<role>_full_name``), else the applicant's own when that NIK is the
applicant's. One it cannot name is not verified (``unnamed``). The moving
family members are named as the register knows them (``derived``), else
only the applicant among them. No NIK goes into the details but the
deceased's, which the death certificate prints; a card's own NIK is
``holder_nik``.
"""

from __future__ import annotations

import datetime

from shared.nik import InvalidIdentityNumber, parse_nik
from shared.wilayah import load_wilayah

# the people a certificate names, by role, and the detail holding each one's NIK
NAMED = {"akta_kematian": {"deceased": "deceased_nik"},
         "akta_kelahiran": {"mother": "mother_nik", "father": "father_nik"}}


def named(application: dict, role: str) -> str | None:
    """The name printed for the person ``role`` (of ``NAMED``), or None:
    nobody in that role (no father given) or the name unknown."""
    details, applicant = application["details"], application["applicant"]
    nik = details.get(NAMED[application["document_type"]][role])
    if not nik:
        return None
    return (application.get("derived", {}).get(f"{role}_full_name")
            or details.get(f"{role}_full_name")
            or (applicant["full_name"] if nik == applicant["nik"] else None))


def unnamed(application: dict) -> list[str]:
    """The name fields the citizen must fill before the certificate can be
    printed: each person it names whom neither the register nor the citizen
    named (``details.deceased_full_name`` ...)."""
    roles = NAMED.get(application["document_type"], {})
    return [f"details.{role}_full_name" for role, nik_field in roles.items()
            if application["details"].get(nik_field) and named(application, role) is None]


def holder(application: dict) -> dict:
    """Whose name the document is issued in, and the NIK a card carries
    (cards only: a certificate prints no NIK here). A KIA and a birth
    certificate are the child's, a death certificate the deceased's; the
    rest are issued to the applicant. A card prints its holder's name as
    the register gave it at screening (``derived``: a KIA's
    ``child_full_name``, a KTP-el's ``holder_full_name``), else the
    citizen's."""
    applicant, details = application["applicant"], application["details"]
    document_type, derived = application["document_type"], application.get("derived", {})
    if document_type == "kia":
        return {"holder_name": derived.get("child_full_name") or details.get("child_full_name"),
                "holder_nik": details.get("child_nik")}
    if document_type == "akta_kelahiran":
        return {"holder_name": details.get("child", {}).get("full_name"), "holder_nik": None}
    if document_type == "akta_kematian":
        return {"holder_name": named(application, "deceased"), "holder_nik": None}
    if document_type == "ktp_el":
        return {"holder_name": derived.get("holder_full_name") or applicant["full_name"],
                "holder_nik": applicant["nik"]}
    return {"holder_name": applicant["full_name"], "holder_nik": None}


def born(nik: str | None, applied: datetime.datetime, registered: str | None = None) -> dict:
    """A card holder's sex, as the NIK encodes it, and birth date: the one
    the register gave at screening (``registered``: ``derived.birth_date``,
    ``rules.ktp_el_against_register``), else the NIK's, read as of the day
    (WIB) it was applied for; nothing for an odd NIK."""
    try:
        info = parse_nik(nik, today=applied)
    except InvalidIdentityNumber:
        return {}
    return {"sex": info.sex, "birth_date": registered or info.birth_date.isoformat()}


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
            "mother_name": named(application, "mother"),
            "father_name": named(application, "father")}


def death(application: dict) -> dict:
    """Who died (the name is the holder's), when and where."""
    details = application["details"]
    return {name: details.get(name) for name in (
        "deceased_nik", "date_of_death", "place_of_death", "reporter_relation")}


def move(application: dict) -> dict:
    details, applicant = application["details"], application["applicant"]
    members = details.get("members") or []
    return {"move": details.get("move"), "move_kind": application.get("derived", {}).get(
                "move_kind"),
            "move_reason": details.get("reason"), "skpwni_number": details.get("skpwni_number"),
            "destination": destination(details.get("destination")),
            # pindah datang names no members: the SKPWNI of origin lists them;
            # a pindah keluar each, as the register does (``derived``, the
            # register unanswered: the applicant alone, when among them)
            "members_moving": len(members) or None,
            "members_named": application.get("derived", {}).get("members_full_names")
            or ([applicant["full_name"]] if applicant["nik"] in members else None)}


def kia(application: dict) -> dict:
    details = application["details"]
    return {**born(details.get("child_nik"), application["created_at"]),
            "birth_certificate_number": details.get("birth_certificate_number")}


def ktp_el(application: dict) -> dict:
    return born(application["applicant"]["nik"], application["created_at"],
                application.get("derived", {}).get("birth_date"))


DETAILS = {"ktp_el": ktp_el, "kia": kia, "akta_kelahiran": birth, "akta_kematian": death,
           "skpwni": move}


def document_details(application: dict) -> dict:
    """The details printed on the document (``shared.events.DocumentDetailsSchema``);
    what intake does not know (or an application stored before a field
    existed lacks) is left out: a verification never fails for it."""
    details = DETAILS[application["document_type"]](application)
    return {name: value for name, value in details.items() if value is not None}
