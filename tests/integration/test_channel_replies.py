"""The broker channel's replies published together (``ChannelReplies``:
``shared.group_writes.Batches`` over ``shared.confirms``), against the real
broker:

* replies sent at once by many workers all arrive, each once, with its
  ``correlation_id``, persistent JSON - in fewer publishes than replies;
* a direct reply-to the broker refuses (a forged one ends the connection
  with 541) is dropped alone: the replies published beside it still arrive,
  and none of their workers fails;
* a reply to a queue that does not exist is dropped (the request id lets
  the client ask again); a broker out of reach fails every reply of the
  batch (their requests are requeued).
"""

from __future__ import annotations

import json
import threading
import time
import uuid

import pytest

from services.intake.channel import ChannelReplies, ChannelRequest, reply_outgoing
from shared.confirms import ConfirmedBatches
from shared.group_writes import Batches
from tests.helpers import connect

# a direct reply-to of the right form naming no node of this broker
FORGED_REPLY_TO = "amq.rabbitmq.reply-to.g1h2AA5yZXBseUAyODMzMzkxNwAAC7MAAAAAWg==.AAAA"


def replies_for(amqp_uri: str) -> ChannelReplies:
    """A ``ChannelReplies`` as its ``setup`` makes it, on ``amqp_uri``."""
    replies = ChannelReplies()
    replies.batches = ConfirmedBatches(amqp_uri, exchange="")
    replies.group = Batches(64)
    replies.attempts = 5
    return replies


def request(reply_to: str, n: int) -> ChannelRequest:
    return ChannelRequest("web", f"req-{n}", f"corr-{n}", reply_to, "id", b"{}", 1 << 20)


@pytest.fixture
def reply_queue(backing):
    connection = connect(backing.amqp_uri)
    channel = connection.channel()
    name = f"replies-{uuid.uuid4().hex[:8]}"
    channel.queue_declare(name, exclusive=True)

    def drained() -> list[tuple[str, dict, int]]:
        got = []
        while True:
            method, properties, body = channel.basic_get(name, auto_ack=True)
            if method is None:
                return got
            assert properties.content_type == "application/json"
            got.append((properties.correlation_id, json.loads(body), properties.delivery_mode))
    yield name, drained
    connection.close()


def test_replies_sent_at_once_arrive_each_once_in_fewer_publishes(backing, reply_queue):
    name, drained = reply_queue
    replies = replies_for(backing.amqp_uri)
    publishes = []
    publish = replies.batches.publish

    def publishing(messages):
        if not publishes:  # the first leader: until every other worker waits behind it
            deadline = time.monotonic() + 10
            while len(replies.group._waiting) < 39 and time.monotonic() < deadline:
                time.sleep(0.005)
        publishes.append(len(messages))
        return publish(messages)
    replies.batches.publish = publishing
    start, errors = threading.Barrier(40), []

    def worker(n: int) -> None:
        start.wait()
        try:
            replies.send(request(name, n), 202, {"tracking_code": f"SDK{n}"})
        except Exception as exc:  # any failure is the test's
            errors.append(exc)
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(40)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        replies.stop()
    assert errors == []
    got = drained()
    assert sorted(corr for corr, _, _ in got) == sorted(f"corr-{n}" for n in range(40))
    assert all(body == {"request_id": corr.replace("corr", "req"), "status": 202,
                        "body": {"tracking_code": "SDK" + corr.split("-")[1]}}
               and mode == 2 for corr, body, mode in got)
    assert sum(publishes) == 40 and publishes[1:] == [39], publishes


def test_a_refused_direct_reply_to_is_dropped_alone(backing, reply_queue, caplog):
    name, drained = reply_queue
    replies = replies_for(backing.amqp_uri)
    try:
        outcomes = replies._publish([outgoing(request(name, 1), 1),
                                     outgoing(request(FORGED_REPLY_TO, 2), 2),
                                     outgoing(request(name, 3), 3)])
        # and the next batch goes through on a new connection
        assert replies._publish([outgoing(request(name, 4), 4)]) == [None]
    finally:
        replies.stop()
    assert outcomes == [None, None, None]
    corrs = [corr for corr, _, _ in drained()]
    # the batch the forged reply-to failed may have delivered some before it:
    # a reply comes at least once (docs/channel-api.md), and each came
    assert {"corr-1", "corr-3", "corr-4"} == set(corrs) and corrs.count("corr-4") == 1
    assert "the broker refused the reply-to of request req-2" in caplog.text


def test_a_refused_direct_reply_to_on_an_open_connection_is_not_sent_again_first(
        backing, reply_queue):
    """The connection open from an earlier batch, the 541 was taken for a
    connection gone stale and the whole batch sent again before it was
    split: the reply before the forged one arrived three times. Now the
    batch is split at once: twice at most (the failed batch, then alone)."""
    name, drained = reply_queue
    replies = replies_for(backing.amqp_uri)
    try:
        assert replies._publish([outgoing(request(name, 0), 0)]) == [None]  # opens it
        outcomes = replies._publish([outgoing(request(name, 1), 1),
                                     outgoing(request(FORGED_REPLY_TO, 2), 2),
                                     outgoing(request(name, 3), 3)])
    finally:
        replies.stop()
    assert outcomes == [None, None, None]
    corrs = [corr for corr, _, _ in drained()]
    assert {"corr-0", "corr-1", "corr-3"} == set(corrs)
    assert 1 <= corrs.count("corr-1") <= 2 and corrs.count("corr-0") == 1, corrs


def test_a_reply_to_no_queue_is_dropped_and_a_broker_away_fails_them_all(backing, reply_queue,
                                                                         caplog):
    name, drained = reply_queue
    replies = replies_for(backing.amqp_uri)
    try:
        missing = request(f"no-such-queue-{uuid.uuid4().hex[:6]}", 1)
        assert replies._publish([outgoing(missing, 1),
                                 outgoing(request(name, 2), 2)]) == [None, None]
        assert "no reply queue for channel web: reply to request req-1 dropped" in caplog.text
        assert [corr for corr, _, _ in drained()] == ["corr-2"]
    finally:
        replies.stop()
    away = replies_for("pyamqp://guest:guest@127.0.0.1:1//")
    outcomes = away._publish([outgoing(request(name, n), n) for n in (5, 6)])
    assert len(outcomes) == 2 and all(isinstance(outcome, OSError) for outcome in outcomes)
    with pytest.raises(OSError):
        away.send(request(name, 7), 202, {})
    away.stop()


def outgoing(req: ChannelRequest, n: int):
    """What ``ChannelReplies.send`` publishes for ``req``."""
    return req, reply_outgoing(req, 202, {"n": n})
