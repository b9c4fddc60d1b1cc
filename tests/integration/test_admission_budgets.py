"""Under overload intake sheds submits, not status lookups nor operators:
each has an admission budget of its own (shared/http.py). A submit held in
flight (the population register answers slowly) fills a writes budget of
one; the next submit is refused at once with 503 + Retry-After, while a
citizen's status lookup, an operator's verification and the probes are
still answered. And new applications wait (HTTP: 503; the broker channel: in
the queue) while the pipeline behind intake is too far behind
(shared/pipeline.py)."""

from __future__ import annotations

import json
import logging
import re
import threading
import uuid

import eventlet
import pika
import pytest
import requests
from prometheus_client import REGISTRY

from clients.channel import ChannelClient, ReplyTimeout
from deploy.dlq import connect
from deploy.local.stack import free_port
from services.intake.channel import IntakeChannel
from services.intake.service import IntakeApi
from shared.http import WRITES, Admission
from shared.pipeline import UNKNOWN, PipelineWatch
from tests.helpers import OPERATOR, eventually, service_config, valid_body


@pytest.fixture
def slow_register(backing):
    faults = f"{backing.url('register')}/sandbox/faults"
    yield lambda ms: requests.post(faults, json={"delay_ms": ms}, timeout=5).raise_for_status()
    requests.post(faults, json={"delay_ms": 0, "fail_next": 0}, timeout=5)


def test_lookups_and_operators_are_answered_while_submits_are_shed(
        backing, container_factory, slow_register):
    config = service_config(backing, "intake_admission", ADMISSION_WRITES=1,
                            ADMISSION_LOOKUPS=4, ADMISSION_STAFF=2, REGISTER_TIMEOUT_SECONDS=60)
    container = container_factory(IntakeApi, config)
    container.start()
    base = f"http://{config['WEB_SERVER_ADDRESS']}/api/v1/applications"
    earlier = valid_body()
    accepted = requests.post(base, json=earlier, timeout=30)
    assert accepted.status_code == 202, accepted.text

    slow_register(8000)  # the next submit waits on the register, holding the budget
    held = {}
    holder = threading.Thread(target=lambda: held.update(
        answer=requests.post(base, json=valid_body(), timeout=60)))
    holder.start()
    try:
        def refused():
            answer = requests.post(base, json=valid_body(), timeout=30)
            return answer if answer.status_code == 503 else None
        shed = None
        while shed is None and holder.is_alive():
            shed = refused()
        assert shed is not None, "no submit was shed while one was held"
        assert shed.headers["Retry-After"] == "2"
        assert shed.json()["error"]["code"] == "unavailable"

        lookup = requests.post(f"{base}/status", timeout=30, json={
            "tracking_code": accepted.json()["tracking_code"], "nik": earlier["applicant"]["nik"]})
        assert lookup.status_code == 200, lookup.text
        assert lookup.json()["tracking_code"] == accepted.json()["tracking_code"]
        live = requests.get(f"http://{config['WEB_SERVER_ADDRESS']}/health/live", timeout=30)
        assert live.status_code == 200
        # the operators' budget is their own: the Dinas keeps verifying
        verified = requests.post(f"{base}/{accepted.json()['application_id']}/verify",
                                 headers=OPERATOR, timeout=30)
        assert verified.status_code == 200, verified.text
        assert verified.json()["status"] == "verified"
        assert holder.is_alive(), "the held submit ended before the checks: nothing was shown"
    finally:
        holder.join()
    assert held["answer"].status_code == 202, held["answer"].text


