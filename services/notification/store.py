"""Notification's store: one message per (event, channel) and its delivery log.

The message id is ``<event_id>:<channel>``: a redelivered event finds the
message already sent and sends nothing, which makes delivery exactly once
per channel as far as our side can tell (the gateway also gets the id as an
idempotency reference).
"""

from __future__ import annotations

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from shared.clock import utcnow
from shared.store import BaseStore


class NotificationStore(BaseStore):
    @classmethod
    def ensure_indexes(cls, db) -> None:
        db.messages.create_index([("application_id", ASCENDING)])
        super().ensure_indexes(db)

    def open_message(self, event: dict, about: str, channel: str, address: str) -> dict:
        message = {"_id": f"{event['event_id']}:{channel}", "about": about,
                   "application_id": event["application_id"],
                   "tracking_code": event["tracking_code"], "channel": channel,
                   "address": address, "status": "pending", "attempts": [],
                   "created_at": utcnow()}
        try:
            self.db.messages.insert_one(message)
        except DuplicateKeyError:
            message = self.db.messages.find_one({"_id": message["_id"]})
        return message

    def record_failure(self, message_id: str, reason: str) -> None:
        self.db.messages.update_one({"_id": message_id}, {"$push": {"attempts": {
            "at": utcnow(), "ok": False, "reason": reason}}})

    def record_sent(self, message: dict, provider_ref: str) -> None:
        """Mark sent and emit ``notification_sent`` in one transaction."""
        def work(session):
            updated = self.db.messages.update_one(
                {"_id": message["_id"], "status": "pending"},
                {"$set": {"status": "sent", "sent_at": utcnow(), "provider_ref": provider_ref},
                 "$push": {"attempts": {"at": utcnow(), "ok": True}}}, session=session)
            if updated.modified_count:
                self.emit(session, "notification_sent", application_id=message["application_id"],
                          tracking_code=message["tracking_code"], notification_id=message["_id"],
                          channel=message["channel"], about=message["about"])
        self.run_transaction(work)

    def delivery_log(self, application_id: str) -> list[dict]:
        return list(self.db.messages.find({"application_id": application_id},
                                          {"address": 0}).sort("created_at", ASCENDING))
