"""``GET /health/ready`` is public and never refused at admission: a burst
of probes must not become a burst of broker connections (each call opened
and closed an AMQP connection of its own to say whether the broker answers),
and the answer it gives in between still follows the broker."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests

from services.intake.service import IntakeApi
from tests.faults.proxy import TcpProxy
from tests.helpers import eventually, publish, service_config


def through(proxy: TcpProxy, amqp_uri: str) -> str:
    parts = urlsplit(amqp_uri)
    credentials = parts.netloc.rpartition("@")[0]
    return urlunsplit(parts._replace(netloc=f"{credentials}@127.0.0.1:{proxy.port}"))


@pytest.fixture
def proxied_intake(backing, container_factory):
    """An intake API whose broker connections go through a ``TcpProxy``;
    yields the proxy and the readiness URL."""
    broker = urlsplit(backing.amqp_uri)
    proxy = TcpProxy((broker.hostname, broker.port or 5672))
    try:
        config = service_config(backing, f"intake_probes_{uuid.uuid4().hex[:6]}",
                                AMQP_URI=through(proxy, backing.amqp_uri))
        container_factory(IntakeApi, config).start()
        yield proxy, f"http://{config['WEB_SERVER_ADDRESS']}/health/ready"
    finally:
        proxy.close()


def broker_answer(ready: str) -> tuple[int, str]:
    answer = requests.get(ready, timeout=10)
    return answer.status_code, answer.json()["broker"]


def test_a_burst_of_readiness_probes_opens_at_most_one_broker_connection(proxied_intake):
    proxy, ready = proxied_intake
    assert requests.get(ready, timeout=10).status_code == 200
    opened = proxy.accepted

    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(lambda _: requests.get(ready, timeout=10), range(20)))

    assert [answer.status_code for answer in answers] == [200] * 20
    assert all(answer.json()["broker"] == "ok" for answer in answers)
    assert proxy.accepted - opened <= 1, proxy.accepted - opened


def test_readiness_still_follows_the_broker(proxied_intake):
    proxy, ready = proxied_intake
    assert broker_answer(ready) == (200, "ok")
    proxy.cut()
    eventually(lambda: broker_answer(ready) == (503, "unavailable"), what="broker unavailable")
    proxy.restore()
    eventually(lambda: broker_answer(ready) == (200, "ok"), what="broker ok again")


def dead_letters_shown(base: str) -> dict[str, float]:
    """``smartdukcapil_dead_letters`` of intake as ``/metrics`` shows it, by queue."""
    requests.get(f"{base}/health/ready", timeout=10)  # the broker check that reads them
    shown = {}
    for line in requests.get(f"{base}/metrics", timeout=10).text.splitlines():
        if line.startswith("smartdukcapil_dead_letters{") and 'service="intake"' in line:
            queue = line.split('queue="', 1)[1].split('"', 1)[0]
            shown[queue] = float(line.rsplit(" ", 1)[1])
    return shown


def test_the_dead_letters_waiting_are_a_metric(backing, container_factory):
    """A review (forty-fifth session): a message the broker dead-lettered by
    itself (its delivery limit, counted on every return) had no log line and
    no count; each dead-letter queue's depth is a gauge, read with the
    readiness check."""
    config = service_config(backing, f"intake_dlq_{uuid.uuid4().hex[:6]}")
    container_factory(IntakeApi, config).start()
    base = f"http://{config['WEB_SERVER_ADDRESS']}"
    before = eventually(lambda: dead_letters_shown(base), what="the dead-letter gauges")
    queue = sorted(before)[0]
    publish(backing.amqp_uri, "", queue, {"event_id": "dead-one"})
    eventually(lambda: dead_letters_shown(base).get(queue) == before[queue] + 1, timeout=30,
               what="the message counted in its dead-letter queue")
