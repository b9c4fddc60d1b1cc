"""A lease that runs out on the job's last attempt, against the real database
server (``PrintStore.hold_lapsed``, as printing's timer runs it in every
process): the job is held and says so once (``print_job_held``,
``lease_expired``) however many processes look at once, the held list names
the reason and the station whose lease ran out (listed ``held`` before the
timer holds it too), and the station's late report is still heard (outside
audit: such a job was "held" only as a query, no event, so the citizen read
"Masuk antrean cetak" for ever).
"""

from __future__ import annotations

import time

import pytest
from pymongo import MongoClient

from services.printing.exceptions import LeaseLost
from services.printing.openapi import HeldJobAnswerSchema
from services.printing.schemas import HeldJobSchema
from services.printing.store import PrintStore
from shared.clock import utcnow
from tests.helpers import NoRelay, at_once, store_on_a_database_of_its_own
from tests.integration.test_pickup_windows import rules as pickup_rules
from tests.integration.test_stations import FindFilters, or_anywhere, queue_jobs, station_rules

PROCESSES = 3  # printing processes looking at once


@pytest.fixture
def store(backing):
    stores = store_on_a_database_of_its_own(backing, PrintStore, "printing_lapsed")
    store = next(stores)
    PrintStore.ensure_indexes(store.db)
    yield store
    stores.close()


@pytest.fixture
def processes(backing, store):
    """``store`` and the same database through clients of their own, as
    other printing processes see it; the last one's ``find`` filters are
    recorded."""
    finds = FindFilters()
    clients = [MongoClient(backing.mongo_uri, tz_aware=True,
                           event_listeners=[finds] if n == PROCESSES - 2 else [])
               for n in range(PROCESSES - 1)]
    yield [store, *(PrintStore(client[store.db.name], client, NoRelay(),
                               transaction_budget=30.0) for client in clients)], finds
    for client in clients:
        client.close()


def lapsed_on_last_attempt(store: PrintStore, rules) -> dict:
    """A job claimed ``max_attempts`` times by dinas-1, each lease let run
    out; the last claim."""
    [job] = queue_jobs(store, 1, pickup_place_id="disdukcapil-serang", print_kind="card")
    dinas = rules.station("dinas-1")
    for _ in range(rules.max_attempts):
        deadline = time.monotonic() + 30
        while not (claimed := store.claim(dinas, rules, 1)):
            assert time.monotonic() < deadline, "the lease never ran out"
            time.sleep(0.05)
        assert claimed[0]["_id"] == job["_id"]
    while not store.db.print_jobs.count_documents({"_id": job["_id"],
                                                   "lease_until": {"$lt": utcnow()}}):
        time.sleep(0.05)  # the last lease runs out
    return claimed[0]


def held_events(store: PrintStore) -> list[dict]:
    return [row["payload"] for row in store.db.outbox.find({"event_type": "print_job_held"})]


def test_a_lease_run_out_on_the_last_attempt_is_held_once_and_says_so(processes):
    stores, finds = processes
    rules = station_rules(lease_seconds=0.3)
    last = lapsed_on_last_attempt(stores[0], rules)
    finds.filters.clear()

    held = at_once(PROCESSES, lambda n: stores[n].hold_lapsed(rules))
    assert sorted(len(answer) for answer in held) == [0] * (PROCESSES - 1) + [1], held
    [event] = held_events(stores[0])  # once, whichever process held it
    assert (event["reason"], event["print_job_id"]) == ("lease_expired", last["_id"])
    # read through the status index: one flat filter, never an $or
    assert finds.filters and not any(or_anywhere(query) for query in finds.filters)
    assert all(query["status"] == "leased" for query in finds.filters)

    # the operator sees why, and whose lease it was
    [listed] = stores[0].held_jobs(rules)
    assert (listed["_id"], listed["status"], listed["last_failure"], listed["station_id"]) == (
        last["_id"], "held", "lease_expired", "dinas-1")
    assert stores[0].claim(rules.station("dinas-2"), rules, 1) == []  # never handed out
    assert stores[1].hold_lapsed(rules) == []  # held already: nothing more said
    assert len(held_events(stores[0])) == 1

    # the station comes back and reports it printed under that lease: heard
    printed = stores[0].mark_printed(last["_id"], "dinas-1", last["lease_token"],
                                     pickup_rules(40))
    assert printed["status"] == "printed"
    assert stores[0].db.outbox.count_documents({"event_type": "document_printed"}) == 1
    assert stores[0].held_jobs(rules) == []


def test_a_lease_run_out_on_its_last_attempt_is_listed_held_before_the_timer_holds_it(store):
    """Outside review: listed between the lease's end and ``hold_lapsed``,
    the job showed ``status: leased`` - docs/station-api.md says ``held``
    for every job of the list, and the answer's schema allows held or
    printed only."""
    rules = station_rules(lease_seconds=0.3)
    last = lapsed_on_last_attempt(store, rules)
    [listed] = store.held_jobs(rules)
    assert store.db.print_jobs.find_one({"_id": last["_id"]})["status"] == "leased"  # not yet
    assert (listed["_id"], listed["status"], listed["last_failure"], listed["station_id"]) == (
        last["_id"], "held", "lease_expired", "dinas-1")
    assert HeldJobAnswerSchema().validate(HeldJobSchema().dump(listed)) == {}


def test_a_report_before_the_hold_leaves_nothing_to_hold(store):
    rules = station_rules(lease_seconds=0.3)
    last = lapsed_on_last_attempt(store, rules)
    failed = store.mark_failed(last["_id"], "dinas-1", last["lease_token"], "printer_fault",
                               None, rules)
    assert (failed["status"], failed["last_failure"]) == ("held", "printer_fault")
    assert store.hold_lapsed(rules) == []
    assert held_events(store) == []


def test_a_late_failed_report_on_a_job_held_so_gives_its_reason_and_says_nothing_more(store):
    rules = station_rules(lease_seconds=0.3)
    last = lapsed_on_last_attempt(store, rules)
    [held] = store.hold_lapsed(rules)
    failed = store.mark_failed(last["_id"], "dinas-1", last["lease_token"], "misprint",
                               "tinta habis di 3673041201100003", rules)
    # still held, now with the station's reason (masked note) for the operator
    assert (failed["status"], failed["last_failure"]) == ("held", "misprint")
    [listed] = store.held_jobs(rules)
    assert (listed["_id"], listed["last_failure"]) == (last["_id"], "misprint")
    assert "3673041201100003" not in listed["failure_note"]
    # the citizen was told once (print_job_held): no print_job_failed after it
    assert len(held_events(store)) == 1
    assert store.db.outbox.count_documents({"event_type": "print_job_failed"}) == 0
    # its lease ended with the failure: a later report under it is refused
    with pytest.raises(LeaseLost):
        store.mark_printed(last["_id"], "dinas-1", last["lease_token"], pickup_rules(40))


def test_a_job_held_so_is_released_and_claimed_again(store):
    rules = station_rules(lease_seconds=0.3)
    last = lapsed_on_last_attempt(store, rules)
    [held] = store.hold_lapsed(rules)
    assert held["_id"] == last["_id"]
    assert store.release_held(last["_id"], "operator-1", rules)["status"] == "queued"
    [again] = store.claim(rules.station("dinas-2"), rules, 1)
    assert (again["_id"], again["attempts"]) == (last["_id"], 1)
    # the old lease ended with the release: its late report is refused
    with pytest.raises(LeaseLost):
        store.mark_printed(last["_id"], "dinas-1", last["lease_token"], pickup_rules(40))
