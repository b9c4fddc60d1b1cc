"""A service's HTTP side as the service stops (``shared.http.ApiServer``).

``nameko run`` stops a container on SIGTERM: its entrypoints first, then it
waits for the running workers, stops the dependencies, and only then the
web server. Until then the server took every new connection and request,
spawned workers for them while the database was being let go, and
``/health/ready`` said "ready": a load balancer in front of two instances
kept sending the stopping one work that failed. Killing the connections
last also cut off an answer still being written.

``Stopping`` is the container's side of it. From the first
``ApiHandler.stop()`` (entrypoints stop first) the service refuses
(``refusing``): ``/health/ready`` (and ``/health``) answer 503 ``stopping``,
``/health/live`` 200, anything else 503 ``service_stopping`` with
``Retry-After``; every answer from then on, those of requests already in
flight included, closes its connection. The requests in flight (counted
from the moment the server hands them to the app to the moment their answer
is written: ``admitted``) finish; once none is left - or after
``STOP_DRAIN_SECONDS``, for a client that reads its answer too slowly -
the listener is closed (a new connection is refused) and nameko goes on
stopping. The log says when it starts and ends, naming the signal when it
was one (``watch_signals``).
"""

from __future__ import annotations

import logging
import signal

import eventlet
from eventlet.event import Event

from .errors import DomainError, Msg

log = logging.getLogger(__name__)

DEFAULT_STOP_DRAIN_SECONDS = 20
# the signals ``nameko run`` stops on: SIGTERM (its handler) and SIGINT
# (Python's, a KeyboardInterrupt)
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class ServiceStopping(DomainError):
    """A request that came after the service began to stop: 503 with
    ``Retry-After``, and the connection closed - another instance takes it."""

    status = 503
    code = "service_stopping"

    def __init__(self):
        super().__init__(Msg("Layanan sedang berhenti; kirim ulang permintaan.",
                             "Service is stopping; send the request again."))


class Stopping:
    """Per container (one ``ApiServer``): whether it refuses new requests,
    how many are in flight, and the listener's closing once none is."""

    def __init__(self, service: str, drain_seconds: float, close_listener):
        self.service = service
        self.drain_seconds = drain_seconds
        self.close_listener = close_listener
        self.refusing = False
        self.in_flight = 0
        self.reason = "stop"
        self.drained = Event()
        self.watching: list = []

    def watch_signals(self) -> None:
        """Note which signal stops the process, for the log: ahead of the
        handler ``nameko run`` (or Python) set, which still runs. A signal
        with no Python handler is not ours to take; ``forget_signals`` puts
        the previous handlers back (a test process starts many containers)."""
        self.watching = []
        for signum in STOP_SIGNALS:
            previous = signal.getsignal(signum)
            if callable(previous):
                handler = self.noting(signum, previous)
                signal.signal(signum, handler)
                self.watching.append((signum, previous, handler))

    def noting(self, signum: int, previous):
        def handler(received, frame):
            self.reason = signal.Signals(signum).name
            return previous(received, frame)
        return handler

    def forget_signals(self) -> None:
        for signum, previous, handler in reversed(self.watching):
            if signal.getsignal(signum) is handler:  # else another took it since
                signal.signal(signum, previous)
        self.watching = []

    def admitted(self, environ: dict) -> None:
        """A request handed to the app: in flight until eventlet has written
        its answer (its ``eventlet.posthooks`` run after that, whatever the
        answer or error)."""
        self.in_flight += 1
        environ["eventlet.posthooks"].append((self.answered, (), {}))

    def answered(self, environ: dict) -> None:
        self.in_flight -= 1
        if self.refusing and self.in_flight <= 0 and not self.drained.ready():
            self.drained.send(True)

    def stop(self) -> None:
        """Refuse new requests, wait for those in flight, close the listener.
        Every entrypoint's ``stop()`` calls it; the first begins, all wait."""
        if not self.refusing:
            self.refusing = True
            log.info("%s stopping (%s): refusing new requests", self.service, self.reason)
            if self.in_flight <= 0:
                self.drained.send(True)
            with eventlet.Timeout(self.drain_seconds, False):
                self.drained.wait()
            if not self.drained.ready():
                log.warning("%s: %d requests still in flight after %g s; closing", self.service,
                            self.in_flight, self.drain_seconds)
            self.close_listener()
            if not self.drained.ready():
                self.drained.send(False)
        self.drained.wait()

    def stopped(self) -> None:
        self.forget_signals()
        log.info("%s stopped", self.service)
