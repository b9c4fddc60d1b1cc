"""Notification's messages of the moment, against the real database server:
opened together (one insert for many) and settled together (a few updates),
each message still opened once and its ``notification_sent`` handed to the
relay once."""

from __future__ import annotations

import uuid

import pytest
from pymongo import MongoClient

from services.notification.domain import OutgoingMessage
from services.notification.store import NotificationStore
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


def test_contacts_of_the_moment_are_saved_together(counted):
    store, counter, _ = counted
    contacts = {uuid.uuid4().hex: {"phone": f"+62812345{n:05d}", "email": None, "language": "id"}
                for n in range(20)}
    ids = list(contacts)
    store.save_contact(ids[0], {"phone": "+6281200000000", "email": None, "language": "en"})

    counter.commands.clear()
    at_once(20, lambda n: store.save_contact(ids[n], contacts[ids[n]]))

    assert counter.commands.count("update") < 20 / 2  # at most eight to a batch
    assert {application_id: store.contact_for(application_id) for application_id in ids} == contacts