def test_refusals_at_once_are_one_line_of_the_access_log_not_a_line_each(
        backing, container_factory, slow_register, caplog):
    """At 4x its capacity intake refused hundreds of submits a second, and
    wrote an access line for each: ~4 % of its CPU, and a log buried under
    them. The refusals are counted, written as one line per
    REFUSALS_LINE_SECONDS (or at the stop); what was taken keeps its line."""
    caplog.set_level(logging.INFO, logger="nameko.web.server")
    config = service_config(backing, "intake_refusal_lines", ADMISSION_WRITES=1,
                            REGISTER_TIMEOUT_SECONDS=60)
    container = container_factory(IntakeApi, config)
    container.start()
    base = f"http://{config['WEB_SERVER_ADDRESS']}/api/v1/applications"
    slow_register(6000)
    held = {}
    holder = threading.Thread(target=lambda: held.update(
        answer=requests.post(base, json=valid_body(), timeout=60)))
    holder.start()
    try:
        [admission] = [extension for extension in container.extensions
                       if isinstance(extension, Admission)]
        eventually(lambda: admission.in_flight[WRITES] == 1, what="the held submit in flight")
        statuses = [requests.post(base, json=valid_body(), timeout=30).status_code
                    for _ in range(30)]
        lookup = requests.post(f"{base}/status", timeout=30,
                               json={"tracking_code": "SDK00000000", "nik": valid_body()[
                                   "applicant"]["nik"]})
        assert lookup.status_code == 404, lookup.text
        assert holder.is_alive(), "the held submit ended before the checks: nothing was shown"
    finally:
        holder.join()
    assert held["answer"].status_code == 202, held["answer"].text
    container.stop()
    lines = [record.getMessage() for record in caplog.records
             if record.name == "nameko.web.server"]
    assert statuses == [503] * 30
    assert not [line for line in lines if '" 503 ' in line], lines
    assert [line for line in lines if '"POST /api/v1/applications/status HTTP/1.1" 404' in line]
    assert [line for line in lines if '"POST /api/v1/applications HTTP/1.1" 202' in line]
    [summary] = [line for line in lines if line.startswith("refused ")]
    assert summary.startswith("refused 30 request(s) with 503"), summary
    assert summary.endswith(": POST /api/v1/applications 30"), summary


@pytest.fixture
def watched_queue(backing):
    """A queue of the broker's that intake watches as its pipeline; yields
    (its name, a function putting ``n`` messages in it, one purging it)."""
    name = f"pipeline-watched-{uuid.uuid4().hex[:8]}"
    connection = connect(backing.amqp_uri)
    channel = connection.channel()
    channel.queue_declare(name, durable=True)
    channel.confirm_delivery()

    def put(count: int) -> None:
        for number in range(count):
            channel.basic_publish("", name, json.dumps({"n": number}).encode(),
                                  pika.BasicProperties(delivery_mode=2), mandatory=True)
    yield name, put, lambda: channel.queue_purge(name)
    channel.queue_delete(name)
    connection.close()


def test_new_applications_wait_while_the_pipeline_behind_is_too_far_behind(
        backing, container_factory, mongo, watched_queue):
    """More messages wait in the watched queues than the limit: a new
    application gets 503 + Retry-After and nothing is stored, while a status
    lookup is answered; once the queues are short again, the same request is
    accepted. A watched queue that does not exist counts as empty."""
    queue, put, purge = watched_queue
    database = f"intake_pipeline_{uuid.uuid4().hex[:6]}"
    config = service_config(backing, database, PIPELINE_QUEUES=f"{queue},no-such-queue",
                            PIPELINE_BACKLOG_LIMIT=5, PIPELINE_POLL_SECONDS=0.2)
    container = container_factory(IntakeApi, config)
    container.start()
    base = f"http://{config['WEB_SERVER_ADDRESS']}"
    earlier = valid_body()
    accepted = requests.post(f"{base}/api/v1/applications", json=earlier, timeout=30)
    assert accepted.status_code == 202, accepted.text
    put(5)  # at the limit: still admitted
    eventually(lambda: backlog_gauge(base) == 5.0, what="the watch saw 5 waiting")
    at_limit = requests.post(f"{base}/api/v1/applications", json=valid_body(), timeout=30)
    assert at_limit.status_code == 202, at_limit.text

    put(1)
    eventually(lambda: backlog_gauge(base) == 6.0, what="the watch saw 6 waiting")
    body = valid_body()
    shed = requests.post(f"{base}/api/v1/applications", json=body, timeout=30,
                         headers={"Idempotency-Key": "pipeline-behind-1"})
    assert shed.status_code == 503, shed.text
    assert shed.headers["Retry-After"] == "2"
    assert shed.json()["error"]["code"] == "unavailable"
    assert mongo[database].applications.count_documents(
        {"applicant.nik": body["applicant"]["nik"]}) == 0
    lookup = requests.post(f"{base}/api/v1/applications/status", timeout=30, json={
        "tracking_code": accepted.json()["tracking_code"], "nik": earlier["applicant"]["nik"]})
    assert lookup.status_code == 200, lookup.text

    purge()
    eventually(lambda: backlog_gauge(base) == 0.0, what="the watch saw the queue empty")
    retried = requests.post(f"{base}/api/v1/applications", json=body, timeout=30,
                            headers={"Idempotency-Key": "pipeline-behind-1"})
    assert retried.status_code == 202, retried.text
    assert mongo[database].applications.count_documents(
        {"applicant.nik": body["applicant"]["nik"]}) == 1


