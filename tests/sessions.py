"""The whole suite, as ``make test`` (and so CI) runs it: four lanes of
pytest sessions at once, then the fault-injection journey alone.

Most of the suite waits - on services, the broker, the database server, a
deadline - so one pytest process leaves much of the two cores idle: run one
after the other, the sessions took ~19 min in CI, in two lanes ~16.5 min
(most of it the longer lane). Each pytest process starts its own stack
(database server, SMTP, sandboxes, services, virtual hosts of its own) on
ports from a range of its own (``LOCAL_FREE_PORTS``), so the lanes share
only the broker, each on virtual hosts nobody else uses.

* lanes ``e2e`` and ``e2e-2``: the end-to-end tests, ``e2e-2`` the files in
  ``E2E_SECOND`` (the broker's, the channel's and the processes' own
  outages and limits), ``e2e`` the rest - a new file lands there - and the
  supervisor's tests (``tests/faults/test_supervision.py``);
* lanes ``integration`` and ``integration-2``: the integration and unit
  tests, ``integration-2`` the files in ``INTEGRATION_SECOND`` (the
  broker's users and deploy tools, outages), then notification's outage
  and limit tests in a session of their own (the SMS sandbox's faults and
  counts are the test's alone, with no stack still at work on it);
  ``integration`` the rest;
* then, alone: the fault-injection journey (kill -9 of each service and of
  the database under load; it measures recovery, so nothing else runs).

The second lanes' files were picked so that each pair takes about as long
(``--durations=0`` of a CI run in two lanes, 2026-12-08: ~420 s of tests
each). In four lanes the cores are busy, so each lane takes longer than its
tests alone: 508-592 s at first, 516-559 s after two files and the
supervisor's tests moved to ``e2e``; the whole suite 778 s against 993 s in
two lanes (then the supervisor's tests still ran alone with the journey),
and 718 s (lanes 475-503 s) once services started without setuptools
(``deploy.local.stack.PROCESS_ENV``).

Every session runs even when one before it failed; the exit status is the
first failure's. Arguments are passed to every session (``-x``, ``-k ...``).
Each line a lane prints is prefixed with its name; the failed tests'
summary lines, and the ERROR and WARNING lines of their captured logs, are
printed again at the end, under their session's line.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

SUPERVISION = "tests/faults/test_supervision.py"
ALONE = ["tests/integration/test_notification_delivery.py",
         "tests/integration/test_sms_refused_not_counted.py"]
E2E_SECOND = [f"tests/e2e/{name}.py" for name in (
    "test_secrets_and_limits", "test_broker_outage", "test_channel_client_faults",
    "test_channel", "test_database_per_service", "test_graceful_stop",
    "test_event_backlog", "test_channel_poison")]
INTEGRATION_SECOND = [f"tests/integration/{name}.py" for name in (
    "test_channel_users", "test_deploy_tools_broker", "test_database_outage",
    "test_wiped_broker", "test_readiness_probe")]


def ignoring(paths: list[str]) -> list[str]:
    return [f"--ignore={path}" for path in paths]


LANES = {
    # the supervisor's own tests need no machine to themselves
    "e2e": [["tests/e2e", *ignoring(E2E_SECOND), SUPERVISION]],
    "e2e-2": [E2E_SECOND],
    "integration": [["tests/integration", "tests/unit",
                     *ignoring(INTEGRATION_SECOND + ALONE)]],
    "integration-2": [INTEGRATION_SECOND, ALONE],
}
LAST = [["tests/faults", *ignoring([SUPERVISION])]]
# a failed test's captured log lines of level ERROR and WARNING (a gateway
# out for a moment, a retry) are repeated with them, the warnings up to this
# many a lane: a CI tail named the test, not why (forty-fifth session)
WARNINGS_REPEATED = 25
# ports the stacks of each lane pick from (deploy.local.stack.FREE_PORTS):
# disjoint, so two lanes never pick the same port in the moment between a
# pick and the server's bind
PORTS = {"e2e": "20000-22999", "e2e-2": "23000-25999", "integration": "26000-28499",
         "integration-2": "28500-30999", "faults": "31000-32767"}


class Lane(threading.Thread):
    def __init__(self, name: str, sessions: list[list[str]], extra: list[str],
                 output: threading.Lock):
        super().__init__(name=name)
        self.sessions, self.extra, self.output = sessions, extra, output
        self.results: list[tuple[list[str], int, float]] = []
        # pytest's short summary lines (-ra): repeated at the very end, where
        # a CI log cut to its tail still shows which test failed
        self.failures: list[str] = []
        self.warnings = 0

    def run(self) -> None:
        env = {**os.environ, "LOCAL_FREE_PORTS": PORTS[self.name]}
        for args in self.sessions:
            began = time.monotonic()
            process = subprocess.Popen([sys.executable, "-m", "pytest", *args, *self.extra],
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                       env=env, text=True, errors="replace", bufsize=1)
            for line in process.stdout:
                if line.startswith(("FAILED ", "ERROR ")) or (
                        line.startswith("WARNING ") and self.warnings < WARNINGS_REPEATED):
                    self.warnings += line.startswith("WARNING ")
                    self.failures.append(line.rstrip()[:300])
                with self.output:
                    sys.stdout.write(f"{self.name:>13} | {line}")
                    sys.stdout.flush()
            self.results.append((args, process.wait(), time.monotonic() - began))


def main(extra: list[str]) -> int:
    output = threading.Lock()
    began = time.monotonic()
    lanes = [Lane(name, sessions, extra, output) for name, sessions in LANES.items()]
    for lane in lanes:
        lane.start()
    for lane in lanes:
        lane.join()
    last = Lane("faults", LAST, extra, output)
    last.run()
    print(f"\nsessions ({time.monotonic() - began:.0f} s in all):")
    status = 0
    for lane in [*lanes, last]:
        for args, code, seconds in lane.results:
            print(f"  {lane.name:>13}: exit {code} in {seconds:.0f} s  "
                  f"pytest {' '.join(arg for arg in args if not arg.startswith('--'))}")
            status = status or code
        for failure in lane.failures:
            print(f"  {lane.name:>13}:   {failure}")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
