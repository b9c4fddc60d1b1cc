"""Rules of the civil-registry acts (pencatatan sipil): Akta Kelahiran and
Akta Kematian. Plain Python, no nameko; each refusal names its field.

A certificate names people the application gives by NIK: the deceased, a
newborn's mother and father. Their names are the register's
(``register_name``, kept in ``derived``), or the citizen's
(``details.<role>_full_name``) when the register does not know them; an
application that has neither is accepted, and cannot be verified until the
citizen gives the name (``printables.unnamed``). A witness' age, a
parent's age at the birth (a late certificate of 1960 names a mother born
1924, NIK year 24), and the birth a death cannot precede, go by the
register's birth date when it knows the NIK (``Lookup.birth_date``), else by
the NIK's. A birth and a death verified here rule each other out: a mother
dead before the birth, a father dead more than POSTHUMOUS_BIRTH_DAYS before
it (``Lookup.died_on``), and a mother's death dated before a birth verified
first (``Lookup.children_born``)."""

from __future__ import annotations

import datetime

from shared.errors import Msg
from shared.nik import parse_nik

from .population import Lookup
from .rule_helpers import (DocumentRules, Findings, flag_deceased_parents, known_married, merged,
                           not_in_future, refuse, refuse_if_deceased, refuse_unless_adult,
                           refuse_unless_old_enough_to_be_a_parent, register_name)

# a birth registered more than this many days after it is late: accepted, and
# flagged for the operator (the Dinas reports late registrations separately)
LATE_AFTER_DAYS = 60
LATE_REGISTRATION = "late_registration"
# a child born up to this many days after the father's death is his (a
# posthumous child); born later, it cannot be
POSTHUMOUS_BIRTH_DAYS = 300


def birth_details(request: dict, details: dict, today: datetime.date) -> Findings:
    child = details["child"]
    born = child["birth_date"]
    not_in_future("details.child.birth_date", born, today)
    if parse_nik(details["mother_nik"], today=today).sex != "F":
        refuse("details.mother_nik", "NIK ibu harus NIK perempuan (tanggal lahir ditambah 40).",
               "The mother's NIK must be a woman's (day of birth plus 40).")
    if details["parents_married"] and not details["father_nik"]:
        refuse("details.father_nik", "Wajib diisi bila orang tua menikah.",
               "Required when the parents are married.")
    if details["father_full_name"] and not details["father_nik"]:
        refuse("details.father_full_name", "Nama ayah hanya diisi bersama NIK ayah.",
               "The father's name goes with the father's NIK.")
    if details["father_nik"] and not details["parents_married"]:
        refuse_father_without_marriage()
    if details["father_nik"] and parse_nik(details["father_nik"], today=today).sex != "M":
        refuse("details.father_nik", "NIK ayah harus NIK laki-laki.",
               "The father's NIK must be a man's.")
    if sworn_by_witnesses(details):
        check_witnesses(details)
    late = (today - born).days > LATE_AFTER_DAYS
    return Findings(facts=frozenset({"parents_married"} if details["parents_married"] else ()),
                    flags=frozenset({LATE_REGISTRATION} if late else ()))


def refuse_father_without_marriage() -> None:
    """A child of parents not married is "anak seorang ibu": the certificate
    names the mother alone. A marriage not (yet) recorded is a marriage too
    - ``parents_married`` with an SPTJM kebenaran sebagai pasangan suami
    istri for its proof (``requirements``); a father of a child born outside
    marriage is recognised by a pengakuan anak, a procedure of its own.
    400 on ``details.father_nik``."""
    refuse("details.father_nik",
           "Orang tua tidak menikah: tanpa bukti perkawinan, akta kelahiran hanya menyebut ibu, "
           "jadi NIK ayah tidak diisi. Bila orang tua menikah (juga yang perkawinannya belum "
           "tercatat), isi parents_married true dan lampirkan buku nikah atau SPTJM kebenaran "
           "sebagai pasangan suami istri. Ayah diakui lewat pengakuan anak, prosedur tersendiri.",
           "The parents are not married: without a marriage record the birth certificate names "
           "the mother only, so leave the father's NIK out. If the parents are married (a "
           "marriage not yet recorded too), set parents_married true and attach the marriage "
           "certificate or a sworn statement (SPTJM) that they are a married couple. A father "
           "is recognised through pengakuan anak (acknowledgement of a child), a separate "
           "procedure.")


