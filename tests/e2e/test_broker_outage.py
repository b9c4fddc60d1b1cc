"""A service whose broker goes away, as a real ``nameko run`` process (the
services' config.yaml, logging included) on a virtual host of the test's
own: the test refuses that host to the service and closes its connections,
as an outage or a locked-out account does, then allows it again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
from kombu import Connection

from deploy.local.stack import ensure_vhost, free_port
from deploy.registry import ROOT, SERVICES, config_path
from services.courier.service import CourierEvents
from shared.messaging import missing_from, topology_parts
from tests.conftest import drop_vhost, make_vhost
from tests.helpers import eventually

OUTAGE_SECONDS = 8


def rabbitmqctl(*args: str) -> str:
    return subprocess.run(["rabbitmqctl", *args], capture_output=True, text=True,
                          check=True).stdout


def refuse(vhost: str) -> None:
    """Take the vhost from the service: no new connection is allowed, and
    the ones it has are closed."""
    rabbitmqctl("clear_permissions", "-p", vhost, "guest")
    for line in rabbitmqctl("list_connections", "-q", "pid", "vhost").splitlines():
        pid, _, connection_vhost = line.partition("\t")
        if connection_vhost.strip() == vhost:
            subprocess.run(["rabbitmqctl", "close_connection", pid, "test: broker outage"],
                           capture_output=True)


def allow(vhost: str) -> None:
    rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")


class Service:
    """A service, started as the stack starts it, on a vhost of its own."""

    def __init__(self, backing, name: str, log: Path):
        self.vhost = make_vhost("outage")
        self.url = f"http://127.0.0.1:{free_port()}"
        env = {**backing.env(), "AMQP_URI": f"pyamqp://guest:guest@127.0.0.1:5672/{self.vhost}",
               f"{name.upper()}_ADDRESS": self.url.removeprefix("http://"),
               f"{name.upper()}_DATABASE": f"{name}_outage_{uuid.uuid4().hex[:8]}",
               # production's log level and polling: what is logged is the outage
               "LOG_LEVEL": "INFO", "COURIER_POLL_INTERVAL_SECONDS": "300"}
        self.log = log
        nameko = str(Path(sys.executable).parent / "nameko")
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                [nameko, "run", "--config", str(config_path(name)), *SERVICES[name]],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        eventually(self.ready, timeout=60, what=f"{name} ready")

    def ready(self) -> bool:
        try:
            return requests.get(f"{self.url}/health/ready", timeout=5).status_code == 200
        except requests.RequestException:
            return False

    def logged(self, since: int = 0) -> str:
        return self.log.read_text(errors="replace")[since:]

    def close(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        drop_vhost(self.vhost)


@pytest.fixture
def courier(backing, tmp_path):
    service = Service(backing, "courier", tmp_path / "courier.log")
    yield service
    service.close()


@pytest.fixture
def intake(backing, tmp_path):
    service = Service(backing, "intake", tmp_path / "intake.log")
    yield service
    service.close()


def broker_lost(service, since: int) -> bool:
    return any("WARNING" in line and "broker" in line
               for line in service.logged(since).splitlines())


def outage_logged(service, back: str = "broker back", times: int = 1) -> list[str]:
    """The service's log from the loss of its vhost until it is back (``back``
    logged ``times``)."""
    before = len(service.logged())
    refuse(service.vhost)
    eventually(lambda: broker_lost(service, before), what="the loss logged")
    time.sleep(OUTAGE_SECONDS)  # the outage itself: what it writes to the log is the test
    allow(service.vhost)
    eventually(service.ready, timeout=60, what="ready again")
    eventually(lambda: "broker back" in service.logged(before)
               and service.logged(before).count(back) >= times, timeout=60,
               what="the reconnection logged")
    return service.logged(before).splitlines()


def test_a_broker_outage_is_a_line_when_lost_and_a_line_when_back(courier):
    """Each consumer connection retried once a second, forever, logging a
    55-line traceback each time (1,294 lines in 20 s for courier): the
    connection lost is one line saying why, the retries back off (1, 2, 4 ...
    30 s), and the reconnection is one line."""
    outage = outage_logged(courier)
    assert not any("Traceback" in line for line in outage), "\n".join(outage[-60:])
    assert len(outage) <= 10, "\n".join(outage[-60:])
    [lost] = [line for line in outage if "lost the broker" in line]
    assert " WARNING " in lost and "ConnectionForced" in lost
    [back] = [line for line in outage if "broker back" in line]
    assert " INFO " in back


def test_intakes_pipeline_watch_says_once_that_it_lost_the_broker(intake):
    """Intake's watch of the pipeline behind it (shared/pipeline.py) polls
    every second, and said each second that the backlog was unknown."""
    # each watch polls on its own second: wait for both to have seen it back
    outage = outage_logged(intake, back="known again", times=2)
    assert not any("Traceback" in line for line in outage), "\n".join(outage[-60:])
    unknown = [line for line in outage if "pipeline backlog" in line and "unknown" in line]
    known = [line for line in outage if "pipeline backlog" in line and "known again" in line]
    # once for each container that watches (the HTTP API and the channel)
    assert len(unknown) == len(known) == 2, "\n".join(outage[-60:])
    assert len(outage) <= 20, "\n".join(outage[-60:])


def test_a_service_stops_on_sigterm_while_its_broker_is_away(courier):
    """SIGTERM waited for the consumer, which was in kombu's reconnect loop
    for good: the service ran on until SIGKILL."""
    before = len(courier.logged())
    refuse(courier.vhost)
    eventually(lambda: broker_lost(courier, before), what="the loss logged")
    os.killpg(courier.proc.pid, signal.SIGTERM)
    try:
        courier.proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail("courier still running 30 s after SIGTERM:\n" + courier.logged(before)[-3000:])


def missing_queues(vhost: str, queues: list[str]) -> str | None:
    class Queues:  # a part of the topology that is these queues only
        @staticmethod
        def names():
            return [], queues
    with Connection(f"pyamqp://guest:guest@127.0.0.1:5672/{vhost}") as connection:
        return missing_from(connection, [Queues])


def courier_queues() -> list[str]:
    """Each courier handler's queue and its dead-letter queue."""
    return [name for part in topology_parts(CourierEvents, {})
            for name in (part.queue.name, f"{part.queue.name}.dlq")]


