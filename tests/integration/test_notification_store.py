"""Notification's messages of the moment, against the real database server:
opened together (one insert for many) and settled together (a few updates),
each message still opened once and its ``notification_sent`` handed to the
relay once. Held messages released in one batch: those a later notice
replaced or whose application is over dropped, with one read for the batch."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import replace

import pytest
from pymongo import MongoClient
from pymongo.errors import AutoReconnect

from services.notification.domain import (BookEntry, Delivery, Finished, Guards, OutgoingMessage,
                                          Senders, deliver, notice_for, parse_quiet_hours,
                                          send_due)
from services.notification.exceptions import DeliveryFailed
from services.notification import store as store_module
from services.notification.store import NotificationStore
from shared.events import build_event
from tests.helpers import CommandCounter, at_once


class HandOvers:
    """A relay that keeps what it was handed (nothing is published)."""

    instance = "in-process-test"

    def __init__(self):
        self.handed: list[tuple] = []

    def hand_over(self, rows, carrier=None):
        self.handed.append((carrier, [row["event_type"] for row in rows]))


@pytest.fixture
def counted(backing):
    name = f"notification_store_{uuid.uuid4().hex[:8]}"
    counter, relay = CommandCounter(), HandOvers()
    client = MongoClient(backing.mongo_uri, tz_aware=True, event_listeners=[counter])
    NotificationStore.ensure_indexes(client[name])
    yield NotificationStore(client[name], client, relay), counter, relay
    client.drop_database(name)
    client.close()


def message(n: int) -> OutgoingMessage:
    return OutgoingMessage(
        message_id=f"{uuid.uuid4().hex}.sms", about="document_ready_for_pickup",
        kind="ready_for_pickup", application_id=uuid.uuid4().hex,
        tracking_code=f"SDKTEST{n:04d}", channel="sms", address=f"+62812345{n:05d}",
        language="id", text="Dokumen Anda siap diambil.")


def test_messages_of_the_moment_are_opened_and_settled_together_each_once(counted):
    store, counter, relay = counted
    messages = [message(n) for n in range(20)]

    counter.commands.clear()
    assert at_once(20, lambda n: store.open_message(messages[n])) == ["pending"] * 20
    inserts = counter.commands.count("insert")
    assert inserts < 20 / 4, inserts
    assert store.open_message(messages[0]) == "in_flight"  # opened once: claimed already

    counter.commands.clear()
    assert at_once(20, lambda n: store.record_sent(messages[n], f"ref-{n}")) == [None] * 20
    updates = counter.commands.count("update")
    assert updates < 20 / 2, updates  # at most eight to a batch
    store.record_sent(messages[0], "again")  # settled already: nothing more

    assert sorted(relay.handed) == sorted(
        (("messages", each.message_id), ["notification_sent"]) for each in messages)
    assert store.db.messages.count_documents({"status": "sent", "pending_events": {"$size": 1}}) == 20
    assert store.open_message(messages[0]) == "sent"


def test_a_copy_published_again_is_answered_by_one_read_where_its_message_is_settled(counted):
    """A broker's kept events published again (shared.outbox.republish_kept)
    are mostly handled already: notification, whose claim of a settled
    message took three commands, was the consumer the others waited for
    (bench/README.md, "Publishing kept events again")."""
    store, counter, _ = counted
    sent, unseen, claimed = message(1), message(2), message(3)
    assert store.open_message(sent) == "pending"
    store.record_sent(sent, "ref-1")
    assert store.open_message(claimed) == "pending"  # being sent by this delivery

    counter.commands.clear()
    assert store.open_message(sent) == "sent"  # any copy: the claim's three commands
    assert counter.commands.count("find") == 1 and len(counter.commands) == 3, counter.commands
    counter.commands.clear()
    assert store.open_message(sent, handled_before=True) == "sent"
    assert counter.commands == ["find"]
    # the copy may be the first this consumer sees (its event lost with the
    # broker before it came), or its message not settled: claimed as any
    assert store.open_message(unseen, handled_before=True) == "pending"
    assert store.db.messages.find_one({"_id": unseen.message_id})["status"] == "pending"
    assert store.open_message(claimed, handled_before=True) == "in_flight"


def failed_for_now(store, message: OutgoingMessage) -> None:
    """The message's first attempt failed (its gateway out a moment)."""
    assert store.open_message(message) == "pending"
    store.record_failure(message.message_id, "sms gateway timed out")
    store.let_go(message.message_id)


