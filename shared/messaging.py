"""The consuming half of the delivery pattern: reliable event handlers.

``reliable_event_handler`` is nameko's ``event_handler`` with these changes:

* **delayed retries.** A handler that raises does not get its message back at
  once (an outage of a few seconds would burn every attempt in milliseconds):
  the message is republished, with a publisher confirm, to the wait queue
  of that delay, ``smartdukcapil.wait.<ms>ms``, with the handler's queue as
  its routing key; it expires after the delay and is dead-lettered, by that
  routing key, straight back to the handler's queue; only then is the
  original acked. One wait queue per delay serves every handler (each wait
  queue is a quorum queue: a few per broker, not a few per handler). The
  delays grow along the service's ``RETRY_DELAYS`` (seconds); the attempt
  travels in the ``x-retry-attempt`` header. Plain RabbitMQ, no plugins:
  each wait queue has one fixed TTL, so nothing waits behind a longer delay.
  An error with a ``retry_after`` (seconds: a partner's ``Retry-After``)
  waits at least that long - the schedule's shortest delay that long, its
  longest if none is (only its delays have wait queues); the attempt counts
  one all the same (``retry_delay``).
  A crash between publish and ack duplicates, never loses (handlers are
  idempotent).
* **dead letters.** When the schedule is used up, or at once for a payload
  that can never succeed (``PermanentFailure``, or a marshmallow
  ``ValidationError``: it fails its schema - an envelope of another
  ``schema_version`` too), the message is rejected into the handler's own
  dead-letter queue ``<queue>.dlq`` (``deploy.dlq`` shows and replays it);
  the log names the failing fields, never their values. The handler queue is a quorum queue with ``x-delivery-limit``
  as well: a message that kills its consumer again and again (no handler
  code runs to count) is dead-lettered by the broker after that many
  deliveries.
* it is acked only after the handler returned, i.e. after its work is durable
  (nameko acks in ``handle_result``).
* every message is counted for Prometheus (``shared.metrics``): handled, or
  failed and then retried or dead-lettered.
* **a broker that lost its state** (wiped, rebuilt, a virtual host deleted
  and made again) gets the service's part of the topology back from the
  service itself: kombu declares a consumer's queue when it reconnects, but
  not its dead-letter queue, the dead-letter exchange or the wait queues -
  the first retry then found no ``smartdukcapil.wait.<ms>ms`` exchange, and
  the error (not one ``republish`` expected) ended the service with the
  message unacked (outside audit K). Now every reconnection declares each
  handler's whole part again (``ConsumerPart``), a republish the broker
  answers "no such exchange" declares it and tries once more, and
  ``/health/ready`` checks it is all there (``shared.http.BrokerCheck``). What only
  ``deploy.topology`` makes - the archive queues, the channel users - needs
  that command run again (README, "A broker that lost its state").

* **nothing one message carries ends the service**: bytes that are not
  UTF-8 in a property or the routing key read as text the entrypoint can
  tell (``tolerate_undecodable``), and what an entrypoint cannot take, or
  the consumer cannot read, is rejected or reconnected past instead of
  ending the container (``HandingOnQueueConsumer``; outside review).

Idempotency on the event id is the store's job (``BaseStore.consume_once``):
the broker delivers at least once. Settings come from the service's config,
read only through ``delivery_limit()`` and ``retry_delays()``, which the
topology command uses too, so handler and deploy declare queues alike.
"""

from __future__ import annotations

import inspect
import logging
import time
from dataclasses import dataclass
from functools import partial, wraps

import eventlet
from amqp import abstract_channel, serialization
from amqp.exceptions import AMQPError, NotFound, PreconditionFailed
from amqp.spec import Basic
from kombu import Connection, Exchange, Queue
from kombu.exceptions import OperationalError
from marshmallow import ValidationError
from nameko.amqp.publish import Publisher, UndeliverableMessage
from nameko.constants import PERSISTENT
from nameko.events import EventHandler, get_event_exchange
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR, DependencyProvider
from nameko.messaging import QueueConsumer

from . import metrics
from .errors import flatten_field_errors
from .logs import error_line
from .outbox import REPUBLISHED_HEADER
from .runtime import FrozenStartupHeap
from .settings import (InvalidSetting, NotReachable, integer, refuse_from_setup, require,
                       seconds, seconds_list)

log = logging.getLogger(__name__)

