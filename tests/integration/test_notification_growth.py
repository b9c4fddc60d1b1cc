"""Notification's data as it grows, against the real database server (outside
audit: a year of SMS counters made the operators' counters take seconds,
then 503):

* every SMS counter expires at the end of its hour or day (a TTL index on
  ``expires``), and the counters answer reads today's rows only: thousands
  of old phone counters are never read, while the holds of today's phone
  limits are still counted;
* the failed messages are listed newest first (then by id) a page at a
  time, through an index in that order: each failed message on exactly one
  page, also when many failed at the same moment; through the HTTP API a
  ``limit`` out of range or a made-up ``cursor`` is a 400 naming it.

Each read the store sends for a view is given to the server's ``explain``:
none may scan the collection, nor sort in memory. The local server reports a
``SORT`` for any sort on two fields under a filter (its planner counts a
sort as served only when it is one field, the index's first), so for those
the index is checked by MongoDB's rule instead (``sorted_by_an_index``).
No time is asserted.
"""

from __future__ import annotations

import datetime

import pytest
import requests
from pymongo import monitoring

from deploy.local.stack import DEV_SECRETS, free_port
from services.notification.domain import Guards, day_bucket
from services.notification.service import NotificationApi
from services.notification.store import NotificationStore
from shared.clock import utcnow
from tests.helpers import OPERATOR, service_config, store_on_a_database_of_its_own

OLD_COUNTERS = 2_000
FAILED, SENT = 2_000, 1_000


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


def sorted_by_an_index(command: dict, indexes: dict) -> bool:
    """MongoDB's rule: an index hands a find's rows out in its sort order
    (no SORT stage) when its keys are the filter's equality fields, then
    the sort's fields in order (or all of them reversed)."""
    equal = {field for field, value in command["filter"].items()
             if not isinstance(value, dict)}
    wanted = [(field, int(way)) for field, way in command["sort"].items()
              if field not in equal]
    for index in indexes.values():
        keys = [(field, int(way)) for field, way in index["key"]]
        while keys and keys[0][0] in equal:
            keys.pop(0)
        keys = [key for key in keys if key[0] not in equal][:len(wanted)]
        if keys in (wanted, [(field, -way) for field, way in wanted]):
            return True
    return False


def assert_index_served(db, command: dict) -> None:
    names = [stage["stage"] for stage in plan_of(db, command)]
    assert "COLLSCAN" not in names, (command, names)
    if "sort" in command and len(command["sort"]) > 1:
        assert sorted_by_an_index(command, db[command["find"]].index_information()), command
    else:
        assert "SORT" not in names, (command, names)


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
        assert_index_served(store.db, command)


def failed_messages(store, count: int, start: datetime.datetime, status: str = "failed",
                    together: int = 7) -> None:
    """``count`` messages of ``status``, ``together`` of them failed at each moment."""
    store.db.messages.insert_many([
        {"_id": f"{status}-{n:05d}.sms", "about": "document_ready_for_pickup",
         "kind": "ready_for_pickup", "application_id": f"app-{n:05d}",
         "tracking_code": f"SDKT{n:07d}", "channel": "sms", "address": f"+62812{n:08d}",
         "status": status, "created_at": start, "last_error": "sms gateway answered 503",
         "attempts": [], **({"failed_at": start + datetime.timedelta(seconds=n // together)}
                            if status == "failed" else {"sent_at": start})}
        for n in range(count)])


def test_failed_messages_are_paged_newest_first_each_once(store, reads):
    start = datetime.datetime(2026, 1, 5, 2, 0, tzinfo=datetime.timezone.utc)
    failed_messages(store, FAILED, start)
    failed_messages(store, SENT, start, status="sent")
    newest_first = [row["_id"] for row in store.db.messages.find(
        {"status": "failed"}, {"_id": 1}).sort([("failed_at", -1), ("_id", -1)])]

    reads.sent.clear()
    pages, after = [], None
    while True:
        page = store.failed_messages(100, after)
        if not page:
            break
        pages.append([row["_id"] for row in page])
        after = (page[-1]["failed_at"], page[-1]["_id"])
    assert [row for page in pages for row in page] == newest_first
    assert [len(page) for page in pages] == [100] * (FAILED // 100)
    assert reads.sent
    for command in reads.sent:
        assert_index_served(store.db, command)


@pytest.fixture
def api(backing, container_factory, store) -> str:
    """``NotificationApi`` in-process on the store's database: its failed list."""
    port = free_port()
    container_factory(NotificationApi, service_config(
        backing, store.db.name, WEB_SERVER_ADDRESS=f"127.0.0.1:{port}",
        WHATSAPP_APP_SECRET=DEV_SECRETS["WHATSAPP_APP_SECRET"],
        WHATSAPP_VERIFY_TOKEN=DEV_SECRETS["WHATSAPP_VERIFY_TOKEN"])).start()
    return f"http://127.0.0.1:{port}/api/v1/notifications/failed"


def test_the_failed_list_pages_through_the_api(store, api):
    start = datetime.datetime(2026, 1, 5, 2, 0, tzinfo=datetime.timezone.utc)
    failed_messages(store, 5, start, together=5)  # all at one moment
    newest_first = [f"failed-{n:05d}.sms" for n in range(4, -1, -1)]

    first = requests.get(api, headers=OPERATOR, timeout=30)
    assert first.status_code == 200
    assert [m["notification_id"] for m in first.json()["messages"]] == newest_first
    assert first.json()["next_cursor"] is None
    assert first.json()["messages"][0]["failed_at"] == "2026-01-05T02:00:00+00:00"

    seen, cursor = [], None
    while True:
        page = requests.get(api, params={"limit": 2, **({"cursor": cursor} if cursor else {})},
                            headers=OPERATOR, timeout=30).json()
        seen.append([m["notification_id"] for m in page["messages"]])
        if not (cursor := page["next_cursor"]):
            break
    assert [len(page) for page in seen] == [2, 2, 1]
    assert [m for page in seen for m in page] == newest_first

    for params, field in (({"limit": 0}, "limit"), ({"limit": 101}, "limit"),
                          ({"cursor": "not-a-cursor"}, "cursor"), ({"sort": "oldest"}, "sort")):
        refused = requests.get(api, params=params, headers={**OPERATOR, "Accept-Language": "en"},
                               timeout=30)
        assert refused.status_code == 400, params
        assert list(refused.json()["error"]["fields"]) == [field]
