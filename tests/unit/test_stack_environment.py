"""The local stack's development defaults give way to the operator's own
environment (outside audit P3: ``QUIET_HOURS=21:00-06:00`` given to a stack
was silently replaced by the development ``off``, and SMS went out at 23:06)."""

from __future__ import annotations

from deploy.local.stack import DEV_SETTINGS, Stack


def test_the_operators_environment_wins_over_the_development_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("QUIET_HOURS", "21:00-06:00")
    monkeypatch.delenv("OPERATORS_EMAIL", raising=False)
    env = Stack(tmp_path).env()
    assert env["QUIET_HOURS"] == "21:00-06:00"
    assert env["OPERATORS_EMAIL"] == DEV_SETTINGS["OPERATORS_EMAIL"]  # not given: the default
    monkeypatch.setenv("AMQP_URI", "pyamqp://elsewhere//")
    assert Stack(tmp_path).env()["AMQP_URI"] == Stack.amqp_uri  # the stack's own stay its own
