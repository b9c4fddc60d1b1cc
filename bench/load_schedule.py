"""The open loop ``system_bench.py``, ``intake_bench.py`` and
``republish_bench.py`` drive: requests on a fixed schedule whatever the
answers, no backoff, each timed from the moment it was planned.

A scheduler thread puts each request, with its planned time, on a queue at
that time; a pool of sender threads (each with a session of its own) sends
them. A request waits for a free sender when every sender is waiting for an
answer: that wait is part of its latency (the clock starts at the planned
time, not when a sender takes it - no coordinated omission). One a sender
takes more than ``LATE_S`` after its planned time is sent and counted
``late``; one no sender took within ``GIVE_UP_S`` (the clients' own request
timeout: a citizen's client would have given up) is not sent and counted
``not_sent``. The schedule's length (``seconds``) is what rates are divided
by; the senders then finish what is queued and in flight (the tail, in
``wall_seconds``).
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field

LATE_S = 0.1  # a request sent more than this after its planned time is late
GIVE_UP_S = 30.0  # a request no sender took within this of its planned time is not sent
# the share of requests that may be late while the offered rate still counts
# as offered (``shortfall``); none may go unsent
LATE_TOLERATED = 0.01


@dataclass
class Schedule:
    """What an open loop planned and how it kept to it (thread-safe counts)."""
    scheduled: int = 0
    sent: int = 0
    late: int = 0
    not_sent: int = 0
    seconds: float = 0.0  # the schedule's length
    wall_seconds: float = 0.0  # the schedule, then until every sender was done
    on_time: dict = field(default_factory=dict)  # kind -> sent at most LATE_S late
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count(self, **amounts: int) -> None:
        with self.lock:
            for name, amount in amounts.items():
                setattr(self, name, getattr(self, name) + amount)

    def sent_on_time(self, kind: str) -> None:
        with self.lock:
            self.on_time[kind] = self.on_time.get(kind, 0) + 1

    def figures(self) -> dict:
        return {"scheduled": self.scheduled, "sent": self.sent, "late": self.late,
                "not_sent": self.not_sent}


def open_loop(send, on_error, session_factory, rate: float, seconds: float,
              kinds: tuple[str, ...], senders: int, until=None,
              schedule: Schedule | None = None) -> Schedule:
    """``rate`` ticks a second for ``seconds`` - and after that on until
    ``until()`` is true, if given - each tick one request of each of
    ``kinds``, planned at the tick's time; ``send(session, kind, planned)``
    sends one (``planned``: its ``time.perf_counter()`` time), in one of
    ``senders`` threads; an exception it raises goes to ``on_error(kind,
    exc, planned)`` and the sender goes on. Counts into ``schedule`` (a new
    one if None), which it returns."""
    schedule = schedule if schedule is not None else Schedule()
    due: queue.Queue = queue.Queue()

    def sender():
        session = None
        while (item := due.get()) is not None:
            kind, planned = item
            waited = time.perf_counter() - planned
            if waited > GIVE_UP_S:
                schedule.count(not_sent=1)
                continue
            schedule.count(sent=1, late=int(waited > LATE_S))
            if waited <= LATE_S:
                schedule.sent_on_time(kind)
            try:
                session = session or session_factory()
                send(session, kind, planned)
            except Exception as exc:  # counted by the caller; the sender goes on
                on_error(kind, exc, planned)

    threads = [threading.Thread(target=sender, daemon=True) for _ in range(senders)]
    for thread in threads:
        thread.start()
    started, ticks = time.perf_counter(), 0
    while ticks < rate * seconds or (until is not None and not until()):
        planned = started + ticks / rate
        pause = planned - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        for kind in kinds:
            due.put((kind, planned))
        ticks += 1
    schedule.count(scheduled=ticks * len(kinds))
    for _ in threads:
        due.put(None)
    for thread in threads:
        thread.join()
    with schedule.lock:
        schedule.seconds += ticks / rate
        schedule.wall_seconds += time.perf_counter() - started
    return schedule


def shortfall(phase: dict) -> str | None:
    """Why an open-loop phase's offered rate was not really offered (from its
    JSON: ``offered_per_s``, ``sent_on_time_per_s``, ``scheduled``, ``late``,
    ``not_sent``): a request not sent at all, or more than ``LATE_TOLERATED``
    of them sent more than ``LATE_S`` late. None when it was offered, or for
    a phase with no schedule (a closed loop)."""
    scheduled = phase.get("scheduled") or 0
    late, not_sent = phase.get("late", 0), phase.get("not_sent", 0)
    if not scheduled or (not not_sent and late <= LATE_TOLERATED * scheduled):
        return None
    return (f"offered {phase['offered_per_s']:g}/s not really offered (sent on time "
            f"{phase['sent_on_time_per_s']:g}/s; of {scheduled} requests {late} sent > "
            f"{LATE_S * 1000:.0f} ms late, {not_sent} not sent)")
