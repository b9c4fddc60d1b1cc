"""What intake's own applications say of a NIK: its death, its card.

Once an operator has verified an Akta Kematian, no new application may name
the deceased's NIK as its applicant (``rules`` asks ``death_verified``
through ``population.Lookup``); a first-issue KTP-el is refused to a NIK
that has its card (``appointments.refuse_second_card`` asks ``card_issued``).
The applications themselves are the record - no second collection to keep
in step: a verified death certificate has a ``verified`` step in its
timeline, whatever happened to it after. Both are read at once
(``nik_record``: one read through the subjects' index), so an application
that asks both (a first-issue KTP-el) costs one read.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from shared.indexes import drop_index_if_present
from shared.store import BaseStore

from . import appointments
from .subjects import nik_subject


# what ``nik_record`` reads of a subject's applications: conditions, fields
RECORD_READ = ({"document_type": {"$in": ["akta_kematian", "ktp_el"]}},
               {"subject_key": 1, "document_type": 1, "status": 1, "channel": 1,
                "timeline.status": 1, "details.date_of_death": 1})


@dataclass(frozen=True)
class NikRecord:
    death_verified: bool  # a death certificate for this NIK verified here
    card_issued: bool  # a KTP-el printed for it, or a PRR application verified
    # the date of death that verified certificate gives (a mother dead before
    # a birth cannot be the newborn's: ``civil_rules``)
    died_on: datetime.date | None = None


class NikRecords(BaseStore):
    @classmethod
    def ensure_indexes(cls, db) -> None:
        # the lookup goes through the prefix (subject_key, document_type) of
        # ApplicationStore's one-active index; this partial one was never read by the local
        # database server (shared/store.py)
        drop_index_if_present(db.applications, "deaths_by_subject")
        super().ensure_indexes(db)

    def nik_record(self, nik: str) -> NikRecord:
        """The NIK's death certificates and KTP-el applications (its subject's
        through the one-active index's (subject_key, document_type) prefix: a KTP-el's
        subject is its applicant's NIK), decided here: one read."""
        rows = self.groups.reader("applications", "subject_key", *RECORD_READ).find(
            nik_subject(nik))  # with the other submissions' of the moment: one command
        deaths = [row for row in rows if row["document_type"] == "akta_kematian"
                  and any(step.get("status") == "verified" for step in row.get("timeline", []))]
        return NikRecord(
            death_verified=bool(deaths),
            card_issued=any(row["document_type"] == "ktp_el" and appointments.has_card(row)
                            for row in rows),
            died_on=min((datetime.date.fromisoformat(row["details"]["date_of_death"])
                         for row in deaths if "date_of_death" in row.get("details", {})),
                        default=None))

    def death_verified(self, nik: str) -> bool:
        """Whether a death certificate for ``nik`` has been verified here."""
        return self.nik_record(nik).death_verified

    def card_issued(self, nik: str) -> bool:
        """Whether ``nik`` has its KTP-el (``appointments.has_card``)."""
        return self.nik_record(nik).card_issued
