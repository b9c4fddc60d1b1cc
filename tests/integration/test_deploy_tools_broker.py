"""The deploy tools (``deploy.topology``, ``deploy.dlq``, ``deploy.replay``)
and ``make run`` against a broker that does not answer, or refuses them:
they wait for one that is slow or starting, then say so in one line naming
the broker's host and port - never its password - and exit 1 (outside
review: a 38-line ConnectionRefusedError, amqp's NotAllowed and pika's
AMQPConnectionError tracebacks, and ``make run`` dead at a slow handshake).
While they wait they say so, once and then every ~10 s: a minute of silence
read as a hang. ``deploy.replay`` names a database server that does not
answer the same way, in one line (it ended in pymongo's traceback)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from pymongo import MongoClient

from deploy.local.stack import NotStarted, Ports, Stack, local_mongo_uri, port_open, wait_until
from tests.conftest import drop_vhost, make_vhost
from tests.faults.proxy import TcpProxy

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "Rahasia-Sekali-42"


def run_tool(*argv: str, amqp_uri: str, timeout: float = 90, **env: str
             ) -> tuple[subprocess.CompletedProcess, float]:
    began = time.monotonic()
    done = subprocess.run([sys.executable, *argv], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "AMQP_URI": amqp_uri, **env})
    return done, time.monotonic() - began


def assert_one_line(done: subprocess.CompletedProcess, *named: str, waited: tuple[str, ...] = ()
                    ) -> str:
    """``done`` failed (1) saying ``named`` in its last line, with no
    traceback and no password; before it, one line saying each of ``waited``."""
    said = (done.stdout + done.stderr).strip()
    assert done.returncode == 1, said
    assert "Traceback" not in said and PASSWORD not in said, said
    *before, last = said.splitlines()
    assert len(before) == len(waited), said
    for line, words in zip(before, waited):
        assert words in line, said
    for words in named:
        assert words in last, said
    return said


@pytest.fixture
def closed_port() -> int:
    proxy = TcpProxy(("127.0.0.1", 5672))
    proxy.close()  # its port now refuses connections
    return proxy.port


@pytest.fixture
def vhost() -> str:
    name = make_vhost("deploytools")
    yield name
    drop_vhost(name)


TOOLS = [("-m", "deploy.topology"), ("-m", "deploy.dlq", "list"),
         ("-m", "deploy.dlq", "show", "evt-x--y.on_x"), ("-m", "deploy.dlq", "replay", "q")]


@pytest.mark.parametrize("tool", TOOLS, ids=lambda tool: " ".join(tool[1:]))
def test_a_broker_that_does_not_answer_is_waited_for_out_loud_then_named_in_one_line(
        tool, closed_port):
    uri = f"pyamqp://guest:{PASSWORD}@127.0.0.1:{closed_port}//"
    done, took = run_tool(*tool, "--broker-wait", "3", amqp_uri=uri)
    broker = f"the broker at 127.0.0.1:{closed_port} (AMQP_URI) does not answer"
    said = assert_one_line(done, f"{broker} (ConnectionRefusedError; tried for 3s)",
                           waited=[f"{broker} (ConnectionRefusedError): trying again for up "
                                   "to 3s"])
    assert done.stderr.count("\n") == 2, said  # both on stderr: stdout is the tool's output
    assert took >= 3, said  # tried again before giving up (1 s, then 2 s later)


def test_a_long_wait_says_it_still_waits_every_ten_seconds_and_no_more(closed_port):
    """Tries at 0, 1, 3, 7 and 15 s, then at the deadline: the waiting line,
    one more at 15 s (10 s or more after it), the failure."""
    uri = f"pyamqp://guest:{PASSWORD}@127.0.0.1:{closed_port}//"
    done, _ = run_tool("-m", "deploy.dlq", "list", "--broker-wait", "16", amqp_uri=uri)
    broker = f"the broker at 127.0.0.1:{closed_port} (AMQP_URI)"
    assert_one_line(done, f"{broker} does not answer (ConnectionRefusedError; tried for 16s)",
                    waited=[f"{broker} does not answer (ConnectionRefusedError): trying again "
                            "for up to 16s",
                            f"{broker} still does not answer (ConnectionRefusedError): "])


@pytest.mark.parametrize("tool", TOOLS, ids=lambda tool: " ".join(tool[1:]))
def test_a_virtual_host_or_password_the_broker_refuses_is_named_at_once(tool):
    missing = f"pyamqp://guest:guest@127.0.0.1:5672/no_such_vhost_{uuid.uuid4().hex[:8]}"
    done, took = run_tool(*tool, amqp_uri=missing)  # the default wait, 60 s: not waited
    assert_one_line(done, "the broker at 127.0.0.1:5672 (AMQP_URI) refuses the connection: "
                          "NOT_ALLOWED - vhost no_such_vhost_")
    assert took < 30
    done, took = run_tool(*tool, amqp_uri=f"pyamqp://guest:{PASSWORD}@127.0.0.1:5672//")
    assert_one_line(done, "refuses the connection: ACCESS_REFUSED", "AMQP_URI's user, password")
    assert took < 30


def test_a_broker_that_answers_late_is_used(vhost):
    """A broker starting up (its port refusing connections for a few
    seconds): the tool says it waits, waits, and does its work, exit 0."""
    proxy = TcpProxy(("127.0.0.1", 5672))
    proxy.cut()
    tool = subprocess.Popen([sys.executable, "-m", "deploy.dlq", "list"], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "AMQP_URI":
                                 f"pyamqp://guest:guest@127.0.0.1:{proxy.port}/{vhost}"})
    try:
        waiting = tool.stderr.readline()  # its first try has failed
        assert tool.poll() is None  # still waiting
        proxy.restore()
        out, err = tool.communicate(timeout=60)
    finally:
        tool.kill()
        proxy.close()
    assert waiting == (f"dlq: the broker at 127.0.0.1:{proxy.port} (AMQP_URI) does not answer "
                       "(ConnectionRefusedError): trying again for up to 60s\n")
    assert tool.returncode == 0, err
    assert "dead-letter queue(s) not declared on this broker" in err  # a fresh virtual host
    assert "Traceback" not in err


def test_replay_names_the_broker_in_one_line(tmp_path, closed_port):
    stack = Stack(tmp_path, ports=Ports.free(), mongo_in_memory=True)
    (tmp_path / "logs").mkdir()
    proc = stack.spawn("mongodb", stack.database_command())
    try:
        wait_until(lambda: port_open(stack.ports.mongo), "database", proc=proc)
        database = f"intake_{uuid.uuid4().hex[:6]}"
        with MongoClient(local_mongo_uri(stack.ports.mongo)) as client:
            client[database].outbox.insert_one({"kept": "a database of intake's name"})
        done, _ = run_tool("-m", "deploy.replay", "--since", "2026-01-01T00:00:00Z", "intake",
                           "--broker-wait", "0",
                           amqp_uri=f"pyamqp://guest:{PASSWORD}@127.0.0.1:{closed_port}//",
                           MONGO_URI=local_mongo_uri(stack.ports.mongo), INTAKE_DATABASE=database)
    finally:
        stack.stop()
    assert_one_line(done, f"deploy.replay: the broker at 127.0.0.1:{closed_port} (AMQP_URI) does "
                          "not answer", "intake's kept events not all published again")


def test_replay_names_a_database_server_that_does_not_answer_in_one_line(closed_port):
    """Named by host and port, as the broker is: the URI carries the password."""
    done, took = run_tool("-m", "deploy.replay", "--since", "2026-01-01T00:00:00Z", "intake",
                          amqp_uri=f"pyamqp://guest:guest@127.0.0.1:{closed_port}//",
                          MONGO_URI=f"mongodb://intake:{PASSWORD}@127.0.0.1:{closed_port}/"
                                    "?serverSelectionTimeoutMS=500")
    assert_one_line(done, f"deploy.replay: the database server at 127.0.0.1:{closed_port} "
                          "(MONGO_URI) does not answer (ServerSelectionTimeoutError); "
                          "intake's kept events not all published again")
    assert took < 30


def test_the_stack_stops_in_one_line_when_its_topology_cannot_be_declared(tmp_path):
    missing = f"no_such_vhost_{uuid.uuid4().hex[:8]}"
    stack = Stack(tmp_path, ports=Ports.free(),
                  amqp_uri=f"pyamqp://guest:guest@127.0.0.1:5672/{missing}")
    with pytest.raises(NotStarted, match="deploy.topology exited with code 1"):
        stack.declare_topology()


def test_make_run_stops_in_one_line_when_no_broker_answers(tmp_path, closed_port):
    uri = f"pyamqp://guest:{PASSWORD}@127.0.0.1:{closed_port}//"
    done, _ = run_tool("-m", "deploy.local.stack", "run", "--run-dir", str(tmp_path),
                       amqp_uri=uri)
    said = (done.stdout + done.stderr).strip()
    assert done.returncode == 1, said
    assert "Traceback" not in said and PASSWORD not in said, said
    assert f"stopping everything: no broker answers at 127.0.0.1:{closed_port} (AMQP_URI)" in said
