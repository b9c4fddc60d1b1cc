"""The broker channel and intake's own events not yet out: where HTTP
answers a new application 503 while more than ``OUTBOX_BACKLOG_LIMIT`` of
them are past their hand-over (``shared.pipeline.OutboxWatch``), the
channel's container runs the same watch and holds its requests - unanswered,
unstored, still the broker's - until the count is back under the limit
(docs/channel-api.md said only the pipeline's backlog held them)."""

from __future__ import annotations

from prometheus_client import REGISTRY

from services.intake.channel import IntakeChannel
from shared.outbox import outbox_row
from tests.helpers import eventually
from tests.integration.test_admission_budgets import held_until
from tests.integration.test_delivery_pattern import verified_event
from tests.integration.test_outbox_admission import started_without_relay


def test_a_channel_request_waits_while_intakes_own_events_are_overdue(
        backing, container_factory, mongo):
    database, _ = started_without_relay(backing, container_factory, IntakeChannel, 2)
    db = mongo[database]
    db.outbox.insert_many([outbox_row("application_verified", verified_event())
                           for _ in range(3)])
    eventually(lambda: REGISTRY.get_sample_value("smartdukcapil_outbox_overdue", {
        "service": "intake", "container": "intake_channel"}) == 3.0,
        what="the channel's watch saw 3 overdue")
    held_until(backing, db, lambda: db.outbox.delete_many({}))  # the sweep took them
