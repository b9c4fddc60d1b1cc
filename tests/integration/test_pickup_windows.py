"""Pickup windows against the real database server (``PrintStore`` in-process).

* 200 documents printed at once never overfill a window, and fill the
  windows in order with no gaps;
* 610 documents get windows of 2 (44 working days: far past any 20-day
  horizon), and the database operations of a print are the same for the
  last as for the first (counted with a pymongo ``CommandListener``, not
  timed, on the first 6 and the last 4 prints; the ones between reported
  in batches); a print
  that leaves its window open does not write the fill pointer;
* a station's batch report of 50 costs a few more commands than a report of
  one, not fifty times as many, and fills the windows as fifty single
  reports would;
* reports of several stations at the same moment are recorded in one
  transaction, each answered as if alone;
* a weekend and a public holiday are skipped (the print's clock is chosen).
"""

from __future__ import annotations

import collections
import dataclasses
import datetime
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from pymongo import MongoClient

from services.printing.slots import PickupRules
from services.printing.store import PrintStore
from shared.clock import utcnow
from shared.errors import DatabaseUnavailable
from shared.offices import PLACES, WorkingCalendar
from services.printing.exceptions import LeaseLost
from tests.helpers import CommandCounter, NoRelay, at_once

UTC = datetime.timezone.utc
# Thursday 5 June 2025, 10:00 WIB; Friday 6 June was Idul Adha, then a weekend
THURSDAY_MORNING = datetime.datetime(2025, 6, 5, 3, 0, tzinfo=UTC)


@pytest.fixture
def db_name():
    return f"printing_windows_{uuid.uuid4().hex[:8]}"


@pytest.fixture
def counted(backing, db_name):
    counter = CommandCounter()
    client = MongoClient(backing.mongo_uri, tz_aware=True, event_listeners=[counter])
    PrintStore.ensure_indexes(client[db_name])
    store = PrintStore(client[db_name], client, NoRelay(), transaction_budget=30.0)
    yield store, counter
    client.drop_database(db_name)
    client.close()


def rules(capacity: int) -> PickupRules:
    places = {place_id: dataclasses.replace(place, pickup_capacity=capacity)
              for place_id, place in PLACES.items()}
    return PickupRules(places, WorkingCalendar())


def leased_jobs(store: PrintStore, count: int, place_id: str) -> list[dict]:
    """``count`` jobs leased to one station, as a claim leaves them."""
    now = utcnow()
    jobs = [{"_id": uuid.uuid4().hex, "application_id": uuid.uuid4().hex,
             "tracking_code": f"SDK{n:08d}", "document_type": "ktp_el",
             "nik": "3673045207900001", "full_name": "Siti Aminah",
             "contact": {"phone": "+6281234567890", "email": None, "language": "id"},
             "delivery_method": "pickup", "delivery_address": None, "print_kind": "card",
             "pickup_place_id": place_id, "next_day": False, "replacement": False,
             "manifest_id": None, "kecamatan_code": "367304", "status": "leased",
             "attempts": 1, "queued_at": now, "station_id": "station-test-1",
             "lease_token": f"token-{n:08d}", "lease_until": now}
            for n in range(count)]
    for start in range(0, count, 1000):
        store.db.print_jobs.insert_many(jobs[start:start + 1000])
    return jobs


def print_job(store: PrintStore, job: dict, pickup: PickupRules, now=THURSDAY_MORNING) -> dict:
    while True:  # a station retries a 503 (a conflict that outlasted the budget)
        try:
            return store.mark_printed(job["_id"], "station-test-1", job["lease_token"], pickup,
                                      now=now)
        except DatabaseUnavailable:
            continue


def seats_per_window(store: PrintStore) -> dict[str, int]:
    return {row["_id"]: row["count"] for row in store.db.pickup_windows.find()}


def test_200_documents_printed_at_once_never_overfill_a_window(counted):
    store, _ = counted
    pickup = rules(capacity=7)
    jobs = leased_jobs(store, 200, "disdukcapil-serang")
    with ThreadPoolExecutor(max_workers=16) as pool:
        printed = list(pool.map(lambda job: print_job(store, job, pickup), jobs))

    by_window = collections.Counter(job["slot"]["key"] for job in printed)
    assert sum(by_window.values()) == 200
    assert max(by_window.values()) <= 7
    assert seats_per_window(store) == dict(by_window)  # the counters agree with the jobs
    # filled in order: every window but the last is full, none skipped
    keys = sorted(by_window)
    assert len(keys) == 29 and all(by_window[key] == 7 for key in keys[:-1])
    assert by_window[keys[-1]] == 200 - 28 * 7
    assert store.db.print_jobs.count_documents({"status": "printed"}) == 200
    assert store.db.outbox.count_documents({"event_type": "document_ready_for_pickup"}) == 200


