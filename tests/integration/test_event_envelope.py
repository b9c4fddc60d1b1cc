"""The audit's cases through the real broker, database and sandboxes: an
event whose envelope this consumer cannot read - ``schema_version`` 99 or
"1", a blank event id, an ``occurred_at`` that is no date-time - lands in
the handler's DLQ and nothing is sent; the log names the field, never the
phone. (Notification sent the "siap diambil" SMS for a v99 event; of two
events with the blank id the second was dropped as a duplicate, silently.)"""

from __future__ import annotations

import logging
import uuid

from deploy import dlq
from shared.events import build_event
from shared.messaging import handler_queue_name
from tests.helpers import eventually, publish
from tests.integration.test_notification_delivery import (READY_QUEUE, SLOT, citizen, mails_to,
                                                          sms_to, start_notification)

SUBMITTED_QUEUE = handler_queue_name("intake", "application_submitted", "notification",
                                     "on_application_submitted")
BAD_ENVELOPES = [("schema_version", 99), ("schema_version", "1"), ("event_id", ""),
                 ("occurred_at", "not a date")]


def ref() -> dict:
    return {"application_id": uuid.uuid4().hex, "document_type": "ktp_el",
            "tracking_code": "SDK" + uuid.uuid4().hex[:8].upper()}


def in_dlq(backing, queue: str) -> int:
    return len(dlq.peek(backing.amqp_uri, queue, limit=100))


def test_an_event_this_consumer_cannot_read_is_dead_lettered_and_sends_nothing(
        backing, container_factory, caplog):
    start_notification(backing, container_factory)
    caplog.set_level(logging.INFO)
    ready_before, submitted_before = in_dlq(backing, READY_QUEUE), in_dlq(backing, SUBMITTED_QUEUE)

    unread = []
    for field, value in BAD_ENVELOPES:
        contact = citizen()
        event = build_event("document_ready_for_pickup", **ref(), print_job_id="job-1",
                            full_name="Siti", contact=contact, slot=SLOT)
        publish(backing.amqp_uri, "printing.events", "document_ready_for_pickup",
                {**event, field: value})
        unread.append(contact)
    for _ in range(2):  # two events with the same blank id: neither is taken
        contact = citizen(email=False)
        event = build_event("application_submitted", **ref(), channel="web", contact=contact)
        publish(backing.amqp_uri, "intake.events", "application_submitted",
                {**event, "event_id": ""})
        unread.append(contact)
    # a good one after them is sent as ever
    read = citizen(email=False)
    publish(backing.amqp_uri, "intake.events", "application_submitted",
            build_event("application_submitted", **ref(), channel="web", contact=read))

    eventually(lambda: in_dlq(backing, READY_QUEUE) == ready_before + len(BAD_ENVELOPES),
               what="every unreadable ready event in the DLQ")
    eventually(lambda: in_dlq(backing, SUBMITTED_QUEUE) == submitted_before + 2,
               what="both blank-id events in the DLQ")
    eventually(lambda: sms_to(backing, read["phone"]), what="the good event's SMS")
    for contact in unread:
        assert sms_to(backing, contact["phone"]) == []
        assert contact["email"] is None or mails_to(backing, contact["email"]) == []

    logged = [record.getMessage() for record in caplog.records
              if "dead-lettering" in record.getMessage()]
    for field, _ in BAD_ENVELOPES:
        assert any(READY_QUEUE in line and f"ValidationError: {field}" in line
                   for line in logged), (field, logged)
    assert sum(SUBMITTED_QUEUE in line and "ValidationError: event_id" in line
               for line in logged) == 2, logged
    for contact in unread:
        assert contact["phone"] not in caplog.text and contact["phone"][3:] not in caplog.text
