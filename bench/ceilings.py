"""The machine's ceilings the benchmarks set their figures against, measured
in the same run (``system_bench.py``, ``intake_bench.py``), and the issue's
targets as rows beside what a run measured.

* pika publish with a confirm per message (``bench_pika_confirm``);
* pymongo ``insert_one``, and the transaction intake performs per
  application - document + outbox row (``bench_mongo``);
* a bare nameko HTTP endpoint with no database (``bare_nameko_ceiling``),
  asked with the client the benchmark's citizens use, so the ratios to it
  compare like with like.

A ceiling that cannot be measured is None (JSON null) with its reason
(``measure_ceilings``), never a silent 0; a target with no figure or no
bound says "no data" (``target_rows``).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pika
import requests
from pymongo import MongoClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from deploy.dlq import connect  # noqa: E402
from deploy.local.stack import free_port  # noqa: E402


def percentile(values: list[float], q: float) -> float | None:
    """The nearest-rank percentile: the smallest value at least ``q`` of the
    values do not exceed (rank ceil(q n), counted from 1); None for no values
    (JSON null: no data, not a figure)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = math.ceil(q * len(ordered)) - 1
    return ordered[max(0, min(len(ordered) - 1, rank))]


def rounded(value: float | None, digits: int = 1) -> float | None:
    """``round`` that passes None (no data) through."""
    return None if value is None else round(value, digits)


