"""Unit tests for services.printing.domain: a print job's life with stations.

The store is a fake over dicts with the same narrow methods as ``PrintStore``
(the clock is passed in instead of read), so each test reads as a story about
stations, leases and pickup slots, with no broker and no database.
"""

from __future__ import annotations

import dataclasses
import datetime
import itertools

import pytest

from services.printing.domain import (
    check_report,
    is_claimable,
    job_ref,
    new_job,
    new_lease,
    print_outcome,
)
from services.printing.exceptions import (DeceasedHoldKept, DocumentNotFound, HandedOver,
                                          HolderDeceased, JobNotFound, LeaseLost, NotAtCounter,
                                          NotHeld, NotPrinted, WithPos)
from services.printing.slots import (PickupRules, Window, find_seat, first_window, slot_record,
                                     window_key)
from services.printing import domain, handovers
from shared.events import build_event
from shared.offices import DINAS, PLACES, WorkingCalendar

UTC = datetime.timezone.utc
LEASE = datetime.timedelta(minutes=10)
# Thursday 5 June 2025, 10:00 WIB
THURSDAY_MORNING = datetime.datetime(2025, 6, 5, 3, 0, tzinfo=UTC)
LOKET = dataclasses.replace(DINAS, pickup_capacity=2)
RULES = PickupRules({**PLACES, LOKET.place_id: LOKET}, WorkingCalendar())
MONDAY = datetime.date(2025, 6, 9)  # Friday 6 June 2025 was Idul Adha
CONTACT = {"phone": "+6281234567890", "email": "siti.aminah@example.id", "language": "id"}


def verified(delivery_method: str = "pickup", n: int = 1) -> dict:
    address = {"street": "Jl. Raya Curug No. 7", "kelurahan": "Sukajaya"} \
        if delivery_method == "pos" else None
    return {"event_id": f"ev-{n}", "application_id": f"app-{n}", "tracking_code": f"SDK0000000{n}",
            "document_type": "ktp_el", "nik": "3673045207900001", "full_name": "Siti Aminah",
            "contact": CONTACT, "delivery_method": delivery_method, "delivery_address": address,
            "verified_by": "operator-1"}


class FakePrintStore:
    """``PrintStore``'s methods over dicts; records what it emitted, in order."""

    def __init__(self, rules: PickupRules = RULES):
        self.rules = rules
        self.jobs: dict[str, dict] = {}
        self.seats: dict[str, int] = {}  # window key -> documents booked
        self.pointers: dict[str, Window] = {}  # place id -> fill pointer
        self.emitted: list[dict] = []

    def queue_job(self, event: dict, now: datetime.datetime) -> dict:
        job, events = new_job(event, now)
        self.jobs[job["_id"]] = job
        self._emit_all(events)
        return dict(job)

    def claim_next(self, station_id: str, now: datetime.datetime) -> dict | None:
        waiting = sorted((job for job in self.jobs.values() if is_claimable(job, now)),
                         key=lambda job: job["queued_at"])
        if not waiting:
            return None
        job = waiting[0]
        job.update(new_lease(station_id, now, LEASE), attempts=job["attempts"] + 1)
        return dict(job)

    def mark_printed(self, job_id, station_id, lease_token, now) -> dict:
        job = check_report(self.jobs.get(job_id), station_id, lease_token)
        update, events = print_outcome(job, now, self._reserve_slot)
        return self._save(job, update, events)

    def mark_failed(self, job_id, station_id, lease_token, reason) -> dict:
        job = check_report(self.jobs.get(job_id), station_id, lease_token)
        update, events = domain.failure_outcome(job, reason, None, max_attempts=3)
        return self._save(job, update, events)

    def types(self) -> list[str]:
        return [event["type"] for event in self.emitted]

    def _save(self, job, update, events) -> dict:
        job.update(update)
        self._emit_all(events)
        return dict(job)

    def _emit_all(self, events) -> None:
        # build_event validates against the shared schema, as the real emit does
        self.emitted += [{"type": event.type, **build_event(event.type, **event.payload)}
                         for event in events]

    def _reserve_slot(self, place_id: str, printed_on: datetime.date,
                      keep: dict | None = None) -> dict:
        # the domain's tests here never re-queue into a kept window: the
        # store's Seats keeps it (tests/e2e/test_reprint.py)
        place = self.rules.place(place_id)
        window, self.pointers[place_id] = find_seat(
            place, self.rules.calendar, self.pointers.get(place_id),
            first_window(self.rules.calendar, printed_on),
            lambda w: self.seats.get(window_key(place, w), 0))
        key = window_key(place, window)
        self.seats[key] = self.seats.get(key, 0) + 1
        return slot_record(place, window)


