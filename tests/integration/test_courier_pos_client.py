"""Courier's Pos client against the Pos sandbox (a real HTTP server, in this
process): the OAuth2 token is cached, refreshed before it expires and once
on a 401; outages and refusals become the errors the handler acts on."""

from __future__ import annotations

import email.utils
import time

import pytest
import requests

from deploy.local.sandboxes import pos_api
from services.courier.exceptions import PosRefused, PosUnavailable
from services.courier.pos import PosClient
from tests.integration.test_sandboxes import posting, running


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def client(base: str, clock=None) -> PosClient:
    session = requests.Session()
    session.trust_env = False
    return PosClient(session, base, "sandbox-client", "sandbox-secret", 5,
                     **({"clock": clock} if clock else {}))


def test_the_token_is_cached_until_shortly_before_it_expires():
    clock = Clock()
    with running(pos_api) as base:
        pos = client(base, clock)
        first = pos.token()
        clock.now = 3600 - 61
        assert pos.token() == first
        clock.now = 3600 - 59  # inside the 60-second margin: a new one
        assert pos.token() != first


def test_a_401_fetches_a_new_token_once():
    with running(pos_api, token_ttl=1) as base:
        pos = client(base, Clock())  # the client's clock stands still: it believes its token
        barcode = pos.add_posting(posting("T-1"))
        time.sleep(1.1)  # the sandbox's token expires (its own clock)
        assert pos.add_posting(posting("T-1")) == barcode  # refreshed after the 401


def test_outages_and_refusals():
    with running(pos_api) as base:
        pos = client(base)
        requests.post(f"{base}/sandbox/faults", json={"fail_next": 1, "status": 503}, timeout=5)
        with pytest.raises(PosUnavailable):
            pos.add_posting(posting("T-2"))
        bad = posting("T-2")
        del bad["receiver"]["zipCode"]
        with pytest.raises(PosRefused, match="receiver.zipCode"):
            pos.add_posting(bad)
        assert pos.tracking("P00000000000") is None
        barcode = pos.add_posting(posting("T-2"))
        assert [e["status"] for e in pos.tracking(barcode)] == ["ACCEPTED"]
    with pytest.raises(PosUnavailable):
        pos.add_posting(posting("T-3"))  # nothing listens any more


def test_pos_asking_to_wait_is_taken_at_its_word_within_the_cap():
    """Pos' 429/503 with ``Retry-After`` (seconds or an HTTP date): the
    error carries it, for the retry to wait no less; unreadable, none."""
    with running(pos_api) as base:
        pos = PosClient(requests.Session(), base, "sandbox-client", "sandbox-secret", 5,
                        wait_cap=600)

        def refused(status: int, retry_after) -> float | None:
            set_to = requests.post(f"{base}/sandbox/faults", timeout=5, json={
                "fail_next": 1, "status": status, "retry_after": retry_after})
            assert set_to.ok, set_to.text
            with pytest.raises(PosUnavailable) as unavailable:
                pos.add_posting(posting("T-4"))
            return unavailable.value.retry_after
        assert refused(429, 7) == 7
        in_a_minute = email.utils.formatdate(time.time() + 60, usegmt=True)
        assert 55 <= refused(503, in_a_minute) <= 60
        assert refused(503, 86_400) == 600
        assert refused(503, "later") is None
        assert refused(503, None) is None
        bad = requests.post(f"{base}/sandbox/faults", json={"retry_after": "a\r\nb"}, timeout=5)
        assert bad.status_code == 400 and "retry_after" in bad.text
