"""Intake's broker channel for front-ends (docs/channel-api.md).

The back-ends of the citizens' front-ends inside the Dinas network (web
portal, mobile app, WhatsApp bot, kelurahan apps) publish application
requests to their own exchange ``intake.channel.<channel>`` with publisher
confirms; every channel exchange feeds one durable request queue, which
absorbs a peak: nothing a front-end published is refused, and intake takes
requests as fast as it can (prefetch bounded by the container's workers).

Each request is the body of ``POST /api/v1/applications`` (JSON), with the
AMQP properties ``message_id`` (the request id: the idempotency key, so the
same id twice stores once and answers the same), ``correlation_id`` and
``reply_to``. Intake runs the HTTP submit's own pipeline
(``submission.submit_application``) and publishes the answer - after the
commit - to the client that sent it (its RabbitMQ direct reply-to, when its
``reply_to`` is one) or else to the channel's reply queue
``intake.channel.<channel>.replies``, with the request's ``correlation_id``
(or, if it has none, its request id):
``{"request_id", "status", "body"}``, where status and body are what HTTP
would have answered (202 with the tracking code, 400 with the field errors,
413 for a body over ``MAX_BODY_BYTES``, checked before it is parsed, 415 for
one not declared ``application/json`` in UTF-8 or declared compressed, 400
naming a property sent as bytes that are not UTF-8 - none is sent when the
reply could not be matched (``ChannelRequest.unmatchable``); in the
language HTTP picks from the request's ``accept-language`` header, its name
in any case). Only then is the request acked: a crash in between redoes it,
and the request id makes that harmless.

Which channel a request came from is the exchange it was published to; the
broker lets each channel's user publish only there and read only its own
reply queue (``deploy/topology.py``), so a front-end cannot speak for
another, and a ``reply_to`` naming any queue (another channel's replies,
the request queue) is not followed.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Callable

from amqp.exceptions import IrrecoverableChannelError, IrrecoverableConnectionError
from kombu import Exchange, Queue, binding
from marshmallow import ValidationError, validates
from nameko.extensions import DependencyProvider
from nameko.messaging import Consumer
from werkzeug.http import parse_options_header

from shared import metrics
from shared.confirms import ConfirmedBatches, Outgoing
from shared.errors import DomainError, Msg, ValidationFailed
from shared.fields import schema
from shared.group_writes import Batches
from shared.http import (DEFAULT_MAX_BODY_BYTES, check_json_type, checked_key, identity_only,
                         internal_error_body, language_of, load_json, too_large,
                         unsupported_encoding)
from shared.messaging import HandingOnQueueConsumer, delivery_limit, undecoded
from shared.mongo import StoreWithOutbox
from shared.pipeline import Pipeline, PipelineGate, StoppedWaiting
from shared.settings import integer, require

from .exceptions import IdempotencyKeyReused
from .refusals import RegisterRefusals
from .register import PopulationRegister
from .screening import Screening
from .schemas import ApplicationRequestSchema
from .store import ApplicationStore
from .submission import accepted_body, submit_application

log = logging.getLogger(__name__)

CHANNELS = ("web", "app", "whatsapp", "kelurahan")
REQUEST_QUEUE = "intake.channel.requests"
# a request holds its place until its reply is confirmed and it is acked:
# longer than an HTTP submit holds its admission (ADMISSION_WRITES, 32), so
# more in work reach the same rate (bench/README.md, fiftieth session: 16
# replied 148 a second on average over five bursts, 48 replied 182)
DEFAULT_CHANNEL_PREFETCH = 48
# replies published together at most (``ChannelReplies``): as many as may be in work
MOST_REPLIES_PER_BATCH = 64


def channel_exchange(channel: str) -> Exchange:
    return Exchange(f"intake.channel.{channel}", type="fanout", durable=True)


def reply_queue_name(channel: str) -> str:
    return f"intake.channel.{channel}.replies"


# the names RabbitMQ gives a ``reply_to`` of ``amq.rabbitmq.reply-to``: a
# client's own consumer on the AMQP channel it published from
DIRECT_REPLY_TO_PREFIX = "amq.rabbitmq.reply-to."


def direct_reply_to(address: str | None) -> bool:
    """Whether ``address`` is a client's direct reply-to."""
    return bool(address) and address.startswith(DIRECT_REPLY_TO_PREFIX)