DEAD_LETTER_EXCHANGE = "smartdukcapil.dlx"
DEFAULT_DELIVERY_LIMIT = 5
# production: seconds to tens of minutes (about 42 minutes in all)
DEFAULT_RETRY_DELAYS = (1, 5, 30, 120, 600, 1800)
ATTEMPT_HEADER = "x-retry-attempt"
# on a dead letter: why its handler gave it up (``deploy.dlq show`` prints it)
LAST_ERROR_HEADER = "x-smartdukcapil-last-error"
# a consumer without its broker tries again after 1 s, then 2, 4, 5, 5 ... s:
# a connection attempt is cheap and logs nothing, and a longer wait is how
# long the pipeline stays idle after a broker's short restart (a 30 s cap
# held it ~30 s after a 6-s restart in `make run`)
RECONNECT_FIRST_SECONDS, RECONNECT_MAX_SECONDS = 1.0, 5.0
STOP_CHECK_SECONDS = 0.5  # how soon a consumer waiting to reconnect sees it is stopping


def delivery_limit(config: dict) -> int:
    """Redeliveries before the broker dead-letters a message: the service's
    ``DELIVERY_LIMIT``. Read here only, by the handlers and by the topology
    command, so the two always declare a queue alike."""
    return integer(config, "DELIVERY_LIMIT", DEFAULT_DELIVERY_LIMIT)


def retry_delays(config: dict) -> tuple[float, ...]:
    """The service's ``RETRY_DELAYS``: seconds to wait before each retry, as a
    YAML list or a comma-separated string."""
    return seconds_list(config, "RETRY_DELAYS", DEFAULT_RETRY_DELAYS)


def retry_delay(delays: tuple[float, ...], attempt: int, error: Exception) -> float:
    """The wait before retry ``attempt + 1``: the schedule's, unless the
    error's ``retry_after`` asks for longer - a partner rate-limiting us or
    down for a stated while is not called again sooner (an outage it named
    outlasted the first attempts). Only the schedule's delays have wait
    queues, so it is the shortest of them that long, or the longest."""
    wanted = max(delays[attempt], getattr(error, "retry_after", None) or 0)
    return min((delay for delay in delays if delay >= wanted), default=max(delays))


class PermanentFailure(Exception):
    """Retrying cannot help (bad payload): dead-letter the message now."""


def handler_queue_name(source_service: str, event_type: str, service: str, method: str) -> str:
    # nameko's SERVICE_POOL naming, kept so tools that know nameko still read it
    return f"evt-{source_service}-{event_type}--{service}.{method}"


def consumer_queue(name: str, exchange: Exchange, routing_key: str, delivery_limit: int) -> Queue:
    return Queue(
        name,
        exchange=exchange,
        routing_key=routing_key,
        durable=True,
        auto_delete=False,
        exclusive=False,
        queue_arguments={
            "x-queue-type": "quorum",
            "x-delivery-limit": delivery_limit,
            "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
            "x-dead-letter-routing-key": name,
        },
    )


def dead_letter_queue(name: str) -> Queue:
    return Queue(
        f"{name}.dlq",
        exchange=Exchange(DEAD_LETTER_EXCHANGE, type="direct", durable=True),
        routing_key=name,
        durable=True,
        auto_delete=False,
        queue_arguments={"x-queue-type": "quorum"},
    )


def wait_queue_name(delay: float) -> str:
    """The wait queue (and its fanout exchange) of one delay, shared by every
    handler: a message carries its handler queue as its routing key."""
    return f"smartdukcapil.wait.{int(delay * 1000)}ms"


def wait_queue(delay: float) -> Queue:
    """Holds a message ``delay`` seconds, then dead-letters it through the
    default exchange by the routing key it was published with - its handler's
    queue. At-least-once dead-lettering: the broker keeps the message until
    the handler queue has confirmed it."""
    name = wait_queue_name(delay)
    return Queue(
        name,
        exchange=Exchange(name, type="fanout", durable=True),
        durable=True,
        auto_delete=False,
        queue_arguments={
            "x-queue-type": "quorum",
            "x-message-ttl": int(delay * 1000),
            "x-dead-letter-exchange": "",
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
        },
    )


