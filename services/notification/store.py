"""Notification's store: the contact book, one message per (event, channel)
with its delivery log, and the SMS counters.

The message id comes from the domain (``<event_id>.<channel>``): a
redelivered event finds its message already sent and sends nothing. A
message is claimed (owner = whoever set ``claimed_until``, a lease) before it
is sent, so two copies of one event handled at once send once. Which
messages to send, and when to give up, is ``domain.py``'s; this module only
loads, saves and emits.

The message row keeps what was rendered (``content``), because a message
held back (quiet hours, limits) is sent later by the sweeper, without its
event. The delivery log shown to operators never includes it, nor the address.
"""

from __future__ import annotations

import datetime

from pymongo import ASCENDING, InsertOne, UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError

from shared.clock import utcnow
from shared.group_writes import DUPLICATE_KEY
from shared.outbox import PENDING
from shared.store import BaseStore, claim_each, update_then_read

from .domain import Guards, OutgoingMessage, day_bucket, hour_bucket

# longer than any gateway call may take (their timeouts are seconds): a claim
# outlives its sender only if the sender died, and then the retry takes over
CLAIM = datetime.timedelta(seconds=120)
# what an operator sees of a message: never its text or the address
LOG_FIELDS = {"_id": 1, "about": 1, "kind": 1, "channel": 1, "status": 1, "created_at": 1,
              "sent_at": 1, "provider_ref": 1, "last_error": 1, "held_reason": 1, "due_at": 1,
              "attempts": 1}


def message_from_row(row: dict) -> OutgoingMessage:
    content = row["content"]
    return OutgoingMessage(row["_id"], row["about"], row["kind"], row["application_id"],
                           row["tracking_code"], row["channel"], row["address"],
                           row.get("language", "id"), content["text"], content.get("subject"),
                           content.get("html"), tuple(content.get("params") or ()))


