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

A broker that does not answer (starting, or too loaded to finish the
handshake) is tried again for ``--broker-wait`` seconds (60), the wait said
on stderr, then named in one line, exit status 1; one that refuses the virtual host or the
credentials at once (``deploy/broker.py``).

It also declares the front-ends' broker channel (``services/intake/channel.py``:
one exchange per channel, the request queue, one reply queue per channel),
and - when ``CHANNEL_PASSWORDS`` (``web=...,app=...``) is set - gives each
channel its own RabbitMQ user ``<CHANNEL_USER_PREFIX>-<channel>`` (prefix
``smartdukcapil`` unless set) on the services' virtual host, allowed exactly
this: publish to its exchange, consume its reply queue, configure nothing.
Users are made with ``rabbitmqctl``, which reaches the node
``RABBITMQCTL_NODE`` names (``rabbit@<host>``: the broker's Erlang cookie is
needed) or else the machine's own default node - not necessarily the broker
of ``AMQP_URI`` (outside audit K: with the URI naming another broker, the
users were made on the local one). So the node is asked first, and nothing
is declared or provisioned unless it listens for AMQP on the URI's port and,
without ``RABBITMQCTL_NODE``, the URI names this machine. RabbitMQ's users are the
broker's, not a virtual host's: a user that already has permissions on
another virtual host is left alone, and the step stops (another virtual
host on the same broker takes a prefix of its own).
Write access to the default exchange would reach every queue, so it has none.
A passive declare needs no permission in RabbitMQ, so the user still learns
whether any queue or exchange of the virtual host exists, and a queue's
message and consumer counts (docs/channel-api.md); no regex here can deny it.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import re
import socket
import subprocess
from urllib.parse import unquote, urlsplit

from kombu import Connection, Queue
from nameko.events import get_event_exchange

from deploy.broker import CONNECT_TIMEOUT_SECONDS, add_broker_wait, broker_address, patiently
from deploy.registry import SERVICES, load_config, service_classes
from services.intake.channel import CHANNELS, channel_exchange, reply_queue_name
from shared.events import EVENTS
from shared.messaging import ConsumerPart, topology_parts
from shared.settings import InvalidSetting


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
    with Connection(amqp_uri, connect_timeout=CONNECT_TIMEOUT_SECONDS) as connection:
        with connection.channel() as channel:
            for source in sorted({source for source, _ in EVENTS.values()}):
                get_event_exchange(source, {})(channel).declare()
                archive_queue(source)(channel).declare()
        for service_name, config in configs.items():
            for service_cls in service_classes(service_name):
                for part in topology_parts(service_cls, config):  # intake's channel's too
                    part.declare(connection)
                    if isinstance(part, ConsumerPart):
                        names.append(part.queue.name)
    return names


def channel_permissions(channel: str) -> tuple[str, str, str]:
    """(configure, write, read) regexes of a channel's user: publish to its
    exchange, consume (and purge) its reply queue, nothing else - but a
    passive declare, which RabbitMQ checks against none of them."""
    return ("^$", f"^{re.escape(channel_exchange(channel).name)}$",
            f"^{re.escape(reply_queue_name(channel))}$")


DEFAULT_CHANNEL_USER_PREFIX = "smartdukcapil"


def rabbitmqctl(*args: str, check: bool = True, secret: str | None = None
                ) -> subprocess.CompletedProcess:
    """``secret`` goes on standard input, never on the command line, where
    every local user reads it (``ps``; outside audit L)."""
    node = os.environ.get("RABBITMQCTL_NODE")
    return subprocess.run(["rabbitmqctl", *(("-n", node) if node else ()), *args],
                          capture_output=True, text=True, check=check, input=secret)


LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", "[::1]"}


def is_this_machine(host: str) -> bool:
    if host in LOOPBACK_NAMES or host in {socket.gethostname(), socket.getfqdn()}:
        return True
    try:
        return ipaddress.ip_address(socket.gethostbyname(host)).is_loopback
    except (OSError, ValueError):
        return False


def node_problem(amqp_uri: str, listeners: list[dict], node_named: bool) -> str | None:
    """Why the node ``rabbitmqctl`` reaches (listening on ``listeners``, as
    ``rabbitmqctl status`` lists them) is not known to be the broker of
    ``amqp_uri``, or None. Named by host and port: a URI carries credentials."""
    host, port = broker_address(amqp_uri)
    if not node_named and not is_this_machine(host):
        return (f"AMQP_URI names the broker at {host}, and rabbitmqctl reaches this machine's "
                f"own node: set RABBITMQCTL_NODE (rabbit@<its host name>) or run this "
                f"where that broker runs")
    amqp_ports = sorted({listener.get("port") for listener in listeners
                         if str(listener.get("protocol", "")).startswith("amqp")})
    if port not in amqp_ports:
        node = os.environ.get("RABBITMQCTL_NODE") or "this machine's default node"
        return (f"AMQP_URI's broker listens on port {port}, and the node rabbitmqctl reaches "
                f"({node}) on {', '.join(map(str, amqp_ports)) or 'no AMQP port'}: set "
                f"RABBITMQCTL_NODE to the broker's node")
    return None


def refuse_another_node(amqp_uri: str) -> None:
    """SystemExit, before anything is declared or provisioned, unless the node
    ``rabbitmqctl`` reaches is the broker ``amqp_uri`` names (``node_problem``)."""
    status = rabbitmqctl("status", "--formatter", "json", check=False)
    if status.returncode != 0:
        said = (status.stderr or status.stdout).strip().splitlines() or ["no output"]
        raise SystemExit(f"rabbitmqctl reaches no RabbitMQ node ({said[-1]}): nothing "
                         "declared, no channel user provisioned")
    problem = node_problem(amqp_uri, json.loads(status.stdout).get("listeners", []),
                           bool(os.environ.get("RABBITMQCTL_NODE")))
    if problem:
        raise SystemExit(f"{problem}; nothing declared, no channel user provisioned")