def readiness(service) -> tuple[int, dict]:
    answer = requests.get(f"{service.url}/health/ready", timeout=10)
    return answer.status_code, answer.json()


def test_a_service_whose_broker_lost_its_state_declares_its_queues_again(courier):
    """Outside audit K: after a wipe kombu declared each handler's queue
    again, not its dead-letter queue or the wait queues (the first retry
    then ended the service), and /health/ready said ok meanwhile."""
    queues = courier_queues()
    assert missing_queues(courier.vhost, queues) is None
    rabbitmqctl("delete_vhost", courier.vhost)  # all its queues, exchanges, users' rights
    assert ensure_vhost(courier.vhost)  # made again, empty, as a rebuilt broker's
    eventually(lambda: missing_queues(courier.vhost, queues) is None, timeout=60,
               what="every handler's queue and dead-letter queue declared again")
    eventually(courier.ready, timeout=30, what="ready")
    assert courier.proc.poll() is None, courier.logged()[-3000:]


def test_readiness_says_not_ready_while_the_service_cannot_declare_a_missing_queue(courier):
    """The API container checks its event container's queues; one missing is
    declared again - and while the broker refuses that, the service is not
    ready."""
    dlq = courier_queues()[1]
    with Connection(f"pyamqp://guest:guest@127.0.0.1:5672/{courier.vhost}") as connection, \
            connection.channel() as channel:
        channel.queue_delete(dlq)  # nothing asks the service to declare it meanwhile
    rabbitmqctl("set_permissions", "-p", courier.vhost, "guest", "^$", ".*", ".*")
    try:
        status, body = eventually(lambda: (lambda answer: answer if answer[0] == 503 else None)(
            readiness(courier)), timeout=30, what="not ready")
        assert body["broker"] == "unavailable" and body["database"] == "ok"
        assert f"the broker has no queue {dlq}" in courier.logged()
    finally:
        allow(courier.vhost)
    eventually(lambda: readiness(courier)[0] == 200, timeout=30, what="ready again")
    assert missing_queues(courier.vhost, [dlq]) is None
