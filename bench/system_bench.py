"""Whole-system benchmark: the Dinas' peak, end to end, beside the machine's ceilings.

    .venv/bin/python bench/system_bench.py [--rates 10,25,50] [--seconds 20]
        [--stations 4] [--batch 20] [--json bench/last.json]

Starts its own stack (every service, SecantusDB on disk, the sandboxes; a
vhost of its own on the local RabbitMQ) and drives it as a Dinas' peak:

* citizens submit applications open-loop at fixed offered rates, in the
  seed's mix (KTP-el 72%, Akta Kelahiran 19%, KIA 7%, Akta Kematian 1%,
  SKPWNI 1%), and look their status up (one lookup per submit offered),
  through a client lighter than ``requests`` (``bench/light_http.py``: the
  benchmark shares the cores with what it measures), as is the bare
  nameko ceiling;
* an operator verifies each accepted application at once;
* several stations claim in batches and report each batch printed at once;
* notification sends (the SMS sandbox receives).

First, the database commands of ``--journeys`` complete journeys at a low
rate, per service and command (the services' idle background subtracted).
Phases: each ``--rates`` rate; then the saturation rate (the accepted rate of
a closed-loop run with many well-behaved clients: a 503 waits its
Retry-After), and 4x that rate open-loop with no client backoff. Each phase
starts once the ones before have drained (every accepted application
printed). For each: offered and accepted/s, intake p50/p95/p99,
submit -> notification p50/p99 with the station's own part excluded (from the
citizen's timeline: submitted -> print_queued plus printed -> notified),
lookup p50/p99 and refusals, answers by status, database commands per
application per service (each service counts its commands:
``smartdukcapil_db_commands_total`` on its /metrics) and the stations'
claim + report rate. In the same run, the ceilings: pika publish with a
confirm per message, pymongo insert_one and intake's two-document
transaction, and a bare nameko HTTP endpoint with no database; each figure
is printed with its ratio to its ceiling; and the CPU each process (service,
database server, broker, this benchmark) spent per accepted application.
Prints a table, then JSON.
Nothing is asserted: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import queue
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from deploy.local.stack import (LOAD_TEST_SETTINGS, Ports, Stack, ensure_rabbitmq,  # noqa: E402
                                ensure_vhost)
from ceilings import (bare_nameko_ceiling, bench_mongo, bench_pika_confirm,  # noqa: E402
                      percentile, print_targets, run_threads, target_rows)
from light_http import LightSession  # noqa: E402

# the citizens' client (and the bare nameko ceiling's): ``--client``
CLIENTS = {"light": LightSession, "requests": requests.Session}
citizen_session = LightSession
from refusal_cost import cpu_seconds  # noqa: E402
from shared.auth import hash_token  # noqa: E402
from tests.document_bodies import (birth_body, death_body, kia_body, nik_born,  # noqa: E402
                                   skpwni_keluar_body, years_before)
from tests.helpers import valid_body  # noqa: E402

MIX = (("ktp_el", 0.72), ("akta_kelahiran", 0.19), ("kia", 0.07), ("akta_kematian", 0.01),
       ("skpwni", 0.01))
OPERATOR_TOKEN = "bench-operator-token"
OPERATOR_PATIENCE_S = 300.0  # how long an operator keeps trying to verify one application
SERVICES_MEASURED = ("intake", "printing", "notification", "courier")


# how long the sampled journeys wait for the benchmark's operators to take
# every accepted application before the notices' own wait starts
OPERATORS_WAIT = 300.0


def station_tokens(count: int) -> dict[str, str]:
    return {f"bench-station-{n}": f"bench-station-token-{n}" for n in range(1, count + 1)}


def application_body(today: datetime.date) -> dict:
    kind = random.choices([k for k, _ in MIX], [w for _, w in MIX])[0]
    if kind == "akta_kelahiran":
        return birth_body(today - datetime.timedelta(days=10))
    if kind == "kia":
        return kia_body(nik_born(years_before(today, 3)),
                        documents=("akta_kelahiran", "kartu_keluarga", "ktp_el"))
    if kind == "akta_kematian":
        return death_body(today - datetime.timedelta(days=5))
    if kind == "skpwni":
        return skpwni_keluar_body()
    return valid_body()


@dataclass
class Accepted:
    application_id: str
    tracking_code: str
    nik: str


@dataclass
class Phase:
    """One load phase's tallies (thread-safe through ``lock``)."""
    name: str
    offered_rate: float | None
    lock: threading.Lock = field(default_factory=threading.Lock)
    outcomes: dict = field(default_factory=dict)  # kind -> {status: count}
    latencies: dict = field(default_factory=dict)  # kind -> [seconds]
    accepted: list = field(default_factory=list)
    late: int = 0
    seconds: float = 0.0

    def add(self, kind: str, outcome, elapsed: float) -> None:
        with self.lock:
            counts = self.outcomes.setdefault(kind, {})
            counts[str(outcome)] = counts.get(str(outcome), 0) + 1
            if outcome in (200, 202):
                self.latencies.setdefault(kind, []).append(elapsed)