@pytest.fixture
def store() -> FakePrintStore:
    return FakePrintStore()


def test_a_verified_application_becomes_a_queued_job(store):
    job = store.queue_job(verified(), THURSDAY_MORNING)
    assert (job["status"], job["attempts"], job["lease_until"]) == ("queued", 0, None)
    assert job["queued_at"] == THURSDAY_MORNING
    assert (job["nik"], job["full_name"], job["contact"]) == (
        "3673045207900001", "Siti Aminah", CONTACT)
    [queued] = store.emitted
    assert queued["type"] == "print_job_queued"
    assert {k: queued[k] for k in job_ref(job)} == job_ref(job) == {
        "application_id": "app-1", "tracking_code": "SDK00000001", "document_type": "ktp_el",
        "print_job_id": job["_id"]}


def test_claim_leases_the_oldest_waiting_job(store):
    first = store.queue_job(verified(n=1), THURSDAY_MORNING)
    store.queue_job(verified(n=2), THURSDAY_MORNING + datetime.timedelta(seconds=1))
    claimed = store.claim_next("station-1", THURSDAY_MORNING)
    assert claimed["_id"] == first["_id"]
    assert (claimed["status"], claimed["station_id"], claimed["attempts"]) == (
        "leased", "station-1", 1)
    assert claimed["lease_until"] == THURSDAY_MORNING + LEASE
    assert len(claimed["lease_token"]) >= 16
    assert store.claim_next("station-2", THURSDAY_MORNING)["application_id"] == "app-2"
    assert store.claim_next("station-3", THURSDAY_MORNING) is None


def test_is_claimable():
    now = THURSDAY_MORNING
    assert is_claimable({"status": "queued", "lease_until": None}, now)
    assert not is_claimable({"status": "leased", "lease_until": now + LEASE}, now)
    assert not is_claimable({"status": "leased", "lease_until": now}, now)
    assert is_claimable({"status": "leased", "lease_until": now - LEASE}, now)
    assert not is_claimable({"status": "printed", "lease_until": None}, now)


def test_printed_for_pickup_gets_next_working_day_slot_and_two_events(store):
    job = store.queue_job(verified("pickup"), THURSDAY_MORNING)
    lease = store.claim_next("station-1", THURSDAY_MORNING)
    printed = store.mark_printed(job["_id"], "station-1", lease["lease_token"], THURSDAY_MORNING)
    assert (printed["status"], printed["printed_at"], printed["lease_until"]) == (
        "printed", THURSDAY_MORNING, None)
    assert printed["slot"] == slot_record(LOKET, Window(MONDAY, 0))
    assert store.types() == ["print_job_queued", "document_printed", "document_ready_for_pickup"]
    _, done, ready = store.emitted
    assert done["station_id"] == "station-1"
    assert (ready["slot"], ready["full_name"], ready["contact"]) == (
        domain.announced(printed["slot"]), "Siti Aminah", CONTACT)


def test_printed_for_pos_books_no_slot_and_announces_no_pickup(store):
    job = store.queue_job(verified("pos"), THURSDAY_MORNING)
    lease = store.claim_next("station-1", THURSDAY_MORNING)
    printed = store.mark_printed(job["_id"], "station-1", lease["lease_token"], THURSDAY_MORNING)
    assert printed["status"] == "printed" and "slot" not in printed
    assert store.types() == ["print_job_queued", "document_printed"]
    assert store.seats == {}


def test_the_pickup_day_is_counted_in_wib_not_utc(store):
    # Wednesday 18:00 UTC is already Thursday 01:00 in Kota Serang: not Thursday
    # but the next working day after it, Monday (Friday was Idul Adha)
    late = datetime.datetime(2025, 6, 4, 18, 0, tzinfo=UTC)
    job = store.queue_job(verified(), late)
    lease = store.claim_next("station-1", late)
    printed = store.mark_printed(job["_id"], "station-1", lease["lease_token"], late)
    assert printed["slot"]["date"] == "2025-06-09"


