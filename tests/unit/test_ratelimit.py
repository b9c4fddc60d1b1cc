"""Failed-attempt limits (shared/ratelimit.py), on a clock the test moves."""

from __future__ import annotations

import tracemalloc

import pytest

from shared.errors import NotFound, TooManyAttempts
from shared.ratelimit import Attempts, FailureLimit, client_address, trusted_proxies
from shared.settings import InvalidSetting


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeRequest:
    def __init__(self, remote_addr: str, headers: dict | None = None):
        self.remote_addr, self.headers = remote_addr, headers or {}


def test_a_key_is_refused_after_its_limit_until_the_window_ends():
    clock = Clock()
    limit = FailureLimit(3, 60, clock=clock)
    for _ in range(2):
        limit.failed("10.0.0.1")
        assert limit.retry_after("10.0.0.1") == 0
    clock.now += 20
    limit.failed("10.0.0.1")
    assert limit.retry_after("10.0.0.1") == 40  # the window runs from the first failure
    clock.now += 39.5
    assert limit.retry_after("10.0.0.1") == 1  # whole seconds, never 0 while refused
    clock.now += 0.5
    assert limit.retry_after("10.0.0.1") == 0
    limit.failed("10.0.0.1")  # a new window, counting from one
    assert limit.retry_after("10.0.0.1") == 0


def test_keys_are_counted_apart():
    limit = FailureLimit(1, 60, clock=Clock())
    limit.failed("a")
    assert limit.retry_after("a") == 60 and limit.retry_after("b") == 0


def test_a_forgiven_count_is_given_back_within_its_window_only():
    clock = Clock()
    limit = FailureLimit(2, 60, clock=clock)
    limit.failed("a")
    limit.failed("a")
    limit.forgive("a")
    assert limit.retry_after("a") == 0
    limit.failed("a")
    assert limit.retry_after("a") == 60  # the window still runs from the first
    clock.now += 60
    limit.forgive("a")  # an expired window: nothing to give back
    limit.failed("a")
    assert limit.retry_after("a") == 0
    limit.forgive("b")  # a key never counted stays uncounted
    assert limit.retry_after("b") == 0 and len(limit) == 1


def test_expired_keys_are_pruned_and_the_table_stays_bounded():
    clock = Clock()
    limit = FailureLimit(2, 10, clock=clock, max_keys=100)
    for n in range(50):
        limit.failed(f"old-{n}")
    clock.now += 10
    limit.failed("new")
    assert len(limit) == 1
    for n in range(500):
        limit.failed(f"flood-{n}")
    assert len(limit) == 100
    limit.failed("flood-499")  # the newest keys are kept: its second failure refuses it
    limit.failed("flood-0")  # the oldest was dropped: counting starts again
    assert limit.retry_after("flood-499") == 10 and limit.retry_after("flood-0") == 0


def test_a_new_key_costs_the_same_however_many_keys_are_held():
    """A failure from a new client used to copy the whole table to prune it:
    ~64 bytes allocated per key held, for each new client (at the 100,000
    bound, ~6 MB and ~12 ms of the process's one hub each: every request
    waited). Now only the expired or surplus oldest keys are looked at."""
    clock = Clock()
    for bound in (5_000, 100_000):  # full, and not
        limit = FailureLimit(2, 900, clock=clock, max_keys=bound)
        for n in range(5_000):
            limit.failed(f"10.0.{n >> 8}.{n & 255}")
        tracemalloc.start()
        try:
            limit.failed("192.0.2.1")
            allocated = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert allocated < 20_000, (bound, allocated)  # was ~320,000: the table copied
        assert len(limit) == min(bound, 5_001)


@pytest.mark.parametrize(("limit", "window"), [(0, 60), (5, 0)])
def test_a_limit_that_would_refuse_everything_or_nothing_is_a_mistake(limit, window):
    with pytest.raises(ValueError):
        FailureLimit(limit, window)


