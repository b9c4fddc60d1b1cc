"""Base class of every service's store: transactions, the outbox, the inbox.

A service's store subclasses ``BaseStore`` and adds narrow methods that load,
save and emit (``submit``, ``claim_jobs`` ...); the decisions they apply live
in the service's ``domain.py``. Workers never see the raw client. Every method
that changes state and emits events does both in one transaction through
``run_transaction()`` + ``emit()``.

A database that cannot be reached surfaces as one shared error,
``DatabaseUnavailable``, from every public store method: the HTTP layer maps
it to 503 + Retry-After without knowing which driver is underneath.

Flat filters: a query on a growing collection (applications, print jobs,
messages, shipments, issuances) is written without ``$or``/``$and``. The
local database server (SecantusDB) reads a flat filter through an index
but scans the whole collection for one with ``$or`` - even next to an
``_id`` - measured at 20,000 applications: 1 ms flat, 250 ms with ``$or``.
"Missing or below x" is ``{"$not": {"$gte": x}}``; "one of two shapes" is
one flat query that says both (``printing.stations.claimable_query``: a
status ``$in`` and a missing-or-below), two queries, or one wider flat query
decided in Python (``intake.nik_records.NikRecords.nik_record``).

Partial indexes are never read by that server (a query the index covers
scans the collection all the same): they stay where they guard uniqueness
(one active application per subject), and what is looked up has a plain or
sparse index beside them.

Inclusive time bounds: "from this moment on" is ``at_or_after`` (``$gt``
the millisecond before), never ``$gte``: the same server leaves out the
documents exactly at an inclusive bound that ends its index read (a
``$gte`` on a descending field after an equality, as a status; measured:
the operators' shipment list lost the one shipment created at a window's
edge).

No findAndModify on a growing collection: the same server answers every
one with a scan of the whole collection, even by ``_id`` (126 ms at 20,000
documents; an ``update_one`` 1 ms): ``claim_each`` and ``update_then_read``
below take its place; small collections (a station's blanko, the serial
counters) keep it.
"""

from __future__ import annotations

import datetime
import functools
import random
import time

import pymongo
from pymongo import ASCENDING
from pymongo.errors import (ConnectionFailure, DuplicateKeyError, ExecutionTimeout, PyMongoError,
                            WTimeoutError)
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from .clock import utcnow
from .errors import DatabaseUnavailable
from .events import build_event
from .group_writes import GroupWrites
from .outbox import Carried, outbox_row

INBOX_RETENTION = datetime.timedelta(days=30)
DEFAULT_TRANSACTION_BUDGET_SECONDS = 3.0
DEFAULT_OPERATION_TIMEOUT_SECONDS = 5.0  # MONGO_TIMEOUT_MS
BACKOFF_FIRST_SECONDS, BACKOFF_MAX_SECONDS = 0.01, 0.5
# acknowledged = journaled on a majority: a 202 survives a crash of the server
DURABLE = WriteConcern("majority", j=True)
MILLISECOND = datetime.timedelta(milliseconds=1)
# the server did not answer in time, or cannot say whether a commit happened:
# nothing the client can fix, so "retry later" (503), never a 500
UNAVAILABLE = (ConnectionFailure, ExecutionTimeout, WTimeoutError)


def duplicate_key(exc: DuplicateKeyError) -> dict:
    """The key a duplicate-key error is about (``{"field": value}``), from the
    server's structured reply rather than its message text."""
    return dict((exc.details or {}).get("keyValue") or {})


def duplicate_fields(exc: DuplicateKeyError) -> set[str]:
    """The indexed field names of the unique index that refused the write."""
    return set((exc.details or {}).get("keyPattern") or {})


def _unavailable_as_domain_error(method):
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except UNAVAILABLE:
            # ``from None``: the driver's error text can carry the query
            raise DatabaseUnavailable() from None
    return wrapper