def test_repeated_printed_report_gets_the_same_slot_and_books_once(store):
    job = store.queue_job(verified(), THURSDAY_MORNING)
    lease = store.claim_next("station-1", THURSDAY_MORNING)
    first = store.mark_printed(job["_id"], "station-1", lease["lease_token"], THURSDAY_MORNING)
    again = store.mark_printed(job["_id"], "station-1", lease["lease_token"],
                               THURSDAY_MORNING + datetime.timedelta(minutes=1))
    assert again["slot"] == first["slot"]
    assert again["printed_at"] == THURSDAY_MORNING
    assert sum(store.seats.values()) == 1
    assert store.types().count("document_printed") == 1


def test_failed_report_requeues_the_job_for_any_station(store):
    job = store.queue_job(verified(), THURSDAY_MORNING)
    lease = store.claim_next("station-1", THURSDAY_MORNING)
    failed = store.mark_failed(job["_id"], "station-1", lease["lease_token"], "out_of_blanko")
    assert (failed["status"], failed["lease_token"], failed["lease_until"]) == (
        "queued", None, None)
    assert failed["last_failure"] == "out_of_blanko"
    assert store.types() == ["print_job_queued", "print_job_failed"]
    failure = store.emitted[-1]
    assert (failure["station_id"], failure["reason"], failure["requeued"]) == (
        "station-1", "out_of_blanko", True)
    # the old lease is spent; another station picks the job up, second attempt
    with pytest.raises(LeaseLost):
        store.mark_printed(job["_id"], "station-1", lease["lease_token"], THURSDAY_MORNING)
    retry = store.claim_next("station-2", THURSDAY_MORNING)
    assert (retry["_id"], retry["attempts"]) == (job["_id"], 2)


def test_a_printed_job_cannot_be_reported_failed(store):
    job = store.queue_job(verified(), THURSDAY_MORNING)
    lease = store.claim_next("station-1", THURSDAY_MORNING)
    store.mark_printed(job["_id"], "station-1", lease["lease_token"], THURSDAY_MORNING)
    with pytest.raises(LeaseLost):
        store.mark_failed(job["_id"], "station-1", lease["lease_token"], "out_of_blanko")
    assert store.jobs[job["_id"]]["status"] == "printed"


def test_expired_lease_taken_over_refuses_the_old_holder(store):
    job = store.queue_job(verified(), THURSDAY_MORNING)
    old = store.claim_next("station-1", THURSDAY_MORNING)
    assert store.claim_next("station-2", THURSDAY_MORNING + LEASE / 2) is None
    later = THURSDAY_MORNING + LEASE + datetime.timedelta(seconds=1)
    new = store.claim_next("station-2", later)
    assert (new["_id"], new["attempts"]) == (job["_id"], 2)
    assert new["lease_token"] != old["lease_token"]
    with pytest.raises(LeaseLost):
        store.mark_printed(job["_id"], "station-1", old["lease_token"], later)
    with pytest.raises(LeaseLost):
        store.mark_failed(job["_id"], "station-1", old["lease_token"], "out_of_blanko")
    printed = store.mark_printed(job["_id"], "station-2", new["lease_token"], later)
    assert printed["status"] == "printed"
    assert store.emitted[-2]["station_id"] == "station-2"


def test_late_report_with_no_takeover_is_accepted(store):
    job = store.queue_job(verified(), THURSDAY_MORNING)
    lease = store.claim_next("station-1", THURSDAY_MORNING)
    an_hour_late = THURSDAY_MORNING + LEASE + datetime.timedelta(hours=1)
    printed = store.mark_printed(job["_id"], "station-1", lease["lease_token"], an_hour_late)
    assert printed["status"] == "printed"
    assert store.claim_next("station-2", an_hour_late) is None


