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
rate, per service and command (the services' idle background subtracted;
a service whose /metrics did not answer is named and the total marked
incomplete), and the durable commits per application
(``smartdukcapil_db_commits_total``: commitTransaction plus each write sent
outside a transaction).
Phases: each ``--rates`` rate; then the saturation rate (the accepted rate of
a closed-loop run with many well-behaved clients: a 503 waits its
Retry-After), and 4x that rate open-loop with no client backoff. Each phase
starts once the ones before have drained (every accepted application
printed). The open loop (``load_schedule.py``) times each request from its
planned send time (a wait for a free sender is part of its latency) and
counts the requests sent more than 100 ms late and those not sent at all;
rates are divided by the schedule's length (the wall time with the tail is
kept beside). For each phase: offered, sent and accepted/s, intake
p50/p95/p99 (of the 202 answers), submit -> notification p50/p99 with the
station's own part excluded (from the citizen's timeline: submitted ->
print_queued plus printed -> notified, for a sample), lookup p50/p99 (of every
lookup sent, whatever its answer), refusals (503/429) and failures
(timeouts, connection errors, 5xx, other non-200), answers by status
(failures as ``error:<exception>``), the operators' and stations' answers,
database commands per accepted application per service during the phase
(each service counts its commands: ``smartdukcapil_db_commands_total`` on
its /metrics; lookups, the benchmark's own status polling and the idle
background included) and the stations' claim + report rate on a backlog
(to 95 % of it, and to all of it; a 300 s cap flagged). In the same run,
the ceilings: pika publish with a confirm per message, pymongo insert_one
and intake's two-document transaction, and a bare nameko HTTP endpoint with
no database; each figure is printed with its ratio to its ceiling (a
ceiling that could not be measured is null, with why); and the CPU each
process (service, database server, broker, this benchmark) spent per
accepted application. Writes the JSON (``--json``), then prints a table,
the targets' verdicts and the JSON.
Nothing is asserted: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
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

from deploy.local.stack import (LOAD_TEST_SETTINGS, Ports, Stack,  # noqa: E402
                                background_nice_setting, ensure_rabbitmq, ensure_vhost)
from ceilings import (bare_nameko_ceiling, bench_mongo, bench_pika_confirm, failure,  # noqa: E402
                      measure_ceilings, percentile, print_targets, ratio, retry_after,
                      rounded, run_threads, target_rows)
from light_http import LightSession  # noqa: E402
from load_schedule import LATE_S, Schedule, open_loop as run_open_loop, shortfall  # noqa: E402

# the citizens' client (and the bare nameko ceiling's): ``--client``
CLIENTS = {"light": LightSession, "requests": requests.Session}
citizen_session = LightSession
from request_cost import cpu_seconds  # noqa: E402
from shared.auth import hash_token  # noqa: E402
from tests.document_bodies import (birth_body, death_body, kia_body, nik_born,  # noqa: E402
                                   skpwni_keluar_body, years_before)
from tests.helpers import valid_body  # noqa: E402

MIX = (("ktp_el", 0.72), ("akta_kelahiran", 0.19), ("kia", 0.07), ("akta_kematian", 0.01),
       ("skpwni", 0.01))
OPERATOR_TOKEN = "bench-operator-token"
OPERATOR_PATIENCE_S = 300.0  # how long an operator keeps trying to verify one application
SERVICES_MEASURED = ("intake", "printing", "notification", "courier")


# how long each request of an open loop may take before the next one due finds
# no sender free: the senders are enough for a second's requests in flight at once
SENDER_SECONDS = 1.0

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


# a lookup due before any application was accepted (none to look up): not sent
NOTHING_TO_LOOK_UP = "nothing_to_look_up"


