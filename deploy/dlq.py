"""Dead-letter queues: see what failed, and replay it once the cause is fixed.

    python -m deploy.dlq list                          # every handler's DLQ depth
    python -m deploy.dlq show  <queue> [--limit 20]    # peek (messages stay)
    python -m deploy.dlq replay <queue> [--limit N]    # move back to <queue>

``<queue>`` is the handler queue (``evt-intake-application_verified--printing.on_application_verified``)
or its dead-letter queue as ``list`` prints it (the same name ending ``.dlq``):
either way the messages come from the ``.dlq`` and go back to the handler
queue. A queue the broker does not have is answered with one line on stderr
and exit status 1; so is a broker that refuses the connection, or does not
answer within ``--broker-wait`` seconds (60; ``deploy/broker.py``: the wait
is said on stderr meanwhile). Replay
republishes each message to the handler queue with a publisher confirm and
only then removes it from the DLQ, so a crash mid-way
duplicates at worst (handlers are idempotent) and never loses. ``show``
prints event ids (masked as in a log), the field names, why the handler gave the message up
(``last_error``: the error of its last attempt, masked, from the message's
``x-smartdukcapil-last-error`` header), the failure reason and count,
never payload values: they may hold personal data.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import pika
from pika.exceptions import AMQPConnectionError, ChannelClosedByBroker

from deploy.broker import add_broker_wait, patiently
from shared.masking import mask_text
from shared.messaging import ATTEMPT_HEADER, LAST_ERROR_HEADER, ConsumerPart, topology_parts


DLQ_SUFFIX = ".dlq"
SHOWN = 20  # what ``show`` shows unless given --limit


class UnknownQueue(Exception):
    """The broker has no queue of this name (a typo, or a handler since renamed)."""

    def __init__(self, queue: str):
        super().__init__(queue)
        self.queue = queue


def handler_queue(name: str) -> str:
    """The handler queue ``name`` stands for: given as is, or as ``list``
    prints its dead-letter queue."""
    return name[:-len(DLQ_SUFFIX)] if name.endswith(DLQ_SUFFIX) else name


def connect(amqp_uri: str) -> pika.BlockingConnection:
    uri = amqp_uri.replace("pyamqp://", "amqp://")
    if uri.endswith("//"):  # kombu's spelling of the default vhost
        uri = uri[:-1] + "%2F"
    return pika.BlockingConnection(pika.URLParameters(uri))


def depth(channel, queue: str) -> int:
    return channel.queue_declare(queue, passive=True).method.message_count


def existing_depth(channel, queue: str) -> int:
    """``depth``, or ``UnknownQueue`` when the broker answers 404 (the
    channel is closed then)."""
    try:
        return depth(channel, queue)
    except ChannelClosedByBroker as exc:
        if exc.reply_code == 404:
            raise UnknownQueue(queue) from None
        raise


def describe(properties, body: bytes, queue: str | None = None) -> dict:
    """What an operator may see of a dead letter of ``queue``: ids, field
    names, why it died — never payload values (personal data), whatever the
    body holds. Its handler dead-letters a message by republishing it with
    ``LAST_ERROR_HEADER`` (``shared.messaging``): it rejected the message,
    once more than it was replayed; the broker's own dead-lettering (the
    delivery limit) says so in ``x-death``."""
    headers = properties.headers or {}
    last_error = headers.get(LAST_ERROR_HEADER)
    if isinstance(last_error, bytes):
        last_error = last_error.decode("utf-8", "replace")
    if last_error is not None:
        death = {"reason": "rejected", "queue": queue, "count": headers.get("x-replayed", 0) + 1}
        last_error = mask_text(str(last_error))[:200]
    else:
        death = (headers.get("x-death") or [{}])[0]
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        payload = None
    if isinstance(payload, dict):
        fields = sorted(str(key)[:40] for key in payload)
    else:
        fields = ["<not json>"] if payload is None else [f"<json {type(payload).__name__}>"]
    return {"event_id": event_id_of(payload, headers), "fields": fields,
            "last_error": last_error,
            "reason": death.get("reason"), "count": death.get("count"),
            "from_queue": death.get("queue"), "attempts": headers.get(ATTEMPT_HEADER, 0) + 1}


def event_id_of(payload, headers: dict) -> str | None:
    """A dead letter's event id: its body's, else the ``event_id`` header
    every outbox publish carries (a body that is no JSON object still has
    it), masked as a log line is, at most 64 characters."""
    event_id = payload.get("event_id") if isinstance(payload, dict) else None
    if not isinstance(event_id, str):
        event_id = headers.get("event_id")
    if isinstance(event_id, bytes):
        event_id = event_id.decode("utf-8", "replace")
    return mask_text(event_id[:64]) if isinstance(event_id, str) else None


def peek(amqp_uri: str, queue: str, limit: int = SHOWN) -> list[dict]:
    """Up to ``limit`` dead-lettered messages, described; they stay in the DLQ.
    ``queue``: the handler queue or its DLQ; ``UnknownQueue`` if there is none."""
    queue = handler_queue(queue)
    connection = connect(amqp_uri)
    try:
        channel = connection.channel()
        existing_depth(channel, f"{queue}.dlq")
        channel.basic_qos(prefetch_count=limit)
        seen = []
        for _ in range(limit):
            method, properties, body = channel.basic_get(f"{queue}.dlq", auto_ack=False)
            if method is None:
                break
            seen.append(describe(properties, body, queue))
        if seen:  # back in the DLQ before this returns (a replay right after
            # counts them): the requeue, then a call the broker answers after it
            channel.basic_nack(delivery_tag=0, multiple=True, requeue=True)
            depth(channel, f"{queue}.dlq")
        return seen
    finally:
        connection.close()


# what the broker writes of a message's dead-lettering
BROKER_DEATH_HEADERS = ("x-death", "x-first-death-", "x-last-death-")


def replay(amqp_uri: str, queue: str, limit: int | None = None) -> int:
    """Move dead-lettered messages back to their handler queue; returns how many.

    Bounded by what the DLQ held when the replay began: a message that fails
    again and comes back meanwhile waits for the next replay instead of
    cycling forever. Each replayed message gets the full retry schedule again.
    ``queue``: the handler queue or its DLQ; ``UnknownQueue`` if either is missing.
    """
    queue = handler_queue(queue)
    connection = connect(amqp_uri)
    moved = 0
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        present = existing_depth(channel, f"{queue}.dlq")
        existing_depth(channel, queue)  # where the messages go back to
        limit = present if limit is None else min(limit, present)
        while moved < limit:
            method, properties, body = channel.basic_get(f"{queue}.dlq", auto_ack=False)
            if method is None:
                break
            # the broker's record of its dead-lettering goes: with its handler
            # queue in ``x-death`` (the delivery limit reached there), its
            # first retry's wait queue dead-lettering it back was taken for
            # a cycle, and the broker kept it for ever, in no queue (a review)
            headers = {name: value for name, value in (properties.headers or {}).items()
                       if not name.startswith(BROKER_DEATH_HEADERS)}
            headers["x-replayed"] = headers.get("x-replayed", 0) + 1
            headers.pop(ATTEMPT_HEADER, None)
            headers.pop(LAST_ERROR_HEADER, None)  # it has yet to fail again
            properties.headers = headers
            channel.basic_publish("", queue, body, properties, mandatory=True)
            channel.basic_ack(method.delivery_tag)
            moved += 1
    finally:
        connection.close()
    return moved


def all_handler_queues() -> list[str]:
    from deploy.registry import SERVICES, service_classes
    return [part.queue.name for name in SERVICES for service_cls in service_classes(name)
            for part in topology_parts(service_cls, {}) if isinstance(part, ConsumerPart)]


def depths(amqp_uri: str) -> tuple[list[tuple[int | str, str]], int]:
    """(every handler's DLQ depth or "-" with its name, how many are missing)."""
    connection, rows, missing = connect(amqp_uri), [], 0
    try:
        channel = connection.channel()
        for queue in all_handler_queues():
            try:
                shown = existing_depth(channel, queue + DLQ_SUFFIX)
            except UnknownQueue:  # the broker closed the channel that asked
                channel, shown, missing = connection.channel(), "-", missing + 1
            rows.append((shown, queue + DLQ_SUFFIX))
    finally:
        connection.close()
    return rows, missing


def at_least_one(text: str) -> int:
    """``--limit``: 0 is refused, not read as "unset" (``show --limit 0``
    showed 20, a review)."""
    if not text.strip().isdecimal() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number, at least 1")
    return int(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("list", "show", "replay"))
    parser.add_argument("queue", nargs="?")
    parser.add_argument("--limit", type=at_least_one, default=None, metavar="N",
                        help="show: how many (20 unless given); replay: at most how many "
                             "(all unless given)")
    parser.add_argument("--amqp-uri", default=os.environ.get(
        "AMQP_URI", "pyamqp://guest:guest@127.0.0.1:5672//"))
    add_broker_wait(parser)
    args = parser.parse_args()

    def with_the_broker(work, unfinished: str):  # each command may run again from its start
        return patiently(args.amqp_uri, work, "dlq", unfinished, wait=args.broker_wait,
                         unreachable=(AMQPConnectionError,))
    if args.command == "list":
        if args.queue or args.limit is not None:  # it lists every one, whole
            parser.error("list takes no queue and no --limit: it lists every handler's "
                         "dead-letter queue")
        rows, missing = with_the_broker(lambda: depths(args.amqp_uri), "nothing listed")
        for shown, name in rows:
            print(f"{shown:>6}  {name}")
        if missing:
            print(f"dlq: {missing} dead-letter queue(s) not declared on this broker (-): "
                  "python -m deploy.topology declares them", file=sys.stderr)
    elif not args.queue:
        parser.error("show and replay need the handler queue name")
    else:
        queue = handler_queue(args.queue)
        try:
            if args.command == "show":
                limit = SHOWN if args.limit is None else args.limit
                shown = with_the_broker(lambda: peek(args.amqp_uri, queue, limit),
                                        "nothing shown")
                for message in shown:
                    print(json.dumps(message))
            else:
                moved = with_the_broker(lambda: replay(args.amqp_uri, queue, args.limit),
                                        "nothing replayed")
                print(f"replayed {moved} message(s) to {queue}")
        except UnknownQueue as exc:
            parser.exit(1, f"dlq: the broker has no queue {exc.queue} "
                           "(python -m deploy.dlq list names every one)\n")

if __name__ == "__main__":
    main()