def declare_consumer(connection: Connection, queue: Queue, delays=()) -> None:
    """Declare a consumer queue, its dead-letter queue, the wait queues of its
    delays and their bindings. A queue the broker already has with other
    arguments - its ``x-delivery-limit`` declared under another
    ``DELIVERY_LIMIT`` - is refused in one line naming the setting
    (RabbitMQ never changes a queue's arguments: docs/settings.md)."""
    with connection.channel() as channel:
        queue.exchange.declare(channel=channel)
        dead_letter_queue(queue.name)(channel).declare()
        for delay in sorted(set(delays)):
            wait_queue(delay)(channel).declare()
        try:
            queue(channel).declare()
        except PreconditionFailed:
            raise InvalidSetting("DELIVERY_LIMIT", f"queue {queue.name} exists with other "
                                 "arguments, and RabbitMQ does not change them: keep the value "
                                 "it was declared with, or drain and delete the service's "
                                 "queues first (docs/settings.md)") from None


@dataclass(frozen=True)
class ConsumerPart:
    """A handler's part of the broker's topology: its queue, its dead-letter
    queue and the wait queues of its retry delays."""

    queue: Queue
    delays: tuple = ()

    def declare(self, connection: Connection) -> None:
        declare_consumer(connection, self.queue, self.delays)

    def names(self) -> tuple[list[str], list[str]]:
        """(exchanges, queues) it declares, by name: what ``missing_from``
        looks for."""
        waits = [wait_queue_name(delay) for delay in sorted(set(self.delays))]
        return ([self.queue.exchange.name, DEAD_LETTER_EXCHANGE, *waits],
                [self.queue.name, f"{self.queue.name}.dlq", *waits])


def topology_parts(service_cls, config: dict) -> list:
    """The parts of the broker's topology the entrypoints of ``service_cls``
    consume from (each entrypoint that has a ``topology_part``: its
    handlers', an intake channel's), with the service's settings - known
    from the class alone, before (or without) a container: the topology
    command declares them, and an HTTP container's readiness checks those
    of its service's event container."""
    parts = []
    for method_name, method in inspect.getmembers(service_cls, inspect.isfunction):
        for entrypoint in getattr(method, ENTRYPOINT_EXTENSIONS_ATTR, ()):
            if hasattr(entrypoint, "topology_part"):
                parts.append(entrypoint.topology_part(service_cls.name, method_name, config))
    return parts


def missing_from(connection: Connection, parts, depths: dict | None = None) -> str | None:
    """The first exchange or queue of ``parts`` the broker does not have
    (passive declares: nothing is made), or None. A passive declare of what
    is missing closes its channel, so the first one missing ends the look.
    ``depths``: given, it gets each queue's message count, as the declares
    answer it."""
    exchanges, queues = {}, {}
    for part in parts:
        owned_exchanges, owned_queues = part.names()
        exchanges.update(dict.fromkeys(owned_exchanges))
        queues.update(dict.fromkeys(owned_queues))
    with connection.channel() as channel:
        for name in exchanges:
            try:
                channel.exchange_declare(name, "direct", passive=True)
            except NotFound:
                return f"exchange {name}"
        for name in queues:
            try:
                declared = channel.queue_declare(name, passive=True)
            except NotFound:
                return f"queue {name}"
            if depths is not None:
                depths[name] = declared.message_count
    return None


def redeclare(parts, connection: Connection, service: str) -> bool:
    """Each part of the topology declared again on ``connection``; False
    (logged, one line) if the broker refused it."""
    try:
        for part in parts:
            part.declare(connection)
    except (AMQPError, OperationalError, OSError, InvalidSetting) as exc:
        log.error("%s could not declare its queues again (%s)", service, error_line(exc))
        return False
    return True


# after a broker lost its state: how long a service waits before it publishes
# its kept events again (the others reconnect within RECONNECT_MAX_SECONDS)
DEFAULT_REPUBLISH_AFTER_SECONDS = 30.0
# the services (``publishes_as``) whose kept events this process is about to
# publish again: a loss seen again meanwhile (by another container or path)
# is covered by that
_republishing: set[str] = set()


def republish_after(config: dict) -> float:
    """The service's ``REPUBLISH_AFTER_SECONDS``: read at setup by each
    extension that may find the broker lost its state."""
    return seconds(config, "REPUBLISH_AFTER_SECONDS", DEFAULT_REPUBLISH_AFTER_SECONDS)