class Dinas:
    """Citizens, an operator and stations against one running stack."""

    def __init__(self, stack: Stack, stations: dict[str, str], batch: int):
        self.intake, self.printing = stack.url("intake"), stack.url("printing")
        self.stack = stack
        self.stations, self.batch = stations, batch
        self.today = datetime.date.today()
        self.to_verify: queue.Queue = queue.Queue()
        self.all_accepted: list[Accepted] = []
        self.lock = threading.Lock()
        self.printed = 0
        self.print_busy = 0.0  # seconds stations spent between claim and last report
        self.station_calls: dict[str, list[float]] = {"claim": [], "report": []}  # seconds
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        self.station_threads: list[threading.Thread] = []

    # -- the actors running beside every phase ------------------------------------
    def start_actors(self, verifiers: int = 4) -> None:
        for _ in range(verifiers):
            self._spawn(self._operator)
        self.start_stations()

    def start_stations(self) -> None:
        self.stop.clear()
        self.station_threads = [threading.Thread(target=self._station, args=(token,), daemon=True)
                                for token in self.stations.values()]
        for thread in self.station_threads:
            thread.start()

    def stop_stations(self) -> None:
        self.stop.set()
        for thread in self.station_threads:
            thread.join(timeout=60)

    def stop_actors(self) -> None:
        self.stop_stations()
        for _ in self.threads:
            self.to_verify.put(None)
        for thread in self.threads:
            thread.join(timeout=30)

    def _spawn(self, target, *args) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        self.threads.append(thread)

    def _operator(self) -> None:
        session = requests.Session()
        headers = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
        while (item := self.to_verify.get()) is not None:
            # as an operator would: again after each 503 until it is verified
            # (at most OPERATOR_PATIENCE_S; 20 tries, as before, left
            # applications unverified on a slow host, and each drain waited
            # its whole timeout for them)
            given_up_at = time.monotonic() + OPERATOR_PATIENCE_S
            while time.monotonic() < given_up_at:
                try:
                    answer = session.post(f"{self.intake}/api/v1/applications/"
                                          f"{item.application_id}/verify", headers=headers,
                                          timeout=30)
                    if answer.status_code != 503:
                        break
                    time.sleep(float(answer.headers.get("Retry-After", 1)))
                except requests.RequestException:
                    time.sleep(1)

    def _station(self, token: str) -> None:
        session = requests.Session()
        headers = {"Authorization": f"Bearer {token}"}
        while not self.stop.is_set():
            try:
                asked = time.perf_counter()
                answer = session.post(f"{self.printing}/api/v1/station/jobs/claim",
                                      headers=headers, json={"max": self.batch}, timeout=30)
            except requests.RequestException:
                time.sleep(0.5)
                continue
            if answer.status_code == 200:
                with self.lock:
                    self.station_calls["claim"].append(time.perf_counter() - asked)
            else:  # nothing to print: ask again in a second
                time.sleep(1.0)             # (the reference agent's default is 5 s)
                continue
            started = time.perf_counter()
            reply = answer.json()
            jobs = reply.get("jobs", [reply])
            done = self._report(session, headers, jobs)
            with self.lock:
                self.printed += done
                self.print_busy += time.perf_counter() - started

    def _report(self, session, headers: dict, jobs: list[dict], attempts: int = 10) -> int:
        """Report a claimed batch printed in one request, as a station agent
        may: a 503 or a lost answer is retried (after Retry-After), the lease
        tokens prove it. How many were recorded."""
        body = {"jobs": [{"print_job_id": job["print_job_id"], "lease_token": job["lease_token"]}
                         for job in jobs]}
        for _ in range(attempts):
            try:
                asked = time.perf_counter()
                report = session.post(f"{self.printing}/api/v1/station/jobs/printed",
                                      headers=headers, json=body, timeout=60)
            except requests.RequestException:
                time.sleep(1)
                continue
            with self.lock:
                self.station_calls["report"].append(time.perf_counter() - asked)
            if report.status_code != 503:
                return sum(result.get("status") == "printed"
                           for result in report.json().get("results", []))
            time.sleep(float(report.headers.get("Retry-After", 1)))
        return 0

    # -- citizens ---------------------------------------------------------------------
    def submit(self, session, phase: Phase) -> requests.Response | None:
        body = application_body(self.today)
        started = time.perf_counter()
        try:
            answer = session.post(f"{self.intake}/api/v1/applications", json=body, timeout=30)
            outcome = answer.status_code
        except requests.RequestException as exc:
            answer, outcome = None, type(exc).__name__
        phase.add("submit", outcome, time.perf_counter() - started)
        if outcome == 202:
            reply = answer.json()
            accepted = Accepted(reply["application_id"], reply["tracking_code"],
                                body["applicant"]["nik"])
            with phase.lock:
                phase.accepted.append(accepted)
            with self.lock:
                self.all_accepted.append(accepted)
            self.to_verify.put(accepted)
        return answer

    def lookup(self, session, phase: Phase) -> None:
        with self.lock:
            if not self.all_accepted:
                return
            target = random.choice(self.all_accepted[-2000:])
        started = time.perf_counter()
        try:
            outcome = session.post(f"{self.intake}/api/v1/applications/status",
                                   json={"tracking_code": target.tracking_code,
                                         "nik": target.nik}, timeout=30).status_code
        except requests.RequestException as exc:
            outcome = type(exc).__name__
        phase.add("lookup", outcome, time.perf_counter() - started)

    def open_loop(self, phase: Phase, rate: float, seconds: float, senders: int = 96) -> None:
        """``rate`` submits/s and as many lookups on a fixed schedule, no backoff;
        a request due while every sender is busy is counted late (not sent)."""
        due: queue.Queue = queue.Queue()
        local = threading.local()

        def sender():
            while (kind := due.get()) is not None:
                local.session = getattr(local, "session", None) or citizen_session()
                (self.submit if kind == "submit" else self.lookup)(local.session, phase)

        threads = [threading.Thread(target=sender, daemon=True) for _ in range(senders)]
        for thread in threads:
            thread.start()
        started = time.monotonic()
        for n in range(int(rate * seconds)):
            pause = started + n / rate - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            for kind in ("submit", "lookup"):
                if due.qsize() > senders:
                    phase.late += 1
                else:
                    due.put(kind)
        for _ in threads:
            due.put(None)
        for thread in threads:
            thread.join()
        phase.seconds = time.monotonic() - started

    def closed_loop(self, phase: Phase, clients: int, seconds: float) -> None:
        stop_at = time.monotonic() + seconds

        def client():  # a well-behaved client: a 503 waits its Retry-After
            session = citizen_session()
            while time.monotonic() < stop_at:
                answer = self.submit(session, phase)
                self.lookup(session, phase)  # the open loops' mix: a lookup per submit
                if answer is not None and answer.status_code == 503:
                    time.sleep(min(float(answer.headers.get("Retry-After", 1)),
                                   max(0.0, stop_at - time.monotonic())))

        phase.seconds = run_threads(client, clients)

    def drain(self, timeout: float = 300.0) -> float:
        """Wait until every application accepted so far is verified and
        printed and every handler queue of the stack is empty (the notices
        and timeline steps too): the phases before leave no backlog behind to
        slow this one. The seconds it took."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            with self.lock:
                behind = len(self.all_accepted) - self.printed
            if self.to_verify.qsize() == 0 and behind <= 0 and not self.events_waiting():
                break
            time.sleep(2)
        return round(time.monotonic() - started, 1)

    def events_waiting(self) -> int:
        """Messages in the stack's handler and wait queues (``rabbitmqctl``)."""
        vhost = self.stack.amqp_uri.rsplit("/", 1)[1] or "/"
        listed = subprocess.run(["rabbitmqctl", "list_queues", "-p", vhost, "name", "messages",
                                 "--quiet", "--no-table-headers"],
                                capture_output=True, text=True, timeout=60).stdout
        return sum(int(count) for name, count in (line.split("\t") for line in
                                                  listed.splitlines() if "\t" in line)
                   if name.startswith(("evt-", "smartdukcapil.wait.")) and count.isdigit())

    # -- what the citizens saw --------------------------------------------------------
    def journeys(self, accepted: list[Accepted], sample: int, wait: float) -> dict:
        """Submit -> notification with the station's part excluded, from the
        timelines of (a sample of) the phase's applications, once each was
        notified after printing or ``wait`` seconds passed since the
        benchmark's operators took the last application waiting for them
        (at most ``OPERATORS_WAIT`` seconds): "not notified" counts what the
        system left without a notice, not what the operators had not yet
        verified when intake accepted faster than they verify (their wait
        is in the e2e figure, and ``operators_behind_s``)."""
        chosen = random.sample(accepted, min(sample, len(accepted)))
        session, started = requests.Session(), time.monotonic()
        while self.to_verify.qsize() and time.monotonic() - started < OPERATORS_WAIT:
            time.sleep(0.5)
        operators_behind = time.monotonic() - started
        deadline = time.monotonic() + wait
        system, late = [], []
        for item in chosen:
            while True:
                hops = self._system_time(session, item)
                if hops is not None or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            if hops is None:
                late.append(item)
            else:
                system.append(hops)
        # "every 202 ends in a notification": what was late is looked at
        # again once the pipeline has drained (at most ``drain``'s 300 s)
        drained_after = self.drain() if late else 0.0
        never = 0
        for item in late:
            hops = self._system_time(session, item)
            if hops is None:
                never += 1
            else:
                system.append(hops)
        return {"sampled": len(chosen), "not_notified_in_time": len(late),
                "not_notified_after_drain": never, "drained_after_s": drained_after,
                "operators_behind_s": round(operators_behind, 1),
                "p50_s": round(percentile(system, .5), 2), "p99_s": round(percentile(system, .99), 2)}

    def _system_time(self, session, item: Accepted) -> float | None:
        try:
            answer = session.post(f"{self.intake}/api/v1/applications/status",
                                  json={"tracking_code": item.tracking_code, "nik": item.nik},
                                  timeout=30)
        except requests.RequestException:
            return None
        if answer.status_code != 200:
            return None
        at = {}
        for step in answer.json()["timeline"]:
            moment = datetime.datetime.fromisoformat(step["at"]).timestamp()
            if step["status"] == "notified" and "printed" in at and moment >= at["printed"]:
                at.setdefault("notified_after_print", moment)
            at.setdefault(step["status"], moment)
        needed = ("submitted", "print_queued", "printed", "notified_after_print")
        if not all(key in at for key in needed):
            return None
        return ((at["print_queued"] - at["submitted"])
                + (at["notified_after_print"] - at["printed"]))


