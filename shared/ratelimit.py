"""Limits on failed attempts at a secret: bearer tokens (``shared.auth``) and
the citizen's tracking code + NIK (``TrackingCodeChecks``) - and, with the
same counts, on what a client may do however it ends (``ClientQuota``:
intake's new applications).

A key (a client - its address, an IPv6 one's /64: ``client_address`` -, a
tracking code) may fail ``limit`` times within ``window`` seconds of its
first failure; then it is refused — right secret or wrong — until that
window ends, and the client gets 429 with ``Retry-After``.
Refusing the right secret too is the point: if it still worked, the limit
would go on telling an attacker which guess was right. Success does not reset
a count, or one valid pair would let a client reset its own limit between
guesses.

Counted in memory, per process, not in MongoDB. A shared count would cost a
database write for every failed attempt, so a guessing flood would become
load on the store that is already this system's bottleneck (the original
system fell over under load). With N intake instances an attacker gets at
most N times the attempts, which keeps brute force just as hopeless: the
limits are there to make guessing slow, not to count exactly. A restart
forgets the counts, the same way. Put a front proxy's own rate limit before
the services for floods; this module is about guessing.

Keys live in an ``OrderedDict`` ordered by when their window started, so
expired ones are pruned from the front as new failures arrive - looking at
those only: the table is never copied, so a new key costs the same with ten
keys held or 100,000 (a copy per new key cost ~12 ms of the process's one
hub at the bound) - and it never holds more than ``max_keys`` (when full,
the oldest is dropped: a flood of keys that large is a flood the per-client
limit and the proxy must stop; ~25 MB per limit when full, measured).
Everything here runs in one eventlet hub without yielding, so no lock.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from contextlib import contextmanager

from nameko.extensions import DependencyProvider

from .errors import NotFound, TooManyAttempts
from .settings import InvalidSetting, integer, seconds

DEFAULT_MAX_KEYS = 100_000


class FailureLimit:
    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = DEFAULT_MAX_KEYS):
        if limit < 1 or window <= 0:
            raise ValueError("a failure limit needs limit >= 1 and window > 0")
        self.limit, self.window, self.clock, self.max_keys = limit, window, clock, max_keys
        # key -> (window start, failures), oldest window first
        self._windows: OrderedDict[str, tuple[float, int]] = OrderedDict()

    def retry_after(self, key: str) -> int:
        """Whole seconds until ``key`` may try again; 0 if it may now."""
        now = self.clock()
        started, failures = self._live(key, now)
        if failures < self.limit:
            return 0
        return max(1, math.ceil(started + self.window - now))

    def failed(self, key: str) -> None:
        now = self.clock()
        started, failures = self._live(key, now)
        if failures:
            self._windows[key] = (started, failures + 1)
            return
        self._prune(now)
        self._windows.pop(key, None)
        self._windows[key] = (now, 1)  # at the end: the dict stays ordered by start

    def forgive(self, key: str) -> None:
        """Take back one of ``key``'s counts in its window: a request counted
        as it began (so that concurrent ones cannot all pass the check
        first) that, as it turned out, does not count."""
        now = self.clock()
        started, failures = self._live(key, now)
        if failures:
            self._windows[key] = (started, failures - 1)

    def __len__(self) -> int:
        return len(self._windows)

    def _live(self, key: str, now: float) -> tuple[float, int]:
        started, failures = self._windows.get(key, (now, 0))
        return (now, 0) if now - started >= self.window else (started, failures)

    def _prune(self, now: float) -> None:
        windows = self._windows
        while windows:
            started, _ = windows[next(iter(windows))]
            if now - started < self.window and len(windows) < self.max_keys:
                return
            windows.popitem(last=False)


def webhook_failure_limit(config) -> FailureLimit:
    """A partner's signed webhook (Pos' to courier, Meta's to notification):
    a client failing its signature ``WEBHOOK_FAILURES_PER_CLIENT`` times (10)
    within ``WEBHOOK_FAILURE_WINDOW_SECONDS`` (300) is refused for the window."""
    return FailureLimit(integer(config, "WEBHOOK_FAILURES_PER_CLIENT", 10, minimum=1),
                        seconds(config, "WEBHOOK_FAILURE_WINDOW_SECONDS", 300, positive=True))


class Attempts:
    """One kind of attempt, limited by several keys at once, e.g.
    ``Attempts(client=FailureLimit(20, 900), tracking_code=FailureLimit(5, 900))``."""

    def __init__(self, **limits: FailureLimit):
        self.limits = limits

    def check(self, **keys: str) -> None:
        """``TooManyAttempts`` (with the longest wait) if any key is over its limit."""
        wait = max(self.limits[name].retry_after(key) for name, key in keys.items())
        if wait:
            raise TooManyAttempts(wait)

    def failed(self, **keys: str) -> None:
        for name, key in keys.items():
            self.limits[name].failed(key)

    def take(self, **keys: str) -> None:
        """Refuse if any key is over its limit, else count this request against
        every key: for limits on every request (e.g. asking for an SMS), not
        only on failed ones."""
        self.check(**keys)
        self.failed(**keys)

    @contextmanager
    def attempt(self, failure: type[Exception], **keys: str):
        """Refuse if over a limit; count ``failure`` raised in the block against every key."""
        self.check(**keys)
        try:
            yield
        except failure:
            self.failed(**keys)
            raise


    @contextmanager
    def served_when_right(self, failure: type[Exception], **keys: str):
        """As ``attempt``, except that a block that passes is served even to a
        key over its limit: only ``failure`` is refused (429) or counted. For
        a secret no rate of guessing finds - a webhook's HMAC key, as a
        bearer token's 256 bits (``shared/auth.py``) - the limit is there to
        stop a flood of wrong tries costing more than a 429; refusing the
        right ones too let anyone behind Pos' address (a proxy not in
        ``TRUSTED_PROXIES``) keep Pos' own signed news out with ten bad
        signatures every five minutes (outside review)."""
        try:
            yield
        except failure:
            self.check(**keys)
            self.failed(**keys)
            raise


def trusted_proxies(config: dict) -> frozenset[str]:
    """``TRUSTED_PROXIES``: comma-separated addresses of the reverse proxies
    whose ``X-Forwarded-For`` is believed. Empty (the default): none is."""
    proxies = [part.strip() for part in str(config.get("TRUSTED_PROXIES") or "").split(",")]
    try:
        return frozenset(str(ipaddress.ip_address(p)) for p in proxies if p)
    except ValueError:
        raise InvalidSetting("TRUSTED_PROXIES", "expected IP addresses separated by commas") \
            from None


def client_address(request, proxies: frozenset[str] = frozenset()) -> str:
    """Who is asking, as every per-client limit counts it: the peer address,
    or - when the peer is a trusted proxy - the nearest address in
    ``X-Forwarded-For`` that is not a trusted proxy (the ones further left
    could be written by the client itself); an IPv6 one by its /64
    (``network_of``)."""
    address = request.remote_addr or "unknown"
    if address not in proxies:
        return network_of(address)
    for hop in reversed(request.headers.get("X-Forwarded-For", "").split(",")):
        hop = hop.strip()
        if hop and hop not in proxies:
            return network_of(hop)
    return network_of(address)


def network_of(address: str) -> str:
    """The client an address counts as for a limit: an IPv4 address itself,
    an IPv6 one its /64 - one subscriber's whole block. A client holds 2^64
    addresses and would pass any per-address limit by changing its own (a
    lockout of a NIK's owner out of booking: ten wrong-KK bookings from ten
    fresh addresses, each far under the per-client limit of refusals)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6 and ip.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return address