@dataclass
class Phase:
    """One load phase's tallies (thread-safe through ``lock``)."""
    name: str
    offered_rate: float | None
    lock: threading.Lock = field(default_factory=threading.Lock)
    # kind (submit, lookup; generator: an error in the benchmark's own
    # threads) -> {outcome: count}; an outcome is a status, or ``failure``'s
    # ``error:<exception>`` for a request that got no answer (or one not understood)
    outcomes: dict = field(default_factory=dict)
    # kind -> [seconds]: a submit's when it was answered 202, a lookup's
    # whatever became of it; from its planned send time in the open loop
    latencies: dict = field(default_factory=dict)
    accepted: list = field(default_factory=list)
    # the open loop's schedule (a closed loop: its seconds and wall time only)
    schedule: Schedule = field(default_factory=Schedule)

    def add(self, kind: str, outcome, elapsed: float | None) -> None:
        with self.lock:
            counts = self.outcomes.setdefault(kind, {})
            counts[str(outcome)] = counts.get(str(outcome), 0) + 1
            if elapsed is not None and kind in ("submit", "lookup") and (
                    kind == "lookup" or outcome == 202):
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
        # what the operators' and stations' requests got, by outcome: every
        # answer (``claim:204``, ``report:503``), failure (``error:<name>``)
        # and ``gave_up``
        self.answers: dict[str, dict[str, int]] = {"verify": {}, "station": {}}
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        self.station_threads: list[threading.Thread] = []

    def tally(self, actor: str, outcome: str) -> None:
        with self.lock:
            counts = self.answers[actor]
            counts[outcome] = counts.get(outcome, 0) + 1

    def answers_since(self, before: dict) -> dict:
        """The operators' and stations' answers since ``before`` (an earlier
        ``answers_now``), as the phase's ``verify_answers`` and ``station_answers``."""
        now = self.answers_now()
        return {f"{actor}_answers": {outcome: count - before[actor].get(outcome, 0)
                                     for outcome, count in counts.items()
                                     if count - before[actor].get(outcome, 0)}
                for actor, counts in now.items()}

    def answers_now(self) -> dict:
        with self.lock:
            return {actor: dict(counts) for actor, counts in self.answers.items()}

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
            # as an operator would: again after each 503 (or a request that
            # failed) until it is verified, at most OPERATOR_PATIENCE_S (20
            # tries, as before, left applications unverified on a slow host,
            # and each drain waited its whole timeout for them); every answer
            # is tallied - one other than 503 ends the tries, whatever it is
            given_up_at = time.monotonic() + OPERATOR_PATIENCE_S
            while time.monotonic() < given_up_at:
                try:
                    answer = session.post(f"{self.intake}/api/v1/applications/"
                                          f"{item.application_id}/verify", headers=headers,
                                          timeout=30)
                    self.tally("verify", str(answer.status_code))
                    if answer.status_code != 503:
                        break
                    pause = retry_after(answer)
                except Exception as exc:  # counted; tried again
                    self.tally("verify", failure(exc))
                    pause = 1.0
                time.sleep(pause)
            else:
                self.tally("verify", "gave_up")

    def _station(self, token: str) -> None:
        session = requests.Session()
        headers = {"Authorization": f"Bearer {token}"}
        while not self.stop.is_set():
            try:
                self._claim_and_report(session, headers)
            except Exception as exc:  # counted; the station goes on
                self.tally("station", failure(exc))
                time.sleep(1.0)

    def _claim_and_report(self, session, headers: dict) -> None:
        asked = time.perf_counter()
        answer = session.post(f"{self.printing}/api/v1/station/jobs/claim",
                              headers=headers, json={"max": self.batch}, timeout=30)
        self.tally("station", f"claim:{answer.status_code}")
        if answer.status_code != 200:  # nothing to print (204): ask again in a second
            time.sleep(1.0)             # (the reference agent's default is 5 s)
            return
        with self.lock:
            self.station_calls["claim"].append(time.perf_counter() - asked)
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
        tokens prove it; any other answer ends it (tallied). How many were
        recorded."""
        body = {"jobs": [{"print_job_id": job["print_job_id"], "lease_token": job["lease_token"]}
                         for job in jobs]}
        for _ in range(attempts):
            try:
                asked = time.perf_counter()
                report = session.post(f"{self.printing}/api/v1/station/jobs/printed",
                                      headers=headers, json=body, timeout=60)
            except requests.RequestException as exc:
                self.tally("station", f"report {failure(exc)}")
                time.sleep(1)
                continue
            self.tally("station", f"report:{report.status_code}")
            with self.lock:
                self.station_calls["report"].append(time.perf_counter() - asked)
            if report.status_code == 200:
                return sum(result.get("status") == "printed"
                           for result in report.json().get("results", []))
            if report.status_code != 503:
                return 0
            time.sleep(retry_after(report))
        self.tally("station", "report:gave_up")
        return 0

    # -- citizens ---------------------------------------------------------------------
    def submit(self, session, phase: Phase, planned: float | None = None):
        """One application (the seed's mix); its latency from ``planned``
        (``time.perf_counter()``) when given, else from now. Never raises: a
        request that got no answer, or one not understood, is counted as
        ``failure``'s ``error:<exception>``. The answer (None if none)."""
        started = time.perf_counter() if planned is None else planned
        answer = accepted = None
        try:
            body = application_body(self.today)
            answer = session.post(f"{self.intake}/api/v1/applications", json=body, timeout=30)
            outcome = answer.status_code
            if outcome == 202:
                reply = answer.json()
                accepted = Accepted(reply["application_id"], reply["tracking_code"],
                                    body["applicant"]["nik"])
        except Exception as exc:  # a timeout, a lost connection, a 202 without its fields
            outcome = failure(exc)
        phase.add("submit", outcome, time.perf_counter() - started)
        if accepted is not None:
            with phase.lock:
                phase.accepted.append(accepted)
            with self.lock:
                self.all_accepted.append(accepted)
            self.to_verify.put(accepted)
        return answer

    def lookup(self, session, phase: Phase, planned: float | None = None) -> None:
        """A status lookup of an application accepted earlier (none sent, and
        ``nothing_to_look_up`` counted, before any was); timed as ``submit``."""
        started = time.perf_counter() if planned is None else planned
        with self.lock:
            target = random.choice(self.all_accepted[-2000:]) if self.all_accepted else None
        if target is None:
            phase.add("lookup", NOTHING_TO_LOOK_UP, None)
            return
        try:
            outcome = session.post(f"{self.intake}/api/v1/applications/status",
                                   json={"tracking_code": target.tracking_code,
                                         "nik": target.nik}, timeout=30).status_code
        except Exception as exc:  # counted by name, as submit's
            outcome = failure(exc)
        phase.add("lookup", outcome, time.perf_counter() - started)

    def open_loop(self, phase: Phase, rate: float, seconds: float, senders: int | None = None,
                  until=None) -> None:
        """``rate`` submits/s and as many lookups on a fixed schedule for
        ``seconds`` (then on until ``until()``, if given), no backoff
        (``load_schedule.open_loop``): each timed from its planned send time;
        those sent more than 100 ms late and those not sent at all counted
        in ``phase.schedule``. ``senders``: by default enough threads that
        every request of a second can be in flight at once (``SENDER_SECONDS``)
        - with 96, the 4x phase (285/s of each, answered in ~0.5 s) found no
        sender free for half its requests: not offered what it said."""
        senders = senders or max(96, math.ceil(2 * rate * SENDER_SECONDS))
        def send(session, kind: str, planned: float) -> None:
            (self.submit if kind == "submit" else self.lookup)(session, phase, planned)

        def on_error(kind: str, exc: Exception, planned: float) -> None:
            phase.add("generator", f"{kind} {failure(exc)}", None)

        run_open_loop(send, on_error, citizen_session, rate, seconds, ("submit", "lookup"),
                      senders, until, phase.schedule)

    def closed_loop(self, phase: Phase, clients: int, seconds: float) -> None:
        """``clients`` well-behaved clients for ``seconds``: each sends a
        submit and a lookup as soon as the last was answered, and after a
        503 waits its Retry-After; timed from each request's own sending."""
        stop_at = time.monotonic() + seconds

        def client():
            session = citizen_session()
            while time.monotonic() < stop_at:
                try:
                    answer = self.submit(session, phase)
                    self.lookup(session, phase)  # the open loops' mix: a lookup per submit
                    if answer is not None and answer.status_code == 503:
                        time.sleep(min(retry_after(answer),
                                       max(0.0, stop_at - time.monotonic())))
                except Exception as exc:  # counted; the client goes on
                    phase.add("generator", f"client {failure(exc)}", None)

        wall = run_threads(client, clients)
        with phase.schedule.lock:
            phase.schedule.seconds += seconds
            phase.schedule.wall_seconds += wall

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
        timelines of a random sample of ``sample`` of the phase's accepted
        applications (not every 202): they are looked at one after the other
        against ONE deadline shared by the whole sample, ``wait`` seconds
        after the benchmark's operators took the last application waiting
        for them (at most ``OPERATORS_WAIT`` seconds) - each polled until it
        is notified after printing or the deadline has passed, and once the
        deadline has passed the rest are looked at once each. "Not notified"
        counts what the system left without a notice, not what the operators
        had not yet verified when intake accepted faster than they verify
        (their wait is in the e2e figure, and ``operators_behind_s``)."""
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
        return {"accepted": len(accepted), "sampled": len(chosen),
                "not_notified_in_time": len(late),
                "not_notified_after_drain": never, "drained_after_s": drained_after,
                "operators_behind_s": round(operators_behind, 1),
                "p50_s": rounded(percentile(system, .5), 2),
                "p99_s": rounded(percentile(system, .99), 2)}

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
COMMIT_METRIC = re.compile(r'^smartdukcapil_db_commits_total\{([^}]*)\}\s+([0-9.e+]+)$', re.M)
LABEL = re.compile(r'(\w+)="([^"]*)"')


@dataclass
class DbCounts:
    """The services' database counters read at one moment (or, for the
    idle background, per second)."""
    # (service, command, collection) -> commands sent so far
    commands: dict = field(default_factory=dict)
    # service -> durable commits so far (``smartdukcapil_db_commits_total``)
    commits: dict = field(default_factory=dict)
    # services whose /metrics did not answer (200): nothing of theirs is known
    unanswered: set = field(default_factory=set)

    def add_scrape(self, text: str) -> None:
        """A /metrics text's command and commit counters."""
        for labels, value in COMMAND_METRIC.findall(text):
            label = dict(LABEL.findall(labels))
            key = (label["service"], label["command"], label.get("collection", ""))
            self.commands[key] = self.commands.get(key, 0.0) + float(value)
        for labels, value in COMMIT_METRIC.findall(text):
            service = dict(LABEL.findall(labels))["service"]
            self.commits[service] = self.commits.get(service, 0.0) + float(value)

    def by_service(self) -> dict[str, float]:
        counts: dict[str, float] = {}
        for (service, _, _), value in self.commands.items():
            counts[service] = counts.get(service, 0.0) + value
        return counts


