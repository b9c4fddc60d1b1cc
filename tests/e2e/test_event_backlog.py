"""An event backlog does not take the citizens' HTTP workers.

Intake runs its HTTP API and its event handlers as two containers, each with
its own worker pool and prefetch. Here 2,500 ``notification_sent`` events for
50 citizens' applications arrive at once in the queue of intake's events
container (as after an outage); while they drain, the citizens look up their
status: 50 lookups spread over the drain (each once a further share
of the backlog has been taken), each a 200. The queue still holds events
after the last lookup, so every lookup met a backlog that was draining.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pika
import requests

from deploy.dlq import connect
from shared.events import build_event
from shared.messaging import handler_queue_name
from tests.helpers import valid_body, eventually

BACKLOG = 2_500
APPLICATIONS = 50
LOOKUPS = 50
PUBLISHERS = 10
QUEUE = handler_queue_name("notification", "notification_sent", "intake", "on_notification_sent")


def publish_events(amqp_uri: str, applications: list[dict], numbers: range) -> None:
    """Events ``numbers``, round the applications, on one channel with
    publisher confirms."""
    connection = connect(amqp_uri)
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        properties = pika.BasicProperties(content_type="application/json", delivery_mode=2)
        for number in numbers:
            application = applications[number % len(applications)]
            event = build_event("notification_sent", application_id=application["application_id"],
                                tracking_code=application["tracking_code"],
                                notification_id=f"backlog-{number}", channel="sms",
                                about="document_ready_for_pickup")
            channel.basic_publish("notification.events", "notification_sent",
                                  json.dumps(event).encode(), properties, mandatory=True)
    finally:
        connection.close()


def publish_backlog(amqp_uri: str, applications: list[dict]) -> None:
    """``BACKLOG`` events from ``PUBLISHERS`` publishers at once (a confirm
    waits for the queue's disk write; in parallel those writes are shared)."""
    with ThreadPoolExecutor(PUBLISHERS) as pool:
        for future in [pool.submit(publish_events, amqp_uri, applications,
                                   range(first, BACKLOG, PUBLISHERS))
                       for first in range(PUBLISHERS)]:
            future.result()


def waiting_in_queue(amqp_uri: str) -> int:
    """Messages in the handler queue not yet delivered to intake."""
    connection = connect(amqp_uri)
    try:
        return connection.channel().queue_declare(QUEUE, passive=True).method.message_count
    finally:
        connection.close()


def submit(intake: str) -> tuple[dict, dict]:
    """A new application: (its 202 answer, the citizen's status lookup body)."""
    body = valid_body()
    submitted = requests.post(f"{intake}/api/v1/applications", json=body, timeout=10)
    assert submitted.status_code == 202, submitted.text
    return submitted.json(), {"tracking_code": submitted.json()["tracking_code"],
                              "nik": body["applicant"]["nik"]}


def test_status_lookups_are_answered_while_a_backlog_drains(system):
    intake, amqp_uri = system.url("intake"), system.amqp_uri
    citizens = [submit(intake) for _ in range(APPLICATIONS)]
    publish_backlog(amqp_uri, [application for application, _ in citizens])

    started = time.monotonic()
    backlog = waiting_in_queue(amqp_uri)
    step = backlog // (LOOKUPS + 10)  # a sixth of it left after the last
    statuses = []
    for number in range(LOOKUPS):
        # the next lookup once another ``step`` events have been taken
        eventually(lambda: waiting_in_queue(amqp_uri) <= backlog - number * step,
                   timeout=300, interval=0.05, what=f"{number * step} events taken")
        _, lookup = citizens[number % APPLICATIONS]
        statuses.append(requests.post(f"{intake}/api/v1/applications/status", json=lookup,
                                      timeout=10).status_code)
    left = waiting_in_queue(amqp_uri)
    print(f"\n{LOOKUPS} lookups while {QUEUE} went from {backlog} to {left} waiting "
          f"in {time.monotonic() - started:.0f}s")

    assert statuses == [200] * LOOKUPS
    assert left > 0, "the backlog was gone before the lookups ended"
    # leave no backlog to the tests that follow
    eventually(lambda: waiting_in_queue(amqp_uri) == 0, timeout=300, interval=0.5,
               what="backlog drained")