def test_who_may_report():
    job = {"station_id": "station-1", "lease_token": "token-abcdef-1"}
    assert check_report(job, "station-1", "token-abcdef-1") is job
    with pytest.raises(LeaseLost):
        check_report(job, "station-2", "token-abcdef-1")  # right token, wrong station
    with pytest.raises(LeaseLost):
        check_report(job, "station-1", "token-abcdef-2")
    with pytest.raises(JobNotFound):
        check_report(None, "station-1", "token-abcdef-1")


def test_windows_fill_in_order_up_to_capacity(store):
    slots = []
    for n in range(1, 4):
        job = store.queue_job(verified(n=n), THURSDAY_MORNING)
        lease = store.claim_next("station-1", THURSDAY_MORNING)
        slots.append(store.mark_printed(job["_id"], "station-1", lease["lease_token"],
                                        THURSDAY_MORNING)["slot"])
    assert [slot["start"] for slot in slots] == ["08:00", "08:00", "09:00"]
    assert store.seats == {"disdukcapil-serang|2025-06-09|08:00": 2,
                           "disdukcapil-serang|2025-06-09|09:00": 1}
    assert store.pointers == {"disdukcapil-serang": Window(MONDAY, 1)}


def test_outcomes_are_decisions_not_writes():
    job, _ = new_job(verified(), THURSDAY_MORNING)
    job.update(new_lease("station-1", THURSDAY_MORNING, LEASE))
    before = dict(job)
    booked = itertools.count()
    update, events = print_outcome(
        job, THURSDAY_MORNING,
        lambda place_id, day, keep: {"place_id": place_id, "date": day.isoformat(),
                                     "n": next(booked), "place": "p", "address": "a",
                                     "start": "08:00", "end": "09:00"})
    assert (update["slot"]["place_id"], update["slot"]["date"], update["slot"]["n"]) == (
        "disdukcapil-serang", "2025-06-05", 0)  # given the place and the WIB print day
    assert [event.type for event in events] == ["document_printed", "document_ready_for_pickup"]
    assert events[1].payload["returned"] is False  # just printed, not back from Pos
    update, events = domain.failure_outcome(job, "printer_fault", None, max_attempts=3)
    assert update["status"] == "queued" and events[0].payload["requeued"] is True
    assert job == before


def test_cancelling_a_cancelled_job_again_changes_and_says_nothing():
    """Outside audit F5: an operator retrying a cancel whose answer was lost
    got 409 ``not_held``. The job is given up already: the repeat is taken
    as it is, and neither intake nor the citizen hears of it twice."""
    job, _ = new_job(verified(), THURSDAY_MORNING)
    held = {**job, "status": "held", "last_failure": "data_error"}
    update, [event] = domain.cancel(held, "op-1")
    assert event.type == "print_job_cancelled"
    cancelled = {**held, **update}
    assert domain.cancel(cancelled, "op-1") == ({}, [])
    assert domain.cancel(cancelled, "op-2") == ({}, [])  # still op-1's cancel
    # a printed card of a holder who died since, given up: the same
    printed = {**job, "status": "printed", "delivery_method": "pickup"}
    update, [event] = domain.cancel(printed, "op-1", {printed["nik"]})
    assert event.payload["reason"] == "holder_deceased"
    assert domain.cancel({**printed, **update}, "op-1", {printed["nik"]}) == ({}, [])
    with pytest.raises(NotHeld):  # queued, never held: not an operator's to give up
        domain.cancel(job, "op-1")


def printed_job(store, n=1, **fields):
    job = store.queue_job({**verified(n=n), **fields}, THURSDAY_MORNING)
    lease = store.claim_next("station-1", THURSDAY_MORNING)
    return store.mark_printed(job["_id"], "station-1", lease["lease_token"], THURSDAY_MORNING)


def test_print_needs_come_from_the_event_with_defaults_for_older_events():
    job, _ = new_job(verified(), THURSDAY_MORNING)
    assert (job["print_kind"], job["pickup_place_id"], job["next_day"], job["replacement"],
            job["manifest_id"], job["kecamatan_code"]) == (
        "card", "disdukcapil-serang", False, False, None, "367304")
    job, _ = new_job({**verified(), "document_type": "akta_kelahiran",
                      "pickup_place_id": "kec-curug", "next_day": True}, THURSDAY_MORNING)
    assert (job["print_kind"], job["pickup_place_id"], job["next_day"]) == (
        "certificate", "kec-curug", True)