class NotificationStore(BaseStore):
    # a message carries the event of its outcome (sent, failed)
    CARRIERS = ("messages",)

    @classmethod
    def ensure_indexes(cls, db) -> None:
        db.messages.create_index([("application_id", ASCENDING)])
        db.messages.create_index([("status", ASCENDING), ("due_at", ASCENDING)])
        super().ensure_indexes(db)

    # ---- contact book -----------------------------------------------------

    def save_contact(self, application_id: str, contact: dict) -> None:
        # with the other contacts of the moment: one command (group commit)
        self.groups["contacts"].write(UpdateOne(
            {"_id": application_id}, {"$set": {"contact": contact, "updated_at": utcnow()}},
            upsert=True))

    def contact_for(self, application_id: str) -> dict | None:
        row = self.db.contacts.find_one({"_id": application_id})
        return row["contact"] if row else None

    # ---- messages ---------------------------------------------------------

    def open_message(self, message: OutgoingMessage) -> str:
        """Record the message unless an earlier delivery did, and claim it for
        sending. Returns ``"pending"`` (claimed: send it now), ``"sent"``,
        ``"failed"``, ``"held"`` or ``"in_flight"`` (another worker holds the
        claim)."""
        now = utcnow()
        try:  # with the other messages of the moment: one command (group commit)
            self.groups["messages"].write(InsertOne({
                "_id": message.message_id, "about": message.about, "kind": message.kind,
                "application_id": message.application_id,
                "tracking_code": message.tracking_code, "channel": message.channel,
                "address": message.address, "language": message.language,
                "content": {"text": message.text, "subject": message.subject,
                            "html": message.html, "params": list(message.params)},
                "status": "pending", "attempts": [], "created_at": now,
                "claimed_until": now + CLAIM}))
            return "pending"
        except DuplicateKeyError:
            pass
        # unclaimed, or its claim ran out (a flat guard, and no findAndModify:
        # shared/store.py)
        if self.db.messages.update_one(
                {"_id": message.message_id, "status": "pending",
                 "claimed_until": {"$not": {"$gte": now}}},
                {"$set": {"claimed_until": now + CLAIM}}).modified_count:
            return "pending"
        status = self.db.messages.find_one({"_id": message.message_id}, {"status": 1})["status"]
        return status if status in ("sent", "failed", "held") else "in_flight"

    def hold(self, message_id: str, reason: str, until: datetime.datetime) -> None:
        self.db.messages.update_one({"_id": message_id}, {"$set": {
            "status": "held", "held_reason": reason, "due_at": until, "claimed_until": None}})

    def claim_due(self, now: datetime.datetime, limit: int = 50) -> list[OutgoingMessage]:
        """Claim held messages whose time has come (the sweeper sends them)."""
        return [message_from_row(row) for row in claim_each(
            self.db.messages, {"status": "held", "due_at": {"$lte": now}},
            {"$set": {"status": "pending", "claimed_until": utcnow() + CLAIM},
             "$unset": {"held_reason": ""}}, limit, sort=[("due_at", ASCENDING)])]

    def take_sms_allowance(self, phone: str, now: datetime.datetime,
                           guards: Guards) -> tuple[str, datetime.datetime] | None:
        """Count one SMS against the phone's hourly limit, then the day's
        budget, each a guarded $inc that counts only below its limit, both in
        one round trip (``_count_within``); over a limit the SMS is held. The
        phone first: a phone count taken back (the day was full) can only
        hold that number's other SMS, which the full day holds anyway, while
        a day count taken back could hold another citizen's SMS the budget
        had room for."""
        hour, hour_ends = hour_bucket(now)
        day, day_ends = day_bucket(now)
        counters = ((f"phone:{phone}:{hour}", guards.per_phone_per_hour, "phone_limit", hour_ends),
                    (f"day:{day}", guards.daily_budget, "daily_budget", day_ends))
        counted = self._count_within(counters)
        if counted == len(counters):
            return None
        key, _, reason, until = counters[counted]
        # upserted: a zero limit counts its holds on a counter never used
        self.db.sms_counters.update_one(
            {"_id": key}, {"$inc": {"held": 1}, "$setOnInsert": {"sent": 0, "expires": until}},
            upsert=True)
        if counted:  # the phone's count was taken: give it back
            self.db.sms_counters.update_one({"_id": counters[0][0]}, {"$inc": {"sent": -1}})
        return reason, until

    def _count_within(self, counters) -> int:
        """Count one SMS on each of ``counters`` (key, limit, ...) in order,
        each only while below its limit, creating it on its first use; how
        many counted, stopping at the first over its limit. One ordered bulk
        of guarded ``$inc`` upserts: one round trip. Over the limit an upsert
        meets the existing row (a duplicate key) and the bulk stops there,
        having counted nothing on it. A duplicate key is also a lost race of
        two first uses at once: the guarded ``$inc`` is tried once more
        without the upsert, on the row the other made, and the rest goes on."""
        counted = 0
        while counted < len(counters):
            bulk = []
            for key, limit, _, until in counters[counted:]:
                if limit <= 0:
                    break
                bulk.append(UpdateOne({"_id": key, "sent": {"$lt": limit}},
                                      {"$inc": {"sent": 1},
                                       "$setOnInsert": {"held": 0, "expires": until}},
                                      upsert=True))
            if not bulk:
                return counted
            try:
                self.db.sms_counters.bulk_write(bulk, ordered=True)
                return counted + len(bulk)
            except BulkWriteError as error:
                first = error.details["writeErrors"][0]
                if first["code"] != DUPLICATE_KEY:
                    raise
                counted += first["index"]
            key, limit = counters[counted][:2]
            if not self.db.sms_counters.update_one(
                    {"_id": key, "sent": {"$lt": limit}}, {"$inc": {"sent": 1}}).modified_count:
                return counted
            counted += 1
        return counted

    def record_failure(self, message_id: str, reason: str) -> int:
        """Log the failed attempt and release the claim; the failed attempts so far."""
        row = update_then_read(self.db.messages, {"_id": message_id}, {
            "$set": {"claimed_until": None, "last_error": reason},
            "$push": {"attempts": {"at": utcnow(), "ok": False, "reason": reason}}},
            projection={"attempts.ok": 1})
        return sum(1 for attempt in row["attempts"] if not attempt["ok"])

    def record_sent(self, message: OutgoingMessage, provider_ref: str) -> None:
        """Mark sent and emit ``notification_sent``: one update, the message carries it."""
        self._settle(message, {"status": "sent", "sent_at": utcnow(), "provider_ref": provider_ref,
                               "claimed_until": None},
                     {"$push": {"attempts": {"at": utcnow(), "ok": True}}},
                     "notification_sent", self._outcome(message))

    def give_up(self, message: OutgoingMessage, reason: str) -> None:
        """Mark failed for good and emit ``notification_failed``: one update."""
        self._settle(message, {"status": "failed", "failed_at": utcnow(), "last_error": reason,
                               "claimed_until": None}, {},
                     "notification_failed", {"reason": reason, **self._outcome(message)})

    def _settle(self, message: OutgoingMessage, fields: dict, more: dict, event_type: str,
                payload: dict) -> None:
        """A pending message's outcome and its event, once (a message settled
        already changes nothing, and emits nothing)."""
        carried = self.carry(self.db.messages, [(event_type, payload)])
        # with the other outcomes of the moment (group commit); a batch that
        # cannot say whether this one was written is asked by its event's id
        if self.groups["messages"].modified(
                UpdateOne({"_id": message.message_id, "status": "pending"},
                          carried.update({"$set": fields, **more})),
                proof={"_id": message.message_id, f"{PENDING}._id": carried.rows[0]["_id"]}):
            carried.written(message.message_id)

    @staticmethod
    def _outcome(message: OutgoingMessage) -> dict:
        return {"application_id": message.application_id,
                "tracking_code": message.tracking_code,
                "notification_id": message.message_id, "channel": message.channel,
                "about": message.about}

    # ---- what operators see -----------------------------------------------

    def delivery_log(self, application_id: str) -> list[dict]:
        return list(self.db.messages.find({"application_id": application_id},
                                          LOG_FIELDS).sort("created_at", ASCENDING))

    def failed_messages(self, limit: int = 100) -> list[dict]:
        projection = {**LOG_FIELDS, "application_id": 1, "tracking_code": 1}
        return list(self.db.messages.find({"status": "failed"}, projection)
                    .sort("failed_at", -1).limit(limit))

    def counters(self, now: datetime.datetime) -> dict:
        """Today's SMS count and what is held back, by reason."""
        day, _ = day_bucket(now)
        today = self.db.sms_counters.find_one({"_id": f"day:{day}"}) or {}
        held = {row["_id"]: row["count"] for row in self.db.messages.aggregate([
            {"$match": {"status": "held"}},
            {"$group": {"_id": "$held_reason", "count": {"$sum": 1}}}])}
        limited = sum(row.get("held", 0) for row in self.db.sms_counters.find(
            {"_id": {"$regex": f"^phone:.*:{day}T"}}, {"held": 1}))
        return {"day": day, "sms_sent": today.get("sent", 0),
                "held_by_daily_budget": today.get("held", 0),
                "held_by_phone_limit": limited, "held_now": held}
