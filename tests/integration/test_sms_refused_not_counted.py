"""Only SMS the gateway accepted count against the phone's hourly limit and
the day's budget (outside audit: two 503s from the gateway counted, and the
citizen's third tracking code of the hour was held ``phone_limit`` with only
three SMS delivered).

* through the real broker, database server and SMS sandbox: a phone allowed
  3 SMS an hour gets 3 SMS although the gateway refused two attempts first;
* the store alone: a refused attempt gives its allowance back on both
  counters; taking one still costs one round trip (the accepted path adds
  none); a failure after a hold gives nothing back.
"""

from __future__ import annotations

from services.notification.domain import Guards
from tests.helpers import eventually
from tests.integration import test_sms_allowance
from tests.integration.test_notification_delivery import (citizen, ready, sms_faults, sms_to,
                                                           start_notification)
from tests.integration.test_sms_allowance import NOW, counters

counted = test_sms_allowance.counted  # the store on its own database, counting commands


def test_refused_attempts_do_not_use_up_the_phones_hour(backing, container_factory, mongo):
    database = start_notification(backing, container_factory, SMS_PER_PHONE_PER_HOUR=3,
                                  SMS_DAILY_BUDGET=100, RETRY_DELAYS="1,1,1,1")
    busy = citizen(email=False)
    # this citizen's sends only: the suite's vhost may still hold other
    # tests' events, whose SMS took the two refusals (a CI flake)
    sms_faults(backing, fail_next=2, status=503, only_to=busy["phone"].lstrip("+"))
    try:
        for n in range(1, 4):
            ready(backing, busy)
            eventually(lambda: len(sms_to(backing, busy["phone"])) == n, timeout=60,
                       what=f"SMS {n} at the gateway")
    finally:
        sms_faults(backing)
    # the gateway has the third; its row says so a moment later (the citizen's
    # rows only: the suite's vhost may still hold other tests' events, which
    # this container takes too)
    rows = eventually(lambda: (rows := list(mongo[database].messages.find(
        {"address": busy["phone"]}, {"status": 1, "attempts": 1})))
        and all(row["status"] == "sent" for row in rows) and rows, what="every SMS recorded sent")
    assert len(rows) == 3
    assert sum(not attempt["ok"] for row in rows for attempt in row["attempts"]) == 2
    [phone] = mongo[database].sms_counters.find({"_id": {"$regex": f"^phone:\\{busy['phone']}:"}})
    assert (phone["sent"], phone["held"]) == (3, 0)


def test_a_refused_attempt_gives_its_allowance_back_an_accepted_one_keeps_it(counted):
    store, counter = counted
    guards = Guards(per_phone_per_hour=2, daily_budget=100)
    phone = "+6281200000101"
    store.db.messages.insert_many([{"_id": name, "channel": "sms", "address": phone,
                                    "attempts": []} for name in ("m1", "m2")])
    assert store.take_sms_allowance(phone, NOW, guards) is None
    assert store.record_failure("m1", "503") == 1
    assert counters(store, phone) == ({"sent": 0, "held": 0}, {"sent": 0, "held": 0})
    for _ in range(2):  # taken, as for a send the gateway accepts: one round trip each
        before = len(counter.commands)
        assert store.take_sms_allowance(phone, NOW, guards) is None
        assert counter.commands[before:] == ["update"]
    assert counters(store, phone) == ({"sent": 2, "held": 0}, {"sent": 2, "held": 0})
    assert store.take_sms_allowance(phone, NOW, guards)[0] == "phone_limit"
    # a failure after a hold gives nothing back (nothing was taken)
    assert store.record_failure("m2", "503") == 1
    assert counters(store, phone) == ({"sent": 2, "held": 1}, {"sent": 2, "held": 0})