def test_a_next_day_job_goes_on_the_list_of_the_officer_s_kecamatan():
    # the NIK was issued in Kasemen (367302), the citizen lives in Curug, whose
    # officer asked: Curug's list, where that officer collects it
    moved = {**verified(), "nik": "3673025207900001", "next_day": True,
             "kecamatan_code": "367304"}
    job, _ = new_job(moved, THURSDAY_MORNING)
    assert job["kecamatan_code"] == "367304"
    assert handovers.handover_list_id(job) == "367304|2025-06-05"
    older, _ = new_job({**moved, "kecamatan_code": None}, THURSDAY_MORNING)
    assert older["kecamatan_code"] == "367302"  # an older event: the NIK's


def test_the_window_is_at_the_place_the_application_named(store):
    printed = printed_job(store, pickup_place_id="kec-curug")
    assert (printed["slot"]["place_id"], printed["slot"]["place"]) == (
        "kec-curug", "Kantor Kecamatan Curug")


def test_next_day_and_jemput_bola_documents_get_no_citizen_window(store):
    assert "slot" not in printed_job(store, n=1, next_day=True)
    assert "slot" not in printed_job(store, n=2, manifest_id="JB-3673041010-20250605-ABC123")
    assert store.types().count("document_ready_for_pickup") == 0
    assert store.seats == {}


def test_citizen_job_answers_a_wrong_nik_like_an_unknown_code():
    job = {"nik": "3673045207900001"}
    assert domain.citizen_job(job, "3673045207900001") is job
    with pytest.raises(DocumentNotFound):
        domain.citizen_job(job, "3673045207900002")
    with pytest.raises(DocumentNotFound):
        domain.citizen_job(None, "3673045207900001")


def test_a_death_is_recorded_by_an_akta_kematian_and_concerns_card_holders_only():
    death, _ = new_job({**verified(), "document_type": "akta_kematian", "holder_nik": None,
                        "document_details": {"deceased_nik": "3673041505800011"}},
                       THURSDAY_MORNING)
    assert domain.death_recorded(death) == "3673041505800011"
    assert domain.card_holders(death) == []  # a certificate: the family's to collect
    kia, _ = new_job({**verified(), "document_type": "kia", "holder_nik": "3673042003200013"},
                     THURSDAY_MORNING)
    assert domain.death_recorded(kia) is None
    assert domain.card_holders(kia) == ["3673042003200013"]  # the child's card
    assert domain.handed_to_the_living(kia, {"3673041505800011"}) is kia
    # a parent who applied and died since: the child's KIA is still handed over
    assert domain.handed_to_the_living(kia, {"3673045207900001"}) is kia
    with pytest.raises(HolderDeceased):
        domain.handed_to_the_living(kia, {"3673042003200013"})
    birth, _ = new_job({**verified(), "document_type": "akta_kelahiran", "holder_nik": None},
                       THURSDAY_MORNING)
    assert domain.handed_to_the_living(birth, {"3673045207900001"}) is birth


def test_only_a_printed_document_with_a_window_waits_at_the_counter(store):
    with pytest.raises(NotAtCounter):
        domain.waiting_at_counter({"status": "queued"})
    with pytest.raises(NotAtCounter):
        domain.waiting_at_counter({"status": "printed"})  # sent by Pos
    with pytest.raises(NotAtCounter):
        domain.waiting_at_counter({"status": "collected", "slot": {"date": "2025-06-09"}})
    printed = printed_job(store)
    assert domain.waiting_at_counter(printed) is printed


def test_collection_and_reschedule_events(store):
    printed = printed_job(store)
    moved = slot_record(LOKET, Window(datetime.date(2025, 6, 10), 3))
    update, [event] = domain.reschedule(printed, moved)
    assert update == {"slot": moved}
    assert event.type == "pickup_rescheduled"
    assert build_event(event.type, **event.payload)["slot"]["start"] == "11:00"
    update, [event] = domain.collection(printed, "operator-1", "counter", THURSDAY_MORNING)
    assert update["status"] == "collected"
    assert (event.type, event.payload["how"], event.payload["collected_by"]) == (
        "document_collected", "counter", "operator-1")


