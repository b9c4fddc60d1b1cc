"""Fixtures of the end-to-end tests that more than one module uses."""

from __future__ import annotations

import pytest
import requests

from tests.helpers import BrokerProbe, eventually


class CourierEvents:
    """What courier published, per application (other tests publish too)."""

    def __init__(self, system):
        self.probe = BrokerProbe(system.amqp_uri, "courier.events")
        self.seen: list[tuple[str, dict]] = []

    def of(self, application_id: str) -> list[tuple[str, dict]]:
        self.seen += self.probe.drain()
        return [(kind, event) for kind, event in self.seen  # a manifest's news names none
                if event.get("application_id") == application_id]

    def wait_for(self, application_id: str, kind: str) -> list[dict]:
        """Every ``kind`` event of the application, once there is one."""
        return eventually(lambda: [e for k, e in self.of(application_id) if k == kind],
                          what=f"{kind} for {application_id}")


@pytest.fixture
def courier_events(system):
    events = CourierEvents(system)
    yield events
    events.probe.close()


@pytest.fixture
def pos(system):
    """The Pos sandbox's URL; its faults are lifted after each test."""
    url = system.url("pos")
    yield url
    requests.post(f"{url}/sandbox/faults", timeout=5,
                  json={"down": False, "fail_next": 0, "delay_ms": 0, "delay_after_accept_ms": 0,
                        "retry_after": None})
