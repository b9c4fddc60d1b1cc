"""Intake's work of the moment done together, against the real database
server. Citizens' lookups at once share one read (``GroupReader``), each
answered only its own application; operators' verifications at once share
reads and writes, each application moved once. Downstream events of one application
that come within a moment are recorded in one write (``ApplicationStore.record_event`` gathering them,
``shared.group_writes.Gatherings``), against the real database server: the
application reads as if they had been written one by one, a redelivery is
still recorded once, and an event out of order is still decided alone."""

from __future__ import annotations

import uuid

import pytest
from pymongo import MongoClient

from services.intake.domain import shown_timeline, status_fields
from services.intake.store import ApplicationStore
from shared.group_writes import GroupWrites
from services.intake.exceptions import ApplicationNotFound, WrongStatus
from tests.helpers import CommandCounter, NoRelay, at_once, random_nik
from tests.stored_applications import submitted

SLOT = {"place": "Disdukcapil Kota Serang", "address": "Jl. Jend. Sudirman No. 5",
        "date": "2099-01-05", "start": "09:00", "end": "10:00"}


@pytest.fixture
def database(backing):
    counter = CommandCounter()
    client = MongoClient(backing.mongo_uri, tz_aware=True, event_listeners=[counter])
    name = f"intake_gathered_{uuid.uuid4().hex[:8]}"
    yield client, client[name], counter
    client.drop_database(name)
    client.close()


def store_with(database, gather_seconds: float) -> ApplicationStore:
    client, db, _ = database
    return ApplicationStore(db, client, NoRelay(), groups=GroupWrites(db, gather_seconds))


def queued_application(db) -> str:
    application = submitted()
    application.update(status_fields("print_queued", application["_id"]))
    db.applications.insert_one(application)
    return application["_id"]


def printing_events(application_id: str) -> list[tuple[str, dict]]:
    """What a station's report leads to, in the order intake gets it."""
    def event(occurred_at: str, **fields) -> dict:
        return {"event_id": uuid.uuid4().hex, "application_id": application_id,
                "occurred_at": occurred_at, **fields}
    return [("document_printed", event("2099-01-02T03:00:00+00:00")),
            ("document_ready_for_pickup", event("2099-01-02T03:00:00.100000+00:00", slot=SLOT)),
            ("notification_sent", event("2099-01-02T03:00:01+00:00", channel="sms"))]


def record_at_once(store: ApplicationStore, events: list[tuple[str, dict]]) -> list:
    """Each event recorded by a worker of its own, the workers started together."""
    return at_once(len(events), lambda n: store.record_event(*events[n]))


def updates(counter: CommandCounter) -> int:
    return sum(name in ("update", "findAndModify") for name in counter.commands)


def recorded(db, application_id: str) -> dict:
    app = db.applications.find_one({"_id": application_id})
    return {"status": app["status"], "status_rank": app["status_rank"], "active": app["active"],
            "active_slot": app["active_slot"],
            "pickup": (app.get("pickup") or {}).get("slot"),
            "steps": [step["status"] for step in app["timeline"][1:]],
            "seen": len(app.get("seen_events", []))}


def test_events_of_the_moment_are_one_write_that_reads_as_one_by_one(database):
    _, db, counter = database
    gathered_id, alone_id = queued_application(db), queued_application(db)
    gathered_events, alone_events = printing_events(gathered_id), printing_events(alone_id)

    counter.commands.clear()
    assert record_at_once(store_with(database, 0.2), gathered_events) == [True, True, True]
    gathered_updates = updates(counter)
    counter.commands.clear()
    alone = store_with(database, 0)
    assert [alone.record_event(*event) for event in alone_events] == [True, True, True]

    assert gathered_updates == 1
    assert updates(counter) == 3
    assert recorded(db, gathered_id) == recorded(db, alone_id) == {
        **status_fields("ready_for_pickup", gathered_id), "pickup": SLOT,
        "steps": ["printed", "ready_for_pickup", "notified"], "seen": 3}


def test_a_gathered_redelivery_is_recorded_once(database):
    _, db, _ = database
    application_id = queued_application(db)
    events = printing_events(application_id)
    store = store_with(database, 0.2)
    assert record_at_once(store, events) == [True, True, True]
    before = recorded(db, application_id)

    assert record_at_once(store, events) == [False, False, False]
    assert record_at_once(store, [events[1], (events[1][0], {**events[1][1]})]) == [False, False]
    assert recorded(db, application_id) == before


