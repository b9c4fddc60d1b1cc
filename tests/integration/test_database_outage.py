"""Intake answers 503 with Retry-After, fast, when its database is gone:
its probes within a fraction of a second, its requests at once while the
driver knows no server (not after MONGO_TIMEOUT_MS each)."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import eventlet
import requests
from pymongo import MongoClient

from deploy.local.stack import free_port, local_mongo_uri, port_open, wait_until
from services.intake.domain import new_application
from services.intake.schemas import ApplicationRequestSchema
from services.intake.service import IntakeApi
from shared.mongo import StoreWithOutbox
from shared.outbox import OutboxRelay
from tests.helpers import eventually, random_kk, random_mobile, random_nik, service_config


@contextmanager
def database_server(backing, database: str, **settings):
    """A throwaway database server of the test's own, killed when the block
    ends; yields it and the config of an intake container that uses it."""
    port = free_port()
    server = subprocess.Popen([str(Path(sys.executable).parent / "secantusd-py"), "--host",
                               "127.0.0.1", "--port", str(port), "--storage-path", ":memory:",
                               "--log-level", "ERROR"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: port_open(port), "throwaway database server", proc=server)
        yield server, service_config(backing, database, MONGO_URI=local_mongo_uri(port),
                                     **settings)
    finally:
        server.kill()
        server.wait()


@contextmanager
def doomed_database(backing, database: str):
    """``database_server`` killed when the block ends; yields the config."""
    with database_server(backing, database, MONGO_TIMEOUT_MS=1000) as (_, config):
        yield config


def started_intake(container_factory, config) -> str:
    """Start an intake container on ``config``; its submit URL."""
    container_factory(IntakeApi, config).start()
    return f"http://{config['WEB_SERVER_ADDRESS']}/api/v1/applications"


def first_ktp_el() -> dict:
    return {"document_type": "ktp_el", "channel": "web", "details": {"reason": "first_issue"},
            "applicant": {"nik": random_nik(), "kk_number": random_kk(),
                          "full_name": "Dewi Lestari", "phone": random_mobile()}}


def test_intake_answers_503_when_the_database_is_unreachable(backing, container_factory):
    with doomed_database(backing, "intake_outage") as config:
        url = started_intake(container_factory, config)
        body = first_ktp_el()
        assert requests.post(url, json=body, timeout=10).status_code == 202

    body["applicant"]["nik"] = random_nik()
    started = time.monotonic()
    response = requests.post(url, json=body, timeout=30)
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == "2"
    assert response.json()["error"]["code"] == "unavailable"
    assert time.monotonic() - started < 15  # bounded by the server-selection timeout, not a hang


def test_a_conflicting_open_transaction_gives_503_then_the_retry_succeeds(
        backing, container_factory, mongo):
    """A killed intake's transaction still holds the Idempotency-Key's slot:
    the retry waits out its budget and answers 503 + Retry-After, never a 500;
    once the server drops the dead transaction, the same retry gets its 202."""
    database = f"intake_conflict_{random_nik()[-6:]}"
    url = started_intake(container_factory, service_config(backing, database, TRANSACTION_BUDGET_SECONDS=1))
    key = {"Idempotency-Key": f"conflict-{random_nik()}"}
    body = first_ktp_el()

    with mongo.start_session() as dead_process:
        dead_process.start_transaction()
        mongo[database].applications.insert_one(
            {"tracking_code": "SDKDEAD0001", "idempotency_key": key["Idempotency-Key"],
             "applicant": {"nik": body["applicant"]["nik"]}, "document_type": "ktp_el",
             "active": True}, session=dead_process)
        started = time.monotonic()
        blocked = requests.post(url, json=body, headers=key, timeout=30)
        assert blocked.status_code == 503, blocked.text
        assert blocked.headers["Retry-After"] == "2"
        assert time.monotonic() - started < 10
        dead_process.abort_transaction()

    retried = requests.post(url, json=body, headers=key, timeout=30)
    assert retried.status_code == 202, retried.text
    assert mongo[database].applications.count_documents({}) == 1


def test_a_retry_that_meets_its_earlier_try_landing_gets_the_earlier_answer(
        backing, container_factory, mongo):
    """The earlier try of a request (answered 503 while the server still held
    its insert) lands between the retry's look-up by Idempotency-Key and the
    retry's own insert: the insert is refused by a unique index - the server
    names the one-active rule's first - and the retry still gets the earlier
    application's 202, not a 409 (seen once in CI)."""
    database = f"intake_landing_{random_nik()[-6:]}"
    url = started_intake(container_factory, service_config(backing, database))
    key = {"Idempotency-Key": f"landing-{random_nik()}"}
    body = first_ktp_el()
    loaded = ApplicationRequestSchema().load(body)
    earlier = new_application(loaded, loaded["details"], key["Idempotency-Key"])
    answers = []

    with mongo.start_session() as earlier_try:
        earlier_try.start_transaction()
        mongo[database].applications.insert_one(earlier, session=earlier_try)
        retry = threading.Thread(target=lambda: answers.append(
            requests.post(url, json=body, headers=key, timeout=30)))
        retry.start()
        time.sleep(0.3)  # the retry has looked the key up (nothing yet) and waits to insert
        earlier_try.commit_transaction()
    retry.join(30)

    assert answers[0].status_code == 202, answers[0].text
    assert answers[0].json()["tracking_code"] == earlier["tracking_code"]
    assert mongo[database].applications.count_documents({}) == 1


