"""What one request costs intake: CPU time of the intake process per
answer, for one kind of request at a time.

    .venv/bin/python bench/request_cost.py [--kind lookup|submit|refusal]
                                           [--requests 5000] [--clients 8]

* ``refusal``: a refused submit (503), every submit refused - the writes
  budget is one (``ADMISSION_WRITES=1``, the least it takes), held by a
  submit the population register sandbox answers only after
  ``HOLD_SECONDS``.
* ``lookup``: a status lookup answered 200, of ``SEEDED`` applications
  submitted first (each lookup one of them, at random).
* ``submit``: an accepted submit (202), each with a new NIK.

Starts its own stack (intake and what it needs); prints the outcomes, CPU
milliseconds per answer of the kind (user + system, from /proc) and the
answers/s one intake process could give at that cost. It leaves out
what a throughput adds (the load generator and the database taking the
same two cores), but not the host's own speed: on one evening a lookup
took 1.07-1.47 ms from run to run, so compare a change with runs
alternated against the code before it. Not a test.
"""

from __future__ import annotations

import argparse
import os
import random
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
SEEDED = 500  # applications the lookups choose from
# the answer each kind is counted by
COUNTED = {"refusal": 503, "lookup": 200, "submit": 202}


def hold(url: str) -> None:
    try:
        requests.post(url, json=valid_body(), timeout=HOLD_SECONDS + 10)
    except requests.RequestException:
        pass  # the stack stopped under it: it held the budget while it mattered


def hold_the_budget(stack, url: str) -> None:
    """Every submit refused from here on: the one the writes budget allows
    waits on the register."""
    requests.post(f"{stack.url('register')}/sandbox/faults",
                  json={"delay_ms": 1000 * HOLD_SECONDS}, timeout=5).raise_for_status()
    threading.Thread(target=hold, args=(url,), daemon=True).start()
    time.sleep(2)  # the held submit first: a probe sent with it could take the budget
    if requests.post(url, json=valid_body(), timeout=HOLD_SECONDS + 10).status_code != 503:
        sys.exit("the budget was not held: nothing to measure")


def seed(url: str) -> list[dict]:
    """``SEEDED`` accepted applications: each one's lookup body."""
    session, lookups = requests.Session(), []
    for _ in range(SEEDED):
        body = valid_body()
        answer = session.post(url, json=body, timeout=30)
        if answer.status_code != 202:
            sys.exit(f"seeding: a submit answered {answer.status_code}: {answer.text[:200]}")
        lookups.append({"tracking_code": answer.json()["tracking_code"],
                        "nik": body["applicant"]["nik"]})
    return lookups


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", choices=sorted(COUNTED), default="refusal")
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    settings = ({"INTAKE_ADMISSION_WRITES": "1", "REGISTER_TIMEOUT_SECONDS": str(HOLD_SECONDS)}
                if args.kind == "refusal" else {})
    with own_stack("cost", ["intake"], settings) as stack:
        pid = stack.procs["intake"].pid
        url = stack.url("intake") + "/api/v1/applications"
        lookups = seed(url) if args.kind == "lookup" else []
        if args.kind == "refusal":
            hold_the_budget(stack, url)
        outcomes, lock = {}, threading.Lock()
        per_client = args.requests // args.clients

        def request(session):
            if args.kind == "lookup":
                return session.post(url + "/status", json=random.choice(lookups), timeout=30)
            return session.post(url, json=valid_body(), timeout=30)

        def client():
            session = requests.Session()
            for _ in range(per_client):
                status = request(session).status_code
                with lock:
                    outcomes[status] = outcomes.get(status, 0) + 1

        threads = [threading.Thread(target=client) for _ in range(args.clients)]
        cpu, started = cpu_seconds(pid), time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        cpu, wall = cpu_seconds(pid) - cpu, time.perf_counter() - started
    counted = outcomes.get(COUNTED[args.kind], 0)
    print(f"outcomes {outcomes}")
    print(f"intake CPU per {args.kind} ({COUNTED[args.kind]}): "
          f"{1000 * cpu / max(1, counted):.3f} ms (so at most "
          f"{counted / cpu if cpu else float('nan'):.0f}/s per core); observed "
          f"{counted / wall:.0f}/s")


if __name__ == "__main__":
    main()
