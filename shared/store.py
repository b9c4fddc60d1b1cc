"""Base class of every service's store: transactions, the outbox, the inbox.

A service's store subclasses ``BaseStore`` and adds narrow methods that load,
save and emit (``submit``, ``claim_jobs`` ...); the decisions they apply live
in the service's ``domain.py``. Workers never see the raw client. Every method
that changes state and emits events does both in one transaction through
``run_transaction()`` + ``emit()``.

A database that cannot be reached surfaces as one shared error,
``DatabaseUnavailable``, from every public store method: the HTTP layer maps
it to 503 + Retry-After without knowing which driver is underneath.
"""

from __future__ import annotations

import datetime
import functools

from pymongo import ASCENDING
from pymongo.errors import ConnectionFailure, DuplicateKeyError, PyMongoError
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from .clock import utcnow
from .errors import DatabaseUnavailable
from .events import build_event
from .outbox import outbox_row

INBOX_RETENTION = datetime.timedelta(days=30)
MAX_TRANSACTION_ATTEMPTS = 5


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
        except ConnectionFailure:
            # ``from None``: the driver's error text can carry the query
            raise DatabaseUnavailable() from None
    return wrapper


class BaseStore:
    def __init__(self, db, client, relay):
        self.db = db
        self.client = client
        self._relay = relay

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
        except ConnectionFailure:
            raise DatabaseUnavailable() from None

    def run_transaction(self, fn):
        """Run ``fn(session)`` in a transaction; retry write conflicts a few times.

        Not pymongo's ``with_transaction``: it retries for up to 120 s, also
        when the server is unreachable, which turns an outage into hung
        requests. Here an unreachable server raises at once (HTTP answers 503)
        and a conflict is retried at most ``MAX_TRANSACTION_ATTEMPTS`` times.
        """
        for attempt in range(1, MAX_TRANSACTION_ATTEMPTS + 1):
            with self.client.start_session() as session:
                try:
                    with session.start_transaction(read_concern=ReadConcern("snapshot"),
                                                   write_concern=WriteConcern("majority")):
                        result = fn(session)
                except ConnectionFailure:
                    raise DatabaseUnavailable() from None
                except PyMongoError as exc:
                    if (exc.has_error_label("TransientTransactionError")
                            and attempt < MAX_TRANSACTION_ATTEMPTS):
                        continue
                    raise
            self._relay.wake()
            return result

    def emit(self, session, event_type: str, **payload) -> dict:
        """Record an event in the outbox inside the caller's transaction."""
        event = build_event(event_type, **payload)
        self.db.outbox.insert_one(outbox_row(event_type, event), session=session)
        return event

    def consume_once(self, event: dict, consumer: str, fn):
        """Run ``fn(session)`` once per (event id, consumer), atomically with it.

        Returns ``fn``'s result, or ``None`` when the event was already handled
        (a redelivery): the inbox row and the work commit together.
        """
        inbox_id = f"{consumer}:{event['event_id']}"

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
