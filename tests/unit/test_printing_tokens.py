"""The QR token: verifies offline with the public key alone; anything else fails."""

import datetime

import pytest

from services.printing import tokens
from services.printing.tokens import InvalidToken

CLAIMS = tokens.claims_for("ktp_el", "KTP-EL/2026/0000042", "Siti Aminah",
                           datetime.date(2026, 11, 30), "k3Jd9sPq2LmZ0aBc")


def published(*keys):
    return tokens.parse_public_keys(",".join(tokens.public_key_setting(k) for k in keys))


def test_a_token_verifies_with_the_published_public_key_alone():
    key = tokens.generate("dinas-2026")
    token = tokens.sign(CLAIMS, key)
    # only the public setting crosses over: what a verifier downloads
    assert tokens.verify(token, published(key)) == ("dinas-2026", CLAIMS)


def test_a_token_is_small_enough_for_a_card_qr():
    token = tokens.sign(CLAIMS, tokens.generate("dinas-2026"))
    assert len(token) < 260
    assert token.startswith("SDK1.dinas-2026.")


def test_an_altered_payload_fails():
    key = tokens.generate("k1")
    prefix, kid, payload, signature = tokens.sign(CLAIMS, key).split(".")
    forged = dict(CLAIMS, holder_name="Someone Else")
    other_payload = tokens.sign(forged, key).split(".")[2]
    with pytest.raises(InvalidToken) as failure:
        tokens.verify(".".join([prefix, kid, other_payload, signature]), published(key))
    assert failure.value.reason == "bad_signature"


def test_one_flipped_character_fails():
    key = tokens.generate("k1")
    token = tokens.sign(CLAIMS, key)
    middle = len(token) // 2
    flipped = token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1:]
    with pytest.raises(InvalidToken):
        tokens.verify(flipped, published(key))


def test_a_signature_spelled_otherwise_fails():
    """The last character of a 64-byte signature carries 2 bits and 4 unused
    ones: a base64 decoder ignores those, so 16 spellings decoded alike."""
    key = tokens.generate("k1")
    token = tokens.sign(CLAIMS, key)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(token[-1])
    for unused in range(1, 16):
        respelled = token[:-1] + alphabet[last ^ unused]
        with pytest.raises(InvalidToken) as failure:
            tokens.verify(respelled, published(key))
        assert failure.value.reason == "bad_signature"
    assert tokens.verify(token, published(key)) == ("k1", CLAIMS)


def test_a_token_signed_with_another_key_under_our_kid_fails():
    ours, theirs = tokens.generate("k1"), tokens.generate("k1")
    with pytest.raises(InvalidToken) as failure:
        tokens.verify(tokens.sign(CLAIMS, theirs), published(ours))
    assert failure.value.reason == "bad_signature"


def test_an_unknown_kid_fails():
    ours, theirs = tokens.generate("k1"), tokens.generate("k9")
    with pytest.raises(InvalidToken) as failure:
        tokens.verify(tokens.sign(CLAIMS, theirs), published(ours))
    assert failure.value.reason == "unknown_key"


def test_keys_rotate_old_tokens_still_verify():
    old, new = tokens.generate("2025"), tokens.generate("2026")
    keys = published(old, new)
    assert tokens.verify(tokens.sign(CLAIMS, old), keys)[0] == "2025"
    assert tokens.verify(tokens.sign(CLAIMS, new), keys)[0] == "2026"


@pytest.mark.parametrize("garbage", ["", "SDK1", "SDK1.k1.x", "JWT.k1.a.b", "SDK1.k1.!!.??",
                                     "SDK1.k1.a.b.c", "x" * 5000])
def test_garbage_is_invalid_not_an_error(garbage):
    with pytest.raises(InvalidToken):
        tokens.verify(garbage, published(tokens.generate("k1")))


def test_settings_round_trip_and_refuse_bad_shapes():
    key = tokens.generate("k1")
    again = tokens.parse_signing_key(tokens.signing_key_setting(key))
    assert tokens.verify(tokens.sign(CLAIMS, again), published(key))
    for bad in ["k1", "k1:abc", "bad kid:" + "A" * 43, ":" + "A" * 43]:
        with pytest.raises(ValueError) as failure:
            tokens.parse_signing_key(bad)
        assert "A" * 10 not in str(failure.value)


def test_the_token_holds_no_nik():
    nik = "3673045207900001"
    token = tokens.sign(CLAIMS, tokens.generate("k1"))
    payload = tokens.b64decode(token.split(".")[2]).decode()
    assert nik not in token and nik not in payload
