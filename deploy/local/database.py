"""The local MongoDB stand-in (SecantusDB), started the way production's
mongod is configured (README, on MONGO_URI).

One setting differs from the stand-in's own command: the transaction
lifetime limit, mongod's ``transactionLifetimeLimitSeconds``. A service
killed in the middle of a transaction leaves it open on the server (a closed
connection does not end it, on mongod as here); until the limit aborts it,
every transaction writing the same document - a pickup window's fill pointer,
which every counter print writes - fails with a write conflict. mongod's
default of 60 s stalled counter printing for a minute after a ``kill -9`` of
printing (measured in the fault test). Our transactions end within the
services' ``MONGO_TIMEOUT_MS`` (5 s) or are aborted by the client, so 10 s
aborts only the orphans. SecantusDB takes this setting only as a constructor
argument, not on its command line: this wrapper passes it and otherwise runs
its command line unchanged (``python -m deploy.local.database --help``).
"""

from __future__ import annotations

import functools
import sys

from secantus import cli
from secantus.server import SecantusDBServer

TRANSACTION_LIFETIME_SECONDS = 10.0


def main(argv: list[str] | None = None) -> int:
    cli.SecantusDBServer = functools.partial(
        SecantusDBServer, transaction_lifetime_seconds=TRANSACTION_LIFETIME_SECONDS)
    return cli.main(argv)


if __name__ == "__main__":
    sys.exit(main())
