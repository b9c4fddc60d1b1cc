"""Group commit (``shared.group_writes``) against the real database server:
concurrent writers share round trips, each gets its own answer."""

from __future__ import annotations

import threading
import uuid

import pytest
from pymongo import InsertOne, MongoClient, UpdateOne, WriteConcern, monitoring
from pymongo.errors import DuplicateKeyError, OperationFailure, WTimeoutError

from shared.group_writes import (MOST_UPDATES_PER_BATCH, GroupReader, GroupWriter, Outcome, Waiter,
                                 settle)
from shared.store import UNAVAILABLE, duplicate_key
from tests.helpers import CommandCounter, at_once


@pytest.fixture
def letters(backing):
    counter = CommandCounter()
    client = MongoClient(backing.mongo_uri, tz_aware=True, event_listeners=[counter])
    database = f"group_{uuid.uuid4().hex[:6]}"
    collection = client[database].letters
    collection.create_index("number", unique=True)
    counter.commands.clear()
    yield collection, counter
    client.drop_database(database)
    client.close()


def test_concurrent_inserts_share_round_trips_and_each_gets_its_own_error(letters):
    collection, counter = letters
    collection.insert_one({"_id": "taken", "number": 7})
    counter.commands.clear()
    writer = GroupWriter(collection)

    answers = at_once(40, lambda n: writer.write(InsertOne({"_id": f"letter-{n}", "number": n})))

    refused = [n for n, answer in enumerate(answers) if isinstance(answer, DuplicateKeyError)]
    assert refused == [7]  # number 7 was taken: that writer alone is refused
    assert duplicate_key(answers[7]) == {"number": 7}
    assert "op" not in answers[7].details  # not the document: errors may be logged
    assert all(answer == Outcome(modified=True, certain=True)
               for n, answer in enumerate(answers) if n != 7)
    inserts = counter.commands.count("insert")
    assert 1 < inserts < 40, inserts  # together, in a few batches
    assert counter.commands == ["insert"] * inserts
    assert collection.count_documents({}) == 40


def test_a_batch_says_modified_only_when_every_update_of_it_modified(letters):
    collection, _ = letters
    collection.insert_many([{"_id": n, "number": n, "seen": []} for n in range(3)])

    def batch(*operations):
        waiters = [Waiter(operation) for operation in operations]
        settle(collection, waiters)
        return [waiter.outcome for waiter in waiters]

    seen = lambda n, tag: UpdateOne({"_id": n, "seen": {"$ne": tag}},  # noqa: E731
                                    {"$push": {"seen": tag}})
    assert batch(seen(0, "a"), seen(1, "a")) == [Outcome(True, True)] * 2
    # one guard fails (1 saw "a"): neither knows which it was
    assert batch(seen(0, "b"), seen(1, "a")) == [Outcome(False, False)] * 2
    # none modified: each knows it was not
    assert batch(seen(0, "a"), seen(1, "a")) == [Outcome(False, True)] * 2
    assert [row["seen"] for row in collection.find(sort=[("_id", 1)])] == [["a", "b"], ["a"], []]


def test_a_write_not_as_durable_as_asked_is_no_writers_to_answer_done(letters):
    """A review (forty-fifth session): a batch whose write concern failed
    (no majority in time, a step-down: the server may roll it back) was
    read for its write errors only - every insert answered done, a 202
    before the application was durable. Each writer gets "retry later"
    (``shared.store.UNAVAILABLE``); one refused on its own still gets its
    own error. (Two copies asked of a one-member set: refused at once.)"""
    collection, _ = letters
    collection.insert_one({"_id": "taken", "number": 7})
    unsure = collection.with_options(write_concern=WriteConcern(w=2, wtimeout=200))
    waiters = [Waiter(InsertOne({"_id": "new", "number": 1})),
               Waiter(InsertOne({"_id": "again", "number": 7})),
               Waiter(UpdateOne({"_id": "taken"}, {"$set": {"seen": True}}))]
    settle(unsure, waiters)
    assert [type(waiter.error) for waiter in waiters] == [
        WTimeoutError, DuplicateKeyError, WTimeoutError]
    assert all(isinstance(waiter.error, UNAVAILABLE) for waiter in (waiters[0], waiters[2]))
    assert [waiter.outcome for waiter in waiters] == [None] * 3

def test_the_lead_passes_on_and_every_writer_is_answered(letters):
    """More writers than one batch takes: the lead goes to the first writer
    left waiting, batch after batch, until all are written."""
    collection, counter = letters
    writer = GroupWriter(collection, most=4)

    answers = at_once(30, lambda n: writer.write(InsertOne({"_id": n, "number": n})))

    assert answers == [Outcome(True, True)] * 30
    assert sorted(row["_id"] for row in collection.find()) == list(range(30))
    assert counter.commands.count("insert") >= 30 / 4