def superseded_on_its_retry(store, delivery: Delivery, earlier: OutgoingMessage,
                            later: OutgoingMessage) -> None:
    """``earlier`` fails for now, ``later`` (replacing it) is sent, then
    ``earlier``'s retry drops it: superseded by ``later``."""
    failed_for_now(store, earlier)  # its event is retried
    assert deliver([later], delivery) == []
    assert deliver([earlier], delivery) == []  # the retry
    row = store.db.messages.find_one({"_id": earlier.message_id})
    assert (row["status"], row["dropped_because"]) == ("superseded", later.message_id)


class Gateway:
    def __init__(self):
        self.sent: list[str] = []

    def send(self, message) -> str:
        self.sent.append(message.message_id)
        return f"gw-{len(self.sent)}"


def test_a_claim_left_by_a_sending_that_raised_is_this_processs_to_take_again_at_once(counted):
    """A database stall between the claim and the send (here: counting the
    SMS against the phone's hour) fails the event; its retry seconds later
    sends the SMS - it used to find the claim its own failed attempt left
    and wait for it to run out (120 s; outside audit R2). Another process's
    claim is still left until it runs out."""
    store, _, _ = counted
    gateway = Gateway()
    delivery = Delivery(store, Senders(sms=gateway, email=gateway), Guards(), 4,
                        datetime.datetime.now(datetime.timezone.utc))
    sms, stalls = message(1), [AutoReconnect("database stalled")]
    counting = store.take_sms_allowance

    def stalling_once(*args):
        if stalls:
            raise stalls.pop()
        return counting(*args)
    store.take_sms_allowance = stalling_once

    with pytest.raises(AutoReconnect):
        deliver([sms], delivery)
    assert gateway.sent == []
    assert deliver([sms], delivery) == []  # the retry
    assert gateway.sent == [sms.message_id]
    assert store.db.messages.find_one({"_id": sms.message_id})["status"] == "sent"

    elsewhere = message(2)
    assert store.open_message(elsewhere) == "pending"
    store.let_go(elsewhere.message_id)
    store.db.messages.update_one({"_id": elsewhere.message_id},
                                 {"$set": {"claimed_by": "another-host:4242:0badc0de"}})
    assert deliver([elsewhere], delivery) == ["sms (claimed by another delivery: not tried now)"]
    assert gateway.sent == [sms.message_id]


def test_this_processs_claim_taken_again_within_its_millisecond_is_still_its_own(counted,
                                                                               monkeypatch):
    # the retry above, on a fast host, came within the millisecond of the
    # first claim: the update set what the claim held, changed nothing, and
    # the message was answered "in flight" (CI, forty-second session)
    store, _, _ = counted
    frozen = datetime.datetime.now(datetime.timezone.utc)
    monkeypatch.setattr("services.notification.store.utcnow", lambda: frozen)
    sms = message(3)
    assert store.open_message(sms) == "pending"
    store.let_go(sms.message_id)  # its sending raised
    assert store.open_message(sms) == "pending"


