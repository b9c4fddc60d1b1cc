"""``make run`` (``deploy.local.stack.run``) with a service that refuses to
start says why on the console - the refusal from its log, and where the log
is - stops everything and exits 1, without a traceback (outside review:
``INTAKE_SUBMITS_PER_CLIENT=0 make run`` showed "stopped." and a
``RuntimeError: service intake exited with code 1`` traceback; the reason
was only in .run/logs/intake.log)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import drop_vhost, make_vhost

ROOT = Path(__file__).resolve().parents[2]

# ``run`` as ``make run`` calls it, on free ports (``make run``'s are fixed)
# with an in-memory database and a virtual host of the test's own
RUN = """
import sys
from pathlib import Path
from deploy.local.stack import Ports, Stack, run
sys.exit(run(Stack(Path(sys.argv[1]), ports=Ports.free(), amqp_uri=sys.argv[2],
                   mongo_in_memory=True)))
"""


def test_a_service_refusing_a_setting_is_named_on_the_console_with_its_log(tmp_path):
    vhost = make_vhost("runrefusal")
    try:
        amqp_uri = f"pyamqp://guest:guest@127.0.0.1:5672/{vhost}"
        done = subprocess.run(
            [sys.executable, "-c", RUN, str(tmp_path), amqp_uri], cwd=ROOT, capture_output=True, text=True, timeout=300,
            env={**os.environ, "INTAKE_SUBMITS_PER_CLIENT": "0"})
    finally:
        drop_vhost(vhost)
    console = done.stdout + done.stderr
    assert done.returncode == 1, console
    assert "Traceback" not in console, console
    assert ("stopping everything: service intake exited with code 1; the last lines of its log, "
            f"{tmp_path / 'logs' / 'intake.log'}:") in console, console
    assert ("InvalidSetting: refusing to start: SUBMITS_PER_CLIENT (environment variable "
            "INTAKE_SUBMITS_PER_CLIENT): expected a whole number, 1 or more") in console, console
    assert console.rstrip().endswith("stopped."), console
