"""Printing's store, PRR half: the Print Ready Records imported from the
Dinas' backlog (collection ``prr_records``, ``_id`` = NIK: one record per
NIK, whatever the exports repeat; each keeps the import and row that
announced it, and the later imports that named it, ``seen_in``), the imports
(``prr_imports``: when, by whom, and what the file gave - the upload's answer,
kept for an operator whose client gave up waiting), the records intake
refused, and the aging report's reading of them. What a row means is
decided in ``prr``.
"""

from __future__ import annotations

import datetime
import uuid

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import BulkWriteError, DuplicateKeyError

from shared.clock import utcnow
from shared.group_writes import chunks
from shared.paging import page_after
from shared.store import BaseStore

from . import prr

PRR_CHUNK = 500  # NIKs per read of the print jobs (``prr_backlog``)
# rows per read and write of an import (``import_prr``): one transaction for
# each chunk's new records. More rows a transaction make fewer round trips,
# but a longer transaction: one of 500 records (and their 500 events) ran
# past the database timeout (5 s) on this 2-core machine under load, and an
# import cut short answers 503 (safe to repeat, but to be repeated)
PRR_IMPORT_CHUNK = 100
IMPORT_COUNTS = prr.IMPORT_COUNTS
# what the list of imports shows of each (``list_imports``)
IMPORT_SUMMARY = ("imported_at", "finished_at", "operator", "rows", *IMPORT_COUNTS,
                  "bad_row_count", "repeated_count")