# -- counters the services expose ------------------------------------------------------

COMMAND_METRIC = re.compile(r'^smartdukcapil_db_commands_total\{([^}]*)\}\s+([0-9.e+]+)$', re.M)
LABEL = re.compile(r'(\w+)="([^"]*)"')


def db_commands_by_collection(stack: Stack) -> dict[tuple[str, str, str], float]:
    """Database commands so far by (service, command, collection)."""
    counts: dict[tuple[str, str, str], float] = {}
    for name in SERVICES_MEASURED:
        try:
            text = requests.get(stack.url(name) + "/metrics", timeout=10).text
        except requests.RequestException:
            counts[(name, "unanswered", "")] = float("nan")
            continue
        for labels, value in COMMAND_METRIC.findall(text):
            label = dict(LABEL.findall(labels))
            key = (label["service"], label["command"], label.get("collection", ""))
            counts[key] = counts.get(key, 0.0) + float(value)
    return counts


def db_commands_by_command(stack: Stack) -> dict[tuple[str, str], float]:
    counts: dict[tuple[str, str], float] = {}
    for (service, command, _), value in db_commands_by_collection(stack).items():
        counts[(service, command)] = counts.get((service, command), 0.0) + value
    return counts


def db_commands(stack: Stack) -> dict[str, float]:
    """Database commands so far per service (NaN for one that did not answer)."""
    counts = dict.fromkeys(SERVICES_MEASURED, 0.0)
    for (service, _), value in db_commands_by_command(stack).items():
        counts[service] = counts.get(service, 0.0) + value
    return counts


