"""``shared.pace.Pace``: a steady rate, on a clock of the test's own."""

from __future__ import annotations

from shared.pace import Pace


class Clock:
    """Time that moves only when slept through, or when the test says."""

    def __init__(self):
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


def test_steps_come_one_interval_apart_from_the_first():
    clock = Clock()
    pace = Pace(4, clock=clock, sleep=clock.sleep)
    for _ in range(5):
        pace.step()
    assert clock.slept == [0.25, 0.25, 0.25, 0.25]  # the first at once
    assert clock.now == 101.0


def test_a_late_step_lets_the_next_catch_up_but_never_runs_ahead_of_the_rate():
    clock = Clock()
    pace = Pace(10, clock=clock, sleep=clock.sleep)
    pace.step()
    clock.now += 0.35  # the publish took three and a half intervals
    pace.step()
    pace.step()
    pace.step()  # due at 0.3 s: all three at once, no wait
    assert clock.slept == []
    pace.step()  # due at 0.4 s, it is 0.35 s
    assert clock.slept == [0.05]
    assert pace.steps == 5


def test_zero_is_no_pace():
    clock = Clock()
    pace = Pace(0, clock=clock, sleep=clock.sleep)
    for _ in range(1000):
        pace.step()
    assert clock.slept == [] and pace.steps == 1000
