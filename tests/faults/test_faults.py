"""Fault tests (issue 6): a steady stream of applications goes through the
whole journey while the faults hit it, one after another, each mid-flow:

* kill -9 of intake, of printing, of notification (the stack's supervisor
  restarts each, as ``make run`` does);
* the broker unreachable for 10 s (the services reach the machine's shared
  RabbitMQ through a TCP proxy this test cuts);
* the database killed and restarted 10 s later on its on-disk data;
* the database frozen (SIGSTOP) for 10 s;
* the SMS gateway failing for 60 s.

Then everything drains, and for every application that got a 202: exactly one
print job, one SMS, one e-mail (one Message-ID: a resend after notification
was killed between sending and recording it repeats its Message-ID, which a
mail client shows once; the summary counts such copies), a complete
timeline; no client saw a 5xx but
503, or waited long for an answer; nothing in any dead-letter queue; and the
services' DEBUG logs hold no NIK, KK or phone number of the stream. The
counts appear in the test command's output (``conftest.py``).
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
import requests
from pymongo import MongoClient

from deploy.local.stack import Ports, Stack, ensure_rabbitmq, port_open
from deploy.local.supervisor import GaveUp, Supervisor
from tests.conftest import drop_vhost, make_vhost
from tests.faults.journeys import RETRY_BUDGET, Journeys
from tests.faults.outcomes import (Tally, dead_letters, leaked_personal_data, pending_outbox,
                                   sms_counts, unprinted_jobs)
from tests.faults.proxy import TcpProxy
from tests.faults.report import Outcome
from tests.helpers import SYSTEM_ENV, eventually

OUTAGE = 10.0  # seconds the broker is cut, the database dead or frozen
SMS_OUTAGE = 60.0
RATE = 2.0  # applications per second
LEAD_IN = 2.0  # seconds of flow in each phase before its fault lands
# a dead or frozen database is answered 503 within the services' database
# timeout (docs/api.md), well under this: never a request held for the outage
SLOWEST_ANSWER = 8.0
# DEBUG logs (personal data must stay out even so); a retry schedule of 138 s
# in all, which rides out the 60 s SMS outage without dead-lettering even for
# an event that already spent retries on the database fault before it; a
# database timeout well inside a client's patience
# (courier has a schedule of its own, for Pos Indonesia's outages: the same here)
FAULT_ENV = {**SYSTEM_ENV, "LOG_LEVEL": "DEBUG", "RETRY_DELAYS": "1,2,5,10,20,40,60",
             "COURIER_RETRY_DELAYS": "1,2,5,10,20,40,60", "MONGO_TIMEOUT_MS": "2000"}
BROKER = ("127.0.0.1", 5672)


@dataclass
class Faults:
    stack: Stack
    proxy: TcpProxy  # between the services and RabbitMQ
    supervisor: Supervisor
    broker_uri: str  # straight to RabbitMQ, for the test's own look at the queues
    said: list[str]  # what the supervisor said


@pytest.fixture
def faults(tmp_path):
    ensure_rabbitmq(*BROKER)
    vhost = make_vhost("faults")
    proxy = TcpProxy(BROKER)
    stack = Stack(tmp_path / "stack", ports=Ports.free(), extra_env=FAULT_ENV,
                  amqp_uri=f"pyamqp://guest:guest@127.0.0.1:{proxy.port}/{vhost}")
    said: list[str] = []
    try:
        stack.start_backing()  # the database on disk, under tmp_path
        stack.start_services()
        yield Faults(stack, proxy, Supervisor(stack, say=said.append),
                     f"pyamqp://guest:guest@{BROKER[0]}:{BROKER[1]}/{vhost}", said)
    finally:
        stack.stop()
        proxy.close()
        # the broker is shared: delete the vhost only once it has let go of
        # every connection this test had (some were cut, some killed)
        try:
            eventually(lambda: vhost not in connected_vhosts(), timeout=30, interval=1,
                       what="the test's broker connections closed")
        finally:
            drop_vhost(vhost)


def connected_vhosts() -> set[str]:
    listed = subprocess.run(["rabbitmqctl", "list_connections", "vhost", "--silent"],
                            capture_output=True, text=True, timeout=30)
    return set(listed.stdout.split())


@contextmanager
def supervising(supervisor: Supervisor):
    """The run command's loop, in a thread: what dies is restarted. Yields
    the reasons it gave up, if it did."""
    stopping, gave_up = threading.Event(), []

    def loop():
        while not stopping.is_set():
            try:
                supervisor.check()
            except GaveUp as exc:
                gave_up.append(str(exc))
                return
            time.sleep(0.2)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield gave_up
    finally:
        stopping.set()
        thread.join()


# -- the faults: each returns once its cause is gone -----------------------------

def healthy(stack: Stack, name: str) -> bool:
    try:
        return requests.get(stack.url(name) + "/health", timeout=2).ok
    except requests.RequestException:
        return False


def kill_service(name: str):
    def inject(faults: Faults) -> None:
        pid = faults.stack.procs[name].pid
        faults.stack.send_signal(name, signal.SIGKILL)
        # the supervisor restarts it after its first backoff
        eventually(lambda: faults.stack.procs[name].pid != pid and healthy(faults.stack, name),
                   timeout=60, what=f"{name} restarted by the supervisor")
    return inject


def cut_broker(faults: Faults) -> None:
    faults.proxy.cut()
    try:
        time.sleep(OUTAGE)
    finally:
        faults.proxy.restore()


def kill_database(faults: Faults) -> None:
    with faults.supervisor.hold("mongodb"):
        faults.stack.send_signal("mongodb", signal.SIGKILL)
        time.sleep(OUTAGE)
    # hold() has started it again, on the same data directory
    eventually(lambda: port_open(faults.stack.ports.mongo), what="database restarted")


def freeze_database(faults: Faults) -> None:
    faults.stack.send_signal("mongodb", signal.SIGSTOP)
    try:
        time.sleep(OUTAGE)
    finally:
        faults.stack.send_signal("mongodb", signal.SIGCONT)


def fail_sms(faults: Faults) -> None:
    sms_faults(faults.stack, {"fail_next": 10**6, "status": 503})
    try:
        time.sleep(SMS_OUTAGE)
    finally:
        sms_faults(faults.stack, {"fail_next": 0})


def sms_faults(stack: Stack, spec: dict) -> None:
    response = requests.post(stack.url("sms") + "/sandbox/faults", json=spec, timeout=5)
    assert response.status_code == 200, response.text


FAULTS = [("kill -9 intake", kill_service("intake")),
          ("kill -9 printing", kill_service("printing")),
          ("kill -9 notification", kill_service("notification")),
          (f"broker cut {OUTAGE:g}s", cut_broker),
          (f"database kill -9, {OUTAGE:g}s down", kill_database),
          (f"database frozen {OUTAGE:g}s", freeze_database),
          (f"SMS gateway failing {SMS_OUTAGE:g}s", fail_sms)]


# -- the story --------------------------------------------------------------------

def delivering(faults: Faults, earlier: int) -> bool:
    """The chain delivers again: an SMS more than ``earlier`` reached the
    gateway (a backlog may still be draining; the end of the test waits for it)."""
    return sum(sms_counts(faults.stack).values()) > earlier


def test_every_accepted_application_survives_the_faults(faults, record_property):
    assert "--sync-on-commit" in faults.stack.commands["mongodb"][0]
    started = time.monotonic()
    journeys = Journeys(faults.stack.url("intake"), faults.stack.url("printing"), RATE)
    with supervising(faults.supervisor) as gave_up, \
            MongoClient(faults.stack.mongo_uri, tz_aware=True) as client:
        journeys.start()
        timings, stuck = hit_with_every_fault(faults, journeys)
        tally, unfinished, drain_seconds = drain(faults, journeys, client, stuck)
        outcome = Outcome(journeys, tally, timings, drain_seconds, time.monotonic() - started,
                          gave_up, unfinished, pending_outbox(client),
                          dead_letters(faults.broker_uri),
                          leaked_personal_data(faults.stack, journeys.citizens), faults.said,
                          unprinted_jobs(client, journeys))

    record_property("fault_summary", outcome.summary(["steady", *(label for label, _ in FAULTS),
                                                      "drain"]))
    problems = outcome.problems(faults.stack, SLOWEST_ANSWER)
    assert not problems, "\n".join(problems)


def hit_with_every_fault(faults: Faults, journeys: Journeys):
    """Each fault in turn, once the chain delivers; returns how long each
    lasted and took to deliver again, and why the faults stopped early, if they did."""
    timings: list[tuple[str, float, float]] = []
    try:
        eventually(lambda: delivering(faults, 0), timeout=60, interval=0.5,
                   what="the first journeys through")
        for label, inject in FAULTS:
            journeys.phase = label
            time.sleep(LEAD_IN)  # applications in flight when the fault lands
            hit = time.monotonic()
            inject(faults)
            cleared, delivered = time.monotonic(), sum(sms_counts(faults.stack).values())
            eventually(lambda: delivering(faults, delivered), timeout=120, interval=0.5,
                       what=f"SMS delivered again after {label}")
            timings.append((label, cleared - hit, time.monotonic() - cleared))
    except AssertionError as exc:
        return timings, str(exc)  # no more faults; the counts still say what happened
    return timings, None


def drain(faults: Faults, journeys: Journeys, client: MongoClient, stuck: str | None):
    """Stop applying and wait until every application that got a 202 has all
    it should; returns the tally, why it did not get there (if so) and how long it took."""
    journeys.phase = "drain"
    journeys.stop_applying()
    started = time.monotonic()
    tally, unfinished = Tally(faults.stack, journeys, client), stuck
    try:
        if stuck:
            tally.refresh()  # count what there is; waiting would only hide the cause
        else:
            eventually(lambda: journeys.busy() == 0, timeout=RETRY_BUDGET + 30,
                       what="every client done submitting and verifying")
            eventually(lambda: all(c.application_id in journeys.printed
                                   for c in journeys.accepted() if c.verified),
                       timeout=90, what="every verified application printed by the station")
            eventually(tally.refresh, timeout=150, interval=2,
                       what="SMS, e-mail and timeline for every 202")
            eventually(lambda: not any(pending_outbox(client).values()), timeout=60,
                       what="every outbox empty")
    except AssertionError as exc:
        unfinished = str(exc)
        tally.refresh()  # the counts say how far it got, not zeros
    finally:
        journeys.stop()
    return tally, unfinished, time.monotonic() - started
