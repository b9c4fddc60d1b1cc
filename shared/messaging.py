"""The consuming half of the delivery pattern: reliable event handlers.

``reliable_event_handler`` is nameko's ``event_handler`` with three changes:

* its queue is a quorum queue with ``x-delivery-limit``: a handler that raises
  returns the message to the broker (``requeue_on_error=True``), and after the
  limit the broker moves it to the handler's own dead-letter queue
  (``<queue>.dlq``) where an operator can inspect and replay it. Messages
  behind a failing one keep flowing (prefetch > 1, workers in parallel).
* a payload that can never succeed (``PermanentFailure``, or a marshmallow
  ``ValidationError``: it fails its schema) is dead-lettered at once instead
  of being retried.
* it is acked only after the handler returned, i.e. after its work is durable
  (nameko acks in ``handle_result``).

Idempotency on the event id is the store's job (``BaseStore.consume_once``):
the broker delivers at least once.
"""

from __future__ import annotations

import logging

from kombu import Connection, Exchange, Queue
from marshmallow import ValidationError
from nameko.events import EventHandler

log = logging.getLogger(__name__)

DEAD_LETTER_EXCHANGE = "smartdukcapil.dlx"
DEFAULT_DELIVERY_LIMIT = 5


def delivery_limit(config: dict) -> int:
    """Redeliveries before the broker dead-letters a message: the service's
    ``DELIVERY_LIMIT``. Read here only, by the handlers and by the topology
    command, so the two always declare a queue alike."""
    return int(config.get("DELIVERY_LIMIT", DEFAULT_DELIVERY_LIMIT))


class PermanentFailure(Exception):
    """Retrying cannot help (bad payload): dead-letter the message now."""


def handler_queue_name(source_service: str, event_type: str, service: str, method: str) -> str:
    # nameko's SERVICE_POOL naming, kept so tools that know nameko still read it
    return f"evt-{source_service}-{event_type}--{service}.{method}"


def consumer_queue(name: str, exchange: Exchange, routing_key: str, delivery_limit: int) -> Queue:
    return Queue(
        name,
        exchange=exchange,
        routing_key=routing_key,
        durable=True,
        auto_delete=False,
        exclusive=False,
        queue_arguments={
            "x-queue-type": "quorum",
            "x-delivery-limit": delivery_limit,
            "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
            "x-dead-letter-routing-key": name,
        },
    )


def dead_letter_queue(name: str) -> Queue:
    return Queue(
        f"{name}.dlq",
        exchange=Exchange(DEAD_LETTER_EXCHANGE, type="direct", durable=True),
        routing_key=name,
        durable=True,
        auto_delete=False,
        queue_arguments={"x-queue-type": "quorum"},
    )


def declare_consumer(connection: Connection, queue: Queue) -> None:
    """Declare a consumer queue, its dead-letter queue and their bindings."""
    with connection.channel() as channel:
        queue.exchange.declare(channel=channel)
        dead_letter_queue(queue.name)(channel).declare()
        queue(channel).declare()


class ReliableEventHandler(EventHandler):
    def __init__(self, source_service: str, event_type: str, **kwargs):
        kwargs["requeue_on_error"] = True
        super().__init__(source_service, event_type, **kwargs)

    def setup(self):
        super().setup()
        self.queue = consumer_queue(
            handler_queue_name(self.source_service, self.event_type,
                               self.container.service_name, self.method_name),
            self.queue.exchange, self.event_type, delivery_limit(self.container.config))
        with Connection(self.container.config["AMQP_URI"]) as connection:
            declare_consumer(connection, self.queue)

    def handle_message_processed(self, message, result=None, exc_info=None):
        if exc_info is not None and issubclass(exc_info[0], (PermanentFailure, ValidationError)):
            log.error("dead-lettering message on %s: %s", self.queue.name, exc_info[1])
            message.reject(requeue=False)
            return
        super().handle_message_processed(message, result, exc_info)


reliable_event_handler = ReliableEventHandler.decorator