def test_readiness_says_not_ready_when_the_database_is_down(backing, container_factory):
    with doomed_database(backing, "intake_readiness") as config:
        container = container_factory(IntakeApi, config)
        container.start()
        base = f"http://{config['WEB_SERVER_ADDRESS']}"
        ready = requests.get(f"{base}/health/ready", timeout=30)
        assert ready.status_code == 200, ready.text

    not_ready = requests.get(f"{base}/health/ready", timeout=30)
    assert not_ready.status_code == 503, not_ready.text
    assert not_ready.json() == {"status": "not_ready", "service": "intake_api",
                                "database": "unavailable", "broker": "ok"}
    assert not_ready.headers["Retry-After"] == "2"
    assert requests.get(f"{base}/health/live", timeout=30).status_code == 200


def frozen(pid: int) -> bool:
    """Whether every thread of ``pid`` is stopped (state T in /proc)."""
    states = [Path(task, "stat").read_text().rsplit(")", 1)[1].split()[0]
              for task in Path(f"/proc/{pid}/task").iterdir()]
    return all(state == "T" for state in states)


def refused_at_once(url: str) -> bool:
    """A submit answered 503 + Retry-After before a client that gives up in
    3 s - sooner than MONGO_TIMEOUT_MS (5 s in these tests) - stops waiting."""
    try:
        answer = requests.post(url, json=first_ktp_el(), timeout=3)
    except requests.Timeout:
        return False
    assert answer.status_code == 503, answer.text
    assert answer.headers["Retry-After"] == "2"
    assert answer.json()["error"]["code"] == "unavailable"
    return True