def test_a_returned_parcel_gets_a_window_at_the_dinas_once(store):
    printed = printed_job(store, delivery_method="pos",
                          delivery_address={"street": "Jl. Raya Curug No. 7"})
    reserve = store._reserve_slot
    update, [event] = domain.returned_parcel(printed, reserve, THURSDAY_MORNING)
    assert (update["delivery_method"], update["slot"]["place_id"]) == ("pickup",
                                                                      "disdukcapil-serang")
    assert event.type == "document_ready_for_pickup" and event.payload["returned"] is True
    assert domain.returned_parcel({**printed, **update}, reserve, THURSDAY_MORNING) == ({}, [])
    assert domain.returned_parcel({**printed, "status": "leased"}, reserve,
                                  THURSDAY_MORNING) == ({}, [])


def test_a_kecamatan_list_is_ready_when_every_next_day_job_of_the_day_is_printed():
    item = {"application_id": "a", "tracking_code": "SDK1", "full_name": "Siti",
            "document_type": "ktp_el"}
    waiting = {"kecamatan_code": "367304", "waiting": ["b"], "items": [item]}
    # printed on Thursday: Friday is Idul Adha, so the officer comes on Monday
    when = handovers.handover_time(RULES, THURSDAY_MORNING.date())
    assert handovers.kecamatan_handover(waiting, when) is None
    event = handovers.kecamatan_handover({**waiting, "waiting": [], "items": [item, item]}, when)
    assert (event.type, event.payload["day"], len(event.payload["items"])) == (
        "kecamatan_handover_ready", "2025-06-09", 2)
    # the citizens collect at the kecamatan office from the next working day
    assert event.payload["at_office_from"] == "2025-06-10"
    assert event.payload["slot"] == {"place": DINAS.name, "address": DINAS.address,
                                     "date": "2025-06-09", "start": "08:00", "end": "15:00"}
    build_event(event.type, **event.payload)
    job, _ = new_job({**verified(), "next_day": True}, THURSDAY_MORNING)
    assert handovers.handover_list_id(job) == "367304|2025-06-05"
    assert "nik" not in handovers.handover_item(job)


def test_a_complete_manifest_is_collected_at_the_dinas_the_next_working_day():
    item = {"application_id": "a", "tracking_code": "SDK1", "full_name": "Siti",
            "document_type": "akta_kelahiran"}
    manifest = {"_id": "JB-3673041010-20250605-ABCDEF", "kelurahan_code": "3673041010",
                "application_ids": ["a", "b"], "printed_ids": ["a"], "items": [item],
                "ready": False}
    when = handovers.handover_time(RULES, datetime.date(2025, 6, 7))  # a Saturday
    slot = when["slot"]
    assert slot["date"] == "2025-06-09" and slot["place"] == DINAS.name
    assert handovers.manifest_ready(manifest, when) is None
    second = {**item, "application_id": "b", "tracking_code": "SDK2"}
    event = handovers.manifest_ready({**manifest, "printed_ids": ["b", "a"],
                                   "items": [second, item]}, when)
    assert event.payload["items"] == [item, second] and event.payload["slot"] == slot
    assert (event.payload["day"], event.payload["at_office_from"]) == ("2025-06-09",
                                                                       "2025-06-10")
    build_event(event.type, **event.payload)


@pytest.mark.parametrize("news", ["manifest_sent_by_pos", "parcel_dispatched"])
def test_a_complete_manifest_going_by_pos_calls_nobody_to_the_dinas(news):
    manifest = {"_id": "JB-3673041010-20250605-ABCDEF", "kelurahan_code": "3673041010",
                "application_ids": ["a"], "printed_ids": ["a"], "items": [
                    {"application_id": "a", "tracking_code": "SDK1", "full_name": "Siti",
                     "document_type": "ktp_el"}], "ready": False}
    when = handovers.handover_time(RULES, MONDAY)
    assert handovers.manifest_ready(manifest, when) is not None
    by_pos = {**manifest, **handovers.PARCEL_NEWS[news]}
    assert handovers.manifest_complete(by_pos)
    assert handovers.manifest_ready(by_pos, when) is None


