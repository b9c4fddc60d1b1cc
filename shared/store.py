"""Base class of every service's store: transactions, the outbox, the inbox.

A service's store subclasses ``BaseStore`` and adds narrow domain methods
(``create_application``, ``claim_next_job`` ...). Workers never see the raw
client. Every method that changes state and emits events does both in one
transaction through ``run_transaction()`` + ``emit()``.
"""

from __future__ import annotations

import datetime

from pymongo import ASCENDING
from pymongo.errors import ConnectionFailure, DuplicateKeyError, PyMongoError
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from .events import build_event
from .clock import utcnow
from .outbox import outbox_row

INBOX_RETENTION = datetime.timedelta(days=30)
MAX_TRANSACTION_ATTEMPTS = 5


class BaseStore:
    def __init__(self, db, client, relay):
        self.db = db
        self.client = client
        self._relay = relay

    @classmethod
    def ensure_indexes(cls, db) -> None:
        """Subclasses add their own indexes, then call super()."""
        db.inbox.create_index([("processed_at", ASCENDING)],
                              expireAfterSeconds=int(INBOX_RETENTION.total_seconds()))

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
                except PyMongoError as exc:
                    if (exc.has_error_label("TransientTransactionError")
                            and not isinstance(exc, ConnectionFailure)
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
        def work(session):
            self.db.inbox.insert_one(
                {"_id": f"{consumer}:{event['event_id']}", "processed_at": utcnow()},
                session=session)
            return fn(session)

        try:
            return self.run_transaction(work)
        except DuplicateKeyError as exc:
            if "inbox" in str(exc):
                return None
            raise
