"""The signed token in a printed document's QR code. Plain Python, no I/O.

    SDK1.<kid>.<payload>.<signature>

``payload`` is base64url (no padding) of compact JSON with short keys, and
``signature`` base64url of the Ed25519 signature over the ASCII bytes
``SDK1.<kid>.<payload>``. ``kid`` names the Dinas key that signed, so keys can
rotate: a verifier holds every published public key by kid (``GET
/api/v1/verify/keys``) and needs nothing else — no network, no database — to
tell a genuine token from an altered or forged one. Whether the issuance was
later revoked (a reprint) only the verification endpoint knows.

Claims (``CLAIM_KEYS``): document type, document number (a serial the Dinas
assigns, never the NIK), holder's name, issue date, issuance id. 230-260
characters: a version 10-12 QR (57-65 modules), drawn 15.5 mm on a card.

Why not a JWS: the same idea (OpenCRVS prints an EdDSA JWT) with a header
object and longer claim names that cost QR modules for nothing here; the
format is documented in docs/verification.md for anyone who writes a verifier.

Keys in config are ``<kid>:<base64url of the 32-byte key>``: the private
signing key (``VERIFY_SIGNING_KEY``, a secret) and the published public keys
of earlier signing keys (``VERIFY_PUBLIC_KEYS``, comma-separated).
``python -m services.printing.tokens new <kid>`` makes a pair.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import re
import sys
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

PREFIX = "SDK1"
# claim name -> key in the token
CLAIM_KEYS = {"document_type": "t", "document_number": "n", "holder_name": "h",
              "issue_date": "d", "issuance_id": "i"}
MAX_TOKEN_CHARS = 1024  # far above any real token; longer is not ours
_KID = re.compile(r"[A-Za-z0-9_-]{1,32}")


class InvalidToken(ValueError):
    """Not a token this Dinas signed, or altered since (``reason`` says which check failed)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64decode(text: str) -> bytes:
    """The bytes of unpadded base64url ``text``, written as ``b64encode``
    writes them: the last character's unused bits zero (decoding alone
    ignores them, and 16 spellings of one signature would all verify)."""
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise binascii.Error("not base64url")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64encode(data) != text:
        raise binascii.Error("not canonical base64url")
    return data


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private: Ed25519PrivateKey

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()


def generate(kid: str) -> SigningKey:
    if not _KID.fullmatch(kid):
        raise ValueError("a kid is 1-32 letters, digits, '-' or '_'")
    return SigningKey(kid, Ed25519PrivateKey.generate())


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def signing_key_setting(key: SigningKey) -> str:
    return f"{key.kid}:{b64encode(key.private.private_bytes_raw())}"


def public_key_setting(key: SigningKey) -> str:
    return f"{key.kid}:{b64encode(raw_public(key.public))}"


def _split_entry(entry: str) -> tuple[str, bytes]:
    kid, _, encoded = entry.strip().partition(":")
    try:
        raw = b64decode(encoded)
    except (binascii.Error, ValueError):
        raw = b""
    if not _KID.fullmatch(kid) or len(raw) != 32:
        # the message names the shape, never the value (it may be a secret)
        raise ValueError("expected <kid>:<base64url of 32 bytes>")
    return kid, raw


def parse_signing_key(setting: str) -> SigningKey:
    kid, raw = _split_entry(setting)
    return SigningKey(kid, Ed25519PrivateKey.from_private_bytes(raw))


def parse_public_keys(setting: str) -> dict[str, Ed25519PublicKey]:
    keys = {}
    for entry in filter(str.strip, (setting or "").split(",")):
        kid, raw = _split_entry(entry)
        keys[kid] = Ed25519PublicKey.from_public_bytes(raw)
    return keys


def sign(claims: dict, key: SigningKey) -> str:
    """The token for ``claims`` (exactly the ``CLAIM_KEYS``, strings)."""
    if set(claims) != set(CLAIM_KEYS):
        raise ValueError(f"claims must be exactly {sorted(CLAIM_KEYS)}")
    payload = {CLAIM_KEYS[name]: str(value) for name, value in claims.items()}
    body = f"{PREFIX}.{key.kid}.{b64encode(json.dumps(payload, separators=(',', ':'), ensure_ascii=False).encode())}"
    return f"{body}.{b64encode(key.private.sign(body.encode('ascii')))}"


def verify(token: str, public_keys: dict[str, Ed25519PublicKey]) -> tuple[str, dict]:
    """(kid, claims) of a genuine token; ``InvalidToken`` otherwise."""
    token = (token or "").strip()
    if len(token) > MAX_TOKEN_CHARS:
        raise InvalidToken("malformed")
    parts = token.split(".")
    if len(parts) != 4 or parts[0] != PREFIX:
        raise InvalidToken("malformed")
    _, kid, payload, signature = parts
    public = public_keys.get(kid)
    if public is None:
        raise InvalidToken("unknown_key")
    try:
        public.verify(b64decode(signature), f"{PREFIX}.{kid}.{payload}".encode("ascii"))
    except (InvalidSignature, binascii.Error, ValueError, UnicodeEncodeError):
        raise InvalidToken("bad_signature") from None
    # signed by us: the payload is what we wrote, so this cannot fail for a
    # token of ours; checked anyway rather than trusted into a KeyError
    try:
        data = json.loads(b64decode(payload))
        claims = {name: data[short] for name, short in CLAIM_KEYS.items()}
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise InvalidToken("malformed") from None
    return kid, claims


def claims_for(document_type: str, document_number: str, holder_name: str,
               issue_date: datetime.date, issuance_id: str) -> dict:
    return {"document_type": document_type, "document_number": document_number,
            "holder_name": holder_name, "issue_date": issue_date.isoformat(),
            "issuance_id": issuance_id}


def main(argv: list[str]) -> None:
    if len(argv) != 2 or argv[0] != "new":
        sys.exit("usage: python -m services.printing.tokens new <kid>")
    key = generate(argv[1])
    print(f"VERIFY_SIGNING_KEY={signing_key_setting(key)}   (secret: the printing service only)")
    print(f"public entry for VERIFY_PUBLIC_KEYS after rotation: {public_key_setting(key)}")


if __name__ == "__main__":
    main(sys.argv[1:])
