"""Printing's store, PRR half: the Print Ready Records imported from the
Dinas' backlog (collection ``prr_records``, ``_id`` = NIK: one record per
NIK, whatever the exports repeat) and the aging report's reading of them.
What a row means is decided in ``prr``.
"""

from __future__ import annotations

import uuid

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from shared.clock import utcnow
from shared.group_writes import chunks
from shared.store import BaseStore

from . import prr

PRR_CHUNK = 500  # NIKs per read of the print jobs (``prr_backlog``)


class PrrStore(BaseStore):
    @classmethod
    def ensure_indexes(cls, db) -> None:
        db.prr_records.create_index([("printed_at", ASCENDING)])
        super().ensure_indexes(db)

    def import_prr(self, records: list[dict]) -> dict:
        """One PRR record per NIK: a NIK seen before (in an earlier import) is
        counted, not announced again; a new one is stored and, with a phone,
        announced as ``prr_record_imported`` in the same transaction."""
        counts = {"imported": 0, "already_known": 0, "waiting_for_phone": 0}
        for record in records:
            def work(session, record=record):
                stored = {"_id": record["nik"], "prr_record_id": uuid.uuid4().hex,
                          "kecamatan_code": record["kecamatan_code"],
                          "recorded_on": record["recorded_on"].isoformat(),
                          "imported_at": utcnow(), "printed_at": None,
                          "announced": record["phone"] is not None}
                self.db.prr_records.insert_one(stored, session=session)
                if stored["announced"]:
                    self.emit(session, "prr_record_imported",
                              **prr.event_payload(record, stored["prr_record_id"]))
                return stored
            try:
                stored = self.run_transaction(work)
            except DuplicateKeyError:
                counts["already_known"] += 1
                continue
            counts["imported" if stored["announced"] else "waiting_for_phone"] += 1
        return counts

    def prr_backlog(self) -> list[dict]:
        """PRR records whose NIK has no KTP-el printed yet (kecamatan and
        recording date), a card printed before the record came in included.
        Read from the print jobs when asked (``PRR_CHUNK`` NIKs a read, through
        the ``nik``/``document_type`` index): a station's report writes nothing
        to the PRR records - it did once per KTP-el printed, a write in every
        report's transaction for a report an operator asks for now and then.
        Records an earlier version marked ``printed_at`` stay off."""
        records = list(self.db.prr_records.find({"printed_at": None},
                                                projection=["kecamatan_code", "recorded_on"]))
        printed: set[str] = set()
        for chunk in chunks(records, PRR_CHUNK):
            printed.update(job["nik"] for job in self.db.print_jobs.find(
                {"nik": {"$in": [record["_id"] for record in chunk]},
                 "document_type": "ktp_el", "printed_at": {"$ne": None}}, {"nik": 1}))
        return [record for record in records if record["_id"] not in printed]