def db_counts(stack: Stack) -> DbCounts:
    """The database counters of every measured service, from its /metrics."""
    counts = DbCounts()
    for name in SERVICES_MEASURED:
        try:
            answer = requests.get(stack.url(name) + "/metrics", timeout=10)
        except requests.RequestException:
            counts.unanswered.add(name)
            continue
        if answer.status_code != 200:
            counts.unanswered.add(name)
            continue
        counts.add_scrape(answer.text)
    return counts


def db_per_application(before: DbCounts, after: DbCounts, accepted: int) -> dict:
    """Database commands per accepted application between two readings, per
    service and ``total``: None for a service whose /metrics did not answer
    either time (named in ``unanswered``) - and then no total either."""
    unanswered = before.unanswered | after.unanswered
    start, end = before.by_service(), after.by_service()
    spent = {service: end.get(service, 0.0) - start.get(service, 0.0)
             for service in SERVICES_MEASURED if service not in unanswered}
    figures: dict = {service: rounded(spent[service] / accepted) if accepted and
                     service in spent else None for service in SERVICES_MEASURED}
    figures["total"] = round(sum(spent.values()) / accepted, 1) \
        if accepted and not unanswered else None
    if unanswered:
        figures["unanswered"] = sorted(unanswered)
    return figures


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