def test_a_receipt_retried_after_a_later_notice_went_is_dropped_not_sent(counted):
    """Outside audit S2: the "received" SMS, its first attempt refused by a
    frozen gateway, was sent on the event's retry minutes after the "ready"
    notice - "we check it within 3 working days" after "collect it". A
    receipt's retry finds the later notice on file and drops it
    (``superseded``), and so does every redelivery of its event after."""
    store, _, _ = counted
    gateway = Gateway()
    delivery = Delivery(store, Senders(sms=gateway, email=gateway), Guards(), 4,
                        datetime.datetime.now(datetime.timezone.utc))
    receipt = replace(message(1), kind="received", about="application_submitted",
                      occurred_at=SUBMITTED)
    ready = replace(message(2), application_id=receipt.application_id,
                    occurred_at=SUBMITTED + datetime.timedelta(minutes=3))
    superseded_on_its_retry(store, delivery, receipt, ready)
    assert gateway.sent == [ready.message_id]
    assert store.open_message(receipt) == "superseded"  # a redelivery: nothing in flight

    alone = replace(message(3), kind="received", about="application_submitted",
                    occurred_at=SUBMITTED)  # no later notice: its retry sends it
    failed_for_now(store, alone)  # its event is retried
    assert deliver([alone], delivery) == [] and gateway.sent[-1] == alone.message_id


def test_a_receipt_first_handled_late_after_a_later_notice_went_is_dropped_a_fresh_one_unread(
        counted):
    """Outside audit L3: notification frozen, then its backlog handled - 49
    citizens got "received, we check it in 3 working days" after "ready to
    collect" (each event type has its own queue: no order between them). A
    receipt whose event is older than ``LATE_RECEIPT`` when first handled
    looks for a later notice on file; a fresh one goes out with no read."""
    store, counter, _ = counted
    gateway = Gateway()
    now = datetime.datetime.now(datetime.timezone.utc)
    delivery = Delivery(store, Senders(sms=gateway, email=gateway), Guards(), 4, now)
    receipt = replace(message(1), kind="received", about="application_submitted",
                      occurred_at=now - datetime.timedelta(minutes=2))
    ready = replace(message(2), application_id=receipt.application_id,
                    occurred_at=now - datetime.timedelta(minutes=1))
    assert deliver([ready], delivery) == [] and gateway.sent == [ready.message_id]
    assert deliver([receipt], delivery) == []  # its first delivery, late
    assert gateway.sent == [ready.message_id]
    row = store.db.messages.find_one({"_id": receipt.message_id})
    assert (row["status"], row["dropped_because"]) == ("superseded", ready.message_id)

    fresh = replace(message(3), kind="received", about="application_submitted",
                    occurred_at=datetime.datetime.now(datetime.timezone.utc))
    counter.commands.clear()
    assert store.open_message(fresh) == "pending"
    assert "find" not in counter.commands  # a fresh receipt: no read


class Refusing:
    """A channel that fails: refused for good, or out ``for_now`` times."""

    def __init__(self, permanent: bool, for_now: int = 0):
        self.permanent, self.for_now, self.tried = permanent, for_now, 0

    def send(self, message) -> str:
        self.tried += 1
        if self.permanent or self.tried <= self.for_now:
            raise DeliveryFailed("refused" if self.permanent else f"{message.channel} timed out",
                                 permanent=self.permanent)
        return f"ok-{self.tried}"


def test_a_stand_in_that_failed_for_now_is_sent_by_its_events_retry(counted):
    """CI (forty-fifth session): WhatsApp refused a notice for good (400),
    its e-mail stand-in's SMTP was out a moment - the event came back, found
    the WhatsApp message given up and went no further: the e-mail stayed
    pending for ever and the citizen was never told. The retry sends it."""
    store, _, _ = counted
    mail, whatsapp = Refusing(permanent=False, for_now=1), Refusing(permanent=True)
    delivery = Delivery(store, Senders(sms=Gateway(), email=mail, whatsapp=whatsapp), Guards(),
                        4, datetime.datetime.now(datetime.timezone.utc))
    event_id = uuid.uuid4().hex
    chat = replace(message(5), message_id=f"{event_id}.whatsapp", channel="whatsapp",
                   fallbacks=("email",))

    def on(channel: str) -> OutgoingMessage:
        return replace(chat, message_id=f"{event_id}.{channel}", channel=channel,
                       address=f"warga.{event_id[:8]}@example.id", subject="Kode", fallbacks=())

    assert deliver([chat], delivery, fallback=on) == ["email"]  # the event comes back
    assert deliver([chat], delivery, fallback=on) == []  # its retry
    assert (whatsapp.tried, mail.tried) == (1, 2)
    rows = {row["channel"]: row for row in store.db.messages.find(
        {"_id": {"$in": [f"{event_id}.whatsapp", f"{event_id}.email"]}})}
    assert rows["whatsapp"]["status"] == "failed" and rows["email"]["status"] == "sent", rows
    assert deliver([chat], delivery, fallback=on) == []  # another copy: nothing again
    assert (whatsapp.tried, mail.tried) == (1, 2)