def refuse_users_of_other_vhosts(vhost: str, users: list[str]) -> None:
    """SystemExit, naming the user and the virtual hosts, if one of ``users``
    already has permissions on a virtual host other than ``vhost``: users are
    the broker's, so re-passwording it for ``vhost`` would lock the other
    virtual host's front-end out and let ``vhost``'s password into it."""
    existing = {line.split("\t")[0] for line in
                rabbitmqctl("list_users", "-q", "--no-table-headers").stdout.splitlines()}
    for user in sorted(existing.intersection(users)):
        listed = rabbitmqctl("list_user_permissions", "-q", "--no-table-headers", user).stdout
        others = sorted({line.split("\t")[0] for line in listed.splitlines()} - {vhost})
        if others:
            raise SystemExit(f"channel user {user!r} already has permissions on virtual host "
                             f"{', '.join(map(repr, others))}: left alone, nothing provisioned "
                             f"for {vhost!r} (give each virtual host its own "
                             f"CHANNEL_USER_PREFIX)")


def provision_channel_user(vhost: str, user: str, password: str, channel: str) -> None:
    """Create (or re-password) ``user`` and limit it to ``channel`` on ``vhost``;
    SystemExit if ``user`` has permissions on another virtual host."""
    refuse_users_of_other_vhosts(vhost, [user])
    # without the password among the arguments, rabbitmqctl reads it from stdin
    if rabbitmqctl("add_user", user, check=False, secret=password).returncode != 0:
        rabbitmqctl("change_password", user, secret=password)
    rabbitmqctl("set_permissions", "-p", vhost, user, *channel_permissions(channel))


def channel_passwords(setting: str) -> dict[str, str]:
    """``CHANNEL_PASSWORDS`` (``web=...,app=...``) as channel -> password;
    SystemExit for a name that is no channel (a typo created a user for an
    exchange that does not exist, silently, and left the channel meant
    without one), a channel without a password or named twice. The message
    names the channel, never a password."""
    passwords: dict[str, str] = {}
    for pair in filter(str.strip, setting.split(",")):
        channel, named, password = pair.partition("=")  # the password as given
        if not named and channel.strip() not in CHANNELS:
            # the tail of a password with a comma in it: not printed (a review)
            raise SystemExit("CHANNEL_PASSWORDS: an entry is no channel=password (a password "
                             "may not hold a comma)")
        channel = channel.strip()
        if channel not in CHANNELS:
            raise SystemExit(f"CHANNEL_PASSWORDS: {channel!r} is not a channel "
                             f"(the channels: {', '.join(CHANNELS)})")
        if not password:
            raise SystemExit(f"CHANNEL_PASSWORDS: no password for channel {channel!r}")
        if channel in passwords:
            raise SystemExit(f"CHANNEL_PASSWORDS: channel {channel!r} given twice")
        passwords[channel] = password
    return passwords


def vhost_of(amqp_uri: str) -> str:
    path = urlsplit(amqp_uri).path
    return unquote(path[1:]) if len(path) > 1 else "/"


def main() -> None:
    # --help says what it does and declares nothing (outside audit L2: it declared)
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="settings from the environment: AMQP_URI, CHANNEL_PASSWORDS, CHANNEL_USER_PREFIX, "
               "RABBITMQCTL_NODE and each service's (docs/settings.md)")
    add_broker_wait(parser)
    args = parser.parse_args()
    # before anything is declared: a mistyped setting changes nothing
    passwords = channel_passwords(os.environ.get("CHANNEL_PASSWORDS", ""))
    configs = {name: load_config(name) for name in SERVICES}
    amqp_uris = {config["AMQP_URI"] for config in configs.values()}
    if not all(amqp_uris):  # no default: pika would read a blank one as guest@localhost
        raise SystemExit("AMQP_URI is not set (the services' config.yaml has no default)")
    if len(amqp_uris) != 1:  # named by service, not by URI: a URI carries credentials
        raise SystemExit("the services' config.yaml name different brokers: "
                         + ", ".join(sorted(f"{name}: {config['AMQP_URI'].split('@')[-1]}"
                                            for name, config in configs.items())))
    amqp_uri = amqp_uris.pop()
    prefix = os.environ.get("CHANNEL_USER_PREFIX") or DEFAULT_CHANNEL_USER_PREFIX
    users = {channel: f"{prefix}-{channel}" for channel in passwords}
    if users:  # every user checked before anything is declared or provisioned
        refuse_another_node(amqp_uri)
        refuse_users_of_other_vhosts(vhost_of(amqp_uri), list(users.values()))
    try:
        declared = patiently(amqp_uri, lambda: declare_all(amqp_uri, configs), "deploy.topology",
                             "the topology is not declared", wait=args.broker_wait)
        for name in declared:
            print(f"declared {name} (+ {name}.dlq)")
    except InvalidSetting as refused:  # a queue declared under another DELIVERY_LIMIT
        raise SystemExit(str(refused).replace("refusing to start", "not declared", 1)) from None
    for channel, password in passwords.items():
        provision_channel_user(vhost_of(amqp_uri), users[channel], password, channel)
        print(f"channel user {users[channel]} limited to its exchange and replies")


if __name__ == "__main__":
    main()
