"""Intake's own record of deaths: the verified death-certificate applications.

Once an operator has verified an Akta Kematian, no new application may name
the deceased's NIK as its applicant (``rules`` asks ``death_verified``
through ``population.Lookup``). The applications themselves are the record -
no second collection to keep in step: a verified one has a ``verified`` step
in its timeline, whatever happened to it after.
"""

from __future__ import annotations

from pymongo import ASCENDING

from shared.store import BaseStore

from .subjects import nik_subject


class DeathRecords(BaseStore):
    @classmethod
    def ensure_indexes(cls, db) -> None:
        # small: death certificates only (47 in Kota Serang's busiest months)
        db.applications.create_index([("subject_key", ASCENDING)], name="deaths_by_subject",
                                     partialFilterExpression={"document_type": "akta_kematian"})
        super().ensure_indexes(db)

    def death_verified(self, nik: str) -> bool:
        """Whether a death certificate for ``nik`` has been verified here."""
        return self.db.applications.find_one(
            {"document_type": "akta_kematian", "subject_key": nik_subject(nik),
             "timeline.status": "verified"}, {"_id": 1}) is not None
