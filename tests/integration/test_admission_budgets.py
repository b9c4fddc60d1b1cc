"""Under overload intake sheds submits, not status lookups: the two have
admission budgets of their own (shared/http.py). A submit held in flight (the
population register answers slowly) fills a writes budget of one; the next
submit is refused at once with 503 + Retry-After, while a citizen's status
lookup, and the probes, are still answered."""

from __future__ import annotations

import threading

import pytest
import requests

from services.intake.service import IntakeApi
from tests.helpers import service_config, valid_body


@pytest.fixture
def slow_register(backing):
    faults = f"{backing.url('register')}/sandbox/faults"
    yield lambda ms: requests.post(faults, json={"delay_ms": ms}, timeout=5).raise_for_status()
    requests.post(faults, json={"delay_ms": 0, "fail_next": 0}, timeout=5)


def test_lookups_are_answered_while_submits_are_shed(backing, container_factory, slow_register):
    config = service_config(backing, "intake_admission", ADMISSION_WRITES=1,
                            ADMISSION_LOOKUPS=4, REGISTER_TIMEOUT_SECONDS=60)
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
        assert holder.is_alive(), "the held submit ended before the checks: nothing was shown"
    finally:
        holder.join()
    assert held["answer"].status_code == 202, held["answer"].text