def reply_destination(channel: str, reply_to: str | None) -> str:
    """Where a request's answer goes: the client that sent it, when it asked
    for its direct reply-to (so each client of a channel gets its own
    replies), else the channel's reply queue - never a queue the request
    names (another channel's replies, the request queue)."""
    if direct_reply_to(reply_to):
        return reply_to
    return reply_queue_name(channel)


def request_queue() -> Queue:
    return Queue(REQUEST_QUEUE, bindings=[binding(channel_exchange(c)) for c in CHANNELS],
                 durable=True, auto_delete=False, queue_arguments={"x-queue-type": "quorum"})


def reply_queue(channel: str) -> Queue:
    return Queue(reply_queue_name(channel), durable=True, auto_delete=False,
                 queue_arguments={"x-queue-type": "quorum"})


@dataclass(frozen=True)
class ChannelRequest:
    channel: str  # from the exchange it came through: the broker vouches for it
    request_id: str | None
    correlation_id: str | None  # what its reply carries, for the client to match
    reply_to: str  # where its reply goes: reply_destination
    lang: str
    raw: bytes
    max_bytes: int  # the container's MAX_BODY_BYTES, as over HTTP
    content_type: str = "application/json"  # the content_type property
    content_encoding: str = ""  # the content_encoding property
    # how often the broker delivered it before (``x-delivery-count``, set by
    # a quorum queue on each requeue): ``IntakeChannel.reply``
    redeliveries: int = 0
    # the AMQP properties sent as bytes that are not UTF-8 (``undecoded``):
    # answered 400 naming them (``answer``); such a request id or reply_to is
    # taken as none
    unreadable: tuple[str, ...] = ()

    @classmethod
    def from_message(cls, message, max_bytes: int) -> "ChannelRequest":
        exchange = message.delivery_info.get("exchange", "")
        lang = language_of(header(message.headers or {}, "accept-language"))
        properties = message.properties
        unreadable = tuple(name for name, value in properties.items() if undecoded(value))
        request_id = properties.get("message_id")
        channel = exchange.rpartition(".")[2]
        return cls(channel, None if "message_id" in unreadable else request_id,
                   properties.get("correlation_id") or request_id,
                   reply_destination(channel, None if "reply_to" in unreadable
                                     else properties.get("reply_to")), lang,
                   message.body if isinstance(message.body, bytes) else message.body.encode(),
                   max_bytes, properties.get("content_type") or "",
                   properties.get("content_encoding") or "",
                   redeliveries_of(message.headers or {}), unreadable)

    def unmatchable(self) -> str | None:
        """The property a reply would be matched on, when it is not text (no
        client could match the reply): ``correlation_id``, or the
        ``message_id`` it falls back on; None when a reply can be matched."""
        if not undecoded(self.correlation_id):
            return None
        return "correlation_id" if "correlation_id" in self.unreadable else "message_id"


def redeliveries_of(headers: dict) -> int:
    count = headers.get("x-delivery-count")
    return count if isinstance(count, int) and not isinstance(count, bool) else 0


def header(headers: dict, name: str) -> str | None:
    """A header's value as text, its name in any case: AMQP's header names
    are case-sensitive, and a front-end may pass HTTP's spelling on. An AMQP
    byte string (what pika sends for a Python ``bytes`` value) is read as
    UTF-8: as ``str()``, ``b'en'`` was the text "b'en'" (outside audit S3)."""
    for key, value in headers.items():
        if key.lower() == name:
            if isinstance(value, (bytes, bytearray)):
                return bytes(value).decode("utf-8", "replace")
            return str(value)
    return None


def plain(content_encoding: str) -> bool:
    """A body not compressed: as HTTP's ``identity`` (or none), or the
    charset AMQP clients put in ``content_encoding`` (kombu: ``utf-8``)."""
    return identity_only(content_encoding) or \
        content_encoding.strip().lower() in ("utf-8", "utf8")


