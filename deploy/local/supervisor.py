"""Supervision for the local stack (``python -m deploy.local.stack run``):
restart what dies, with backoff, say so, and give up on what keeps dying,
as a production process supervisor would. The fault tests run it too.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from deploy.local.stack import Stack


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
    Each exit and restart is said on the console and in the process's log.
    """

    def __init__(self, stack: Stack, first_delay: float = 1.0, max_delay: float = 30.0,
                 max_exits: int = 5, window: float = 60.0, say=print):
        self.stack = stack
        self.first_delay, self.max_delay = first_delay, max_delay
        self.max_exits, self.window = max_exits, window
        self.say = say
        self.exits: dict[str, list[float]] = {}  # name -> when it exited (monotonic)
        self.due: dict[str, float] = {}  # name -> when to restart it
        self.held: set[str] = set()
        self._lock = threading.Lock()

    def check(self) -> None:
        with self._lock:
            now = time.monotonic()
            for name, proc in list(self.stack.procs.items()):
                if name not in self.held and name not in self.due and proc.poll() is not None:
                    self._exited(name, proc.returncode, now)
            for name, when in list(self.due.items()):
                if when <= now:
                    del self.due[name]
                    self._restart(name)

    def _exited(self, name: str, code: int, now: float) -> None:
        if self.stack.ephemeral(name):
            raise GaveUp(f"{name} exited with code {code}; its in-memory data is gone")
        recent = [at for at in self.exits.get(name, []) if now - at < self.window] + [now]
        self.exits[name] = recent
        if len(recent) >= self.max_exits:
            self._tell(name, f"{name} exited with code {code}, {len(recent)} times within "
                             f"{self.window:g}s: giving up")
            raise GaveUp(f"{name} exited {len(recent)} times within {self.window:g}s "
                         f"(last exit code {code}); see {self.stack.log_path(name)}")
        delay = min(self.max_delay, self.first_delay * 2 ** (len(recent) - 1))
        self.due[name] = now + delay
        self._tell(name, f"{name} exited with code {code}; restarting it in {delay:g}s "
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
