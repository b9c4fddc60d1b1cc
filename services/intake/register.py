"""The population register (SIAK) behind one provider: ``PopulationRegister``
hands workers a ``RegisterClient`` with the register's two questions,
``person(nik)`` and ``family(kk_number)`` (contract: docs/register-api.md).

One kept-alive session (``shared.partners``), a short timeout on every call
(``REGISTER_TIMEOUT_SECONDS``, default 2 s): the register is asked while a
citizen waits. A call that fails - no connection, a timeout, a 5xx, an
unreadable answer - raises ``RegisterUnavailable`` (the rules then accept
and flag the application), and for ``REGISTER_PAUSE_SECONDS`` (default 5 s)
after it the register is not asked at all: a register that hangs costs one timeout per pause, not one per
application, so intake keeps answering fast through the outage.
"""

from __future__ import annotations

import logging
import time
from typing import Callable

import requests
from nameko.extensions import DependencyProvider

from shared.partners import partner_session
from shared.settings import require, seconds

from .population import Family, Person, RegisterUnavailable

log = logging.getLogger(__name__)


class RegisterClient:
    def __init__(self, session: requests.Session, url: str, timeout: float, pause: float,
                 clock: Callable[[], float] = time.monotonic):
        self.session, self.url = session, url.rstrip("/")
        self.timeout, self.pause, self.clock = timeout, pause, clock
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
            response = self.session.post(self.url + path, json=body, timeout=self.timeout)
            response.raise_for_status()
            answer = response.json()
            return parse(answer[key]) if answer["found"] else None
        except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
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
        self.session = partner_session(config)
        self.client = RegisterClient(self.session, url,
                                     seconds(config, "REGISTER_TIMEOUT_SECONDS", 2),
                                     seconds(config, "REGISTER_PAUSE_SECONDS", 5))

    def stop(self):
        self.session.close()

    def kill(self):
        self.session.close()

    def get_dependency(self, worker_ctx):
        return self.client
