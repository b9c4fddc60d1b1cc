"""``StoreWithOutbox``: a service's MongoDB store and the publisher of its events.

Each service owns its database (``DATABASE`` in its config.yaml) and declares
which store class its workers get. The same provider runs the service's
event publisher, the outbox relay (``shared/outbox.py``): publishing reads
what the store's transactions wrote, so the relay needs the same client, and
it must stop before that client closes. Looking for where events reach the
broker? ``OutboxRelay.publish_pending``, started here as a managed thread of
the container (nameko stops it with the service and reports if it dies).

A database that is down is told apart without waiting out
``MONGO_TIMEOUT_MS`` (every operation's deadline, server selection
included): the HTTP admission refuses a request at once while the driver
knows no server to send it to (``StoreWithOutbox.reachable``), and the probes
ping under a deadline of their own (``answers``).
"""

from __future__ import annotations

import datetime

import pymongo
from eventlet.semaphore import Semaphore
from nameko.extensions import DependencyProvider
from pymongo import MongoClient

from . import metrics
from .clock import utcnow
from .errors import DatabaseUnavailable
from .group_writes import GroupWrites
from .outbox import OutboxRelay
from .settings import NotReachable, integer, require, seconds
from .store import DEFAULT_TRANSACTION_BUDGET_SECONDS, DURABLE

# how long a probe (/health, /health/ready) waits for the database: a
# frozen server is then reported as down before an orchestrator's probe
# (about a second) gives up, not after MONGO_TIMEOUT_MS
PROBE_SECONDS = 0.5


def answers(store) -> bool:
    """Whether ``store``'s database answers a ping within ``PROBE_SECONDS``."""
    try:
        with pymongo.timeout(PROBE_SECONDS):
            store.ping()
    except DatabaseUnavailable:
        return False
    return True


class DatabaseCheck(DependencyProvider):
    """``answers`` for the probes, one ping at a time: a probe arriving while
    a ping is out takes that ping's answer. A burst of probes was a burst of
    pings, each under its own ``PROBE_SECONDS``: on a loaded machine one of
    20 at once overran it and a healthy database was reported down."""

    def setup(self):
        self.asking = Semaphore()
        self.pings, self.answer = 0, False

    def answers(self, store) -> bool:
        seen = self.pings
        with self.asking:
            if self.pings == seen:  # no ping ended while this probe waited
                self.answer, self.pings = answers(store), self.pings + 1
            return self.answer

    def get_dependency(self, worker_ctx):
        return self


class StoreWithOutbox(DependencyProvider):
    """``publishes_as``: the service whose exchange the events go to. A service
    runs its HTTP API and its event handlers as two containers over one
    database; both publish as the service."""

    # no defaults for these (they carry credentials): refuse to start without
    required_settings = ("MONGO_URI", "AMQP_URI")

    def __init__(self, store_class, publishes_as: str):
        self.store_class = store_class
        self.publishes_as = publishes_as
        self.client = None
        self.relay = None

    def setup(self):
        config = self.container.config
        mongo_uri, amqp_uri = require(self)
        self.timeout_ms = timeout_ms = integer(config, "MONGO_TIMEOUT_MS", 5000)
        # every wait on the server is bounded, so a frozen or unreachable
        # database becomes DatabaseUnavailable (503) in time, never a hang
        # timeoutMS: one deadline per operation, its retries and its server
        # selection included (a retried read would otherwise wait twice)
        # serverMonitoringMode "poll": one hello per heartbeat, no separate RTT
        # pinger. Streaming (the default with a server that reports a
        # topologyVersion, as SecantusDB does) pings for the RTT on a second
        # connection; after a freeze (SIGSTOP, a stall) that ping and the
        # monitor's first hello both came back with the freeze's seconds as
        # their round trips, and with two samples those are the minimum RTT
        # until the next ping, a heartbeat (10 s) later. Under a deadline
        # shorter than that (``answers``: PROBE_SECONDS) pymongo refuses the
        # operation without sending it ("operation would exceed time limit"):
        # /health/ready said "unavailable" for ~10 s while requests were
        # served (outside audit L F2). Polling takes one sample per heartbeat,
        # and a failed heartbeat clears them: a freeze leaves one at most,
        # which the driver does not use on its own.
        self.client = MongoClient(mongo_uri, tz_aware=True, timeoutMS=timeout_ms,
                                  event_listeners=[metrics.CommandCounter(self.publishes_as)],
                                  serverSelectionTimeoutMS=timeout_ms,
                                  connectTimeoutMS=timeout_ms, socketTimeoutMS=timeout_ms,
                                  serverMonitoringMode="poll",
                                  w=DURABLE.document["w"], journal=True)
        self.db = self.client[config["DATABASE"]]
        self.transaction_budget = seconds(config, "TRANSACTION_BUDGET_SECONDS",
                                         DEFAULT_TRANSACTION_BUDGET_SECONDS)
        self.groups = GroupWrites(self.db, seconds(config, "GATHER_SECONDS", 0))
        self.relay = OutboxRelay(self.db.outbox, amqp_uri, self.publishes_as, config,
                                 carriers=self.store_class.CARRIERS)
        # Indexes in setup(), not start(): nameko starts all extensions at
        # once, so a consumer could run a handler before its unique indexes
        # (the idempotency guards) exist. Every setup() ends before any start().
        try:
            self.store_class.ensure_indexes(self.db)
            self.relay.ensure_indexes()
        except pymongo.errors.ConnectionFailure as exc:
            raise NotReachable("the database", "MONGO_URI", exc) from None
        metrics.watch_outbox(self.publishes_as, self.db, self.store_class.CARRIERS)

    def start(self):
        self.relay.start(self.container.spawn_managed_thread)

    def republish_kept(self) -> int:
        """Publish again every event the service published and still keeps
        (``shared.outbox``: the last ``KEEP_PUBLISHED_SECONDS``), for a
        broker that lost its state; how many."""
        return self.relay.republish_kept(
            utcnow() - datetime.timedelta(seconds=self.relay.keep_seconds))

    def reachable(self) -> bool:
        """Whether the driver knows a server it can send a request to (a
        write, or a read from the primary). It stops knowing one when an
        operation or its monitor finds the server gone (a refused or broken
        connection, a heartbeat unanswered for ``MONGO_TIMEOUT_MS``); until
        its monitor finds it back, every operation would wait out
        ``MONGO_TIMEOUT_MS`` in server selection, then fail."""
        return self.client.topology_description.has_writable_server()

    def stop(self):
        self._close()

    def kill(self):
        self._close()

    def _close(self):
        if self.relay is not None:
            self.relay.stop()
        if self.client is not None:
            self.client.close()

    def get_dependency(self, worker_ctx):
        return self.store_class(self.db, self.client, self.relay, self.transaction_budget,
                                self.timeout_ms / 1000, self.groups)
