"""The probes' answers as intake sends them, against its OpenAPI document
(the one it serves: ``openapi_document``), with the real database server
answering and then gone. The document listed each probe's 503 as the
``{"error": ...}`` body and its ``Health`` schema took no ``database``:
the 503s a balancer reads were not what the document said."""

from __future__ import annotations

import requests

from services.intake.openapi import openapi_document
from services.intake.service import IntakeApi
from tests.integration.test_database_outage import doomed_database
from tests.openapi_answers import assert_answer_matches


def probe(base: str, path: str, status: int) -> dict:
    answer = requests.get(base + path, timeout=30)
    assert answer.status_code == status, (path, answer.text)
    assert_answer_matches(openapi_document(), "GET", path, status, answer.json())
    return answer.json()


def test_the_probes_answer_as_the_document_says(backing, container_factory):
    with doomed_database(backing, "intake_probes") as config:
        container_factory(IntakeApi, config).start()
        base = f"http://{config['WEB_SERVER_ADDRESS']}"
        assert probe(base, "/health", 200)["status"] == "ok"
        assert probe(base, "/health/ready", 200)["status"] == "ready"
        assert probe(base, "/health/live", 200)["status"] == "live"

    assert probe(base, "/health", 503) == {"status": "unavailable", "service": "intake_api",
                                           "database": "unavailable"}
    assert probe(base, "/health/ready", 503)["database"] == "unavailable"
    assert probe(base, "/health/live", 200)["status"] == "live"