def mimetype(content_type: str) -> tuple[str, dict]:
    """A content type's media type (lower case; none given: empty) and its
    parameters, as werkzeug reads HTTP's ``Content-Type``: the charset is
    checked as over HTTP (``check_json_type``) - dropped, ``charset=utf-16``
    was taken on the channel and refused over HTTP (outside audit S3)."""
    media_type, params = parse_options_header(content_type)
    return media_type.lower(), params


def channel_key(channel: str, request_id: str) -> str:
    """A request id as stored, where HTTP's Idempotency-Keys are stored too:
    ids are per channel, and "§" cannot come in an HTTP key (printable ASCII),
    so neither can take the other's - as ``"<channel>:<id>"``, an HTTP
    ``Idempotency-Key: kelurahan:kel-row-0001`` took that channel's request:
    the channel's own was answered 409, and a caller who guessed the id and
    knew the NIK got the application's tracking code back."""
    return f"\u00a7channel:{channel}:{request_id}"


# what a reply names an AMQP property by, where it is not the property's name
PROPERTY_FIELDS = {"message_id": "request_id"}
NOT_TEXT = Msg("Properti AMQP ini bukan teks UTF-8 yang sah.",
               "This AMQP property is not valid UTF-8 text.")

WRONG_CHANNEL = Msg("Tidak sesuai dengan kanal pengirim permintaan.",
                    "Does not match the channel the request was sent on.")


