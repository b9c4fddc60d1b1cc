"""The dead-letter tool shows operators what failed, never payload values."""

import subprocess
import sys
from pathlib import Path

import pytest
from pika import BasicProperties

from deploy import dlq
from deploy.registry import load_config
from shared.pipeline import queue_names


def test_dead_letter_description_shows_no_values_whatever_the_body():
    for body, fields in ((b'["3673045207900001"]', ["<json list>"]), (b"\xff\xfe", ["<not json>"]),
                         (b'"+6281234567890"', ["<json str>"]),
                         (b'{"event_id": "e1", "nik": "3673045207900001"}', ["event_id", "nik"])):
        described = dlq.describe(BasicProperties(headers={}), body)
        assert described["fields"] == fields
        assert "3673045207900001" not in str(described) and "81234567890" not in str(described)


def test_a_dead_letter_without_a_readable_body_is_named_by_its_header():
    """(Outside audit) a body that is no JSON object showed ``event_id:
    null`` although the outbox's ``event_id`` header named it; an id is
    masked as a log line is."""
    for body in (b"\xff\xfe", b'["x"]', b'{"event_id": 7}'):
        described = dlq.describe(BasicProperties(headers={"event_id": b"9f2c"}), body)
        assert described["event_id"] == "9f2c"
    described = dlq.describe(BasicProperties(headers={}), b'{"event_id": "3673045207900001"}')
    assert described["event_id"] == "3673********0001"
    assert dlq.describe(BasicProperties(headers={}), b"\xff")["event_id"] is None


def test_list_refuses_a_queue_or_a_limit_it_would_ignore():
    """(Outside audit) ``list <queue>`` listed every queue, silently."""
    for extra in (["evt-a--b.c"], ["--limit=3"]):
        done = subprocess.run([sys.executable, "-m", "deploy.dlq", "list", *extra, "--amqp-uri",
                               "pyamqp://guest:guest@127.0.0.1:1//"],
                              cwd=Path(__file__).parents[2], capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 2 and done.stdout == "", done
        assert "list takes no queue and no --limit" in done.stderr


def test_a_dead_letter_says_why_its_handler_gave_it_up_masked():
    headers = {"x-retry-attempt": 6, "x-replayed": 1,
               "x-smartdukcapil-last-error": "7 attempts failed (last: PosUnavailable: Pos "
                                             "timed out for +6281234567890)"}
    described = dlq.describe(BasicProperties(headers=headers), b'{"event_id": "e1"}', "q")
    assert described == {
        "event_id": "e1", "fields": ["event_id"], "attempts": 7,
        "last_error": "7 attempts failed (last: PosUnavailable: Pos timed out for +6281******890)",
        "reason": "rejected", "count": 2, "from_queue": "q"}
    # dead-lettered by the broker (the delivery limit): x-death says why
    deaths = {"x-death": [{"reason": "delivery_limit", "count": 1, "queue": "q"}]}
    described = dlq.describe(BasicProperties(headers=deaths), b'{"event_id": "e1"}', "q")
    assert (described["reason"], described["last_error"]) == ("delivery_limit", None)


def test_the_queues_intake_watches_before_admitting_are_declared_handler_queues():
    """intake's PIPELINE_QUEUES (shared/pipeline.py) name queues the topology
    declares: a renamed handler would otherwise be watched as an empty queue."""
    watched = queue_names(load_config("intake")["PIPELINE_QUEUES"])
    assert len(watched) == 8
    assert set(watched) <= set(dlq.all_handler_queues())


def test_show_and_replay_take_the_queue_as_list_prints_it_or_without_dlq():
    queue = "evt-intake-application_verified--printing.on_application_verified"
    assert dlq.handler_queue(queue) == queue
    assert dlq.handler_queue(f"{queue}.dlq") == queue


@pytest.mark.parametrize("limit", ["0", "-3", "two"])
@pytest.mark.parametrize("command", ["show", "replay"])
def test_a_limit_below_one_is_refused_not_read_as_unset(command, limit):
    """A review: ``show --limit 0`` showed 20 (``args.limit or 20``)."""
    done = subprocess.run([sys.executable, "-m", "deploy.dlq", command, "q", f"--limit={limit}",
                           "--amqp-uri", "pyamqp://guest:guest@127.0.0.1:1//"],
                          cwd=Path(__file__).parents[2], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert f"argument --limit: '{limit}' is not a whole number, at least 1" in done.stderr
    assert "Traceback" not in done.stderr
