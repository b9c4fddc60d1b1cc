"""Per-client limits count an IPv6 client by its /64, over HTTP: a client
changing its address within its block (2^64 of them) is one client for the
failed status lookups and the re-send requests, as it already was for new
applications. Real intake container, database and broker; the citizen's
address comes through a trusted proxy's X-Forwarded-For, as from a portal
or a load balancer."""

from __future__ import annotations

import uuid

import pytest

from services.intake.service import IntakeApi
from tests.helpers import loopback_address, new_client, random_nik, service_config


@pytest.fixture
def intake(backing, container_factory):
    """An intake trusting one proxy, with low per-client limits (and high
    per-code and per-NIK ones, so only the client's can refuse)."""
    database, proxy = f"intake_ipv6_{uuid.uuid4().hex[:6]}", loopback_address()
    config = service_config(backing, database, TRUSTED_PROXIES=proxy, PIPELINE_QUEUES="",
                            LOOKUP_FAILURES_PER_CLIENT=3, LOOKUP_FAILURES_PER_CODE=100,
                            RESEND_PER_CLIENT=2, RESEND_PER_NIK=100)
    container_factory(IntakeApi, config).start()
    portal = new_client(proxy)

    def post(path: str, body: dict, citizen: str):
        return portal.post(f"http://{config['WEB_SERVER_ADDRESS']}{path}", json=body,
                           headers={"X-Forwarded-For": citizen}, timeout=30)
    return post


def in_block(n: int, block: str = "2001:db8:4:7") -> str:
    return f"{block}:{n:x}:{n + 1:x}::{n + 2:x}"


def lookup() -> dict:
    return {"tracking_code": f"SDK{uuid.uuid4().hex[:8].upper()}", "nik": random_nik()}


def test_failed_lookups_from_a_64_add_up(intake):
    answers = [intake("/api/v1/applications/status", lookup(), in_block(n)).status_code
               for n in range(4)]
    assert answers == [404, 404, 404, 429]
    # another subscriber's block is another client
    assert intake("/api/v1/applications/status", lookup(),
                  in_block(0, "2001:db8:4:8")).status_code == 404


def test_resend_requests_from_a_64_add_up(intake):
    answers = [intake("/api/v1/tracking-code/resend",
                      {"nik": random_nik(), "document_type": "ktp_el"}, in_block(n)).status_code
               for n in range(3)]
    assert answers == [202, 202, 429]
