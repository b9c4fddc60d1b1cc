"""The pickup half of printing's store: windows, their changes, collection,
returned parcels and the kecamatan hand-over lists. ``PrintStore`` (jobs,
stations, blanko) builds on it. Each method loads, asks ``domain`` and
``slots`` what follows, and writes the answer with its events in one
transaction.
"""

from __future__ import annotations

import datetime

from pymongo import ReturnDocument

from shared import manifests
from shared.clock import today_wib, utcnow
from shared.store import BaseStore

from . import domain, handovers
from .domain import Event
from .exceptions import WindowUnavailable
from .seats import Seats
from .slots import PickupRules, chosen_window, offered_windows, slot_record, window_key


# where each office's hand-over lists are kept (``handovers.OFFICES``)
HANDOVER_LISTS = {"kelurahan": "manifests", "kecamatan": "handover_lists"}
# a manifest as first written by an event before its ``batch_accepted``
UNKNOWN_MANIFEST = {"application_ids": None, "printed_ids": [], "items": [], "ready": False}


def by_code(tracking_code: str) -> dict:
    """The print jobs of a tracking code, as a citizen or an operator types
    it (any case, spaces around it), through the tracking code's index."""
    return {"tracking_code": tracking_code.strip().upper()}


class PickupStore(BaseStore):
    def open_windows(self, tracking_code: str, nik: str, rules: PickupRules,
                     today: datetime.date) -> list[dict]:
        """Windows with a free seat among those offered at the citizen's place."""
        job = domain.waiting_at_counter(domain.citizen_job(self._by_code(None, tracking_code),
                                                           nik))
        self._handed_to_the_living(None, job)  # no window for a card nobody collects
        place = rules.place(job["slot"]["place_id"])
        windows = offered_windows(place, rules.calendar, today)
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
            self._handed_to_the_living(session, job)
            place = rules.place(job["slot"]["place_id"])
            window = chosen_window(place, rules.calendar, today, day, start)
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
        """The citizen collected the document (checked: the NIK is the job's,
        and nobody it is for is recorded deceased)."""
        def work(session):
            job = domain.citizen_job(self._by_code(session, tracking_code), nik)
            if domain.collected_here(job, how):
                return job  # recorded twice: the first record stands
            self._handed_to_the_living(session, domain.waiting_at_counter(job))
            update, events = domain.collection(job, collected_by, how, utcnow())
            return self._save(session, job, update, events)
        return self.run_transaction(work)

    def parcel_returned(self, event: dict, rules: PickupRules, handled_before: bool = False):
        """Pos brought the parcel back: a window at the Dinas counter, once per event."""
        def work(session):
            job = self.db.print_jobs.find_one({"application_id": event["application_id"]},
                                              session=session)
            if job is None:
                return None  # not printed here: nothing waits at a counter
            now = utcnow()
            update, events = domain.returned_parcel(
                job, lambda place_id, printed_on: self._reserve_slot(
                    session, rules, place_id, printed_on), now,
                self._deceased(session, domain.card_holders(job)))
            if update.get("last_failure") == domain.PRINTED_FOR_THE_DECEASED["last_failure"]:
                self._listed_for_an_operator(session, [job["_id"]], now)
            return self._save(session, job, update, events)
        return self.consume_once(event, "parcel_returned", work, handled_before)

    def _listed_for_an_operator(self, session, job_ids: list[str],
                                now: datetime.datetime) -> None:
        """Printed cards of the deceased, listed with the held jobs
        (``PrintStore.held_jobs``) until an operator cancels them: at the
        Dinas when the death was recorded, or back from Pos since."""
        for job_id in job_ids:
            self.db.cards_of_the_deceased.update_one(
                {"_id": job_id}, {"$setOnInsert": {"recorded_at": now}}, upsert=True,
                session=session)

    def learn_manifest(self, event: dict, rules: PickupRules, handled_before: bool = False):
        """``batch_accepted``: the manifest's members, once per event. Members
        printed before it arrived already count."""
        def work(session):
            manifest = self.db.manifests.find_one_and_update(
                {"_id": event["manifest_id"]},
                {"$set": {"application_ids": event["application_ids"],
                          "kelurahan_code": event["kelurahan_code"]},
                 "$setOnInsert": {"printed_ids": [], "items": [], "ready": False}},
                upsert=True, return_document=ReturnDocument.AFTER, session=session)
            self._emit_all(session, self._if_manifest_ready(session, manifest, rules,
                                                            today_wib(utcnow())))
            return manifest
        return self.consume_once(event, "learn_manifest", work, handled_before)

    def manifest_member_dropped(self, manifest_id: str, application_id: str,
                                rules: PickupRules, at: datetime.datetime) -> None:
        """A member the manifest does not wait for (``handovers.manifest_complete``):
        rejected at verification or withdrawn by its citizen ``at`` (its
        event's time). No inbox row: keeping the latest time is the same
        however often the event comes, and ``ready`` lets the manifest go once."""
        def work(session):
            self._emit_all(session, self._manifest_member_dropped(
                session, manifest_id, application_id, rules, today_wib(utcnow()), at))
        self.run_transaction(work)

    def manifest_member_verified(self, manifest_id: str, application_id: str,
                                 at: datetime.datetime) -> None:
        """A member verified ``at`` (its event's time): dropped before (rejected,
        then resubmitted), the manifest waits for it again, unless it went
        already (``handovers.manifest_complete``). One write, no inbox row:
        keeping the latest time is the same however often and in whatever
        order the events come; a verification completes no manifest."""
        self.db.manifests.update_one(
            {"_id": manifest_id},
            {**manifests.member_verified(application_id, at),
             "$setOnInsert": UNKNOWN_MANIFEST},
            upsert=True)

    def picked_up_by_pos(self, application_id: str,
                         taken_at: datetime.datetime) -> tuple[dict, bool] | None:
        """Courier's ``parcel_picked_up`` for a citizen's own parcel: Pos has
        its document (since ``taken_at``, Pos' time), never printed again
        here (``domain.awaiting_pos``); a reprint re-queued too late is
        withdrawn (``domain.reprint_withdrawn``). In one transaction, no
        inbox row: the first time is kept, however often and in whatever
        order the event comes; a reprint re-queued at the same moment writes
        the job too, and one of the two runs again after the other. (The
        job, whether a reprint was withdrawn); None when printing has no job
        for it."""
        def work(session):
            job = self.db.print_jobs.find_one({"application_id": application_id},
                                              session=session)
            if job is None:
                return None
            known = job.get("pos_picked_up_at")
            update = {} if known and known <= taken_at else {"pos_picked_up_at": taken_at}
            withdrawn = domain.reprint_withdrawn(job, taken_at)
            if withdrawn:
                return self._withdraw(session, job, withdrawn, also=update), True
            if update:
                self.db.print_jobs.update_one({"_id": job["_id"]}, {"$set": update},
                                              session=session)
            return {**job, **update}, False
        return self.run_transaction(work)

    def manifest_picked_up_by_pos(self, manifest_id: str, application_id: str,
                                  taken_at: datetime.datetime) -> dict | None:
        """Courier's ``parcel_picked_up`` for a member of a jemput-bola
        manifest's parcel (one event per member): Pos has the manifest's
        documents (since ``taken_at``, Pos' time), none of its members is
        printed again here (``handovers.pos_has_it``); the member's reprint
        not printed before that is withdrawn, as for a citizen's own parcel
        (``domain.reprint_withdrawn``): the parcel carries the print before,
        printed for the manifest again. In one transaction, no inbox row:
        the first time is kept, however often and in whatever order the
        events come; the manifest is written once (its first news), not
        once per member. The job whose reprint was withdrawn, or None."""
        def work(session):
            manifest = self.db.manifests.find_one({"_id": manifest_id},
                                                  {"pos_picked_up_at": 1}, session=session)
            known = (manifest or {}).get("pos_picked_up_at")
            if known is None or known > taken_at:
                self.db.manifests.update_one(
                    {"_id": manifest_id}, {"$min": {"pos_picked_up_at": taken_at},
                                           "$setOnInsert": UNKNOWN_MANIFEST},
                    upsert=True, session=session)
            job = self.db.print_jobs.find_one({"application_id": application_id},
                                              session=session)
            withdrawn = job and domain.reprint_withdrawn(
                job, taken_at if known is None else min(known, taken_at), manifest_id)
            if not withdrawn:
                return None
            self.db.manifests.update_one({"_id": manifest_id},
                                         {"$addToSet": {"printed_ids": application_id}},
                                         session=session)
            return self._withdraw(session, job, withdrawn)
        return self.run_transaction(work)

    def _withdraw(self, session, job: dict, withdrawn: domain.Decision,
                  also: dict | None = None) -> dict:
        """A reprint withdrawn (``domain.reprint_withdrawn``), in its
        transaction: the job (with ``also``, other fields to set), its
        downloads (``_reprint_withdrawn``) and its event. The job as written."""
        update, events = withdrawn
        update = {**(also or {}), **update}
        self._reprint_withdrawn(session, job)
        self.db.print_jobs.update_one({"_id": job["_id"]}, {"$set": update}, session=session)
        self._emit_all(session, events)
        return {**job, **update}

    def _reprint_withdrawn(self, session, job: dict) -> None:
        """What else a reprint withdrawn changes, in its transaction:
        ``IssuingPrintStore`` makes the download Pos carries valid again and
        the reprint's not; a store without issuances has nothing to do."""

    def manifest_parcel_news(self, manifest_id: str, news: dict) -> None:
        """Courier's news of a manifest's parcel (``handovers.PARCEL_NEWS``): one
        write, and no inbox row - setting flags that only become true is the
        same however often and in whatever order the events come."""
        self.db.manifests.update_one(
            {"_id": manifest_id},
            {"$set": news, "$setOnInsert": UNKNOWN_MANIFEST},
            upsert=True)

    def answer_pos_choice(self, event: dict, handled_before: bool = False) -> Event | None:
        """Courier's ``manifest_sent_by_pos``: printing confirms or refuses it
        (``handovers.pos_answer``), once per event (None: answered before).
        The manifest is written
        first, so a print letting it go at the same moment conflicts with
        this transaction and one of the two runs again after the other:
        the answer always sees whether the manifest went."""
        def work(session):
            manifest = self.db.manifests.find_one_and_update(
                {"_id": event["manifest_id"]},
                {"$set": {"pos_asked_at": utcnow()}, "$setOnInsert": UNKNOWN_MANIFEST},
                upsert=True, return_document=ReturnDocument.AFTER, session=session)
            update, answer = handovers.pos_answer(manifest)
            if update:
                self.db.manifests.update_one({"_id": manifest["_id"]}, {"$set": update},
                                             session=session)
            self._emit_all(session, [answer])
            return answer
        return self.consume_once(event, "answer_pos_choice", work, handled_before)

    def hand_over(self, tracking_code: str, nik: str, officer, how: str,
                  today: datetime.date | None = None) -> dict:
        """An officer handed a document of their office's list to its citizen
        (``how``: ``kelurahan``, a jemput-bola manifest; ``kecamatan``, a
        next-day request) ``today`` (WIB; default this day):
        ``handovers.hands_over`` decides."""
        def work(session):
            job = domain.citizen_job(self._by_code(session, tracking_code), nik)
            list_id = handovers.OFFICES[how].list_id(job)
            lst = None if list_id is None else \
                self.db[HANDOVER_LISTS[how]].find_one({"_id": list_id}, session=session)
            if not handovers.hands_over(how, job, lst, officer.scope, today or today_wib()):
                return job  # recorded before: the first record stands
            self._handed_to_the_living(session, job)
            update, events = domain.collection(job, str(officer), how, utcnow())
            return self._save(session, job, update, events)
        return self.run_transaction(work)

    def _manifest_member_printed(self, session, job: dict, rules: PickupRules,
                                 printed_on: datetime.date) -> list[Event]:
        """A member printed: the manifest waits for it no longer; complete,
        it goes (``_if_manifest_ready``). A reprint (``printed_before``: one
        read more) printed while the manifest's parcel waits for Pos goes in
        it (``handovers.into_the_parcel``): no hand-over item, nothing
        else to go."""
        if job.get("printed_before") and handovers.goes_with_manifest(job) \
                and handovers.into_the_parcel(self.db.manifests.find_one(
                    {"_id": job["manifest_id"]}, session=session) or {}):
            self.db.manifests.update_one({"_id": job["manifest_id"]},
                                         {"$addToSet": {"printed_ids": job["application_id"]}},
                                         session=session)
            return []
        printed, first = {"printed_ids": job["application_id"]}, {"application_ids": None,
                                                                   "ready": False}
        if handovers.goes_with_manifest(job):
            printed["items"] = handovers.handover_item(job)
        else:  # to its citizen's door, in a parcel of its own
            printed["door_ids"] = job["application_id"]
            first["items"] = []
        manifest = self.db.manifests.find_one_and_update(
            {"_id": job["manifest_id"]}, {"$addToSet": printed, "$setOnInsert": first},
            upsert=True, return_document=ReturnDocument.AFTER, session=session)
        return self._if_manifest_ready(session, manifest, rules, printed_on)

    def _manifest_member_dropped(self, session, manifest_id: str, application_id: str,
                                 rules: PickupRules, today: datetime.date,
                                 at: datetime.datetime | None = None) -> list[Event]:
        """``at``: when it was dropped (default now: an operator's decision here)."""
        manifest = self.db.manifests.find_one_and_update(
            {"_id": manifest_id},
            {**manifests.member_dropped(application_id, at or utcnow()),
             "$setOnInsert": UNKNOWN_MANIFEST},
            upsert=True, return_document=ReturnDocument.AFTER, session=session)
        return self._if_manifest_ready(session, manifest, rules, today)

    def _if_manifest_ready(self, session, manifest: dict, rules: PickupRules,
                           ready_on: datetime.date) -> list[Event]:
        """Once complete, the manifest's printed ``items`` go back to its
        kelurahan (collected at the Dinas, ``batch_ready_for_kelurahan``, or
        by Pos) and it is ``ready``: a member printed later follows on its own."""
        if not handovers.manifest_complete(manifest):
            return []
        when = handovers.handover_time(rules, ready_on)
        event = handovers.manifest_ready(manifest, when)
        gone = {"ready": True, "items": []}
        if event is not None:
            gone.update(handovers.handover_days(
                manifest["items"], when, "follow_ups" if manifest["ready"] else "days"))
        self.db.manifests.update_one({"_id": manifest["_id"]}, {"$set": gone}, session=session)
        return [] if event is None else [event]

    def _handed_to_the_living(self, session, job: dict) -> None:
        """``HolderDeceased`` for a card of a person recorded deceased
        (``PrintStore._death_recorded``)."""
        domain.handed_to_the_living(job, self._deceased(session, domain.card_holders(job)))

    def _deceased(self, session, niks: list[str]) -> set[str]:
        """Which of ``niks`` are recorded deceased here (collection
        ``deceased``); no read for none (a certificate carries no card holder)."""
        if not niks:
            return set()
        return {row["_id"] for row in self.db.deceased.find({"_id": {"$in": niks}}, ["_id"],
                                                            session=session)}

    def _find(self, session, job_id: str) -> dict | None:
        return self.db.print_jobs.find_one({"_id": job_id}, session=session)

    def _manifest_of(self, job: dict, session=None) -> dict:
        """``job``'s jemput-bola manifest; empty for none (no read)."""
        if not job.get("manifest_id"):
            return {}
        return self.db.manifests.find_one({"_id": job["manifest_id"]}, session=session) or {}

    def _by_code(self, session, tracking_code: str) -> dict | None:
        return self.db.print_jobs.find_one(by_code(tracking_code), session=session)

    def _save(self, session, job: dict, update: dict, events: list[Event],
              done: dict | None = None) -> dict:
        """The job's changed fields and their events; ``done``: the entry
        appended to its action history (``domain.action_taken``) in the same
        update, when anything changed."""
        if update:
            self.db.print_jobs.update_one(
                {"_id": job["_id"]},
                {"$set": update, **({"$push": {"actions": done}} if done else {})},
                session=session)
        self._emit_all(session, events)
        return {**job, **update}

    def _emit_all(self, session, events: list[Event]) -> None:
        self.emit_all(session, [(event.type, event.payload) for event in events])

    def _take_seat(self, session, key: str) -> None:
        self.db.pickup_windows.update_one({"_id": key}, {"$inc": {"count": 1}},
                                          upsert=True, session=session)

    def _reserve_slot(self, session, rules: PickupRules, place_id: str,
                      printed_on: datetime.date) -> dict:
        """The earliest window with a seat, from the place's fill pointer
        (``slots``, ``seats``): three operations however many windows are
        full (four when it fills its window and the pointer moves on), plus
        one read per window a rescheduled citizen filled ahead of the
        pointer."""
        seats = Seats(self.db, session, rules)
        slot = seats.reserve(place_id, printed_on)
        seats.flush()
        return slot

    def _add_to_handover(self, session, job: dict, rules: PickupRules,
                         printed_on: datetime.date) -> list[Event]:
        """A printed next-day job: on its kecamatan's list, no longer ``waiting``."""
        return self._handover_list_changed(
            session, job, {"$push": {"items": handovers.handover_item(job)}}, rules, printed_on)

    def _handover_job_dropped(self, session, job: dict, rules: PickupRules) -> list[Event]:
        """A next-day job that will not be printed (its held job cancelled):
        its list no longer waits for it."""
        return self._handover_list_changed(session, job, {}, rules, today_wib(utcnow()))

    def _handover_list_changed(self, session, job: dict, change: dict, rules: PickupRules,
                               today: datetime.date) -> list[Event]:
        lst = self.db.handover_lists.find_one_and_update(
            {"_id": handovers.handover_list_id(job)},
            {**change, "$pull": {"waiting": job["application_id"]},
             "$setOnInsert": {"kecamatan_code": job["kecamatan_code"]}},
            upsert=True, return_document=ReturnDocument.AFTER, session=session)
        lst.setdefault("items", [])
        when = handovers.handover_time(rules, today)
        event = handovers.kecamatan_handover(lst, when)
        if event is None:
            return []
        self.db.handover_lists.update_one(
            {"_id": lst["_id"]}, {"$set": {"items": [], **handovers.handover_days(lst["items"],
                                                                                 when)}},
            session=session)
        return [event]
