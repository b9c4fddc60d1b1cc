"""How far the pipeline behind a service is behind: the messages waiting in
the handler queues it watches (``PIPELINE_QUEUES``), read from the broker
every ``PIPELINE_POLL_SECONDS``.

Intake admits new applications only while that backlog is at most
``PIPELINE_BACKLOG_LIMIT`` (``shared.http.Admission``): at a peak it can take
applications faster than printing and notification finish them, and a 202
should still mean a notice within seconds, not a queue that grows for as long
as the peak lasts. Above the limit a new application over HTTP gets 503 +
Retry-After (the front-end tries again) while status lookups, operators and
everything already accepted go on; one over the broker channel waits in its
queue (``PipelineGate``) and is answered once the pipeline has caught up.

The count is each queue's ready messages, as a passive ``queue.declare``
answers them: one round trip per queue, on one broker connection of the
watcher's own. A queue that does not exist counts nothing (logged once); a
broker that does not answer makes the backlog unknown (-1; logged when it
becomes unknown and when it is known again, not at every poll), and unknown
admits: the outbox keeps what is accepted meanwhile, and refusing every
citizen because a gauge cannot be read would be the worse failure.

The same admission watches the service's own events that have not left
(``OutboxWatch``, where ``OUTBOX_BACKLOG_LIMIT`` is set): outbox rows and
carrier documents whose hand-over failed and that wait for the sweep
(``shared.outbox.overdue``: two counts through indexes, read every
``PIPELINE_POLL_SECONDS``, never per request). The queues behind intake
can be empty while its events sit unpublished (its database timing out
at saturation); an application accepted then would wait for the sweep
to drain them, so above the limit new applications are refused the same
way. A database that does not answer the count leaves it unknown: admits.
"""

from __future__ import annotations

import logging
import time

import eventlet
import pymongo
from amqp.exceptions import NotFound
from kombu import Connection
from nameko.extensions import DependencyProvider, SharedExtension

from . import metrics
from .logs import error_line
from .mongo import StoreWithOutbox
from .outbox import overdue
from .settings import integer, seconds

log = logging.getLogger(__name__)

DEFAULT_POLL_SECONDS = 1.0
DEFAULT_BACKLOG_LIMIT = 2000
UNKNOWN = -1
# a count of the outbox (``OutboxWatch``) that takes longer is not waited for
OUTBOX_COUNT_SECONDS = 2.0


def queue_names(setting: str | None) -> tuple[str, ...]:
    return tuple(name.strip() for name in (setting or "").split(",") if name.strip())


class Watch:
    """A backlog that ``measure`` reads, kept fresh by ``run`` (a managed
    thread of the container that owns it) every ``poll_seconds``: behind
    while over ``limit``. A measure that fails leaves it unknown (admits),
    said once when it becomes unknown and once when it is known again."""

    what = "backlog"

    def __init__(self, service: str, limit: int, poll_seconds: float = DEFAULT_POLL_SECONDS):
        self.service, self.limit, self.poll_seconds = service, limit, poll_seconds
        self.backlog = UNKNOWN
        self.failing = False  # the last measure failed (said once, not each second)
        self.stopped = False  # its container stops: no more reads, nothing to warn of

    def behind(self) -> bool:
        return self.backlog > self.limit

    def run(self) -> None:
        while not self.stopped:
            self.poll()
            eventlet.sleep(self.poll_seconds)

    def poll(self) -> int:
        self.backlog = self._read()
        self.report(self.service, self.backlog)
        return self.backlog

    def _read(self) -> int:
        try:
            backlog = self.measure()
        except pymongo.errors.InvalidOperation:
            return UNKNOWN  # its database client is closed: the container is stopping
        except Exception as exc:  # any transport error: unknown
            if self.stopped:  # its connection closed under the read by ``stop``
                return UNKNOWN
            if not self.failing:
                log.warning("%s of %s unknown (%s): admitting meanwhile",
                            self.what, self.service, error_line(exc))
            self.failing = True
            self.close()
            return UNKNOWN
        if self.failing:
            log.info("%s of %s known again", self.what, self.service)
            self.failing = False
        return backlog

    @staticmethod
    def report(container: str, backlog: int) -> None:
        """Show a backlog read (a gauge of ``shared.metrics``): none here."""

    def measure(self) -> int:
        raise NotImplementedError

    def close(self) -> None:
        """Release what a failed measure may have left broken."""


