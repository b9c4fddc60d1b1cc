"""Intake's own record of deaths: the verified death-certificate applications.

Once an operator has verified an Akta Kematian, no new application may name
the deceased's NIK as its applicant (``rules`` asks ``death_verified``
through ``population.Lookup``). The applications themselves are the record -
no second collection to keep in step: a verified one has a ``verified`` step
in its timeline, whatever happened to it after.
"""

from __future__ import annotations

from shared.store import BaseStore, drop_index_if_present

from .subjects import nik_subject


class DeathRecords(BaseStore):
    @classmethod
    def ensure_indexes(cls, db) -> None:
        # the lookup goes through ApplicationStore's plain (subject_key,
        # document_type) index; this partial one was never read by the local
        # database server (shared/store.py)
        drop_index_if_present(db.applications, "deaths_by_subject")
        super().ensure_indexes(db)

    def death_verified(self, nik: str) -> bool:
        """Whether a death certificate for ``nik`` has been verified here."""
        return self.db.applications.find_one(
            {"document_type": "akta_kematian", "subject_key": nik_subject(nik),
             "timeline.status": "verified"}, {"_id": 1}) is not None