def test_attempts_count_a_failure_against_every_key_and_refuse_by_any():
    clock = Clock()
    attempts = Attempts(client=FailureLimit(10, 900, clock=clock),
                        tracking_code=FailureLimit(2, 900, clock=clock))
    for client in ("10.0.0.1", "10.0.0.2"):  # a code's failures add up, whoever asks
        with pytest.raises(NotFound), attempts.attempt(NotFound, client=client,
                                                       tracking_code="SDK7KQ2M9XA"):
            raise NotFound("no such application")
    with pytest.raises(TooManyAttempts) as refused:
        with attempts.attempt(NotFound, client="10.0.0.3", tracking_code="SDK7KQ2M9XA"):
            raise AssertionError("a refused attempt must not run")
    assert refused.value.retry_after == 900 and refused.value.status == 429
    assert refused.value.to_body("en")["error"] == {
        "code": "too_many_attempts", "message": "Too many failed attempts. Retry in 900 seconds."}
    with attempts.attempt(NotFound, client="10.0.0.1", tracking_code="SDK9OTHERCODE"):
        pass  # another code from the same client still answers


def test_take_counts_every_request_and_refuses_past_the_limit():
    clock = Clock()
    attempts = Attempts(nik=FailureLimit(3, 3600, clock=clock),
                        client=FailureLimit(3, 3600, clock=clock))
    for client in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        attempts.take(nik="3673045207900001", client=client)
    with pytest.raises(TooManyAttempts):
        attempts.take(nik="3673045207900001", client="10.0.0.4")
    attempts.take(nik="3673045207900002", client="10.0.0.1")
    attempts.take(nik="3673045207900003", client="10.0.0.1")
    with pytest.raises(TooManyAttempts):  # the client's third was the last
        attempts.take(nik="3673045207900004", client="10.0.0.1")
    clock.now += 3600
    attempts.take(nik="3673045207900001", client="10.0.0.1")


def test_other_errors_and_successes_do_not_count():
    attempts = Attempts(client=FailureLimit(1, 60, clock=Clock()))
    with attempts.attempt(NotFound, client="c"):
        pass
    with pytest.raises(ValueError), attempts.attempt(NotFound, client="c"):
        raise ValueError("the database said no")
    attempts.check(client="c")


def test_success_does_not_reset_a_count():
    attempts = Attempts(client=FailureLimit(2, 60, clock=Clock()))
    attempts.failed(client="c")
    with attempts.attempt(NotFound, client="c"):
        pass
    attempts.failed(client="c")
    with pytest.raises(TooManyAttempts):
        attempts.check(client="c")


def test_the_longest_wait_is_the_answer():
    clock = Clock()
    attempts = Attempts(client=FailureLimit(1, 60, clock=clock),
                        tracking_code=FailureLimit(1, 900, clock=clock))
    attempts.failed(client="c", tracking_code="X")
    with pytest.raises(TooManyAttempts) as refused:
        attempts.check(client="c", tracking_code="X")
    assert refused.value.retry_after == 900


def test_forwarded_for_is_believed_only_from_a_trusted_proxy():
    assert trusted_proxies({}) == frozenset()
    proxies = trusted_proxies({"TRUSTED_PROXIES": " 10.0.0.5, 10.0.0.6 "})
    forged = {"X-Forwarded-For": "1.2.3.4"}
    assert client_address(FakeRequest("203.0.113.9", forged), proxies) == "203.0.113.9"
    assert client_address(FakeRequest("203.0.113.9", forged)) == "203.0.113.9"
    # through two proxies; the leftmost entry is whatever the client wrote
    chain = {"X-Forwarded-For": "1.2.3.4, 198.51.100.7, 10.0.0.6"}
    assert client_address(FakeRequest("10.0.0.5", chain), proxies) == "198.51.100.7"
    assert client_address(FakeRequest("10.0.0.5"), proxies) == "10.0.0.5"


def test_a_proxy_list_that_is_not_addresses_is_refused():
    with pytest.raises(InvalidSetting) as refused:
        trusted_proxies({"TRUSTED_PROXIES": "proxy.local"})
    assert refused.value.key == "TRUSTED_PROXIES" and "proxy.local" not in str(refused.value)


def test_a_quota_counts_an_ipv6_client_by_its_64_block():
    """Outside audit N4: one IPv6 subscriber holds a /64 and passed the
    per-address quota of new applications by changing address."""
    from shared.ratelimit import network_of
    assert network_of("2001:db8:1:2:aaaa::1") == network_of("2001:db8:1:2:ffff::9") \
        == "2001:db8:1:2::/64"
    assert network_of("2001:db8:1:3::1") != network_of("2001:db8:1:2::1")
    assert network_of("203.0.113.7") == "203.0.113.7"
    assert network_of("::ffff:203.0.113.7") == "::ffff:203.0.113.7"
