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
  (open loop, no backoff: ``load_schedule.py``); each request is timed from
  its planned send time (a wait for a free sender is part of its latency),
  one sent more than 100 ms after it is counted ``late``, one no sender took
  within 30 s ``not_sent``; offered, sent and sent-on-time/s are printed
  side by side;
* ``polite:N`` - N clients that honour ``Retry-After`` on a 503 (the
  well-behaved mode).

``--lookup-share`` of the requests are status lookups (POST
/api/v1/applications/status for an application accepted earlier in the
run), reported separately from submits: submit p50/p99 of the 202 answers,
lookup p50/p99 of every lookup sent whatever its answer; refusals (503/429)
and failures (timeouts, connection errors as ``error:<exception>``, 5xx,
other statuses) counted apart. Rates are per second of the scenario's
schedule (its ``--seconds``), the wall time with the tail beside.
``--channel-requests N`` bursts N requests through the front-ends' broker
channel (``clients.channel``), as fast as one publisher with a confirm each
can; its replies are counted as accepted (a tracking code), refused
(503/429), field errors (400) or other, and no reply. In the same run it measures
the raw ceilings (``ceilings.py``): pika publish with a confirm per message,
pymongo insert_one, the transaction intake performs per application
(document + outbox row), and a bare nameko HTTP endpoint asked with the
same client as intake (``--client``, default the light one of
``light_http.py``, as ``system_bench.py``'s citizens). Below the table,
the issue's targets this benchmark shows, each beside its bound: HTTP
intake alone (the most submits/s a closed loop got accepted: intake's own
capacity, measured with ``--lookup-share`` of lookups beside) against the
bare nameko ceiling (requests/s of a GET with no body and no database,
max_workers 10 - intake's own max_workers is its config's); the broker
channel's burst offered at 4x that capacity, confirmed at half the pika
ceiling, every request accepted (none lost, refused or answered with field
errors), accepted replies at 0.9x that capacity. A ceiling that could not
be measured is null, with why; a target without its figures says "no data".
Prints figures only; nothing is asserted (the machine is shared and noisy).
"""

from __future__ import annotations

import argparse
import json
import os
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
                            failure, measure_ceilings, percentile, print_targets,
                            retry_after, rounded, run_threads, target_rows)
from bench.light_http import LightSession  # noqa: E402
from bench.load_schedule import Schedule, open_loop, shortfall  # noqa: E402
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
    """Outcomes and latencies by kind of request (submit / lookup; generator:
    an error in the benchmark's own threads), and the open loop's schedule."""

    def __init__(self):
        self.lock = threading.Lock()
        self.outcomes: dict[str, dict] = {}  # a status, or ``failure``'s error:<exception>
        # a submit's when answered 202, a lookup's whatever became of it
        self.latencies: dict[str, list[float]] = {}
        self.schedule = Schedule()

    def add(self, kind: str, outcome, elapsed: float | None) -> None:
        with self.lock:
            counts = self.outcomes.setdefault(kind, {})
            counts[outcome] = counts.get(outcome, 0) + 1
            if elapsed is not None and (kind == "lookup" or outcome == 202):
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
    answered them all (first publish to last reply): every reply per second,
    and the accepted ones (a tracking code) per second. Replies are counted
    as ``accepted`` (202 with a tracking code), ``refused`` (503/429),
    ``field_errors`` (400), ``other`` (by status) and ``no_reply`` (by
    exception); ``lost`` is every request not accepted."""
    vhost = stack.amqp_uri.rsplit("/", 1)[1]
    user, password = f"bench-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    provision_channel_user(vhost, user, password, "web")
    client = ChannelClient(f"amqp://{user}:{password}@127.0.0.1:5672/{vhost}", "web")
    niks = unique_niks("91")
    bodies = [{"document_type": "ktp_el", "channel": "web",
               "applicant": {"nik": next(niks), "kk_number": random_kk(),
                             "full_name": "Warga Kanal", "phone": random_mobile()},
               "details": {"reason": "first_issue"}} for _ in range(count)]
    replies = {"accepted": 0, "refused": 0, "field_errors": 0, "other": {}, "no_reply": {}}
    try:
        started = time.perf_counter()
        ids = [client.publish(body) for body in bodies]
        confirmed = time.perf_counter() - started
        for request_id in ids:
            try:
                reply = client.wait(request_id, timeout=300)
            except Exception as exc:  # no reply: counted as lost, not hidden
                replies["no_reply"][type(exc).__name__] = \
                    replies["no_reply"].get(type(exc).__name__, 0) + 1
                continue
            kind = channel_reply_kind(reply.status, reply.body)
            if kind == "other":
                replies["other"][str(reply.status)] = replies["other"].get(str(reply.status), 0) + 1
            else:
                replies[kind] += 1
        answered = time.perf_counter() - started
    finally:
        client.close()
        os.system(f"rabbitmqctl delete_user {user} >/dev/null 2>&1")
    replied = count - sum(replies["no_reply"].values())
    return {"requests": count, "confirmed_per_s": round(count / confirmed, 1),
            "replies_per_s": round(replied / answered, 1),
            "accepted_per_s": round(replies["accepted"] / answered, 1), "replies": replies,
            "lost": count - replies["accepted"]}


def channel_reply_kind(status: int, body) -> str:
    """What a broker-channel reply was: ``accepted`` (202 with its tracking
    code), ``refused`` (503/429), ``field_errors`` (400) or ``other``."""
    if status == 202 and isinstance(body, dict) and body.get("tracking_code"):
        return "accepted"
    return {503: "refused", 429: "refused", 400: "field_errors"}.get(status, "other")


def targets(results: list[dict], ceilings: dict, channel: dict | None) -> list[dict]:
    """The issue's targets this benchmark shows (bench/README.md), each
    beside what this run measured. Intake's own capacity: the most submits
    a second a closed loop got accepted (``closed``: a 503 sent again at
    once; ``polite``: after its Retry-After), over the scenario's schedule
    (its ``--seconds``), lookups in the mix. The channel's rows count its
    accepted replies (a tracking code)."""
    capacity = max((row["submit"]["ok_per_s"] for row in results
                    if row["scenario"].startswith(("closed:", "polite:"))), default=None)
    bare = ceilings.get("bare_nameko_http_per_s")
    rows = [("HTTP intake alone (best closed loop, submits/s) >= 0.8 x bare nameko HTTP "
             "(requests/s)", capacity, 0.8 * bare if bare else None, True)]
    if channel:
        pika_rate = ceilings.get("pika_confirm_per_s")
        rows += [("broker channel: burst offered (confirmed/s) >= 4 x intake's capacity",
                  channel["confirmed_per_s"], 4 * capacity if capacity else None, True),
                 ("broker channel: confirmed/s >= 0.5 x the pika confirm ceiling",
                  channel["confirmed_per_s"], 0.5 * pika_rate if pika_rate else None, True),
                 ("broker channel: requests lost (not accepted: no tracking code) = 0",
                  channel["lost"], 0, False),
                 ("broker channel: requests refused (503/429 replies) = 0",
                  channel["replies"]["refused"], 0, False),
                 ("broker channel: accepted replies/s >= 0.9 x intake's capacity",
                  channel["accepted_per_s"], 0.9 * capacity if capacity else None, True)]
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

    def one(self, session, tally: Tally, planned: float | None = None):
        """Send one request (a lookup with ``lookup_share`` odds once something
        was accepted), timed from ``planned`` (``time.perf_counter()``) when
        given, else from now. Never raises: a request that got no answer, or
        one not understood, is counted as ``failure``'s ``error:<exception>``.
        The answer (None if none)."""
        started = time.perf_counter() if planned is None else planned
        kind, response = "submit", None
        try:
            if self.accepted and random.random() < self.lookup_share:
                kind = "lookup"
                code, nik = random.choice(self.accepted)
                response = session.post(self.lookup_url,
                                        json={"tracking_code": code, "nik": nik}, timeout=30)
            else:
                with self.lock:
                    nik = next(self.niks)
                body = {"document_type": "ktp_el", "channel": "web",
                        "applicant": {"nik": nik, "kk_number": random_kk(),
                                      "full_name": "Warga Bench", "phone": random_mobile()},
                        "details": {"reason": "first_issue"}}
                response = session.post(self.submit_url, json=body, timeout=30)
            outcome = response.status_code
            if kind == "submit" and outcome == 202 and len(self.accepted) < 5000:
                self.accepted.append((response.json()["tracking_code"], nik))
        except Exception as exc:  # a timeout, a lost connection, a 202 without its code
            outcome = failure(exc)
        tally.add(kind, outcome, time.perf_counter() - started)
        return response

    def closed(self, clients: int, seconds: float, polite: bool) -> Tally:
        tally, stop_at = Tally(), time.monotonic() + seconds

        def client():
            session = self.session_factory()
            while time.monotonic() < stop_at:
                try:
                    response = self.one(session, tally)
                    if polite and response is not None and response.status_code == 503:
                        time.sleep(min(retry_after(response),
                                       max(0.0, stop_at - time.monotonic())))
                except Exception as exc:  # counted; the client goes on
                    tally.add("generator", failure(exc), None)

        tally.schedule.wall_seconds = run_threads(client, clients)
        tally.schedule.seconds = seconds
        return tally

    def open(self, rate: float, seconds: float, senders: int = 128) -> Tally:
        """``rate`` requests/s on a fixed schedule (``load_schedule.open_loop``),
        each timed from its planned send time; late and unsent ones counted."""
        tally = Tally()
        open_loop(lambda session, kind, planned: self.one(session, tally, planned),
                  lambda kind, exc, planned: tally.add("generator", failure(exc), None),
                  self.session_factory, rate, seconds, ("request",), senders,
                  schedule=tally.schedule)
        return tally

    def run(self, scenario: str, seconds: float) -> dict:
        mode, _, amount = scenario.partition(":")
        if mode == "open":
            tally = self.open(float(amount), seconds)
        else:
            tally = self.closed(int(amount), seconds, polite=mode == "polite")
        schedule = tally.schedule
        sent = sum(sum(counts.values()) for kind, counts in tally.outcomes.items()
                   if kind != "generator")
        row = {"scenario": scenario, "seconds": round(schedule.seconds, 1),
               "wall_seconds": round(schedule.wall_seconds, 1),
               "offered_per_s": float(amount) if mode == "open" else None,
               "sent_per_s": round(sent / schedule.seconds, 1) if schedule.seconds else None,
               "sent_on_time_per_s": round(schedule.on_time.get("request", 0) / schedule.seconds,
                                           1) if mode == "open" and schedule.seconds else None,
               **schedule.figures(), "generator_errors": tally.outcomes.get("generator", {}),
               **{kind: summary(tally, kind, schedule.seconds) for kind in ("submit", "lookup")}}
        row["not_offered_because"] = shortfall(row)
        return row


def summary(tally: Tally, kind: str, seconds: float) -> dict:
    """A kind's figures, rates per second of the schedule (``seconds``)."""
    outcomes = tally.outcomes.get(kind, {})
    lat = [x * 1000 for x in tally.latencies.get(kind, [])]
    ok = 202 if kind == "submit" else 200
    return {"ok_per_s": round(outcomes.get(ok, 0) / seconds, 1) if seconds else None,
            "sent_per_s": round(sum(outcomes.values()) / seconds, 1) if seconds else None,
            "p50_ms": rounded(percentile(lat, .5)), "p99_ms": rounded(percentile(lat, .99)),
            "refused": outcomes.get(503, 0) + outcomes.get(429, 0),
            "failed": sum(n for code, n in outcomes.items() if code not in (ok, 503, 429)),
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
    results, ceilings, ceiling_outcomes, ceiling_errors, channel = [], {}, {}, {}, None
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
            ceilings, ceiling_outcomes, ceiling_errors = measure_ceilings({
                "pika_confirm_per_s": lambda: bench_pika_confirm(stack.amqp_uri, args.publishes),
                "mongo_insert_per_s": lambda: bench_mongo(stack.mongo_uri, args.clients,
                                                          args.seconds, False),
                "mongo_txn_per_s": lambda: bench_mongo(stack.mongo_uri, args.clients,
                                                       args.seconds, True),
                "bare_nameko_http_per_s": lambda: bare_nameko_ceiling(
                    args.clients, min(args.seconds, 10), stack.amqp_uri, CLIENTS[args.client])})
    finally:
        stack.stop()
        if vhost in amqp:
            os.system(f"rabbitmqctl delete_vhost {vhost} >/dev/null 2>&1")

    met = targets(results, ceilings, channel)
    report(results, ceilings, ceiling_errors, channel, met)
    print(json.dumps({"scenarios": results, "ceilings": ceilings,
                      "ceiling_outcomes": ceiling_outcomes, "ceiling_errors": ceiling_errors,
                      "channel": channel, "targets": met}))


def report(results: list[dict], ceilings: dict, ceiling_errors: dict, channel: dict | None,
           met: list[dict]) -> None:
    """The table (rates per second of each scenario's schedule; "-": no
    data), the ceilings and the targets."""
    def cell(value) -> str:
        return "-" if value is None else str(value)

    print(f"{'scenario':<14}{'offered':>8}{'sent/s':>8}{'ontime':>7}{'late':>6}{'unsent':>7}"
          f"{'submit ok/s':>12}{'p50':>8}{'p99':>8}{'refused':>8}{'failed':>7}"
          f"{'lookup ok/s':>12}{'p50':>8}{'p99':>8}{'refused':>8}{'failed':>7}")
    for row in results:
        sub, look = row["submit"], row["lookup"]
        print(f"{row['scenario']:<14}{cell(row['offered_per_s']):>8}{cell(row['sent_per_s']):>8}"
              f"{cell(row['sent_on_time_per_s']):>7}"
              f"{row['late']:>6}{row['not_sent']:>7}{cell(sub['ok_per_s']):>12}"
              f"{cell(sub['p50_ms']):>8}{cell(sub['p99_ms']):>8}{sub['refused']:>8}"
              f"{sub['failed']:>7}{cell(look['ok_per_s']):>12}{cell(look['p50_ms']):>8}"
              f"{cell(look['p99_ms']):>8}{look['refused']:>8}{look['failed']:>7}")
        for kind in ("submit", "lookup"):
            other = {k: v for k, v in row[kind]["outcomes"].items()
                     if k not in ("200", "202", "503", "429")}
            if other:
                print(f"  {kind} answers otherwise: {other}")
        if row["not_offered_because"]:
            print(f"  {row['not_offered_because']}")
        if row["generator_errors"]:
            print(f"  errors in the benchmark's threads: {row['generator_errors']}")
    print("(offered, sent and ontime (sent at most 100 ms late): requests a second, lookups "
          "included; late = sent > 100 ms after "
          "the planned time, unsent = not sent at all; ok/s per second of the schedule; "
          "latencies in ms from the planned send time - submits' of the 202 answers, lookups' "
          "of every lookup sent; refused = 503/429; failed = timeouts, connection errors, "
          "5xx, other statuses)")
    for name, value in ceilings.items():
        print(f"ceiling {name:<30}{cell(value):>10}"
              f"{'  NOT MEASURED: ' + ceiling_errors[name] if name in ceiling_errors else ''}")
    if channel:
        print(f"broker channel: {channel['requests']} requests confirmed at "
              f"{channel['confirmed_per_s']}/s; replies {channel['replies_per_s']}/s, accepted "
              f"{channel['accepted_per_s']}/s {channel['replies']}")
    print_targets(met, width=72)


if __name__ == "__main__":
    main()
