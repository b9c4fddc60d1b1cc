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
        """One PRR record per NIK. A new one is stored and announced in the
        same transaction (``prr.announcement``: without a phone, only that
        the NIK is recorded). A NIK seen before (in an earlier import) is
        counted, not announced again - unless its record waited for a phone
        and this row brings one: then it is announced now."""
        counts = {"imported": 0, "phone_added": 0, "already_known": 0, "waiting_for_phone": 0}
        for record in records:
            try:
                stored = self.run_transaction(lambda session, record=record:
                                              self._store_prr_record(session, record))
            except DuplicateKeyError:
                added = self.run_transaction(lambda session, record=record:
                                             self._add_prr_phone(session, record))
                counts["phone_added" if added else "already_known"] += 1
                continue
            counts["imported" if stored["announced"] else "waiting_for_phone"] += 1
        return counts

    def _store_prr_record(self, session, record: dict) -> dict:
        stored = {"_id": record["nik"], "prr_record_id": uuid.uuid4().hex,
                  "kecamatan_code": record["kecamatan_code"],
                  "recorded_on": record["recorded_on"].isoformat(),
                  "imported_at": utcnow(), "printed_at": None,
                  "announced": record["phone"] is not None}
        self.db.prr_records.insert_one(stored, session=session)
        event_type, payload = prr.announcement(record, stored["prr_record_id"])
        self.emit(session, event_type, **payload)
        return stored

    def _add_prr_phone(self, session, record: dict) -> bool:
        stored = self.db.prr_records.find_one({"_id": record["nik"]}, session=session)
        if not prr.phone_arrived(record, stored):
            return False
        # guarded: of two imports bringing the phone at once, one announces
        changed = self.db.prr_records.update_one(
            {"_id": record["nik"], "announced": False},
            {"$set": {"announced": True, "phone_added_at": utcnow()}}, session=session)
        if changed.modified_count:
            self.emit(session, "prr_record_imported",
                      **prr.event_payload(record, stored["prr_record_id"]))
        return bool(changed.modified_count)

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