SUBMITTED = datetime.datetime(2026, 11, 27, 3, 0, tzinfo=datetime.timezone.utc)


def entry(application_id: str, contact: dict, minutes: int = 0,
          full_name: str | None = None) -> BookEntry:
    return BookEntry(application_id, contact, full_name,
                     SUBMITTED + datetime.timedelta(minutes=minutes))


def test_contacts_of_the_moment_are_saved_together(counted):
    store, counter, _ = counted
    contacts = {uuid.uuid4().hex: {"phone": f"+62812345{n:05d}", "email": None, "language": "id"}
                for n in range(20)}
    ids = list(contacts)
    store.save_contact(entry(ids[0], {"phone": "+6281200000000", "email": None, "language": "en"}))

    counter.commands.clear()
    at_once(20, lambda n: store.save_contact(entry(ids[n], contacts[ids[n]], minutes=1)))

    assert counter.commands.count("update") < 20 / 2  # at most eight to a batch
    assert {application_id: store.contact_for(application_id) for application_id in ids} == contacts


def test_the_book_keeps_the_newest_contact_whatever_order_the_events_come_in(counted):
    """A resubmission's corrected contact replaces the submission's; the
    submission handled late (a redelivery: each event has its own queue)
    changes nothing, nor does the resubmission delivered again; a second
    resubmission handled before the first keeps its contact."""
    store, _, _ = counted
    old = {"phone": "+6281200000002", "email": None, "language": "id"}
    new = {"phone": "+6281200000003", "email": "new@example.id", "language": "en"}
    newest = {**new, "phone": "+6281200000004"}
    first, second = uuid.uuid4().hex, uuid.uuid4().hex

    store.save_contact(entry(first, old, 0, "Siti Aminah"))
    store.save_contact(entry(first, new, 10, "Siti Aminah Putri"))
    assert store.contact_for(first) == {**new, "full_name": "Siti Aminah Putri"}
    store.save_contact(entry(first, old, 0, "Siti Aminah"))  # late
    store.save_contact(entry(first, new, 10, "Siti Aminah Putri"))  # again
    assert store.contact_for(first) == {**new, "full_name": "Siti Aminah Putri"}

    store.save_contact(entry(second, newest, 20))
    store.save_contact(entry(second, new, 10))
    store.save_contact(entry(second, old, 0))
    assert store.contact_for(second) == newest  # no name known: the contact alone
    assert store.contact_for(uuid.uuid4().hex) is None


def test_a_book_row_from_before_entries_had_a_time_is_replaced(counted):
    store, _, _ = counted
    application_id = uuid.uuid4().hex
    store.db.contacts.insert_one({"_id": application_id, "contact": {"phone": "+6281200000002"}})
    assert store.contact_for(application_id) == {"phone": "+6281200000002"}
    new = {"phone": "+6281200000003", "email": None, "language": "en"}
    store.save_contact(entry(application_id, new, 10, "Siti Aminah"))
    assert store.contact_for(application_id) == {**new, "full_name": "Siti Aminah"}