def dead_letter_queue_missing(connection: Connection, parts) -> str | None:
    """The first handler dead-letter queue of ``parts`` the broker does not
    have, or None: the sign it lost its state. Only the service itself and
    ``deploy.topology`` declare a ``.dlq`` (kombu declares the handler queue
    on every reconnection, and the shared exchanges and wait queues come back
    with any service), so whichever of the service's paths declares them
    again looks first (``restore``): else the first to come would hide the
    loss from the others (outside audit L2: readiness declared them, then
    the consumer came back to a broker that had everything)."""
    class DeadLetterQueues:
        @staticmethod
        def names():
            return [], [f"{part.queue.name}.dlq" for part in parts
                        if isinstance(part, ConsumerPart)]
    return missing_from(connection, [DeadLetterQueues])


# a service that finds the broker lost its state tells the others, which
# publish again what they keep too: one that was away then (stopped, frozen)
# comes back after their own republish, to queues they could not reach
# (outside audit L2: 92 "ready" notices lost so). Broker plumbing, as the wait
# queues are, not a domain event: a fanout exchange and a queue per service,
# declared by its consumer on every connection
REPLAY_EXCHANGE = "smartdukcapil.replay"
REPLAY_REQUEST_TTL_MS = 10 * 60 * 1000  # a request older than this is left to expire


def replay_queue(service: str) -> Queue:
    return Queue(f"{REPLAY_EXCHANGE}.{service}",
                 exchange=Exchange(REPLAY_EXCHANGE, type="fanout", durable=True),
                 durable=True, auto_delete=False,
                 queue_arguments={"x-message-ttl": REPLAY_REQUEST_TTL_MS})


def ask_others(connection: Connection, service: str, missing: str) -> None:
    """Tell every service (``replay_queue``) that ``service`` found the broker
    without its queues; best effort (each looks for itself as well)."""
    try:
        with connection.channel() as channel:
            producer = connection.Producer(channel)
            producer.publish({"service": service, "missing": missing},
                             exchange=Exchange(REPLAY_EXCHANGE, type="fanout", durable=True),
                             declare=[Exchange(REPLAY_EXCHANGE, type="fanout", durable=True)],
                             serializer="json", delivery_mode=PERSISTENT)
    except (AMQPError, OperationalError, OSError) as exc:
        log.warning("%s could not ask the other services to publish their kept events "
                    "again (%s)", service, error_line(exc))


def restore(container, parts, connection: Connection, after: float) -> bool:
    """Declare ``parts`` again (``redeclare``) - and when a handler's
    dead-letter queue was missing, the broker lost its state: the service's
    kept events are published again ``after`` seconds later
    (``broker_lost_state``). False if the broker refused the declarations."""
    try:
        lost = dead_letter_queue_missing(connection, parts)
    except (AMQPError, OperationalError, OSError):  # lost again: the next look
        lost = None
    declared = redeclare(parts, connection, container.service_name)
    if lost is not None:
        broker_lost_state(container, f"it had no {lost}", after)
        ask_others(connection, container.service_name, lost)
    return declared


def broker_lost_state(container, why: str, after: float, asked: bool = False) -> None:
    """The broker came back without the service's handler queues (``why``;
    ``asked``: another service found it so): it lost its state, and with it
    what was in its queues - events not consumed yet, retries waiting out
    their delay, an event confirmed while the queues were being deleted. The
    events the service published and keeps (``shared.outbox``) are published
    again, ``after`` seconds later (time for the other services to get the
    broker back and declare their queues), once per loss in this process."""
    stores = [dependency for dependency in container.dependencies
              if hasattr(dependency, "republish_kept")
              and dependency.publishes_as not in _republishing]
    if asked and not stores:
        return  # on it already
    (log.warning if asked else log.error)(
        "%s: the broker lost its state (%s) and what was in its queues: publishing again in "
        "%gs the events the service keeps (docs/events.md)", container.service_name, why, after)
    if stores:
        _republishing.update(store.publishes_as for store in stores)
        container.spawn_managed_thread(partial(republish_later, stores, after),
                                       identifier="republish_kept")


def republish_later(stores, after: float) -> None:
    """In a managed thread: raising here would end the container, so a
    failure is a log line (``python -m deploy.replay`` does it by hand). A
    loss seen once this has begun is published again after it."""
    try:
        eventlet.sleep(after)
    finally:
        _republishing.difference_update(store.publishes_as for store in stores)
    for store in stores:
        try:
            log.warning("%s published %d kept events again", store.publishes_as,
                        store.republish_kept())
        except Exception as exc:
            log.error("%s could not publish its kept events again (%s): run python -m "
                      "deploy.replay", store.publishes_as, error_line(exc))