def test_a_frozen_database_is_reported_by_the_probes_before_its_timeout(
        backing, container_factory):
    """A database that accepts connections and answers nothing (SIGSTOP):
    /health/ready and /health answer 503 + Retry-After naming the database
    before a client that waits less than MONGO_TIMEOUT_MS gives up - an
    orchestrator's probe gets the answer, not a timeout - and /health says
    the database, not "busy". Submits, once the driver has noticed, are
    refused at once instead of each waiting out the timeout; all is back by
    itself when the server answers again."""
    with database_server(backing, "intake_frozen", MONGO_TIMEOUT_MS=5000) as (server, config):
        url = started_intake(container_factory, config)
        base = f"http://{config['WEB_SERVER_ADDRESS']}"
        assert requests.get(f"{base}/health/ready", timeout=30).status_code == 200
        server.send_signal(signal.SIGSTOP)
        try:
            # a server thread already running on the other core may answer
            # one more request before the stop takes: wait until it has
            eventually(lambda: frozen(server.pid), what="the database server stopped")
            ready = requests.get(f"{base}/health/ready", timeout=3)
            assert ready.status_code == 503, ready.text
            assert ready.json() == {"status": "not_ready", "service": "intake_api",
                                    "database": "unavailable", "broker": "ok"}
            health = requests.get(f"{base}/health", timeout=3)
            assert health.status_code == 503, health.text
            assert health.headers["Retry-After"] == "2"
            assert health.json() == {"status": "unavailable", "service": "intake_api",
                                     "database": "unavailable"}
            assert requests.get(f"{base}/health/live", timeout=3).status_code == 200
            eventually(lambda: refused_at_once(url), timeout=60,
                       what="a submit refused before the client's 3 s")
        finally:
            server.send_signal(signal.SIGCONT)
        eventually(lambda: requests.get(f"{base}/health/ready", timeout=10).status_code == 200,
                   what="ready again")
        eventually(lambda: requests.post(url, json=first_ktp_el(), timeout=10).status_code
                   == 202, what="a submit accepted again")


def test_requests_are_refused_at_once_while_the_database_is_known_to_be_down(
        backing, container_factory):
    """The server is gone (connection refused): once a request has found out,
    every next one is answered 503 + Retry-After at once, not after
    MONGO_TIMEOUT_MS of server selection each."""
    with database_server(backing, "intake_gone", MONGO_TIMEOUT_MS=5000) as (server, config):
        url = started_intake(container_factory, config)
        assert requests.post(url, json=first_ktp_el(), timeout=10).status_code == 202
        server.kill()
        server.wait()
        assert requests.post(url, json=first_ktp_el(), timeout=30).status_code == 503
        for _ in range(3):
            assert refused_at_once(url)
def test_the_outbox_relay_says_the_database_is_away_in_one_line(backing, caplog):
    """Each attempt of the relay logged pymongo's whole traceback (~60
    lines) while the database was down: now one line saying why."""
    client = MongoClient(local_mongo_uri(free_port()), serverSelectionTimeoutMS=200)
    relay = OutboxRelay(client.outbox_gone.outbox, backing.amqp_uri, "nobody", {})
    caplog.set_level(logging.INFO, logger="shared.outbox")
    relay.start(lambda run, identifier: eventlet.spawn(run))
    try:
        eventually(lambda: [r for r in caplog.records if "outbox relay failed" in r.message],
                   what="the relay's failure logged")
    finally:
        relay.stop()
        client.close()
    failure = next(r for r in caplog.records if "outbox relay failed" in r.message)
    assert failure.levelname == "WARNING" and failure.exc_info is None
    assert "(attempt 1; ServerSelectionTimeoutError: " in failure.message


def test_the_client_polls_its_database_server_rather_than_streaming(backing, container_factory):
    """Outside audit L F2: after a 20 s freeze of the database (SIGSTOP, then
    SIGCONT) /health/ready said "unavailable" for ~10 s while requests were
    served. Streaming monitoring pings for the round-trip time on a second
    connection: that ping and the monitor's hello, both sent during the
    freeze, came back with its seconds as their round trips, and pymongo
    refused the probe's 0.5 s ping without sending it until the next ping
    (``StoreWithOutbox.setup``). A configuration check: the freeze itself
    takes ~30 s and a race to reproduce in a test."""
    container = container_factory(IntakeApi, service_config(backing, "intake_monitoring"))
    stores = [provider for provider in container.dependencies
              if isinstance(provider, StoreWithOutbox)]
    container.start()
    assert stores
    assert {store.client.options.server_monitoring_mode for store in stores} == {"poll"}
