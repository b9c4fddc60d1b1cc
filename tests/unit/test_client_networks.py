"""Every per-client limit counts an IPv6 client by its /64 (an IPv4 one by
its address): one subscriber holds the whole block (outside review: only
the quota of new applications did; a client changing its address in its /64
passed the others - ten wrong-KK bookings of a NIK from ten addresses locked
its owner out of booking for an hour, the per-client limit of refusals never
building up). The providers as intake sets them up, no server."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from services.intake.api_resend import ResendLimits, TooManyResends
from services.intake.refusals import RegisterRefusals, TooManyRefusals
from shared.errors import NotFound, TooManyAttempts
from shared.ratelimit import TrackingCodeChecks, client_address
from tests.unit.test_ratelimit import FakeRequest

BLOCK = "2001:db8:77:5"


def addresses(count: int, block: str = BLOCK):
    """``count`` requests, each from another address of one /64."""
    return [FakeRequest(f"{block}:{n:x}::{n + 1:x}") for n in range(count)]


def set_up(provider, **config):
    # a configuration of its own: refusals' counts are shared per configuration
    provider.container = SimpleNamespace(config={"TRUSTED_PROXIES": "10.0.0.5", **config})
    provider.setup()
    return provider


def test_the_client_is_an_ipv6_address_its_64_directly_and_behind_a_proxy():
    proxies = frozenset({"10.0.0.5"})
    assert client_address(FakeRequest("2001:db8:77:5:aaaa::1")) == "2001:db8:77:5::/64"
    assert client_address(FakeRequest("10.0.0.5", {"X-Forwarded-For": "2001:db8:77:5::9"}),
                          proxies) == "2001:db8:77:5::/64"
    assert client_address(FakeRequest("203.0.113.7")) == "203.0.113.7"
    assert client_address(FakeRequest("10.0.0.5", {"X-Forwarded-For": "198.51.100.7"}),
                          proxies) == "198.51.100.7"


def test_register_refusals_of_a_booking_add_up_over_a_64():
    refusals = set_up(RegisterRefusals(), REGISTER_REFUSALS_PER_CLIENT=3,
                      REGISTER_REFUSALS_PER_NIK=100, REGISTER_REFUSALS_PER_KK=100,
                      REGISTER_REFUSAL_WINDOW_SECONDS=3601)
    booking = {"nik": "3673056304090006", "kk_number": "3673051506190004"}
    first, second, third, fourth = addresses(4)
    for request in (first, second, third):
        limit = refusals.of_booking(request, booking)
        limit.check()
        limit.refused()
    with pytest.raises(TooManyRefusals):
        refusals.of_booking(fourth, booking).check()
    # and a submission from the block too; another block is another client
    body = {"applicant": {"nik": "3673045207900001", "kk_number": "3673041203150002"}}
    with pytest.raises(TooManyRefusals):
        refusals.of(fourth, body).check()
    refusals.of(addresses(1, "2001:db8:77:6")[0], body).check()


def test_failed_lookups_add_up_over_a_64():
    checks = set_up(TrackingCodeChecks(), LOOKUP_FAILURES_PER_CLIENT=3,
                    LOOKUP_FAILURES_PER_CODE=100)
    *guesses, last = addresses(4)
    for n, request in enumerate(guesses):
        with pytest.raises(NotFound), checks.attempt(request, f"SDKGUESS{n}"):
            raise NotFound("not found")
    with pytest.raises(TooManyAttempts), checks.attempt(last, "SDKGUESSX"):
        pass


def test_resend_requests_add_up_over_a_64():
    limits = set_up(ResendLimits(), RESEND_PER_CLIENT=2, RESEND_PER_NIK=100)
    first, second, third = addresses(3)
    limits.take(first, "3673045207900001")
    limits.take(second, "3673045207900002")
    with pytest.raises(TooManyResends):
        limits.take(third, "3673045207900003")