class _SurrogateEscaped(bytes):
    """A frame whose text fields decode bytes that are not UTF-8 as lone
    surrogates (``surrogateescape``) instead of raising (``tolerate_undecodable``)."""

    def __getitem__(self, key):
        item = super().__getitem__(key)
        return type(self)(item) if isinstance(key, slice) else item

    def decode(self, encoding="utf-8", errors="strict"):
        return super().decode(encoding, "surrogateescape")


def _tolerant(decode, frame_at: int):
    """``decode`` that, when a text field of the frame (argument ``frame_at``)
    is not UTF-8, decodes it again tolerantly; frames that decode cost nothing
    more."""
    @wraps(decode)
    def decoding(*args):
        try:
            return decode(*args)
        except UnicodeDecodeError:
            args = list(args)
            args[frame_at] = _SurrogateEscaped(args[frame_at])
            return decode(*args)
    decoding.tolerant = True
    return decoding


def tolerate_undecodable() -> None:
    """Make py-amqp read a message whose text fields are not UTF-8.

    py-amqp decodes every short-string property of a message (content_type,
    message_id, correlation_id, reply_to ...) and the routing key of its
    delivery as UTF-8, strictly, below kombu - so neither kombu's
    ``on_decode_error`` nor ``decode = False`` sees the error. One message
    published with ``message_id=b"\\xff"`` (any publisher to a queue: a
    channel's front-end) raised UnicodeDecodeError in the consumer, which
    ended the service's process; the message, never acked, ended it again at
    every start (outside review, CRITICAL). A content header that fails also
    leaves py-amqp's framing waiting for it, so the connection is lost too.

    With this, such a field reads as text with lone surrogates in place of
    the bytes that are not UTF-8 (``undecoded`` tells them), and the
    entrypoint decides: the broker channel answers 400 naming the property
    or drops the request, an event handler dead-letters what it cannot read.
    Installed once, for the whole process, at the two places py-amqp looks
    its decoders up: the Basic class's property decoder and the method
    arguments' (``loads``, as ``abstract_channel`` calls it). Header values
    need nothing: py-amqp hands one that is not UTF-8 over as bytes."""
    properties = serialization.PROPERTY_CLASSES
    if not getattr(properties[Basic.CLASS_ID], "tolerant", False):
        properties[Basic.CLASS_ID] = _tolerant(properties[Basic.CLASS_ID], 0)
    if not getattr(abstract_channel.loads, "tolerant", False):
        abstract_channel.loads = _tolerant(abstract_channel.loads, 1)


tolerate_undecodable()


def undecoded(value) -> bool:
    """Whether a property (or routing key) as py-amqp read it held bytes that
    are not UTF-8 text (``tolerate_undecodable``): it cannot be encoded back."""
    if not isinstance(value, str):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


@dataclass(frozen=True)
class Undecodable:
    """The body a ``HandingOnQueueConsumer`` hands its entrypoint for a
    message kombu could not decode."""

    error: str  # the decoding error's type: never its text, which may quote the body