def test_a_copy_published_again_is_looked_up_first_and_recorded_if_not_there(database):
    """A broker's kept events published again (shared.messaging.Republished):
    a copy recorded already is one read - gathered, each waited out the
    gathering for a write that changed nothing; one not recorded yet (the
    broker lost it before it came) is recorded as any."""
    _, db, counter = database
    application_id = queued_application(db)
    printed, ready, notified = printing_events(application_id)
    store = store_with(database, 0.2)
    assert [store.record_event(*event, handled_before=True) for event in (printed, ready)] == [
        True, True]
    before = recorded(db, application_id)

    counter.commands.clear()
    assert [store.record_event(*event, handled_before=True) for event in (printed, ready)] == [
        False, False]
    assert counter.commands == ["find", "find"]
    assert recorded(db, application_id) == before
    assert store.record_event(*notified, handled_before=True) is True
    assert recorded(db, application_id)["steps"] == ["printed", "ready_for_pickup", "notified"]


def test_an_event_out_of_order_is_decided_alone_and_the_rest_go_together(database):
    _, db, counter = database
    application_id = queued_application(db)
    printed, ready, notified = printing_events(application_id)

    counter.commands.clear()
    answers = record_at_once(store_with(database, 0.2), [ready, printed, notified])

    assert answers == [True, True, True]
    # ready + notified in one write; printed (it cannot follow ready) alone: its
    # usual write finds the status moved, then it is read and written
    assert updates(counter) == 3
    assert counter.commands.count("find") == 1
    assert recorded(db, application_id) == {
        **status_fields("ready_for_pickup", application_id), "pickup": SLOT,
        "steps": ["ready_for_pickup", "notified", "printed"], "seen": 3}


def test_lookups_of_the_moment_share_a_read_and_each_gets_only_its_own(database):
    _, db, counter = database
    applications = [submitted(nik=random_nik()) for _ in range(20)]
    db.applications.insert_many(applications)
    other_nik = random_nik()
    asked = [(app["tracking_code"], app["applicant"]["nik"], app["_id"]) for app in applications]
    asked += [(f" {applications[0]['tracking_code'].lower()} ", applications[0]["applicant"]["nik"],
               applications[0]["_id"]),                              # as a citizen may type it
              (applications[1]["tracking_code"], other_nik, None),     # someone else's code
              ("SDKNOSUCH1", applications[2]["applicant"]["nik"], None)]  # no such code
    store = store_with(database, 0)
    counter.commands.clear()

    def look_up(n):
        code, nik, _ = asked[n]
        return store.find_for_citizen(code, nik)["_id"]
    answers = at_once(len(asked), look_up)

    assert [answer if isinstance(answer, str) else type(answer) for answer in answers] == [
        expected or ApplicationNotFound for _, _, expected in asked]
    finds = counter.commands.count("find")
    assert finds < len(asked) / 4, finds


def test_verifications_of_the_moment_share_reads_and_writes_each_moved_once(database):
    _, db, counter = database
    applications = [submitted(nik=random_nik()) for _ in range(20)]
    db.applications.insert_many(applications)
    ids = [app["_id"] for app in applications] + [applications[0]["_id"]]  # two operators, one
    store = store_with(database, 0)
    counter.commands.clear()

    answers = at_once(len(ids), lambda n: store.verify(ids[n], f"operator-{n}"))

    moved = [answer["_id"] for answer in answers if isinstance(answer, dict)]
    assert sorted(moved) == sorted(app["_id"] for app in applications)
    assert [type(answer) for answer in answers if not isinstance(answer, dict)] == [WrongStatus]
    assert counter.commands.count("update") < len(ids) / 2  # at most eight to a batch
    assert counter.commands.count("find") < len(ids) / 2
    for app in db.applications.find():
        assert app["status"] == "verified"
        assert [step["status"] for step in app["timeline"]] == ["submitted", "verified"]
        assert [row["event_type"] for row in app["pending_events"]] == ["application_verified"]



