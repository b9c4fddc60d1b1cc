"""The HTTP session a service holds for a partner system (the SMS gateway,
WhatsApp, Pos Indonesia, intake's documents; the population register, asked
on every submit, through a bare urllib3 pool: ``partner_pool``): one per
partner, kept alive.

* Connections are kept and reused, as many as the service's workers may use
  at once (its ``max_workers``; requests' default pool keeps 10 and closes
  the connections returned beyond them). The local sandboxes answer
  HTTP/1.1 and keep them too: with HTTP/1.0 every register lookup of a
  submit opened a connection (a tenth of intake's time at 25/s, py-spy:
  bench/README.md, seventh session).
* The environment's proxy settings are not read (``trust_env``): a partner
  is addressed directly, an ambient ``HTTP(S)_PROXY`` must not see the
  personal data or credentials in the requests, and reading the environment
  on every call costs more than the call's own preparation.

A partner that answers "not now" (429, 503) may say how long to wait in
``Retry-After``: ``retry_after_seconds`` reads it.
"""

from __future__ import annotations

import datetime
import re
from email.utils import parsedate_to_datetime

import requests
import urllib3
from requests.adapters import HTTPAdapter

from .settings import integer

# nameko's own default for max_workers
DEFAULT_WORKERS = 10


def partner_session(config: dict) -> requests.Session:
    """A keep-alive session for one partner, pooled for the container's workers."""
    connections = pooled_connections(config)
    session = requests.Session()
    session.trust_env = False
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=connections)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def partner_pool(config: dict) -> urllib3.PoolManager:
    """The same kept-alive connections without requests on top, for a
    partner asked on the citizens' path (the population register): requests'
    preparation of every call (hooks, cookies, its adapter's checks) made a
    register call cost 1.34-1.46 ms of CPU under eventlet, urllib3 alone
    0.79-0.90 (bench/README.md, forty-ninth session). urllib3 reads no
    proxy settings from the environment."""
    return urllib3.PoolManager(num_pools=1, maxsize=pooled_connections(config))


def pooled_connections(config: dict) -> int:
    """As many kept connections as the container's workers may use at once."""
    return integer(config, "max_workers", DEFAULT_WORKERS)


def retry_after_seconds(header: str | None, cap: float,
                        now: datetime.datetime | None = None) -> float | None:
    """How long a partner's ``Retry-After`` asks to wait (RFC 9110 §10.2.3:
    whole seconds, or an HTTP date - a past one is 0), at most ``cap``: a
    partner's word, however long, must not park work beyond the caller's
    own longest wait. None without one, or for one neither form reads."""
    value = (header or "").strip()
    if re.fullmatch(r"[0-9]+", value, re.ASCII):
        return min(float(value), cap)
    try:
        until = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if until.tzinfo is None:  # "-0000": UTC, of unknown origin
        until = until.replace(tzinfo=datetime.timezone.utc)
    wait = (until - (now or datetime.datetime.now(datetime.timezone.utc))).total_seconds()
    return min(max(0.0, wait), cap)