def phase_summary(phase: Phase, journeys: dict, db: dict | None = None,
                  actors: dict | None = None) -> dict:
    """A phase's figures. Rates are per second of the schedule (the open
    loop's planned length; a closed loop's ``seconds``), the wall time with
    the tail beside; ``db``: its database commands per application
    (``db_per_application``); ``actors``: the operators' and stations' answers."""
    submit = phase.outcomes.get("submit", {})
    lookup = phase.outcomes.get("lookup", {})
    lat = [x * 1000 for x in phase.latencies.get("submit", [])]
    look = [x * 1000 for x in phase.latencies.get("lookup", [])]
    accepted = submit.get("202", 0)
    seconds, wall = phase.schedule.seconds, phase.schedule.wall_seconds

    def per_s(count: int, over: float) -> float | None:
        return round(count / over, 1) if over else None

    def fifth_hundred(counts: dict) -> int:  # 5xx other than 503
        return sum(n for code, n in counts.items()
                   if code.isdigit() and int(code) >= 500 and code != "503")

    summary = {
        "phase": phase.name,
        "offered_per_s": phase.offered_rate,
        "sent_per_s": per_s(sum(submit.values()), seconds),
        # sent at most 100 ms after their planned time (the closed loop: all)
        "sent_on_time_per_s": per_s(phase.schedule.on_time.get("submit", 0), seconds)
        if phase.schedule.scheduled else per_s(sum(submit.values()), seconds),
        "accepted_per_s": per_s(accepted, seconds),
        "seconds": round(seconds, 1),
        "wall_seconds": round(wall, 1),
        "accepted_per_wall_s": per_s(accepted, wall),
        **phase.schedule.figures(),
        # of the 202 answers, from each submit's planned send time
        "intake_ms": {"p50": rounded(percentile(lat, .5)), "p95": rounded(percentile(lat, .95)),
                      "p99": rounded(percentile(lat, .99))},
        "submit_answers": submit,
        # neither 202 nor 503: timeouts, connection errors, 5xx, 4xx (429 too)
        "submits_failed": sum(n for code, n in submit.items() if code not in ("202", "503")),
        "non_503_5xx": fifth_hundred(submit) + fifth_hundred(lookup),
        # of every lookup sent, whatever became of it
        "lookup_ms": {"p50": rounded(percentile(look, .5)), "p99": rounded(percentile(look, .99))},
        "lookup_answers": lookup,
        "lookups_refused": sum(n for code, n in lookup.items() if code in ("503", "429")),
        "lookups_failed": sum(n for code, n in lookup.items()
                              if code not in ("200", "503", "429", NOTHING_TO_LOOK_UP)),
        "generator_errors": phase.outcomes.get("generator", {}),
        "submit_to_notification_excluding_station": journeys,
    }
    if db is not None:
        summary["db_commands_per_application"] = db
    summary.update(actors or {})
    if phase.offered_rate:
        summary["not_sustained_because"] = unclean(summary)
    return summary


def run_phase(dinas: Dinas, stack: Stack, name: str, rate: float | None, seconds: float,
              clients: int = 0, sample: int = 300) -> dict:
    drained = dinas.drain()  # every phase starts from an empty pipeline
    before, cpu_before, started = db_counts(stack), process_cpu(stack), time.monotonic()
    actors_before = dinas.answers_now()
    phase = Phase(name, rate)
    if rate is None:
        dinas.closed_loop(phase, clients, seconds)
    else:
        dinas.open_loop(phase, rate, seconds)
    cpu_after, elapsed = process_cpu(stack), time.monotonic() - started
    journeys = dinas.journeys(phase.accepted, sample, wait=max(60.0, seconds * 3))
    # the window: the phase, then the sample's wait for its notices (the
    # benchmark's own status polling) - lookups and the idle background in it
    db = db_per_application(before, db_counts(stack), len(phase.accepted))
    summary = phase_summary(phase, journeys, db, dinas.answers_since(actors_before))
    summary["drained_before_s"] = drained
    # while the phase sent: what its applications cost so far (the rest of
    # the pipeline may still be at work on them) and how many cores each used
    summary["cpu_ms_per_accepted_while_sending"] = cpu_per_application(
        cpu_before, cpu_after, len(phase.accepted))
    summary["cores_used_while_sending"] = {
        name: round((cpu_after[name] - cpu_before[name]) / elapsed, 2)
        for name in summary["cpu_ms_per_accepted_while_sending"] if name in cpu_before}
    print(f"  {name}: offered {rate or '-'}/s, sent {summary['sent_per_s']}/s, accepted "
          f"{summary['accepted_per_s']}/s, intake p99 {summary['intake_ms']['p99']} ms",
          flush=True)
    print("  " + json.dumps(summary), flush=True)  # kept even if a later step fails
    return summary


def journey_cost(dinas: Dinas, stack: Stack, count: int, rate: float = 2.0,
                 idle: float = 10.0) -> dict:
    """Database commands (and durable commits) per application, per service
    and command, over ``count`` complete journeys (submit, verify, print,
    notify) at a low rate: no backlog, no lookups. What the services do
    anyway (outbox relays and timers polling, stations claiming an empty
    queue) is measured while idle first and subtracted for the journeys'
    duration (``journey_figures``)."""
    before, cpu_idle = db_counts(stack), process_cpu(stack)
    time.sleep(idle)
    idle_end = db_counts(stack)
    cpu_background = {name: (value - cpu_idle.get(name, value)) / idle
                      for name, value in process_cpu(stack).items()}
    phase, session = Phase("journeys", rate), requests.Session()
    printed_before, started = dinas.printed, time.monotonic()
    start, cpu_start = db_counts(stack), process_cpu(stack)
    for _ in range(count):
        dinas.submit(session, phase)
        time.sleep(1 / rate)
    deadline = time.monotonic() + 120
    while dinas.printed - printed_before < len(phase.accepted) and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(10)  # the notices of the last ones printed (printed -> notified: ~2 s)
    end, elapsed = db_counts(stack), time.monotonic() - started
    cpu_end = process_cpu(stack)
    accepted = max(len(phase.accepted), 1)
    return {"applications": len(phase.accepted),
            "printed": dinas.printed - printed_before,
            "submit_answers": phase.outcomes.get("submit", {}),
            **journey_figures(per_second(before, idle_end, idle), start, end, elapsed, accepted),
            "cpu_ms_per_application": cpu_per_application(
                cpu_start, cpu_end, accepted, cpu_background, elapsed)}


