"""Intake benchmark: accepted applications/s beside the machine's raw ceilings.

    .venv/bin/python bench/intake_bench.py [--seconds 20] [--clients 16]
        [--scenarios closed:16,closed:64,open:380,open:1520,polite:64]
        [--lookup-share 0.2] [--skip-ceilings] [--channel-requests N]
        [--client light|requests]

Starts its own stack (SecantusDB on disk, intake as a real ``nameko run``
process) and drives it through each scenario in turn:

* ``closed:N`` - N clients, each sends its next request as soon as the last
  one is answered (a 503 is retried at once: no backoff);
* ``open:R`` - R requests/s offered on a fixed schedule whatever the answers
  (open loop, no backoff); a request the generator could not send on time
  is counted as ``late`` (the generator, not intake, was the limit);
* ``polite:N`` - N clients that honour ``Retry-After`` on a 503 (the
  well-behaved mode).

``--lookup-share`` of the requests are status lookups (POST
/api/v1/applications/status for an application accepted earlier in the
run), reported separately from submits. ``--channel-requests N`` bursts N
requests through the front-ends' broker channel (``clients.channel``), as
fast as one publisher with a confirm each can. In the same run it measures
the raw ceilings (``ceilings.py``): pika publish with a confirm per message,
pymongo insert_one, the transaction intake performs per application
(document + outbox row), and a bare nameko HTTP endpoint asked with the
same client as intake (``--client``, default the light one of
``light_http.py``, as ``system_bench.py``'s citizens). Below the table,
the issue's targets this benchmark shows, each beside its bound: HTTP
intake alone (the most submits/s a closed loop got accepted: intake's own
capacity) against the bare nameko ceiling; the broker channel's burst
offered at 4x that capacity, confirmed at half the pika ceiling, none lost,
answered at 0.9x that capacity.
Prints figures only; nothing is asserted (the machine is shared and noisy).
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import random
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import requests
from pymongo import MongoClient


ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from deploy.local.stack import (LOAD_TEST_SETTINGS, Ports, Stack, ensure_rabbitmq,  # noqa: E402
                                ensure_vhost)
from clients.channel import ChannelClient  # noqa: E402
from bench.ceilings import (bare_nameko_ceiling, bench_mongo, bench_pika_confirm,  # noqa: E402
                            percentile, print_targets, target_rows)
from bench.light_http import LightSession  # noqa: E402
from deploy.topology import provision_channel_user  # noqa: E402
from tests.helpers import random_kk, random_mobile  # noqa: E402


# nothing behind intake takes its events here: its pipeline gate
# (``shared.pipeline``) would refuse every submit once PIPELINE_BACKLOG_LIMIT
# (2,000) of them wait, and hold every broker-channel request - lifted; the
# gate on intake's own outbox stays
INTAKE_ALONE = {"INTAKE_PIPELINE_BACKLOG_LIMIT": str(10 ** 9)}
# intake's clients (and the bare nameko ceiling's): ``--client``
CLIENTS = {"light": LightSession, "requests": requests.Session}


class Tally:
    """Outcomes and latencies by kind of request (submit / lookup)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.outcomes: dict[str, dict] = {}
        self.latencies: dict[str, list[float]] = {}
        self.late = 0

    def add(self, kind: str, outcome, elapsed: float) -> None:
        with self.lock:
            counts = self.outcomes.setdefault(kind, {})
            counts[outcome] = counts.get(outcome, 0) + 1
            if outcome in (200, 202, "ok"):
                self.latencies.setdefault(kind, []).append(elapsed)


def unique_niks(year: str = "90"):
    """Distinct valid NIKs (Kota Serang, Curug), so no request is a duplicate."""
    for serial in range(1, 10000):
        for day in range(1, 29):
            for month in range(1, 13):
                yield f"367304{day:02d}{month:02d}{year}{serial:04d}"


