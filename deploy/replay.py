"""Publish again what the services published, for a broker that lost its state.

    python -m deploy.replay --since 2026-12-05T07:50:00+07:00 [--until ...] [service ...]

Each service keeps every event it published for ``KEEP_PUBLISHED_SECONDS``
(``shared.outbox``: ``published_events.<UTC start>``, a collection per ten
minutes, in its own database). A broker that
lost its state (rebuilt, restored without its data, its virtual host made
again) lost what was in its queues: events not consumed yet, retries waiting
out their delay, an event it confirmed while its queues were being deleted.
A running service that finds the broker back without its queues publishes
its kept events again by itself (``REPUBLISH_AFTER_SECONDS`` later); this
command is for the rest: a service that was not running then, or an
operator who wants it done now. Run ``python -m deploy.topology`` first, so
that every consumer's queue exists (an event published before its queue is
missed by it).

Each service's events go to its own exchange, the newest ten minutes first
(each ten in the order published), ``--per-second`` a second (the service's
``REPUBLISH_PER_SECOND`` unless given: at once, they filled the queues
behind intake, which refused new applications meanwhile), with publisher
confirms, by their own event ids: consumers are idempotent on them, so an
event already handled changes nothing. ``--since`` (and ``--until``) take an
ISO 8601 time with its time zone (``Z``, ``+07:00``): a time without one is
refused rather than read in the wrong zone. The settings are the services'
own (``AMQP_URI``, ``MONGO_URI``, ``<SERVICE>_DATABASE``: docs/settings.md):
where services have database servers of their own (``make run`` does), run
it once per service with that service's ``MONGO_URI``; a service whose
database is not on the server given is named (exit status 1), after the
others are done. A database server that does not answer (within 10 s) is
named by host and port in one line, exit status 1, as a broker that does
not answer within ``--broker-wait`` is (``deploy/broker.py``).
"""

from __future__ import annotations

import argparse
import datetime

from pymongo import MongoClient
from pymongo.errors import ConnectionFailure

from deploy.broker import DEFAULT_BROKER_WAIT_SECONDS, add_broker_wait, patiently
from deploy.registry import SERVICES, load_config
from shared.outbox import OutboxRelay


def aware_time(text: str) -> datetime.datetime:
    """An ISO 8601 time with its time zone, as UTC; ArgumentTypeError else."""
    try:
        at = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time") from None
    if at.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no time zone: add Z or +07:00")
    return at.astimezone(datetime.timezone.utc)


def whole_number(text: str) -> int:
    if not text.isdecimal():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number, 0 or more")
    return int(text)


class NotItsDatabase(Exception):
    """The server ``MONGO_URI`` names has no database of the service's name."""


def server_addresses(client: MongoClient) -> str:
    """host:port of each server ``client`` was given (or has found): never
    its URI, which carries the password."""
    return ", ".join(f"{host}:{port}"
                     for host, port in client.topology_description.server_descriptions())


def replay(service: str, since: datetime.datetime, until: datetime.datetime | None,
           per_second: int | None = None, broker_wait: float = DEFAULT_BROKER_WAIT_SECONDS
           ) -> int:
    """The kept events ``service`` published in [since, until) published again,
    ``per_second`` a second (the service's ``REPUBLISH_PER_SECOND`` if None);
    how many. ``NotItsDatabase`` if its database is not on that server: "0
    published" would have read as "nothing was kept" (outside audit L2: the
    local stack gives each service a server of its own, and one MONGO_URI
    for all replayed intake's and said 0 for the others). A broker that
    does not answer is waited for ``broker_wait`` seconds, then named in one
    line (``deploy.broker.patiently``: a replay cut short is run again from
    its start, which the consumers' idempotence makes harmless); a database
    server that does not answer is named in one line at once (pymongo's
    traceback, a review)."""
    config = load_config(service)
    for key in ("AMQP_URI", "MONGO_URI"):
        if not config.get(key):
            raise SystemExit(f"{key} is not set (the services' config.yaml has no default)")
    client = MongoClient(config["MONGO_URI"], tz_aware=True, serverSelectionTimeoutMS=10_000)
    unfinished = f"{service}'s kept events not all published again"
    try:
        if config["DATABASE"] not in client.list_database_names():
            host, port = client.address or ("?", "?")
            raise NotItsDatabase(f"{service}: the server at {host}:{port} (MONGO_URI) has no "
                                 f"database {config['DATABASE']!r}: give this service's own "
                                 "MONGO_URI (and its <SERVICE>_DATABASE)")
        relay = OutboxRelay(client[config["DATABASE"]].outbox, config["AMQP_URI"], service, config)
        return patiently(config["AMQP_URI"],
                         lambda: relay.republish_kept(since, until, per_second=per_second),
                         "deploy.replay", unfinished, wait=broker_wait)
    except ConnectionFailure as exc:  # before the broker, or while it replayed
        raise SystemExit(f"deploy.replay: the database server at {server_addresses(client)} "
                         f"(MONGO_URI) does not answer ({type(exc).__name__}); "
                         f"{unfinished}") from None
    finally:
        client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("services", nargs="*", metavar="service",
                        help=f"of {', '.join(SERVICES)} (all when none is named)")
    parser.add_argument("--since", type=aware_time, required=True)
    parser.add_argument("--until", type=aware_time, default=None)
    parser.add_argument("--per-second", type=whole_number, default=None, metavar="N",
                        help="events published a second per service (default: its "
                             "REPUBLISH_PER_SECOND, 20; 0: as fast as the broker confirms)")
    add_broker_wait(parser)
    args = parser.parse_args()
    for unknown in set(args.services) - set(SERVICES):
        parser.error(f"{unknown!r} is not a service (the services: {', '.join(SERVICES)})")
    if args.until is not None and args.until <= args.since:
        parser.error("--until must be after --since")
    refused = []
    for service in args.services or SERVICES:
        try:
            count = replay(service, args.since, args.until, args.per_second, args.broker_wait)
            print(f"{service}: published again {count} "
                  f"kept event(s) of {args.since.isoformat()} onwards")
        except NotItsDatabase as exc:
            refused.append(str(exc))
    if refused:
        parser.exit(1, "\n".join(refused) + "\n")


if __name__ == "__main__":
    main()