def test_a_broker_that_does_not_answer_leaves_the_backlog_unknown_and_admits():
    watch = PipelineWatch("intake_api", f"pyamqp://guest:guest@127.0.0.1:{free_port()}//",
                          ("evt-anything",), limit=0)
    assert watch.poll() == UNKNOWN
    assert not watch.behind()


def backlog_gauge(base: str) -> float | None:
    text = requests.get(f"{base}/metrics", timeout=10).text
    found = re.search(r'^smartdukcapil_pipeline_backlog'
                      r'\{container="intake_api",service="intake"\} (\S+)$', text, re.M)
    return float(found.group(1)) if found else None



def test_a_channel_request_waits_in_its_queue_while_the_pipeline_is_behind(
        backing, container_factory, mongo, watched_queue):
    """Over the broker channel nothing is refused: while the pipeline is too
    far behind a request stays unanswered and unstored, held by the broker;
    once the pipeline has caught up it gets its 202."""
    queue, put, purge = watched_queue
    database = f"intake_gate_{uuid.uuid4().hex[:6]}"
    config = service_config(backing, database, PIPELINE_QUEUES=queue,
                            PIPELINE_BACKLOG_LIMIT=0, PIPELINE_POLL_SECONDS=0.2)
    put(1)
    container_factory(IntakeChannel, config).start()
    eventually(lambda: REGISTRY.get_sample_value("smartdukcapil_pipeline_backlog", {
        "service": "intake", "container": "intake_channel"}) == 1.0,
        what="the channel's watch saw 1 waiting")
    held_until(backing, mongo[database], purge)


def test_a_channel_request_waiting_for_the_pipeline_is_requeued_when_intake_stops(
        backing, container_factory, mongo, watched_queue):
    """A channel request waits (unacked) while the pipeline is behind; the
    container stopping meanwhile waited for that worker as long as the
    backlog lasted (a stop that never ended). Now the wait ends with the
    stop: the request goes back to its queue, and the next instance answers it."""
    queue, put, purge = watched_queue
    database = f"intake_gate_stop_{uuid.uuid4().hex[:6]}"
    config = service_config(backing, database, PIPELINE_QUEUES=queue,
                            PIPELINE_BACKLOG_LIMIT=0, PIPELINE_POLL_SECONDS=0.2)
    put(1)
    first = container_factory(IntakeChannel, config)
    first.start()
    eventually(lambda: REGISTRY.get_sample_value("smartdukcapil_pipeline_backlog", {
        "service": "intake", "container": "intake_channel"}) == 1.0,
        what="the channel's watch saw 1 waiting")
    client = ChannelClient(backing.amqp_uri.replace("pyamqp://", "amqp://"), "web")
    try:
        body = valid_body()
        request_id = client.publish(body)
        with pytest.raises(ReplyTimeout):
            client.wait(request_id, timeout=3)  # taken, and waiting
        with eventlet.Timeout(60):  # the backlog stays: before, this never returned
            first.stop()
        assert mongo[database].applications.count_documents({}) == 0

        purge()
        container_factory(IntakeChannel, config).start()
        reply = client.wait(request_id, timeout=30)
        assert reply.status == 202, reply.body
    finally:
        client.close()


def held_until(backing, db, release) -> None:
    """A channel request is held - no answer, nothing stored - until
    ``release()``, then answered 202 and stored."""
    client = ChannelClient(backing.amqp_uri.replace("pyamqp://", "amqp://"), "web")
    try:
        body = valid_body()
        request_id = client.publish(body)
        with pytest.raises(ReplyTimeout):
            client.wait(request_id, timeout=3)
        assert db.applications.count_documents({}) == 0

        release()
        reply = client.wait(request_id, timeout=30)
        assert reply.status == 202, reply.body
        assert db.applications.count_documents({"applicant.nik": body["applicant"]["nik"]}) == 1
    finally:
        client.close()
