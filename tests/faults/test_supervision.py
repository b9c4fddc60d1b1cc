"""The local stack restarts what dies, with backoff, says so, and gives up
on a process that keeps dying (``make run``; issue 6, item 11)."""

from __future__ import annotations

import signal
import sys

import pytest

from deploy.local.stack import Stack
from deploy.local.supervisor import GaveUp, Supervisor
from tests.helpers import eventually

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]
CRASHER = [sys.executable, "-c", "raise SystemExit(3)"]


@pytest.fixture
def stack(tmp_path):
    stack = Stack(tmp_path)
    (tmp_path / "logs").mkdir()
    yield stack
    stack.stop()


def supervise_until(supervisor: Supervisor, done, what: str):
    def round_done():
        supervisor.check()
        return done()
    return eventually(round_done, timeout=10, interval=0.02, what=what)


def test_a_killed_process_is_restarted_and_its_log_says_so(stack):
    said = []
    supervisor = Supervisor(stack, first_delay=0.1, say=said.append)
    first = stack.spawn("sandbox", SLEEPER)
    stack.send_signal("sandbox", signal.SIGKILL)

    supervise_until(supervisor, lambda: stack.procs["sandbox"] is not first
                    and stack.procs["sandbox"].poll() is None, "a restarted sandbox")

    assert said == ["supervisor: sandbox exited with code -9; restarting it in 0.1s "
                    "(exit 1 of 5 allowed within 60s)",
                    f"supervisor: restarted sandbox (pid {stack.procs['sandbox'].pid})"]
    log = stack.log_path("sandbox").read_text()
    assert all(line in log for line in said)


def test_a_process_that_keeps_dying_stops_everything_with_the_reason(stack):
    said = []
    supervisor = Supervisor(stack, first_delay=0.05, say=said.append)
    stack.spawn("sandbox", SLEEPER)
    stack.spawn("crasher", CRASHER)

    with pytest.raises(GaveUp, match=r"crasher exited 5 times within 60s \(last exit code 3\)"):
        supervise_until(supervisor, lambda: False, "the supervisor giving up")

    delays = [line.split("restarting it in ")[1].split("s ")[0] for line in said
              if "restarting it in" in line]
    assert delays == ["0.05", "0.1", "0.2", "0.4"]  # doubling between exits
    assert said[-1] == "supervisor: crasher exited with code 3, 5 times within 60s: giving up"
    assert stack.procs["sandbox"].poll() is None  # stopping all is the caller's (run's) job


def test_a_process_held_down_on_purpose_is_left_alone_then_restarted(stack):
    supervisor = Supervisor(stack, first_delay=0.05, say=lambda text: None)
    first = stack.spawn("sandbox", SLEEPER)
    with supervisor.hold("sandbox"):
        stack.send_signal("sandbox", signal.SIGKILL)
        first.wait()
        supervisor.check()
        assert stack.procs["sandbox"] is first  # not restarted while held
    assert stack.procs["sandbox"] is not first and stack.procs["sandbox"].poll() is None


def test_the_in_memory_database_is_not_restarted_empty(tmp_path):
    stack = Stack(tmp_path, mongo_in_memory=True)
    (tmp_path / "logs").mkdir()
    supervisor = Supervisor(stack, say=lambda text: None)
    stack.spawn("mongodb", CRASHER)
    try:
        with pytest.raises(GaveUp, match="in-memory data is gone"):
            supervise_until(supervisor, lambda: False, "the supervisor giving up")
    finally:
        stack.stop()


def test_the_on_disk_database_journals_every_commit(tmp_path):
    stack = Stack(tmp_path)
    argv = stack.database_command()
    assert "--sync-on-commit" in argv
    assert argv[argv.index("--storage-path") + 1] == str(tmp_path / "mongo-data")
    assert "--sync-on-commit" not in Stack(tmp_path, mongo_in_memory=True).database_command()
