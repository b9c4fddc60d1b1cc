"""The deploy tools' way to the broker: wait for a slow one, refuse in one line.

A broker under load can take longer than kombu's 5 s to finish the AMQP
handshake, and one just started refuses connections for a few seconds: a
deploy step that gave up at the first try failed ``make run`` with a
traceback, and a second run worked (outside review). So a tool's work is
tried again, with back-off, for ``DEFAULT_BROKER_WAIT_SECONDS``, each try
first reaching the broker the way a service does before it starts
(``shared.settings.reach_the_broker``, a 10 s connect timeout). The wait
is said on stderr when the first try fails, and every ``PROGRESS_SECONDS``
after: a minute of silence could not be told from a hang. What is left
after that is one line naming the broker by host and port - never the
URI, which carries the password - and exit status 1. A broker that answers
and refuses the virtual host or the credentials is named at once: that does
not get better by waiting.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from typing import Callable, TypeVar
from urllib.parse import urlsplit

from amqp.exceptions import AccessRefused, NotAllowed, RecoverableConnectionError
from kombu.exceptions import OperationalError

from shared.settings import BrokerRefused, NotReachable, reach_the_broker

# long enough for a broker being started (RabbitMQ takes 5-20 s to accept
# connections) or loaded; short enough that a wrong AMQP_URI is told in a minute
DEFAULT_BROKER_WAIT_SECONDS = 60.0
# a handshake under load took longer than kombu's default 5 s (outside review);
# the services wait as long (``reach_the_broker``)
CONNECT_TIMEOUT_SECONDS = 10
FIRST_PAUSE_SECONDS, MAX_PAUSE_SECONDS = 1.0, 10.0
# a wait is said again no sooner than this: a line per try would bury the
# one line that counts, the failure at the end
PROGRESS_SECONDS = 10.0
# what a broker that is not there (yet), or too slow, makes a client raise
UNREACHABLE = (NotReachable, OperationalError, OSError, RecoverableConnectionError)

LOCAL_BROKER_PORT = 5672  # where a broker the local stack starts listens

Result = TypeVar("Result")


def broker_address(amqp_uri: str) -> tuple[str, int]:
    """(host, port) of the broker ``amqp_uri`` names."""
    parts = urlsplit(amqp_uri)
    return parts.hostname or "127.0.0.1", parts.port or (5671 if parts.scheme == "amqps"
                                                         else LOCAL_BROKER_PORT)


def patiently(amqp_uri: str, work: Callable[[], Result], tool: str, unfinished: str,
              wait: float = DEFAULT_BROKER_WAIT_SECONDS,
              unreachable: tuple[type[BaseException], ...] = ()) -> Result:
    """``work()``'s result, once the broker answers; tried again (each pause
    twice the last, up to ``MAX_PAUSE_SECONDS``) while the broker does not
    answer, for ``wait`` seconds. ``SystemExit`` with one line, ``tool`` and
    ``unfinished`` (what was not done) in it, when it still does not, or
    at once when it refuses the connection. ``work`` must be safe to run
    again from the start (declares, a replay bounded by what is there);
    ``unreachable``: what else its client raises for a broker gone (pika's)."""
    broker = "the broker at {}:{} (AMQP_URI)".format(*broker_address(amqp_uri))
    deadline = time.monotonic() + wait
    pause = FIRST_PAUSE_SECONDS
    said_at = None  # when the wait was last said
    while True:
        try:
            reach_the_broker({"AMQP_URI": amqp_uri})
            return work()
        except (BrokerRefused, NotAllowed, AccessRefused) as refused:
            raise SystemExit(f"{tool}: {broker} refuses the connection: {refused.reply_text} "
                             f"(check AMQP_URI's user, password and virtual host); "
                             f"{unfinished}") from None
        except UNREACHABLE + unreachable as exc:
            # NotReachable is raised from None: what the client met is its context
            met = type((exc.__context__ if isinstance(exc, NotReachable) else exc) or exc)
            now = time.monotonic()
            left = deadline - now
            if left <= 0:
                raise SystemExit(f"{tool}: {broker} does not answer ({met.__name__}; tried for "
                                 f"{wait:g}s); {unfinished}") from None
            if said_at is None:
                print(f"{tool}: {broker} does not answer ({met.__name__}): trying again for up "
                      f"to {wait:g}s", file=sys.stderr, flush=True)
                said_at = now
            elif now - said_at >= PROGRESS_SECONDS:
                print(f"{tool}: {broker} still does not answer ({met.__name__}): {left:.0f}s "
                      "left", file=sys.stderr, flush=True)
                said_at = now
        time.sleep(min(pause, left))  # the last try at the deadline
        pause = min(pause * 2, MAX_PAUSE_SECONDS)


def wait_seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not math.isfinite(seconds) or seconds < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds, 0 or more")
    return seconds


def add_broker_wait(parser: argparse.ArgumentParser) -> None:
    """A tool's ``--broker-wait SECONDS`` (``patiently``'s ``wait``)."""
    parser.add_argument("--broker-wait", type=wait_seconds, default=DEFAULT_BROKER_WAIT_SECONDS,
                        metavar="SECONDS",
                        help="how long to try again while the broker does not answer (default "
                             f"{DEFAULT_BROKER_WAIT_SECONDS:g}; 0: once)")