def test_a_release_batch_drops_what_no_longer_applies_with_one_read_for_the_batch(counted):
    """Held pickup SMS of 12 applications fall due together: per application
    three windows (the last one newer), or, for every third application, the
    document collected since. One aggregate reads what the batch needs."""
    store, counter, relay = counted
    start = datetime.datetime(2026, 11, 30, 14, 0, tzinfo=datetime.timezone.utc)
    now = start + datetime.timedelta(hours=1)
    expected = {}
    for n in range(12):
        application_id = uuid.uuid4().hex
        windows = [replace(message(n), application_id=application_id, kind=kind,
                           about="pickup_rescheduled" if kind == "pickup_moved"
                           else "document_ready_for_pickup",
                           occurred_at=start + datetime.timedelta(minutes=minute))
                   for minute, kind in ((1, "ready"), (5, "pickup_moved"), (9, "pickup_moved"))]
        for window in windows:
            assert store.open_message(window) == "pending"
            store.hold(window.message_id, "phone_limit", now)
        if n % 3 == 0:
            store.note_finished(Finished(application_id, "document_collected",
                                         start + datetime.timedelta(minutes=20)))
            expected.update({w.message_id: ("withdrawn", "document_collected") for w in windows})
        else:
            expected.update({w.message_id: ("superseded", windows[-1].message_id)
                             for w in windows[:-1]})
            expected[windows[-1].message_id] = ("pending", None)
    # a booking's held SMS, filed under its appointment: nothing later of it, sent
    booking = replace(message(99), about="recording_appointment_booked", kind="appointment",
                      occurred_at=start)
    store.open_message(booking)
    store.hold(booking.message_id, "phone_limit", now)
    expected[booking.message_id] = ("pending", None)

    counter.commands.clear()
    claimed = store.claim_due(now, limit=100)
    assert counter.commands.count("aggregate") == 1
    assert counter.commands.count("find") == 1  # the due messages
    assert sorted(m.message_id for m in claimed) == sorted(
        id_ for id_, (status, _) in expected.items() if status == "pending")
    rows = {row["_id"]: (row["status"], row.get("dropped_because"))
            for row in store.db.messages.find({"_id": {"$in": list(expected)}})}
    assert rows == expected
    # the operators' log shows why
    latest = next(m for m in claimed if m.kind == "pickup_moved")
    log = store.delivery_log(latest.application_id)
    assert [(row["status"], row.get("dropped_because")) for row in log] == [
        ("superseded", latest.message_id)] * 2 + [("pending", None)]
    assert all(row["dropped_at"] == now for row in log[:2])
    assert store.claim_due(now) == []  # nothing held is left


def test_an_officers_notice_is_settled_without_an_event_about_an_application(counted):
    """``notification_sent`` names an application (docs/events.md): a kelurahan
    officer's list (filed under its manifest) is logged sent, and emits none."""
    store, _, relay = counted
    notice = replace(message(1), about="batch_ready_for_kelurahan", kind="batch_ready",
                     application_id="JB-3673041010-20260101-ABCDEF", tracking_code="",
                     channel="email", address="lurah.sukajaya@example.id")
    store.open_message(notice)
    store.record_sent(notice, "ref-1")
    row = store.db.messages.find_one({"_id": notice.message_id})
    assert row["status"] == "sent" and not row.get("pending_events")
    assert relay.handed == []


def test_a_sweepers_claim_left_unsettled_is_claimed_again_once_it_runs_out(counted):
    """A review (forty-fifth session): the sweeper claimed held messages
    (pending) and its sending raised - a database stall counting the SMS,
    its process killed - and they stayed pending for good: their events
    were handled long ago, and the sweeper took held ones only."""
    store, _, _ = counted
    now = datetime.datetime.now(datetime.timezone.utc)
    sms = replace(message(7), kind="appointment", about="recording_appointment_booked",
                  occurred_at=now)
    store.open_message(sms)
    store.hold(sms.message_id, "quiet_hours", now)
    [claimed] = store.claim_due(now)
    store.let_go(claimed.message_id)  # the sending raised, or the process died
    assert store.claim_due(now) == []  # its claim still runs: nobody else's
    later = now + store_module.CLAIM + datetime.timedelta(seconds=1)
    assert [m.message_id for m in store.claim_due(later)] == [sms.message_id]
    store.let_go(sms.message_id)
    # an event's own pending message (no due time: its event is retried) is not the sweeper's
    fresh = message(8)
    assert store.open_message(fresh) == "pending"
    store.let_go(fresh.message_id)
    assert [m.message_id for m in store.claim_due(later + store_module.CLAIM)] == [sms.message_id]