# -- where the CPU goes -------------------------------------------------------------

def process_cpu(stack: Stack) -> dict[str, float]:
    """CPU seconds (user + system) spent so far by each process of the
    stack, the broker (shared with anything else on it) and this benchmark
    (the citizens, operators and stations)."""
    pids = {name: proc.pid for name, proc in stack.procs.items() if proc.poll() is None}
    beam = subprocess.run(["pgrep", "-f", "beam.smp"], capture_output=True, text=True).stdout
    if beam.split():
        pids["rabbitmq"] = int(beam.split()[0])
    pids["benchmark"] = os.getpid()
    spent = {}
    for name, pid in pids.items():
        try:
            spent[name] = cpu_seconds(pid)
        except (OSError, ValueError, IndexError):  # gone between the listing and the read
            pass
    return spent


def cpu_per_application(before: dict, after: dict, accepted: int,
                        background: dict | None = None, elapsed: float = 0.0) -> dict:
    """CPU milliseconds per accepted application by process, heaviest first,
    with ``total``; ``background`` (CPU seconds per second while idle) is
    taken off for ``elapsed`` seconds."""
    background = background or {}
    spent = {name: after[name] - before[name] - background.get(name, 0.0) * elapsed
             for name in after if name in before}
    per_app = {name: round(1000 * max(0.0, value) / max(accepted, 1), 1)
               for name, value in sorted(spent.items(), key=lambda kv: -kv[1])}
    per_app["total"] = round(sum(per_app.values()), 1)
    return per_app


# -- the run ---------------------------------------------------------------------------

