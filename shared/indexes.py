"""Index housekeeping shared by the stores and the outbox."""

from __future__ import annotations

import pymongo

from shared.clock import utcnow


def drop_index_if_present(collection, name: str) -> None:
    """Drop an index an earlier version created (several containers of a
    service may race to it: the one that loses finds it gone)."""
    if name in collection.index_information():
        try:
            collection.drop_index(name)
        except pymongo.errors.OperationFailure:
            pass


def expire_after(collection, field: str, seconds: int) -> None:
    """Documents of ``collection`` leave ``seconds`` after the date in
    ``field`` (a TTL index). A start with another time (a changed setting)
    changes the index in place: making it again with other options is
    refused."""
    kept = collection.index_information().get(f"{field}_1")
    if kept is None:
        collection.create_index([(field, pymongo.ASCENDING)], expireAfterSeconds=seconds)
    elif kept.get("expireAfterSeconds") != seconds:
        collection.database.command("collMod", collection.name, index={
            "keyPattern": {field: 1}, "expireAfterSeconds": seconds})


def migrate_once(db, name: str, migrate) -> None:
    """Run ``migrate`` (idempotent: it changes only what still needs it) once
    for the database: a row in ``migrations`` records it done, so a later
    start reads one document instead of scanning a collection. Containers
    starting together may each run it; each finds what the other left."""
    if db.migrations.find_one({"_id": name}) is not None:
        return
    migrate()
    db.migrations.update_one({"_id": name}, {"$setOnInsert": {"done_at": utcnow()}},
                             upsert=True)
