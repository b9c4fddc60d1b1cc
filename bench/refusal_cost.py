"""What one refused submit costs intake: CPU time of the intake process per
503, with every submit refused (``ADMISSION_WRITES=0``).

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    with own_stack("refusal", ["intake"], {"INTAKE_ADMISSION_WRITES": "0"}) as stack:
        pid = stack.procs["intake"].pid
        url = stack.url("intake") + "/api/v1/applications"
        body, outcomes, lock = valid_body(), {}, threading.Lock()
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
