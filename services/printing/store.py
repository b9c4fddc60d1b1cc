"""Printing's store: print jobs, station leases, pickup windows and hand-over
lists (database ``printing``).

Each method loads, asks ``domain`` (and ``slots``) what follows, and writes
the answer with its events in one transaction.
"""

from __future__ import annotations

import datetime

from pymongo import ASCENDING, ReturnDocument

from shared.clock import today_wib, utcnow
from shared.store import BaseStore

from . import domain
from .domain import Event, check_report, new_job, new_lease, print_outcome
from .exceptions import JobNotFound, WindowUnavailable
from .slots import (PickupRules, find_seat, first_window, pointer_fields, pointer_window,
                    requested_window, slot_record, upcoming, window_key)
from .stations import Station, StationRules, claimable_query  # noqa: F401 (the claim's rule)

QUEUE_ORDER = [("priority", ASCENDING), ("queued_at", ASCENDING)]


class PrintStore(BaseStore):
    @classmethod
    def ensure_indexes(cls, db) -> None:
        db.print_jobs.create_index([("application_id", ASCENDING)], unique=True)
        db.print_jobs.create_index([("status", ASCENDING), ("priority", ASCENDING),
                                    ("queued_at", ASCENDING)])
        db.print_jobs.create_index([("station_id", ASCENDING), ("status", ASCENDING)])
        db.print_jobs.create_index([("manifest_id", ASCENDING)])
        db.print_jobs.create_index([("tracking_code", ASCENDING)])
        super().ensure_indexes(db)

    def queue_job(self, event: dict):
        """Create the print job for a verified application, once per event."""
        def work(session):
            job, events = new_job(event, utcnow())
            self.db.print_jobs.insert_one(job, session=session)
            if job["next_day"]:
                self.db.handover_lists.update_one(
                    {"_id": domain.handover_list_id(job)},
                    {"$inc": {"expected": 1},
                     "$setOnInsert": {"kecamatan_code": job["kecamatan_code"], "printed": 0,
                                      "items": []}},
                    upsert=True, session=session)
            self._emit_all(session, events)
            return job
        return self.consume_once(event, "queue_job", work)

    def claim(self, station: Station, kinds: frozenset[str], rules: StationRules,
              count: int, manifest: bool = False) -> list[dict]:
        """Lease up to ``count`` jobs to a station, never more than it may hold.

        Three round trips whatever ``count``: pick the ids, lease those still
        claimable in one ``update_many`` (each document is re-checked
        atomically, so a job another station took in between is skipped,
        never handed out twice), read back what this claim's token got.
        ``manifest``: the batch is the members of the oldest waiting
        jemput-bola manifest. Concurrent claims of one station may overshoot
        its cap for an instant; the overshoot is put back before answering.
        """
        now = utcnow()
        query = rules.claim_filter(station, kinds, now)
        room = min(count, station.max_held - self._held_by(station, now))
        if query is None or room <= 0:
            return []
        if manifest:
            first = self.db.print_jobs.find_one({**query, "manifest_id": {"$ne": None}},
                                                sort=QUEUE_ORDER, projection=["manifest_id"])
            if first is None:
                return []
            query = {**query, "manifest_id": first["manifest_id"]}
        lease = new_lease(station.station_id, now, rules.lease)
        if room == 1:  # one job: one atomic round trip
            job = self.db.print_jobs.find_one_and_update(
                query, {"$set": lease, "$inc": {"attempts": 1}}, sort=QUEUE_ORDER,
                return_document=ReturnDocument.AFTER)
            claimed = [job] if job is not None else []
        else:
            ids = [job["_id"] for job in self.db.print_jobs.find(
                query, projection=["_id"], sort=QUEUE_ORDER, limit=room)]
            if not ids:
                return []
            self.db.print_jobs.update_many({"$and": [{"_id": {"$in": ids}}, query]},
                                           {"$set": lease, "$inc": {"attempts": 1}})
            claimed = list(self.db.print_jobs.find({"lease_token": lease["lease_token"]},
                                                   sort=QUEUE_ORDER))
        if not claimed:
            return []
        excess = self._held_by(station, now) - station.max_held
        if excess > 0:
            self._unclaim(claimed[-excess:], lease["lease_token"])
            claimed = claimed[:-excess]
        return claimed

    def _held_by(self, station: Station, now: datetime.datetime) -> int:
        return self.db.print_jobs.count_documents(
            {"station_id": station.station_id, "status": "leased", "lease_until": {"$gte": now}})

    def _unclaim(self, jobs: list[dict], lease_token: str) -> None:
        self.db.print_jobs.update_many(
            {"_id": {"$in": [job["_id"] for job in jobs]}, "lease_token": lease_token},
            {"$set": {"status": "queued", "lease_until": None, "lease_token": None,
                      "station_id": None}, "$inc": {"attempts": -1}})

    def held_jobs(self, rules: StationRules, limit: int = 100) -> list[dict]:
        """Jobs waiting for an operator, oldest first."""
        return list(self.db.print_jobs.find(rules.held_filter(utcnow()), sort=QUEUE_ORDER,
                                            limit=limit))

    def release_held(self, job_id: str, rules: StationRules) -> dict:
        """Back to the queue with fresh attempts."""
        return self._operator_decision(job_id, rules, domain.release)

    def cancel_held(self, job_id: str, operator: str, rules: StationRules) -> dict:
        return self._operator_decision(job_id, rules, lambda job: domain.cancel(job, operator))

    def _operator_decision(self, job_id: str, rules: StationRules, decide) -> dict:
        def work(session):
            job = self._find(session, job_id)
            if job is None:
                raise JobNotFound()
            # a lease that ran out after the last attempt counts as held
            held = {**job, "status": "held"} if domain.job_is_held(job, rules.max_attempts) \
                and job["lease_until"] is not None and job["lease_until"] < utcnow() else job
            update, events = decide(held)
            return self._save(session, job, update, events)
        return self.run_transaction(work)

    def mark_printed(self, job_id: str, station_id: str, lease_token: str,
                     rules: PickupRules, now: datetime.datetime | None = None) -> dict:
        """Record a printed document, give it its pickup window (or put it on
        its kecamatan's hand-over list), emit the facts. ``now``: the clock
        (tests print on a chosen day)."""
        def work(session):
            now_ = now or utcnow()
            job = check_report(self._find(session, job_id), station_id, lease_token)
            update, events = print_outcome(
                job, now_, lambda place_id, printed_on: self._reserve_slot(
                    session, rules, place_id, printed_on))
            if update and job["next_day"]:
                events += self._add_to_handover(session, job, rules, today_wib(now_))
            return self._save(session, job, update, events)
        return self.run_transaction(work)

    def mark_failed(self, job_id: str, station_id: str, lease_token: str, reason: str,
                    note: str | None, max_attempts: int) -> dict:
        """A station could not print: back to the queue, or held for an operator."""
        def work(session):
            job = check_report(self._find(session, job_id), station_id, lease_token)
            update, events = domain.failure_outcome(job, reason, note, max_attempts)
            return self._save(session, job, update, events)
        return self.run_transaction(work)

    def open_windows(self, tracking_code: str, nik: str, rules: PickupRules,
                     today: datetime.date, count: int) -> list[dict]:
        """Windows with a free seat among the next ``count`` at the citizen's place."""
        job = domain.waiting_at_counter(domain.citizen_job(self._by_code(None, tracking_code),
                                                           nik))
        place = rules.place(job["slot"]["place_id"])
        windows = upcoming(place, rules.calendar, first_window(rules.calendar, today), count)
        keys = [window_key(place, window) for window in windows]
        taken = {row["_id"]: row["count"]
                 for row in self.db.pickup_windows.find({"_id": {"$in": keys}})}
        return [slot_record(place, window) for window, key in zip(windows, keys)
                if taken.get(key, 0) < place.pickup_capacity]

    def reschedule(self, tracking_code: str, nik: str, day: datetime.date, start: str,
                   rules: PickupRules, today: datetime.date) -> dict:
        """Move the citizen's window to the one they chose, if it has a seat."""
        def work(session):
            job = domain.waiting_at_counter(
                domain.citizen_job(self._by_code(session, tracking_code), nik))
            place = rules.place(job["slot"]["place_id"])
            window = requested_window(place, rules.calendar, day, start)
            if window is None:
                raise WindowUnavailable("date" if not rules.calendar.is_working_day(day)
                                        else "start")
            if window < first_window(rules.calendar, today):
                raise WindowUnavailable("date")
            key = window_key(place, window)
            if key == job["slot"].get("key"):
                return job
            counter = self.db.pickup_windows.find_one({"_id": key}, session=session)
            if (counter or {}).get("count", 0) >= place.pickup_capacity:
                raise WindowUnavailable("start")
            self._take_seat(session, key)
            self.db.pickup_windows.update_one({"_id": job["slot"]["key"]},
                                              {"$inc": {"count": -1}}, session=session)
            update, events = domain.reschedule(job, slot_record(place, window))
            return self._save(session, job, update, events)
        return self.run_transaction(work)

    def collect(self, tracking_code: str, nik: str, collected_by: str, how: str) -> dict:
        """The citizen collected the document (checked: the NIK is the job's)."""
        def work(session):
            job = domain.citizen_job(self._by_code(session, tracking_code), nik)
            if job["status"] == "collected":
                return job  # recorded twice: the first record stands
            update, events = domain.collection(domain.waiting_at_counter(job), collected_by,
                                               how, utcnow())
            return self._save(session, job, update, events)
        return self.run_transaction(work)

    def parcel_returned(self, event: dict, rules: PickupRules):
        """Pos brought the parcel back: a window at the Dinas counter, once per event."""
        def work(session):
            job = self.db.print_jobs.find_one({"application_id": event["application_id"]},
                                              session=session)
            if job is None:
                return None  # not printed here: nothing waits at a counter
            update, events = domain.returned_parcel(
                job, lambda place_id, printed_on: self._reserve_slot(
                    session, rules, place_id, printed_on), utcnow())
            return self._save(session, job, update, events)
        return self.consume_once(event, "parcel_returned", work)

    def _find(self, session, job_id: str) -> dict | None:
        return self.db.print_jobs.find_one({"_id": job_id}, session=session)

    def _by_code(self, session, tracking_code: str) -> dict | None:
        return self.db.print_jobs.find_one({"tracking_code": tracking_code.strip().upper()},
                                           session=session)

    def _save(self, session, job: dict, update: dict, events: list[Event]) -> dict:
        if update:
            self.db.print_jobs.update_one({"_id": job["_id"]}, {"$set": update}, session=session)
        self._emit_all(session, events)
        return {**job, **update}

    def _emit_all(self, session, events: list[Event]) -> None:
        for event in events:
            self.emit(session, event.type, **event.payload)

    def _take_seat(self, session, key: str) -> None:
        self.db.pickup_windows.update_one({"_id": key}, {"$inc": {"count": 1}},
                                          upsert=True, session=session)

    def _reserve_slot(self, session, rules: PickupRules, place_id: str,
                      printed_on: datetime.date) -> dict:
        """The earliest window with a seat, from the place's fill pointer
        (``slots``): four operations per print however many windows are
        full, plus one read per window a rescheduled citizen filled ahead of
        the pointer. Pointer and counter are read and written in the same
        snapshot transaction: two prints taking the last seat conflict, and
        one retries."""
        place = rules.place(place_id)

        def taken(window) -> int:
            counter = self.db.pickup_windows.find_one({"_id": window_key(place, window)},
                                                      session=session)
            return (counter or {}).get("count", 0)

        pointer = self.db.pickup_fill.find_one({"_id": place.place_id}, session=session)
        window, fill = find_seat(place, rules.calendar, pointer_window(pointer),
                                 first_window(rules.calendar, printed_on), taken)
        self._take_seat(session, window_key(place, window))
        self.db.pickup_fill.update_one({"_id": place.place_id}, {"$set": pointer_fields(fill)},
                                       upsert=True, session=session)
        return slot_record(place, window)

    def _add_to_handover(self, session, job: dict, rules: PickupRules,
                         printed_on: datetime.date) -> list[Event]:
        lst = self.db.handover_lists.find_one_and_update(
            {"_id": domain.handover_list_id(job)},
            {"$inc": {"printed": 1}, "$push": {"items": domain.handover_item(job)},
             "$setOnInsert": {"kecamatan_code": job["kecamatan_code"], "expected": 1}},
            upsert=True, return_document=ReturnDocument.AFTER, session=session)
        event = domain.kecamatan_handover(lst, rules.calendar.next_working_day(printed_on))
        if event is None:
            return []
        self.db.handover_lists.update_one({"_id": lst["_id"]}, {"$set": {"items": []}},
                                          session=session)
        return [event]
