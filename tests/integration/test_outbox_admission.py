"""Intake's admission sees its own events that have not left: while more
than ``OUTBOX_BACKLOG_LIMIT`` outbox rows and applications hold events past
their hand-over (the relay's hand-over failed, the sweep has not drained
them), a new application gets 503 + Retry-After - the broker queues behind
intake may be empty meanwhile - and status lookups are still answered
(shared/pipeline.py ``OutboxWatch``); ``smartdukcapil_outbox_overdue``
shows what it read."""

from __future__ import annotations

import datetime
import uuid

import requests
from prometheus_client import REGISTRY

from services.intake.service import IntakeApi
from shared.clock import utcnow
from shared.mongo import StoreWithOutbox
from shared.outbox import DUE, overdue, outbox_row
from tests.helpers import eventually, service_config, valid_body
from tests.integration.test_delivery_pattern import verified_event


def started_without_relay(backing, container_factory, service_class, outbox_limit: int
                          ) -> tuple[str, dict]:
    """``service_class`` on a database of its own, watching its outbox
    (``OUTBOX_BACKLOG_LIMIT`` ``outbox_limit``, no pipeline queues), started,
    then its relay stopped: what it is handed is not published, as when every
    hand-over fails and the sweep cannot keep up. (Its database, its config.)"""
    database = f"intake_outbox_{uuid.uuid4().hex[:6]}"
    config = service_config(backing, database, PIPELINE_QUEUES="",
                            OUTBOX_BACKLOG_LIMIT=outbox_limit, PIPELINE_POLL_SECONDS=0.2)
    container = container_factory(service_class, config)
    container.start()
    [store] = [provider for provider in container.dependencies
               if isinstance(provider, StoreWithOutbox)]
    store.relay.stop()
    return database, config


def overdue_shown() -> float | None:
    """What intake's ``smartdukcapil_outbox_overdue`` gauge shows."""
    return REGISTRY.get_sample_value("smartdukcapil_outbox_overdue",
                                     {"service": "intake", "container": "intake_api"})


def test_new_applications_are_refused_while_intakes_own_events_wait_past_their_hand_over(
        backing, container_factory, mongo):
    database, config = started_without_relay(backing, container_factory, IntakeApi, 5)
    db, base = mongo[database], f"http://{config['WEB_SERVER_ADDRESS']}/api/v1/applications"
    earlier = [valid_body() for _ in range(3)]
    accepted = [requests.post(base, json=body, timeout=30) for body in earlier]
    assert [answer.status_code for answer in accepted] == [202] * 3, accepted[-1].text
    past = utcnow() - datetime.timedelta(seconds=1)
    db.applications.update_many({}, {"$set": {DUE: past}})  # their hand-overs were lost
    db.outbox.insert_many([outbox_row("application_verified", verified_event())
                           for _ in range(3)])  # rows nobody handed over
    assert overdue(db, ("applications",)) == 6

    # a body that is not an application: 400 while admitted, 503 once refused
    eventually(lambda: requests.post(base, json={}, timeout=30).status_code == 503,
               what="new applications refused")
    # an operator sees why (/metrics), as the admission read it
    assert overdue_shown() == 6.0
    body = valid_body()
    shed = requests.post(base, json=body, timeout=30, headers={"Idempotency-Key": "outbox-1"})
    assert shed.status_code == 503, shed.text
    assert shed.headers["Retry-After"] == "2"
    assert shed.json()["error"]["code"] == "unavailable"
    assert db.applications.count_documents({"applicant.nik": body["applicant"]["nik"]}) == 0
    lookup = requests.post(f"{base}/status", timeout=30, json={
        "tracking_code": accepted[0].json()["tracking_code"],
        "nik": earlier[0]["applicant"]["nik"]})
    assert lookup.status_code == 200, lookup.text

    db.outbox.delete_many({})  # the sweep took the rows: 3 left, under the limit
    eventually(lambda: requests.post(base, json={}, timeout=30).status_code == 400,
               what="new applications admitted again")
    assert overdue_shown() == 3.0
    retried = requests.post(base, json=body, timeout=30, headers={"Idempotency-Key": "outbox-1"})
    assert retried.status_code == 202, retried.text