def sworn_by_witnesses(details: dict) -> bool:
    """A birth attested by a sworn statement (SPTJM) without a birth letter:
    two witnesses attest it."""
    documents = set(details["documents"])
    return "sptjm_kelahiran" in documents and "surat_keterangan_lahir" not in documents


def check_witnesses(details: dict) -> None:
    """Two witnesses, not the parents (alive and adult: ``refuse_unfit_witnesses``)."""
    witnesses = details["witnesses"]
    if len(witnesses) != 2 or witnesses[0] == witnesses[1]:
        refuse("details.witnesses",
               "SPTJM kelahiran tanpa surat keterangan lahir memerlukan NIK 2 orang saksi.",
               "A sworn statement without a birth letter needs two witnesses' NIKs.")
    for index, nik in enumerate(witnesses):
        if nik in (details["mother_nik"], details["father_nik"]):
            refuse(f"details.witnesses.{index}", "Saksi tidak boleh orang tua anak.",
                   "A witness must not be a parent of the child.")


def refuse_unfit_witnesses(details: dict, today: datetime.date, lookup: Lookup) -> None:
    """A witness is alive (``refuse_if_deceased``) and an adult, by the
    register's birth date when it knows them."""
    for index, nik in enumerate(details["witnesses"]):
        refuse_if_deceased(f"details.witnesses.{index}", nik, lookup)
        refuse_unless_adult(f"details.witnesses.{index}", nik, Msg("Saksi", "A witness"), today,
                            lookup)


def birth_against_register(request: dict, details: dict, lookup: Lookup,
                           today: datetime.date) -> Findings:
    family = lookup.family(details["kk_number"])  # first: it may hold the parents
    refuse_parents_too_young(details, lookup, today)
    parents = [nik for nik in (details["mother_nik"], details["father_nik"]) if nik]
    if family is not None and not any(family.member(nik) for nik in parents):
        refuse("details.kk_number", "Ayah atau ibu harus terdaftar pada KK yang dituju anak.",
               "The mother or the father must be on the family card the child joins.")
    if sworn_by_witnesses(details):
        refuse_unfit_witnesses(details, today, lookup)
    refuse_parents_dead_before_the_birth(details, lookup)
    # "anak dari ibu ... dan ayah ...": the certificate names both parents
    return merged(register_name("mother", details["mother_nik"], details.get("mother_full_name"),
                                lookup),
                  register_name("father", details["father_nik"], details.get("father_full_name"),
                                lookup),
                  flag_deceased_parents(lookup, *parents))


def refuse_parents_too_young(details: dict, lookup: Lookup, today: datetime.date) -> None:
    """Each parent was at least PARENT_MIN_AGE at the birth
    (``refuse_unless_old_enough_to_be_a_parent``): younger is a mistyped NIK."""
    born = details["child"]["birth_date"]
    for role, who in (("mother", Msg("Ibu", "The mother")), ("father", Msg("Ayah", "The father"))):
        if nik := details[f"{role}_nik"]:
            refuse_unless_old_enough_to_be_a_parent(f"details.{role}_nik", nik, born, who,
                                                    lookup, today)


def refuse_parents_dead_before_the_birth(details: dict, lookup: Lookup) -> None:
    """By the date of death of a death certificate verified here
    (``Lookup.died_on``): a mother who died before the birth cannot have
    borne the child, nor a father who died more than
    POSTHUMOUS_BIRTH_DAYS before it have fathered it. One who died later
    (at the birth, a posthumous child), or whom only the register records as
    deceased, with no date, is flagged instead (``flag_deceased_parents``)."""
    born = details["child"]["birth_date"]
    mother_died = lookup.died_on(details["mother_nik"])
    if mother_died is not None and mother_died < born:
        refuse("details.mother_nik",
               "Ibu tercatat meninggal dunia sebelum tanggal lahir anak (akta kematian "
               "diverifikasi).",
               "The mother is recorded as deceased before the child's birth date (a death "
               "certificate was verified).")
    father_died = lookup.died_on(details["father_nik"]) if details["father_nik"] else None
    if father_died is not None and (born - father_died).days > POSTHUMOUS_BIRTH_DAYS:
        refuse("details.father_nik",
               f"Ayah tercatat meninggal dunia lebih dari {POSTHUMOUS_BIRTH_DAYS} hari sebelum "
               "tanggal lahir anak (akta kematian diverifikasi).",
               f"The father is recorded as deceased more than {POSTHUMOUS_BIRTH_DAYS} days "
               "before the child's birth date (a death certificate was verified).")