def bench_channel(stack: Stack, count: int) -> dict:
    """The front-ends' broker channel: ``count`` requests published with a
    confirm each as fast as one client can (confirmed/s), and how fast intake
    answered them all (replies/s, first publish to last reply)."""
    vhost = stack.amqp_uri.rsplit("/", 1)[1]
    user, password = f"bench-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    provision_channel_user(vhost, user, password, "web")
    client = ChannelClient(f"amqp://{user}:{password}@127.0.0.1:5672/{vhost}", "web")
    niks = unique_niks("91")
    bodies = [{"document_type": "ktp_el", "channel": "web",
               "applicant": {"nik": next(niks), "kk_number": random_kk(),
                             "full_name": "Warga Kanal", "phone": random_mobile()},
               "details": {"reason": "first_issue"}} for _ in range(count)]
    try:
        started = time.perf_counter()
        ids = [client.publish(body) for body in bodies]
        confirmed = time.perf_counter() - started
        statuses: dict[str, int] = {}
        for request_id in ids:
            try:
                status = str(client.wait(request_id, timeout=300).status)
            except Exception as exc:  # no reply: counted as lost, not hidden
                status = f"no reply: {type(exc).__name__}"
            statuses[status] = statuses.get(status, 0) + 1
        answered = time.perf_counter() - started
    finally:
        client.close()
        os.system(f"rabbitmqctl delete_user {user} >/dev/null 2>&1")
    replied = sum(n for status, n in statuses.items() if not status.startswith("no reply"))
    return {"requests": count, "confirmed_per_s": round(count / confirmed, 1),
            "replies_per_s": round(replied / answered, 1), "replies": statuses,
            "lost": count - replied}


def targets(results: list[dict], ceilings: dict, channel: dict | None) -> list[dict]:
    """The issue's targets this benchmark shows (bench/README.md), each
    beside what this run measured. Intake's own capacity: the most submits
    a second a closed loop got accepted (``closed``: a 503 sent again at
    once; ``polite``: after its Retry-After)."""
    capacity = max((row["submit"]["ok_per_s"] for row in results
                    if row["scenario"].startswith(("closed:", "polite:"))), default=None)
    bare = ceilings.get("bare_nameko_http_per_s")
    rows = []
    if capacity is not None:
        rows.append(("HTTP intake alone (best closed loop, submits/s) >= 0.8 x bare nameko HTTP",
                     capacity, 0.8 * bare if bare else None, True))
    if channel:
        pika_rate = ceilings.get("pika_confirm_per_s")
        rows += [("broker channel: burst offered (confirmed/s) >= 4 x intake's capacity",
                  channel["confirmed_per_s"], 4 * capacity if capacity else None, True),
                 ("broker channel: confirmed/s >= 0.5 x the pika confirm ceiling",
                  channel["confirmed_per_s"], 0.5 * pika_rate if pika_rate else None, True),
                 ("broker channel: requests lost (no reply) = 0", channel["lost"], 0, False),
                 ("broker channel: replies/s >= 0.9 x intake's capacity",
                  channel["replies_per_s"], 0.9 * capacity if capacity else None, True)]
    return target_rows(rows)