def per_second(before: DbCounts, after: DbCounts, seconds: float) -> DbCounts:
    """The counters' growth per second between two readings (the idle background)."""
    return DbCounts(
        {key: (value - before.commands.get(key, 0.0)) / seconds
         for key, value in after.commands.items()},
        {service: (value - before.commits.get(service, 0.0)) / seconds
         for service, value in after.commits.items()},
        before.unanswered | after.unanswered)


def journey_figures(background: DbCounts, start: DbCounts, end: DbCounts, elapsed: float,
                    accepted: int) -> dict:
    """Per application between ``start`` and ``end`` (``elapsed`` seconds
    apart), ``background`` per second taken off: database commands per
    service and command, per collection, the durable commits, and the
    totals. Every total is summed from the unrounded figures (negative ones
    too: a background taken off that was larger than what the services did
    then) and rounded last; the per-command and per-collection lists shown
    leave out only what rounds to 0.0. A service whose /metrics did not
    answer at one of the readings is named (``unanswered``): it has None in
    ``per_service``, nothing in the total, and ``incomplete`` says so."""
    unanswered = sorted(background.unanswered | start.unanswered | end.unanswered)
    raw: dict[str, dict[str, float]] = {}
    by_collection: dict[str, dict[str, float]] = {}
    for (service, command, collection), value in end.commands.items():
        if service in unanswered:
            continue
        key = (service, command, collection)
        spent = (value - start.commands.get(key, 0.0)
                 - background.commands.get(key, 0.0) * elapsed) / accepted
        commands = raw.setdefault(service, {})
        commands[command] = commands.get(command, 0.0) + spent
        if abs(spent) >= 0.05:
            by_collection.setdefault(service, {})[f"{command} {collection}".strip()] = \
                round(spent, 1)
    answered = [service for service in SERVICES_MEASURED if service not in unanswered]
    totals = {service: sum(raw.get(service, {}).values()) for service in answered}
    commits = {service: (end.commits.get(service, 0.0) - start.commits.get(service, 0.0)
                         - background.commits.get(service, 0.0) * elapsed) / accepted
               for service in answered}
    committed_anywhere = any(end.commits.get(service) for service in answered)
    incomplete = (f"no /metrics answer from {', '.join(unanswered)}: not in the total"
                  if unanswered else None)
    return {
        "background_per_s": round(sum(background.commands.values()), 1),
        "per_application": {service: {command: round(n, 1) for command, n in commands.items()
                                      if abs(n) >= 0.05}
                            for service, commands in raw.items()},
        "per_service": {**{service: round(totals[service], 1) for service in answered},
                        **{service: None for service in unanswered}},
        "per_collection": by_collection,
        "total": round(sum(totals.values()), 1),
        "unanswered": unanswered,
        "incomplete": incomplete,
        # the "database transactions per application", literally
        "commit_transactions_per_application": round(sum(
            raw.get(service, {}).get("commitTransaction", 0.0) for service in answered), 2),
        # every durable commit: commitTransaction + each write outside a transaction
        "durable_commits_per_application": {
            **{service: round(n, 1) for service, n in commits.items()},
            "total": round(sum(commits.values()), 2)} if committed_anywhere else None,
    }


