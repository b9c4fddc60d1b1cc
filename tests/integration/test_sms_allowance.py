"""The SMS allowance against the real database server (``NotificationStore``
in-process): the phone's hourly limit, then the day's budget.

* below both limits an SMS costs one round trip (both counters in one
  ordered bulk), and is counted on both;
* a phone over its limit holds the SMS and counts nothing on the day;
* a full day holds the SMS and gives the phone's count back;
* a zero limit holds every SMS and counts the holds;
* many first uses at once (a new hour, a new day) count exactly up to the
  limits: the losers of the counters' first insert count on the winner's row.
"""

from __future__ import annotations

import datetime
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from pymongo import MongoClient

from services.notification.domain import Guards, day_bucket, hour_bucket
from services.notification.store import NotificationStore
from shared.clock import utcnow
from tests.helpers import CommandCounter, NoRelay

# a day to come: the counters expire at the end of their hour or day (a TTL
# index), and the server's sweep must not take them while a test counts
NOW = datetime.datetime(utcnow().year + 1, 11, 30, 3, 0, tzinfo=datetime.timezone.utc)


@pytest.fixture
def counted(backing):
    name = f"notification_allowance_{uuid.uuid4().hex[:8]}"
    counter = CommandCounter()
    client = MongoClient(backing.mongo_uri, tz_aware=True, event_listeners=[counter],
                         maxPoolSize=32)
    NotificationStore.ensure_indexes(client[name])
    yield NotificationStore(client[name], client, NoRelay()), counter
    client.drop_database(name)
    client.close()


def counters(store: NotificationStore, phone: str) -> tuple[dict, dict]:
    hour, _ = hour_bucket(NOW)
    day, _ = day_bucket(NOW)
    read = store.db.sms_counters.find_one
    return (read({"_id": f"phone:{phone}:{hour}"}, {"_id": 0, "sent": 1, "held": 1}) or {},
            read({"_id": f"day:{day}"}, {"_id": 0, "sent": 1, "held": 1}) or {})


def test_below_the_limits_an_sms_is_counted_on_both_in_one_round_trip(counted):
    store, counter = counted
    guards = Guards(per_phone_per_hour=5, daily_budget=100)
    for n in range(3):
        before = len(counter.commands)
        assert store.take_sms_allowance("+6281200000001", NOW, guards) is None
        assert counter.commands[before:] == ["update"], n
    assert counters(store, "+6281200000001") == ({"sent": 3, "held": 0}, {"sent": 3, "held": 0})


def test_a_phone_over_its_limit_is_held_and_the_day_is_not_counted(counted):
    store, _ = counted
    guards = Guards(per_phone_per_hour=2, daily_budget=100)
    answers = [store.take_sms_allowance("+6281200000002", NOW, guards) for _ in range(4)]
    assert answers[:2] == [None, None]
    assert [reason for reason, _ in answers[2:]] == ["phone_limit", "phone_limit"]
    assert answers[2][1] == hour_bucket(NOW)[1]  # held until the hour ends
    assert counters(store, "+6281200000002") == ({"sent": 2, "held": 2}, {"sent": 2, "held": 0})
    assert store.take_sms_allowance("+6281200000003", NOW, guards) is None  # others go on


def test_a_full_day_holds_the_sms_and_gives_the_phones_count_back(counted):
    store, _ = counted
    guards = Guards(per_phone_per_hour=5, daily_budget=2)
    assert store.take_sms_allowance("+6281200000004", NOW, guards) is None
    assert store.take_sms_allowance("+6281200000005", NOW, guards) is None
    reason, until = store.take_sms_allowance("+6281200000006", NOW, guards)
    assert (reason, until) == ("daily_budget", day_bucket(NOW)[1])
    assert counters(store, "+6281200000006") == ({"sent": 0, "held": 0}, {"sent": 2, "held": 1})
    assert counters(store, "+6281200000004")[0] == {"sent": 1, "held": 0}


@pytest.mark.parametrize("guards, reason", [
    (Guards(per_phone_per_hour=0, daily_budget=10), "phone_limit"),
    (Guards(per_phone_per_hour=5, daily_budget=0), "daily_budget")])
def test_a_zero_limit_holds_every_sms_and_counts_the_holds(counted, guards, reason):
    store, _ = counted
    assert [store.take_sms_allowance("+6281200000007", NOW, guards)[0]
            for _ in range(2)] == [reason, reason]
    phone, day = counters(store, "+6281200000007")
    assert (phone.get("sent", 0), day.get("sent", 0)) == (0, 0)
    assert (phone if reason == "phone_limit" else day)["held"] == 2


def test_first_uses_at_once_count_exactly_up_to_the_limits(counted):
    store, _ = counted
    guards = Guards(per_phone_per_hour=3, daily_budget=10)
    phones = [f"+62812000001{n:02d}" for n in range(8)] * 3  # 8 numbers, 3 SMS each
    with ThreadPoolExecutor(24) as pool:
        answers = list(pool.map(lambda phone: store.take_sms_allowance(phone, NOW, guards),
                                phones))
    assert sum(answer is None for answer in answers) == 10
    assert {answer[0] for answer in answers if answer is not None} == {"daily_budget"}
    sent = [counters(store, phone)[0].get("sent", 0) for phone in phones[:8]]
    assert sum(sent) == 10 and max(sent) <= 3
    assert counters(store, phones[0])[1] == {"sent": 10, "held": 14}

    fresh = Guards(per_phone_per_hour=3, daily_budget=1000)
    phone = "+6281200000200"
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda _: store.take_sms_allowance(phone, NOW, fresh),
                                range(16)))
    assert sum(answer is None for answer in answers) == 3
    assert counters(store, phone)[0] == {"sent": 3, "held": 13}
