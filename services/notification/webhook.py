"""The WhatsApp Cloud API webhook's secrets, and a limit on failing them.

``WhatsAppWebhook`` reads the Meta app's secret (``WHATSAPP_APP_SECRET``:
Meta signs every delivery with it, ``X-Hub-Signature-256``) and the verify
token set in the app's webhook configuration (``WHATSAPP_VERIFY_TOKEN``:
Meta's handshake echoes it) in ``setup()``, and hands workers
``verify(request)`` and ``challenge(request)`` (``callbacks.py`` checks them).
A client (``shared.ratelimit.client_address``; ``TRUSTED_PROXIES`` as
elsewhere) failing either ``WEBHOOK_FAILURES_PER_CLIENT`` times (10) within
``WEBHOOK_FAILURE_WINDOW_SECONDS`` (300) gets 429 + ``Retry-After`` until
that window ends, right or wrong: the rule of courier's Pos webhook and of
bearer tokens, so guessing stays slow and the limit tells no guesser which
try was right. Meta itself never fails while both sides hold the same
secret; if it did, it would deliver again later (for up to 7 days).
"""

from __future__ import annotations

from nameko.extensions import DependencyProvider

from shared.http import query_args
from shared.ratelimit import (Attempts, client_address, trusted_proxies,
                              webhook_failure_limit)
from shared.settings import require

from .callbacks import SIGNATURE_HEADER, handshake, verify_signature
from .exceptions import BadSignature, Forbidden


class WhatsAppWebhook(DependencyProvider):
    required_settings = ("WHATSAPP_APP_SECRET", "WHATSAPP_VERIFY_TOKEN")

    def setup(self):
        config = self.container.config
        self.app_secret, self.verify_token = require(self)
        self.failures = Attempts(client=webhook_failure_limit(config))
        self.proxies = trusted_proxies(config)

    def verify(self, request) -> None:
        """Nothing when Meta signed the raw body, even for a client over its
        limit; else ``TooManyAttempts`` over it, or ``BadSignature`` (counted).
        The handshake's verify token (``challenge``) stays refused to a
        client over its limit, right or not: an operator picks it, and it
        may be guessable where the app secret is not."""
        with self.failures.served_when_right(BadSignature,
                                             client=client_address(request, self.proxies)):
            verify_signature(self.app_secret, request.headers.get(SIGNATURE_HEADER),
                             request.get_data(cache=True))

    def challenge(self, request) -> str:
        """The handshake's challenge to echo; ``Forbidden`` (counted) otherwise."""
        params = query_args(request)  # not UTF-8: a 400, not a failed try
        with self.failures.attempt(Forbidden, client=client_address(request, self.proxies)):
            return handshake(params, self.verify_token)

    def get_dependency(self, worker_ctx):
        return self