def death_details(request: dict, details: dict, today: datetime.date) -> Findings:
    deceased_nik = details["deceased_nik"]
    not_in_future("details.date_of_death", details["date_of_death"], today)
    if deceased_nik == request["applicant"]["nik"]:
        refuse("details.deceased_nik", "NIK almarhum tidak boleh NIK pemohon.",
               "The deceased's NIK must not be the applicant's.")
    if deceased_nik == details["reporter_nik"]:
        refuse("details.reporter_nik", "Pelapor tidak boleh almarhum sendiri.",
               "The reporter must not be the deceased.")
    return Findings()


def death_against_register(request: dict, details: dict, lookup: Lookup,
                           today: datetime.date) -> Findings:
    deceased_nik, died = details["deceased_nik"], details["date_of_death"]
    if lookup.verified_death(deceased_nik):
        refuse("details.deceased_nik",
               "Kematian NIK ini sudah dicatat (akta kematian diverifikasi).",
               "This NIK's death is already recorded (a death certificate was verified).")
    # the NIK read as of the death: who died in March 2026 with 05-05-26 in
    # their NIK was born in 1926
    if died < lookup.birth_date(deceased_nik, died):
        refuse("details.date_of_death",
               "Tanggal kematian tidak boleh sebelum tanggal lahir almarhum.",
               "The date of death must not be before the deceased's birth date.")
    refuse_death_before_own_children(deceased_nik, died, lookup, today)
    reporter = details["reporter_nik"]
    refuse_if_deceased("details.reporter_nik", reporter, lookup)
    # who reports a death is an adult, or married (a widow of 16)
    refuse_unless_adult("details.reporter_nik", reporter, Msg("Pelapor", "The reporter"), today,
                        lookup, married=known_married(request, reporter))
    # the certificate names the person who died
    return register_name("deceased", details["deceased_nik"],
                         details.get("deceased_full_name"), lookup)


def refuse_death_before_own_children(deceased_nik: str, died: datetime.date, lookup: Lookup,
                                     today: datetime.date) -> None:
    """The reverse of ``refuse_parents_dead_before_the_birth``, for a mother: a
    birth certificate verified here (``Lookup.children_born``; a pending one
    is no record yet) names the deceased as the mother of a child born after
    ``died`` - the date of death is wrong. 400 on ``details.date_of_death``
    naming the birth's date, not the child. A woman's NIK can only be a
    newborn's mother (``birth_details``): one read, of her births' subject
    keys. A man's is not asked: his births would need an index of their own,
    which every write of every application pays for (``nik_records``) - a
    father dead long before a birth is refused when the death is verified
    first, and left to the operator the other way round."""
    if parse_nik(deceased_nik, today=today).sex != "F":
        return
    born = max(lookup.children_born(deceased_nik), default=None)
    if born is not None and born > died:
        refuse("details.date_of_death",
               f"Almarhumah tercatat sebagai ibu dari anak yang lahir {born.isoformat()} "
               "(akta kelahiran diverifikasi), sesudah tanggal kematian ini; periksa tanggal "
               "kematian.",
               f"The deceased is recorded as the mother of a child born on {born.isoformat()} "
               "(a birth certificate was verified), after this date of death; check the date "
               "of death.")


CIVIL_RULES = {
    "akta_kelahiran": DocumentRules(birth_details, birth_against_register),
    "akta_kematian": DocumentRules(death_details, death_against_register),
}
