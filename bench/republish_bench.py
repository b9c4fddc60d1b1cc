"""What publishing kept events again costs the citizens of the moment.

    .venv/bin/python bench/republish_bench.py [--history-seconds 60] [--rate 10]
        [--seconds 60] [--paces none,0,20] [--json out.json]

A broker that lost its state is followed by every service publishing again
what it kept (``shared.outbox.republish_kept``; docs/events.md). Outside
audit L2 saw ~7,000 events published again at once fill the queues behind
intake: new applications were refused (503) for ~22 s. This starts its own
stack (as ``system_bench.py``: every service, a database server per service,
the sandboxes, an operator verifying, stations printing), makes a history
(citizens submitting at ``--rate`` for ``--history-seconds``, everything
printed and notified), then for each ``--paces`` entry offers ``--rate``
submits/s (and as many lookups) for ``--seconds`` at least, and until 10 s
after the republish ended, while - after ``--lead`` seconds - all four
services publish the history's kept events again at once, each at that pace (``python -m deploy.replay --per-second N``, the
same ``republish_kept`` the services run; ``none``: no republish, the
baseline). The citizens' load is one open-loop schedule per pace
(``load_schedule.py``: latencies from each request's planned send time),
unbroken until the end; rates are per second of that schedule. Per pace:
answers by status, intake p50/p99, lookups' p99, refusals and failures, the largest pipeline backlog intake saw (its
``smartdukcapil_pipeline_backlog``), how long each service's republish
took and how many it published, and submit -> notification of a sample.
Nothing is asserted: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests
from pymongo import MongoClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from shared.outbox import kept_buckets  # noqa: E402
from system_bench import Dinas, Phase, SERVICES_MEASURED, dinas_stack, phase_summary  # noqa: E402

BACKLOG = re.compile(r'^smartdukcapil_pipeline_backlog\{[^}]*\} ([0-9.e+-]+)$', re.M)


def kept_counts(stack) -> dict[str, int]:
    """Kept events per service, in its own database."""
    counts = {}
    for service in SERVICES_MEASURED:
        client = MongoClient(stack.service_mongo_uris.get(service, stack.mongo_uri))
        try:
            database = client[service]
            counts[service] = sum(database[name].estimated_document_count()
                                  for _, _, name in kept_buckets(database))
        finally:
            client.close()
    return counts


class BacklogWatch:
    """The largest pipeline backlog intake reports, read every second."""

    def __init__(self, intake_url: str):
        self.url, self.largest, self.stop = intake_url + "/metrics", 0.0, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        session = requests.Session()
        while not self.stop.wait(1.0):
            try:
                text = session.get(self.url, timeout=5).text
            except requests.RequestException:
                continue
            for value in BACKLOG.findall(text):
                self.largest = max(self.largest, float(value))

    def end(self) -> float:
        self.stop.set()
        self.thread.join()
        return self.largest


def republish(stack, service: str, since: datetime.datetime, until: datetime.datetime,
              per_second: int, outcome: dict) -> None:
    """``python -m deploy.replay`` for ``service`` with its own database."""
    env = {**stack.env(), "MONGO_URI": stack.service_mongo_uris.get(service, stack.mongo_uri)}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "deploy.replay", "--since", since.isoformat(),
                           "--until", until.isoformat(), "--per-second", str(per_second),
                           service],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600)
    found = re.search(r"published again (\d+) kept event", done.stdout)
    outcome[service] = {"seconds": round(time.monotonic() - started, 1),
                        "published": int(found.group(1)) if found else None,
                        "exit": done.returncode}


def run_pace(dinas: Dinas, stack, pace: str, since: datetime.datetime,
             until: datetime.datetime, rate: float, seconds: float, lead: float,
             tail: float = 10.0) -> dict:
    """Citizens at ``rate`` for ``seconds`` at least, and until ``tail``
    seconds after every service's republish ended."""
    drained = dinas.drain()
    phase = Phase(f"republish {pace}", rate)
    outcome: dict = {}
    threads = [threading.Thread(target=republish, args=(stack, service, since, until,
                                                        int(pace), outcome), daemon=True)
               for service in SERVICES_MEASURED] if pace != "none" else []

    def start_republish():
        time.sleep(lead)
        for thread in threads:
            thread.start()

    threading.Thread(target=start_republish, daemon=True).start()
    watch = BacklogWatch(stack.url("intake"))
    started = time.monotonic()

    def over() -> bool:  # every republish ended (none: at once) ``tail`` seconds ago
        return len(outcome) == len(threads) and time.monotonic() - started >= lead + tail + max(
            [done["seconds"] for done in outcome.values()], default=0)

    # one schedule, unbroken: ``seconds`` at least, then on until ``over``
    dinas.open_loop(phase, rate, seconds, until=over)
    largest = watch.end()
    summary = phase_summary(phase, dinas.journeys(phase.accepted, 100, wait=120))
    summary.update({"drained_before_s": drained, "largest_pipeline_backlog": largest,
                    "republish": outcome})
    print("  " + json.dumps(summary), flush=True)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history-seconds", type=float, default=60)
    parser.add_argument("--rate", type=float, default=10)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--lead", type=float, default=5)
    parser.add_argument("--paces", default="none,0,20",
                        help="kept events a second per service, each a phase (none: nothing published again; 0: at once)")
    parser.add_argument("--stations", type=int, default=4)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--verifiers", type=int, default=16)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()

    stack, stations, vhost = dinas_stack(args.stations, args.batch, prefix="republish")
    results: dict = {"machine": {"cores": os.cpu_count()}, "paces": []}
    try:
        stack.start_backing()
        stack.start_services()
        dinas = Dinas(stack, stations, args.batch)
        dinas.start_actors(args.verifiers)
        since = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=1)
        history = Phase("history", args.rate)
        dinas.open_loop(history, args.rate, args.history_seconds)
        results["history"] = {"accepted": len(history.accepted),
                              "drained_s": dinas.drain(), "kept": kept_counts(stack)}
        until = datetime.datetime.now(datetime.timezone.utc)  # each pace: the same events
        print("  " + json.dumps({"history": results["history"]}), flush=True)
        for pace in args.paces.split(","):
            results["paces"].append(run_pace(dinas, stack, pace.strip(), since, until,
                                             args.rate, args.seconds, args.lead))
        dinas.stop_actors()
    finally:
        stack.stop()
        os.system(f"rabbitmqctl delete_vhost {vhost} >/dev/null 2>&1")
    report(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


def report(results: dict) -> None:
    kept = results["history"]["kept"]
    print(f"\nkept events after {results['history']['accepted']} applications: "
          + ", ".join(f"{service} {count}" for service, count in kept.items())
          + f" ({sum(kept.values())} in all)")
    print("| republish per service | seconds | accepted/s | 503 | non-503 5xx | intake p50 | p99 "
          "| lookup p99 | refused | largest backlog | republish s (each service) "
          "| e2e p99 s | not notified |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |")
    for row in results["paces"]:
        journeys = row["submit_to_notification_excluding_station"]
        took = ", ".join(f"{service} {done['seconds']}" for service, done in
                         sorted(row["republish"].items())) or "-"
        print(f"| {row['phase'].split(' ', 1)[1]}/s | {row['seconds']} | {row['accepted_per_s']} | "
              f"{row['submit_answers'].get('503', 0)} | {row['non_503_5xx']} | "
              f"{row['intake_ms']['p50']} | {row['intake_ms']['p99']} | "
              f"{row['lookup_ms']['p99']} | {row['lookups_refused']} | "
              f"{row['largest_pipeline_backlog']:g} | {took} | {journeys.get('p99_s')} | "
              f"{journeys.get('not_notified_after_drain')} |")


if __name__ == "__main__":
    main()