def test_a_stations_failure_note_is_kept_masked():
    job, _ = new_job(verified(), THURSDAY_MORNING)
    job.update(new_lease("station-1", THURSDAY_MORNING, LEASE))
    update, _ = domain.failure_outcome(
        job, "data_error", "NIK salah 3673045207900001 hp 081234567890", max_attempts=3)
    note = update["failure_note"]
    assert "3673045207900001" not in note and "081234567890" not in note
    assert note.startswith("NIK salah 3673") and " hp 08123" in note


def test_a_printed_document_still_at_the_dinas_is_re_queued_first_with_fresh_attempts(store):
    """Outside audit T1 F2: a card missing or spoiled after its report."""
    printed = printed_job(store)
    update, events = domain.reprint(printed, "op-1", set(), manifest_with_pos=False)
    assert {key: update[key] for key in ("status", "attempts", "priority", "slot",
                                         "lease_token", "station_id")} == {
        "status": "queued", "attempts": 0, "priority": 0, "slot": None, "lease_token": None,
        "station_id": None}
    assert [(event.type, event.payload["requeued_by"]) for event in events] == [
        ("print_job_requeued", "op-1")]
    requeued = {**printed, **update}
    assert is_claimable(requeued, THURSDAY_MORNING)
    # queued again and asked again (a retry after a lost answer): a repeat,
    # nothing changes, nothing is said again
    assert domain.reprint(requeued, "op-1", set(), manifest_with_pos=False) == ({}, [])
    for status in ("leased", "held", "cancelled"):
        with pytest.raises(NotPrinted):
            domain.reprint({**printed, "status": status}, "op-1", set(), manifest_with_pos=False)
    with pytest.raises(HandedOver):
        domain.reprint({**printed, "status": "collected"}, "op-1", set(), manifest_with_pos=False)
    # the citizen's own parcel, Pos has not taken it: its order takes the reprint
    parcel = {**printed, "delivery_method": "pos", "slot": None}
    assert domain.reprint(parcel, "op-1", set(), manifest_with_pos=False)[0]["status"] == \
        "queued"
    with pytest.raises(WithPos):  # Pos has it in hand (courier's parcel_picked_up)
        domain.reprint({**parcel, "pos_picked_up_at": "2026-11-29T10:05:00+07:00"}, "op-1",
                       set(), manifest_with_pos=False)
    # a jemput-bola member's own parcel to its door, Pos has not taken it
    assert domain.reprint({**parcel, "manifest_id": "m-1"}, "op-1", set(),
                          manifest_with_pos=False)[0]["status"] == "queued"
    with pytest.raises(WithPos):  # Pos has it in hand
        domain.reprint({**parcel, "manifest_id": "m-1", "pos_picked_up_at": "2026-11-29T10:05"},
                       "op-1", set(), manifest_with_pos=False)
    with pytest.raises(WithPos):  # Pos took its jemput-bola manifest's parcel
        domain.reprint({**printed, "manifest_id": "m-1"}, "op-1", set(), manifest_with_pos=True)
    # a member of a manifest collected at the Dinas, or sent by Pos and not
    # taken yet, is re-queued
    assert domain.reprint({**printed, "manifest_id": "m-1"}, "op-1", set(),
                          manifest_with_pos=False)[0]["status"] == "queued"
    with pytest.raises(DeceasedHoldKept):
        domain.reprint(printed, "op-1", {printed["nik"]}, manifest_with_pos=False)