def phase_summary(phase: Phase, dinas: Dinas, commands: dict, journeys: dict) -> dict:
    submit = phase.outcomes.get("submit", {})
    lookup = phase.outcomes.get("lookup", {})
    lat = [x * 1000 for x in phase.latencies.get("submit", [])]
    look = [x * 1000 for x in phase.latencies.get("lookup", [])]
    accepted = submit.get("202", 0)
    return {
        "phase": phase.name,
        "offered_per_s": phase.offered_rate,
        "sent_per_s": round(sum(submit.values()) / phase.seconds, 1),
        "accepted_per_s": round(accepted / phase.seconds, 1),
        "late_not_sent": phase.late,
        "intake_ms": {"p50": round(percentile(lat, .5), 1), "p95": round(percentile(lat, .95), 1),
                      "p99": round(percentile(lat, .99), 1)},
        "submit_answers": submit,
        "non_503_5xx": sum(n for code, n in submit.items()
                           if code.isdigit() and int(code) >= 500 and code != "503"),
        "lookup_ms": {"p50": round(percentile(look, .5), 1), "p99": round(percentile(look, .99), 1)},
        "lookup_answers": lookup,
        "lookups_refused": sum(n for code, n in lookup.items() if code in ("503", "429")),
        "submit_to_notification_excluding_station": journeys,
        "db_commands_per_application": {
            name: round(count / accepted, 1) if accepted else None
            for name, count in commands.items()},
    }


def run_phase(dinas: Dinas, stack: Stack, name: str, rate: float | None, seconds: float,
              clients: int = 0, sample: int = 300) -> dict:
    drained = dinas.drain()  # every phase starts from an empty pipeline
    before, cpu_before, started = db_commands(stack), process_cpu(stack), time.monotonic()
    phase = Phase(name, rate)
    if rate is None:
        dinas.closed_loop(phase, clients, seconds)
    else:
        dinas.open_loop(phase, rate, seconds)
    cpu_after, elapsed = process_cpu(stack), time.monotonic() - started
    journeys = dinas.journeys(phase.accepted, sample, wait=max(60.0, seconds * 3))
    after = db_commands(stack)
    commands = {name: after[name] - before[name] for name in SERVICES_MEASURED}
    commands["total"] = sum(commands.values())
    summary = phase_summary(phase, dinas, commands, journeys)
    summary["drained_before_s"] = drained
    # while the phase sent: what its applications cost so far (the rest of
    # the pipeline may still be at work on them) and how many cores each used
    summary["cpu_ms_per_accepted_while_sending"] = cpu_per_application(
        cpu_before, cpu_after, len(phase.accepted))
    summary["cores_used_while_sending"] = {
        name: round((cpu_after[name] - cpu_before[name]) / elapsed, 2)
        for name in summary["cpu_ms_per_accepted_while_sending"] if name in cpu_before}
    print(f"  {name}: offered {rate or '-'}/s, accepted {summary['accepted_per_s']}/s, "
          f"intake p99 {summary['intake_ms']['p99']} ms", flush=True)
    print("  " + json.dumps(summary), flush=True)  # kept even if a later step fails
    return summary


def journey_cost(dinas: Dinas, stack: Stack, count: int, rate: float = 2.0,
                 idle: float = 10.0) -> dict:
    """Database commands per application, per service and command, over
    ``count`` complete journeys (submit, verify, print, notify) at a low rate:
    no backlog, no lookups. What the services do anyway (outbox relays and
    timers polling, stations claiming an empty queue) is measured while idle
    first and subtracted for the journeys' duration."""
    before, cpu_idle = db_commands_by_collection(stack), process_cpu(stack)
    time.sleep(idle)
    background = {key: (value - before.get(key, 0.0)) / idle
                  for key, value in db_commands_by_collection(stack).items()}
    cpu_background = {name: (value - cpu_idle.get(name, value)) / idle
                      for name, value in process_cpu(stack).items()}
    phase, session = Phase("journeys", rate), requests.Session()
    printed_before, started = dinas.printed, time.monotonic()
    start, cpu_start = db_commands_by_collection(stack), process_cpu(stack)
    for _ in range(count):
        dinas.submit(session, phase)
        time.sleep(1 / rate)
    deadline = time.monotonic() + 120
    while dinas.printed - printed_before < len(phase.accepted) and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(10)  # the notices of the last ones printed (printed -> notified: ~2 s)
    end, elapsed = db_commands_by_collection(stack), time.monotonic() - started
    cpu_end = process_cpu(stack)
    accepted = max(len(phase.accepted), 1)
    per_app: dict[str, dict[str, float]] = {}
    by_collection: dict[str, dict[str, float]] = {}
    for (service, command, collection), value in end.items():
        spent = value - start.get((service, command, collection), 0.0) \
            - background.get((service, command, collection), 0.0) * elapsed
        commands = per_app.setdefault(service, {})
        commands[command] = commands.get(command, 0.0) + spent / accepted
        if spent / accepted >= 0.05:
            by_collection.setdefault(service, {})[f"{command} {collection}".strip()] = \
                round(spent / accepted, 1)
    per_app = {service: {command: round(n, 1) for command, n in commands.items() if n >= 0.05}
               for service, commands in per_app.items()}
    per_app = {service: commands for service, commands in per_app.items() if commands}
    totals = {service: round(sum(commands.values()), 1) for service, commands in per_app.items()}
    return {"applications": len(phase.accepted),
            "printed": dinas.printed - printed_before,
            "background_per_s": round(sum(background.values()), 1),
            "per_application": per_app, "per_service": totals,
            "per_collection": by_collection,
            "total": round(sum(totals.values()), 1),
            "cpu_ms_per_application": cpu_per_application(
                cpu_start, cpu_end, accepted, cpu_background, elapsed)}


