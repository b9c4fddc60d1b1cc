"""Notification's data as it grows, against the real database server (outside
audit: a year of SMS counters made the operators' counters take seconds,
then 503):

* every SMS counter expires at the end of its hour or day (a TTL index on
  ``expires``), and the counters answer reads today's rows only: thousands
  of old phone counters are never read, while the holds of today's phone
  limits are still counted.

Each read the store sends for a view is given to the server's ``explain``:
none may scan the collection or sort in memory. No time is asserted.
"""

from __future__ import annotations

import datetime

import pytest
from pymongo import monitoring

from services.notification.domain import Guards, day_bucket
from services.notification.store import NotificationStore
from shared.clock import utcnow
from tests.helpers import store_on_a_database_of_its_own

OLD_COUNTERS = 5_000


class Reads(monitoring.CommandListener):
    """The reads a client sent (``find``, ``aggregate``), as ``explain`` takes them."""

    PARTS = {"find": ("filter", "sort", "projection", "limit", "hint"),
             "aggregate": ("pipeline", "hint")}

    def __init__(self):
        self.sent: list[dict] = []

    def started(self, event):
        if event.command_name in self.PARTS:
            command = {event.command_name: event.command[event.command_name]}
            command.update({part: event.command[part] for part in self.PARTS[event.command_name]
                            if part in event.command})
            if event.command_name == "aggregate":
                command["cursor"] = {}
            self.sent.append(command)

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


def stages(plan: dict) -> list[dict]:
    """Every stage of a plan, outermost first."""
    found, waiting = [], [plan]
    while waiting:
        stage = waiting.pop()
        found.append(stage)
        waiting.extend(stage.get("inputStages", []))
        if "inputStage" in stage:
            waiting.append(stage["inputStage"])
    return found


def plan_of(db, command: dict) -> list[dict]:
    explained = db.command("explain", command, verbosity="queryPlanner")
    planner = explained.get("queryPlanner") or explained["stages"][0]["$cursor"]["queryPlanner"]
    return stages(planner["winningPlan"])


@pytest.fixture
def reads():
    return Reads()


@pytest.fixture
def store(backing, reads):
    for store in store_on_a_database_of_its_own(backing, NotificationStore,
                                                "notification_growth", reads):
        NotificationStore.ensure_indexes(store.db)
        yield store


def test_sms_counters_expire_at_the_end_of_their_hour_or_day(store):
    indexes = store.db.sms_counters.index_information()
    expiring = [index for index in indexes.values() if index["key"] == [("expires", 1)]]
    assert [index.get("expireAfterSeconds") for index in expiring] == [0], indexes


def test_the_counters_read_todays_rows_and_no_old_phone_counter(store, reads):
    now = utcnow()  # today's counters: they expire tonight, not while the test reads
    long_ago = now - datetime.timedelta(days=400)  # and on, an hour each: to 192 days ago
    store.db.sms_counters.insert_many([
        {"_id": f"phone:+62812{n:08d}:{(long_ago + datetime.timedelta(hours=n)).isoformat()[:13]}",
         "sent": 5, "held": 2, "expires": long_ago + datetime.timedelta(hours=n + 1)}
        for n in range(OLD_COUNTERS)])
    guards = Guards(per_phone_per_hour=1, daily_budget=100)
    answers = [store.take_sms_allowance("+6281200000301", now, guards) for _ in range(3)]
    assert [answer and answer[0] for answer in answers] == [None, "phone_limit", "phone_limit"]
    assert store.take_sms_allowance("+6281200000302", now, guards) is None

    reads.sent.clear()
    assert store.counters(now) == {"day": day_bucket(now)[0], "sms_sent": 2,
                                   "held_by_daily_budget": 0, "held_by_phone_limit": 2,
                                   "held_now": {}}
    assert reads.sent
    for command in reads.sent:
        names = [stage["stage"] for stage in plan_of(store.db, command)]
        assert "COLLSCAN" not in names and "SORT" not in names, (command, names)
