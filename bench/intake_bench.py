"""Intake benchmark: accepted applications/s beside the machine's raw ceilings.

    .venv/bin/python bench/intake_bench.py [--seconds 20] [--clients 16]

Starts its own stack (SecantusDB on disk, intake as a real ``nameko run``
process), pushes POST /api/v1/applications from N concurrent clients, and in
the same run measures the raw ceilings the delivery pattern sits on:
pika publish with a confirm per message, pymongo insert_one, and the
transaction intake performs per application (document + outbox row).
Prints figures only; nothing is asserted (the machine is shared and noisy).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
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

from deploy.local.stack import Ports, Stack, ensure_rabbitmq, ensure_vhost  # noqa: E402
from deploy.dlq import connect  # noqa: E402
from tests.helpers import random_kk, random_mobile  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def run_clients(clients: int, seconds: float, work) -> tuple[list[float], dict]:
    """Run ``work(session)`` in a loop from N threads; returns latencies and outcome counts."""
    latencies, outcomes, lock = [], {}, threading.Lock()
    stop_at = time.monotonic() + seconds

    def client():
        session = requests.Session()
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            outcome = work(session)
            elapsed = time.perf_counter() - started
            with lock:
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
                if outcome in (202, "ok"):
                    latencies.append(elapsed)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, outcomes


def unique_niks():
    """Distinct valid NIKs (Kota Serang, Curug), so no request is a duplicate."""
    for serial in range(1, 10000):
        for day in range(1, 29):
            for month in range(1, 13):
                yield f"367304{day:02d}{month:02d}90{serial:04d}"


def bench_intake(stack: Stack, clients: int, seconds: float) -> dict:
    url = stack.url("intake") + "/api/v1/applications"
    niks, lock = unique_niks(), threading.Lock()

    def submit(session):
        with lock:
            nik = next(niks)
        body = {"document_type": "ktp_el", "channel": "web",
                "applicant": {"nik": nik, "kk_number": random_kk(),
                              "full_name": "Warga Bench", "phone": random_mobile()},
                "details": {"reason": "first_issue"}}
        try:
            return session.post(url, json=body, timeout=30).status_code
        except requests.RequestException as exc:
            return type(exc).__name__

    submit(requests.Session())  # warm up
    latencies, outcomes = run_clients(clients, seconds, submit)
    return {"accepted": outcomes.get(202, 0), "outcomes": outcomes, "latencies": latencies}


def outbox_drain_seconds(stack: Stack) -> float:
    client = MongoClient(stack.mongo_uri)
    started = time.monotonic()
    while client.intake.outbox.count_documents({}) and time.monotonic() - started < 120:
        time.sleep(0.05)
    client.close()
    return time.monotonic() - started


def bench_pika_confirm(amqp_uri: str, count: int) -> float:
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


def bench_mongo(mongo_uri: str, clients: int, seconds: float, transaction: bool) -> tuple[float, dict]:
    client = MongoClient(mongo_uri)
    db = client[f"bench_{uuid.uuid4().hex[:6]}"]
    db.docs.insert_one({"_id": "warm"})
    db.outbox.insert_one({"_id": "warm"})
    doc = {"applicant": {"nik": "3673041207900001", "full_name": "x" * 30}, "timeline": [{"s": 1}],
           "details": {"reason": "first_issue"}}

    def insert(_session):
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

    started = time.perf_counter()
    latencies, outcomes = run_clients(clients, seconds, insert)
    rate = outcomes.get("ok", 0) / (time.perf_counter() - started)
    client.drop_database(db.name)
    client.close()
    return rate, outcomes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--publishes", type=int, default=5000)
    args = parser.parse_args()

    ensure_rabbitmq()
    vhost = f"smartdukcapil_bench_{uuid.uuid4().hex[:6]}"
    amqp = f"pyamqp://guest:guest@127.0.0.1:5672/{vhost}" if ensure_vhost(vhost) \
        else "pyamqp://guest:guest@127.0.0.1:5672//"
    stack = Stack(Path(tempfile.mkdtemp(prefix="smartdukcapil-bench-")), ports=Ports.free(),
                  amqp_uri=amqp, mongo_uri=os.environ.get("MONGO_URI") or None)
    try:
        stack.start_backing()
        stack.start_services(["intake"])
        print(f"# {args.clients} clients, {args.seconds:.0f}s per step, "
              f"database {stack.mongo_uri}, {os.cpu_count()} cores", flush=True)

        intake = bench_intake(stack, args.clients, args.seconds)
        drain = outbox_drain_seconds(stack)
        pika_rate = bench_pika_confirm(stack.amqp_uri, args.publishes)
        insert_rate, insert_outcomes = bench_mongo(stack.mongo_uri, args.clients, args.seconds, False)
        tx_rate, tx_outcomes = bench_mongo(stack.mongo_uri, args.clients, args.seconds, True)
    finally:
        stack.stop()
        if vhost in amqp:
            os.system(f"rabbitmqctl delete_vhost {vhost} >/dev/null 2>&1")

    lat = [x * 1000 for x in intake["latencies"]]
    print(f"{'step':<52}{'rate/s':>10}{'p50 ms':>10}{'p99 ms':>10}")
    print(f"{'intake POST /applications -> 202 (16 clients)':<52}"
          f"{intake['accepted'] / args.seconds:>10.1f}{percentile(lat, .5):>10.1f}"
          f"{percentile(lat, .99):>10.1f}")
    print(f"{'  outcomes':<52}{json.dumps(intake['outcomes'])}")
    print(f"{'  outbox drained after load (s)':<52}{drain:>10.2f}")
    print(f"{'ceiling: pika publish, confirm per message':<52}{pika_rate:>10.1f}")
    print(f"{'ceiling: pymongo insert_one (16 threads)':<52}{insert_rate:>10.1f}   {insert_outcomes}")
    print(f"{'ceiling: pymongo txn doc+outbox (16 threads)':<52}{tx_rate:>10.1f}   {tx_outcomes}")


if __name__ == "__main__":
    main()
