"""A test still running after ``HUNG_TEST_SECONDS`` stops the whole run,
saying which test and where every thread and greenthread was.

``faulthandler_timeout`` (pytest.ini) only prints stacks, into pytest's
capture of the test's output, and the run hangs on: CI stopped a run at its
90 minutes with nothing said (a ``rabbitmqctl delete_vhost`` that never
returned). This watchdog is a real OS thread (eventlet patches ``threading``
and ``time.sleep``; a green one would never run while the hub is blocked),
writes to the terminal of the process that started pytest (the test's own
stderr is captured), and exits 3. A pytest plugin (the root conftest
loads it); ``HUNG_TEST_SECONDS`` in the environment sets the limit.
"""

from __future__ import annotations

import faulthandler
import gc
import os
import sys
import time
import traceback

import greenlet
import pytest
from eventlet import patcher

# the slowest test takes ~2 min on a loaded machine; a hung one waits forever
HUNG_TEST_SECONDS = float(os.environ.get("HUNG_TEST_SECONDS", 900))


class Watchdog:
    def __init__(self, seconds: float = HUNG_TEST_SECONDS):
        self.seconds = seconds
        self.test: str | None = None
        self.since = 0.0
        patcher.original("threading").Thread(target=self._watch, daemon=True,
                                             name="hung-test-watchdog").start()

    def started(self, test: str) -> None:
        self.test, self.since = test, time.monotonic()

    def ended(self) -> None:
        self.test = None

    def _watch(self) -> None:
        sleep = patcher.original("time").sleep
        while True:
            sleep(5)
            test, since = self.test, self.since
            if test is not None and time.monotonic() - since > self.seconds:
                self._stop(test)

    def _stop(self, test: str) -> None:
        out = terminal()
        out.write(f"\n\n{test} still running after {self.seconds:.0f} s: the run stops here. "
                  "Every thread's stack, then every greenthread's:\n")
        out.flush()
        faulthandler.dump_traceback(out, all_threads=True)
        for thing in gc.get_objects():
            if isinstance(thing, greenlet.greenlet) and thing.gr_frame is not None:
                out.write("\ngreenthread:\n")
                traceback.print_stack(thing.gr_frame, file=out)
        out.flush()
        os._exit(3)


def terminal():
    """The stderr of the process that started pytest (``make``, a shell), in
    append mode (a log file it writes is not truncated); pytest's own if that
    cannot be opened."""
    try:
        return open(f"/proc/{os.getppid()}/fd/2", "a")
    except OSError:
        return sys.__stderr__


WATCHDOG: Watchdog | None = None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """Each test, its fixtures' set-up and teardown included, is watched."""
    global WATCHDOG
    if WATCHDOG is None:
        WATCHDOG = Watchdog()
    WATCHDOG.started(item.nodeid)
    yield
    WATCHDOG.ended()
