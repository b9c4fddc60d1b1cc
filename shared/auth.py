"""Bearer-token authentication for operators and printing stations.

Tokens come from config (``<KEY>: "principal:token,principal:token"``), read
once in ``setup()``. Workers get a checker that returns the principal id or
raises ``Unauthorized``; comparisons are constant-time.
"""

from __future__ import annotations

import hmac

from nameko.extensions import DependencyProvider

from .errors import Msg, Unauthorized


def parse_tokens(spec: str) -> dict[str, str]:
    tokens = {}
    for item in filter(None, (part.strip() for part in (spec or "").split(","))):
        principal, _, token = item.partition(":")
        if principal and token:
            tokens[token] = principal
    return tokens


class TokenChecker:
    def __init__(self, tokens: dict[str, str]):
        self._tokens = tokens

    def authenticate(self, request) -> str:
        header = request.headers.get("Authorization", "")
        scheme, _, presented = header.partition(" ")
        if scheme.lower() == "bearer" and presented:
            for token, principal in self._tokens.items():
                if hmac.compare_digest(token.encode(), presented.strip().encode()):
                    return principal
        raise Unauthorized(Msg("Token akses tidak valid.", "Invalid access token."))


class BearerTokens(DependencyProvider):
    def __init__(self, config_key: str):
        self.config_key = config_key

    def setup(self):
        self.checker = TokenChecker(parse_tokens(self.container.config.get(self.config_key, "")))

    def get_dependency(self, worker_ctx):
        return self.checker
