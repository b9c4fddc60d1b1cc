"""A hung test stops the run within the watchdog's limit, naming the test
and showing where it waited, on the terminal of what started pytest; a test
within the limit is left alone (``tests/watchdog.py``)."""

from __future__ import annotations

import shlex
import subprocess
import sys

from deploy.registry import ROOT

HANGS = '''
import subprocess, time

def test_quick():
    time.sleep(0.1)

def test_hangs_in_a_child_process():
    subprocess.run(["sleep", "120"])
'''


def test_a_hung_test_stops_the_run_naming_it(tmp_path):
    (tmp_path / "test_hanging.py").write_text(HANGS)
    pytest = [sys.executable, "-m", "pytest", "-p", "tests.watchdog", "-q", "-p",
              "no:cacheprovider", "--rootdir", str(tmp_path), "-c", "/dev/null",
              str(tmp_path / "test_hanging.py")]
    # started by a shell, as make starts it: the watchdog writes to the shell's stderr
    run = subprocess.run(["sh", "-c", shlex.join(pytest) + "; exit $?"], cwd=ROOT, env={"PATH": "/usr/bin:/bin", "HUNG_TEST_SECONDS": "3",
                                        "PYTHONPATH": str(ROOT)},
                         capture_output=True, text=True, timeout=90)
    assert run.returncode == 3, (run.stdout, run.stderr)
    told = run.stdout + run.stderr
    assert "test_hanging.py::test_hangs_in_a_child_process still running after 3 s" in told
    assert "test_quick still running" not in told
    assert "subprocess.py" in told  # where it waited
