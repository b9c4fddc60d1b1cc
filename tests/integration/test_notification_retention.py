"""How long notification keeps personal data, against the real database
server (outside audit: messages - the address and the whole text -, the
contact book and the applications' ends were kept for ever):

* a message is kept ``RETENTION_DAYS`` from when it became final (sent,
  failed, superseded, withdrawn), a contact from its last update, an
  application's end from when it happened: TTL indexes, made by the
  service's store at start from its setting, changed when the setting is;
* only a final message carries the date it expires from: one pending,
  held or waiting for a retry never does, nor leaves before it is final;
* messages final before retention came are given that date once, from when
  they were sent, failed or dropped.
"""

from __future__ import annotations

import datetime

import pytest
import requests

from deploy.local.stack import DEV_SECRETS, free_port
from services.notification.callbacks import Callback, settle_callback
from services.notification.domain import Finished
from services.notification.service import NotificationApi
from services.notification.store import NotificationStore
from shared.clock import utcnow
from tests.helpers import service_config, store_on_a_database_of_its_own
from tests.integration.test_notification_store import message
from tests.integration.test_whatsapp_callback_store import sent, status, whatsapp_notice

DAY = 24 * 3600


@pytest.fixture
def store(backing):
    for store in store_on_a_database_of_its_own(backing, NotificationStore,
                                                "notification_retention"):
        NotificationStore.ensure_indexes(store.db)
        yield store


def kept_for(db) -> dict[str, tuple]:
    """collection -> (the field its TTL index counts from, seconds)."""
    kept = {}
    for name in ("messages", "contacts", "finished"):
        for index in db[name].index_information().values():
            if "expireAfterSeconds" in index:
                kept[name] = (index["key"], index["expireAfterSeconds"])
    return kept


def test_personal_data_is_kept_retention_days_and_a_new_setting_changes_it(store):
    NotificationStore.keep_for(store.db, datetime.timedelta(days=365))
    assert kept_for(store.db) == {"messages": ([("final_at", 1)], 365 * DAY),
                                  "contacts": ([("updated_at", 1)], 365 * DAY),
                                  "finished": ([("occurred_at", 1)], 365 * DAY)}
    NotificationStore.keep_for(store.db, datetime.timedelta(days=400))  # a later start
    assert {name: seconds for name, (_, seconds) in kept_for(store.db).items()} == dict.fromkeys(
        ("messages", "contacts", "finished"), 400 * DAY)


def test_only_a_final_message_has_the_date_it_expires_from(store):
    def final_at(one) -> datetime.datetime | None:
        return store.db.messages.find_one({"_id": one.message_id}).get("final_at")

    now = utcnow()
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # as stored: milliseconds
    going, failing, held, later = (message(n) for n in range(4))
    for one in (going, failing, held, later):
        assert store.open_message(one) == "pending"
    assert final_at(going) is None  # being sent
    store.record_sent(going, "ref-1")
    assert final_at(going) >= now

    assert store.record_failure(failing.message_id, "503") == 1  # waits for the retry
    assert final_at(failing) is None
    store.give_up(failing, "503")
    assert final_at(failing) >= now

    store.hold(held.message_id, "quiet_hours", now)
    store.hold(later.message_id, "quiet_hours", now + datetime.timedelta(days=1))
    assert final_at(held) is None and final_at(later) is None
    store.note_finished(Finished(held.application_id, "document_collected",
                                 now + datetime.timedelta(seconds=1)))
    store.db.messages.update_one({"_id": held.message_id}, {"$set": {"occurred_at": now}})
    assert store.claim_due(now) == []  # withdrawn: its application is over
    assert final_at(held) >= now and final_at(later) is None  # the other still waits

    notice = whatsapp_notice()
    whatsapp = sent(store, notice, "wamid.retention")
    first = final_at(whatsapp)
    settle_callback(Callback((status(whatsapp, "failed", "wamid.retention"),)), store, utcnow())
    assert store.db.messages.find_one({"_id": whatsapp.message_id})["status"] == "failed"
    assert final_at(whatsapp) >= first  # failed after it was sent: kept from then
    stand_in = store.db.messages.find_one({"fallback_for": whatsapp.message_id})
    assert stand_in["status"] == "held" and "final_at" not in stand_in


def test_messages_final_before_retention_came_expire_from_their_end(store):
    at = datetime.datetime(2026, 3, 2, 1, 0, tzinfo=datetime.timezone.utc)
    store.db.messages.insert_many([
        {"_id": "sent.sms", "status": "sent", "sent_at": at},
        {"_id": "failed.sms", "status": "failed", "failed_at": at},
        {"_id": "superseded.sms", "status": "superseded", "dropped_at": at},
        {"_id": "withdrawn.sms", "status": "withdrawn", "dropped_at": at},
        {"_id": "held.sms", "status": "held", "due_at": at},
        {"_id": "pending.sms", "status": "pending", "claimed_until": None}])
    NotificationStore.keep_for(store.db, datetime.timedelta(days=365))
    assert {row["_id"]: row.get("final_at") for row in store.db.messages.find()} == {
        "sent.sms": at, "failed.sms": at, "superseded.sms": at, "withdrawn.sms": at,
        "held.sms": None, "pending.sms": None}


def test_the_service_keeps_what_its_setting_says(backing, container_factory, store):
    port = free_port()
    container_factory(NotificationApi, service_config(
        backing, store.db.name, WEB_SERVER_ADDRESS=f"127.0.0.1:{port}", RETENTION_DAYS="90",
        WHATSAPP_APP_SECRET=DEV_SECRETS["WHATSAPP_APP_SECRET"],
        WHATSAPP_VERIFY_TOKEN=DEV_SECRETS["WHATSAPP_VERIFY_TOKEN"])).start()
    assert requests.get(f"http://127.0.0.1:{port}/health", timeout=30).status_code == 200
    assert {name: seconds for name, (_, seconds) in kept_for(store.db).items()} == dict.fromkeys(
        ("messages", "contacts", "finished"), 90 * DAY)
