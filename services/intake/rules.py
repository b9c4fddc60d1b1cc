"""The rules a new (or corrected) application must pass. Plain Python, no nameko.

``check_application`` runs, in order: what every document type shares (a
contact, an address for Pos delivery); the document's ``details`` schema
(``detail_schemas``); the document's own rules (``DocumentRules``: KTP-el
here, the acts in ``civil_rules``, SKPWNI and KIA in ``residence_rules``);
the supporting documents it declares against the requirements table
(``requirements``); and last, for an application otherwise valid, the
population register (``population.Lookup``), which may refuse what it knows
to be wrong but never refuses for what it cannot answer (it flags instead).
A first KTP-el's age rule is in that last step: the register's birth date
decides the age when it knows the NIK, else the NIK's (checked without the
register, the NIK's alone). Each refusal is a ``ValidationFailed`` naming
the field (400).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Callable

from marshmallow import ValidationError

from shared.errors import Msg, ValidationFailed, flatten_field_errors
from shared.fields import has_text, schema
from shared.nik import ADULT_AGE, age_on

from . import requirements
from .civil_rules import CIVIL_RULES
from .detail_schemas import DETAIL_SCHEMAS
from .exceptions import BirthAlreadyRegistered
from .population import Lookup
from .request_fields import delivery_asked
from .residence_rules import RESIDENCE_RULES, moves_in, refuse_if_moved_out
from .rule_helpers import (PARENT_MIN_AGE, DocumentRules, Findings, merged, refuse,
                           refuse_if_deceased, register_name)
from .subjects import subject_key

__all__ = ["ADULT_AGE", "Checked", "age_on", "check_application", "validate_application"]


@dataclass(frozen=True)
class Checked:
    details: dict  # as stored: JSON-ready (dates as ISO strings)
    flags: tuple[str, ...] = ()  # for the operator: late_registration, register_unchecked ...
    required_documents: tuple[str, ...] = ()  # requirement names (requirements table)
    # e.g. {"move_kind": "antar_provinsi"}; the names the register gave for a
    # certificate's people: {"deceased_full_name": "SARMILI"} (``register_name``)
    derived: dict = field(default_factory=dict)

    def stored(self) -> dict:
        """The fields ``domain.new_application`` stores beside the details."""
        return {"flags": list(self.flags), "required_documents": list(self.required_documents),
                "derived": dict(self.derived)}


def ktp_el_details(request: dict, details: dict, today: datetime.date) -> Findings:
    if details["reason"] == "lost" and not has_text(details["police_report_number"]):
        refuse("details.police_report_number",
               "Penggantian KTP-el hilang wajib melampirkan nomor surat keterangan kehilangan "
               "dari kepolisian.", "Replacing a lost KTP-el requires the police report number.")
    if details["reason"] == "damaged" and not details["old_card_surrendered"]:
        refuse("details.old_card_surrendered",
               "Penggantian KTP-el rusak wajib menyerahkan KTP-el lama.",
               "Replacing a damaged KTP-el requires surrendering the old card.")
    return Findings(facts=frozenset({"reason_lost"} if details["reason"] == "lost" else ()))


def refuse_unless_old_enough_for_a_ktp_el(applicant: dict, today: datetime.date,
                                          lookup: Lookup, first: bool = True) -> None:
    """A first KTP-el is issued at 17, or earlier to a citizen who is (or
    was) married - by what ``marital_status`` says, so no younger than
    PARENT_MIN_AGE: a married 5-year-old is a mistyped NIK (or status). The
    age is by the register's birth date when it knows the NIK (``Lookup.age``).
    A replacement (``first`` False) is of a card only such a citizen holds
    (a review: a 6-year-old's "lost" KTP-el was accepted while the register
    was silent). 400 on ``applicant.nik``."""
    age = lookup.age(applicant["nik"], today)
    if age >= ADULT_AGE:
        return
    if applicant["marital_status"] == "belum_kawin":
        refuse("applicant.nik",
               f"KTP-el{' pertama' if first else ''} hanya untuk usia 17 tahun ke atas atau "
               "sudah/pernah kawin.",
               f"A{' first' if first else ''} KTP-el requires age 17 or older, or "
               "being/having been married.")
    if age < PARENT_MIN_AGE:
        refuse("applicant.nik",
               f"Menurut tanggal lahirnya, pemilik NIK ini belum berusia {PARENT_MIN_AGE} "
               "tahun dan tidak mungkin berstatus kawin; periksa NIK dan status perkawinan.",
               f"By the birth date, this NIK's holder is under {PARENT_MIN_AGE} and cannot be "
               "married; check the NIK and the marital status.")


def ktp_el_against_register(request: dict, details: dict, lookup: Lookup,
                            today: datetime.date) -> Findings:
    """The age rule of a KTP-el; a NIK recorded for a KTP-el; the card
    prints the birth date and the name the register gives
    (``derived.birth_date``, ``derived.holder_full_name``): an
    ``applicant.full_name`` that differs is flagged, never printed - a
    changed name (``data_change``) is changed in the register (SIAK) first."""
    nik = request["applicant"]["nik"]
    refuse_unless_old_enough_for_a_ktp_el(request["applicant"], today, lookup,
                                          first=details["reason"] == "first_issue")
    person = lookup.person(nik)
    if person is None:
        return Findings()
    if not person.ktp_el_recorded:
        refuse("applicant.nik",
               "Pemilik NIK ini belum melakukan perekaman KTP-el; lakukan perekaman di kantor "
               "kecamatan atau Dinas lebih dulu.",
               "The holder of this NIK has not had the KTP-el recording (perekaman) yet; have "
               "it done at a kecamatan office or the Disdukcapil first.")
    return merged(Findings(derived={"birth_date": lookup.birth_date(nik, today).isoformat()}),
                  register_name("holder", nik, request["applicant"]["full_name"], lookup))


RULES: dict[str, DocumentRules] = {
    "ktp_el": DocumentRules(ktp_el_details, ktp_el_against_register),
    **CIVIL_RULES,
    **RESIDENCE_RULES,
}


def check_common(request: dict) -> None:
    applicant = request["applicant"]
    if not applicant["phone"] and not applicant["email"]:
        refuse("applicant.phone",
               "Isi nomor HP atau email agar kami dapat mengabari jadwal pengambilan.",
               "Give a mobile number or an email so we can tell you when to collect.")
    delivery = delivery_asked(request)
    if delivery["method"] == "pos" and not delivery.get("address"):
        if not (request.get("delivery") or {}).get("method"):  # Pos by its channel: say so
            refuse("delivery.address",
                   "Alamat wajib diisi: dokumen permohonan lewat WhatsApp dikirim Pos Indonesia "
                   "ke alamat Anda (atau pilih delivery.method pickup untuk mengambil sendiri).",
                   "An address is required: documents applied for by WhatsApp are delivered by "
                   "Pos Indonesia (or choose delivery.method pickup to collect it yourself).")
        refuse("delivery.address", "Alamat wajib diisi untuk pengiriman lewat Pos Indonesia.",
               "An address is required for delivery by Pos Indonesia.")


def load_details(document_type: str, raw) -> dict:
    try:
        return schema(DETAIL_SCHEMAS[document_type]).load(raw)
    except ValidationError as exc:
        raise ValidationFailed(flatten_field_errors(exc.messages, "details")) from None


def check_documents(document_type: str, details: dict, facts) -> tuple[str, ...]:
    """The declared supporting documents cover what applies (400 on
    ``details.documents``, one message per missing one); returns the names of
    the requirements that apply."""
    declared = details.get("documents")
    if declared is not None:  # KTP-el declares none yet: its evidence is in its fields
        if missing := requirements.missing(document_type, declared, facts):
            raise ValidationFailed({"details.documents": [
                Msg(f"Dokumen wajib belum dilampirkan: {req.label}.",
                    f"Required document missing: {req.label.en}.") for req in missing]})
    return tuple(req.name for req in requirements.required(document_type, facts))


def check_applicant(applicant: dict, lookup: Lookup, known: bool = False,
                    moving_in: bool = False) -> None:
    """Whoever applies is alive, has not moved out of Kota Serang (unless
    ``moving_in``: a pindah datang) and is on the KK they name, as far as
    intake and the register know; ``known``: and a NIK the register answered
    it does not know is not on the KK either (a recording booking, which
    nobody checks by hand)."""
    refuse_if_deceased("applicant.nik", applicant["nik"], lookup)
    if not moving_in:
        refuse_if_moved_out("applicant.nik", applicant["nik"], lookup)
    person = lookup.person(applicant["nik"])
    if (person.kk_number != applicant["kk_number"] if person is not None
            else known and not lookup.unreachable):
        refuse("applicant.kk_number", "NIK pemohon tidak terdaftar pada No. KK ini.",
               "The applicant's NIK is not on this family card (KK).")


def refuse_registered_birth(request: dict, details: dict,
                            birth_registered: Callable[[str], bool]) -> None:
    """A birth is registered once: an Akta Kelahiran for a child whose birth
    certificate was verified here - the same subject, ``subjects.subject_key``:
    the mother's NIK, the birth date and the name, case and spacing aside -
    is refused (409 ``BirthAlreadyRegistered``), however the first ended; a
    lost one is reissued as a kutipan kedua. Twins are two subjects."""
    if request["document_type"] == "akta_kelahiran" and birth_registered(
            subject_key("akta_kelahiran", request["applicant"], details)):
        raise BirthAlreadyRegistered()


def check_application(request: dict, today: datetime.date,
                      lookup: Lookup | None = None) -> Checked:
    """Check a loaded request; ``lookup``: the register's answers (None: no
    register - its rules go by what the request says, an age by the NIK)."""
    document_type = request["document_type"]
    rules = RULES[document_type]
    check_common(request)
    details = load_details(document_type, request["details"])
    findings = rules.check(request, details, today)
    required = check_documents(document_type, details, findings.facts)
    if lookup is None:
        lookup = Lookup(None)
    check_applicant(request["applicant"], lookup, moving_in=moves_in(request, details))
    told = rules.against_register(request, details, lookup, today) or Findings()
    findings = merged(findings, told, Findings(flags=frozenset(lookup.flags)))
    return Checked(schema(DETAIL_SCHEMAS[document_type]).dump(details),
                   tuple(sorted(findings.flags)), required, findings.derived)



def validate_application(request: dict, today: datetime.date) -> dict:
    """The checked details alone, without the register: for callers that
    store nothing but the details (prefer ``check_application``)."""
    return check_application(request, today).details