def test_a_pickup_window_retried_after_a_later_one_went_is_dropped_not_sent(counted):
    """A review (forty-fifth session): the "ready" SMS, its gateway out, was
    retried after the citizen moved the window and the "moved" SMS went -
    the last SMS named the old day. A retry (and a window first handled
    late) is dropped once a later window is on file, or the document was
    collected; the latest window is sent."""
    store, _, _ = counted
    gateway = Gateway()
    now = datetime.datetime.now(datetime.timezone.utc)
    delivery = Delivery(store, Senders(sms=gateway, email=gateway), Guards(), 4, now)
    ready = replace(message(9), kind="ready", occurred_at=now - datetime.timedelta(minutes=20))
    moved = replace(message(10), application_id=ready.application_id, kind="pickup_moved",
                    about="pickup_rescheduled", occurred_at=now - datetime.timedelta(minutes=5))
    superseded_on_its_retry(store, delivery, ready, moved)
    assert gateway.sent == [moved.message_id]
    # first handled late (its queue behind the move's): dropped too
    late = replace(ready, message_id=f"{uuid.uuid4().hex}.sms")
    assert deliver([late], delivery) == [] and gateway.sent == [moved.message_id]
    # retried after the document was collected: withdrawn
    other = replace(message(11), kind="ready", occurred_at=now - datetime.timedelta(minutes=3))
    failed_for_now(store, other)  # its event is retried
    store.note_finished(Finished(other.application_id, "document_collected", now))
    assert deliver([other], delivery) == [] and gateway.sent == [moved.message_id]
    assert store.db.messages.find_one({"_id": other.message_id})["status"] == "withdrawn"
    # a window retried with nothing later on file is sent
    alone = replace(message(12), kind="ready", occurred_at=now - datetime.timedelta(minutes=3))
    failed_for_now(store, alone)  # its event is retried
    assert deliver([alone], delivery) == [] and gateway.sent[-1] == alone.message_id


def test_an_sms_held_overnight_that_fails_at_six_hands_its_notice_to_the_e_mail(counted):
    """A review (forty-fifth session): an SMS held for the quiet hours kept
    no notice (only a WhatsApp message did): failing when the sweeper sent
    it, it was given up and the e-mail the citizen gave never went."""
    store, _, _ = counted
    event = build_event("parcel_dispatched", application_id=uuid.uuid4().hex,
                        tracking_code="SDKTEST0013", document_type="ktp_el",
                        shipment_id="shp-1", barcode="P123")
    contact = {"phone": "+6281234500013", "email": "warga.13@example.id", "language": "id",
               "preferred_channel": None}
    notice = notice_for("parcel_dispatched", event, contact)
    [sms] = notice.messages()  # routine: the SMS; the e-mail takes over if it fails
    quiet = Guards(*parse_quiet_hours("21:00-06:00"))
    at_22 = datetime.datetime(2026, 11, 29, 15, 0, tzinfo=datetime.timezone.utc)
    down, mail = Refusing(permanent=False, for_now=100), Gateway()
    assert deliver([sms], Delivery(store, Senders(sms=down, email=mail), quiet, 2, at_22),
                   notice.message) == []
    assert store.db.messages.find_one({"_id": sms.message_id})["status"] == "held"
    six = datetime.datetime(2026, 11, 29, 23, 0, tzinfo=datetime.timezone.utc)
    for minute in range(2):  # the sweeper's tries: the SMS gateway still down
        now = six + datetime.timedelta(minutes=minute)
        sweeper = Delivery(store, Senders(sms=down, email=mail), quiet, 2, now)
        assert send_due(store.claim_due(now), sweeper) == 0
    assert store.db.messages.find_one({"_id": sms.message_id})["status"] == "failed"
    now = six + datetime.timedelta(minutes=2)
    assert send_due(store.claim_due(now), Delivery(store, Senders(sms=down, email=mail), quiet,
                                                   2, now)) == 1
    assert mail.sent == [f"{notice.event_id}.email"]
