"""The population register (SIAK) behind one provider: ``PopulationRegister``
hands workers a ``RegisterClient`` with the register's two questions,
``person(nik)`` and ``family(kk_number)`` (contract: docs/register-api.md).

One kept-alive connection pool (``shared.partners.partner_pool``: urllib3,
which requests is built on, without requests' per-call preparation - the
register is asked on every submit, on the citizens' path), a short timeout
on every call (``REGISTER_TIMEOUT_SECONDS``, default 2 s): the register is
asked while a citizen waits. A call that fails - no connection, a timeout,
any answer but a 200 (a redirect is not followed), one not the contract's
JSON - raises ``RegisterUnavailable`` (the rules then accept
and flag the application), and for ``REGISTER_PAUSE_SECONDS`` (default 5 s)
after it the register is not asked at all: a register that hangs costs one timeout per pause, not one per
application, so intake keeps answering fast through the outage.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Callable

import urllib3
from nameko.extensions import DependencyProvider

from shared.partners import partner_pool
from shared.settings import require, seconds

from .population import Family, Person, RegisterUnavailable

log = logging.getLogger(__name__)


JSON = {"Content-Type": "application/json", "Accept": "application/json"}


class RegisterAnswered(Exception):
    """The register answered something other than 200."""


class RegisterClient:
    def __init__(self, pool: urllib3.PoolManager, url: str, timeout: float, pause: float,
                 clock: Callable[[], float] = time.monotonic):
        self.pool, self.url = pool, url.rstrip("/")
        # connecting and each read, as requests' ``timeout`` was
        self.timeout = urllib3.Timeout(connect=timeout, read=timeout)
        self.pause, self.clock = pause, clock
        self._paused_until = 0.0

    def person(self, nik: str) -> Person | None:
        """The person with this NIK, or None when the register does not know it."""
        return self._ask("/api/v1/penduduk", {"nik": nik}, "person", Person.from_json)

    def family(self, kk_number: str) -> Family | None:
        """The family card and everyone on it, or None when the register does not know it."""
        return self._ask("/api/v1/keluarga", {"kk_number": kk_number}, "family",
                         Family.from_json)

    def _ask(self, path: str, body: dict, key: str, parse):
        if self.clock() < self._paused_until:
            raise RegisterUnavailable("paused after a failed call")
        try:
            # POST: a NIK never appears in a URL, so in no access log either
            response = self.pool.request("POST", self.url + path, body=json.dumps(body).encode(),
                                         headers=JSON, timeout=self.timeout, retries=False,
                                         redirect=False)
            if response.status != 200:
                raise RegisterAnswered(response.status)
            answer = json.loads(response.data)
            return parse(answer[key]) if answer["found"] else None
        except (urllib3.exceptions.HTTPError, RegisterAnswered, ValueError, KeyError,
                TypeError) as exc:
            self._paused_until = self.clock() + self.pause
            # the kind of failure only: a driver's message can carry the URL or body
            log.warning("population register unavailable (%s); applications are accepted "
                        "and flagged register_unchecked for %gs", type(exc).__name__, self.pause)
            raise RegisterUnavailable(type(exc).__name__) from None


class PopulationRegister(DependencyProvider):
    required_settings = ("REGISTER_URL",)

    def setup(self):
        config = self.container.config
        (url,) = require(self)
        self.pool = partner_pool(config)
        self.client = RegisterClient(self.pool, url,
                                     seconds(config, "REGISTER_TIMEOUT_SECONDS", 2),
                                     seconds(config, "REGISTER_PAUSE_SECONDS", 5))

    def stop(self):
        self.pool.clear()

    def kill(self):
        self.pool.clear()

    def get_dependency(self, worker_ctx):
        return self.client
