"""The local stack's development settings give way to the operator's own
environment (outside audit P3: ``QUIET_HOURS=21:00-06:00`` given to a stack
was silently replaced by the development ``off``, and SMS went out at 23:06)."""

from __future__ import annotations

import pytest

from deploy.local.stack import DEV_SECRETS, DEV_SETTINGS, Stack, broker_address, ensure_rabbitmq


def test_the_operators_environment_wins_over_the_development_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("QUIET_HOURS", "21:00-06:00")
    monkeypatch.delenv("OPERATORS_EMAIL", raising=False)
    env = Stack(tmp_path).env()
    assert env["QUIET_HOURS"] == "21:00-06:00"
    assert env["OPERATORS_EMAIL"] == DEV_SETTINGS["OPERATORS_EMAIL"]  # not given: the default
    monkeypatch.setenv("AMQP_URI", "pyamqp://elsewhere//")
    assert Stack(tmp_path).env()["AMQP_URI"] == Stack.amqp_uri  # the stack's own stay its own


def test_the_development_secrets_stay_paired_with_the_sandboxes(tmp_path, monkeypatch):
    """Outside audit R1: ``POS_CLIENT_SECRET`` from the environment reached
    courier but not the Pos sandbox, which refused every token request."""
    monkeypatch.setenv("POS_CLIENT_SECRET", "staging-pos-secret")
    monkeypatch.setenv("OPERATOR_TOKENS", "someone:sha256:" + "0" * 64)
    env = Stack(tmp_path).env()
    assert env["POS_CLIENT_SECRET"] == DEV_SECRETS["POS_CLIENT_SECRET"]
    assert env["OPERATOR_TOKENS"] == DEV_SECRETS["OPERATOR_TOKENS"]


def test_the_launcher_checks_the_broker_amqp_uri_names():
    """Outside audit K: 5672 was checked whatever AMQP_URI named."""
    assert broker_address("pyamqp://guest:guest@127.0.0.1:5673/v") == ("127.0.0.1", 5673)
    assert broker_address("amqp://u:p@broker.dinas.example/v") == ("broker.dinas.example", 5672)
    assert broker_address("amqps://u:p@broker.dinas.example/v") == ("broker.dinas.example", 5671)
    # nothing answers there, and it is not where a broker is started: said, not started
    with pytest.raises(RuntimeError, match="127.0.0.1:1"):
        ensure_rabbitmq("127.0.0.1", 1)


def test_the_stack_prints_no_password_of_its_broker_or_database(tmp_path):
    """A review (forty-fifth session): ``make run`` with the broker and
    database URIs of real users printed their passwords (only guest:guest
    was left out)."""
    stack = Stack(tmp_path)
    stack.amqp_uri = "pyamqp://svc:S3cr@t@broker.dinas.example:5672/smartdukcapil"
    stack.mongo_uri = "mongodb://intake:pa55word@db1,db2/?replicaSet=rs0"
    printed = stack.describe()
    assert "S3cr" not in printed and "pa55word" not in printed, printed
    assert "pyamqp://svc:***@broker.dinas.example:5672/smartdukcapil" in printed
    assert "mongodb://intake:***@db1,db2/?replicaSet=rs0" in printed
