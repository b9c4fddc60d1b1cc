"""The machine's ceilings the benchmarks set their figures against, measured
in the same run (``system_bench.py``, ``intake_bench.py``), and the issue's
targets as rows beside what a run measured.

* pika publish with a confirm per message (``bench_pika_confirm``);
* pymongo ``insert_one``, and the transaction intake performs per
  application - document + outbox row (``bench_mongo``);
* a bare nameko HTTP endpoint with no database (``bare_nameko_ceiling``),
  asked with the client the benchmark's citizens use, so the ratios to it
  compare like with like.
"""

from __future__ import annotations

import json
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


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


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


def bare_nameko_ceiling(clients: int, seconds: float, amqp_uri: str, session_factory) -> float:
    """Requests/s a nameko HTTP endpoint with no database answers here, to
    ``clients`` threads each on a ``session_factory()`` session."""
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
        for _ in range(100):
            try:
                requests.get(url, timeout=1)
                break
            except requests.RequestException:
                time.sleep(0.1)
        count, stop_at, lock = [0], time.monotonic() + seconds, threading.Lock()

        def client():
            session, done = session_factory(), 0
            while time.monotonic() < stop_at:
                done += session.get(url, timeout=10).status_code == 200
            with lock:
                count[0] += done

        elapsed = run_threads(client, clients)  # before reading the count it fills
        return count[0] / elapsed
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:  # nameko's graceful stop can hang on idle keep-alives
            process.kill()
            process.wait()


def target_rows(rows: list[tuple[str, float, float | None, bool]]) -> list[dict]:
    """(target, measured, bound, at_least) -> the JSON's ``targets``: each
    with its ratio to the bound and whether it was met (None: no bound)."""
    return [{"target": name, "measured": measured,
             "bound": None if bound is None else round(bound, 1),
             "ratio": round(measured / bound, 2) if bound else None,
             "met": None if bound is None else
             (measured >= bound if at_least else measured <= bound)}
            for name, measured, bound, at_least in rows]


def print_targets(targets: list[dict], width: int = 78) -> None:
    print(f"\n{'target':<{width}}{'measured':>10}{'bound':>8}{'ratio':>7}  met")
    for row in targets:
        met = "-" if row["met"] is None else "yes" if row["met"] else "no"
        bound = "-" if row["bound"] is None else row["bound"]
        ratio = "-" if row["ratio"] is None else row["ratio"]
        print(f"{row['target']:<{width}}{row['measured']:>10}{bound:>8}{ratio:>7}  {met}")
