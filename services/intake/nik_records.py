"""What intake's own applications say of a NIK: its death, its card, its
moves - and of a newborn: its birth; and of a parent: the births they
were named for.

Once an operator has verified an Akta Kematian, no new application may name
the deceased's NIK as its applicant (``rules`` asks ``death_verified``
through ``population.Lookup``); a first-issue KTP-el is refused to a NIK
that has its card (``appointments.refuse_second_card`` asks ``card_issued``);
a birth whose certificate was verified is not registered again
(``rules.refuse_registered_birth`` asks ``birth_registered``); a NIK a
verified SKPWNI pindah keluar took out of Kota Serang applies and books
here no more, but to move back in (``residence_rules.refuse_if_moved_out``
asks ``moved_out``: an SKPWNI's subjects are its members); an Akta
Kematian dated before a verified birth its deceased mothered is refused
(``civil_rules`` asks ``children_born``).
The applications themselves are the record - no second collection to keep
in step: a verified death certificate has a ``verified`` step in its
timeline, whatever happened to it after. A NIK's are read at once
(``nik_record``: one read through the subjects' index), so an application
that asks both (a first-issue KTP-el) costs one read; a birth's, one read
of its subject the same way; a mother's births, one read of the same
index (an Akta Kematian's only).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass


from shared.indexes import drop_index_if_present
from shared.store import BaseStore

from . import appointments, residence_rules
from .subjects import nik_subject


# a father's births had an index of their own (96629e2, a sparse one on
# details.father_nik): it cost every write of every application (the local
# server rewrites each index entry of a document on each write, sparse or
# not: bench/README.md, eleventh session) for a rare check, and went the
# same day. A mother's births need none: her NIK begins their subject keys
BIRTHS_BY_FATHER = "births_by_father"
# what ``children_born`` reads of a birth
BIRTH_READ = {"details.child.birth_date": 1, "timeline.status": 1, "timeline.at": 1}

# what ``nik_record`` reads of a subject's applications: conditions, fields
RECORD_READ = ({"document_type": {"$in": ["akta_kematian", "ktp_el", "akta_kelahiran",
                                           "skpwni"]}},
               {"subject_key": 1, "document_type": 1, "status": 1, "channel": 1,
                "timeline.status": 1, "timeline.at": 1, "details.date_of_death": 1,
                "details.move": 1, "derived.move_kind": 1})


@dataclass(frozen=True)
class NikRecord:
    death_verified: bool  # a death certificate for this NIK verified here
    card_issued: bool  # a KTP-el printed for it, or a PRR application verified
    # the date of death that verified certificate gives (a mother dead before
    # a birth cannot be the newborn's: ``civil_rules``)
    died_on: datetime.date | None = None
    moved_out: bool = False  # out of Kota Serang by an SKPWNI verified here


def verified_at(application: dict) -> str | None:
    """When an operator verified it (whatever became of it since), or None."""
    return next((step.get("at", "") for step in application.get("timeline", [])
                 if step.get("status") == "verified"), None)


class NikRecords(BaseStore):
    @classmethod
    def ensure_indexes(cls, db) -> None:
        # the lookup goes through the prefix (subject_key, document_type) of
        # ApplicationStore's one-active index; this partial one was never read by the local
        # database server (shared/store.py)
        drop_index_if_present(db.applications, "deaths_by_subject")
        drop_index_if_present(db.applications, BIRTHS_BY_FATHER)
        super().ensure_indexes(db)

    def _subject_rows(self, subject: str) -> list[dict]:
        """The subject's applications ``RECORD_READ`` reads, through the
        one-active index's (subject_key, document_type) prefix, with the
        other submissions' of the moment (``GroupReader``: one command)."""
        return self.groups.reader("applications", "subject_key", *RECORD_READ).find(subject)

    def nik_record(self, nik: str) -> NikRecord:
        """The NIK's death certificates, KTP-el applications and SKPWNIs (its
        subject's: a KTP-el's subject is its applicant's NIK, an SKPWNI's its
        members'), decided here: one read."""
        rows = self._subject_rows(nik_subject(nik))
        deaths = [row for row in rows
                  if row["document_type"] == "akta_kematian" and verified_at(row) is not None]
        return NikRecord(
            death_verified=bool(deaths),
            card_issued=any(row["document_type"] == "ktp_el" and appointments.has_card(row)
                            for row in rows),
            died_on=min((datetime.date.fromisoformat(row["details"]["date_of_death"])
                         for row in deaths if "date_of_death" in row.get("details", {})),
                        default=None),
            moved_out=residence_rules.moved_out([
                (at, row) for row in rows if row["document_type"] == "skpwni"
                and (at := verified_at(row)) is not None]))

    def death_verified(self, nik: str) -> bool:
        """Whether a death certificate for ``nik`` has been verified here."""
        return self.nik_record(nik).death_verified

    def card_issued(self, nik: str) -> bool:
        """Whether ``nik`` has its KTP-el (``appointments.has_card``)."""
        return self.nik_record(nik).card_issued

    def birth_registered(self, subject: str) -> bool:
        """Whether a birth certificate for the newborn ``subject`` (its
        ``birth:`` key, ``subjects.subject_key``) has been verified here: one read."""
        return any(row["document_type"] == "akta_kelahiran" and verified_at(row) is not None
                   for row in self._subject_rows(subject))

    def children_born(self, nik: str) -> list[datetime.date]:
        """The birth dates of the birth certificates verified here that name
        ``nik`` as the child's mother: one read, of an index - her births by
        their subject keys, which begin with her NIK (``subjects.subject_key``:
        a range of the one-active index). Verified ones only: a birth still
        pending is a claim the operator has not checked (a mistyped mother's
        NIK), and would let anyone who files one hold back a death certificate."""
        # births alone have such keys (no ``document_type`` beside the range:
        # the local server then scans the collection instead of the index)
        named = {"subject_key": {"$gt": f"birth:{nik}:", "$lt": f"birth:{nik};"}}
        rows = self.db.applications.find(named, BIRTH_READ)
        return [datetime.date.fromisoformat(row["details"]["child"]["birth_date"])
                for row in rows if verified_at(row) is not None]