def test_six_hundred_documents_get_windows_at_a_constant_cost(counted):
    """Windows of 2, 14 a working day: 610 documents fill 44 working days,
    far past the 20 calendar days a scan once looked ahead (3,050 documents
    in windows of 10 took 30-60 s of the suite for the same)."""
    store, counter = counted
    capacity, documents = 2, 610
    pickup = rules(capacity=capacity)
    jobs = leased_jobs(store, documents, "kec-taktakan")

    ops_per_print = []
    slots = []

    def one_by_one(some: list[dict]) -> None:
        for job in some:
            before = len(counter.commands)
            slots.append(print_job(store, job, pickup)["slot"])
            ops_per_print.append(collections.Counter(counter.commands[before:]))

    # the first three windows and the last two one print at a time, each
    # print's commands counted; the 600 between as stations report them,
    # 100 a report
    one_by_one(jobs[:3 * capacity])
    for start in range(3 * capacity, documents - 2 * capacity, 100):
        reports = [{"print_job_id": job["_id"], "lease_token": job["lease_token"]}
                   for job in jobs[start:start + 100]]
        printed = store.mark_printed_batch(reports, "station-test-1", pickup,
                                           now=THURSDAY_MORNING)
        slots.extend(job["slot"] for job in printed)
    one_by_one(jobs[-2 * capacity:])
    assert len(slots) == documents

    # the same commands for the second and third windows' prints as for the
    # last two windows' (the very first print also writes the pointer it
    # found missing)
    first, last = ops_per_print[capacity:3 * capacity], ops_per_print[-2 * capacity:]
    assert [dict(ops) for ops in first] == [dict(ops) for ops in last]
    assert max(sum(ops.values()) for ops in ops_per_print) == sum(ops_per_print[0].values())
    # a print that leaves its window open leaves the fill pointer alone: one
    # update fewer than the one that fills the window and moves it on
    opening, filling = ops_per_print[capacity], ops_per_print[2 * capacity - 1]
    assert filling - opening == collections.Counter(update=1), (opening, filling)
    days = sorted({slot["date"] for slot in slots})
    assert len(days) == documents // (capacity * 7) + 1  # 44 working days
    assert max(seats_per_window(store).values()) == capacity
    assert slots[-1]["date"] > "2025-07-20"


def test_a_batch_report_costs_a_few_commands_whatever_its_size(counted):
    store, counter = counted
    pickup = rules(capacity=20)
    single, batch = leased_jobs(store, 1, "kec-taktakan"), leased_jobs(store, 50, "kec-taktakan")

    before = len(counter.commands)
    print_job(store, single[0], pickup)
    one = collections.Counter(counter.commands[before:])
    before = len(counter.commands)
    results = store.mark_printed_batch(
        [{"print_job_id": job["_id"], "lease_token": job["lease_token"]} for job in batch],
        "station-test-1", pickup, now=THURSDAY_MORNING)
    fifty = collections.Counter(counter.commands[before:])

    assert [result["status"] for result in results] == ["printed"] * 50
    # the three windows the batch reaches are read once each; everything else
    # is one command for the whole batch (jobs read, jobs updated, windows
    # booked, the fill pointer, the events, the commit)
    assert fifty - one == collections.Counter(find=2), (one, fifty)
    by_window = collections.Counter(result["slot"]["key"] for result in results)
    first = sorted(by_window)[0]
    assert [by_window[key] for key in sorted(by_window)] == [19, 20, 11]  # after the single one
    assert seats_per_window(store) == {**by_window, first: 20}
    assert store.db.outbox.count_documents({"event_type": "document_ready_for_pickup"}) == 51


