"""The broker channel and intake's own events not yet out: where HTTP
answers a new application 503 while more than ``OUTBOX_BACKLOG_LIMIT`` of
them are past their hand-over (``shared.pipeline.OutboxWatch``), the
channel's container runs the same watch and holds its requests - unanswered,
unstored, still the broker's - until the count is back under the limit
(docs/channel-api.md said only the pipeline's backlog held them)."""

from __future__ import annotations

import uuid

import pytest
from prometheus_client import REGISTRY

from clients.channel import ChannelClient, ReplyTimeout
from services.intake.channel import IntakeChannel
from shared.mongo import StoreWithOutbox
from shared.outbox import outbox_row
from tests.helpers import eventually, service_config, valid_body
from tests.integration.test_delivery_pattern import verified_event


def test_a_channel_request_waits_while_intakes_own_events_are_overdue(
        backing, container_factory, mongo):
    database = f"intake_channel_outbox_{uuid.uuid4().hex[:6]}"
    config = service_config(backing, database, PIPELINE_QUEUES="", OUTBOX_BACKLOG_LIMIT=2,
                            PIPELINE_POLL_SECONDS=0.2)
    container = container_factory(IntakeChannel, config)
    container.start()
    # its relay stops: the rows below are not published, as when every
    # hand-over fails and the sweep cannot keep up
    [store] = [provider for provider in container.dependencies
               if isinstance(provider, StoreWithOutbox)]
    store.relay.stop()
    db = mongo[database]
    db.outbox.insert_many([outbox_row("application_verified", verified_event())
                           for _ in range(3)])
    eventually(lambda: REGISTRY.get_sample_value("smartdukcapil_outbox_overdue", {
        "service": "intake", "container": "intake_channel"}) == 3.0,
        what="the channel's watch saw 3 overdue")
    client = ChannelClient(backing.amqp_uri.replace("pyamqp://", "amqp://"), "web")
    try:
        body = valid_body()
        request_id = client.publish(body)
        with pytest.raises(ReplyTimeout):
            client.wait(request_id, timeout=3)
        assert db.applications.count_documents({}) == 0

        db.outbox.delete_many({})  # the sweep took them
        reply = client.wait(request_id, timeout=30)
        assert reply.status == 202, reply.body
        assert db.applications.count_documents(
            {"applicant.nik": body["applicant"]["nik"]}) == 1
    finally:
        client.close()