class ChannelRequestSchema(ApplicationRequestSchema):
    """A citizen's application as HTTP takes it, whose ``channel`` is the
    one it was sent on (``sent_on``): named with the body's other field
    errors, so an integrator learns of all of them in one reply."""

    def __init__(self, *args, sent_on: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.sent_on = sent_on

    @validates("channel")
    def _the_channel_sent_on(self, value, **kwargs):
        if self.sent_on is not None and value != self.sent_on:
            raise ValidationError(WRONG_CHANNEL)


def answer(request: ChannelRequest, store,
           screening: Callable[[dict], Screening]) -> tuple[int, dict]:
    """What HTTP would answer the same body: (status, body); ``screening``:
    a loaded body's screening."""
    try:
        if request.unreadable:
            raise ValidationFailed({PROPERTY_FIELDS.get(name, name): [NOT_TEXT]
                                    for name in request.unreadable})
        if len(request.raw) > request.max_bytes:  # as HTTP: refused before it is parsed
            raise too_large(request.max_bytes)
        if request.raw:  # as HTTP: 415
            check_json_type(*mimetype(request.content_type))
        if request.raw and not plain(request.content_encoding):
            raise unsupported_encoding(request.content_encoding)
        key = checked_key(request.request_id, "request_id")
        if key is None:
            raise ValidationFailed({"request_id": [Msg("Wajib diisi (properti message_id).",
                                                       "Required (the message_id property).")]})
        body = load_json(request.raw, schema(ChannelRequestSchema, lang=request.lang,
                                             sent_on=request.channel))
        application = submit_application(store, screening(body), body,
                                         channel_key(request.channel, key))
        return 202, accepted_body(application)
    except DomainError as exc:
        if isinstance(exc, IdempotencyKeyReused):  # named as the channel sent it, not HTTP's header
            exc = IdempotencyKeyReused("request_id")
        return exc.status, exc.to_body(request.lang)


class ChannelQueueConsumer(HandingOnQueueConsumer):
    """The request queue's consumer: at most ``CHANNEL_PREFETCH`` requests in
    hand (and so in work) at once - bounded as HTTP's ``ADMISSION_WRITES``
    is, and above it (``DEFAULT_CHANNEL_PREFETCH`` says why); the rest wait
    in the queue. kombu decodes nothing: the worker checks a body's size
    before it parses it, and answers one that is not JSON 400, like HTTP."""

    decode = False

    @property
    def prefetch_count(self):
        return integer(self.container.config, "CHANNEL_PREFETCH", DEFAULT_CHANNEL_PREFETCH)


class ChannelRequests(Consumer):
    """Consumes the request queue; the worker gets a ``ChannelRequest``. The
    request is acked after the worker returned (i.e. after the reply was
    confirmed), and requeued if it raised (the reply could not be sent)."""

    queue_consumer = ChannelQueueConsumer()
    pipeline = Pipeline()  # the worker's PipelineGate's: told when the container stops

    def __init__(self, **kwargs):
        super().__init__(request_queue(), requeue_on_error=True,
                         expected_exceptions=StoppedWaiting, **kwargs)

    def stop(self):
        # a request waiting for the pipeline is requeued, not waited for
        self.pipeline.stop_waiting()
        super().stop()

    def setup(self):
        self.max_body_bytes = integer(self.container.config, "MAX_BODY_BYTES",
                                      DEFAULT_MAX_BODY_BYTES)
        self.part = ChannelPart()  # declared again on a reconnection (``HandingOnQueueConsumer``)
        super().setup()

    def handle_message(self, body, message):
        super().handle_message(ChannelRequest.from_message(message, self.max_body_bytes),
                               message)

    def unpack_message_headers(self, message) -> dict:
        """No context for the worker from a request's headers: they are a
        channel's, not nameko's (``ChannelRequest`` reads what it takes).
        Taken as nameko's, one named ``call_id_stack`` that was no list
        failed the worker outside its error handling and stopped intake -
        and the request, never acked, stopped the next start too (a review)."""
        return {}

    def topology_part(self, service_name: str, method_name: str, config: dict) -> "ChannelPart":
        return ChannelPart()


class ChannelPart:
    """The channels' part of the broker's topology: their exchanges, the
    request queue and the reply queues - declared again when intake gets a
    broker back (one that lost its state: kombu declares the request queue,
    not the replies') and by ``/health/ready`` when one is missing
    (``shared.messaging``). The channels' users are ``deploy.topology``'s
    (README, "A broker that lost its state")."""

    @staticmethod
    def declare(connection) -> None:
        with connection.channel() as channel:
            request_queue()(channel).declare()
            for name in CHANNELS:
                reply_queue(name)(channel).declare()

    @staticmethod
    def names() -> tuple[list[str], list[str]]:
        return ([channel_exchange(name).name for name in CHANNELS],
                [REQUEST_QUEUE, *map(reply_queue_name, CHANNELS)])


class ChannelReplies(DependencyProvider):
    """Publishes answers to the clients' direct reply-to or the channels'
    reply queues, persistent, each confirmed by the broker before ``send``
    returns. The replies of the moment go out together: the first worker to
    find none in flight publishes those waiting back to back on one channel
    in confirm mode and waits once for all their confirms
    (``shared.confirms``, ``shared.group_writes.Batches``). With nameko's
    ``Publisher`` each reply was a connection checkout, a producer and a
    confirm of its own (~0.25 ms of intake's CPU a reply; bench/README.md,
    fifty-first session)."""

    required_settings = ("AMQP_URI",)

    def setup(self):
        [amqp_uri] = require(self)
        self.batches = ConfirmedBatches(amqp_uri, exchange="")
        self.group = Batches(MOST_REPLIES_PER_BATCH)
        # deliveries of a request whose reply keeps failing (``IntakeChannel.reply``)
        self.attempts = delivery_limit(self.container.config)

    def stop(self):
        self.batches.close()

    def send(self, request: ChannelRequest, status: int, body: dict) -> None:
        """Publish the reply; raises when the broker did not take it (the
        request is then requeued: ``IntakeChannel.reply``)."""
        failed = self.group.join((request, reply_outgoing(request, status, body)),
                                 self._publish)
        if failed is not None:
            raise failed

    def _publish(self, replies: list[tuple[ChannelRequest, Outgoing]]) -> list:
        """One batch of replies: for each, None once the broker took it (or
        it was dropped: no reply queue, a reply-to the broker refuses), or
        the error to raise in its worker."""
        try:
            returned = self.batches.publish([outgoing for _, outgoing in replies])
        except (IrrecoverableConnectionError, IrrecoverableChannelError) as refused:
            if len(replies) > 1 and any(to_client(request) for request, _ in replies):
                # a direct reply-to the broker cannot deliver to - a forged
                # one, naming no node of it, ends the connection with 541
                # INTERNAL_ERROR - fails every reply beside it: each again alone
                return [failure for reply in replies for failure in self._publish([reply])]
            return [self._refused(request, refused) for request, _ in replies]
        except Exception as error:  # the broker away, a timeout, a nack: all retried
            return [error] * len(replies)
        for position in returned:  # no reply queue: the request id lets them ask again
            request = replies[position][0]
            log.error("no reply queue for channel %s: reply to request %s dropped",
                      request.channel, request.request_id)
        return [None] * len(replies)

    @staticmethod
    def _refused(request: ChannelRequest, refused: Exception) -> Exception | None:
        if not to_client(request):
            return refused
        # as a client gone (outside audit S3: requeued, the request came back
        # ~3 times a second for ever, the broker logging a crash report each time)
        log.warning("the broker refused the reply-to of request %s on channel %s (%s): "
                    "reply dropped; the same request id gets the answer again",
                    request.request_id, request.channel, type(refused).__name__)
        return None

    def get_dependency(self, worker_ctx):
        return self


def reply_outgoing(request: ChannelRequest, status: int, body: dict) -> Outgoing:
    """The reply to ``request`` as it is published: to its ``reply_to``
    through the default exchange, with its ``correlation_id``. RabbitMQ
    returns every mandatory publish to a direct reply-to as unroutable,
    delivered or not: that one is not mandatory, and one to a client gone is
    dropped (it publishes the same request id again and gets the same answer)."""
    return Outgoing(request.reply_to, {"request_id": request.request_id, "status": status,
                                       "body": body}, {},
                    {"correlation_id": request.correlation_id},
                    mandatory=not to_client(request))


def to_client(request: ChannelRequest) -> bool:
    """Whether a request's reply goes to its client's direct reply-to."""
    return direct_reply_to(request.reply_to)


channel_request = ChannelRequests.decorator


class IntakeChannel:
    name = "intake_channel"

    store = StoreWithOutbox(ApplicationStore, publishes_as="intake")
    register = PopulationRegister()
    register_refusals = RegisterRefusals()
    replies = ChannelReplies()
    pipeline = PipelineGate()

    def screening(self, body: dict) -> Screening:
        """A request's checks, as HTTP's, with its NIKs' and KKs' limits
        (``refusals``: the channel is one client for all its citizens)."""
        return Screening.of(self.register, self.store, self.register_refusals.of_channel(body))

    @channel_request
    def handle_request(self, request: ChannelRequest):
        # while printing and notification are too far behind, the request
        # waits (unacked) instead of adding to their queues (shared/pipeline.py)
        unmatchable = request.unmatchable()
        if unmatchable is not None:  # a reply nobody could match: none is sent
            log.error("dropped a request on channel %s from %s: its %s is not UTF-8 text, so "
                      "no reply to it could be matched", request.channel, REQUEST_QUEUE,
                      unmatchable)
            return
        self.pipeline.wait_until_caught_up()
        started = time.perf_counter()
        try:
            status, body = answer(request, self.store, self.screening)
        except Exception:  # a bug, not the request: answer as HTTP would (500)
            log.exception("unhandled error on channel %s", request.channel)
            status, body = 500, internal_error_body(request.lang)
        self.reply(request, status, body)
        metrics.observe_request(self.name, f"channel:{request.channel}", "AMQP", status,
                                time.perf_counter() - started)

    def reply(self, request: ChannelRequest, status: int, body: dict) -> None:
        """Answer, with a confirm; a reply that failed is retried with its
        request (requeued: the answer is stored, the same one is sent), but
        not past ``DELIVERY_LIMIT`` deliveries: then it is dropped - the
        client asks again with the same request id - rather than the request
        coming back for ever (whatever else fails on the reply path; outside
        audit S3)."""
        try:
            self.replies.send(request, status, body)
        except Exception:
            if request.redeliveries + 1 < self.replies.attempts:
                raise
            log.exception("reply to request %s on channel %s failed on its delivery %d: "
                          "dropped; the same request id gets the answer again",
                          request.request_id, request.channel, request.redeliveries + 1)