def test_a_batch_holds_at_most_eight_updates_and_inserts_still_go_together(backing):
    """The local server holds the collection through a whole command and
    writes each update in a transaction of its own: a batch takes at most
    ``MOST_UPDATES_PER_BATCH`` updates (a long one stalled every other write
    of the collection); inserts, one transaction per batch, still go many
    together."""
    sizes = StatementsPerCommand()
    client = MongoClient(backing.mongo_uri, tz_aware=True, event_listeners=[sizes])
    database = f"group_{uuid.uuid4().hex[:6]}"
    collection = client[database].letters
    try:
        collection.insert_many([{"_id": n, "seen": []} for n in range(40)])
        writer = GroupWriter(collection)
        sizes.clear()
        answers = at_once(40, lambda n: writer.write(
            InsertOne({"_id": f"new-{n}"}) if n % 2 else
            UpdateOne({"_id": n}, {"$push": {"seen": "a"}})))
        assert answers == [Outcome(True, True)] * 40
        assert collection.count_documents({"seen": "a"}) == 20
        assert collection.count_documents({"_id": {"$regex": "^new-"}}) == 20
        assert sizes.updates and max(sizes.updates) <= MOST_UPDATES_PER_BATCH
        assert sum(sizes.updates) == 20 and sum(sizes.inserts) == 20
        assert len(sizes.inserts) < 20  # inserts shared commands
    finally:
        client.drop_database(database)
        client.close()


def test_an_insert_does_not_wait_for_the_updates_in_flight(letters):
    """A submit's insert goes in a lane of its own: while a batch of updates
    (the steps of events) is still being written, it is written and
    answered (before, it waited for that batch and went out with the next)."""
    collection, _ = letters
    collection.insert_one({"_id": "held", "number": 1, "seen": []})
    updating, release = threading.Event(), threading.Event()

    class UpdatesHeld:  # the collection, its updates slow as under load
        def __getattr__(self, name):
            return getattr(collection, name)

        def bulk_write(self, operations, **options):
            if any(isinstance(operation, UpdateOne) for operation in operations):
                updating.set()
                release.wait(30)
            return collection.bulk_write(operations, **options)

    writer = GroupWriter(UpdatesHeld())
    updated: list = []
    update = threading.Thread(target=lambda: updated.append(writer.write(
        UpdateOne({"_id": "held"}, {"$push": {"seen": "a"}}))))
    update.start()
    assert updating.wait(10)
    inserted: list = []
    insert = threading.Thread(target=lambda: inserted.append(writer.write(
        InsertOne({"_id": "submitted", "number": 2}))))
    insert.start()
    insert.join(timeout=10)
    answered_while_held = not insert.is_alive()
    release.set()
    update.join(timeout=30)
    insert.join(timeout=30)
    assert answered_while_held
    assert inserted == updated == [Outcome(True, True)]
    assert collection.find_one({"_id": "held"})["seen"] == ["a"]
    assert collection.count_documents({}) == 2


class StatementsPerCommand(monitoring.CommandListener):
    """The statements of each insert and update command sent."""

    def __init__(self):
        self.inserts: list[int] = []
        self.updates: list[int] = []

    def clear(self) -> None:
        self.inserts.clear()
        self.updates.clear()

    def started(self, event) -> None:
        if event.command_name == "insert":
            self.inserts.append(len(event.command["documents"]))
        elif event.command_name == "update":
            self.updates.append(len(event.command["updates"]))

    def succeeded(self, event) -> None:
        pass

    def failed(self, event) -> None:
        pass


def test_concurrent_reads_by_a_field_share_a_find_and_each_gets_its_documents(letters):
    collection, counter = letters
    collection.insert_many([{"_id": f"letter-{n}", "number": n} for n in range(40)])
    counter.commands.clear()
    reader = GroupReader(collection, "number", most=16)
    wanted = [*range(40), 99, 5]  # a value no document has; a value asked twice

    answers = at_once(len(wanted), lambda n: reader.find(wanted[n]))

    assert [[document["_id"] for document in answer] for answer in answers] == [
        [f"letter-{value}"] if value < 40 else [] for value in wanted]
    finds = counter.commands.count("find")
    assert 1 < finds < len(wanted) / 4, finds  # together, in a few batches of at most 16
    assert counter.commands == ["find"] * finds


def test_a_failed_group_read_fails_every_reader_of_it(letters):
    collection, _ = letters
    reader = GroupReader(collection, "$bad")  # the server refuses a $-prefixed field

    answers = at_once(10, lambda n: reader.find(n))

    assert all(isinstance(answer, OperationFailure) for answer in answers), answers

