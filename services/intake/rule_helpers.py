"""What every document's rules are made of. Plain Python, no nameko.

A document type has two rule functions (``DocumentRules``): ``check`` decides
from the request alone (dates, region codes) and returns ``Findings``;
``against_register`` asks the population register (``population.Lookup``)
what a format check cannot decide - among it the century someone was born
in, which a NIK's two-digit year does not say: a first KTP-el's, a KIA
child's and a witness' age, a parent's age at the child's birth, and the
birth a death follows, are checked there (``Lookup.birth_date``: the
register's date when it knows the NIK, else the NIK's own). Both raise
``ValidationFailed`` naming the field (``refuse``).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Callable

from shared.errors import Msg, ValidationFailed
from shared.fields import kept_name
from shared.nik import ADULT_AGE, age_on
from shared.offices import KECAMATAN_OFFICES

from .population import Lookup

# the youngest a parent can have been at the child's birth, or a citizen who
# says they are (or were) married: anything younger is a mistyped NIK (a
# 6-year-old "mother" was accepted before this rule, a married 5-year-old
# booked a KTP-el recording)
PARENT_MIN_AGE = 10
# the oldest a parent is taken to have been, when the NIK's two-digit year
# fits only read a century earlier and the register has no date for the
# parent (``refuse_unless_old_enough_to_be_a_parent``)
PARENT_MAX_AGE = 80
# the register's name for a person differs from the one the citizen gave:
# the register's is kept (and printed), the operator compares the documents
REGISTER_NAME_DIFFERS = "register_name_differs"
# a parent the application names is recorded as deceased, where that is no
# reason to refuse (a posthumous child, an orphan's KIA): the operator checks
PARENT_DECEASED = "parent_deceased"
# why a NIK recorded as deceased is refused (at submission, and at verify:
# ``exceptions.PersonDeceased``)
DECEASED = Msg("NIK ini tercatat telah meninggal dunia.", "This NIK is recorded as deceased.")
# the kab/kota this Dinas serves (its kecamatan offices'): Kota Serang, 3673
SERVED_KABKOTA = frozenset(office.kecamatan_code[:4] for office in KECAMATAN_OFFICES)


@dataclass(frozen=True)
class Findings:
    facts: frozenset[str] = frozenset()  # for the requirements table (``when``)
    flags: frozenset[str] = frozenset()  # for the operator, e.g. late_registration
    derived: dict = field(default_factory=dict)  # stored beside the details, e.g. move_kind


@dataclass(frozen=True)
class DocumentRules:
    check: Callable[[dict, dict, datetime.date], Findings]  # (request, details, today)
    # (request, details, lookup, today) -> what the register told (None: nothing to keep)
    against_register: Callable[[dict, dict, Lookup, datetime.date], Findings | None]


def refuse(path: str, id_text: str, en_text: str):
    """Refuse the application: 400 naming ``path`` (dotted, e.g. ``details.child_nik``)."""
    raise ValidationFailed({path: [Msg(id_text, en_text)]})


def refuse_unless_old_enough_to_be_a_parent(path: str, parent_nik: str,
                                             child_birth: datetime.date, who: Msg,
                                             lookup: Lookup, today: datetime.date) -> None:
    """The parent (``who``: "Ibu" / "The mother") was at least PARENT_MIN_AGE
    at the child's birth: by the register's birth date when it has the
    parent's (``Lookup.registered_birth_date``) - a mother born 1924 for a
    late certificate of 1960, a father of 85. Else by the NIK's, whose
    two-digit year is read as this century's when it can be (as of
    ``today``): a mother born in 1925 reads as born in 2025, after her child
    of 1960 - so the century before counts too, for a parent of at most
    PARENT_MAX_AGE at the birth (a 6-year-old read as 106 is still refused)."""
    registered = lookup.registered_birth_date(parent_nik, today)
    if registered is not None:
        old_enough = _old_enough(registered, child_birth, PARENT_MIN_AGE)
    else:
        parent_birth = lookup.birth_date(parent_nik, today)
        earlier = _a_century_before(parent_birth)
        old_enough = (_old_enough(parent_birth, child_birth, PARENT_MIN_AGE)
                      or (_old_enough(earlier, child_birth, PARENT_MIN_AGE)
                          and not _old_enough(earlier, child_birth, PARENT_MAX_AGE + 1)))
    if not old_enough:
        refuse(path, f"{who} (menurut tanggal lahirnya) harus berusia sedikitnya "
                     f"{PARENT_MIN_AGE} tahun saat anak lahir; periksa NIK-nya.",
               f"{who.en} (by their birth date) must have been at least "
               f"{PARENT_MIN_AGE} when the child was born; check the NIK.")


def _old_enough(birth: datetime.date, on: datetime.date, years: int) -> bool:
    return birth < on and age_on(birth, on) >= years


def _a_century_before(day: datetime.date) -> datetime.date:
    try:
        return day.replace(year=day.year - 100)
    except ValueError:  # 29 February 2000 -> 1900 had none
        return day.replace(year=day.year - 100, day=28)


def not_in_future(path: str, day: datetime.date, today: datetime.date) -> None:
    if day > today:
        refuse(path, "Tanggal tidak boleh di masa depan.", "The date must not be in the future.")


def refuse_if_deceased(path: str, nik: str, lookup: Lookup) -> None:
    if lookup.deceased(nik):
        refuse(path, DECEASED, DECEASED.en)


def known_married(request: dict, nik: str) -> bool:
    """Whether ``nik`` is the applicant's and the applicant says they are (or
    were) married (``applicant.marital_status``): the one marital status an
    application gives."""
    applicant = request["applicant"]
    return nik == applicant["nik"] and applicant.get("marital_status") in ("kawin", "cerai")


def refuse_unless_adult(path: str, nik: str, who: Msg, today: datetime.date, lookup: Lookup,
                        married: bool | None = None) -> None:
    """A role only an adult fills (a witness, a death's reporter, a KIA's
    parent): ``nik``'s holder (``who``: "Saksi" / "A witness") is
    ADULT_AGE or older by their birth date (``Lookup.age``: the register's
    when it knows them) - or married, where a marriage counts (``married``
    not None: whether they are known to be, ``known_married``). 400 on ``path``."""
    if married or lookup.age(nik, today) >= ADULT_AGE:
        return
    if married is None:
        refuse(path, f"{who} harus berusia {ADULT_AGE} tahun ke atas.",
               f"{who.en} must be {ADULT_AGE} or older.")
    refuse(path, f"{who} harus berusia {ADULT_AGE} tahun ke atas atau sudah/pernah kawin.",
           f"{who.en} must be {ADULT_AGE} or older, or be or have been married.")


def flag_deceased_parents(lookup: Lookup, *niks: str) -> Findings:
    """``PARENT_DECEASED`` when a parent of ``niks`` is recorded as deceased
    (``Lookup.deceased``)."""
    return Findings(flags=frozenset(
        {PARENT_DECEASED} if any(lookup.deceased(nik) for nik in niks) else ()))


def refuse_if_not_on(path: str, nik: str, family, what_id: str, what_en: str) -> None:
    """``nik`` must be on ``family`` (a ``population.Family``; None: unknown, not checked)."""
    if family is not None and family.member(nik) is None:
        refuse(path, f"{what_id} tidak terdaftar pada No. KK ini.",
               f"{what_en} is not on this family card (KK).")


def same_name(one: str, other: str) -> bool:
    """The same name, case and spacing aside (the register writes names in capitals)."""
    return " ".join(one.split()).casefold() == " ".join(other.split()).casefold()


def register_name(role: str, nik: str | None, given: str | None, lookup: Lookup) -> Findings:
    """The name a document prints for the person ``role`` of ``nik`` - a
    certificate's ``deceased``, ``mother``, ``father``; a card's ``holder``
    (KTP-el) or ``child`` (KIA) - as the register knows it: kept in
    ``derived`` as ``<role>_full_name``. The name the citizen ``given``
    (``details.<role>_full_name``, a KTP-el's ``applicant.full_name``) is
    printed only when the register does not answer; one that differs from
    the register's is flagged for the operator, not refused - a refusal
    would tell whoever asks whether a name belongs to a NIK."""
    person = lookup.person(nik) if nik else None
    if person is None:
        return Findings()
    return Findings(flags=frozenset({REGISTER_NAME_DIFFERS} if given and not same_name(
                        given, person.full_name) else ()),
                    derived={f"{role}_full_name": kept_name(person.full_name)})


def merged(*findings: Findings) -> Findings:
    """What several rules found, together."""
    return Findings(frozenset().union(*(f.facts for f in findings)),
                    frozenset().union(*(f.flags for f in findings)),
                    {name: value for f in findings for name, value in f.derived.items()})