def test_reports_of_the_moment_share_a_transaction_each_answered_as_alone(counted):
    # eight stations report five jobs each at once; one report names a lease
    # its station does not hold
    store, counter = counted
    pickup = rules(capacity=7)
    jobs = leased_jobs(store, 40, "disdukcapil-serang")
    for k in range(8):
        store.db.print_jobs.update_many({"_id": {"$in": [job["_id"] for job in jobs[5 * k:5 * k + 5]]}},
                                        {"$set": {"station_id": f"station-{k}"}})
    reports = [[{"print_job_id": job["_id"], "lease_token": job["lease_token"]}
                for job in jobs[5 * k:5 * k + 5]] for k in range(8)]
    reports[3][2]["lease_token"] = "a-lease-it-never-had"

    before = len(counter.commands)
    answers = at_once(8, lambda k: store.mark_printed_batch(reports[k], f"station-{k}", pickup,
                                                            now=THURSDAY_MORNING))
    commands = counter.commands[before:]

    assert commands.count("commitTransaction") < 8, commands
    for k, results in enumerate(answers):
        assert [result["_id"] if isinstance(result, dict) else type(result)
                for result in results] == [
            LeaseLost if (k, n) == (3, 2) else jobs[5 * k + n]["_id"] for n in range(5)]
        assert all(result["status"] == "printed" and result["station_id"] == f"station-{k}"
                   for result in results if isinstance(result, dict))
    by_window = collections.Counter(result["slot"]["key"] for results in answers
                                    for result in results if isinstance(result, dict))
    assert sorted(by_window.values()) == [4, 7, 7, 7, 7, 7]
    assert seats_per_window(store) == dict(by_window)
    assert store.db.print_jobs.count_documents({"status": "printed"}) == 39
    assert store.db.print_jobs.find_one({"_id": jobs[17]["_id"]})["status"] == "leased"
    assert store.db.outbox.count_documents({"event_type": "document_printed"}) == 39


def test_a_weekend_and_a_public_holiday_are_skipped(counted):
    store, _ = counted
    [job] = leased_jobs(store, 1, "kec-curug")
    printed = print_job(store, job, rules(capacity=40))
    # printed Thursday: not Friday (Idul Adha), not Saturday or Sunday
    assert (printed["slot"]["date"], printed["slot"]["start"]) == ("2025-06-09", "08:00")
    assert printed["slot"]["place"] == "Kantor Kecamatan Curug"


def test_a_day_closed_after_the_fill_pointer_reached_it_gets_no_new_prints(counted):
    """Outside review: the place's fill pointer on Tuesday, then the Dinas
    closed Tuesday (``CLOSED_DAYS``): the next print was booked on it."""
    store, _ = counted
    first, second = leased_jobs(store, 2, "kec-curug")
    pickup = rules(capacity=40)
    # Monday's windows filled by earlier prints: the pointer moved on to Tuesday
    store.db.pickup_fill.insert_one({"_id": "kec-curug", "day": "2025-06-10", "index": 0})
    assert print_job(store, first, pickup)["slot"]["date"] == "2025-06-10"
    tuesday_closed = PickupRules(pickup.places, WorkingCalendar.from_config("2025-06-10"))
    printed = print_job(store, second, tuesday_closed)
    assert (printed["slot"]["date"], printed["slot"]["start"]) == ("2025-06-11", "08:00")


def test_a_report_leaves_the_prr_records_alone_and_a_printed_ktp_el_leaves_the_backlog(counted):
    store, counter = counted
    ktp, kia, held = leased_jobs(store, 3, "kec-taktakan")
    niks = {"ktp": "3673040101900001", "kia": "3673040101900002", "held": "3673040101900003",
            "no_job": "3673040101900004", "marked_before": "3673040101900005"}
    for job, name, kind in ((ktp, "ktp", "ktp_el"), (kia, "kia", "kia"), (held, "held", "ktp_el")):
        store.db.print_jobs.update_one({"_id": job["_id"]},
                                       {"$set": {"nik": niks[name], "document_type": kind}})
    store.db.prr_records.insert_many([
        {"_id": nik, "kecamatan_code": "367304", "recorded_on": "2025-01-06",
         "printed_at": THURSDAY_MORNING if name == "marked_before" else None}
        for name, nik in niks.items()])
    records = list(store.db.prr_records.find(sort=[("_id", 1)]))

    before = len(counter.commands)
    results = store.mark_printed_batch(
        [{"print_job_id": job["_id"], "lease_token": job["lease_token"]} for job in (ktp, kia)],
        "station-test-1", rules(capacity=20), now=THURSDAY_MORNING)
    report = counter.commands[before:]

    assert [result["status"] for result in results] == ["printed", "printed"]
    assert list(store.db.prr_records.find(sort=[("_id", 1)])) == records
    # the window booked, its place's fill pointer (the first here), the jobs; no PRR record
    assert report.count("update") == 3
    # the printed KTP-el's NIK is off the backlog; a KIA, a job not printed yet,
    # no job at all keep theirs; one an earlier version marked printed stays off
    assert sorted(record["_id"] for record in store.prr_backlog()) == [
        niks["kia"], niks["held"], niks["no_job"]]