def station_rate(dinas: Dinas, backlog: int) -> dict:
    """Claim + report rate of the stations on a backlog queued while they
    were idle: the clock starts once every job of it is in the print queue."""
    dinas.drain()
    dinas.stop_stations()
    session = requests.Session()
    phase = Phase("station-backlog", None)
    for _ in range(backlog):
        dinas.submit(session, phase)
    while dinas.to_verify.qsize():
        time.sleep(0.5)
    # every job queued before the clock starts: printing has handled every
    # application_verified (and the other services their events) when no
    # handler queue holds a message any more
    settle = time.monotonic()
    while dinas.events_waiting() and time.monotonic() - settle < 300:
        time.sleep(1)
    printed_before = dinas.printed
    for calls in dinas.station_calls.values():
        calls.clear()
    started = time.monotonic()
    dinas.start_stations()
    target = len(phase.accepted) * 0.95
    while dinas.printed - printed_before < target and time.monotonic() - started < 300:
        time.sleep(0.1)
    elapsed = time.monotonic() - started
    printed = dinas.printed - printed_before
    with dinas.lock:
        calls = {f"{name}_ms_p50_p99": [round(percentile(times, q) * 1000) for q in (0.5, 0.99)]
                 for name, times in dinas.station_calls.items() if times}
        calls.update({f"{name}s": len(times) for name, times in dinas.station_calls.items()})
    return {"jobs": printed, "stations": len(dinas.stations), "batch": dinas.batch,
            "claim_and_report_per_s": round(printed / elapsed, 1), **calls}


