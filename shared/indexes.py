"""Index housekeeping shared by the stores and the outbox."""

from __future__ import annotations

import pymongo


def drop_index_if_present(collection, name: str) -> None:
    """Drop an index an earlier version created (several containers of a
    service may race to it: the one that loses finds it gone)."""
    if name in collection.index_information():
        try:
            collection.drop_index(name)
        except pymongo.errors.OperationFailure:
            pass