def station_rate(dinas: Dinas, backlog: int, cap: float = 300.0) -> dict:
    """Claim + report rate of the stations on a backlog queued while they
    were idle: the clock starts once every job of it is in the print queue
    (at most 300 s of settling, ``settle_capped`` if that was not enough).
    ``claim_and_report_per_s`` is the rate to the first 95 % of the backlog
    printed (the last batches of a few stations leave most of them idle),
    ``claim_and_report_per_s_all`` to all of it; ``capped`` when ``cap``
    seconds passed first (the rate is then what was printed in them)."""
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
    settle_capped = time.monotonic() - settle >= 300
    printed_before = dinas.printed
    for calls in dinas.station_calls.values():
        calls.clear()
    queued = len(phase.accepted)
    started = time.monotonic()
    dinas.start_stations()
    most = None  # (seconds, printed) when 95 % was printed
    while time.monotonic() - started < cap:
        printed = dinas.printed - printed_before
        if most is None and printed >= 0.95 * queued:
            most = (time.monotonic() - started, printed)
        if printed >= queued:
            break
        time.sleep(0.1)
    elapsed = time.monotonic() - started
    printed = dinas.printed - printed_before
    seconds_most, printed_most = most if most is not None else (elapsed, printed)
    with dinas.lock:
        calls = {f"{name}_ms_p50_p99": [rounded(percentile(times, q) * 1000
                                                if times else None, 0) for q in (0.5, 0.99)]
                 for name, times in dinas.station_calls.items()}
        calls.update({f"{name}s": len(times) for name, times in dinas.station_calls.items()})
    return {"jobs": printed, "queued": queued, "stations": len(dinas.stations),
            "batch": dinas.batch, "submit_answers": phase.outcomes.get("submit", {}),
            "claim_and_report_per_s": round(printed_most / seconds_most, 1)
            if queued and seconds_most else None,
            "seconds_to_95_percent": round(seconds_most, 1) if most is not None else None,
            "claim_and_report_per_s_all": round(printed / elapsed, 1)
            if queued and elapsed else None,
            "seconds_to_all": round(elapsed, 1) if printed >= queued else None,
            "capped": printed < queued, "cap_s": cap, "settle_capped": settle_capped, **calls}


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
                  database_per_service=not one_database_server,
                  background_nice=background_nice_setting())
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
        print(f"# whole system, {args.seconds:.0f}s per phase, {args.stations} stations "
              f"claiming {args.batch} at a time, {os.cpu_count()} cores, {database}, "
              f"citizens' client {args.client}", flush=True)
        if args.stations_only:
            dinas.start_actors(args.verifiers)
            print("  " + json.dumps({"stations": station_rate(dinas, args.backlog)}), flush=True)
            return
        if not args.journeys_only:
            # first, on the idle stack: the phase at half the sustained
            # target needs the transaction ceiling
            results["ceilings"], results["ceiling_outcomes"], results["ceiling_errors"] = \
                measure_ceilings({
                    "pika_publish_confirm_per_s": lambda: bench_pika_confirm(stack.amqp_uri, 3000),
                    "pymongo_insert_per_s": lambda: bench_mongo(stack.mongo_uri, 16, 10, False),
                    "intake_transaction_per_s": lambda: bench_mongo(stack.mongo_uri, 16, 10, True),
                    "bare_nameko_http_per_s": lambda: bare_nameko_ceiling(16, 10, stack.amqp_uri,
                                                                          citizen_session)})
            print("  " + json.dumps({"ceilings": results["ceilings"]}), flush=True)
        dinas.start_actors(args.verifiers)
        results["journey_cost"] = journey_cost(dinas, stack, args.journeys)
        print("  " + json.dumps({"journey_cost": results["journey_cost"]}), flush=True)
        if args.journeys_only:
            return
        for rate in [float(r) for r in args.rates.split(",") if r]:
            results["phases"].append(run_phase(dinas, stack, f"open {rate:g}/s", rate, args.seconds))
        search_sustained(dinas, stack, results["phases"], args.search, args.seconds)
        run_at_half(dinas, stack, results, args.seconds)
        saturation = run_phase(dinas, stack, f"closed {args.saturation_clients} clients", None,
                               args.seconds, clients=args.saturation_clients)
        results["phases"].append(saturation)
        sat_rate = max(saturation["accepted_per_s"] or 0.0, 1.0)
        results["saturation_per_s"] = sat_rate
        results["phases"].append(run_phase(dinas, stack, f"open saturation {sat_rate:g}/s",
                                           sat_rate, args.seconds))
        results["phases"].append(run_phase(dinas, stack, f"open 4x saturation {4 * sat_rate:g}/s",
                                           4 * sat_rate, args.seconds))
        results["stations"] = station_rate(dinas, args.backlog)
        print("  " + json.dumps({"stations": results["stations"]}), flush=True)
        dinas.stop_actors()
    finally:
        stack.stop()
        if vhost in amqp:
            os.system(f"rabbitmqctl delete_vhost {vhost} >/dev/null 2>&1")
    results["targets"] = targets(results)
    if args.json:  # before the table: a figure the table cannot print loses nothing
        Path(args.json).write_text(json.dumps(results, indent=2))
    report(results)


def unclean(phase: dict) -> list[str]:
    """Why an open-loop phase was not one the system sustained (none: it
    was): a 503, any other submit that was not accepted (a timeout, a
    connection error, a 5xx, a 4xx), a lookup refused or failed, an error in
    the benchmark's own threads, the offered rate not really offered
    (``load_schedule.shortfall``: a request not sent, or more than 1 % sent
    more than 100 ms late), or one of its sampled applications not notified
    in time."""
    if not phase["offered_per_s"]:
        return ["not an open-loop phase"]
    reasons = []
    if phase["submit_answers"].get("503"):
        reasons.append(f"{phase['submit_answers']['503']} submits refused (503)")
    if phase["submits_failed"]:
        failed = {code: n for code, n in phase["submit_answers"].items()
                  if code not in ("202", "503")}
        reasons.append(f"{phase['submits_failed']} submits failed {failed}")
    if phase["lookups_refused"] or phase["lookups_failed"]:
        reasons.append(f"lookups refused {phase['lookups_refused']}, failed "
                       f"{phase['lookups_failed']}")
    if phase.get("generator_errors"):
        reasons.append(f"benchmark errors {phase['generator_errors']}")
    if (short := shortfall(phase)) is not None:
        reasons.append(short)
    late = phase["submit_to_notification_excluding_station"]["not_notified_in_time"]
    if late:
        reasons.append(f"{late} sampled applications not notified in time")
    return reasons


def clean(phase: dict) -> bool:
    """An open-loop phase the system sustained (``unclean`` found nothing)."""
    return not unclean(phase)


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


def at_half(phases: list[dict], half: float) -> tuple[dict | None, str]:
    """The phase "at half the sustained rate" is measured on: the lowest
    fixed-rate open-loop phase offered at least ``half``; if none was, the
    highest offered below it, said in the second item."""
    fixed = [p for p in phases if p["offered_per_s"]]
    above = [p for p in fixed if p["offered_per_s"] >= half]
    if above:
        return min(above, key=lambda p: p["offered_per_s"]), ""
    below = max(fixed, key=lambda p: p["offered_per_s"], default=None)
    return below, "; no phase offered that much: the highest below"


