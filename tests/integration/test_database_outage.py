"""Intake answers 503 with Retry-After, fast, when its database is gone."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import requests

from deploy.local.stack import free_port, port_open, wait_until
from services.intake.service import IntakeApi
from tests.helpers import random_kk, random_mobile, random_nik, service_config


def test_intake_answers_503_when_the_database_is_unreachable(backing, container_factory):
    port = free_port()
    database = subprocess.Popen([str(Path(sys.executable).parent / "secantusd-py"), "--host",
                                 "127.0.0.1", "--port", str(port), "--storage-path", ":memory:",
                                 "--log-level", "ERROR"], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: port_open(port), "throwaway database server", proc=database)
        config = service_config(backing, "intake_outage", MONGO_TIMEOUT_MS=1000,
                                MONGO_URI=f"mongodb://127.0.0.1:{port}/?directConnection=true")
        container = container_factory(IntakeApi, config)
        container.start()
        url = f"http://{config['WEB_SERVER_ADDRESS']}/api/v1/applications"
        body = {"document_type": "ktp_el", "channel": "web", "details": {"reason": "first_issue"},
                "applicant": {"nik": random_nik(), "kk_number": random_kk(),
                              "full_name": "Dewi Lestari", "phone": random_mobile()}}
        assert requests.post(url, json=body, timeout=10).status_code == 202
    finally:
        database.kill()
        database.wait()

    body["applicant"]["nik"] = random_nik()
    started = time.monotonic()
    response = requests.post(url, json=body, timeout=30)
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == "2"
    assert response.json()["error"]["code"] == "unavailable"
    assert time.monotonic() - started < 15  # bounded by the server-selection timeout, not a hang