class IntakeLoad:
    """Submits and status lookups against one intake, tallied per kind."""

    def __init__(self, stack: Stack, lookup_share: float, session_factory=LightSession):
        self.session_factory = session_factory
        self.submit_url = stack.url("intake") + "/api/v1/applications"
        self.lookup_url = self.submit_url + "/status"
        self.lookup_share = lookup_share
        self.niks, self.lock = unique_niks(), threading.Lock()
        self.accepted: list[tuple[str, str]] = []  # (tracking code, NIK) to look up

    def one(self, session, tally: Tally) -> str | int:
        """Send one request (a lookup with ``lookup_share`` odds once something
        was accepted); returns its status code (or error name)."""
        if self.accepted and random.random() < self.lookup_share:
            kind = "lookup"
            code, nik = random.choice(self.accepted)
            send = lambda: session.post(self.lookup_url, json={"tracking_code": code, "nik": nik},
                                        timeout=30)
        else:
            kind = "submit"
            with self.lock:
                nik = next(self.niks)
            body = {"document_type": "ktp_el", "channel": "web",
                    "applicant": {"nik": nik, "kk_number": random_kk(),
                                  "full_name": "Warga Bench", "phone": random_mobile()},
                    "details": {"reason": "first_issue"}}
            send = lambda: session.post(self.submit_url, json=body, timeout=30)
        started = time.perf_counter()
        try:
            response = send()
            outcome = response.status_code
        except requests.RequestException as exc:
            response, outcome = None, type(exc).__name__
        tally.add(kind, outcome, time.perf_counter() - started)
        if kind == "submit" and outcome == 202 and len(self.accepted) < 5000:
            self.accepted.append((response.json()["tracking_code"], nik))
        return response

    def closed(self, clients: int, seconds: float, polite: bool) -> Tally:
        tally, stop_at = Tally(), time.monotonic() + seconds

        def client():
            session = self.session_factory()
            while time.monotonic() < stop_at:
                response = self.one(session, tally)
                if polite and response is not None and response.status_code == 503:
                    time.sleep(min(float(response.headers.get("Retry-After", 1)),
                                   max(0.0, stop_at - time.monotonic())))

        threads = [threading.Thread(target=client) for _ in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return tally

    def open(self, rate: float, seconds: float, senders: int = 128) -> Tally:
        """``rate`` requests/s on a fixed schedule, each sent by an idle sender
        thread; a request due while every sender is busy is counted late."""
        tally, due = Tally(), queue.Queue()
        sessions = threading.local()

        def sender():
            while due.get() is not None:
                sessions.value = getattr(sessions, "value", None) or self.session_factory()
                self.one(sessions.value, tally)

        threads = [threading.Thread(target=sender) for _ in range(senders)]
        for thread in threads:
            thread.start()
        started = time.monotonic()
        for n in range(int(rate * seconds)):
            pause = started + n / rate - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            if due.qsize() > senders:  # every sender busy and a backlog waiting
                tally.late += 1
            else:
                due.put(n)
        for _ in threads:
            due.put(None)
        for thread in threads:
            thread.join()
        return tally

    def run(self, scenario: str, seconds: float) -> dict:
        mode, _, amount = scenario.partition(":")
        started = time.perf_counter()
        if mode == "open":
            tally = self.open(float(amount), seconds)
        else:
            tally = self.closed(int(amount), seconds, polite=mode == "polite")
        elapsed = time.perf_counter() - started
        return {"scenario": scenario, "seconds": round(elapsed, 1), "late": tally.late,
                **{kind: summary(tally, kind, elapsed) for kind in ("submit", "lookup")}}


def summary(tally: Tally, kind: str, elapsed: float) -> dict:
    outcomes = tally.outcomes.get(kind, {})
    lat = [x * 1000 for x in tally.latencies.get(kind, [])]
    ok = 202 if kind == "submit" else 200
    return {"ok_per_s": round(outcomes.get(ok, 0) / elapsed, 1),
            "sent_per_s": round(sum(outcomes.values()) / elapsed, 1),
            "p50_ms": round(percentile(lat, .5), 1), "p99_ms": round(percentile(lat, .99), 1),
            "refused_503": outcomes.get(503, 0),
            "outcomes": {str(key): value for key, value in outcomes.items()}}


def outbox_drain_seconds(stack: Stack) -> float:
    client = MongoClient(stack.mongo_uri)
    started = time.monotonic()
    while client.intake.outbox.count_documents({}) and time.monotonic() - started < 120:
        time.sleep(0.05)
    client.close()
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=16, help="threads for the ceilings")
    parser.add_argument("--scenarios", default="closed:16,closed:64")
    parser.add_argument("--lookup-share", type=float, default=0.2)
    parser.add_argument("--publishes", type=int, default=5000)
    parser.add_argument("--skip-ceilings", action="store_true")
    parser.add_argument("--channel-requests", type=int, default=0,
                        help="also burst this many requests through the broker channel")
    parser.add_argument("--client", choices=sorted(CLIENTS), default="light",
                        help="the HTTP client of intake's clients and of the bare nameko ceiling's")
    args = parser.parse_args()

    ensure_rabbitmq()
    vhost = f"smartdukcapil_bench_{uuid.uuid4().hex[:6]}"
    amqp = f"pyamqp://guest:guest@127.0.0.1:5672/{vhost}" if ensure_vhost(vhost) \
        else "pyamqp://guest:guest@127.0.0.1:5672//"
    stack = Stack(Path(tempfile.mkdtemp(prefix="smartdukcapil-bench-")), ports=Ports.free(),
                  amqp_uri=amqp, mongo_uri=os.environ.get("MONGO_URI") or None,
                  extra_env={**LOAD_TEST_SETTINGS, **INTAKE_ALONE})
    results, ceilings, channel = [], {}, None
    try:
        stack.start_backing()
        stack.declare_topology()  # the channel's exchanges and reply queues too
        stack.start_services(["intake"])
        print(f"# {args.seconds:.0f}s per scenario, lookups {args.lookup_share:.0%} of requests, "
              f"database {stack.mongo_uri}, {os.cpu_count()} cores", flush=True)
        load = IntakeLoad(stack, args.lookup_share, CLIENTS[args.client])
        load.one(load.session_factory(), Tally())  # warm up
        for scenario in args.scenarios.split(","):
            results.append(load.run(scenario, args.seconds))
            print(json.dumps(results[-1]), flush=True)
            outbox_drain_seconds(stack)
        if args.channel_requests:
            channel = bench_channel(stack, args.channel_requests)
            print(json.dumps({"channel": channel}), flush=True)
            outbox_drain_seconds(stack)
        if not args.skip_ceilings:
            ceilings["pika_confirm_per_s"] = round(bench_pika_confirm(stack.amqp_uri,
                                                                      args.publishes), 1)
            rate, _ = bench_mongo(stack.mongo_uri, args.clients, args.seconds, False)
            ceilings["mongo_insert_per_s"] = round(rate, 1)
            rate, _ = bench_mongo(stack.mongo_uri, args.clients, args.seconds, True)
            ceilings["mongo_txn_per_s"] = round(rate, 1)
            ceilings["bare_nameko_http_per_s"] = round(bare_nameko_ceiling(
                args.clients, min(args.seconds, 10), stack.amqp_uri, CLIENTS[args.client]), 1)
    finally:
        stack.stop()
        if vhost in amqp:
            os.system(f"rabbitmqctl delete_vhost {vhost} >/dev/null 2>&1")

    print(f"{'scenario':<14}{'submit ok/s':>12}{'sent/s':>9}{'p50':>8}{'p99':>8}{'503':>8}"
          f"{'late':>7}{'lookup ok/s':>13}{'p50':>8}{'p99':>8}{'503':>6}  other")
    for row in results:
        sub, look = row["submit"], row["lookup"]
        other = {k: v for k, v in {**sub["outcomes"], **look["outcomes"]}.items()
                 if k not in ("200", "202", "503")}
        print(f"{row['scenario']:<14}{sub['ok_per_s']:>12}{sub['sent_per_s']:>9}{sub['p50_ms']:>8}"
              f"{sub['p99_ms']:>8}{sub['refused_503']:>8}{row['late']:>7}{look['ok_per_s']:>13}"
              f"{look['p50_ms']:>8}{look['p99_ms']:>8}{look['refused_503']:>6}  {other or ''}")
    for name, value in ceilings.items():
        print(f"ceiling {name:<30}{value:>10}")
    if channel:
        print(f"broker channel: {channel['requests']} requests confirmed at "
              f"{channel['confirmed_per_s']}/s; replies {channel['replies_per_s']}/s "
              f"{channel['replies']}")
    met = targets(results, ceilings, channel)
    print_targets(met, width=72)
    print(json.dumps({"scenarios": results, "ceilings": ceilings, "channel": channel,
                      "targets": met}))


if __name__ == "__main__":
    main()
