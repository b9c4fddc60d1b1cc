"""What one refused submit costs intake: CPU time of the intake process per
503, with every submit refused: its writes budget is one
(``ADMISSION_WRITES=1``, the least it takes), held by a submit the
population register sandbox answers only after ``HOLD_SECONDS``.

    .venv/bin/python bench/refusal_cost.py [--requests 5000] [--clients 8]

Starts its own stack; prints CPU milliseconds per refusal (user + system,
from /proc) and the refusals/s one intake process can answer. Not a test.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.stacks import own_stack  # noqa: E402
from tests.helpers import valid_body  # noqa: E402


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


HOLD_SECONDS = 60  # longer than the refusals take (the sandbox delays 60 s at most)


def hold(url: str) -> None:
    try:
        requests.post(url, json=valid_body(), timeout=HOLD_SECONDS + 10)
    except requests.RequestException:
        pass  # the stack stopped under it: it held the budget while it mattered


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    with own_stack("refusal", ["intake"], {"INTAKE_ADMISSION_WRITES": "1",
                                           "REGISTER_TIMEOUT_SECONDS": str(HOLD_SECONDS)}
                   ) as stack:
        pid = stack.procs["intake"].pid
        url = stack.url("intake") + "/api/v1/applications"
        body, outcomes, lock = valid_body(), {}, threading.Lock()
        requests.post(f"{stack.url('register')}/sandbox/faults",
                      json={"delay_ms": 1000 * HOLD_SECONDS}, timeout=5).raise_for_status()
        holder = threading.Thread(target=hold, args=(url,), daemon=True)
        holder.start()
        time.sleep(2)  # the held submit first: a probe sent with it could take the budget
        if requests.post(url, json=body, timeout=HOLD_SECONDS + 10).status_code != 503:
            sys.exit("the budget was not held: nothing to measure")
        per_client = args.requests // args.clients

        def client():
            session = requests.Session()
            for _ in range(per_client):
                status = session.post(url, json=body, timeout=30).status_code
                with lock:
                    outcomes[status] = outcomes.get(status, 0) + 1

        threads = [threading.Thread(target=client) for _ in range(args.clients)]
        cpu, started = cpu_seconds(pid), time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        cpu, wall = cpu_seconds(pid) - cpu, time.perf_counter() - started
    refused = outcomes.get(503, 0)
    print(f"outcomes {outcomes}")
    print(f"intake CPU per refusal: {1000 * cpu / max(1, refused):.3f} ms "
          f"(so at most {refused / cpu if cpu else float('nan'):.0f} refusals/s per core); "
          f"observed {refused / wall:.0f}/s")


if __name__ == "__main__":
    main()
