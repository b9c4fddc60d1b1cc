"""Declare the whole broker topology up front.

An event published before its consumer's queue exists would be dropped (the
outbox publishes mandatory, so it would come back unroutable and wait). So
every exchange, consumer queue, wait queue, dead-letter queue and each
exchange's archive queue is declared at deploy/start-up, before any service
runs, from the services' own ``reliable_event_handler`` declarations (one
source of truth: add a handler and the next deploy declares its queue), each
with the settings in its service's own ``config.yaml`` (``DELIVERY_LIMIT``,
``RETRY_DELAYS``): the values the service's handlers declare, so the broker
never sees two versions.

    python -m deploy.topology       # declare and list (reads the environment
                                    # exactly as the services' config.yaml do)
"""

from __future__ import annotations

import inspect

from kombu import Connection, Queue
from nameko.events import get_event_exchange
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR

from deploy.registry import SERVICES, load_config, service_classes
from shared.events import EVENTS
from shared.messaging import (ReliableEventHandler, consumer_queue, declare_consumer,
                              delivery_limit, handler_queue_name, retry_delays)


def subscriptions(service_cls) -> list[tuple[str, str, str, str]]:
    """(source service, event type, consuming service, method) of each handler."""
    found = []
    for method_name, method in inspect.getmembers(service_cls, inspect.isfunction):
        for entrypoint in getattr(method, ENTRYPOINT_EXTENSIONS_ATTR, ()):
            if isinstance(entrypoint, ReliableEventHandler):
                found.append((entrypoint.source_service, entrypoint.event_type,
                              service_cls.name, method_name))
    return found


ARCHIVE_MAX_AGE_MS = 7 * 24 * 3600 * 1000
ARCHIVE_MAX_LENGTH = 100_000


def archive_queue(source: str) -> Queue:
    """Every event of ``source``, kept a week at most (and at most
    ``ARCHIVE_MAX_LENGTH``, oldest dropped first): so that a mandatory publish
    of an event type no consumer subscribes to yet still routes, and an
    operator can see what was published."""
    return Queue(f"{source}.events.archive", exchange=get_event_exchange(source, {}),
                 routing_key="#", durable=True, auto_delete=False,
                 queue_arguments={"x-message-ttl": ARCHIVE_MAX_AGE_MS,
                                  "x-max-length": ARCHIVE_MAX_LENGTH,
                                  "x-overflow": "drop-head", "x-queue-mode": "lazy"})


def declare_all(amqp_uri: str, configs: dict[str, dict]) -> list[str]:
    """Declare every event exchange and every handler's queue; returns queue names.

    ``configs`` maps each service name to its loaded config.
    """
    names = []
    with Connection(amqp_uri) as connection:
        with connection.channel() as channel:
            for source in sorted({source for source, _ in EVENTS.values()}):
                get_event_exchange(source, {})(channel).declare()
                archive_queue(source)(channel).declare()
        for service_name, config in configs.items():
            limit, delays = delivery_limit(config), retry_delays(config)
            for service_cls in service_classes(service_name):
                for source, event_type, service, method in subscriptions(service_cls):
                    name = handler_queue_name(source, event_type, service, method)
                    exchange = get_event_exchange(source, {})
                    declare_consumer(connection, consumer_queue(name, exchange, event_type, limit),
                                     delays)
                    names.append(name)
    return names


def main() -> None:
    configs = {name: load_config(name) for name in SERVICES}
    amqp_uris = {config["AMQP_URI"] for config in configs.values()}
    if not all(amqp_uris):  # no default: pika would read a blank one as guest@localhost
        raise SystemExit("AMQP_URI is not set (the services' config.yaml has no default)")
    if len(amqp_uris) != 1:  # named by service, not by URI: a URI carries credentials
        raise SystemExit("the services' config.yaml name different brokers: "
                         + ", ".join(sorted(f"{name}: {config['AMQP_URI'].split('@')[-1]}"
                                            for name, config in configs.items())))
    for name in declare_all(amqp_uris.pop(), configs):
        print(f"declared {name} (+ {name}.dlq)")


if __name__ == "__main__":
    main()
