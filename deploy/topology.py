"""Declare the whole broker topology up front.

nameko publishes with ``mandatory=False``: an event published before its
consumer's queue exists is dropped. So every exchange, consumer queue and
dead-letter queue is declared at deploy/start-up, before any service runs,
from the services' own ``reliable_event_handler`` declarations (one source of
truth: add a handler and the next deploy declares its queue).

    python -m deploy.topology [--amqp-uri URI]      # declare and list
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import os

from kombu import Connection
from nameko.events import get_event_exchange
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR

from shared.events import EVENTS
from shared.messaging import (DEFAULT_DELIVERY_LIMIT, ReliableEventHandler, consumer_queue,
                              declare_consumer, handler_queue_name)

SERVICE_CLASSES = (
    "services.intake.service:IntakeService",
    "services.printing.service:PrintingService",
    "services.notification.service:NotificationService",
    "services.courier.service:CourierService",
)


def load_service(path: str):
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def subscriptions(service_cls) -> list[tuple[str, str, str, str]]:
    """(source service, event type, consuming service, method) of each handler."""
    found = []
    for method_name, method in inspect.getmembers(service_cls, inspect.isfunction):
        for entrypoint in getattr(method, ENTRYPOINT_EXTENSIONS_ATTR, ()):
            if isinstance(entrypoint, ReliableEventHandler):
                found.append((entrypoint.source_service, entrypoint.event_type,
                              service_cls.name, method_name))
    return found


def declare_all(amqp_uri: str, delivery_limit: int = DEFAULT_DELIVERY_LIMIT,
                service_classes=SERVICE_CLASSES) -> list[str]:
    """Declare every event exchange and every handler's queue; returns queue names."""
    names = []
    with Connection(amqp_uri) as connection:
        with connection.channel() as channel:
            for source in sorted({source for source, _ in EVENTS.values()}):
                get_event_exchange(source, {})(channel).declare()
        for path in service_classes:
            for source, event_type, service, method in subscriptions(load_service(path)):
                name = handler_queue_name(source, event_type, service, method)
                exchange = get_event_exchange(source, {})
                declare_consumer(connection, consumer_queue(name, exchange, event_type,
                                                            delivery_limit))
                names.append(name)
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--amqp-uri", default=os.environ.get(
        "AMQP_URI", "pyamqp://guest:guest@127.0.0.1:5672//"))
    parser.add_argument("--delivery-limit", type=int,
                        default=int(os.environ.get("DELIVERY_LIMIT", DEFAULT_DELIVERY_LIMIT)))
    args = parser.parse_args()
    for name in declare_all(args.amqp_uri, args.delivery_limit):
        print(f"declared {name} (+ {name}.dlq)")


if __name__ == "__main__":
    main()
