"""Bearer-token authentication for operators, printing stations and the
kelurahan/kecamatan officers (whose tokens carry their region: ``ScopedBearerTokens``).

Config holds hashes, never tokens (read once in ``setup()``)::

    OPERATOR_TOKENS: "operator-budi:sha256:<64 hex>,operator-sari:sha256:<64 hex>"

so a leaked config file or environment does not leak a token. The checker
hashes the presented token and compares it with every configured hash in
constant time; workers get the principal id or ``Unauthorized``. Tokens are
random (``new`` below makes them), so one unsalted SHA-256 is enough: nobody
searches a 256-bit space, and a slow password hash would only cost CPU on
every request. The local stack's tokens are guessable on purpose and exist
only there.

A client (see ``shared.ratelimit.client_address``) that presents wrong tokens
``AUTH_FAILURES_PER_CLIENT`` times (10) within ``AUTH_FAILURE_WINDOW_SECONDS``
(300) gets 429 + ``Retry-After`` until the window ends for every request
without a right token; a right token is served (``TokenChecker.authenticate``).
Each ``BearerTokens`` counts its own: a service's station, operator and
officer tokens apart (wrong ones of one kind lock the client out of the
calls taking that kind only), in memory per process (``shared.ratelimit``).
A request without a bearer token is not a guess and is not counted.

Operators make token lines with::

    python -m shared.auth new station-serang-2   # a fresh token and its config entry
    python -m shared.auth hash                   # the hash of a token (asked for, not echoed)
"""

from __future__ import annotations

import argparse
import getpass
import hashlib
import hmac
import re
import secrets
import sys
from dataclasses import dataclass

from nameko.extensions import DependencyProvider

from .errors import Msg, Unauthorized
from .ratelimit import Attempts, FailureLimit, client_address, trusted_proxies
from .settings import InvalidSetting, integer, require, seconds

ALGORITHM = "sha256"
_PRINCIPAL = re.compile(r"[A-Za-z0-9._@-]+")
_ENTRY = re.compile(
    rf"(?P<principal>{_PRINCIPAL.pattern}):{ALGORITHM}:(?P<digest>[0-9a-fA-F]{{64}})")


def hash_token(token: str) -> str:
    """``sha256:<hex>``, the form a token takes in config."""
    return f"{ALGORITHM}:{hashlib.sha256(token.encode()).hexdigest()}"


def parse_token_hashes(spec: str, key: str) -> list[tuple[bytes, str]]:
    """``principal:sha256:<hex>,...`` -> [(digest, principal)]. A malformed
    entry (a plain token, most likely) is refused by its position only, so
    the error cannot print a secret."""
    entries, seen = [], set()
    for number, item in enumerate((part.strip() for part in spec.split(",")), start=1):
        if not item:
            continue
        match = _ENTRY.fullmatch(item)
        if match is None:
            raise InvalidSetting(key, f"entry {number} is not principal:sha256:<64 hex digits>"
                                 " (config keeps token hashes: python -m shared.auth hash)")
        digest = bytes.fromhex(match["digest"])
        if digest in seen:
            raise InvalidSetting(key, f"entry {number} repeats another entry's token")
        seen.add(digest)
        entries.append((digest, match["principal"]))
    if not entries:
        raise InvalidSetting(key, "no token configured")
    return entries


class TokenChecker:
    def __init__(self, hashes: list[tuple[bytes, str]], failures: Attempts,
                 proxies: frozenset[str] = frozenset()):
        self._hashes, self.failures, self.proxies = hashes, failures, proxies

    def authenticate(self, request) -> str:
        """The principal of a right token, even from a client locked out:
        the lockout refuses only what is not a right token. A station behind
        one address with a neighbour sending a wrong token must still get its
        ``printed`` report in - refused 429 for minutes, its lease ran out and
        another station printed the card again (outside review). Answering a
        right token during a lockout gives a guesser nothing worth having:
        tokens are random 256-bit secrets (``new``), and no rate of guessing
        finds one; the limit is there to stop a misconfigured or hostile
        client's flood of wrong tokens from costing more than a 429."""
        client = client_address(request, self.proxies)
        scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
        guessed = scheme.lower() == "bearer" and bool(presented.strip())
        if guessed and (principal := self.principal_for(presented.strip())) is not None:
            return principal
        self.failures.check(client=client)
        if guessed:
            self.failures.failed(client=client)
        raise Unauthorized(Msg("Token akses tidak valid.", "Invalid access token."))

    def principal_for(self, token: str) -> str | None:
        digest = hashlib.sha256(token.encode()).digest()
        found = None
        for configured, principal in self._hashes:  # every entry: no early exit to time
            if hmac.compare_digest(configured, digest):
                found = principal
        return found


