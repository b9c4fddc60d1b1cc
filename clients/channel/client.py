"""A small client for a front-end's back-end on Smartdukcapil's broker
channel (contract: docs/channel-api.md). Depends on pika only.

    client = ChannelClient("amqp://smartdukcapil-web:<password>@broker:5672/smartdukcapil", "web")
    reply = client.submit({"document_type": "ktp_el", "channel": "web", ...})
    if reply.status == 202:
        tracking_code = reply.body["tracking_code"]
    else:  # 400: reply.body["error"]["fields"] names each field
        ...

Each request is published with a publisher confirm (``publish`` returns once
the broker has it, durably), with a request id: publish the same id again
(after a timeout, a crash) and intake answers the same and stores once.
Replies come to this client alone (RabbitMQ's direct reply-to: the client
consumes ``amq.rabbitmq.reply-to`` and names it in ``reply_to``), matched on
``correlation_id``; replies to other requests of this client that arrive
meanwhile are kept for their own ``wait``. A client is not thread-safe
(pika's BlockingConnection is not): one client per thread, each getting
only its own replies.

A lost connection (a broker restart, an operator closing it) is replaced by
a new one: ``publish`` tries once more on it, and ``wait`` sends a request
whose reply went with the old connection again on the new one (the client
keeps each request's body while it is awaited; the same request id gets
the same answer). Only when the broker cannot be reached does a call raise
``ChannelUnavailable`` (its ``request_id``: publish it again later); the
next call tries again. A broker that refuses
the connection itself - a wrong user, password or virtual host - raises
``ChannelRefused`` (from ``ChannelClient(...)``, or from a call that had to
reconnect), naming which. Every exception ``publish``, ``wait`` or
``submit`` raises once the request id is known carries it as
``request_id``, and the client keeps nothing of a request whose call raised.

``publish`` honours a deadline (``timeout``; ``submit``'s covers its publish
and its wait): past it, no new connection is tried and ``ChannelUnavailable``
is raised. A publish waiting for its confirm on a connection the network
silently stopped carrying learns it from the heartbeat (``HEARTBEAT_SECONDS``
unless the URL sets ``heartbeat``: noticed within 15-30 s), so a call ends
within its timeout or, if that is shorter, within about 30 s.
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Callable, TypeVar

import pika
from pika.exceptions import (AMQPConnectionError, AMQPError, AuthenticationError, NackError,
                             ProbableAccessDeniedError, ProbableAuthenticationError,
                             UnroutableError)

# RabbitMQ's direct reply-to: a consumer of this name on the channel a
# request is published from gets the replies to that request, and no one else
DIRECT_REPLY_TO = "amq.rabbitmq.reply-to"

# the connection ended before it opened: the broker refused it - or not (a
# connection limit reached, the network cut mid-handshake): ``refusal``
HANDSHAKE_ENDED = (AuthenticationError, ProbableAuthenticationError, ProbableAccessDeniedError)
# a connection the broker blocks (a memory or disk alarm) is closed after
# this long when the URL sets no ``blocked_connection_timeout``: a publish
# waiting on its confirm then ends (``ChannelUnavailable``), not never
BLOCKED_CONNECTION_SECONDS = 60.0
# the heartbeat asked for when the URL sets none: pika notices a connection
# the network silently stopped carrying (a firewall dropping its packets)
# after one to two checks of heartbeat + 5 s - with the broker's 60 s, a
# publish waited ~140 s on its confirm (outside review)
HEARTBEAT_SECONDS = 10
# how long ``publish`` may take when the caller gives no timeout
PUBLISH_TIMEOUT_SECONDS = 30.0

T = TypeVar("T")


class ReplyTimeout(Exception):
    """No reply within the timeout: publish the same request id again later.
    The client forgets the request (its body, and a reply coming after):
    nothing is kept for a request nobody waits for."""


class RequestNotQueued(Exception):
    """The broker took the request into no queue (it routed it nowhere - the
    channel's exchange not bound to intake's request queue: a deploy step
    missing - or refused it): nothing was sent; publish the same request id
    again later."""


class ChannelUnavailable(Exception):
    """The broker cannot be reached (a new connection failed). A request
    this call published may have reached the broker (the connection lost
    before its confirm came): publish it again later with the same request
    id - ``request_id``, the one this call made if the caller gave none
    (None from a call that published nothing) - and intake answers the same
    and stores once."""

    request_id: str | None = None


class ChannelRefused(Exception):
    """The broker refused this client's connection: trying again will not
    help until the URL is corrected - or, if it worked before, until the
    Dinas' operators provision the channel's user again (a broker that lost
    its state lost its users too). ``cause``: ``credentials`` (a wrong user
    or password) or ``virtual_host`` (one that does not exist, or this user
    may not open). Never carries the password."""

    def __init__(self, cause: str):
        super().__init__({"credentials": "the broker refused the user or password",
                          "virtual_host": "the broker refused the virtual host (it does not "
                                          "exist, or this user may not open it)"}[cause])
        self.cause = cause


@dataclass(frozen=True)
class Reply:
    request_id: str
    status: int  # what HTTP would answer: 202, 400, 409, 503 ...
    body: dict   # the HTTP answer's body


# the languages intake answers in (``lang``: Bahasa Indonesia or English)
LANGUAGES = ("id", "en")


def exchange_name(channel: str) -> str:
    return f"intake.channel.{channel}"


def refusal(exc: Exception) -> str | None:
    """Why a connection that ended in its handshake was refused, from the
    broker's own words: ``credentials`` (403 ACCESS_REFUSED, or pika's
    explicit authentication error) or ``virtual_host`` (a vhost not found or
    not this user's); None when it was not refused - a connection limit
    reached, the network cut mid-handshake: the broker is unavailable for now
    (pika guesses from the handshake's stage alone, and called a reached
    limit a wrong virtual host)."""
    text = str(exc)
    if isinstance(exc, AuthenticationError) or "ACCESS_REFUSED" in text:
        return "credentials"
    if "vhost" in text:
        return "virtual_host"
    return None


class _ReturnedBodyWithheld(logging.Filter):
    """pika logs a message the broker returned (a request routed to no queue:
    ``RequestNotQueued``) with the first 255 bytes of its body at WARNING:
    an application - NIK, KK, name, phone. The body is withheld; the rest
    of the line stays."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and record.msg.startswith(
                "Published message was returned") and isinstance(record.args, tuple) \
                and record.args:
            record.args = (*record.args[:-1], "<withheld: personal data>")
        return True


