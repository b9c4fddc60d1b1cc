"""The checks every new or corrected application passes, whichever way it
came (a citizen's submission or resubmission, a jemput-bola batch row, a
kecamatan's next-day request). Plain Python: the register and the store's
questions come in as callables.

    checked = screening.check(request, today)   # ValidationFailed / Conflict ...
    store.submit(new_application(request, checked.details, key, checked.stored()))

Runs the rules (``rules.check_application``) with a fresh ``Lookup`` of the
register per application, then the card rules: no second first card
(``appointments.refuse_second_card``), no KIA to a KTP-el holder
(``residence_rules.refuse_kia_to_a_card_holder``), and the one-birth rule
(``rules.refuse_registered_birth``). A PRR record skips the rules: it
was recorded and verified centrally; ``import_prr`` asks only whether the
NIK already has a card, and the first card's own questions - 17 by the
register's birth date (else the NIK's), alive as far as intake and the
register know (``appointments.prr_refusal``, through ``lookup``).

A citizen's own submission is screened with a ``limit``
(``refusals.RegisterRefusals``): what the register answered shows in why
an application is refused (this NIK is not on that KK, is recorded as
deceased ...), so refusals that the register's answers took part in are
counted; so are refusals for what intake holds of a NIK (``telling``: a
card already issued here, a birth already registered here, and - in
``submission`` - an application still in progress for the subject); past
a client's limit a submission is refused before the register is asked,
and past a NIK's or KK's the register is not asked about it (the application is accepted flagged
``register_withheld`` for the operator).

A recording booking (``check_booking``) is screened within the same
limits, but needs the register to confirm its NIK on its KK: nobody
checks a booking by hand after, so past a NIK's or KK's limit, or while
the register cannot answer, none is made.
"""

from __future__ import annotations

import datetime
import functools
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Protocol

from shared.errors import DomainError, ValidationFailed

from . import appointments
from .appointments import CardAlreadyIssued, refuse_second_card
from .population import Lookup, Register
from .exceptions import BirthAlreadyRegistered
from .residence_rules import refuse_kia_to_a_card_holder
from .rules import Checked, check_application, refuse_registered_birth


class Limit(Protocol):
    """Refusals the register's answers took part in, limited
    (``refusals.RegisterRefusals``)."""

    def check(self) -> None: ...  # TooManyAttempts when the client is over its limit

    def withheld(self) -> bool: ...  # a NIK or KK is over its limit: do not ask the register

    def withheld_for(self) -> int: ...  # seconds until none is (0: none is now)

    def refused(self) -> None: ...


class Unlimited:
    def check(self) -> None:
        pass

    def withheld(self) -> bool:
        return False

    def withheld_for(self) -> int:
        return 0

    def refused(self) -> None:
        pass


@dataclass(frozen=True)
class Screening:
    register: Register
    death_verified: Callable[[str], bool]  # a death certificate verified here
    card_issued: Callable[[str], bool]  # a KTP-el issued to this NIK
    limit: Limit = Unlimited()
    # the date of death of a death certificate verified here (None: none)
    died_on: Callable[[str], datetime.date | None] = lambda nik: None
    # a birth certificate verified here for this newborn (its ``birth:`` subject)
    birth_registered: Callable[[str], bool] = lambda subject: False
    # an SKPWNI pindah keluar verified here took this NIK out of Kota Serang
    moved_out: Callable[[str], bool] = lambda nik: False
    # the birth dates of the births verified here naming this NIK as the
    # child's mother: asked by an Akta Kematian of a woman only
    children_born: Callable[[str], list[datetime.date]] = lambda nik: []

    @classmethod
    def of(cls, register: Register, store, limit: Limit = Unlimited()) -> "Screening":
        """The screening of an application (or a batch's rows) with this
        register and intake's store: what the store knows of a NIK is read
        once (``store.nik_record``: its death, its card and its moves in one
        read) and kept for this screening's checks; a newborn's birth, once
        per birth; a deceased's children (``store.children_born``), once
        per Akta Kematian."""
        record = functools.cache(store.nik_record)
        return cls(register, lambda nik: record(nik).death_verified,
                   lambda nik: record(nik).card_issued, limit,
                   died_on=lambda nik: record(nik).died_on,
                   birth_registered=store.birth_registered,
                   moved_out=lambda nik: record(nik).moved_out,
                   children_born=store.children_born)

    def lookup(self) -> Lookup:
        """One application's questions to the register (none, while its
        answers about a NIK or KK of it are withheld)."""
        return Lookup(self.register, self.death_verified, withheld=self.limit.withheld(),
                      died_on=self.died_on, moved_out=self.moved_out,
                      children_born=self.children_born)

    @contextmanager
    def telling(self, *refusals: type[DomainError]):
        """A block whose ``refusals`` tell whoever asks what intake or the
        register holds of a NIK or KK the request names (an application in
        progress, a card issued, a NIK not on that KK ...): each counts
        against the limits as a refusal on the register's answers does."""
        try:
            yield
        except refusals:
            self.limit.refused()
            raise

    def check(self, request: dict, today: datetime.date) -> Checked:
        self.limit.check()
        lookup = self.lookup()
        try:
            checked = check_application(request, today, lookup)
        except DomainError:
            if lookup.answered:
                self.limit.refused()
            raise
        with self.telling(CardAlreadyIssued, ValidationFailed, BirthAlreadyRegistered):
            refuse_second_card(request, checked.details, self.card_issued)
            refuse_kia_to_a_card_holder(request, checked.details, self.card_issued)
            refuse_registered_birth(request, checked.details, self.birth_registered)
        return checked

    def check_booking(self, booking: dict, is_recorded: Callable[[str], bool]) -> None:
        """A recording booking (``BookingSchema`` loaded), within the limits:
        the register confirms its NIK on its KK and alive; it is for whom a
        first KTP-el is (age on its day, by the register's birth date); the NIK is not
        recorded (``is_recorded``: as far as intake knows). Every refusal
        after the register is asked counts, an unknown NIK's too: the
        refusal itself tells what the register holds."""
        self.limit.check()
        if wait := self.limit.withheld_for():
            raise appointments.OwnerNotConfirmable(wait)
        lookup = self.lookup()
        with self.telling(ValidationFailed, appointments.AlreadyRecorded):
            appointments.confirm_owner(booking, lookup)
            appointments.refuse_if_not_recordable(booking, lookup)
            appointments.refuse_if_recorded(booking["nik"], is_recorded, lookup)
