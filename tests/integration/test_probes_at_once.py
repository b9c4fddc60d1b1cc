"""``/health/live`` and ``/metrics`` are answered with every worker busy
(``shared.http.StopGate``): a liveness probe that waited for a worker behind
a burst of requests each waiting out a frozen database was failed by its
supervisor, which restarted a service that worked (a review, forty-fifth
session)."""

from __future__ import annotations

import threading
import uuid

import requests

from shared.http import HealthCheck, api, json_response
from tests.helpers import eventually, service_config

HELD, IN_HAND = threading.Event(), []


class BusyApi(HealthCheck):
    name = "busy_api"

    @api("GET", "/api/v1/slow")
    def slow(self, request):
        IN_HAND.append(1)
        HELD.wait(30)
        return json_response(200, {"ok": True})


def test_liveness_and_metrics_are_answered_while_every_worker_is_busy(backing,
                                                                       container_factory):
    config = service_config(backing, f"busy_{uuid.uuid4().hex[:6]}", max_workers=2,
                            ADMISSION_LOOKUPS=8)
    container_factory(BusyApi, config).start()
    base = f"http://{config['WEB_SERVER_ADDRESS']}"
    HELD.clear()
    IN_HAND.clear()
    slow = [threading.Thread(target=requests.get, args=(f"{base}/api/v1/slow",),
                             kwargs={"timeout": 60}) for _ in range(2)]
    try:
        for thread in slow:
            thread.start()
        eventually(lambda: len(IN_HAND) == 2, what="both workers busy")
        live = requests.get(f"{base}/health/live", timeout=5)
        assert (live.status_code, live.json()) == (200, {"status": "live", "service": "busy_api"})
        scraped = requests.get(f"{base}/metrics", timeout=5)
        assert scraped.status_code == 200 and "smartdukcapil_" in scraped.text
    finally:
        HELD.set()
        for thread in slow:
            thread.join(timeout=30)