logging.getLogger("pika.adapters.blocking_connection").addFilter(_ReturnedBodyWithheld())


class ChannelClient:
    def __init__(self, amqp_url: str, channel: str, lang: str = "id"):
        if lang not in LANGUAGES:  # audit B: "fr" was taken, and meant Bahasa
            raise ValueError(f"lang must be one of {', '.join(LANGUAGES)}")
        self.parameters = pika.URLParameters(amqp_url)
        if self.parameters.blocked_connection_timeout is None:
            self.parameters.blocked_connection_timeout = BLOCKED_CONNECTION_SECONDS
        if self.parameters.heartbeat is None:
            self.parameters.heartbeat = HEARTBEAT_SECONDS
        self.channel_name, self.lang = channel, lang
        self.replies: dict[str, Reply] = {}
        # request id -> (body, the connection it was last sent on), until answered
        self.pending: dict[str, tuple[bytes, int]] = {}
        self.awaited: set[str] = set()  # the request ids a ``wait`` is waiting for now
        self.connections = 0  # how many this client opened: the current one's number
        self._connect()

    def publish(self, application: dict, request_id: str | None = None,
                timeout: float = PUBLISH_TIMEOUT_SECONDS) -> str:
        """Publish one request; returns its id once the broker confirmed it
        into intake's request queue (``RequestNotQueued`` if it was not;
        ``ChannelUnavailable`` if the broker cannot be reached, or not
        within ``timeout`` seconds (module docstring: the bound);
        ``ChannelRefused`` if a new connection was refused; pika's
        ``ChannelClosedByBroker`` if it refuses this user the exchange).
        Whatever it raises carries ``request_id``: the request may have
        reached the broker - publish it again with that id."""
        if request_id is not None and (not isinstance(request_id, str) or not request_id):
            # "" was taken for "make one": each retry of it a new request
            raise ValueError("request_id must be a non-empty string (None: the client makes one)")
        request_id = request_id or str(uuid.uuid4())
        body = json.dumps(application).encode()
        # a reply kept from an earlier publish of this id (one that came
        # after its wait gave up, a 503 say) is not this one's answer
        self.replies.pop(request_id, None)
        with self._given_up_on_failure(request_id):
            self._on_a_connection(lambda: self._send(request_id, body),
                                  time.monotonic() + timeout)
        return request_id

    def wait(self, request_id: str, timeout: float = 30.0) -> Reply:
        """The reply to ``request_id``, or ``ReplyTimeout`` (``ChannelUnavailable``
        if the broker cannot be reached; ``RequestNotQueued`` if a request
        sent again on a new connection was not queued). Whatever it raises
        carries ``request_id``, and the client forgets the request: nothing
        is kept for a request nobody waits for."""
        deadline = time.monotonic() + timeout
        self.awaited.add(request_id)
        try:
            with self._given_up_on_failure(request_id):
                while request_id not in self.replies:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise ReplyTimeout(request_id)
                    self._on_a_connection(lambda: self._receive(request_id, min(left, 1.0)),
                                          deadline)
        finally:
            self.awaited.discard(request_id)
        self.pending.pop(request_id, None)
        return self.replies.pop(request_id)

    def submit(self, application: dict, request_id: str | None = None,
               timeout: float = 30.0) -> Reply:
        """``publish`` and ``wait``, both within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        request_id = self.publish(application, request_id, timeout)
        return self.wait(request_id, deadline - time.monotonic())

    def close(self) -> None:
        if self.connection.is_open:
            self.connection.close()

    @contextlib.contextmanager
    def _given_up_on_failure(self, request_id: str):
        """A call about ``request_id`` that raises: the exception names the
        request (outside review: only ``ChannelUnavailable`` from ``publish``
        did, so a caller who let the client make the id could not publish
        the same one again), and the client forgets it - its body (personal
        data) and any reply to it (``_on_reply`` takes none from then on)."""
        try:
            yield
        except BaseException as exc:
            self.pending.pop(request_id, None)
            self.replies.pop(request_id, None)
            if isinstance(exc, Exception):
                exc.request_id = request_id
            raise

    def _connect(self, deadline: float | None = None) -> None:
        """A new connection, consuming its direct reply-to before anything
        is published on it; its opening bounded by ``deadline`` (monotonic)."""
        parameters = self.parameters
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ChannelUnavailable("connection lost, and the call's timeout has passed")
            if left < parameters.stack_timeout:
                parameters = copy.copy(parameters)
                parameters.stack_timeout = left
        try:
            self.connection = pika.BlockingConnection(parameters)
            self.channel = self.connection.channel()
            self.channel.confirm_delivery()
            self.channel.basic_consume(DIRECT_REPLY_TO, self._on_reply, auto_ack=True)
        except HANDSHAKE_ENDED as exc:
            cause = refusal(exc)
            if cause is None:
                raise ChannelUnavailable(f"connection not opened: {exc!r}") from exc
            raise ChannelRefused(cause) from exc
        except AMQPConnectionError as exc:
            raise ChannelUnavailable(f"broker unreachable: {exc!r}") from exc
        self.connections += 1

    def _on_a_connection(self, act: Callable[[], T], deadline: float) -> T:
        """``act()`` on an open connection and channel; if it finds the
        connection lost, once more on a new one - none after ``deadline``
        (monotonic): ``ChannelUnavailable``."""
        for _ in range(2):
            if self.connection.is_closed or self.channel.is_closed:
                with contextlib.suppress(AMQPError):  # a channel the broker closed
                    self.close()
                self._connect(deadline)
            try:
                return act()
            except AMQPError as exc:
                if self.connection.is_open:  # the broker refused this, the connection is fine
                    raise
                lost = exc
        raise ChannelUnavailable(f"connection lost twice: {lost!r}") from lost

    def _send(self, request_id: str, body: bytes) -> None:
        """Publish, mandatory: without it the broker confirms a request it
        routed to no queue, and drops it. Pending from before the publish:
        its reply is awaited from then on."""
        self.pending[request_id] = (body, self.connections)
        try:
            self.channel.basic_publish(
                exchange_name(self.channel_name), "", body,
                pika.BasicProperties(content_type="application/json", delivery_mode=2,
                                     message_id=request_id, correlation_id=request_id,
                                     reply_to=DIRECT_REPLY_TO,
                                     headers={"accept-language": self.lang}),
                mandatory=True)
        except (UnroutableError, NackError) as exc:
            del self.pending[request_id]
            raise RequestNotQueued(request_id) from exc

    def _receive(self, request_id: str, seconds: float) -> None:
        """Replies for up to ``seconds``; first ``request_id`` again if it was
        sent on a connection since lost (its reply would have come there)."""
        body, sent_on = self.pending.get(request_id, (b"", self.connections))
        if sent_on != self.connections:
            self._send(request_id, body)
        self.connection.process_data_events(time_limit=seconds)

    def _on_reply(self, channel, method, properties, body) -> None:
        """Keep a reply for its ``wait``: only one to a request this client
        sent and has not been answered, or one a ``wait`` is waiting for. A reply comes at least once - intake
        redoes a request whose ack a crash lost, and answers it again - and
        one to a request answered already would be kept for ever (outside
        audit T4), then given to a later ``submit`` of the same id in place
        of its current status."""
        if properties.correlation_id not in self.pending and \
                properties.correlation_id not in self.awaited:
            return
        if properties.correlation_id in self.replies:  # a second answer: the first stands
            return
        answer = json.loads(body)
        self.replies[properties.correlation_id] = Reply(answer["request_id"], answer["status"],
                                                        answer["body"])
