"""Supervision for the local stack (``python -m deploy.local.stack run``):
restart what dies or stops answering its liveness probe, with backoff, say
so, and give up on what keeps dying, as a production process supervisor
would. The fault tests run it too.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import requests

from deploy.registry import SERVICES
from shared.http import LIVE_PATH

if TYPE_CHECKING:
    from deploy.local.stack import Stack


# A service is killed and restarted once it has answered none of
# ``PROBE_FAILURES`` probes in a row, ``PROBE_EVERY_SECONDS`` apart, each
# given ``PROBE_TIMEOUT_SECONDS``: about 25-30 s without an answer. Long
# enough to ride out what is no fault - a full garbage collection of a big
# heap (a second or two), a machine whose two cores a benchmark or the fault
# tests keep busy (probes answered in seconds), the eventlet hub held by a
# long synchronous call; short enough that a hung process (SIGSTOP, a
# deadlock) does not go unsaid for minutes.
PROBE_EVERY_SECONDS, PROBE_TIMEOUT_SECONDS, PROBE_FAILURES = 10.0, 5.0, 3
# a (re)started service is given this long to answer its first probe - as
# long as ``Stack.start_services`` waits for one - before failed probes count
START_GRACE_SECONDS = 90.0


@dataclass
class Liveness:
    """What the probes of one service process said (a restart is another process)."""
    proc: subprocess.Popen
    since: float  # when it last answered, or was first seen (monotonic)
    next_probe: float
    answered: bool = False  # at least once since it started
    failures: int = 0  # probes in a row it did not answer
    probing: bool = False
    result: bool | None = None  # the answer of the probe in flight, set by its thread


class GaveUp(RuntimeError):
    """A supervised process keeps dying: restarting it again would only hide that."""


class Supervisor:
    """Restarts what dies, as a production supervisor does.

    ``check()`` is one round, called every half second or so by the run loop
    (or a test's thread): a process that exited without being asked is
    restarted by ``Stack.respawn`` after ``first_delay`` seconds, doubling per
    exit within ``window`` seconds (1, 2, 4, 8 ... capped at ``max_delay``);
    the ``max_exits``-th exit within the window raises ``GaveUp``, as does the
    death of the in-memory database, whose data a restart cannot bring back.
    A service (``SERVICES``: they serve ``/health/live``) is also probed, from
    a thread of its own so that a round never waits on it; one that answers
    none of ``probe_failures`` probes in a row (``PROBE_EVERY_SECONDS``) is
    killed - SIGKILL: a stopped process ignores SIGTERM - and restarted as
    one that exited. The database server, SMTP and the sandboxes serve no
    probe: only their exit is seen. Each exit, kill and restart is said on
    the console and in the process's log.
    """

    def __init__(self, stack: Stack, first_delay: float = 1.0, max_delay: float = 30.0,
                 max_exits: int = 5, window: float = 60.0, say=print,
                 probe_every: float = PROBE_EVERY_SECONDS,
                 probe_timeout: float = PROBE_TIMEOUT_SECONDS,
                 probe_failures: int = PROBE_FAILURES, start_grace: float = START_GRACE_SECONDS):
        self.stack = stack
        self.first_delay, self.max_delay = first_delay, max_delay
        self.max_exits, self.window = max_exits, window
        self.say = say
        self.probe_every, self.probe_timeout = probe_every, probe_timeout
        self.probe_failures, self.start_grace = probe_failures, start_grace
        self.exits: dict[str, list[float]] = {}  # name -> when it exited (monotonic)
        self.due: dict[str, float] = {}  # name -> when to restart it
        self.held: set[str] = set()
        self.liveness: dict[str, Liveness] = {}  # service name -> its probes
        self._lock = threading.Lock()

    def check(self) -> None:
        with self._lock:
            now = time.monotonic()
            for name, proc in list(self.stack.procs.items()):
                if name in self.held or name in self.due:
                    continue
                if proc.poll() is not None:
                    self._exited(name, proc.returncode, now)
                elif name in SERVICES:
                    self._probe(name, proc, now)
            for name, when in list(self.due.items()):
                if when <= now:
                    del self.due[name]
                    self._restart(name)

    def _probe(self, name: str, proc: subprocess.Popen, now: float) -> None:
        """Take the answer of ``name``'s last probe, kill it if it has not
        answered for too long, send the next probe when due."""
        state = self.liveness.get(name)
        if state is None or state.proc is not proc:
            state = self.liveness[name] = Liveness(proc, since=now, next_probe=now)
        if state.probing and state.result is not None:
            state.answered, state.probing = state.answered or state.result, False
            state.since = now if state.result else state.since
            state.failures = 0 if state.result else state.failures + 1
            state.result = None
        if state.failures >= self.probe_failures and (
                state.answered or now - state.since >= self.start_grace):
            try:
                self.stack.send_signal(name, signal.SIGKILL)
            except ProcessLookupError:  # it exited meanwhile
                pass
            proc.wait()
            del self.liveness[name]
            self._exited(name, proc.returncode, now, f"{name} did not answer {LIVE_PATH} for "
                                                     f"{now - state.since:.0f}s")
        elif not state.probing and now >= state.next_probe:
            state.probing, state.next_probe = True, now + self.probe_every
            threading.Thread(target=self._ask, args=(state, self.stack.url(name) + LIVE_PATH),
                             daemon=True).start()

    def _ask(self, state: Liveness, url: str) -> None:
        try:
            answered = requests.get(url, timeout=self.probe_timeout).status_code == 200
        except requests.RequestException:
            answered = False
        state.result = answered  # read by the next round

    def _exited(self, name: str, code: int, now: float, what: str | None = None) -> None:
        if self.stack.ephemeral(name):
            raise GaveUp(f"{name} exited with code {code}; its in-memory data is gone")
        what = what or f"{name} exited with code {code}"
        recent = [at for at in self.exits.get(name, []) if now - at < self.window] + [now]
        self.exits[name] = recent
        if len(recent) >= self.max_exits:
            self._tell(name, f"{what}, {len(recent)} times within {self.window:g}s: giving up")
            raise GaveUp(f"{name} exited {len(recent)} times within {self.window:g}s "
                         f"(last exit code {code}); see {self.stack.log_path(name)}")
        delay = min(self.max_delay, self.first_delay * 2 ** (len(recent) - 1))
        self.due[name] = now + delay
        self._tell(name, f"{what}; restarting it in {delay:g}s "
                         f"(exit {len(recent)} of {self.max_exits} allowed within {self.window:g}s)")

    def _restart(self, name: str) -> None:
        proc = self.stack.respawn(name)
        self._tell(name, f"restarted {name} (pid {proc.pid})")

    def _tell(self, name: str, text: str) -> None:
        self.say(f"supervisor: {text}")
        self.stack.note(name, f"supervisor: {text}")

    @contextmanager
    def hold(self, name: str):
        """Leave ``name`` alone while the block runs (kept down on purpose, as
        a fault test does); restart it at once afterwards if it is down."""
        with self._lock:
            self.held.add(name)
        try:
            yield
        finally:
            with self._lock:
                self.held.discard(name)
                if self.stack.procs[name].poll() is not None:
                    self._tell(name, f"{name} was held down (exit code "
                                     f"{self.stack.procs[name].returncode}); starting it again")
                    self._restart(name)