def sustained_targets(results: dict) -> list[tuple[str, float | None, float | None]]:
    """The sustained rate's target on each reading (``targets``): (reading,
    database transactions an application costs on it, half the transaction
    ceiling per that - None without a ceiling or a cost)."""
    cost = results["journey_cost"]
    tx = results.get("ceilings", {}).get("intake_transaction_per_s") or None
    durable = (cost.get("durable_commits_per_application") or {}).get("total")
    readings = [("commitTransaction per application (the issue's words)",
                 cost.get("commit_transactions_per_application")),
                ("durable commits per application (commitTransaction + each write "
                 "outside a transaction)", durable)]
    return [(reading, per_application,
             0.5 * tx / per_application if tx and per_application else None)
            for reading, per_application in readings]


def run_at_half(dinas: Dinas, stack: Stack, results: dict, seconds: float) -> None:
    """A phase offered exactly half each sustained target (``sustained_targets``)
    - "at half that sustained rate", where the issue's latency targets are
    set - unless a phase offered that much (up to 2 % more) already ran, or the
    system sustained no rate that high (then ``at_half`` takes the highest
    below, as before 2026-12-07's forty-eighth session, when only the
    ``--rates`` phases were there: the lowest of them at least half - 25/s
    for a half of 11.4/s)."""
    phases = results["phases"]
    sustained = max((p["offered_per_s"] for p in phases if clean(p)), default=0.0)
    for _, _, wanted in sustained_targets(results):
        if wanted is None:
            continue
        half = math.ceil(wanted / 2 * 10) / 10  # a tenth at most above: ``at_half`` takes it
        if half > sustained or any(p["offered_per_s"] and half <= p["offered_per_s"] <= 1.02 * half
                                   for p in phases):
            continue
        phases.append(run_phase(dinas, stack, f"open {half:g}/s (half the target)", half,
                                seconds))


def targets(results: dict) -> list[dict]:
    """The issue's targets (bench/README.md), each beside what this run
    measured and whether it was met. The sustained rate is the highest
    offered open-loop rate that ``clean`` finds sustained. Its target is
    half the transaction ceiling per database transaction an application
    costs, on two readings, each a row with its own verdict: the literal
    one (``commitTransaction`` commands in the journeys) and every durable
    commit (``smartdukcapil_db_commits_total``: commitTransaction plus each
    write outside a transaction, each one a commit the server makes
    durable). A verdict whose figure does not show what the target asks
    (the offered rate not really offered, a service's counters missing, the
    stations' cap hit) is "no" with the reason; one with no figure or no
    bound, "no data"."""
    ceilings, phases = results.get("ceilings", {}), results["phases"]
    closed, at_saturation, four = phases[-3], phases[-2], phases[-1]
    cost = results["journey_cost"]
    incomplete = cost.get("incomplete")
    tx = ceilings.get("intake_transaction_per_s") or None  # 0 or unmeasured: no bound
    sustained = max((p["offered_per_s"] for p in phases if clean(p)), default=0.0)
    rows = [("database commands per application <= 30", cost["total"], 30, False, incomplete)]
    halves = []
    for reading, per_application, wanted in sustained_targets(results):
        rows.append((f"sustained with no 503 >= 0.5 x {tx} tx/s / "
                     f"{'-' if per_application is None else f'{per_application:g}'} {reading}",
                     sustained, wanted, True, incomplete))
        halves.append((reading.split(" (")[0], wanted))
    chosen: dict[str, tuple[dict, list[str]]] = {}  # phase -> (its figures, why chosen)
    for reading, wanted in halves:
        half = (wanted or sustained) / 2
        near, note = at_half(phases[:-3], half)
        if near is not None:
            basis = f"half the target by {reading}" if wanted else "half the sustained rate"
            chosen.setdefault(near["phase"], (near, []))[1].append(
                f"{basis} = {half:.1f}/s{note}")
    for name, (near, why) in chosen.items():
        label = f"at half that ({name}: {' and '.join(why)})"
        rows += [(f"{label}: intake p99 <= 50 ms", near["intake_ms"]["p99"], 50, False,
                  shortfall(near)),
                 (f"{label}: submit -> notice p99 <= 2 s (station excluded)",
                  near["submit_to_notification_excluding_station"]["p99_s"], 2, False,
                  shortfall(near))]
    stations = results["stations"]
    rows.append((f"stations claim + report >= 50 jobs/s (first 95 % of {stations['queued']} "
                 f"jobs; all of them: {stations['claim_and_report_per_s_all']}/s)",
                 stations["claim_and_report_per_s"], 50, True,
                 f"the {stations['cap_s']:g} s cap was hit ({stations['jobs']} of "
                 f"{stations['queued']} printed)" if stations["capped"] else None))
    not_offered = shortfall(four)
    both = "; ".join(filter(None, (not_offered, shortfall(at_saturation))))
    four_journeys = four["submit_to_notification_excluding_station"]
    rows += [("4x saturation: goodput >= 0.9 x the closed loop's",
              four["accepted_per_s"], 0.9 * (closed["accepted_per_s"] or 0), True, not_offered),
             # the same, against the goodput of the open loop offered the saturation rate
             ("4x saturation: goodput >= 0.9 x the open loop's at the saturation rate",
              four["accepted_per_s"], 0.9 * (at_saturation["accepted_per_s"] or 0), True,
              both or None),
             ("4x saturation: non-503 5xx (submits and lookups) = 0", four["non_503_5xx"], 0,
              False, not_offered),
             ("4x saturation: submits failed otherwise (timeout, connection, 4xx) = 0",
              sum(n for code, n in four["submit_answers"].items() if code not in ("202", "503")
                  and not (code.isdigit() and int(code) >= 500)), 0, False, not_offered),
             ("4x saturation: lookup p99 (every lookup sent) <= 100 ms",
              four["lookup_ms"]["p99"], 100, False, not_offered),
             ("4x saturation: lookups refused (503/429) = 0", four["lookups_refused"], 0, False,
              not_offered),
             ("4x saturation: lookups failed (timeout, connection, 5xx, other) = 0",
              four["lookups_failed"], 0, False, not_offered),
             (f"4x saturation: of {four_journeys['sampled']} sampled 202s (of "
              f"{four_journeys.get('accepted', '?')}), never notified after the drain = 0",
              four_journeys["not_notified_after_drain"], 0, False, not_offered)]
    return target_rows(rows)


