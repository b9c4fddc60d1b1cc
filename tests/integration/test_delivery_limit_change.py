"""A handler queue declared under one ``DELIVERY_LIMIT`` and the service
started with another: RabbitMQ refuses to change a queue's arguments
(PRECONDITION_FAILED), which ended every service in ~470 lines of 10
tracebacks naming no setting (outside audit P3). The declaration says what
to do in one line naming the setting."""

from __future__ import annotations

import uuid

import pytest
from kombu import Connection
from nameko.events import get_event_exchange

from shared.messaging import consumer_queue, declare_consumer
from shared.settings import InvalidSetting


def test_a_changed_delivery_limit_is_refused_in_one_line_naming_it(backing):
    name = f"evt-test-limit-{uuid.uuid4().hex[:8]}--probe.on_it"
    exchange = get_event_exchange("limit_probe", {})
    with Connection(backing.amqp_uri) as connection:
        declare_consumer(connection, consumer_queue(name, exchange, "it_happened", 5))
        declare_consumer(connection, consumer_queue(name, exchange, "it_happened", 5))  # same: fine
        try:
            with pytest.raises(InvalidSetting) as refused:
                declare_consumer(connection, consumer_queue(name, exchange, "it_happened", 7))
            assert str(refused.value).startswith(
                f"refusing to start: DELIVERY_LIMIT: queue {name} exists with other arguments")
        finally:
            with connection.channel() as channel:
                channel.queue_delete(name)
                channel.queue_delete(f"{name}.dlq")
