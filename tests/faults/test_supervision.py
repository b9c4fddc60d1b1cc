"""The local stack restarts what dies, with backoff, says so, and gives up
on a process that keeps dying (``make run``; issue 6, item 11); a service
that stops answering its liveness probe is killed and restarted."""

from __future__ import annotations

import dataclasses
import re
import signal
import sys
import time

import pytest
import requests

from deploy.local.stack import Stack, free_port
from deploy.local.supervisor import GaveUp, Supervisor
from tests.conftest import drop_vhost, make_vhost
from tests.helpers import SYSTEM_ENV, eventually

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]
CRASHER = [sys.executable, "-c", "raise SystemExit(3)"]


@pytest.fixture
def stack(tmp_path):
    stack = Stack(tmp_path)
    (tmp_path / "logs").mkdir()
    yield stack
    stack.stop()


def supervise_until(supervisor: Supervisor, done, what: str, timeout: float = 10):
    def round_done():
        supervisor.check()
        return done()
    return eventually(round_done, timeout=timeout, interval=0.02, what=what)


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


def ready(stack: Stack, name: str) -> bool:
    try:
        return requests.get(stack.url(name) + "/health/ready", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def test_a_service_that_stops_answering_is_killed_and_restarted(backing, tmp_path):
    """Outside review: ``kill -STOP`` of a service, and for minutes nothing
    was said or restarted - the supervisor looked only at exits, though
    /health/live promises a supervisor restarts a process that does not
    answer. Here the probes are a second apart (10 s in ``make run``)."""
    vhost = make_vhost("liveness")
    stack = Stack(tmp_path, ports=dataclasses.replace(backing.ports, courier=free_port()),
                  amqp_uri=f"pyamqp://guest:guest@127.0.0.1:5672/{vhost}",
                  mongo_uri=backing.mongo_uri, extra_env=SYSTEM_ENV)
    said = []
    supervisor = Supervisor(stack, first_delay=0.1, say=said.append, probe_every=1.0,
                            probe_timeout=1.0, probe_failures=3)
    try:
        stack.declare_topology()
        stack.start_services(["courier"])
        frozen = stack.procs["courier"]
        supervise_until(supervisor, lambda: supervisor.liveness["courier"].answered,
                        "courier answering its liveness probe")
        stack.send_signal("courier", signal.SIGSTOP)

        supervise_until(supervisor, lambda: stack.procs["courier"] is not frozen
                        and ready(stack, "courier"), "courier restarted and ready", timeout=120)
        assert frozen.returncode == -signal.SIGKILL  # stopped: TERM would not have ended it
        assert re.fullmatch(r"supervisor: courier did not answer /health/live for [2-5]s; "
                            r"restarting it in 0\.1s \(exit 1 of 5 allowed within 60s\)",
                            said[0]), said
        assert said[1] == f"supervisor: restarted courier (pid {stack.procs['courier'].pid})"
        assert said[0] in stack.log_path("courier").read_text()
    finally:
        stack.stop()
        drop_vhost(vhost)


def test_only_the_services_are_probed(stack):
    """The database, SMTP and the sandboxes serve no /health/live: a
    process of another name that answers nothing is left running."""
    supervisor = Supervisor(stack, say=lambda text: None, probe_every=0.01, probe_timeout=0.01,
                            probe_failures=1, start_grace=0)
    sleeper = stack.spawn("sandbox", SLEEPER)
    for _ in range(20):
        supervisor.check()
        time.sleep(0.02)
    assert stack.procs["sandbox"] is sleeper and sleeper.poll() is None
    assert supervisor.liveness == {}
