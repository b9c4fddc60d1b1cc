"""A service killed in the middle of a transaction leaves it open on the
database server; the server's transaction lifetime limit (10 s here, as
production's mongod is configured: README, ``deploy/local/database.py``)
aborts it, so the documents it wrote are writable again long before
mongod's default of 60 s (measured before: counter printing stalled a
minute after a ``kill -9`` of printing)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from pymongo import MongoClient
from pymongo.errors import OperationFailure

from deploy.local.database import TRANSACTION_LIFETIME_SECONDS
from tests.helpers import eventually

# a process that writes a document inside a transaction, says so, and hangs
ORPHAN = """
import sys, time
from pymongo import MongoClient
client = MongoClient(sys.argv[1])
session = client.start_session()
session.start_transaction()
client.orphans.windows.update_one({"_id": "w"}, {"$inc": {"count": 1}}, session=session)
print("written", flush=True)
time.sleep(600)
"""


def write_in_transaction(client: MongoClient) -> bool:
    try:
        with client.start_session() as session, session.start_transaction():
            client.orphans.windows.update_one({"_id": "w"}, {"$inc": {"count": 10}},
                                              session=session)
        return True
    except OperationFailure as exc:
        if exc.has_error_label("TransientTransactionError"):  # the write conflict
            return False
        raise


def test_a_killed_writers_open_transaction_is_aborted_by_the_lifetime_limit(backing):
    client = MongoClient(backing.mongo_uri)
    client.orphans.windows.replace_one({"_id": "w"}, {"count": 0}, upsert=True)
    orphan = subprocess.Popen([sys.executable, "-c", ORPHAN, backing.mongo_uri],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert orphan.stdout.readline().strip() == "written"
        orphan.send_signal(signal.SIGKILL)
        orphan.wait()
        killed = time.monotonic()
        assert not write_in_transaction(client)  # the orphan still holds the document
        # writable again once the limit passed: well before mongod's default 60 s
        eventually(lambda: write_in_transaction(client), timeout=TRANSACTION_LIFETIME_SECONDS + 20,
                   interval=0.5, what="the document writable again")
        print(f"orphaned transaction aborted after {time.monotonic() - killed:.1f}s")
        # the orphan's increment was rolled back, ours committed
        assert client.orphans.windows.find_one({"_id": "w"})["count"] == 10
    finally:
        if orphan.poll() is None:
            orphan.kill()
        client.drop_database("orphans")
        client.close()
