"""Published events kept, and published again (``shared.outbox``,
``python -m deploy.replay``), against the real broker and database server,
on a virtual host of the test's own."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from shared.clock import utcnow
from shared.outbox import (KEEP_BUCKET_SECONDS, PUBLISHED, REPUBLISHED_HEADER, OutboxRelay,
                           kept_bucket, kept_buckets, kept_events, kept_row, keep_rows,
                           outbox_row)
from tests.conftest import drop_vhost, make_vhost
from tests.helpers import BrokerProbe, eventually

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def vhost_uri():
    vhost = make_vhost("replay")
    yield f"pyamqp://guest:guest@127.0.0.1:5672/{vhost}"
    drop_vhost(vhost)


@pytest.fixture
def database(mongo):
    name = f"replay_{uuid.uuid4().hex[:6]}"
    yield mongo[name]
    mongo.drop_database(name)


def event(n: int) -> dict:
    return {"event_id": f"e{n}-{uuid.uuid4().hex[:6]}", "n": n}


def received(probe: BrokerProbe, count: int) -> list[tuple[str, dict]]:
    seen: list = []
    eventually(lambda: seen.extend(probe.drain()) or len(seen) >= count,
               what=f"{count} event(s) published")
    return seen


def test_published_events_are_kept_once_and_published_again_in_order(vhost_uri, database):
    source = f"kept_{uuid.uuid4().hex[:6]}"
    relay = OutboxRelay(database.outbox, vhost_uri, source, {"KEEP_PUBLISHED_SECONDS": "7200"})
    relay.ensure_indexes()
    probe = BrokerProbe(vhost_uri, f"{source}.events")
    try:
        rows = [outbox_row("first_happened" if n < 2 else "then_happened", event(n),
                           claimed_by=relay.instance) for n in range(3)]
        database.outbox.insert_many(rows)
        relay.hand_over(rows)
        assert relay.publish_handed() == 3
        relay.delete_confirmed(now=True)
        assert database.outbox.count_documents({}) == 0
        kept = kept_events(database)
        assert [row["_id"] for row in kept] == [row["_id"] for row in rows]
        assert [row["payload"] for row in kept] == [row["payload"] for row in rows]
        # published again after a crash (its delete lost): kept once, as it was
        relay.keep([kept_row(rows[0], utcnow())])
        assert len(kept_events(database)) == 3
        assert [event["n"] for _, event in received(probe, 3)] == [0, 1, 2]

        since = kept[0]["published_at"] - datetime.timedelta(seconds=1)
        assert relay.republish_kept(since) == 3
        again = received(probe, 3)
        assert [(key, event["event_id"]) for key, event in again] == [
            (row["event_type"], row["_id"]) for row in rows]  # by their own ids, in order
        # marked as copies (shared.messaging.Republished), the first publish not
        assert [REPUBLISHED_HEADER in each for each in probe.headers] == [False] * 3 + [True] * 3
        assert relay.republish_kept(since, event_types={"then_happened"}) == 1
        assert [event["n"] for _, event in received(probe, 1)] == [2]
        assert relay.republish_kept(utcnow() + datetime.timedelta(seconds=1)) == 0
    finally:
        probe.close()


def test_kept_events_are_published_again_newest_ten_minutes_first_at_the_pace_set(
        vhost_uri, database):
    """Outside audit L2 (G4): an hour of kept events published again at
    once filled the queues behind intake, which refused citizens for 22 s;
    and oldest first, a pace would have brought the likeliest lost last."""
    source = f"kept_{uuid.uuid4().hex[:6]}"
    relay = OutboxRelay(database.outbox, vhost_uri, source, {"REPUBLISH_PER_SECOND": "20"})
    probe = BrokerProbe(vhost_uri, f"{source}.events")
    try:
        now = utcnow()
        ages = (25, 25, 12, 12, 0, 0)  # minutes: three buckets, two events each
        keep_rows(database, [
            kept_row(outbox_row("first_happened", event(n)),
                     now - datetime.timedelta(minutes=age, seconds=-n))
            for n, age in enumerate(ages)])
        started = time.monotonic()
        assert relay.republish_kept(now - datetime.timedelta(minutes=30)) == 6
        took = time.monotonic() - started
        assert [event["n"] for _, event in received(probe, 6)] == [4, 5, 2, 3, 0, 1]
        assert took >= 5 / 20, took  # six at 20 a second: the last 0.25 s after the first
        # given by hand (deploy.replay --per-second 0): no pace, the same order
        assert relay.republish_kept(now - datetime.timedelta(minutes=13), per_second=0) == 4
        assert [event["n"] for _, event in received(probe, 4)] == [4, 5, 2, 3]
    finally:
        probe.close()


def test_no_bucket_a_republish_still_reads_is_dropped_while_it_runs(vhost_uri, database):
    """A review (forty-fifth session): paced, an hour of kept events takes
    longer than the hour they are kept; the pruning (once a minute) dropped
    the oldest buckets - the retries waiting out their delays in the lost
    queues - before the republish reached them. Buckets after the start of
    a republish running in the process stay until it is done."""
    source = f"kept_{uuid.uuid4().hex[:6]}"
    relay = OutboxRelay(database.outbox, vhost_uri, source, {"REPUBLISH_PER_SECOND": "4"})
    probe = BrokerProbe(vhost_uri, f"{source}.events")
    try:
        now = utcnow()
        keep_rows(database, [kept_row(outbox_row("first_happened", event(n)),
                                      now - datetime.timedelta(minutes=age, seconds=-n))
                             for n, age in enumerate((45, 45, 0, 0, 0, 0))])
        republished = []
        running = threading.Thread(target=lambda: republished.append(
            relay.republish_kept(now - datetime.timedelta(minutes=50))))
        running.start()
        time.sleep(0.3)  # the newest bucket being published: the older one next
        later = now + datetime.timedelta(hours=2)  # every bucket past the keep by then
        assert relay.prune_kept(later) == 0
        running.join(timeout=30)
        assert republished == [6]
        assert sorted(event["n"] for _, event in received(probe, 6)) == list(range(6))
        assert relay.prune_kept(later) == 2  # done: they go
    finally:
        probe.close()

def test_kept_events_go_by_ten_minutes_and_each_ten_goes_whole_once_all_of_it_is_old(database):
    """Kept in a collection per ``KEEP_BUCKET_SECONDS``, dropped whole: the
    local server's TTL sweep read every document under its one lock, and
    deleted each at ~2 ms (a CI run's operator listing answered 503)."""
    relay = OutboxRelay(database.outbox, "pyamqp://guest:guest@127.0.0.1:9/", "kept",
                        {"KEEP_PUBLISHED_SECONDS": "3600"})
    start = datetime.datetime(2026, 12, 5, 1, 0, tzinfo=datetime.timezone.utc)
    times = [start, start + datetime.timedelta(minutes=9, seconds=59),
             start + datetime.timedelta(minutes=10), start + datetime.timedelta(minutes=25)]
    keep_rows(database, [kept_row(outbox_row("first_happened", event(n)), at)
                         for n, at in enumerate(times)])
    assert [name for _, _, name in kept_buckets(database)] == [
        "published_events.20261205T0100", "published_events.20261205T0110",
        "published_events.20261205T0120"] == [kept_bucket(at) for at in times[1:]]
    # an hour after 01:09:59 the first bucket's events are all older: it goes
    bucket = datetime.timedelta(seconds=KEEP_BUCKET_SECONDS)
    assert relay.prune_kept(start + bucket + datetime.timedelta(hours=1) -
                            datetime.timedelta(seconds=1)) == 0
    assert relay.prune_kept(start + bucket + datetime.timedelta(hours=1)) == 1
    assert [row["payload"]["n"] for row in kept_events(database)] == [2, 3]


def test_the_one_collection_of_an_install_from_before_the_buckets_goes_once_its_newest_is_old(
        database):
    """Before the buckets every kept event went to one ``published_events``
    collection: nothing reads it now, so it is dropped once the keep has
    passed over its newest event, not left for an operator to find."""
    relay = OutboxRelay(database.outbox, "pyamqp://guest:guest@127.0.0.1:9/", "kept",
                        {"KEEP_PUBLISHED_SECONDS": "3600"})
    newest = datetime.datetime(2026, 12, 5, 1, 0, tzinfo=datetime.timezone.utc)
    database[PUBLISHED].insert_many([
        kept_row(outbox_row("first_happened", event(n)), newest - datetime.timedelta(minutes=n))
        for n in range(3)])
    assert relay.prune_kept(newest + datetime.timedelta(minutes=59)) == 0
    assert database[PUBLISHED].count_documents({}) == 3
    assert relay.prune_kept(newest + datetime.timedelta(hours=1)) == 1
    assert PUBLISHED not in database.list_collection_names()


def test_confirmed_events_not_kept_yet_are_kept_before_they_are_published_again(
        vhost_uri, database):
    """Kept with the deletes, seconds after their confirm: the newest, the
    likeliest lost with a broker, would have been left out."""
    source = f"kept_{uuid.uuid4().hex[:6]}"
    relay = OutboxRelay(database.outbox, vhost_uri, source, {})
    probe = BrokerProbe(vhost_uri, f"{source}.events")
    try:
        row = outbox_row("first_happened", event(1), claimed_by=relay.instance)
        database.outbox.insert_one(row)
        relay.hand_over([row])
        assert relay.publish_handed() == 1
        assert kept_events(database) == []  # not deleted, not kept yet
        assert relay.republish_kept(utcnow() - datetime.timedelta(minutes=1)) == 1
        assert [event["event_id"] for _, event in received(probe, 2)] == [row["_id"]] * 2
    finally:
        probe.close()


def test_kept_events_no_queue_takes_are_one_line_per_event_type(vhost_uri, database, caplog):
    """A line each flooded the log when a consumer of thousands of kept
    events was not back yet; now one line per event type, with how many."""
    source = f"kept_{uuid.uuid4().hex[:6]}"
    relay = OutboxRelay(database.outbox, vhost_uri, source, {})
    probe = BrokerProbe(vhost_uri, f"{source}.events", routing_key="first_happened")
    try:
        now = utcnow()
        keep_rows(database, [kept_row(outbox_row("first_happened" if n % 10 == 0
                                                 else "then_happened", event(n)), now)
                             for n in range(30)])
        with caplog.at_level("ERROR", logger="shared.outbox"):
            assert relay.republish_kept(now - datetime.timedelta(seconds=1)) == 3
        assert [event["n"] for _, event in received(probe, 3)] == [0, 10, 20]
        [line] = [record.getMessage() for record in caplog.records
                  if record.name == "shared.outbox"]
        assert line.startswith("27 kept then_happened event(s) unroutable on "), line
        assert "deploy.replay" in line
    finally:
        probe.close()


def replay_command(vhost_uri: str, backing, database: str, *args: str,
                   extra: dict | None = None):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "AMQP_URI": vhost_uri,
           "MONGO_URI": backing.mongo_uri, "INTAKE_DATABASE": database, **(extra or {})}
    return subprocess.run([sys.executable, "-m", "deploy.replay", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_replay_command_publishes_a_service_s_kept_events_of_a_time_span_again(
        backing, vhost_uri, database):
    probe = BrokerProbe(vhost_uri, "intake.events")
    try:
        at = utcnow().replace(microsecond=0)
        old, new = event(1), event(2)
        keep_rows(database, [kept_row(outbox_row("application_verified", old), at),
                             kept_row(outbox_row("application_verified", new),
                                      at + datetime.timedelta(minutes=15))])
        done = replay_command(vhost_uri, backing, database.name, "intake", "--per-second", "5",
                              "--since", (at + datetime.timedelta(minutes=10)).isoformat())
        assert done.returncode == 0, done.stderr
        assert "intake: published again 1 kept event(s)" in done.stdout
        assert [event["event_id"] for _, event in received(probe, 1)] == [new["event_id"]]

        local = (at + datetime.timedelta(hours=7)).replace(tzinfo=None).isoformat()
        refused = replay_command(vhost_uri, backing, database.name, "--since", local)
        assert refused.returncode == 2 and "no time zone" in refused.stderr
        refused = replay_command(vhost_uri, backing, database.name, "intkae",
                                 "--since", at.isoformat())
        assert refused.returncode == 2 and "'intkae' is not a service" in refused.stderr
        refused = replay_command(vhost_uri, backing, database.name, "--per-second", "fast",
                                 "--since", at.isoformat())
        assert refused.returncode == 2 and "'fast' is not a whole number" in refused.stderr
        # every service on intake's server: the others' databases are not there
        elsewhere = replay_command(vhost_uri, backing, database.name, "intake", "courier",
                                   "--since", at.isoformat(),
                                   extra={"COURIER_DATABASE": f"none_{uuid.uuid4().hex[:6]}"})
        assert elsewhere.returncode == 1
        assert "intake: published again 2 kept event(s)" in elsewhere.stdout
        assert "courier: the server at" in elsewhere.stderr and "has no database" in \
            elsewhere.stderr and "MONGO_URI" in elsewhere.stderr
    finally:
        probe.close()
