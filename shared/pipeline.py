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
"""

from __future__ import annotations

import logging

import eventlet
from amqp.exceptions import NotFound
from kombu import Connection
from nameko.extensions import DependencyProvider, SharedExtension

from . import metrics
from .logs import error_line
from .settings import integer, seconds

log = logging.getLogger(__name__)

DEFAULT_POLL_SECONDS = 1.0
DEFAULT_BACKLOG_LIMIT = 2000
UNKNOWN = -1


def queue_names(setting: str | None) -> tuple[str, ...]:
    return tuple(name.strip() for name in (setting or "").split(",") if name.strip())


class PipelineWatch:
    """The backlog of ``queues`` on the broker at ``amqp_uri``, kept fresh by
    ``run`` (a managed thread of the container that owns it)."""

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
        self.service, self.amqp_uri, self.queues = service, amqp_uri, queues
        self.limit, self.poll_seconds = limit, poll_seconds
        self.backlog = UNKNOWN
        self.failing = False  # the last measure failed (said once, not each second)
        self.missing: set[str] = set()
        self.connection: Connection | None = None

    def behind(self) -> bool:
        return self.backlog > self.limit

    def run(self) -> None:
        while True:
            self.poll()
            eventlet.sleep(self.poll_seconds)

    def poll(self) -> int:
        self.backlog = self.measure()
        metrics.pipeline_backlog(self.service, self.backlog)
        return self.backlog

    def measure(self) -> int:
        try:
            if self.connection is None:
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
        except Exception as exc:  # any transport error: unknown, and a new connection next time
            if not self.failing:
                log.warning("pipeline backlog of %s unknown (%s): admitting meanwhile",
                            self.service, error_line(exc))
            self.failing = True
            self.close()
            return UNKNOWN
        if self.failing:
            log.info("pipeline backlog of %s known again", self.service)
            self.failing = False
        return total

    def _missing(self, name: str) -> None:
        if name not in self.missing:
            self.missing.add(name)
            log.warning("pipeline queue %s does not exist: counted as empty", name)

    def close(self) -> None:
        if self.connection is not None:
            quietly(self.connection.release)
            self.connection = None


def quietly(close) -> None:
    try:
        close()
    except Exception:  # already closed or broken: nothing left to release
        pass


class Pipeline(SharedExtension):
    """Per container, shared by what asks: the watch of the pipeline behind
    it (none where ``PIPELINE_QUEUES`` names no queue), kept fresh by a
    managed thread while the container runs."""

    def setup(self):
        self.watch = PipelineWatch.from_config(self.container.service_name,
                                               self.container.config)

    def start(self):
        if self.watch is not None:
            self.container.spawn_managed_thread(self.watch.run)

    def stop(self):
        if self.watch is not None:
            self.watch.close()

    def behind(self) -> bool:
        return self.watch is not None and self.watch.behind()

    def wait_until_caught_up(self) -> None:
        while self.behind():
            eventlet.sleep(self.watch.poll_seconds)


class PipelineGate(DependencyProvider):
    """For a consumer of new work (intake's broker channel): its worker waits
    while the pipeline behind is too far behind - the request unacked, so
    still the broker's, and the rest waiting in their queue - instead of
    being refused: a front-end that published is answered once the pipeline
    has caught up (``wait_until_caught_up``)."""

    pipeline = Pipeline()

    def get_dependency(self, worker_ctx):
        return self.pipeline
