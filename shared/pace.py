"""A steady rate for work that could otherwise flood what comes after it.

A service publishing an hour of kept events again (``shared.outbox``) did it
as fast as the broker confirmed: an outside audit saw ~7,000 events in a few
seconds fill the queues behind intake, whose admission then refused new
applications for ~22 s (147 answers 503) while the consumers worked through
what they had mostly handled already. Paced, the same events reach the
consumers at a rate they take beside the citizens' own work.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class Pace:
    """At most ``per_second`` steps a second, counted from the first step: a
    step taken late (a slow publish) lets the next ones catch up, so the
    average holds without a step ever waiting longer than one interval for
    nothing. ``per_second`` 0: no pace at all."""

    def __init__(self, per_second: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.per_second = per_second
        self.clock, self.sleep = clock, sleep
        self.started: float | None = None
        self.steps = 0

    def step(self) -> None:
        """Wait until the next step is due, and count it."""
        if self.per_second > 0:
            now = self.clock()
            if self.started is None:
                self.started = now
            due = self.started + self.steps / self.per_second
            if due > now:
                self.sleep(due - now)
        self.steps += 1
