"""Declare the whole broker topology up front.

nameko publishes with ``mandatory=False``: an event published before its
consumer's queue exists is dropped. So every exchange, consumer queue and
dead-letter queue is declared at deploy/start-up, before any service runs,
from the services' own ``reliable_event_handler`` declarations (one source of
truth: add a handler and the next deploy declares its queue), each with the
settings in its service's own ``config.yaml`` (``DELIVERY_LIMIT``) — the same
values the service's handlers declare, so the broker never sees two versions.

    python -m deploy.topology       # declare and list (reads the environment
                                    # exactly as the services' config.yaml do)
"""

from __future__ import annotations

import inspect

from kombu import Connection
from nameko.events import get_event_exchange
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR

from deploy.registry import SERVICES, load_config, service_class
from shared.events import EVENTS
from shared.messaging import (ReliableEventHandler, consumer_queue, declare_consumer,
                              delivery_limit, handler_queue_name)


def subscriptions(service_cls) -> list[tuple[str, str, str, str]]:
    """(source service, event type, consuming service, method) of each handler."""
    found = []
    for method_name, method in inspect.getmembers(service_cls, inspect.isfunction):
        for entrypoint in getattr(method, ENTRYPOINT_EXTENSIONS_ATTR, ()):
            if isinstance(entrypoint, ReliableEventHandler):
                found.append((entrypoint.source_service, entrypoint.event_type,
                              service_cls.name, method_name))
    return found


def declare_all(amqp_uri: str, configs: dict[str, dict]) -> list[str]:
    """Declare every event exchange and every handler's queue; returns queue names.

    ``configs`` maps each service name to its loaded config.
    """
    names = []
    with Connection(amqp_uri) as connection:
        with connection.channel() as channel:
            for source in sorted({source for source, _ in EVENTS.values()}):
                get_event_exchange(source, {})(channel).declare()
        for service_name, config in configs.items():
            limit = delivery_limit(config)
            for source, event_type, service, method in subscriptions(service_class(service_name)):
                name = handler_queue_name(source, event_type, service, method)
                exchange = get_event_exchange(source, {})
                declare_consumer(connection, consumer_queue(name, exchange, event_type, limit))
                names.append(name)
    return names


def main() -> None:
    configs = {name: load_config(name) for name in SERVICES}
    amqp_uris = {config["AMQP_URI"] for config in configs.values()}
    if len(amqp_uris) != 1:
        raise SystemExit("the services' config.yaml name different brokers: "
                         + ", ".join(sorted(amqp_uris)))
    for name in declare_all(amqp_uris.pop(), configs):
        print(f"declared {name} (+ {name}.dlq)")


if __name__ == "__main__":
    main()