class HandingOnQueueConsumer(QueueConsumer):
    """nameko's queue consumer, except:

    * a message kombu cannot decode reaches its entrypoint, with the body
      ``Undecodable``, to be dead-lettered or answered: nameko keeps kombu's
      ``ConsumerMixin.on_decode_error``, which logs the body (personal data)
      and acks the message away. With ``decode = False`` kombu decodes
      nothing: every message reaches the entrypoint with the body None, which
      reads ``message.body`` itself.
    * a lost broker connection is one warning line saying why, and getting it
      back one line; meanwhile attempts back off (1, 2, 4, 5 ... s). kombu's
      ``ConsumerMixin.run`` logs each failed attempt with its traceback and
      tries again a second later, forever (a refused vhost: ~55 lines a
      second per connection); ``consume``, which ``run`` calls for each
      connection, takes the errors first. kombu's own retries
      (``ensure_connection``) are off: they log on their own schedule, and
      never look up while they wait.
    * a container stopping while the broker is away stops: waiting, the
      consumer still runs ``on_iteration``, where nameko cancels the
      consumers of the entrypoints stopping - without a connection there is
      nothing to cancel on the broker - and ends the consumer after the last
      (kombu's retries never came back to it: SIGTERM waited for good).
    """

    decode = True
    connect_max_retries = 0  # a failed connect comes straight back to ``consume``
    lost_at: float | None = None  # when the connection was lost (monotonic); None: connected
    retry_in = 0.0
    connected_once = False

    def setup(self):
        super().setup()
        # read now: a value it cannot use refuses the start, not the reconnection
        self.republish_after = republish_after(self.container.config)

    def get_consumers(self, consumer_cls, channel):
        consumers = super().get_consumers(consumer_cls, channel)
        for consumer in consumers:
            consumer.on_decode_error = partial(self.undecodable, consumer)
            if not self.decode:
                consumer.on_message = partial(consumer.receive, None)
        return [*consumers, *self.replay_consumers(consumer_cls)]

    def replay_consumers(self, consumer_cls) -> list:
        """A container with event handlers and a store that keeps what it
        published also takes the other services' word that the broker lost
        its state (``ask_others``): its kept events are published again."""
        handlers = any(isinstance(getattr(provider, "part", None), ConsumerPart)
                       for provider in self._providers)
        stores = {dependency.publishes_as for dependency in self.container.dependencies
                  if hasattr(dependency, "republish_kept")}
        return [consumer_cls(queues=[replay_queue(service)], callbacks=[self.replay_asked],
                             accept=["json"]) for service in sorted(stores) if handlers]

    def replay_asked(self, body, message) -> None:
        message.ack()
        asker = str(body.get("service") if isinstance(body, dict) else None)[:64]
        broker_lost_state(self.container, f"{asker} found it without its queues",
                          self.republish_after, asked=True)

    @staticmethod
    def undecodable(consumer, message, exc):
        consumer.receive(Undecodable(type(exc).__name__), message)

    def handle_message(self, provider, body, message):
        """As nameko's (the entrypoint takes the message in a thread of the
        container's), except that a message the entrypoint cannot take -
        raising before its worker starts, where nameko ends the container -
        is rejected: dead-lettered where its queue has a dead-letter
        exchange (the handlers'), else dropped. A safety net, like the one
        in ``consume``: nothing one message carries ends the service
        (a header name that is not UTF-8, which py-amqp hands over as bytes,
        failed nameko's reading of the worker's context)."""
        self.container.spawn_managed_thread(partial(self.hand_on, provider, body, message),
                                            identifier=f"{type(provider).__name__}.handle_message")

    @staticmethod
    def hand_on(provider, body, message) -> None:
        try:
            provider.handle_message(body, message)
        except Exception as exc:
            log.error("rejected a message on %s its entrypoint could not take (%s): "
                      "dead-lettered, or dropped where the queue has no dead-letter exchange",
                      provider.queue.name, type(exc).__name__)
            try:
                message.reject(requeue=False)
            except (AMQPError, OSError):  # the connection went with it: delivered again
                pass

    def consume(self, *args, **kwargs):
        try:
            yield from super().consume(*args, **kwargs)
        except (OperationalError, *self.connection_errors, *self.channel_errors) as exc:
            # OperationalError: kombu's own, for a connect refused (its
            # retries are off), e.g. the broker down or restarting
            self.lost(exc)
        except Exception as exc:
            # a safety net: an error reading what the broker sent - one
            # message's frames py-amqp could not decode (``tolerate_undecodable``
            # covers what is known) - ended the service, and the message,
            # never acked, ended it again at every start. The connection is
            # given up (its framing may be left mid-message) and made again;
            # its type only: the text may quote the message
            why = f"could not read what it sent: {type(exc).__name__}"
            log.error("%s %s", self.container.service_name, why)
            self.lost(why)

    def lost(self, error: Exception | str) -> None:
        """No connection: say so once, then wait a while before ``run``
        tries again (each wait twice the last, up to ``RECONNECT_MAX_SECONDS``)."""
        if not isinstance(error, str):
            error = error_line(error)
        if self.lost_at is None:
            self.lost_at, self.retry_in = time.monotonic(), RECONNECT_FIRST_SECONDS
            log.warning("%s lost the broker (%s): reconnecting, at most every %ds",
                        self.container.service_name, error, RECONNECT_MAX_SECONDS)
        else:
            self.retry_in = min(self.retry_in * 2, RECONNECT_MAX_SECONDS)
            log.debug("%s still without the broker (%s): next attempt in %gs",
                      self.container.service_name, error, self.retry_in)
        resume_at = time.monotonic() + self.retry_in
        while not self.should_stop and time.monotonic() < resume_at:
            if self.connected_once:  # before that, nameko's stop() kills the consumer
                self.on_iteration()  # (and with no consumers yet it would end it at once)
            eventlet.sleep(min(STOP_CHECK_SECONDS, max(0.0, resume_at - time.monotonic())))

    def on_consume_ready(self, connection, channel, consumers, **kwargs):
        super().on_consume_ready(connection, channel, consumers, **kwargs)
        self.connected_once = True
        if self.lost_at is not None:
            service = self.container.service_name
            log.info("%s has the broker back (lost %ds ago)", service,
                     time.monotonic() - self.lost_at)
            self.lost_at = None
            # the broker may be another, or have lost its state: kombu has
            # declared the consumers' queues, not what stands around them
            restore(self.container, [provider.part for provider in self._providers
                                     if getattr(provider, "part", None) is not None],
                    connection, self.republish_after)


