"""What WhatsApp's status callbacks write, against the real database server:
a message found by the Cloud API's id (through its index) or by our own;
``delivered`` / ``read`` kept at their earliest; a failure recorded once,
with its ``notification_failed`` carried by the message, and never after the
message reached the phone; a stand-in made once, keeping the notice it
renders, so the sweeper can send it - and hand it on in turn."""

from __future__ import annotations

import datetime
import uuid

import pytest
from pymongo import MongoClient

from services.notification.callbacks import Callback, StatusUpdate, settle_callback
from services.notification.domain import FALLBACK, notice_for
from services.notification.exceptions import NotYetRecorded
from services.notification.store import NotificationStore
from shared.clock import utcnow
from shared.events import build_event
from shared.outbox import PENDING
from tests.integration.test_notification_store import HandOvers

SLOT = {"place": "Kantor Kecamatan Curug", "address": "Jl. Raya Curug No. 1, Kota Serang",
        "date": "2026-12-01", "start": "09:00", "end": "10:00"}


@pytest.fixture
def store(backing):
    name = f"notification_callbacks_{uuid.uuid4().hex[:8]}"
    client = MongoClient(backing.mongo_uri, tz_aware=True)
    NotificationStore.ensure_indexes(client[name])
    store = NotificationStore(client[name], client, HandOvers())
    yield store
    client.drop_database(name)
    client.close()


def whatsapp_notice(event_type: str = "document_ready_for_pickup"):
    contact = {"phone": "+6281234567890", "email": f"w.{uuid.uuid4().hex[:8]}@example.id",
               "language": "id", "preferred_channel": "whatsapp"}
    fields = dict(print_job_id="job-1", full_name="Siti", slot=SLOT) \
        if event_type == "document_ready_for_pickup" else {"channel": "web"}
    event = build_event(event_type, application_id=uuid.uuid4().hex,
                        tracking_code="SDK" + uuid.uuid4().hex[:8].upper(),
                        document_type="ktp_el", contact=contact, **fields)
    return notice_for(event_type, event, contact)


def sent(store, notice, wamid: str):
    message = notice.message("whatsapp")
    assert store.open_message(message) == "pending"
    store.record_sent(message, wamid)
    return message


def status(message, what: str, wamid: str, at: datetime.datetime | None = None) -> StatusUpdate:
    return StatusUpdate(wamid, what, at or utcnow(), message.message_id,
                        "whatsapp 131026: Message undeliverable" if what == "failed" else None)


def row(store, message_id: str) -> dict:
    return store.db.messages.find_one({"_id": message_id})


def test_a_failure_reported_twice_fails_the_message_once_and_makes_one_stand_in(store):
    notice = whatsapp_notice()
    wamid = f"wamid.{uuid.uuid4().hex}"
    message = sent(store, notice, wamid)
    kept = store.whatsapp_message(wamid, None).message.notice  # kept, read back
    assert (kept.texts, kept.contact, kept.first, kept.given, kept.event_id) == \
        (notice.texts, notice.contact, notice.first, notice.given, notice.event_id)
    callback = Callback((status(message, "failed", wamid),))
    settle_callback(callback, store, utcnow())
    settle_callback(callback, store, utcnow())

    failed = row(store, message.message_id)
    assert (failed["status"], failed["last_error"]) == ("failed", "whatsapp 131026: Message undeliverable")
    assert [e["event_type"] for e in failed[PENDING]] == ["notification_sent", "notification_failed"]
    assert failed[PENDING][1]["payload"]["channel"] == "whatsapp"
    [stand_in] = store.db.messages.find({"_id": {"$ne": message.message_id}})
    assert (stand_in["_id"], stand_in["channel"], stand_in["status"], stand_in["held_reason"]) == \
        (f"{notice.event_id}.sms", "sms", "held", FALLBACK)
    assert stand_in["fallback_for"] == message.message_id
    assert stand_in["address"] == "+6281234567890" and stand_in["content"]["text"] == notice.texts.sms
    # the sweeper takes it now, as the message it renders
    [due] = store.claim_due(utcnow())
    assert (due.message_id, due.text, due.takes_over) == (stand_in["_id"], notice.texts.sms,
                                                         message.message_id)
    log = {m["_id"]: m for m in store.delivery_log(notice.application_id)}
    assert log[stand_in["_id"]]["fallback_for"] == message.message_id
    assert "notice" not in log[message.message_id]  # never the texts or the contact


def test_delivered_and_read_keep_the_earliest_time_and_block_a_later_failure(store):
    notice = whatsapp_notice()
    wamid = f"wamid.{uuid.uuid4().hex}"
    message = sent(store, notice, wamid)
    # the Cloud API's times are whole seconds: the next one, after the send
    first = utcnow().replace(microsecond=0) + datetime.timedelta(seconds=1)
    later = first + datetime.timedelta(minutes=2)
    settle_callback(Callback((status(message, "read", wamid, later),
                              status(message, "delivered", wamid, first),
                              status(message, "delivered", wamid, later))), store, utcnow())
    settle_callback(Callback((status(message, "failed", wamid),)), store, utcnow())
    reached = row(store, message.message_id)
    assert (reached["delivered_at"], reached["read_at"], reached["status"]) == (first, later, "sent")
    assert store.db.messages.count_documents({}) == 1  # no stand-in
    assert [e["event_type"] for e in reached[PENDING]] == ["notification_sent"]


def test_a_callback_dated_before_the_send_is_recorded_at_the_send(store):
    """Outside audit T4: a callback's time was taken as given - a ``delivered``
    dated days before the message was sent showed so in the delivery log."""
    notice = whatsapp_notice()
    wamid = f"wamid.{uuid.uuid4().hex}"
    message = sent(store, notice, wamid)
    sent_at = row(store, message.message_id)["sent_at"]
    settle_callback(Callback((status(message, "read", wamid,
                                     sent_at - datetime.timedelta(days=4)),)), store, utcnow())
    reached = row(store, message.message_id)
    assert (reached["delivered_at"], reached["read_at"]) == (sent_at, sent_at)


def test_a_failure_before_the_send_is_recorded_is_taken_when_delivered_again(store):
    """The callback overtook our record of the Cloud API's reply: 503 (Meta
    delivers it again), then, once the send is recorded, taken."""
    notice = whatsapp_notice()
    message = notice.message("whatsapp")
    assert store.open_message(message) == "pending"  # being sent
    wamid = f"wamid.{uuid.uuid4().hex}"
    callback = Callback((status(message, "failed", wamid),))
    with pytest.raises(NotYetRecorded):
        settle_callback(callback, store, utcnow())
    assert row(store, message.message_id)["status"] == "pending"
    store.record_sent(message, wamid)
    settle_callback(callback, store, utcnow())
    assert row(store, message.message_id)["status"] == "failed"
    assert row(store, f"{notice.event_id}.sms")["status"] == "held"


def test_a_message_found_by_our_reference_when_the_cloud_api_id_is_unknown(store):
    notice = whatsapp_notice("application_submitted")
    message = notice.message("whatsapp")
    store.open_message(message)
    assert store.whatsapp_message("wamid.unknown", message.message_id).status == "pending"
    assert store.whatsapp_message("wamid.unknown", None) is None
    assert store.whatsapp_message("wamid.unknown", "no-such.whatsapp") is None
    plan = store.db.messages.find({"provider_ref": "wamid.unknown"}).explain()
    assert plan["queryPlanner"]["winningPlan"]["inputStage"]["indexName"] == "provider_ref_1"
