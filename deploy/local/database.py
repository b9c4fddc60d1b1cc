"""The local MongoDB stand-in (SecantusDB), started the way production's
mongod is configured (README, on MONGO_URI).

Two things differ from the stand-in's own command:

* The transaction lifetime limit, mongod's ``transactionLifetimeLimitSeconds``.
  A service killed in the middle of a transaction leaves it open on the
  server (a closed connection does not end it, on mongod as here); until the
  limit aborts it, every transaction writing the same document - a pickup
  window's fill pointer, which every counter print writes - fails with a
  write conflict. mongod's default of 60 s stalled counter printing for a
  minute after a ``kill -9`` of printing (measured in the fault test). Our
  transactions end within the services' ``MONGO_TIMEOUT_MS`` (5 s) or are
  aborted by the client, so 10 s aborts only the orphans.
* The TTL sweep. The stand-in's own sweep decodes every document of every
  collection with a TTL index, under its one global lock, once a minute,
  whether or not any has expired: 100,000 inbox rows held every write for
  1.42 s (20,000: 0.28 s), so a long ``make run`` at load would stall longer
  each minute, as kept events once did in CI. mongod's TTL monitor walks the
  index; so does ``TtlSweep`` here, a client of the server in this process
  deleting, for each TTL index, the documents its field puts past the expiry
  (a range delete on that index: 1 ms with nothing expired, 6 ms for 50
  expired among 100,000, measured on this server). The stand-in's sweep is
  turned off.

SecantusDB takes these settings only as constructor arguments, not on its
command line: this wrapper passes them and otherwise runs its command line
unchanged (``python -m deploy.local.database --help``).
"""

from __future__ import annotations

import argparse
import datetime
import functools
import logging
import os
import sys
import threading
import time

from pymongo import MongoClient
from pymongo.errors import PyMongoError
from secantus import cli
from secantus.server import SecantusDBServer

from deploy.local.stack import local_mongo_uri

TRANSACTION_LIFETIME_SECONDS = 10.0
# as mongod's ttlMonitorSleepSecs; ``TTL_SWEEP_SECONDS`` sets it (a test)
TTL_SWEEP_SECONDS = float(os.environ.get("TTL_SWEEP_SECONDS", 60))

log = logging.getLogger("deploy.local.database")


def ttl_deletes(collection) -> list[dict]:
    """A filter for each TTL index of ``collection`` (one field, not ``_id``,
    as mongod expires by): its field before the expiry, within the index's
    partial filter if it has one."""
    now = datetime.datetime.now(datetime.timezone.utc)
    filters = []
    for index in collection.list_indexes():
        seconds, key = index.get("expireAfterSeconds"), list(index["key"].items())
        if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds < 0:
            continue
        if len(key) != 1 or key[0][0] == "_id":
            continue
        expired = {key[0][0]: {"$lt": now - datetime.timedelta(seconds=seconds)}}
        partial = index.get("partialFilterExpression")
        filters.append({"$and": [expired, dict(partial)]} if partial else expired)
    return filters


def sweep(client: MongoClient) -> int:
    """Delete what every TTL index of every database says has expired; how many."""
    deleted = 0
    for name in client.list_database_names():
        if name in ("admin", "config", "local"):
            continue
        database = client[name]
        for collection in database.list_collection_names():
            for expired in ttl_deletes(database[collection]):
                deleted += database[collection].delete_many(expired).deleted_count
    return deleted


class TtlSweep(threading.Thread):
    """``sweep`` every ``TTL_SWEEP_SECONDS`` against this process's server on
    ``port`` (as the services reach it: ``local_mongo_uri``)."""

    def __init__(self, port: int, seconds: float = TTL_SWEEP_SECONDS):
        super().__init__(name="ttl-sweep", daemon=True)
        self.client = MongoClient(local_mongo_uri(port), tz_aware=True,
                                  serverSelectionTimeoutMS=5_000)
        self.seconds = seconds

    def run(self) -> None:
        while True:
            time.sleep(self.seconds)
            try:
                sweep(self.client)
            except PyMongoError as exc:  # the server is starting or stopping: next round
                log.warning("TTL sweep skipped: %s", exc)


def main(argv: list[str] | None = None) -> int:
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument("--port", type=int, default=27017)
    known, _ = where.parse_known_args(sys.argv[1:] if argv is None else argv)
    cli.SecantusDBServer = functools.partial(
        SecantusDBServer, transaction_lifetime_seconds=TRANSACTION_LIFETIME_SECONDS,
        ttl_sweep_seconds=0)
    TtlSweep(known.port).start()
    return cli.main(argv)


if __name__ == "__main__":
    sys.exit(main())
