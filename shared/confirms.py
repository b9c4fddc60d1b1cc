"""Publishing a batch of events with one wait for the broker's confirms.

nameko's ``Publisher`` waits for the broker's confirm of each message before
it sends the next, and builds a kombu connection, producer and retry wrapper
for each: 0.25 ms of the publishing process' CPU a message here, and 13 % of
intake's samples at saturation (bench/README.md, fiftieth session). A
``ConfirmedBatches`` keeps one channel in confirm mode and sends a batch's
messages back to back, then waits once until the broker has confirmed (or
returned) every one of them: 0.03 ms a message, and one round trip a batch.

What a batch promises is what ``Publisher.publish`` promised a message: when
``publish`` returns, the broker has taken every message of the batch, except
those it returned as unroutable (``mandatory``: no queue bound), whose
positions it gives back. A returned message is matched by its routing key
and body (the broker sends a message's ``basic.return`` before its confirm,
with the message as sent); of two alike, the first not yet matched.
Anything else - a nack, no confirm within ``CONFIRM_TIMEOUT_SECONDS``, the
connection or channel failing - raises, and the batch counts as not
published: the caller publishes it again (at-least-once; consumers
deduplicate on the event id). The connection is then dropped and the next
batch opens a new one. A connection that failed on its first message after
a quiet spell (the broker restarted meanwhile) is replaced once at once,
as nameko's retry did, rather than failing the batch.

Not thread-safe: one green thread publishes on one instance (the outbox
relay's own thread; a republish opens its own; the broker channel's replies
go through one ``shared.group_writes.Batches``, whose leader alone publishes).
"""

from __future__ import annotations

import collections
from typing import NamedTuple, Sequence

from amqp.exceptions import MessageNacked, RecoverableConnectionError
from kombu import Connection
from kombu.serialization import dumps
from nameko.constants import PERSISTENT

# the broker confirms a persistent message once it is on disk: milliseconds
# normally; past this the batch counts as not published (the caller's rows
# stay in the outbox, published again: consumers deduplicate)
CONFIRM_TIMEOUT_SECONDS = 10.0
CONNECT_TIMEOUT_SECONDS = 4.0
# how a connection that was open fails when the broker went away meanwhile:
# its socket gone, or closed by the broker (320 CONNECTION_FORCED, a
# restart). A timeout is not one of them (the broker is there, and slow),
# nor what the broker ends a connection with for what was sent on it (541
# for a direct reply-to naming no node of it, 530, 402): sent again on a new
# connection it fails again, and what went out before it in the batch went
# out twice more before its caller split the batch (a channel's reply
# arrived three times)
STALE = (OSError, RecoverableConnectionError)


def as_bytes(body) -> bytes:
    """A body as sent (JSON: UTF-8) or as given back (the client library
    decodes a returned message's body as its ``content_encoding`` says)."""
    return body.encode("utf-8") if isinstance(body, str) else bytes(body)


class Outgoing(NamedTuple):
    routing_key: str
    payload: dict
    headers: dict
    # further properties (a reply's ``correlation_id``)
    properties: dict = {}
    # returned when no queue takes it (its position in ``publish``'s answer);
    # False: dropped then (a client's direct reply-to, which RabbitMQ returns
    # even when it delivered: ``services.intake.channel``)
    mandatory: bool = True


class ConfirmedBatches:
    def __init__(self, amqp_uri: str, exchange: str,
                 confirm_timeout: float = CONFIRM_TIMEOUT_SECONDS):
        self.amqp_uri = amqp_uri
        self.exchange = exchange
        self.confirm_timeout = confirm_timeout
        self._connection: Connection | None = None
        self._channel = None
        self._returned: list[tuple] = []  # (routing key, body) of each returned
        self._unconfirmed: set[int] = set()  # delivery tags not confirmed yet
        self._nacked = False
        self._next_tag = 1

    def publish(self, messages: Sequence[Outgoing]) -> list[int]:
        """Publish ``messages`` in order, persistent, and wait until the
        broker confirmed each; the positions of those it returned as
        unroutable (mandatory ones). Raises when the batch was not taken whole."""
        if not messages:
            return []
        fresh = self._channel is None
        try:
            return self._publish(messages)
        except STALE as exc:
            if fresh or isinstance(exc, TimeoutError):
                raise
            return self._publish(messages)  # a connection gone stale: one new one

    def _publish(self, messages: Sequence[Outgoing]) -> list[int]:
        channel = self._open()
        positions: dict[tuple, collections.deque[int]] = {}
        self._returned.clear()
        self._nacked = False
        try:
            for position, message in enumerate(messages):
                content_type, encoding, body = dumps(message.payload, serializer="json")
                if message.mandatory:
                    positions.setdefault((message.routing_key, as_bytes(body)),
                                         collections.deque()).append(position)
                prepared = channel.prepare_message(body, 0, content_type, encoding,
                                                   message.headers,
                                                   {"delivery_mode": PERSISTENT,
                                                    **message.properties})
                self._unconfirmed.add(self._next_tag)
                self._next_tag += 1
                channel.basic_publish(prepared, exchange=self.exchange,
                                      routing_key=message.routing_key,
                                      mandatory=message.mandatory)
            self._wait_for_confirms()
        except BaseException:
            self.close()
            raise
        if self._nacked:
            raise MessageNacked("the broker refused a message of the batch (basic.nack)")
        return sorted(positions[returned].popleft() for returned in self._returned
                      if positions.get(returned))

    def _wait_for_confirms(self) -> None:
        connection = self._connection.connection
        while self._unconfirmed:
            connection.drain_events(timeout=self.confirm_timeout)

    def _open(self):
        if self._channel is None:
            connection = Connection(self.amqp_uri, connect_timeout=CONNECT_TIMEOUT_SECONDS)
            try:
                connection.connect()
                channel = connection.channel()
                channel.confirm_select()
            except BaseException:
                connection.release()
                raise
            channel.events["basic_ack"].add(self._on_ack)
            channel.events["basic_nack"].add(self._on_nack)
            channel.events["basic_return"].add(self._on_return)
            self._connection, self._channel = connection, channel
            self._unconfirmed.clear()
            self._next_tag = 1
        return self._channel

    def _on_ack(self, tag: int, multiple: bool) -> None:
        if multiple:
            self._unconfirmed = {left for left in self._unconfirmed if left > tag}
        else:
            self._unconfirmed.discard(tag)

    def _on_nack(self, tag: int, multiple: bool) -> None:
        self._nacked = True
        self._on_ack(tag, multiple)

    def _on_return(self, exc, exchange, routing_key, message) -> None:
        self._returned.append((routing_key, as_bytes(message.body)))

    def close(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None:
            try:
                connection.release()
            except Exception:  # already gone: nothing left to close
                pass
