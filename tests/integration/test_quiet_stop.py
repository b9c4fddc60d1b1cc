"""A clean stop warns of nothing (outside audits P3, R1): every stop of
intake logged "outbox backlog of intake_api unknown (InvalidOperation: Cannot
use MongoClient after close): admitting meanwhile" and "pipeline backlog of
intake_channel unknown (RecoverableConnectionError: connection already
closed)" - the watches read once more after their client or connection was
closed by the stop."""

from __future__ import annotations

import logging

import eventlet

from services.intake.channel import IntakeChannel
from services.intake.service import IntakeApi
from tests.helpers import service_config


def test_stopping_intake_logs_no_unknown_backlog(backing, container_factory, caplog):
    config = service_config(backing, "intake_quiet_stop", PIPELINE_POLL_SECONDS="0.05",
                            OUTBOX_BACKLOG_LIMIT=500,
                            PIPELINE_QUEUES="evt-intake-application_submitted--"
                                            "notification.on_application_submitted")
    containers = [container_factory(cls, config) for cls in (IntakeApi, IntakeChannel)]
    for container in containers:
        container.start()
    eventlet.sleep(0.5)  # the watches read, again and again
    caplog.set_level(logging.INFO)
    caplog.clear()
    for container in containers:
        container.stop()
    eventlet.sleep(0.3)
    unknown = [record.getMessage() for record in caplog.records if "unknown" in record.getMessage()]
    assert unknown == []
