"""The database command metrics' listener (shared/metrics.py) against the
real database server: what it holds per command stays bounded."""

import uuid

import eventlet
from prometheus_client import REGISTRY
from pymongo import MongoClient

from shared import metrics


def test_commands_a_killed_worker_never_saw_answered_are_not_kept_forever(backing, monkeypatch):
    """A command interrupted by a BaseException (a worker killed, an
    ``eventlet.Timeout``) gets no failed event from pymongo: its entry in
    ``waiting`` was kept for the life of the process, one per interrupted
    command. Now at most ``WAITING_MOST`` are kept."""
    monkeypatch.setattr(metrics, "WAITING_MOST", 5, raising=False)
    counter = metrics.CommandCounter("probe")
    client = MongoClient(backing.mongo_uri, event_listeners=[counter])
    name = f"metrics_{uuid.uuid4().hex[:8]}"
    try:
        client[name].c.insert_many([{"n": n, "pad": "x" * 200} for n in range(2000)])
        for _ in range(400):  # some interrupted while the server answers
            try:
                with eventlet.Timeout(0.002):
                    list(client[name].c.find({"n": {"$gte": 0}}))
            except eventlet.Timeout:
                pass
        print("commands waiting for an answer:", len(counter.waiting))
        assert len(counter.waiting) <= 5  # was one per interrupted command (13 of 400 here)
        client[name].c.find_one({})  # a command answered is counted and timed as before
        assert len(counter.waiting) <= 5
    finally:
        client.drop_database(name)
        client.close()


def test_a_scrape_while_the_service_stops_reads_no_backlog_and_warns_of_nothing(backing,
                                                                               caplog):
    """Outside audit P3: a clean stop logged "outbox backlog of intake_channel
    unknown (InvalidOperation: Cannot use MongoClient after close)" - a
    scrape, or the last report, after the client was closed."""
    client = MongoClient(backing.mongo_uri)
    service = f"probe_{uuid.uuid4().hex[:6]}"
    metrics.watch_outbox(service, client[service])
    assert REGISTRY.get_sample_value("smartdukcapil_outbox_backlog",
                                     {"service": metrics.service_of(service)}) == 0
    client.close()
    caplog.set_level("WARNING", logger="shared.metrics")
    assert REGISTRY.get_sample_value("smartdukcapil_outbox_backlog",
                                     {"service": metrics.service_of(service)}) == -1
    assert caplog.records == []
