"""Notification's store: one message per (event, channel) and its delivery log.

The message id comes from the domain (``<event_id>:<channel>``): a redelivered
event finds its message already sent and sends nothing, which makes delivery
exactly once per channel as far as our side can tell (the gateway also gets
the id as an idempotency reference). Which messages to send, and when to
retry, is ``domain.py``'s; this module only loads, saves and emits.
"""

from __future__ import annotations

import datetime

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from shared.clock import utcnow
from shared.store import BaseStore

from .domain import OutgoingMessage

# longer than any gateway call may take (their timeouts are seconds): a claim
# outlives its sender only if the sender died, and then the retry takes over
CLAIM = datetime.timedelta(seconds=120)


class NotificationStore(BaseStore):
    @classmethod
    def ensure_indexes(cls, db) -> None:
        db.messages.create_index([("application_id", ASCENDING)])
        super().ensure_indexes(db)

    def open_message(self, message: OutgoingMessage) -> str:
        """Record the message unless an earlier delivery did, and claim it for
        sending. Returns ``"pending"`` (claimed: send it now), ``"sent"`` or
        ``"in_flight"`` (another worker holds the claim: two copies of one
        event handled at once send once)."""
        now = utcnow()
        try:
            self.db.messages.insert_one({
                "_id": message.message_id, "about": message.about,
                "application_id": message.application_id,
                "tracking_code": message.tracking_code, "channel": message.channel,
                "address": message.address, "status": "pending", "attempts": [],
                "created_at": now, "claimed_until": now + CLAIM})
            return "pending"
        except DuplicateKeyError:
            pass
        claimed = self.db.messages.find_one_and_update(
            {"_id": message.message_id, "status": "pending",
             "$or": [{"claimed_until": None}, {"claimed_until": {"$lt": now}}]},
            {"$set": {"claimed_until": now + CLAIM}}, projection={"status": 1})
        if claimed is not None:
            return "pending"
        status = self.db.messages.find_one({"_id": message.message_id}, {"status": 1})["status"]
        return "sent" if status == "sent" else "in_flight"

    def record_failure(self, message_id: str, reason: str) -> None:
        """Log the failed attempt and release the claim for the retry."""
        self.db.messages.update_one({"_id": message_id}, {
            "$set": {"claimed_until": None},
            "$push": {"attempts": {"at": utcnow(), "ok": False, "reason": reason}}})

    def record_sent(self, message: OutgoingMessage, provider_ref: str) -> None:
        """Mark sent and emit ``notification_sent`` in one transaction."""
        def work(session):
            updated = self.db.messages.update_one(
                {"_id": message.message_id, "status": "pending"},
                {"$set": {"status": "sent", "sent_at": utcnow(), "provider_ref": provider_ref},
                 "$push": {"attempts": {"at": utcnow(), "ok": True}}}, session=session)
            if updated.modified_count:
                self.emit(session, "notification_sent", application_id=message.application_id,
                          tracking_code=message.tracking_code,
                          notification_id=message.message_id, channel=message.channel,
                          about=message.about)
        self.run_transaction(work)

    def delivery_log(self, application_id: str) -> list[dict]:
        return list(self.db.messages.find({"application_id": application_id},
                                          {"address": 0}).sort("created_at", ASCENDING))
