"""``python -m deploy.topology``'s reading of ``CHANNEL_PASSWORDS``: a name
that is no channel is refused before anything is declared."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from deploy import topology
from deploy.topology import channel_passwords, node_problem

ROOT = Path(__file__).resolve().parents[2]


def test_each_channel_gets_its_password_as_given():
    assert channel_passwords("web=s3cret, app = a=b ,kelurahan=k ,") == \
        {"web": "s3cret", "app": " a=b ", "kelurahan": "k "}
    assert channel_passwords("") == {} and channel_passwords(" , ") == {}


@pytest.mark.parametrize(("setting", "named"), [
    ("wbe=secret", "'wbe' is not a channel (the channels: web, app, whatsapp, kelurahan)"),
    ("web=a,smartdukcapil-app=b", "'smartdukcapil-app' is not a channel"),
    ("=secret", "'' is not a channel"),
    ("web", "no password for channel 'web'"), ("web=", "no password for channel 'web'"),
    ("web=a,app=b,web=c", "channel 'web' given twice"),
    # a password with a comma: its tail is no channel, and is not printed (a review)
    ("web=pass,secret", "an entry is no channel=password")])
def test_a_setting_that_names_no_channel_or_no_password_is_refused(setting, named):
    with pytest.raises(SystemExit) as refused:
        channel_passwords(setting)
    assert named in str(refused.value.code)
    assert "secret" not in str(refused.value.code)


def test_the_deploy_step_exits_naming_the_mistyped_channel_and_declares_nothing():
    """``CHANNEL_PASSWORDS="wbe=secret"`` created a user smartdukcapil-wbe for
    an exchange that does not exist, and exited 0 (outside audit)."""
    env = {**os.environ, "CHANNEL_PASSWORDS": "wbe=secret",
           "AMQP_URI": "pyamqp://guest:guest@127.0.0.1:9/"}  # nothing listens: never reached
    done = subprocess.run([sys.executable, "-m", "deploy.topology"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "'wbe' is not a channel (the channels: web, app, whatsapp, kelurahan)" in done.stderr
    assert "secret" not in done.stderr + done.stdout and "declared" not in done.stdout


def test_help_says_what_the_deploy_step_does_and_declares_nothing():
    """Outside audit L2: ``--help`` with AMQP_URI set declared the topology."""
    env = {**os.environ, "AMQP_URI": "pyamqp://guest:guest@127.0.0.1:9/"}  # never reached
    done = subprocess.run([sys.executable, "-m", "deploy.topology", "--help"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Declare the whole broker topology" in done.stdout and "RABBITMQCTL_NODE" in done.stdout
    assert "declared" not in done.stdout and not done.stderr


LOCAL_NODE = [{"interface": "127.0.0.1", "port": 25672, "protocol": "clustering"},
              {"interface": "127.0.0.1", "port": 5672, "protocol": "amqp"}]


def test_the_node_rabbitmqctl_reaches_must_be_the_broker_the_uri_names():
    """Outside audit K: users were made on the machine's own node whatever
    broker AMQP_URI named."""
    assert node_problem("pyamqp://guest:guest@127.0.0.1:5672/v", LOCAL_NODE, False) is None
    assert node_problem("amqp://u:p@localhost/v", LOCAL_NODE, False) is None  # 5672 by default
    other_port = node_problem("pyamqp://guest:secret@127.0.0.1:5673/v", LOCAL_NODE, False)
    assert "5673" in other_port and "5672" in other_port and "RABBITMQCTL_NODE" in other_port
    elsewhere = node_problem("pyamqp://guest:secret@broker.dinas.example:5672/v", LOCAL_NODE,
                             False)
    assert "broker.dinas.example" in elsewhere and "RABBITMQCTL_NODE" in elsewhere
    # a node named: its listeners are the check (same port as the URI's)
    assert node_problem("pyamqp://u:p@broker.dinas.example:5672/v", LOCAL_NODE, True) is None
    assert "5671" in node_problem("amqps://u:p@broker.dinas.example/v", LOCAL_NODE, True)
    for problem in (other_port, elsewhere):
        assert "secret" not in problem  # named by host and port: never the credentials


def test_a_channel_user_s_password_goes_to_rabbitmqctl_on_stdin_never_on_its_command_line(
        monkeypatch):
    """Outside audit L: ``add_user <user> <password>`` showed it to every
    local user (``ps``, /proc/<pid>/cmdline) while it ran."""
    calls = []

    def run(argv, **kwargs):
        calls.append((argv, kwargs.get("input")))
        # the user exists: add_user fails, change_password follows
        return subprocess.CompletedProcess(argv, 1 if "add_user" in argv else 0, "", "")

    monkeypatch.setattr(subprocess, "run", run)
    monkeypatch.delenv("RABBITMQCTL_NODE", raising=False)
    topology.provision_channel_user("/", "smartdukcapil-web", "s3cret-pw", "web")
    assert [argv[1] for argv, _ in calls] == ["list_users", "add_user", "change_password",
                                              "set_permissions"]
    assert not any("s3cret-pw" in " ".join(argv) for argv, _ in calls)
    assert [given for argv, given in calls if argv[1] in ("add_user", "change_password")] == [
        "s3cret-pw", "s3cret-pw"]