class BearerTokens(DependencyProvider):
    """``config_key`` holds the token hashes; the service refuses to start without it.
    More keys admit their principals too (intake's documents are read by
    operators and by services: ``BearerTokens("OPERATOR_TOKENS", "SERVICE_TOKENS")``)."""

    checker_class = TokenChecker

    def __init__(self, config_key: str, *more_keys: str):
        self.required_settings = (config_key, *more_keys)

    def setup(self):
        config = self.container.config
        specs = require(self)
        limit = FailureLimit(integer(config, "AUTH_FAILURES_PER_CLIENT", 10, minimum=1),
                             seconds(config, "AUTH_FAILURE_WINDOW_SECONDS", 300, positive=True))
        hashes = [entry for key, spec in zip(self.required_settings, specs)
                  for entry in self.parse(spec, key)]
        self.checker = self.checker_class(hashes, Attempts(client=limit),
                                          trusted_proxies(config))

    def parse(self, spec: str, key: str) -> list[tuple[bytes, str]]:
        return parse_token_hashes(spec, key)

    def get_dependency(self, worker_ctx):
        return self.checker


@dataclass(frozen=True)
class Officer:
    """A kelurahan or kecamatan officer and the region code they act for."""
    officer_id: str
    scope: str

    def __str__(self) -> str:
        return f"{self.officer_id}@{self.scope}"


class ScopedTokenChecker(TokenChecker):
    def authenticate(self, request) -> Officer:
        officer_id, _, scope = super().authenticate(request).rpartition("@")
        return Officer(officer_id, scope)


class ScopedBearerTokens(BearerTokens):
    """Officers' tokens, each for one region: ``officer-id@<region code>:sha256:<hex>``
    (``scope_digits``: 10 for a kelurahan, 6 for a kecamatan). Workers get an
    ``Officer``; an entry without its region code stops the service at start."""

    checker_class = ScopedTokenChecker

    def __init__(self, config_key: str, scope_digits: int):
        super().__init__(config_key)
        self.scope_digits = scope_digits

    def parse(self, spec: str, key: str) -> list[tuple[bytes, str]]:
        entries = super().parse(spec, key)
        shape = re.compile(rf"[A-Za-z0-9._-]+@\d{{{self.scope_digits}}}")
        for _, principal in entries:  # a principal is no secret: it may be named
            if not shape.fullmatch(principal):
                raise InvalidSetting(key, f"{principal!r} is not officer-id@<"
                                     f"{self.scope_digits}-digit region code>:sha256:<hex>")
        return entries


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m shared.auth",
                                     description="Make bearer tokens and their config entries.")
    commands = parser.add_subparsers(dest="command", required=True)
    hashing = commands.add_parser("hash", help="print sha256:<hex> for a token")
    hashing.add_argument("token", nargs="?",
                         help="the token (read from stdin or asked for when left out)")
    new = commands.add_parser("new", help="make a random token for a principal")
    new.add_argument("principal")
    args = parser.parse_args(argv)
    if args.command == "new" and not _PRINCIPAL.fullmatch(args.principal):
        parser.error("a principal is letters, digits and . _ @ -")
    if args.command == "hash":
        token = args.token
        if token is None:
            token = getpass.getpass("token: ") if sys.stdin.isatty() else sys.stdin.readline()
        print(hash_token(token.strip()))
    else:
        token = secrets.token_urlsafe(32)
        print(f"token (give it to {args.principal}; it is not stored anywhere): {token}")
        print(f"config entry: {args.principal}:{hash_token(token)}")


if __name__ == "__main__":
    main()
