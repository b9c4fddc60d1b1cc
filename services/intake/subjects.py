"""Whom an application is about: the key of the one-active-application rule.

One application in progress per document type and *subject*, the person the
document is for, not the person who applies: the deceased for a death
certificate, the child for a KIA, the newborn (who has no NIK yet: mother's
NIK + birth date + name) for a birth certificate, the applicant for a KTP-el
or an SKPWNI. A parent applying for two children, twins in one jemput-bola
batch, or a neighbour reporting a death are therefore not refused. Plain Python.
"""

from __future__ import annotations

from shared.errors import Msg

# where the subject is named in the request, for the 409 that names the field
SUBJECT_FIELDS = {
    "ktp_el": "applicant.nik",
    "skpwni": "applicant.nik",
    "akta_kematian": "details.deceased_nik",
    "kia": "details.child_nik",
    "akta_kelahiran": "details.child",
}
# what the 409 says the subject is, by the field naming it: a newborn has no
# NIK yet, so its birth certificate's conflict must not speak of one
SUBJECT_WORDS = {
    "applicant.nik": Msg("NIK ini", "this NIK"),
    "details.deceased_nik": Msg("NIK almarhum/almarhumah ini", "this deceased person's NIK"),
    "details.child_nik": Msg("NIK anak ini", "this child's NIK"),
    "details.child": Msg("anak ini (NIK ibu, tanggal lahir dan nama anak yang sama)",
                         "this child (the same mother's NIK, birth date and child's name)"),
}


def normalized_name(name: str) -> str:
    """Case and spacing do not make another child: ``" Siti  AMINAH"`` -> ``"siti aminah"``."""
    return " ".join(name.casefold().split())


def nik_subject(nik: str) -> str:
    return f"nik:{nik}"


def subject_key(document_type: str, applicant: dict, details: dict) -> str:
    """The subject of an application, from its loaded (or stored) fields."""
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
    return nik_subject(applicant["nik"])


def subject_field(document_type: str) -> str:
    return SUBJECT_FIELDS.get(document_type, "applicant.nik")


def subject_words(field: str) -> Msg:
    """How the 409 names the subject that ``field`` (``subject_field``) holds."""
    return SUBJECT_WORDS.get(field, SUBJECT_WORDS["applicant.nik"])