class PrrStore(BaseStore):
    @classmethod
    def ensure_indexes(cls, db) -> None:
        db.prr_records.create_index([("printed_at", ASCENDING)])
        # an import's refused records (``refused_records``); sparse: only a
        # refused record is in it, so an import's writes do not keep it
        db.prr_records.create_index([("refused_in", ASCENDING)], sparse=True)
        # the later imports that named a record (``refused_records``): only
        # known records get one
        db.prr_records.create_index([("seen_in", ASCENDING)], sparse=True)
        db.prr_imports.create_index([("imported_at", DESCENDING), ("_id", DESCENDING)])
        super().ensure_indexes(db)

    def import_prr(self, records: list[dict], import_id: str, operator: str,
                   found: dict | None = None) -> dict:
        """One PRR record per NIK. New ones are stored and announced
        (``prr.announcement``: without a phone, only that the NIK is
        recorded) ``PRR_IMPORT_CHUNK`` at a time: one read of which are
        known, one transaction storing the chunk's new records with their
        events (a transaction per row made 8,000 rows a minute's request;
        a record another import stores meanwhile sends the chunk the old
        way, row by row, so each NIK is still stored once). A NIK seen before
        (in an earlier import) is counted, not announced again - unless its
        record waited for a phone and this row brings one: then it is
        announced now; or intake refused it as ``under_age``: then this row
        is a new record (``prr.imported_again``). Each record keeps the
        import and the row that announced it, and the imports that found it
        known (``seen_in``; ``refused_records``). ``found``: what the file
        itself gave (rows, bad and repeated rows), stored with the counts
        when the import is done (``finished_at``: none while it runs, or
        when it was cut short)."""
        counts = dict.fromkeys(IMPORT_COUNTS, 0)
        self.db.prr_imports.insert_one({"_id": import_id, "imported_at": utcnow(),
                                        "finished_at": None, "operator": operator, **(found or {})})
        for chunk in chunks(records, PRR_IMPORT_CHUNK):
            # batch_size one over the chunk: a first batch of exactly its
            # size would leave the cursor open, a getMore to learn it is done
            known = {stored["_id"]: stored for stored in self.db.prr_records.find(
                {"_id": {"$in": [record["nik"] for record in chunk]}},
                {"announced": 1, "prr_record_id": 1, "refused": 1},
                batch_size=len(chunk) + 1)}
            new = [record for record in chunk if record["nik"] not in known]
            if self._store_all(new, import_id):
                outcomes = [("imported" if record["phone"] is not None else "waiting_for_phone")
                            for record in new]
            else:  # another import stored one of them meanwhile: each on its own
                outcomes = [self._import_one(record, import_id) for record in new]
            outcomes += [self._known(record, known[record["nik"]], import_id)
                         for record in chunk if record["nik"] in known]
            if known:  # a retry's view of its refusals (``refused_records``)
                self.db.prr_records.update_many({"_id": {"$in": list(known)}},
                                                {"$addToSet": {"seen_in": import_id}})
            for outcome in outcomes:
                counts[outcome] += 1
        self.db.prr_imports.update_one({"_id": import_id},
                                       {"$set": {**counts, "finished_at": utcnow()}})
        return counts

    def _store_all(self, records: list[dict], import_id: str) -> bool:
        """New records and their announcements in one transaction; False
        (nothing stored) when one of them is stored already."""
        if not records:
            return True
        try:
            self.run_transaction(lambda session: self._store_prr_records(session, records,
                                                                         import_id))
        except (BulkWriteError, DuplicateKeyError):
            return False
        return True

    def _import_one(self, record: dict, import_id: str) -> str:
        try:
            self.run_transaction(lambda session: self._store_prr_records(session, [record],
                                                                         import_id))
        except (BulkWriteError, DuplicateKeyError):
            stored = self.db.prr_records.find_one({"_id": record["nik"]})
            return self._known(record, stored, import_id)
        return "imported" if record["phone"] is not None else "waiting_for_phone"

    def _known(self, record: dict, stored: dict, import_id: str) -> str:
        if prr.imported_again(stored):
            return self._import_again(record, stored, import_id)
        if not prr.phone_arrived(record, stored):
            return "already_known"
        added = self.run_transaction(lambda session: self._add_prr_phone(session, record,
                                                                         import_id))
        return "phone_added" if added else "already_known"

    def _import_again(self, record: dict, stored: dict, import_id: str) -> str:
        """The row in place of a record intake refused (``prr.imported_again``),
        under a new id, announced as a new record is. Guarded: of two imports
        bringing it at once, one does, the other counts it known."""
        def work(session) -> bool:
            fresh = self._prr_record(record, import_id)
            if not self.db.prr_records.replace_one(
                    {"_id": record["nik"], "prr_record_id": stored["prr_record_id"],
                     "refused": stored["refused"]}, fresh, session=session).modified_count:
                return False
            self.emit_all(session, [prr.announcement(record, fresh["prr_record_id"])])
            return True
        if not self.run_transaction(work):
            return "already_known"
        return "imported" if record["phone"] is not None else "waiting_for_phone"

    @staticmethod
    def _prr_record(record: dict, import_id: str) -> dict:
        return {"_id": record["nik"], "prr_record_id": uuid.uuid4().hex,
                "kecamatan_code": record["kecamatan_code"],
                "recorded_on": record["recorded_on"].isoformat(),
                "imported_at": utcnow(), "printed_at": None,
                "announced": record["phone"] is not None,
                "import_id": import_id, "row": record["row"]}

    def _store_prr_records(self, session, records: list[dict], import_id: str) -> None:
        stored = [self._prr_record(record, import_id) for record in records]
        self.db.prr_records.insert_many(stored, session=session)
        self.emit_all(session, [prr.announcement(record, row["prr_record_id"])
                                for record, row in zip(records, stored)])

    def _add_prr_phone(self, session, record: dict, import_id: str) -> bool:
        stored = self.db.prr_records.find_one({"_id": record["nik"]}, session=session)
        if not prr.phone_arrived(record, stored):
            return False
        # guarded: of two imports bringing the phone at once, one announces
        changed = self.db.prr_records.update_one(
            {"_id": record["nik"], "announced": False},
            {"$set": {"announced": True, "phone_added_at": utcnow(),
                      "import_id": import_id, "row": record["row"]}}, session=session)
        if changed.modified_count:
            self.emit(session, "prr_record_imported",
                      **prr.event_payload(record, stored["prr_record_id"]))
        return bool(changed.modified_count)

    def refuse_prr_record(self, event: dict) -> bool:
        """Intake made no application of the record (``prr_record_refused``):
        it leaves the backlog, and its import lists it with the reason
        (``refused_records``). Once: a redelivery finds it refused. Only the
        record the event names: one imported again since
        (``prr.imported_again``) is a new record, for intake to screen anew."""
        record = {"_id": event["nik"]}
        if event.get("prr_record_id"):  # none in an older intake's events
            record["prr_record_id"] = event["prr_record_id"]
        stored = self.db.prr_records.find_one(record, {"import_id": 1})
        if stored is None:
            return False
        refused = {"refused": event["reason"], "refused_at": utcnow()}
        if stored.get("import_id"):
            refused["refused_in"] = stored["import_id"]
        return self.db.prr_records.update_one(
            {**record, "refused": None}, {"$set": refused}).modified_count == 1

    def prr_import(self, import_id: str) -> dict | None:
        return self.db.prr_imports.find_one({"_id": import_id})

    def list_imports(self, limit: int,
                     after: tuple[datetime.datetime, str] | None = None) -> list[dict]:
        """Imports, newest first, ``limit`` of them after ``after`` (the last
        row of the page before: ``shared.paging``)."""
        return page_after(self._import_rows, {}, "imported_at", limit, after, descending=True)

    def _import_rows(self, query: dict, limit: int) -> list[dict]:
        return list(self.db.prr_imports.find(query, IMPORT_SUMMARY).sort(
            [("imported_at", DESCENDING), ("_id", DESCENDING)]).limit(limit))

    def refused_records(self, import_id: str) -> list[dict]:
        """The records intake refused that this import announced, or found
        known (``seen_in``: a re-upload after a client gave up waiting, whose
        records the first import announced), by import and row. Two reads,
        not an ``$or`` (the local server scans the collection for one)."""
        fields = {"import_id": 1, "row": 1, "refused": 1, "refused_at": 1}
        records = {record["_id"]: record for record in self.db.prr_records.find(
            {"refused_in": import_id}, fields)}
        records.update((record["_id"], record) for record in self.db.prr_records.find(
            {"seen_in": import_id, "refused": {"$ne": None}}, fields))
        return sorted(records.values(), key=lambda record: (record.get("import_id") != import_id,
                                                            record.get("row") or 0))

    def prr_backlog(self) -> list[dict]:
        """PRR records whose NIK has no KTP-el printed yet (kecamatan and
        recording date), a card printed before the record came in included;
        not those intake refused as deceased or under 17 (``refuse_prr_record``).
        Read from the print jobs when asked (``PRR_CHUNK`` NIKs a read, through
        the ``nik``/``document_type`` index): a station's report writes nothing
        to the PRR records - it did once per KTP-el printed, a write in every
        report's transaction for a report an operator asks for now and then.
        A record refused ``active_application`` stays: its card is not
        printed yet (``prr.OFF_THE_BACKLOG``).
        Records an earlier version marked ``printed_at`` stay off."""
        records = list(self.db.prr_records.find({"printed_at": None,
                                                 "refused": {"$nin": list(prr.OFF_THE_BACKLOG)}},
                                                projection=["kecamatan_code", "recorded_on"]))
        printed: set[str] = set()
        for chunk in chunks(records, PRR_CHUNK):
            printed.update(job["nik"] for job in self.db.print_jobs.find(
                {"nik": {"$in": [record["_id"] for record in chunk]},
                 "document_type": "ktp_el", "printed_at": {"$ne": None}}, {"nik": 1}))
        return [record for record in records if record["_id"] not in printed]
