"""Bearer tokens kept as hashes, failed attempts limited per client, and the
settings a service refuses to start without (shared/auth.py, shared/settings.py)."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from deploy.local.stack import DEV_SECRETS
from deploy.registry import ROOT, SERVICES, load_config
from shared.auth import BearerTokens, TokenChecker, hash_token, main, parse_token_hashes
from shared.errors import TooManyAttempts, Unauthorized
from shared.ratelimit import Attempts, FailureLimit
from shared.settings import InvalidSetting, MissingSettings, require

HASH_A, HASH_B = hash_token("tok-a"), hash_token("tok-b")
SECRET_KEYS = {"AMQP_URI", "MONGO_URI", "OPERATOR_TOKENS", "STATION_TOKENS", "SMS_USERKEY",
               "SMS_PASSKEY", "POS_CLIENT_ID", "POS_CLIENT_SECRET", "SERVICE_TOKENS",
               "INTAKE_SERVICE_TOKEN", "VERIFY_SIGNING_KEY"}


class FakeRequest:
    def __init__(self, headers: dict, remote_addr: str = "192.0.2.10"):
        self.headers, self.remote_addr = headers, remote_addr


def checker(spec: str = f"op-1:{HASH_A},station-1:{HASH_B}", limit: int = 10) -> TokenChecker:
    return TokenChecker(parse_token_hashes(spec, "OPERATOR_TOKENS"),
                        Attempts(client=FailureLimit(limit, 300)))


def bound(provider, config: dict, service: str = "intake_api", others=()):
    """``provider`` as nameko binds it, in a container holding ``others`` too."""
    provider.container = SimpleNamespace(config=config, service_name=service,
                                         extensions=[provider, *others])
    return provider


def test_a_token_is_kept_as_its_sha256():
    assert HASH_A == "sha256:" + hashlib.sha256(b"tok-a").hexdigest()
    # spaces and empty entries are fine, and a digest in capitals
    assert parse_token_hashes(f" op-1:{HASH_A}, ,station-1:sha256:{HASH_B[7:].upper()}",
                              "K") == [
        (bytes.fromhex(HASH_A[7:]), "op-1"), (bytes.fromhex(HASH_B[7:]), "station-1")]


@pytest.mark.parametrize("spec", ["op-1:tok-a", "plain-token", f"op 1:{HASH_A}", "op-1:md5:abc",
                                  f"op-1:{HASH_A}0"])
def test_a_plain_or_malformed_entry_is_refused_without_quoting_it(spec):
    with pytest.raises(InvalidSetting) as refused:
        parse_token_hashes(f"op-0:{HASH_B},{spec}", "OPERATOR_TOKENS")
    assert "OPERATOR_TOKENS: entry 2 is not principal:sha256:" in str(refused.value)
    assert "tok-a" not in str(refused.value) and "plain-token" not in str(refused.value)


def test_one_token_for_two_principals_is_refused():
    with pytest.raises(InvalidSetting, match="entry 2 repeats"):
        parse_token_hashes(f"op-1:{HASH_A},op-2:{HASH_A}", "OPERATOR_TOKENS")
    with pytest.raises(InvalidSetting, match="no token configured"):
        parse_token_hashes(" , ", "OPERATOR_TOKENS")


@pytest.mark.parametrize(("header", "principal"), [
    ("Bearer tok-a", "op-1"), ("bearer tok-b", "station-1"), ("Bearer  tok-a ", "op-1")])
def test_the_presented_token_is_hashed_and_matched(header, principal):
    assert checker().authenticate(FakeRequest({"Authorization": header})) == principal


@pytest.mark.parametrize("headers", [
    {"Authorization": "Bearer wrong"}, {"Authorization": "Bearer tok-"}, {},
    {"Authorization": "Basic tok-a"}, {"Authorization": "tok-a"}, {"Authorization": "Bearer "},
    {"Authorization": f"Bearer {HASH_A}"}, {"Authorization": f"Bearer {HASH_A[7:]}"}])
def test_anything_else_is_unauthorized(headers):
    with pytest.raises(Unauthorized) as excinfo:
        checker().authenticate(FakeRequest(headers))
    assert excinfo.value.to_body("en")["error"] == {"code": "unauthorized",
                                                    "message": "Invalid access token."}


def test_a_client_that_keeps_guessing_is_refused_but_a_right_token_from_it_is_served():
    """Stations behind one address (a kecamatan's NAT): a neighbour's wrong
    token must not hold up a station's printed report past its lease."""
    tokens = checker(limit=3)
    for _ in range(3):
        with pytest.raises(Unauthorized):
            tokens.authenticate(FakeRequest({"Authorization": "Bearer guess"}))
    for headers in ({"Authorization": "Bearer guess"}, {}):
        with pytest.raises(TooManyAttempts) as refused:
            tokens.authenticate(FakeRequest(headers))
        assert 0 < refused.value.retry_after <= 300
        assert refused.value.to_body("id")["error"]["code"] == "too_many_attempts"
    assert tokens.authenticate(FakeRequest({"Authorization": "Bearer tok-a"})) == "op-1"
    # another client is not held back
    assert tokens.authenticate(FakeRequest({"Authorization": "Bearer tok-a"}, "192.0.2.11")) \
        == "op-1"


def test_a_request_without_a_bearer_token_is_not_a_guess():
    tokens = checker(limit=1)
    for headers in ({}, {"Authorization": "Basic eA=="}, {"Authorization": "Bearer "}):
        with pytest.raises(Unauthorized):
            tokens.authenticate(FakeRequest(headers))
    assert tokens.authenticate(FakeRequest({"Authorization": "Bearer tok-a"})) == "op-1"


def test_bearer_tokens_read_their_limits_and_hashes_in_setup():
    provider = bound(BearerTokens("STATION_TOKENS"), {
        "STATION_TOKENS": f"station-1:{HASH_B}", "AUTH_FAILURES_PER_CLIENT": 2,
        "AUTH_FAILURE_WINDOW_SECONDS": 30})
    provider.setup()
    tokens = provider.get_dependency(None)
    for _ in range(2):
        with pytest.raises(Unauthorized):
            tokens.authenticate(FakeRequest({"Authorization": "Bearer tok-a"}))
    with pytest.raises(TooManyAttempts) as refused:
        tokens.authenticate(FakeRequest({"Authorization": "Bearer tok-a"}))
    assert refused.value.retry_after == 30
    assert tokens.authenticate(FakeRequest({"Authorization": "Bearer tok-b"})) == "station-1"


@pytest.mark.parametrize("value", [None, "", "   "])
def test_a_service_without_its_tokens_refuses_to_start_and_says_which(value):
    class Store:
        required_settings = ("MONGO_URI", "AMQP_URI")

    provider = bound(BearerTokens("OPERATOR_TOKENS"),
                     {"OPERATOR_TOKENS": value, "MONGO_URI": "mongodb://db", "AMQP_URI": ""},
                     others=[Store(), object()])
    with pytest.raises(MissingSettings) as refused:
        provider.setup()
    assert refused.value.keys == ["AMQP_URI", "OPERATOR_TOKENS"]  # the container's, all at once
    assert str(refused.value).startswith(
        "intake_api refuses to start: not configured: AMQP_URI, OPERATOR_TOKENS")
    assert "mongodb://db" not in str(refused.value)


def test_require_returns_the_extensions_own_settings_in_order():
    extension = bound(SimpleNamespace(required_settings=("SMS_USERKEY", "SMS_PASSKEY")),
                      {"SMS_PASSKEY": " 123456 ", "SMS_USERKEY": "user"})
    assert require(extension) == ["user", "123456"]


def test_the_cli_hashes_a_token_and_makes_new_ones(capsys):
    main(["hash", "dev-operator-token"])
    assert capsys.readouterr().out.strip() == hash_token("dev-operator-token")
    main(["new", "station-serang-2"])
    token_line, entry_line = capsys.readouterr().out.splitlines()
    token = token_line.rsplit(" ", 1)[1]
    assert len(token) >= 40
    assert entry_line == f"config entry: station-serang-2:{hash_token(token)}"
    parse_token_hashes(entry_line.split(": ", 1)[1], "STATION_TOKENS")


def test_the_local_stack_holds_hashes_of_the_tokens_the_readme_uses():
    readme = (ROOT / "README.md").read_text()
    for key, principal, token in (("OPERATOR_TOKENS", "operator-dev", "dev-operator-token"),
                                  ("STATION_TOKENS", "station-serang-1", "dev-station-token")):
        assert DEV_SECRETS[key] == f"{principal}:{hash_token(token)}"
        assert f"Bearer {token}" in readme


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_config_files_carry_no_working_secret(service, monkeypatch):
    monkeypatch.setattr(os, "environ", {})
    config = load_config(service)
    present = SECRET_KEYS & set(config)
    assert {"AMQP_URI", "MONGO_URI"} <= present
    assert all(config[key] in ("", None) for key in present), present
    text = Path(ROOT / "services" / service / "config.yaml").read_text()
    assert not re.search(r"guest|sandbox-|dev-\w+-token", text)


def test_a_secret_from_the_environment_is_kept_as_written(monkeypatch):
    monkeypatch.setattr(os, "environ", {"SMS_PASSKEY": "0123 #x", "SMS_USERKEY": "true"})
    config = load_config("notification")
    assert (config["SMS_PASSKEY"], config["SMS_USERKEY"]) == ("0123 #x", "true")