def run_threads(target, count: int) -> float:
    """Run ``target`` in ``count`` threads until all end; the seconds it took."""
    threads = [threading.Thread(target=target) for _ in range(count)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.monotonic() - started


def bench_pika_confirm(amqp_uri: str, count: int) -> float:
    """Messages/s one pika channel publishes with a confirm each."""
    connection = connect(amqp_uri)
    channel = connection.channel()
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    channel.queue_declare(queue, durable=True)
    channel.confirm_delivery()
    body = json.dumps({"event_id": uuid.uuid4().hex, "padding": "x" * 600}).encode()
    started = time.perf_counter()
    for _ in range(count):
        channel.basic_publish("", queue, body, pika.BasicProperties(delivery_mode=2))
    rate = count / (time.perf_counter() - started)
    channel.queue_delete(queue)
    connection.close()
    return rate


def bench_mongo(mongo_uri: str, clients: int, seconds: float,
                transaction: bool) -> tuple[float, dict]:
    """Inserts/s from ``clients`` threads (``transaction``: intake's
    document + outbox row in one transaction); and the outcomes counted,
    failures by exception name."""
    client = MongoClient(mongo_uri)
    db = client[f"bench_{uuid.uuid4().hex[:6]}"]
    db.docs.insert_one({"_id": "warm"})
    db.outbox.insert_one({"_id": "warm"})
    doc = {"applicant": {"nik": "3673041207900001", "full_name": "x" * 30}, "timeline": [{"s": 1}],
           "details": {"reason": "first_issue"}}
    outcomes, lock, stop_at = {}, threading.Lock(), time.monotonic() + seconds

    def insert() -> str:
        try:
            if transaction:
                with client.start_session() as session:
                    session.with_transaction(lambda s: (
                        db.docs.insert_one(dict(doc), session=s),
                        db.outbox.insert_one({"payload": {"e": 1}}, session=s)))
            else:
                db.docs.insert_one(dict(doc))
            return "ok"
        except Exception as exc:  # counted, not hidden
            return type(exc).__name__

    def writer():
        while time.monotonic() < stop_at:
            outcome = insert()
            with lock:
                outcomes[outcome] = outcomes.get(outcome, 0) + 1

    elapsed = run_threads(writer, clients)
    client.drop_database(db.name)
    client.close()
    return outcomes.get("ok", 0) / elapsed, outcomes


BARE_SERVICE = '''
from nameko.web.handlers import http

class Bare:
    name = "bare"

    @http("GET", "/ping")
    def ping(self, request):
        return "ok"
'''


class CeilingFailed(Exception):
    """A ceiling could not be measured (what failed, in its message)."""


def failure(exc: BaseException) -> str:
    """A request's outcome when it got no answer, or one not understood:
    ``error:`` and the exception's name - for ``light_http.RequestFailed``
    the name of what caused it (``error:TimeoutError``,
    ``error:ConnectionRefusedError``), for ``requests`` its own
    (``error:ReadTimeout``)."""
    if type(exc).__name__ == "RequestFailed" and exc.__cause__ is not None:
        exc = exc.__cause__
    return f"error:{type(exc).__name__}"


def retry_after(answer, default: float = 1.0) -> float:
    """An answer's ``Retry-After`` in seconds (``default`` when it has none,
    or one that is not a number of seconds)."""
    try:
        return float(answer.headers.get("Retry-After", default))
    except (TypeError, ValueError):
        return default


def bare_nameko_ceiling(clients: int, seconds: float, amqp_uri: str,
                        session_factory) -> tuple[float, dict]:
    """Requests/s a nameko HTTP endpoint with no database answers 200 here, to
    ``clients`` threads each on a ``session_factory()`` session; and every
    outcome counted (status, or ``failure``'s name: a request that raised is
    counted and its thread goes on). Raises ``CeilingFailed`` if the service
    never answered (or exited) before the clients would start."""
    workdir = Path(tempfile.mkdtemp(prefix="smartdukcapil-bare-"))
    (workdir / "bare_service.py").write_text(BARE_SERVICE)
    port = free_port()
    (workdir / "config.yaml").write_text(f"AMQP_URI: {amqp_uri}\nWEB_SERVER_ADDRESS: "
                                         f"127.0.0.1:{port}\nmax_workers: 10\n")
    process = subprocess.Popen([sys.executable, "-m", "nameko", "run", "--config", "config.yaml",
                                "bare_service"], cwd=workdir, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/ping"
    try:
        wait_for_answer(url, process)
        outcomes: dict[str, int] = {}
        stop_at, lock = time.monotonic() + seconds, threading.Lock()

        def client():
            session, mine = session_factory(), {}
            try:
                while time.monotonic() < stop_at:
                    try:
                        outcome = str(session.get(url, timeout=10).status_code)
                    except Exception as exc:  # counted; the thread goes on
                        outcome = failure(exc)
                    mine[outcome] = mine.get(outcome, 0) + 1
            finally:
                with lock:
                    for outcome, count in mine.items():
                        outcomes[outcome] = outcomes.get(outcome, 0) + count

        elapsed = run_threads(client, clients)  # before reading the counts they fill
        return outcomes.get("200", 0) / elapsed, outcomes
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:  # nameko's graceful stop can hang on idle keep-alives
            process.kill()
            process.wait()


def wait_for_answer(url: str, process: subprocess.Popen, tries: int = 100) -> None:
    """Until ``url`` answers at all; ``CeilingFailed`` when ``process`` exited
    first or it never did (``tries`` times, 1 s timeout, 0.1 s apart)."""
    for _ in range(tries):
        if process.poll() is not None:
            raise CeilingFailed(f"the bare nameko service exited ({process.returncode}) "
                                "before it answered")
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise CeilingFailed(f"the bare nameko service never answered {url} ({tries} tries)")


def measure_ceilings(plan: dict) -> tuple[dict, dict, dict]:
    """Each ceiling of ``plan`` (name -> a call returning its figure per
    second, or the figure and its outcomes), one after the other: the
    ceilings (rounded; None for one that raised), their outcomes, and why
    each None one failed (``Type: message``) - a run's other figures are
    kept when one ceiling cannot be had."""
    ceilings, outcomes, errors = {}, {}, {}
    for name, measure in plan.items():
        try:
            figure = measure()
        except Exception as exc:  # said in the report, not a 0 nor a lost run
            ceilings[name], errors[name] = None, f"{type(exc).__name__}: {exc}"
            continue
        if isinstance(figure, tuple):
            figure, outcomes[name] = figure
        ceilings[name] = round(figure, 1)
    return ceilings, outcomes, errors


def ratio(value: float | None, ceiling: float | None, digits: int = 2) -> float | None:
    """``value / ceiling``; None (no data) when either is missing or the ceiling is 0."""
    if value is None or not ceiling:
        return None
    return round(value / ceiling, digits)


def target_rows(rows: list[tuple]) -> list[dict]:
    """(target, measured, bound, at_least[, caveat]) -> the JSON's ``targets``:
    each with its ratio to the bound and whether it was met. ``met`` is None
    and ``verdict`` "no data" when the figure or the bound is missing (None);
    a ``caveat`` (why the figure does not show what the target asks: the
    offered rate not really offered, a service's counters missing, a cap hit)
    makes it not met whatever the figure, and the verdict says why."""
    made = []
    for name, measured, bound, at_least, *rest in rows:
        caveat = rest[0] if rest else None
        if measured is None or bound is None:
            met, verdict = None, "no data"
        else:
            met = measured >= bound if at_least else measured <= bound
            verdict = "yes" if met else "no"
        if caveat and met is None:
            verdict = f"no data: {caveat}"
        elif caveat:
            met, verdict = False, f"no: {caveat}"
        made.append({"target": name, "measured": measured,
                     "bound": None if bound is None else round(bound, 1),
                     "ratio": ratio(measured, bound), "met": met, "verdict": verdict})
    return made


def print_targets(targets: list[dict], width: int = 78) -> None:
    print(f"\n{'target':<{width}}{'measured':>10}{'bound':>8}{'ratio':>7}  met")
    for row in targets:
        measured, bound, ratio_ = (("-" if row[key] is None else row[key])
                                   for key in ("measured", "bound", "ratio"))
        print(f"{row['target']:<{width}}{measured:>10}{bound:>8}{ratio_:>7}  {row['verdict']}")