def cell(value, spec: str = "") -> str:
    """A table cell: ``value`` formatted, "-" for no data (None)."""
    return "-" if value is None else format(value, spec)


def report(results: dict) -> None:
    """The table, the lines below it and the targets (``results`` as
    ``main`` fills it; a ceiling of None or 0 gives "-" ratios)."""
    ceilings = results.get("ceilings", {})
    tx, http_ceiling = ceilings.get("intake_transaction_per_s"), \
        ceilings.get("bare_nameko_http_per_s")
    print()
    print(f"{'phase':<34}{'offered':>8}{'sent':>7}{'ontime':>7}{'accepted':>9}{'/http':>7}{'late':>6}"
          f"{'unsent':>7}{'p50':>7}{'p95':>7}{'p99':>7}{'e2e p50':>9}{'e2e p99':>9}"
          f"{'look p99':>9}{'refused':>8}{'lfail':>6}{'sfail':>6}{'5xx':>5}{'db/app':>8}")
    for p in results["phases"]:
        journeys = p["submit_to_notification_excluding_station"]
        db = p.get("db_commands_per_application", {})
        print(f"{p['phase']:<34}{cell(p['offered_per_s']):>8}{cell(p['sent_per_s']):>7}"
              f"{cell(p['sent_on_time_per_s']):>7}"
              f"{cell(p['accepted_per_s']):>9}"
              f"{cell(ratio(p['accepted_per_s'], http_ceiling)):>7}{p['late']:>6}"
              f"{p['not_sent']:>7}{cell(p['intake_ms']['p50']):>7}"
              f"{cell(p['intake_ms']['p95']):>7}{cell(p['intake_ms']['p99']):>7}"
              f"{cell(journeys['p50_s']):>9}{cell(journeys['p99_s']):>9}"
              f"{cell(p['lookup_ms']['p99']):>9}{p['lookups_refused']:>8}"
              f"{p['lookups_failed']:>6}{p['submits_failed']:>6}{p['non_503_5xx']:>5}"
              f"{cell(db.get('total')):>8}")
    print(f"(offered, sent, ontime (sent at most {LATE_S * 1000:.0f} ms late) and accepted are "
          f"submits a second of the schedule - each with as many lookups; late = requests (submits and lookups) sent more than "
          f"{LATE_S * 1000:.0f} ms after their planned time, unsent = not sent at all; "
          "latencies in ms from the planned send time: p50/p95/p99 of the 202 answers, look "
          "p99 of every lookup sent; e2e = submit -> notification with the station's own part "
          "excluded, in s, of a sample; /http = accepted / bare nameko HTTP ceiling; refused = "
          "lookups answered 503/429, lfail = lookups failed otherwise, sfail = submits neither "
          "202 nor 503; 5xx = non-503 5xx of submits and lookups; db/app = database commands "
          "per accepted application during the phase, all services, lookups and the "
          "benchmark's own polling included; - = no data)")
    for p in results["phases"]:
        if p.get("not_sustained_because"):
            print(f"  {p['phase']}: not sustained - {'; '.join(p['not_sustained_because'])}")
    sat = results["phases"][-3]
    print("database commands per application during the saturation phase (lookups and "
          f"polling included): {sat.get('db_commands_per_application')}")
    if "journey_cost" in results:
        cost = results["journey_cost"]
        print(f"the journeys: {cost['total']} database commands per application"
              f"{' - INCOMPLETE, ' + cost['incomplete'] if cost['incomplete'] else ''}; "
              f"{cost['commit_transactions_per_application']} commitTransaction, "
              f"{(cost['durable_commits_per_application'] or {}).get('total')} durable commits")
        print("CPU ms per application at 2/s (the journeys), by process: "
              f"{cost['cpu_ms_per_application']}")
    print(f"cores used while sending (saturation phase): {sat['cores_used_while_sending']}")
    stations = results["stations"]
    print(f"stations: {stations['stations']} claiming {stations['batch']} at a time -> "
          f"{stations['claim_and_report_per_s']} jobs/s claimed and reported to 95 % of "
          f"{stations['queued']}, {stations['claim_and_report_per_s_all']} to all of them"
          f"{' (CAPPED at %g s)' % stations['cap_s'] if stations['capped'] else ''}")
    print(f"ceilings: {ceilings}")
    for name, error in results.get("ceiling_errors", {}).items():
        print(f"ceiling {name} NOT MEASURED: {error}")
    print(f"saturation {results['saturation_per_s']}/s = "
          f"{cell(ratio(results['saturation_per_s'], tx))} x the transaction ceiling")
    print_targets(results["targets"])
    print("(HTTP intake against the bare nameko ceiling and the broker channel at 4x: "
          "bench/intake_bench.py)")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
