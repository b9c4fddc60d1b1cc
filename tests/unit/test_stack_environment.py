"""The local stack's development settings give way to the operator's own
environment (outside audit P3: ``QUIET_HOURS=21:00-06:00`` given to a stack
was silently replaced by the development ``off``, and SMS went out at 23:06)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from deploy.local.stack import (DEV_SECRETS, DEV_SETTINGS, NotStarted, Stack,
                                background_nice_setting, broker_address, ensure_rabbitmq)


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


def test_a_service_started_by_the_stack_does_not_load_setuptools(tmp_path, monkeypatch):
    """eventlet imports ``distutils``; setuptools' shim in the virtualenv
    answered it with all of setuptools and pkg_resources - half of a
    service's start-up CPU. The stack's processes get the standard
    library's (``PROCESS_ENV``), unless the operator says otherwise."""
    monkeypatch.delenv("SETUPTOOLS_USE_DISTUTILS", raising=False)
    env = Stack(tmp_path).env()
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, eventlet; eventlet.monkey_patch(); "
         "import nameko.web.handlers; print(sorted({'setuptools', 'pkg_resources'} & "
         "set(sys.modules)))"], env=env, capture_output=True, text=True, timeout=60)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == "[]"
    assert loaded.stderr == ""  # the standard library's distutils says nothing either
    monkeypatch.setenv("SETUPTOOLS_USE_DISTUTILS", "local")
    assert Stack(tmp_path).env()["SETUPTOOLS_USE_DISTUTILS"] == "local"


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


def nice_of(pid: int) -> tuple[int, int | None]:
    """A process's nice, and its scheduling group's (None without autogroup)."""
    try:
        with open(f"/proc/{pid}/autogroup") as group:
            group_nice = int(group.read().split("nice")[1])
    except OSError:
        group_nice = None
    return os.getpriority(os.PRIO_PROCESS, pid), group_nice


def test_the_parts_off_the_citizens_path_run_at_a_lower_priority(tmp_path):
    """On one machine the citizens' path (intake, its database server, the
    register) goes first: the rest - a consumer, a sandbox - runs
    ``background_nice`` lower, its session's scheduling group too (with
    autogroup on, the process's own nice alone weighed nothing against the
    other sessions: measured, bench/README.md 2026-12-07 forty-eighth)."""
    (tmp_path / "logs").mkdir()
    stack = Stack(tmp_path, background_nice=7)
    own = os.getpriority(os.PRIO_PROCESS, 0)
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    try:
        for name in ("register", "mongodb", "notification", "sms"):
            stack.spawn(name, sleeper)
        for name in ("register", "mongodb"):
            assert nice_of(stack.procs[name].pid) in ((own, 0), (own, None))
        for name in ("notification", "sms"):
            nice, group = nice_of(stack.procs[name].pid)
            assert nice == min(own + 7, 19)
            assert group in (7, None)
        stack.respawn("notification")  # the supervisor's restart: as low again
        assert nice_of(stack.procs["notification"].pid)[0] == min(own + 7, 19)
    finally:
        stack.stop_processes(list(stack.procs), timeout=5)


def test_the_launcher_names_a_background_nice_it_cannot_use(monkeypatch):
    for wrong in ("-3", "20", "low"):
        monkeypatch.setenv("LOCAL_BACKGROUND_NICE", wrong)
        with pytest.raises(NotStarted, match="LOCAL_BACKGROUND_NICE"):
            background_nice_setting()
    monkeypatch.setenv("LOCAL_BACKGROUND_NICE", "0")
    assert background_nice_setting() == 0
    monkeypatch.delenv("LOCAL_BACKGROUND_NICE")
    assert background_nice_setting() == 10


def test_a_part_that_does_not_start_is_shown_with_its_own_log_lines_only(tmp_path):
    """Outside audit hD: ``LOG_LEVEL=verbose make run`` showed, before intake's
    refusal, the ``intake_api stopping (SIGTERM)`` lines the previous run had
    left in the appended log, as if this intake had been stopped first."""
    (tmp_path / "logs").mkdir()
    stack = Stack(tmp_path)
    stack.log_path("intake").write_text(
        "2026-12-08 03:24:52,499 intake INFO shared.stopping: intake_api stopping (SIGTERM)\n"
        "2026-12-08 03:24:52,503 intake INFO shared.stopping: intake_api stopped\n")
    stack.spawn("intake", [sys.executable, "-c",
                           "import sys; sys.exit('InvalidSetting: refusing to start: LOG_LEVEL')"])
    with pytest.raises(NotStarted) as refused:
        stack.wait_for("intake", lambda: False, "service intake", timeout=30)
    said = str(refused.value).split("the last lines of its log, ", 1)[1].splitlines()[1:]
    assert said == ["    InvalidSetting: refusing to start: LOG_LEVEL"]
    assert "SIGTERM" in stack.log_path("intake").read_text()  # the earlier run's lines are kept


def test_the_run_folder_is_readable_by_its_user_only(tmp_path):
    """(Outside audit) it holds the local databases' files - every citizen's
    personal data - the mail and the logs: ``.run/mongo-data*`` was 755."""
    made, earlier = tmp_path / "fresh" / ".run", tmp_path / "earlier"
    earlier.mkdir(mode=0o755)
    for run_dir in (made, earlier):
        Stack(run_dir).make_run_dir()
        assert run_dir.stat().st_mode & 0o777 == 0o700
        assert (run_dir / "logs").is_dir()


def test_a_shared_folder_given_as_the_run_folder_keeps_its_mode(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    Stack(shared).make_run_dir()
    assert shared.stat().st_mode & 0o7777 == 0o1777
