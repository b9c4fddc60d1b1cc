"""Pos' tracking webhooks: the signature check and a limit on failing it.

``WebhookSignatures`` reads the shared webhook secret (``POS_WEBHOOK_SECRET``)
in ``setup()`` and hands workers ``verify(request)``: the signature
(``signatures.verify``) checked before the body is read. A client
(``shared.ratelimit.client_address``; ``TRUSTED_PROXIES`` as elsewhere)
whose webhooks fail the check ``WEBHOOK_FAILURES_PER_CLIENT`` times (10)
within ``WEBHOOK_FAILURE_WINDOW_SECONDS`` (300) gets 429 + ``Retry-After``
until that window ends, correctly signed or not: the same rule as wrong
bearer tokens (``shared.auth``), so a flood of forgeries costs the service
one dictionary look-up each instead of a body read and an HMAC, and the
limit never tells a guesser which signature was right.

Every refused signature counts, a missing one too: unlike an operator's
browser without a token, nothing legitimate posts to this path unsigned.
Pos itself never fails the check while both sides hold the same secret and
their clocks agree within five minutes; if it did, every one of its webhooks
would be refused anyway, and polling (``POLL_QUIET_SECONDS``) still finds
what they said.
"""

from __future__ import annotations

import time

from nameko.extensions import DependencyProvider

from shared.ratelimit import (Attempts, client_address, trusted_proxies,
                              webhook_failure_limit)
from shared.settings import require

from . import signatures
from .exceptions import BadSignature

SIGNATURE_HEADER = "X-Pos-Signature"


class WebhookSignatures(DependencyProvider):
    required_settings = ("POS_WEBHOOK_SECRET",)

    def setup(self):
        config = self.container.config
        [self.secret] = require(self)
        self.failures = Attempts(client=webhook_failure_limit(config))
        self.proxies = trusted_proxies(config)

    def verify(self, request) -> None:
        """Nothing for a request Pos signed, even from a client over its
        limit; else ``TooManyAttempts`` for a client over it, or
        ``BadSignature`` counted against the client."""
        with self.failures.served_when_right(BadSignature,
                                             client=client_address(request, self.proxies)):
            signatures.verify(self.secret, request.headers.get(SIGNATURE_HEADER),
                              request.get_data(cache=True), time.time())

    def get_dependency(self, worker_ctx):
        return self