@pytest.mark.parametrize("gather_seconds", [0, 0.2])
def test_a_re_queue_overtaken_by_its_reprint_s_print_leaves_the_document_printed(
        database, gather_seconds):
    """An office's document (no window) re-queued by an operator and printed
    again: the reprint's ``document_printed`` may reach intake before the
    re-queue. The re-queue, older, is then a step: the application stays
    ``printed`` (it was left ``print_queued`` for good). In order, it goes
    back to ``print_queued`` and on to ``printed`` again."""
    _, db, _ = database
    store = store_with(database, gather_seconds)

    def event(occurred_at: str) -> dict:
        return {"event_id": uuid.uuid4().hex, "application_id": application_id,
                "occurred_at": occurred_at, "requeued_by": "op"}
    for overtaken in (True, False):
        application_id = queued_application(db)
        printed, requeued, reprinted = (event(f"2099-01-02T0{hour}:00:00+00:00")
                                        for hour in (3, 4, 5))
        order = [("document_printed", printed), ("document_printed", reprinted),
                 ("print_job_requeued", requeued)] if overtaken else [
                 ("document_printed", printed), ("print_job_requeued", requeued),
                 ("document_printed", reprinted)]
        assert [store.record_event(*step) for step in order] == [True, True, True]
        assert recorded(db, application_id)["status"] == "printed"
        assert recorded(db, application_id)["steps"] == [step[0].replace(
            "print_job_requeued", "print_queued").replace("document_", "") for step in order]
        assert not store.record_event("print_job_requeued", requeued)  # a redelivery


@pytest.mark.parametrize("gather_seconds", [0, 0.2])
def test_a_re_queue_come_before_the_print_it_replaced_shows_no_ready_window(
        database, gather_seconds):
    """Outside audit D: the re-queue reached intake before the print it
    replaced and that print's window (each event type has its queue): they
    moved the application to "ready for collection" with the old window
    until the reprint's came. Against the real server, through the store's
    one-write shortcuts (gathered or alone): they stay steps."""
    _, db, _ = database
    store = store_with(database, gather_seconds)
    application_id = queued_application(db)
    printed, ready, _ = printing_events(application_id)
    requeued = {"event_id": uuid.uuid4().hex, "application_id": application_id,
                "occurred_at": "2099-01-02T04:00:00+00:00", "requeued_by": "op"}
    assert store.record_event("print_job_requeued", requeued)
    assert record_at_once(store, [printed, ready]) == [True, True]
    state = recorded(db, application_id)
    assert (state["status"], state["pickup"]) == ("print_queued", None)
    assert sorted(state["steps"]) == ["print_queued", "printed", "ready_for_pickup"]
    reprint_ready = ("document_ready_for_pickup", {
        "event_id": uuid.uuid4().hex, "application_id": application_id, "slot": SLOT,
        "occurred_at": "2099-01-02T05:00:00.100000+00:00"})
    reprinted = ("document_printed", {"event_id": uuid.uuid4().hex,
                                      "application_id": application_id,
                                      "occurred_at": "2099-01-02T05:00:00+00:00"})
    assert record_at_once(store, [reprinted, reprint_ready]) == [True, True]
    state = recorded(db, application_id)
    assert (state["status"], state["pickup"]) == ("ready_for_pickup", SLOT)


def test_a_withdrawn_reprint_reads_the_same_whichever_event_comes_first(database):
    """Printing's ``reprint_withdrawn`` (outside audit J F2) against the real
    database server: a reprint re-queued, printed after Pos took the parcel,
    then withdrawn - the withdrawal before or after the reprint's print
    reaches intake, each recorded once (a redelivery changes nothing): the
    application is ``printed`` (the print Pos carries) and the reprint's
    print step shows withdrawn."""
    def event(occurred_at: str, **fields) -> dict:
        return {"event_id": uuid.uuid4().hex, "occurred_at": occurred_at, **fields}

    store = store_with(database, 0.05)
    _, db, _ = database
    outcomes = []
    for withdrawal_first in (False, True):
        application_id = queued_application(db)  # the reprint's queue
        reprint = ("document_printed", {**event("2099-01-02T03:00:05+00:00"),
                                        "application_id": application_id})
        withdrawal = ("reprint_withdrawn", {
            **event("2099-01-02T03:00:09+00:00"), "application_id": application_id,
            "picked_up_at": "2099-01-02T03:00:00+00:00",
            "reprint_printed_at": "2099-01-02T03:00:04.900000+00:00"})
        for event_type, body in ([withdrawal, reprint] if withdrawal_first
                                 else [reprint, withdrawal]):
            assert store.record_event(event_type, body) is True
            assert store.record_event(event_type, body) is False  # a redelivery
        app = db.applications.find_one({"_id": application_id})
        outcomes.append((app["status"],
                         [(step["status"], step.get("withdrawn", False))
                          for step in shown_timeline(app, "id")][1:]))
    assert outcomes[0] == outcomes[1] == (
        "printed", [("printed", True), ("reprint_withdrawn", False)])
