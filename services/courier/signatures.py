"""Pos Indonesia's webhook signature, checked before anything is read.

``X-Pos-Signature: t=<unix seconds>,v1=<hex>``, ``<hex>`` being HMAC-SHA256
with the shared webhook secret over ``"<t>.<raw body>"`` (Stripe's scheme):
the timestamp is signed with the body, so an old request cannot be replayed
with a fresh time, and one older than the tolerance (five minutes) is
refused. Replays inside the tolerance are refused by event id (the store).
Plain Python, no I/O.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from shared.errors import Msg

from .exceptions import BadSignature

TOLERANCE_SECONDS = 300
_ASCII_DIGITS = re.compile(r"[0-9]{1,12}")
_HEX = re.compile(r"[0-9a-fA-F]{1,128}")

MISSING = Msg("Tanda tangan webhook tidak ada atau rusak.", "Webhook signature missing or malformed.")
MISMATCH = Msg("Tanda tangan webhook tidak cocok.", "Webhook signature does not match.")
STALE = Msg("Webhook terlalu lama (lebih dari 5 menit) atau dari masa depan.",
            "Webhook timestamp outside the 5-minute tolerance.")


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The header value Pos sends for ``body`` at ``timestamp``."""
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def parse(header: str | None) -> tuple[int, list[str]]:
    """(timestamp, v1 signatures); ``BadSignature`` when it is not that shape:
    ``t`` ASCII digits, each ``v1`` hex (a header's bytes arrive as Latin-1
    text: ``v1=é`` or ``t=²`` was a 500 with a traceback, uncounted)."""
    timestamp, signatures = None, []
    for part in (header or "").split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and _ASCII_DIGITS.fullmatch(value):
            timestamp = int(value)
        elif key == "v1" and _HEX.fullmatch(value):
            signatures.append(value.lower())  # hex in either case (outside audit G)
    if timestamp is None or not signatures:
        raise BadSignature(MISSING)
    return timestamp, signatures


def verify(secret: str, header: str | None, body: bytes, now: float,
           tolerance: float = TOLERANCE_SECONDS) -> None:
    """Raise ``BadSignature`` unless ``header`` signs ``body`` within ``tolerance`` of ``now``."""
    timestamp, signatures = parse(header)
    expected = sign(secret, body, timestamp).partition(",v1=")[2]
    # every candidate compared, in constant time: no early exit to time
    matches = [hmac.compare_digest(expected, candidate) for candidate in signatures]
    if not any(matches):
        raise BadSignature(MISMATCH)
    if abs(now - timestamp) > tolerance:
        raise BadSignature(STALE)