def event_label(event: dict, event_type: str) -> str:
    """What a log line says of an event: ``event <id> (<type>, application
    <tracking code>)`` - ids only (the body may be anything: each is cut
    short), never personal data."""
    def short(key: str) -> str | None:
        value = event.get(key)
        return str(value)[:64] if value not in (None, "") else None
    application = short("tracking_code") or short("application_id")
    about = f", application {application}" if application else ""
    return f"event {short('event_id') or '<no event_id>'} ({event_type}{about})"


def permanent_cause(error: Exception) -> str:
    """Why a message can never succeed, for the log: for a payload that fails
    its schema the fields that fail it - their names only, since a message
    may quote the value (a NIK, a phone) - else the error's line."""
    if isinstance(error, ValidationError):
        return f"{type(error).__name__}: {', '.join(sorted(flatten_field_errors(error.messages)))}"
    return error_line(error)


class ReliableEventHandler(EventHandler):
    required_settings = ("AMQP_URI",)
    runtime = FrozenStartupHeap()
    queue_consumer = HandingOnQueueConsumer()

    def __init__(self, source_service: str, event_type: str, **kwargs):
        kwargs["requeue_on_error"] = True
        super().__init__(source_service, event_type, **kwargs)

    def topology_part(self, service_name: str, method_name: str, config: dict) -> ConsumerPart:
        """This handler's part of the topology as service ``service_name``'s
        method ``method_name`` under ``config`` (``topology_parts``)."""
        return ConsumerPart(consumer_queue(
            handler_queue_name(self.source_service, self.event_type, service_name, method_name),
            get_event_exchange(self.source_service, config), self.event_type,
            delivery_limit(config)), retry_delays(config))

    def setup(self):
        super().setup()
        config = self.container.config
        self.part = self.topology_part(self.container.service_name, self.method_name, config)
        self.delays, self.queue = self.part.delays, self.part.queue
        self.republish_after = republish_after(config)
        [amqp_uri] = require(self)  # before connecting: kombu reads a blank one as guest@localhost
        self.amqp_uri = amqp_uri
        try:
            with Connection(amqp_uri) as connection:
                self.part.declare(connection)
        except (OperationalError, OSError) as exc:
            refuse_from_setup(self.container, NotReachable("the broker", "AMQP_URI", exc))
        except InvalidSetting as refused:  # a queue declared under another DELIVERY_LIMIT
            refuse_from_setup(self.container, refused)
        self.retry_publisher = Publisher(amqp_uri, use_confirms=True,
                                         delivery_mode=PERSISTENT, mandatory=True)

    def count(self, outcome: str) -> None:
        metrics.count_event(self.container.service_name, self.method_name, outcome)

    def handle_message(self, body, message):
        # every event is a JSON object (shared.events): nothing else reaches a handler
        if isinstance(body, dict):
            return super().handle_message(body, message)
        if isinstance(body, Undecodable):
            self.dead_letter(message, "a message", f"its body cannot be decoded ({body.error})")
        else:
            self.dead_letter(message, "a message",
                             f"its body is not a JSON object ({type(body).__name__})")

    def handle_message_processed(self, message, result=None, exc_info=None):
        if exc_info is None:
            self.count("handled")
            return super().handle_message_processed(message, result, exc_info)
        self.count("failed")
        error, event = exc_info[1], event_label(message.payload, self.event_type)
        attempt = int((message.headers or {}).get(ATTEMPT_HEADER, 0))
        if isinstance(error, (PermanentFailure, ValidationError)):
            self.dead_letter(message, event, f"it can never succeed ({permanent_cause(error)})")
        elif attempt >= len(self.delays):
            self.dead_letter(message, event,
                             f"{attempt + 1} attempts failed (last: {error_line(error)})")
        else:
            self.retry_later(message, event, attempt, error)

    def dead_letter(self, message, event: str, why: str) -> None:
        """Into ``<queue>.dlq``, ``why`` in its ``LAST_ERROR_HEADER`` for
        ``deploy.dlq show``: republished (with a confirm) through the
        dead-letter exchange, by the queue's name, then acked - a rejected
        message, which the broker dead-letters itself, cannot be given a
        header. Should that fail, it is rejected all the same. The log names
        the event by its ids, never the body."""
        log.error("dead-lettering %s on %s: %s", event, self.queue.name, why)
        if self.republish(message, DEAD_LETTER_EXCHANGE, {LAST_ERROR_HEADER: why}):
            self.queue_consumer.ack_message(message)
        else:
            message.reject(requeue=False)
        self.count("dead_lettered")

    def retry_later(self, message, event: str, attempt: int, error: Exception) -> None:
        delay = retry_delay(self.delays, attempt, error)
        if not self.republish(message, wait_queue_name(delay), {ATTEMPT_HEADER: attempt + 1}):
            # no wait queue (or no broker): hand the message back instead
            return super().handle_message_processed(message, None, (type(error), error, None))
        log.warning("retrying %s on %s in %gs (attempt %d of %d): %s", event, self.queue.name,
                    delay, attempt + 2, len(self.delays) + 1, error_line(error))
        self.queue_consumer.ack_message(message)
        self.count("retried")

    def republish(self, message, exchange: str, headers: dict) -> bool:
        """The message, with ``headers`` added, to ``exchange`` by the handler
        queue's name, confirmed; False if that failed (the log says so). An
        exchange the broker does not have (it lost its state) is declared
        again, with the rest of the handler's part, and the publish tried
        once more."""
        publish = partial(self.retry_publisher.publish, message.body, exchange=exchange,
                          routing_key=self.queue.name,
                          headers={**(message.headers or {}), **headers},
                          content_type=message.content_type,
                          content_encoding=message.content_encoding)
        try:
            try:
                publish()
            except NotFound:
                log.warning("the broker has no exchange %s (it lost its state?): declaring "
                            "the queues of %s again", exchange, self.queue.name)
                with Connection(self.amqp_uri) as connection:
                    if not restore(self.container, [self.part], connection,
                                   self.republish_after):
                        return self.republish_failed(exchange, "the declarations refused")
                publish()
        except (UndeliverableMessage, AMQPError, OSError, OperationalError) as exc:
            return self.republish_failed(exchange, type(exc).__name__)
        return True

    def republish_failed(self, exchange: str, why: str) -> bool:
        log.error("could not republish a message of %s to %s (%s)", self.queue.name, exchange,
                  why)
        return False


reliable_event_handler = ReliableEventHandler.decorator


class DeliveryAttempt(DependencyProvider):
    """In a ``reliable_event_handler``'s worker: whether this delivery of the
    event is the last the retry schedule gives (if the handler fails now,
    the message is dead-lettered). The attempt travels in the message's
    ``ATTEMPT_HEADER``, which nameko hands the worker as context data; a
    worker with none (a timer's, a first delivery) is not on its last."""

    def setup(self):
        self.last = len(retry_delays(self.container.config))

    def get_dependency(self, worker_ctx) -> bool:
        return int(worker_ctx.context_data.get(ATTEMPT_HEADER) or 0) >= self.last


class Republished(DependencyProvider):
    """In a ``reliable_event_handler``'s worker: whether this delivery is a
    copy its publisher published again from its kept events
    (``shared.outbox.OutboxRelay.republish_kept``: a broker lost its state)
    - most likely handled already, though it may be the first this consumer
    sees. The mark travels in the message's ``REPUBLISHED_HEADER`` (kept on
    its retries), which nameko hands the worker as context data."""

    def get_dependency(self, worker_ctx) -> bool:
        return bool(worker_ctx.context_data.get(REPUBLISHED_HEADER))
