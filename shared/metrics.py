"""Prometheus metrics of every service (prometheus-client), one registry per process.

Recorded where every service already passes, so no service code counts;
``service`` is the service on every metric (``service_of``: ``intake``, never
``intake_api``), ``container`` the nameko container where two of a service
record the same metric:
* HTTP (``shared.http.ApiHandler``): ``smartdukcapil_http_requests_total``
  and the latency histogram ``smartdukcapil_http_request_seconds``, by
  service, container, endpoint (the route, not the URL: no ids in label values),
  method (``METHODS``, any other ``other``: never a client's own string)
  and status - refusals at admission included;
* events (``shared.messaging.ReliableEventHandler``):
  ``smartdukcapil_events_total`` by service, handler and outcome - handled,
  failed (the handler raised), retried (sent to a wait queue),
  dead_lettered;
* database (``shared.mongo.StoreWithOutbox``): ``smartdukcapil_db_commands_total``
  by service, command name and collection (a pymongo command listener: every
  round trip; the collection is empty for commands on none, e.g. commitTransaction),
  and the seconds they took, answer included (``smartdukcapil_db_command_seconds_total``,
  same labels: with the server idle, where its time goes; busy, queueing too);
  and by service the durable commits (``smartdukcapil_db_commits_total``):
  each ``commitTransaction``, plus each write command - insert, update,
  delete, findAndModify - sent outside a transaction (no ``autocommit:
  false`` in the command), which the server commits on its own;
* outbox (``shared.mongo.StoreWithOutbox``): ``smartdukcapil_outbox_backlog``,
  the rows not yet published (or published within the last few seconds: the
  relay deletes them together, ``shared.outbox``), read when scraped from the collection's
  metadata count (no scan; and nothing at all between scrapes), plus the documents still
  carrying events (``shared.outbox``: carried events);
* stations (printing's claims): ``smartdukcapil_station_silent`` by
  station and place, 1 while a station away from the Dinas is silent
  (``services.printing.stations``: the Dinas' stations print its jobs);
* dead letters (``shared.http.BrokerCheck``): ``smartdukcapil_dead_letters``
  by service and queue, the messages in each of its handlers' ``.dlq`` as its
  latest readiness check found them;
* pipeline (``shared.pipeline``): ``smartdukcapil_pipeline_backlog`` by
  service and container (intake's API and its broker channel each watch), the
  messages waiting in the handler queues intake watches before it admits a
  new application (-1 while the broker does not answer).

``GET /metrics`` (``shared.http.HealthCheck``) exposes them on the service's
own HTTP port. A ``nameko run`` hosts a service's API and event containers in
one process, so one scrape shows both.
"""

from __future__ import annotations

import logging

import pymongo
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from pymongo import monitoring

from .outbox import carrying

log = logging.getLogger(__name__)

HTTP_REQUESTS = Counter("smartdukcapil_http_requests", "HTTP requests answered",
                        ["service", "container", "endpoint", "method", "status"])
HTTP_SECONDS = Histogram("smartdukcapil_http_request_seconds",
                         "Time from admission to the answer, refusals included",
                         ["service", "container", "endpoint", "method", "status"],
                         buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))
EVENTS = Counter("smartdukcapil_events", "Event messages by what became of them",
                 ["service", "handler", "outcome"])
OUTBOX_BACKLOG = Gauge("smartdukcapil_outbox_backlog",
                       "Outbox rows written and not yet published", ["service"])
PIPELINE_BACKLOG = Gauge("smartdukcapil_pipeline_backlog",
                         "Messages waiting in the handler queues a service watches before "
                         "admitting new work (-1: unknown)", ["service", "container"])
OUTBOX_OVERDUE = Gauge("smartdukcapil_outbox_overdue",
                       "The service's own events that should have been published and have not "
                       "(shared.outbox.overdue), as its admission reads them (-1: unknown)",
                       ["service", "container"])

DEAD_LETTERS = Gauge("smartdukcapil_dead_letters",
                     "Messages in a handler's dead-letter queue (<queue>.dlq), as the service's "
                     "latest broker check (GET /health/ready) found them: put there by the "
                     "handler (its events_total dead_lettered) or by the broker itself (the "
                     "delivery limit), waiting for deploy.dlq replay",
                     ["service", "queue"])

STATION_SILENT = Gauge("smartdukcapil_station_silent",
                       "1 while a printing station away from the Dinas has not claimed for "
                       "STATION_SILENT_SECONDS (the Dinas' stations print its place's jobs), "
                       "else 0; as the Dinas' latest claim found it",
                       ["service", "station_id", "place_id"])

DB_COMMANDS = Counter("smartdukcapil_db_commands",
                      "Database commands sent (round trips), by command name and collection",
                      ["service", "command", "collection"])

DB_COMMITS = Counter("smartdukcapil_db_commits",
                     "Durable commits: commitTransaction plus each write command - "
                     "insert/update/delete/findAndModify - sent outside a transaction, i.e. "
                     "without autocommit: false in the command", ["service"])

# the write commands the server commits on its own when sent outside a transaction
WRITE_COMMANDS = frozenset({"insert", "update", "delete", "findAndModify"})

DB_SECONDS = Counter("smartdukcapil_db_command_seconds",
                     "Seconds from sending a database command to its answer (failures included), "
                     "by command name and collection", ["service", "command", "collection"])

EVENT_OUTCOMES = ("handled", "failed", "retried", "dead_lettered")