def dinas_stack(station_count: int, batch: int, one_database_server: bool = False,
                prefix: str = "sysbench") -> tuple[Stack, dict[str, str], str]:
    """A stack for ``Dinas`` (not started): its operator's and stations'
    tokens, every station at the Dinas counter, a vhost of its own (the
    default one if that cannot be made). The stack, the stations' tokens
    and the vhost's name."""
    ensure_rabbitmq()
    vhost = f"smartdukcapil_bench_{uuid.uuid4().hex[:6]}"
    amqp = f"pyamqp://guest:guest@127.0.0.1:5672/{vhost}" if ensure_vhost(vhost) \
        else "pyamqp://guest:guest@127.0.0.1:5672//"
    stations = station_tokens(station_count)
    env = {"OPERATOR_TOKENS": f"operator-bench:{hash_token(OPERATOR_TOKEN)}",
           "STATION_TOKENS": ",".join(f"{sid}:{hash_token(token)}"
                                      for sid, token in stations.items()),
           # every station at the Dinas counter, printing both kinds, holding a batch
           "STATIONS": ",".join(f"{sid}@disdukcapil-serang:card+certificate:{batch}"
                                for sid in stations),
           **LOAD_TEST_SETTINGS,
           "SMS_DAILY_BUDGET": "100000000", "SMS_PER_PHONE_PER_HOUR": "100",
           "LOG_LEVEL": "WARNING"}
    stack = Stack(Path(tempfile.mkdtemp(prefix=f"smartdukcapil-{prefix}-")), ports=Ports.free(),
                  amqp_uri=amqp, mongo_uri=os.environ.get("MONGO_URI") or None, extra_env=env,
                  database_per_service=not one_database_server)
    return stack, stations, vhost


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="10,25,50")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--saturation-clients", type=int, default=32)
    parser.add_argument("--stations", type=int, default=4)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--verifiers", type=int, default=16,
                        help="operators verifying at once (enough to keep up: an "
                             "application is verified as soon as it is accepted)")
    parser.add_argument("--backlog", type=int, default=400)
    parser.add_argument("--journeys", type=int, default=40,
                        help="complete journeys at 2/s counted for database commands")
    parser.add_argument("--one-database-server", action="store_true",
                        help="every service's database on one local server (default: a "
                             "server per service, as `make run` starts them)")
    parser.add_argument("--journeys-only", action="store_true",
                        help="count the journeys' database commands and stop")
    parser.add_argument("--stations-only", action="store_true",
                        help="measure the stations' claim + report rate on a --backlog and stop")
    parser.add_argument("--client", choices=sorted(CLIENTS), default="light",
                        help="the citizens' HTTP client, and the bare nameko ceiling's "
                             "(light: bench/light_http.py; requests: as before the "
                             "forty-first session, ~3x the CPU per request)")
    parser.add_argument("--search", type=int, default=2,
                        help="open-loop phases halving the gap between the highest clean "
                             "--rates rate (no 503, none late, every sampled 202 notified) "
                             "and the lowest above it that was not: the sustained rate "
                             "to within (gap / 2^N)")
    parser.add_argument("--json", default=None, help="also write the JSON here")
    args = parser.parse_args()
    global citizen_session
    citizen_session = CLIENTS[args.client]

    stack, stations, vhost = dinas_stack(args.stations, args.batch, args.one_database_server)
    amqp = stack.amqp_uri
    database = "MONGO_URI" if os.environ.get("MONGO_URI") else \
        "SecantusDB (local), one server" if args.one_database_server else \
        "SecantusDB (local), a server per service"
    results: dict = {"machine": {"cores": os.cpu_count(), "database": database},
                     "client": args.client, "phases": []}
    try:
        stack.start_backing()
        stack.start_services()
        dinas = Dinas(stack, stations, args.batch)
        dinas.start_actors(args.verifiers)
        print(f"# whole system, {args.seconds:.0f}s per phase, {args.stations} stations "
              f"claiming {args.batch} at a time, {os.cpu_count()} cores, {database}, "
              f"citizens' client {args.client}", flush=True)
        if args.stations_only:
            print("  " + json.dumps({"stations": station_rate(dinas, args.backlog)}), flush=True)
            return
        results["journey_cost"] = journey_cost(dinas, stack, args.journeys)
        print("  " + json.dumps({"journey_cost": results["journey_cost"]}), flush=True)
        if args.journeys_only:
            return
        for rate in [float(r) for r in args.rates.split(",") if r]:
            results["phases"].append(run_phase(dinas, stack, f"open {rate:g}/s", rate, args.seconds))
        search_sustained(dinas, stack, results["phases"], args.search, args.seconds)
        saturation = run_phase(dinas, stack, f"closed {args.saturation_clients} clients", None,
                               args.seconds, clients=args.saturation_clients)
        results["phases"].append(saturation)
        sat_rate = max(saturation["accepted_per_s"], 1.0)
        results["saturation_per_s"] = sat_rate
        results["phases"].append(run_phase(dinas, stack, f"open saturation {sat_rate:g}/s",
                                           sat_rate, args.seconds))
        results["phases"].append(run_phase(dinas, stack, f"open 4x saturation {4 * sat_rate:g}/s",
                                           4 * sat_rate, args.seconds))
        results["stations"] = station_rate(dinas, args.backlog)
        print("  " + json.dumps({"stations": results["stations"]}), flush=True)
        dinas.stop_actors()
        results["ceilings"] = {
            "pika_publish_confirm_per_s": round(bench_pika_confirm(stack.amqp_uri, 3000), 1),
            "pymongo_insert_per_s": round(bench_mongo(stack.mongo_uri, 16, 10, False)[0], 1),
            "intake_transaction_per_s": round(bench_mongo(stack.mongo_uri, 16, 10, True)[0], 1),
            "bare_nameko_http_per_s": round(bare_nameko_ceiling(16, 10, stack.amqp_uri,
                                                                 citizen_session), 1),
        }
    finally:
        stack.stop()
        if vhost in amqp:
            os.system(f"rabbitmqctl delete_vhost {vhost} >/dev/null 2>&1")
    results["targets"] = targets(results)
    report(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


def clean(phase: dict) -> bool:
    """An open-loop phase the system sustained: no 503, every request sent
    on time, none of its sampled applications left without a notice."""
    return bool(phase["offered_per_s"]) and not phase["submit_answers"].get("503") \
        and not phase["late_not_sent"] \
        and not phase["submit_to_notification_excluding_station"]["not_notified_in_time"]


def search_sustained(dinas: Dinas, stack: Stack, phases: list[dict], steps: int,
                     seconds: float) -> None:
    """Up to ``steps`` more open-loop phases, each offered the middle of the
    gap between the highest clean rate so far and the lowest above it that
    was not (none when every rate was clean, or the gap is under 2/s)."""
    for _ in range(steps):
        good = max((p["offered_per_s"] for p in phases if clean(p)), default=0.0)
        bad = min((p["offered_per_s"] for p in phases
                   if p["offered_per_s"] and p["offered_per_s"] > good), default=None)
        if bad is None or bad - good < 2:
            return
        rate = round((good + bad) / 2, 1)
        phases.append(run_phase(dinas, stack, f"open {rate:g}/s (search)", rate, seconds))


def targets(results: dict) -> list[dict]:
    """The issue's targets (bench/README.md), each beside what this run
    measured and whether it was met. The sustained rate is the highest
    offered open-loop rate that got no 503, sent every request on time and
    left none of its sampled applications without a notice; its target is
    half the transaction ceiling per database transaction an application
    costs (``commitTransaction`` commands in the journeys)."""
    ceilings, phases = results["ceilings"], results["phases"]
    closed, at_saturation, four = phases[-3], phases[-2], phases[-1]
    commits = sum(commands.get("commitTransaction", 0.0)
                  for commands in results["journey_cost"]["per_application"].values())
    wanted = 0.5 * ceilings["intake_transaction_per_s"] / commits if commits else None
    sustained = max((p["offered_per_s"] for p in phases if clean(p)), default=0.0)
    half = (wanted or sustained) / 2
    near = min((p for p in phases[:-3] if p["offered_per_s"]),
               key=lambda p: abs(p["offered_per_s"] - half), default=None)
    rows = [("database commands per application <= 30",
             results["journey_cost"]["total"], 30, False),
            (f"sustained with no 503 >= 0.5 x {ceilings['intake_transaction_per_s']:g} tx/s "
             f"/ {commits:.1f} commits per application", sustained, wanted, True)]
    if near is not None:
        journeys = near["submit_to_notification_excluding_station"]
        rows += [(f"at half that ({near['phase']}): intake p99 <= 50 ms",
                  near["intake_ms"]["p99"], 50, False),
                 (f"at half that ({near['phase']}): submit -> notice p99 <= 2 s "
                  "(station excluded)", journeys["p99_s"], 2, False)]
    four_journeys = four["submit_to_notification_excluding_station"]
    rows += [("stations claim + report >= 50 jobs/s",
              results["stations"]["claim_and_report_per_s"], 50, True),
             ("4x saturation: goodput >= 0.9 x the closed loop's",
              four["accepted_per_s"], 0.9 * closed["accepted_per_s"], True),
             # the same, against the goodput of the open loop offered the saturation rate
             ("4x saturation: goodput >= 0.9 x the open loop's at the saturation rate",
              four["accepted_per_s"], 0.9 * at_saturation["accepted_per_s"], True),
             ("4x saturation: non-503 5xx = 0", four["non_503_5xx"], 0, False),
             ("4x saturation: lookup p99 <= 100 ms", four["lookup_ms"]["p99"], 100, False),
             ("4x saturation: lookups refused = 0", four["lookups_refused"], 0, False),
             ("4x saturation: sampled 202s never notified (after the drain) = 0",
              four_journeys["not_notified_after_drain"], 0, False)]
    return target_rows(rows)


def report(results: dict) -> None:
    ceilings = results["ceilings"]
    tx, http_ceiling = ceilings["intake_transaction_per_s"], ceilings["bare_nameko_http_per_s"]
    print()
    print(f"{'phase':<34}{'offered':>8}{'accepted':>9}{'/http':>7}{'p50':>7}{'p95':>7}{'p99':>7}"
          f"{'e2e p50':>9}{'e2e p99':>9}{'look p99':>9}{'refused':>8}{'5xx':>5}{'db/app':>8}")
    for p in results["phases"]:
        journeys = p["submit_to_notification_excluding_station"]
        print(f"{p['phase']:<34}{p['offered_per_s'] or '-':>8}{p['accepted_per_s']:>9}"
              f"{p['accepted_per_s'] / http_ceiling:>7.2f}{p['intake_ms']['p50']:>7}"
              f"{p['intake_ms']['p95']:>7}{p['intake_ms']['p99']:>7}{journeys['p50_s']:>9}"
              f"{journeys['p99_s']:>9}{p['lookup_ms']['p99']:>9}{p['lookups_refused']:>8}"
              f"{p['non_503_5xx']:>5}{p['db_commands_per_application'].get('total') or 0:>8}")
    print("(latencies in ms, e2e = submit -> notification with the station's own part excluded,"
          " in s; /http = accepted / bare nameko HTTP ceiling; db/app = database commands per"
          " accepted application, all services)")
    sat = results["phases"][-3]
    per_app = sat["db_commands_per_application"]
    print(f"database commands per application (saturation phase): {per_app}")
    if "journey_cost" in results:
        print("CPU ms per application at 2/s (the journeys), by process: "
              f"{results['journey_cost']['cpu_ms_per_application']}")
    print(f"cores used while sending (saturation phase): {sat['cores_used_while_sending']}")
    stations = results["stations"]
    print(f"stations: {stations['stations']} claiming {stations['batch']} at a time -> "
          f"{stations['claim_and_report_per_s']} jobs/s claimed and reported")
    print(f"ceilings: {ceilings}")
    print(f"saturation {results['saturation_per_s']}/s = "
          f"{results['saturation_per_s'] / tx:.2f} x the transaction ceiling")
    print_targets(results["targets"])
    print("(HTTP intake against the bare nameko ceiling and the broker channel at 4x: "
          "bench/intake_bench.py)")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