def test_a_reprint_pos_took_the_parcel_before_is_withdrawn(store):
    """Outside audit E: the operator's reprint of a Pos parcel crossed Pos'
    courier taking it (or Pos' news came late): the parcel carries the
    document printed before, and the reprint is withdrawn - unless it was
    printed before Pos took the parcel (it may be the one in it)."""
    first = THURSDAY_MORNING
    parcel = {**printed_job(store), "delivery_method": "pos", "slot": None, "printed_at": first}
    update, _ = domain.reprint(parcel, "op-1", set(), manifest_with_pos=False)
    assert update["printed_before"] == first
    requeued = {**parcel, **update}
    taken = first + datetime.timedelta(minutes=30)
    for status in ("queued", "leased", "held"):
        withdrawn, events = domain.reprint_withdrawn({**requeued, "status": status}, taken)
        assert (withdrawn["status"], withdrawn["printed_at"], withdrawn["lease_token"]) == (
            "printed", first, None), status
        # intake hears of it (outside audit J F2): nothing of the reprint printed
        [event] = events
        assert event.type == "reprint_withdrawn"
        assert event.payload["reprint_printed_at"] is None
    late = {**requeued, "status": "printed", "printed_at": taken + datetime.timedelta(seconds=1)}
    withdrawn, [event] = domain.reprint_withdrawn(late, taken)
    assert withdrawn["printed_at"] == first
    # Pos' time and the prints' in UTC, as intake's timeline writes its times
    assert event.payload == {**domain.job_ref(late), "manifest_id": None,
                             "picked_up_at": taken.astimezone(datetime.timezone.utc).isoformat(),
                             "printed_at": first.astimezone(datetime.timezone.utc).isoformat(),
                             "reprint_printed_at": late["printed_at"].astimezone(
                                 datetime.timezone.utc).isoformat()}
    in_wib = taken.astimezone(datetime.timezone(datetime.timedelta(hours=7)))
    assert domain.reprint_withdrawn(late, in_wib)[1][0].payload["picked_up_at"] \
        == event.payload["picked_up_at"]
    # the reprint printed before Pos took the parcel: it may be the one Pos has
    early = {**late, "printed_at": taken - datetime.timedelta(seconds=1)}
    assert domain.reprint_withdrawn(early, taken) is None
    assert domain.reprint_withdrawn(parcel, taken) is None  # never re-queued
    assert domain.reprint_withdrawn({**requeued, "status": "cancelled"}, taken) is None
    assert domain.reprint_withdrawn({**requeued, "delivery_method": "pickup"}, taken) is None
    # Pos took a jemput-bola manifest's parcel: its members that go with it
    member = {**requeued, "delivery_method": "pickup", "manifest_id": "m-1"}
    withdrawn, [event] = domain.reprint_withdrawn(member, taken, "m-1")
    assert (withdrawn["printed_at"], event.payload["manifest_id"]) == (first, "m-1")
    assert domain.reprint_withdrawn(member, taken) is None  # not a parcel of its own
    assert domain.reprint_withdrawn(member, taken, "m-2") is None
    assert domain.reprint_withdrawn({**member, "delivery_method": "pos"}, taken, "m-1") is None
    # a member Pos takes to its citizen's door: its own parcel
    assert domain.reprint_withdrawn({**requeued, "manifest_id": "m-1"}, taken)[0]["printed_at"] \
        == first


def test_a_withdrawn_reprint_held_for_its_holder_s_death_stays_so(store):
    """Outside review: Pos took the parcel of a card whose reprint was held
    because its holder died since; withdrawing the reprint cleared the hold."""
    parcel = {**printed_job(store), "delivery_method": "pos", "slot": None,
              "printed_at": THURSDAY_MORNING}
    requeued = {**parcel, **domain.reprint(parcel, "op-1", set(), manifest_with_pos=False)[0]}
    taken = THURSDAY_MORNING + datetime.timedelta(minutes=30)
    withdrawn, _ = domain.reprint_withdrawn({**requeued, **domain.HELD_AS_DECEASED}, taken)
    assert (withdrawn["status"], withdrawn["last_failure"]) == ("printed", "holder_deceased")
    held = {**requeued, "status": "held", "last_failure": "data_error"}
    assert domain.reprint_withdrawn(held, taken)[0]["last_failure"] is None


def test_a_reprint_in_the_window_announced_before_says_it_was_told(store):
    """The reprint's ``document_ready_for_pickup`` in the very window of the
    print it replaced carries ``window_told`` (notification sends nothing);
    in another window it does not."""
    printed = printed_job(store)
    requeued = {**printed, **domain.reprint(printed, "op-1", set(), manifest_with_pos=False)[0],
                "status": "leased", "station_id": "station-1", "lease_token": "t",
                "lease_until": THURSDAY_MORNING + datetime.timedelta(hours=1)}
    same = domain.print_outcome(requeued, THURSDAY_MORNING, lambda *_: printed["slot"])[1]
    assert same[1].payload["window_told"] is True
    other = {**printed["slot"], "key": "another-window"}
    assert domain.print_outcome(requeued, THURSDAY_MORNING,
                                lambda *_: other)[1][1].payload["window_told"] is False