def dead_letters(container: str, depths: dict[str, int]) -> None:
    """The dead-letter queues' depths of ``depths`` (queue -> messages), as
    ``DEAD_LETTERS``: one the broker put there itself (its delivery limit,
    counting every return - a connection lost, a restart) has no handler's
    log line nor count (a review)."""
    for queue, count in depths.items():
        if queue.endswith(".dlq"):
            DEAD_LETTERS.labels(service_of(container), queue).set(count)

# the roles of a service's other containers, after its name: its HTTP API
# (intake_api, printing_api ...) and intake's broker channel (intake_channel)
CONTAINER_ROLES = ("_api", "_channel")


def service_of(container: str) -> str:
    """The service a nameko container is part of, every metric's ``service``
    label: its event handlers run under the service's own name (``intake``),
    its other containers under that name and their role (``intake_api``), so a
    dashboard joins one service's HTTP answers, events and outbox on one value."""
    for role in CONTAINER_ROLES:
        if container.endswith(role):
            return container[:-len(role)]
    return container


# commands whose answer ``CommandCounter`` waits for, at most: those in
# flight at once are far fewer (one per pooled connection); the rest are
# commands interrupted by a BaseException (a worker killed, an
# ``eventlet.Timeout``), which pymongo never reports failed - kept, they were
# one entry each for the life of the process
WAITING_MOST = 10_000


class CommandCounter(monitoring.CommandListener):
    """Counts every command a service's client sends (``DB_COMMANDS``): the
    database round trips per application the benchmark reports; the durable
    commits among them (``DB_COMMITS``: ``durable_commit``); and the time
    each took (``DB_SECONDS``)."""

    def __init__(self, service: str):
        self.service = service_of(service)
        self.waiting: dict[tuple, str] = {}  # (connection, request id) -> collection

    def started(self, event) -> None:
        target = event.command.get(event.command_name)
        collection = target if isinstance(target, str) else ""
        DB_COMMANDS.labels(self.service, event.command_name, collection).inc()
        if durable_commit(event.command_name, event.command):
            DB_COMMITS.labels(self.service).inc()
        waiting = self.waiting
        waiting[(event.connection_id, event.request_id)] = collection
        while len(waiting) > WAITING_MOST:  # the oldest never got its answer
            del waiting[next(iter(waiting))]

    def succeeded(self, event) -> None:
        self._took(event)

    def failed(self, event) -> None:
        self._took(event)

    def _took(self, event) -> None:
        collection = self.waiting.pop((event.connection_id, event.request_id), "")
        DB_SECONDS.labels(self.service, event.command_name, collection).inc(
            event.duration_micros / 1e6)


def durable_commit(name: str, command) -> bool:
    """Whether a command makes the server commit durably: a
    ``commitTransaction``, or a write command sent outside a transaction (a
    write inside one carries ``autocommit: false`` and is committed by the
    ``commitTransaction``)."""
    return name == "commitTransaction" or (
        name in WRITE_COMMANDS and command.get("autocommit", True) is not False)


# the request methods counted by name; any other a client sends is "other".
# The method comes from the client's request line: as a label value of its
# own, each invented one added 17 series, kept for the life of the process.
# AMQP: the broker channel's answers (services/intake/channel.py)
METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "AMQP"})


def method_label(method: str) -> str:
    return method if method in METHODS else "other"


def observe_request(container: str, endpoint: str, method: str, status: int,
                    seconds: float) -> None:
    labels = (service_of(container), container, endpoint, method_label(method), str(status))
    HTTP_REQUESTS.labels(*labels).inc()
    HTTP_SECONDS.labels(*labels).observe(seconds)


def count_event(container: str, handler: str, outcome: str) -> None:
    EVENTS.labels(service_of(container), handler, outcome).inc()


def pipeline_backlog(container: str, backlog: int) -> None:
    PIPELINE_BACKLOG.labels(service_of(container), container).set(backlog)


def outbox_overdue(container: str, overdue: int) -> None:
    OUTBOX_OVERDUE.labels(service_of(container), container).set(overdue)


def station_silent(station_id: str, place_id: str, silent: bool) -> bool:
    """Set a station's ``STATION_SILENT``; whether that changed what this
    process knew of it (the first time: whether it is silent)."""
    gauge = STATION_SILENT.labels("printing", station_id, place_id)
    changed = _stations_silent.get(station_id, False) != silent
    _stations_silent[station_id] = silent
    gauge.set(int(silent))
    return changed


_stations_silent: dict[str, bool] = {}  # station id -> silent, as this process last found it


def watch_outbox(service: str, db, carriers: tuple[str, ...] = (),
                 timeout_ms: int = 500) -> None:
    """Report the outbox's row count, plus the documents of ``carriers``
    carrying events (``shared.outbox``: carried events; a count through
    their sparse index), as the service's outbox backlog, read at scrape
    time. A database that does not answer in time leaves the gauge at -1
    (unknown), rather than holding the scrape."""

    def backlog() -> float:
        try:
            with pymongo.timeout(timeout_ms / 1000):
                return db.outbox.estimated_document_count() + carrying(db, carriers)
        except pymongo.errors.InvalidOperation:
            return -1  # the client is closed: the service is stopping (nothing to warn of)
        except Exception as exc:  # any driver error: the scrape still answers
            log.warning("outbox backlog of %s unknown (%s)", service, type(exc).__name__)
            return -1
    OUTBOX_BACKLOG.labels(service_of(service)).set_function(backlog)


def exposition() -> tuple[bytes, str]:
    """The text format Prometheus scrapes, and its content type."""
    return generate_latest(), CONTENT_TYPE_LATEST