class PipelineWatch(Watch):
    """The backlog of ``queues`` on the broker at ``amqp_uri``."""

    what = "pipeline backlog"
    report = staticmethod(metrics.pipeline_backlog)

    @classmethod
    def from_config(cls, service: str, config: dict) -> "PipelineWatch | None":
        """The watch ``config`` asks for (``PIPELINE_*``), or None: no queues named."""
        queues = queue_names(config.get("PIPELINE_QUEUES"))
        if not queues:
            return None
        return cls(service, config.get("AMQP_URI", ""), queues,
                   integer(config, "PIPELINE_BACKLOG_LIMIT", DEFAULT_BACKLOG_LIMIT),
                   seconds(config, "PIPELINE_POLL_SECONDS", DEFAULT_POLL_SECONDS))

    def __init__(self, service: str, amqp_uri: str, queues: tuple[str, ...], limit: int,
                 poll_seconds: float = DEFAULT_POLL_SECONDS):
        super().__init__(service, limit, poll_seconds)
        self.amqp_uri, self.queues = amqp_uri, queues
        self.missing: set[str] = set()
        self.connection: Connection | None = None

    def measure(self) -> int:
        if self.connection is None:  # a failure closed it: a new connection
            self.connection = Connection(self.amqp_uri, connect_timeout=2)
            self.connection.ensure_connection(max_retries=1, timeout=2)
        channel, total = self.connection.channel(), 0
        try:
            for name in self.queues:
                try:
                    total += channel.queue_declare(queue=name, passive=True).message_count
                except NotFound:  # and the broker closed the channel
                    self._missing(name)
                    channel = self.connection.channel()
        finally:
            quietly(channel.close)
        return total

    def _missing(self, name: str) -> None:
        if name not in self.missing:
            self.missing.add(name)
            log.warning("pipeline queue %s does not exist: counted as empty", name)

    def close(self) -> None:
        if self.connection is not None:
            quietly(self.connection.release)
            self.connection = None


class OutboxWatch(Watch):
    """The service's own events that should have left and have not
    (``shared.outbox.overdue``) in the database of ``store`` (its
    ``StoreWithOutbox``, whose client exists once the container started)."""

    what = "outbox backlog"
    report = staticmethod(metrics.outbox_overdue)

    @classmethod
    def from_config(cls, service: str, config: dict, store) -> "OutboxWatch | None":
        """The watch ``config`` asks for (``OUTBOX_BACKLOG_LIMIT``), or None."""
        limit = integer(config, "OUTBOX_BACKLOG_LIMIT", None)
        if limit is None:
            return None
        return cls(service, store, limit,
                   seconds(config, "PIPELINE_POLL_SECONDS", DEFAULT_POLL_SECONDS))

    def __init__(self, service: str, store, limit: int,
                 poll_seconds: float = DEFAULT_POLL_SECONDS):
        super().__init__(service, limit, poll_seconds)
        self.store = store

    def measure(self) -> int:
        with pymongo.timeout(OUTBOX_COUNT_SECONDS):
            return overdue(self.store.db, self.store.store_class.CARRIERS)


def quietly(close) -> None:
    try:
        close()
    except Exception:  # already closed or broken: nothing left to release
        pass


# how long a worker waits for the pipeline before it gives its message back:
# well within RabbitMQ's ``consumer_timeout`` (30 min by default)
MOST_WAIT_SECONDS = 15 * 60


class StoppedWaiting(Exception):
    """The container began to stop while a worker waited for the pipeline."""


class Pipeline(SharedExtension):
    """Per container, shared by what asks: the watch of the pipeline behind
    it (none where ``PIPELINE_QUEUES`` names no queue) and of its own
    events not yet out (none without ``OUTBOX_BACKLOG_LIMIT``), each kept
    fresh by a managed thread while the container runs."""

    def setup(self):
        service, config = self.container.service_name, self.container.config
        self.stopping = False  # the container began to stop: nobody waits any more
        self.watch = PipelineWatch.from_config(service, config)
        stores = [provider for provider in self.container.dependencies
                  if isinstance(provider, StoreWithOutbox)]
        outbox = OutboxWatch.from_config(service, config, stores[0]) if stores else None
        self.watches = [watch for watch in (self.watch, outbox) if watch is not None]

    def start(self):
        for watch in self.watches:
            self.container.spawn_managed_thread(watch.run)

    def stop(self):
        for watch in self.watches:
            watch.stopped = True  # first: a read the close interrupts says nothing
            watch.close()

    def behind(self) -> bool:
        return any(watch.behind() for watch in self.watches)

    def stop_waiting(self) -> None:
        """The container is stopping (its entrypoints stop first): a worker
        waiting in ``wait_until_caught_up`` gives its work back now, else the
        container would wait for it as long as the backlog lasts."""
        self.stopping = True

    def wait_until_caught_up(self, most: float = MOST_WAIT_SECONDS) -> None:
        """Return once nothing watched is behind; ``StoppedWaiting`` if the
        container begins to stop meanwhile, or after ``most`` seconds (the
        work is not done: a consumer requeues its message, for this
        instance or another - a message unacked past the broker's
        ``consumer_timeout``, 30 min, closed the whole channel: every
        request in hand redelivered while their workers still waited, a
        review)."""
        give_up = time.monotonic() + most
        while self.behind():
            if self.stopping or time.monotonic() >= give_up:
                raise StoppedWaiting()
            eventlet.sleep(min(watch.poll_seconds for watch in self.watches))


class PipelineGate(DependencyProvider):
    """For a consumer of new work (intake's broker channel): its worker waits
    while the pipeline behind is too far behind - the request unacked, so
    still the broker's, and the rest waiting in their queue - instead of
    being refused: a front-end that published is answered once the pipeline
    has caught up (``wait_until_caught_up``)."""

    pipeline = Pipeline()

    def get_dependency(self, worker_ctx):
        return self.pipeline
