"""The launcher starts a local broker with the open files it needs: run by
root, Debian's ``rabbitmq-server`` went through ``su``, whose PAM session set
1,024 again, and a broker shared by five stacks ran out of them (outside
audit P1: it stopped accepting connections, ``rabbitmqctl`` included, and
every service crash-looped). The probe runs what ``broker_command`` runs,
with a shell in the broker's place, so the machine's broker is left alone."""

from __future__ import annotations

import resource
import subprocess

from deploy.local.stack import broker_command, most_open_files


def output_of(argv: list[str], **options) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30, **options)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_broker_is_started_with_as_many_open_files_as_allowed():
    command = broker_command()
    as_the_broker = command[:command.index("rabbitmq-server")]
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    allowed = min(65536 if hard == resource.RLIM_INFINITY else hard, 65536)
    assert int(output_of(as_the_broker + ["sh", "-c", "ulimit -n"],
                         preexec_fn=most_open_files)) == allowed
    if as_the_broker:  # root: as the rabbitmq user, with no PAM session
        assert output_of(as_the_broker + ["id", "-un"]) == "rabbitmq"