class ClientQuota(DependencyProvider):
    """What a client may have done ``limit_key`` times (default
    ``limit``) within ``window_key`` seconds (default ``window``): things
    that succeed, not failures (intake's new applications). Past it,
    ``refused`` (a ``TooManyAttempts``: 429 with Retry-After). In memory,
    per process, as this module explains.

        self.quota.check(request)             # before any work: cheap
        with self.quota.counting(request):    # counted; given back if it raises
            ...
    """

    def __init__(self, limit_key: str, limit: int, window_key: str, window: float,
                 refused: type[TooManyAttempts] = TooManyAttempts):
        self.settings = (limit_key, limit, window_key, window)
        self.refused = refused

    def setup(self):
        config = self.container.config
        limit_key, limit, window_key, window = self.settings
        self.done = FailureLimit(integer(config, limit_key, limit, minimum=1),
                                 seconds(config, window_key, window, positive=True))
        self.proxies = trusted_proxies(config)

    def check(self, request) -> None:
        """``refused`` if the client is at its limit."""
        if wait := self.done.retry_after(self.client(request)):
            raise self.refused(wait)

    def client(self, request) -> str:
        """Whose request it counts as (``client_address``)."""
        return client_address(request, self.proxies)

    def take(self, request) -> str:
        """Check and count the client's request at once (nothing yields in
        between); the client's key."""
        self.check(request)
        client = self.client(request)
        self.done.failed(client)
        return client

    @contextmanager
    def counting(self, request):
        """Check and count the client's request at once (nothing yields in
        between: a burst of concurrent requests cannot all pass the check
        first); a block that raises - the request refused, not done - gives
        its count back."""
        client = self.take(request)
        try:
            yield
        except Exception:
            self.done.forgive(client)
            raise

    def get_dependency(self, worker_ctx):
        return self


class TrackingCodeChecks(DependencyProvider):
    """Failed tracking code + NIK checks (the status lookup; later cancel and
    reschedule), limited per client and per tracking code: a wrong NIK for a
    code counts against that code whoever asks, so spreading guesses over
    many addresses does not help. A check that answers ``NotFound`` failed.

        with self.citizen_checks.attempt(request, body["tracking_code"]):
            application = self.store.find_for_citizen(...)
    """

    def setup(self):
        config = self.container.config
        window = seconds(config, "LOOKUP_FAILURE_WINDOW_SECONDS", 900, positive=True)
        per_client = integer(config, "LOOKUP_FAILURES_PER_CLIENT", 20, minimum=1)
        per_code = integer(config, "LOOKUP_FAILURES_PER_CODE", 5, minimum=1)
        self.attempts = Attempts(client=FailureLimit(per_client, window),
                                 tracking_code=FailureLimit(per_code, window))
        self.proxies = trusted_proxies(config)

    def attempt(self, request, tracking_code: str):
        return self.attempts.attempt(NotFound, client=client_address(request, self.proxies),
                                     tracking_code=tracking_code.strip().upper())

    def get_dependency(self, worker_ctx):
        return self