class BaseStore:
    # collections whose documents carry their own events (``shared.outbox``:
    # carried events); the relay sweeps them. Never written in a transaction
    # (``OutboxRelay._clear`` says why)
    CARRIERS: tuple[str, ...] = ()

    def __init__(self, db, client, relay,
                 transaction_budget: float = DEFAULT_TRANSACTION_BUDGET_SECONDS,
                 operation_timeout: float = DEFAULT_OPERATION_TIMEOUT_SECONDS,
                 groups: GroupWrites | None = None):
        self.db = db
        self.client = client
        self._relay = relay
        # the process' group commit per collection (``shared.group_writes``),
        # shared by its workers; a store made alone (a test) has its own
        self.groups = groups if groups is not None else GroupWrites(db)
        self._emitted: list[dict] = []
        self.transaction_budget = transaction_budget
        self.operation_timeout = operation_timeout

    def __init_subclass__(cls, **kwargs):
        # every public store method, in every service, reports an unreachable
        # database the same way; subclasses need not remember to
        super().__init_subclass__(**kwargs)
        for name, member in list(vars(cls).items()):
            if callable(member) and not name.startswith("_") and not isinstance(
                    member, (classmethod, staticmethod)):
                setattr(cls, name, _unavailable_as_domain_error(member))

    @classmethod
    def ensure_indexes(cls, db) -> None:
        """Subclasses add their own indexes, then call super()."""
        db.inbox.create_index([("processed_at", ASCENDING)],
                              expireAfterSeconds=int(INBOX_RETENTION.total_seconds()))

    def ping(self) -> None:
        """Raise ``DatabaseUnavailable`` unless the database answers."""
        try:
            self.db.command("ping")
        except UNAVAILABLE:
            raise DatabaseUnavailable() from None

    def run_transaction(self, fn):
        """Run ``fn(session)`` in a transaction; retry conflicts within a budget.

        Not pymongo's ``with_transaction``: it retries for up to 120 s, also
        when the server is unreachable, which turns an outage into hung
        requests. Here a write conflict or lock timeout (the server labels
        them ``TransientTransactionError``; e.g. a killed process's open
        transaction still holding a document) is retried with jittered,
        growing back-off for at most ``transaction_budget`` seconds; then,
        like an unreachable or silent server or a commit whose outcome is
        unknown, it raises ``DatabaseUnavailable`` (HTTP: 503 + Retry-After).
        A client retrying with the same Idempotency-Key then gets the first
        answer if the commit did happen.
        """
        deadline = time.monotonic() + self.transaction_budget
        backoff = BACKOFF_FIRST_SECONDS
        while True:
            self._emitted = []  # this attempt's outbox rows (an aborted one's are gone)
            try:
                # One deadline for the whole attempt, abort included: without
                # it a frozen server costs a socket timeout, then the abort's
                # own server selection and retry — twice MONGO_TIMEOUT_MS.
                with pymongo.timeout(self.operation_timeout):
                    with self.client.start_session() as session:
                        with session.start_transaction(read_concern=ReadConcern("snapshot"),
                                                       write_concern=DURABLE):
                            result = fn(session)
            except UNAVAILABLE:
                raise DatabaseUnavailable() from None
            except PyMongoError as exc:
                if exc.timeout or exc.has_error_label("UnknownTransactionCommitResult"):
                    raise DatabaseUnavailable() from None
                if not exc.has_error_label("TransientTransactionError"):
                    raise
                pause = random.uniform(backoff / 2, backoff)
                if time.monotonic() + pause > deadline:
                    raise DatabaseUnavailable() from None
                time.sleep(pause)
                backoff = min(backoff * 2, BACKOFF_MAX_SECONDS)
                continue
            self._relay.hand_over(self._emitted)
            return result

    def emit(self, session, event_type: str, **payload) -> dict:
        """Record an event in the outbox inside the caller's transaction. The
        row is written claimed by this process' relay, which is handed it
        after the commit and publishes it at once (no read of the outbox);
        if this process dies first, any relay's sweep publishes it once the
        claim runs out."""
        return self.emit_all(session, [(event_type, payload)])[0]

    def emit_all(self, session, events: list[tuple[str, dict]]) -> list[dict]:
        """``emit`` for several events at once: one insert, in their order."""
        built = [build_event(event_type, **payload) for event_type, payload in events]
        rows = [outbox_row(event_type, event, claimed_by=self._relay.instance)
                for (event_type, _), event in zip(events, built)]
        if rows:
            self.db.outbox.insert_many(rows, session=session)
            self._emitted.extend(rows)
        return built

    def carry(self, collection, events: list[tuple[str, dict]]) -> Carried:
        """Events (type, payload) a single write of one document of
        ``collection`` (one of ``CARRIERS``) carries: no transaction, no
        outbox row (``shared.outbox.Carried``)."""
        assert collection.name in self.CARRIERS, collection.name
        return Carried(self._relay, collection.name, events)

    def consume_once(self, event: dict, consumer: str, fn, handled_before: bool = False):
        """Run ``fn(session)`` once per (event id, consumer), atomically with it.

        Returns ``fn``'s result, or ``None`` when the event was already handled
        (a redelivery): the inbox row and the work commit together.
        ``handled_before``: a copy most likely handled already
        (``shared.messaging.Republished``), so its inbox row is read first -
        one find instead of a transaction that fails on the row.
        """
        inbox_id = f"{consumer}:{event['event_id']}"
        if handled_before and self.db.inbox.find_one({"_id": inbox_id}, {"_id": 1}):
            return None

        def work(session):
            self.db.inbox.insert_one({"_id": inbox_id, "processed_at": utcnow()},
                                     session=session)
            return fn(session)

        try:
            return self.run_transaction(work)
        except DuplicateKeyError as exc:
            if duplicate_key(exc) == {"_id": inbox_id}:
                return None
            raise


# -- instead of findAndModify (see the module's docstring) -------------------------------

def claim_each(collection, query: dict, update: dict, limit: int, sort=None,
               projection=None) -> list[dict]:
    """Claim up to ``limit`` documents matching ``query`` (a flat filter), in
    ``sort`` order: read the candidates in one indexed query, then take each
    with ``update_one`` guarded by ``query`` again, so one another worker
    took in between is skipped, never claimed twice. The documents as read
    (before ``update``)."""
    return [row for row in collection.find(query, projection, sort=sort, limit=limit)
            if collection.update_one({**query, "_id": row["_id"]}, update).modified_count]


def update_then_read(collection, query: dict, update: dict, projection=None,
                     session=None) -> dict | None:
    """``update_one`` then read the document back by ``_id`` (``query`` must
    name it): None when nothing matched. Outside a transaction (no
    ``session``) the read is not atomic with the update: for a document only
    the caller changes at that moment."""
    if not collection.update_one(query, update, session=session).matched_count:
        return None
    return collection.find_one({"_id": query["_id"]}, projection, session=session)


def at_or_after(moment: datetime.datetime) -> dict:
    """``{"$gte": moment}`` for a stored time, as ``$gt`` the millisecond
    before: the same documents on MongoDB (a BSON date is whole milliseconds
    and the driver truncates ``moment`` to one), and on the local server too
    (SecantusDB 0.7.0b3 reads a ``$gte`` on a descending index field after
    an equality - ``listing_by_status`` - as "up to and excluding every
    entry at ``moment``")."""
    return {"$gt": moment - MILLISECOND}
