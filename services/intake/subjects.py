"""Whom an application is about: the key of the one-active-application rule.

One application in progress per document type and *subject*, the person the
document is for, not the person who applies: the deceased for a death
certificate, the child for a KIA, the newborn (who has no NIK yet: mother's
NIK + birth date + name) for a birth certificate, the applicant for a KTP-el.
A moving certificate (SKPWNI) is about everyone who moves: its subject key
is a list, one NIK subject per member of a pindah keluar (who arrives, for
a pindah datang), and the one-active index holds each of them (a multikey
unique index: a member another SKPWNI in progress moves clashes on its
own). A parent applying for two children, twins in one jemput-bola batch,
a neighbour reporting a death, or a father moving each child elsewhere are
therefore not refused. Plain Python.
"""

from __future__ import annotations

import re

from shared.errors import Msg

# where the subject is named in the request, for the 409 that names the field
SUBJECT_FIELDS = {
    "ktp_el": "applicant.nik",
    "skpwni": "applicant.nik",  # a pindah datang's; a member: ``details.members.<i>``
    "akta_kematian": "details.deceased_nik",
    "kia": "details.child_nik",
    "akta_kelahiran": "details.child",
}
# what the 409 says the subject is, by the field naming it (an item of a
# list by the list's): a newborn has no NIK yet, so its birth certificate's
# conflict must not speak of one
SUBJECT_WORDS = {
    "applicant.nik": Msg("NIK ini", "this NIK"),
    "details.deceased_nik": Msg("NIK almarhum/almarhumah ini", "this deceased person's NIK"),
    "details.child_nik": Msg("NIK anak ini", "this child's NIK"),
    "details.child": Msg("anak ini (NIK ibu, tanggal lahir dan nama anak yang sama)",
                         "this child (the same mother's NIK, birth date and child's name)"),
    "details.members": Msg("NIK anggota keluarga yang pindah ini",
                           "this moving family member's NIK"),
}


def normalized_name(name: str) -> str:
    """Case and spacing do not make another child: ``" Siti  AMINAH"`` -> ``"siti aminah"``."""
    return " ".join(name.casefold().split())


def nik_subject(nik: str) -> str:
    return f"nik:{nik}"


def subject_key(document_type: str, applicant: dict, details: dict) -> str | list[str]:
    """The subject of an application, from its loaded (or stored) fields; an
    SKPWNI's subjects, in the order the request names them."""
    if document_type == "akta_kelahiran":
        child = details["child"]
        birth_date = child["birth_date"]
        if not isinstance(birth_date, str):
            birth_date = birth_date.isoformat()
        return f"birth:{details['mother_nik']}:{birth_date}:{normalized_name(child['full_name'])}"
    if document_type == "akta_kematian":
        return nik_subject(details["deceased_nik"])
    if document_type == "kia":
        return nik_subject(details["child_nik"])
    if document_type == "skpwni":
        return [nik_subject(nik) for nik in details.get("members") or [applicant["nik"]]]
    return nik_subject(applicant["nik"])


def subjects(key: str | list[str]) -> list[str]:
    """The subjects a stored ``subject_key`` names."""
    return key if isinstance(key, list) else [key]


def subject_field(document_type: str, details: dict | None = None,
                  held: set[str] = frozenset()) -> str:
    """Where the request names the subject; an SKPWNI's members: the first of
    them whose subject is ``held`` (by another application in progress),
    ``details.members.<i>``."""
    members = (details or {}).get("members") or []
    if document_type == "skpwni" and members:
        return next((f"details.members.{index}" for index, nik in enumerate(members)
                     if nik_subject(nik) in held), "details.members")
    return SUBJECT_FIELDS.get(document_type, "applicant.nik")


def subject_words(field: str) -> Msg:
    """How the 409 names the subject that ``field`` (``subject_field``) holds."""
    return SUBJECT_WORDS.get(re.sub(r"\.\d+$", "", field), SUBJECT_WORDS["applicant.nik"])
