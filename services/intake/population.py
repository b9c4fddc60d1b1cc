"""What the population register (SIAK) says, as the rules see it. Plain Python.

``register.py`` asks the register over HTTP (docs/register-api.md); this
module holds its answers (``Person``, ``Family``) and ``Lookup``, one
application's questions. The register decides what a format check cannot: is
this NIK on this KK, who is on the KK, is the person recorded for KTP-el, has
the person died. It can fail to answer; then the application is accepted
and flagged for the operator, never refused for the outage:

* ``register_unchecked``: the register could not be reached (or answered
  nonsense); nothing was checked against it;
* ``register_unknown_nik`` / ``register_unknown_kk``: the register answered
  but does not know a NIK / KK of the application (a NIK issued after the
  last sync, or a typo the format check cannot see): the operator checks;
* ``register_withheld``: the register was not asked, because a NIK or KK of
  the application was refused on its answers too often lately
  (``refusals``): its answers are not given out for that number until the
  window ends, so the operator checks by hand.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Callable, Protocol

from shared.errors import PartnerUnavailable
from shared.masking import mask_identity
from shared.nik import age_on, birth_date

REGISTER_UNCHECKED = "register_unchecked"
REGISTER_UNKNOWN_NIK = "register_unknown_nik"
REGISTER_UNKNOWN_KK = "register_unknown_kk"
REGISTER_WITHHELD = "register_withheld"


class RegisterUnavailable(PartnerUnavailable):
    """The register did not answer (in time, or with a readable answer).
    Carries the reason's kind, never a NIK."""


@dataclass(frozen=True, repr=False)
class Person:
    nik: str
    kk_number: str
    full_name: str
    sex: str  # "M" / "F", as shared.nik decodes it
    birth_date: datetime.date
    relation: str  # hubungan dalam keluarga: kepala_keluarga, istri, anak ...
    ktp_el_recorded: bool
    deceased: bool

    @classmethod
    def from_json(cls, data: dict) -> "Person":
        return cls(nik=str(data["nik"]), kk_number=str(data["kk_number"]),
                   full_name=str(data["full_name"]), sex=str(data["sex"]),
                   birth_date=datetime.date.fromisoformat(data["birth_date"]),
                   relation=str(data["relation"]),
                   ktp_el_recorded=bool(data["ktp_el_recorded"]),
                   deceased=bool(data["deceased"]))

    def __repr__(self) -> str:  # never a full NIK in a log or traceback
        return f"Person(nik={mask_identity(self.nik)!r}, deceased={self.deceased})"


@dataclass(frozen=True, repr=False)
class Family:
    kk_number: str
    kelurahan_code: str
    members: tuple[Person, ...]

    @classmethod
    def from_json(cls, data: dict) -> "Family":
        kk = str(data["kk_number"])
        return cls(kk_number=kk, kelurahan_code=str(data["kelurahan_code"]),
                   members=tuple(Person.from_json({**member, "kk_number": kk})
                                 for member in data["members"]))

    def member(self, nik: str) -> Person | None:
        return next((person for person in self.members if person.nik == nik), None)

    def __repr__(self) -> str:
        return f"Family(kk_number={mask_identity(self.kk_number)!r}, members={len(self.members)})"


class Register(Protocol):
    """The register's questions (``register.RegisterClient``, or a fake)."""

    def person(self, nik: str) -> Person | None: ...

    def family(self, kk_number: str) -> Family | None: ...


class Lookup:
    """One application's questions to the register, and what stayed unanswered.

    Each NIK and KK is asked at most once (a person is also found in a family
    already fetched). Once the register has failed, it is not asked again for
    this application - one timeout, not one per question - and every answer
    is "unknown". ``flags`` says what the operator must check by hand.
    ``verified_death`` is intake's own knowledge: a NIK whose death
    certificate application was verified here; ``died_on``: the date of
    death that certificate gives (None: none verified, or no date kept); so
    is ``moved_out``: a NIK an SKPWNI pindah keluar verified here took out of
    Kota Serang (the register hears of it at its next synchronisation); and
    ``children_born``: the birth dates of the birth certificates verified
    here that name a NIK as the child's mother (an Akta Kematian's date of
    death cannot precede them: ``civil_rules``).
    """

    def __init__(self, register: Register | None,
                 verified_death: Callable[[str], bool] = lambda nik: False,
                 withheld: bool = False,
                 died_on: Callable[[str], datetime.date | None] = lambda nik: None,
                 moved_out: Callable[[str], bool] = lambda nik: False,
                 children_born: Callable[[str], list[datetime.date]] = lambda nik: []):
        """``register`` None: there is none to ask - nothing is known, nothing
        flagged (rules checked without the register); ``withheld``: the
        register is not to be asked at all (``REGISTER_WITHHELD``)."""
        self.register = register
        self.verified_death = verified_death
        self.died_on = died_on
        self.moved_out = moved_out
        self.children_born = children_born  # a mother's NIK
        self.flags: set[str] = {REGISTER_WITHHELD} if withheld else set()
        self.answered = False  # the register knew a NIK or KK asked about
        self._people: dict[str, Person | None] = {}
        self._families: dict[str, Family | None] = {}

    @property
    def unreachable(self) -> bool:
        """Not to be asked (any more): none, it failed, or its answers are withheld."""
        return self.register is None or bool(self.flags & {REGISTER_UNCHECKED, REGISTER_WITHHELD})

    def _ask(self, question: Callable[[], Person | Family | None]):
        if self.unreachable:
            return None
        try:
            answer = question()
        except RegisterUnavailable:
            self.flags.add(REGISTER_UNCHECKED)
            return None
        self.answered = self.answered or answer is not None
        return answer

    def family(self, kk_number: str) -> Family | None:
        if kk_number not in self._families:
            family = self._ask(lambda: self.register.family(kk_number))
            if family is None and not self.unreachable:
                self.flags.add(REGISTER_UNKNOWN_KK)
            self._families[kk_number] = family
        return self._families[kk_number]

    def person(self, nik: str) -> Person | None:
        if nik not in self._people:
            known = [f.member(nik) for f in self._families.values() if f is not None]
            person = next(filter(None, known), None) or self._ask(
                lambda: self.register.person(nik))
            if person is None and not self.unreachable:
                self.flags.add(REGISTER_UNKNOWN_NIK)
            self._people[nik] = person
        return self._people[nik]

    def birth_date(self, nik: str, on: datetime.date) -> datetime.date:
        """When ``nik``'s holder was born (``shared.nik.birth_date``): the
        register's date when it answers for the NIK, else the NIK's own,
        read as of ``on``."""
        person = self.person(nik)
        return birth_date(nik, on, person.birth_date if person is not None else None)

    def registered_birth_date(self, nik: str, on: datetime.date) -> datetime.date | None:
        """The register's date for ``nik``, when it has one ``birth_date``
        takes (the NIK's day and month); None: the NIK's own would be."""
        person = self.person(nik)
        born = self.birth_date(nik, on)
        return born if person is not None and born == person.birth_date else None

    def age(self, nik: str, today: datetime.date) -> int:
        """``nik``'s holder's age on ``today``, by ``birth_date``."""
        return age_on(self.birth_date(nik, today), today)

    def deceased(self, nik: str) -> bool:
        """Recorded as deceased: a death certificate verified here, or the register says so."""
        if self.verified_death(nik):
            return True
        person = self.person(nik)
        return person is not None and person.deceased
