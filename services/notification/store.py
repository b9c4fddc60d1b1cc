"""Notification's store: the contact book (the newest entry of each
application, ``domain.BookEntry``), one message per (event, channel)
with its delivery log, and the SMS counters.

The message id comes from the domain (``<event_id>.<channel>``): a
redelivered event finds its message already sent and sends nothing. A
message is claimed (owner = whoever set ``claimed_until``, a lease) before it
is sent, so two copies of one event handled at once send once. Which
messages to send, and when to give up, is ``domain.py``'s; this module only
loads, saves and emits.

The message row keeps what was rendered (``content``), because a message
held back (quiet hours, limits) is sent later by the sweeper, without its
event; a WhatsApp message keeps its whole notice (``notice``: every
channel's text, the contact), from which its stand-in on another channel is
made if WhatsApp reports it failed later. The delivery log shown to
operators never includes either, nor the address.

Personal data is kept ``RETENTION_DAYS`` (``keep_for``, at the store's
start): a message from when it became final (``final_at``; one pending or
held has none, and stays), a contact from its last update, an application's
end from when it happened; the SMS counters until their hour or day ends.
"""

from __future__ import annotations

import datetime
import logging
import os
import socket
import uuid

from pymongo import ASCENDING, DESCENDING, InsertOne, UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError

from shared.clock import utcnow
from shared.group_writes import DUPLICATE_KEY
from shared.indexes import expire_after, migrate_once
from shared.mongo import StoreWithOutbox
from shared.outbox import PENDING
from shared.paging import page_after
from shared.store import BaseStore, update_then_read
from shared.settings import InvalidSetting, refuse_from_setup

from .callbacks import Logged
from .domain import (BOOKING_ENDINGS, REPLACEABLE, BookEntry, Filed, Finished, Guards, Notice,
                     OutgoingMessage, day_bucket, hour_bucket, kinds_replacing, outdated)
from .messages import Texts
from .settings import retention

log = logging.getLogger(__name__)

# longer than any gateway call may take (their timeouts are seconds): a claim
# outlives its sender only if the sender died, and then the retry takes over
CLAIM = datetime.timedelta(seconds=120)
# a receipt or pickup window whose event is older than this when first
# handled is checked against the notices on file (``_claim``): a fresh one
# goes out unread
LATE_RECEIPT = datetime.timedelta(seconds=10)
# whose claim it is: this process. A claim it made and no longer uses - its
# sending raised (a database stall, the broker's connection lost) - is its
# to take again at once, without waiting for the claim to run out (outside
# audit R2: after a stall a retried SMS waited 2-3 minutes); another
# process's is left until it runs out. ``_using`` holds the messages this
# process is claiming or sending now (each greenthread's token), so two
# copies of one event handled here at once still send once
OWNER = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
_using: dict[str, object] = {}


def start_using(message_id: str) -> bool:
    """Whether this greenthread may claim the message: no other of this
    process is claiming or sending it (one step: greenthreads switch only on
    I/O, and threads see ``setdefault`` whole)."""
    token = object()
    return _using.setdefault(message_id, token) is token


# what an operator sees of a message: never its text or the address
LOG_FIELDS = {"_id": 1, "about": 1, "kind": 1, "channel": 1, "status": 1, "created_at": 1,
              "sent_at": 1, "provider_ref": 1, "last_error": 1, "held_reason": 1, "due_at": 1,
              "dropped_at": 1, "dropped_because": 1, "attempts": 1, "fallback_for": 1,
              "delivered_at": 1, "read_at": 1}
HELD = "held"
# what ``open_message`` answers of a message no delivery is to send now: done
# (sent, given up), waiting for the sweeper (held), or dropped as old news
# (superseded, withdrawn: a redelivered copy of its event sends nothing - it
# was answered "in flight" and retried into the DLQ)
SETTLED = ("sent", "failed", HELD, "superseded", "withdrawn")
# why a message given up is held again: an operator asked to send it again
RESEND = "resend"
# a message's final statuses, and the field each had its time in before a
# final message carried ``final_at`` (what its retention counts from)
ENDED_AT = {"sent": "sent_at", "failed": "failed_at", "superseded": "dropped_at",
            "withdrawn": "dropped_at"}
# the operators' list of messages given up: the newest first, then by id
FAILED_ORDER = [("failed_at", DESCENDING), ("_id", DESCENDING)]
FAILED_FIELDS = {**LOG_FIELDS, "application_id": 1, "tracking_code": 1, "failed_at": 1}


def message_row(message: OutgoingMessage, now: datetime.datetime, state: dict) -> dict:
    """A new message's row: what it is, what was rendered, and ``state``
    (its status, a claim or a hold). A message that keeps its notice (one
    WhatsApp may report failed after it was sent) keeps it here, with the
    channels that take over from it, so its stand-in can be made later."""
    row = {"_id": message.message_id, "about": message.about, "kind": message.kind,
           "application_id": message.application_id, "tracking_code": message.tracking_code,
           "channel": message.channel, "address": message.address,
           "language": message.language,
           "content": {"text": message.text, "subject": message.subject, "html": message.html,
                       "params": list(message.params)},
           "occurred_at": message.occurred_at, "attempts": [], "created_at": now, **state}
    if message.notice is not None and (message.channel == "whatsapp"
                                       or message.takes_over is not None):
        row.update(kept_notice(message))
    if message.takes_over is not None:
        row["fallback_for"] = message.takes_over
    return row


def kept_notice(message: OutgoingMessage) -> dict:
    """The fields that keep a message's notice, for its stand-in."""
    return {"notice": notice_row(message.notice), "fallbacks": list(message.fallbacks)}


def notice_row(notice: Notice) -> dict:
    """What of a notice its message's row does not say already."""
    texts = notice.texts
    return {"event_id": notice.event_id,
            "contact": {key: notice.contact.get(key)
                        for key in ("phone", "email", "language", "preferred_channel")},
            "texts": {"sms": texts.sms, "subject": texts.subject, "text": texts.text,
                      "html": texts.html, "whatsapp": list(texts.whatsapp)},
            "first": list(notice.first), "given": list(notice.given)}


def message_from_row(row: dict) -> OutgoingMessage:
    content, kept = row["content"], row.get("notice")
    notice = None if kept is None else Notice(
        kept["event_id"], row["about"], row["kind"], row["application_id"],
        row["tracking_code"], kept["contact"],
        Texts(**{**kept["texts"], "whatsapp": tuple(kept["texts"]["whatsapp"])}),
        tuple(kept["first"]), tuple(kept["given"]), happened(row))
    return OutgoingMessage(row["_id"], row["about"], row["kind"], row["application_id"],
                           row["tracking_code"], row["channel"], row["address"],
                           row.get("language", "id"), content["text"], content.get("subject"),
                           content.get("html"), tuple(content.get("params") or ()),
                           fallbacks=tuple(row.get("fallbacks") or ()),
                           occurred_at=happened(row), notice=notice,
                           takes_over=row.get("fallback_for"), resends=row.get("resends", 0))


def dropped(status: str, because: str, now: datetime.datetime) -> dict:
    """The update recording a message not to be sent (``superseded`` or
    ``withdrawn``) and why: held by the sweeper, or claimed on a retry."""
    return {"$set": {"status": status, "dropped_because": because, "dropped_at": now,
                     "final_at": now, "claimed_until": None},
            "$unset": {"held_reason": ""}}


def happened(row: dict) -> datetime.datetime:
    """When a message's event happened; a row stored before rows said so:
    when the message was made."""
    return row.get("occurred_at") or row["created_at"]


def held_on(key: str, until: datetime.datetime) -> UpdateOne:
    """One more message held back by the counter ``key`` (created, ending
    ``until``, if none: a zero limit counts its holds on a counter never
    used)."""
    return UpdateOne({"_id": key}, {"$inc": {"held": 1},
                                    "$setOnInsert": {"sent": 0, "expires": until}}, upsert=True)


class NotificationStore(BaseStore):
    # a message carries the event of its outcome (sent, failed)
    CARRIERS = ("messages",)
    # the allowance taken for the attempt under way: (channel, address,
    # counter keys), given back if the gateway or SMTP refuses it
    # (``record_failure``). A store is one worker's
    # (``StoreWithOutbox.get_dependency``), and a worker sends one message at
    # a time: take, send, record
    _taken: tuple[str, str, list[str]] | None = None

    @classmethod
    def ensure_indexes(cls, db) -> None:
        db.messages.create_index([("application_id", ASCENDING)])
        db.messages.create_index([("status", ASCENDING), ("due_at", ASCENDING)])
        # the failed list, read in its order a page at a time (``failed_messages``)
        db.messages.create_index([("status", ASCENDING), *FAILED_ORDER])
        # WhatsApp's status callbacks name a message by the id the Cloud API
        # gave it (sparse: a message has one once it is sent)
        db.messages.create_index([("provider_ref", ASCENDING)], sparse=True)
        # a counter is gone once its hour or day is over (``take_sms_allowance``
        # sets when): no phone number stays on file for the counting
        db.sms_counters.create_index([("expires", ASCENDING)], expireAfterSeconds=0)
        super().ensure_indexes(db)

    @classmethod
    def keep_for(cls, db, kept: datetime.timedelta) -> None:
        """Personal data no longer than ``kept`` (``RETENTION_DAYS``): TTL
        indexes on when a message became final, a contact's last update,
        an application's end. Messages final before they said when are
        given that date once."""
        migrate_once(db, "messages_final_at", lambda: date_final_messages(db))
        seconds = int(kept.total_seconds())
        for collection, field in ((db.messages, "final_at"), (db.contacts, "updated_at"),
                                  (db.finished, "occurred_at")):
            expire_after(collection, field, seconds)

    # ---- contact book -----------------------------------------------------

    def save_contact(self, entry: BookEntry) -> None:
        """Keep ``entry`` unless the book holds a newer one (``BookEntry``):
        a guarded upsert that matches the application's row if it is as old
        or older (or says not when: stored before entries did), else
        collides with it (a duplicate key) and changes nothing. So a
        redelivery changes nothing and an older event never overwrites a
        newer contact. A duplicate key is also a lost race of two first
        entries at once: the guarded update is tried once more without the
        upsert, on the row the other made. With the other contacts of the
        moment: one command (group commit)."""
        guard = {"_id": entry.application_id, "as_of": {"$not": {"$gt": entry.as_of}}}
        update = {"$set": {"contact": entry.contact, "full_name": entry.full_name,
                           "as_of": entry.as_of, "updated_at": utcnow()}}
        try:
            self.groups["contacts"].write(UpdateOne(guard, update, upsert=True))
        except DuplicateKeyError:
            self.db.contacts.update_one(guard, update)  # newer on file: matches nothing

    def contact_for(self, application_id: str) -> dict | None:
        """The application's contact, with the applicant's ``full_name`` when
        the book knows it; None if it has no entry."""
        row = self.db.contacts.find_one({"_id": application_id})
        if not row:
            return None
        return {**row["contact"], "full_name": row["full_name"]} if row.get("full_name") \
            else row["contact"]

    # ---- messages ---------------------------------------------------------

    def open_message(self, message: OutgoingMessage, handled_before: bool = False) -> str:
        """Record the message unless an earlier delivery did, and claim it for
        sending. Returns ``"pending"`` (claimed: send it now), a settled
        status (``SETTLED``: ``"sent"``, ``"failed"``, ``"held"``,
        ``"superseded"``, ``"withdrawn"``) or ``"in_flight"`` (another
        worker holds the claim). ``handled_before``: its event is a copy
        most likely handled already (``shared.messaging.Republished``), so
        one read looks first - a settled message costs the claim three
        commands (an insert refused, an update matching nothing, a read),
        and a broker's kept events published again made notification the
        consumer the others waited for (bench/README.md)."""
        if handled_before and (settled := self._settled(message.message_id)) is not None:
            return settled
        if not start_using(message.message_id):
            return "in_flight"  # another greenthread of this process is on it
        status = None
        try:
            status = self._claim(message)
        finally:
            if status != "pending":  # (None: the claim raised)
                self.let_go(message.message_id)
        return status

    def _claim(self, message: OutgoingMessage) -> str:
        now = utcnow()
        claimed = {"claimed_until": now + CLAIM, "claimed_by": OWNER}
        try:  # with the other messages of the moment: one command (group commit)
            self.groups["messages"].write(InsertOne(
                message_row(message, now, {"status": "pending", **claimed})))
            # a receipt come late (a backlog: notification stopped or frozen,
            # a broker's events published again) after a later notice was
            # sent: old news (outside audit L3: "received, we check it in 3
            # working days" came after "ready to collect"). A fresh one costs
            # no read
            if message.kind in REPLACEABLE and message.occurred_at is not None and \
                    now - message.occurred_at > LATE_RECEIPT:
                return self._unless_old_news(message, now)
            return "pending"
        except DuplicateKeyError:
            pass
        # unclaimed, its claim ran out, or this process's own claim left by a
        # sending that raised (a flat guard, and no findAndModify:
        # shared/store.py). Matched, not modified: this process's claim
        # taken again within the millisecond it was made (a stored time is
        # whole milliseconds) is set to what it holds - no change, and it
        # was answered "in flight" (a flaky test on a fast host)
        if self.db.messages.update_one(
                {"_id": message.message_id, "status": "pending",
                 "$or": [{"claimed_until": {"$not": {"$gte": now}}}, {"claimed_by": OWNER}]},
                {"$set": claimed}).matched_count:
            return self._unless_old_news(message, now)
        return self._settled(message.message_id) or "in_flight"

    def _settled(self, message_id: str) -> str | None:
        """The message's status if it is settled (``SETTLED``), else None
        (pending, or not on file)."""
        row = self.db.messages.find_one({"_id": message_id}, {"status": 1})
        return row["status"] if row is not None and row["status"] in SETTLED else None

    def _unless_old_news(self, message: OutgoingMessage, now: datetime.datetime) -> str:
        """A message claimed again (its event retried: a gateway was out),
        or a receipt or pickup window first handled late (``LATE_RECEIPT``),
        is dropped as the sweeper drops a held one (``domain.outdated``):
        ``superseded`` once a later notice replacing it is on file (any
        later one, for a receipt; a later window, for a window - a "ready"
        retried past an outage after its "moved" went named the old day: a
        review), ``withdrawn`` once its application - or booking - is over;
        one read, on such a message only. Else ``"pending"``: send it."""
        if not message.may_go_stale or message.occurred_at is None:
            return "pending"
        drop = outdated([message], *self._on_file([message])).get(message.message_id)
        if drop is None:
            return "pending"
        status, because = drop
        self.db.messages.update_one({"_id": message.message_id, "status": "pending"},
                                    dropped(status, because, now))
        log.info("%s for %s not sent (%s): %s", message.channel, message.tracking_code, status,
                 "its application is over" if status == "withdrawn"
                 else "a later notice about its application replaced it")
        return status

    @staticmethod
    def let_go(message_id: str) -> None:
        """This process no longer uses its claim on the message (sent,
        settled, or its sending raised)."""
        _using.pop(message_id, None)

    def hold_new(self, message: OutgoingMessage, reason: str, until: datetime.datetime) -> None:
        """Record a stand-in not on file yet, held until ``until`` (the
        sweeper sends it); one on file already (the same stand-in made
        before: a callback delivered twice) is left as it is."""
        try:
            self.db.messages.insert_one(message_row(message, utcnow(), {
                "status": HELD, "held_reason": reason, "due_at": until, "claimed_until": None}))
        except DuplicateKeyError:
            pass

    def hold(self, message_id: str, reason: str, until: datetime.datetime,
             message: OutgoingMessage | None = None) -> None:
        """Held until ``until``; ``message``'s notice kept with it, if it has
        one (the sweeper makes its stand-in from it: an SMS held overnight
        and failing at 06:00 went to no other channel - a review)."""
        kept = kept_notice(message) if message is not None and message.notice is not None \
            else {}
        self.db.messages.update_one({"_id": message_id}, {"$set": {
            "status": HELD, "held_reason": reason, "due_at": until, "claimed_until": None,
            **kept}})
        self.let_go(message_id)

    def claim_due(self, now: datetime.datetime, limit: int = 50) -> list[OutgoingMessage]:
        """Claim held messages whose time has come (the sweeper sends them),
        but first drop those that no longer apply (``domain.outdated``):
        marked ``superseded`` or ``withdrawn``, never sent. What is known of
        their applications is read in one query for the whole batch."""
        # and those a sweeper claimed and never settled (its sending raised
        # something other than a gateway's failure - a database stall - or
        # its process died): pending, their claim run out. Their events were
        # handled long ago; nothing else would ever send them (a review)
        due_now = {"$or": [{"status": HELD, "due_at": {"$lte": now}},
                           {"status": "pending", "due_at": {"$lte": now},
                            "claimed_until": {"$lt": now}}]}
        # those due at once (the end of the quiet hours) in the order their
        # events happened: a booking's "cancelled" before its new "booked" -
        # a move's two events share their moment (intake's one transaction),
        # so at a tie an end goes first (the test of this saw them in either
        # order, the stale booking last, two runs in three)
        rows = list(self.db.messages.find(
            due_now, sort=[("due_at", ASCENDING), ("occurred_at", ASCENDING)], limit=limit))
        rows.sort(key=lambda row: (row["due_at"], happened(row),
                                   row["about"] not in BOOKING_ENDINGS))
        due = [message_from_row(row) for row in rows]
        drops = outdated(due, *self._on_file(due)) if due else {}
        self._drop(drops, due_now, now)
        claim = {"$set": {"status": "pending", "claimed_until": utcnow() + CLAIM,
                          "claimed_by": OWNER},
                 "$unset": {"held_reason": ""}}
        # each guarded by the filter again: one another sweeper took is
        # skipped; the sweeper lets go of each it took once it is done
        # (``domain.send_due``)
        return [message for message in due if message.message_id not in drops
                and self._claim_held(message, due_now, claim)]

    def _claim_held(self, message: OutgoingMessage, due_now: dict, claim: dict) -> bool:
        if not start_using(message.message_id):
            return False
        taken = False
        try:
            taken = bool(self.db.messages.update_one({**due_now, "_id": message.message_id},
                                                     claim).modified_count)
        finally:
            if not taken:
                self.let_go(message.message_id)
        return taken

    def _on_file(self, due: list[OutgoingMessage]) -> tuple[list[Filed], dict[str, Finished]]:
        """The messages on file that could replace one of ``due`` (its
        application's or booking's, of a kind of its topic), and which of
        those applications and bookings are over: one aggregate over both
        collections."""
        ids = sorted({m.application_id for m in due if m.may_go_stale})
        if not ids:
            return [], {}
        kinds = kinds_replacing(m.kind for m in due)
        rows = self.db.messages.aggregate([
            {"$match": {"application_id": {"$in": ids},
                        **({} if kinds is None else {"kind": {"$in": sorted(kinds)}})}},
            {"$project": {"application_id": 1, "kind": 1, "occurred_at": 1, "created_at": 1}},
            {"$unionWith": {"coll": "finished", "pipeline": [{"$match": {"_id": {"$in": ids}}}]}}])
        filed, finished = [], {}
        for row in rows:
            if "finished_by" in row:
                finished[row["_id"]] = Finished(row["_id"], row["finished_by"], row["occurred_at"])
            else:
                filed.append(Filed(row["_id"], row["application_id"], row["kind"], happened(row)))
        return filed, finished

    def _drop(self, drops: dict[str, tuple[str, str]], due_now: dict,
              now: datetime.datetime) -> None:
        """Record due messages as not to be sent (status and why), in one
        command; one claimed by another sweeper meanwhile is left to it."""
        if drops:
            self.db.messages.bulk_write([UpdateOne(
                {**due_now, "_id": message_id}, dropped(status, because, now))
                for message_id, (status, because) in drops.items()], ordered=False)

    def finished(self, application_id: str) -> Finished | None:
        """How the application ended (``note_finished``), if it has."""
        row = self.db.finished.find_one({"_id": application_id})
        return Finished(row["_id"], row["finished_by"], row["occurred_at"]) if row else None

    def note_finished(self, end: Finished) -> None:
        """An application or a booking is over (``domain.FINISHING``,
        ``domain.BOOKING_ENDINGS``): its held messages
        from before are dropped when they fall due. The first such event
        counts. With the other writes of the moment: one command."""
        try:
            self.groups["finished"].write(UpdateOne(
                {"_id": end.application_id},
                {"$setOnInsert": {"finished_by": end.by, "occurred_at": end.occurred_at}},
                upsert=True))
        except DuplicateKeyError:
            pass  # two such events at once: the other one counts

    def take_sms_allowance(self, phone: str, now: datetime.datetime,
                           guards: Guards) -> tuple[str, datetime.datetime] | None:
        """Count one SMS against the phone's hourly limit, then the day's
        budget, each a guarded $inc that counts only below its limit, both in
        one round trip (``_count_within``); over a limit the SMS is held. The
        phone first: a phone count taken back (the day was full) can only
        hold that number's other SMS, which the full day holds anyway, while
        a day count taken back could hold another citizen's SMS the budget
        had room for."""
        self._taken = None
        hour, hour_ends = hour_bucket(now)
        day, day_ends = day_bucket(now)
        counters = ((f"phone:{phone}:{hour}", guards.per_phone_per_hour, "phone_limit", hour_ends),
                    (f"day:{day}", guards.daily_budget, "daily_budget", day_ends))
        counted = self._count_within(counters)
        if counted == len(counters):
            self._taken = ("sms", phone, [key for key, *_ in counters])
            return None
        key, _, reason, until = counters[counted]
        holds = [held_on(key, until)]
        if reason == "phone_limit":
            # the day counts them too: the operators' counters read the day's
            # row alone (``counters``), never every phone's
            day_key, *_, day_ends = counters[1]
            holds.append(UpdateOne({"_id": day_key}, {"$inc": {"held_by_phone": 1},
                                                      "$setOnInsert": {"sent": 0, "held": 0,
                                                                       "expires": day_ends}},
                                   upsert=True))
        self.db.sms_counters.bulk_write(holds, ordered=False)
        if counted:  # the phone's count was taken: give it back
            self.db.sms_counters.update_one({"_id": counters[0][0]}, {"$inc": {"sent": -1}})
        return reason, until

    def take_email_allowance(self, address: str, now: datetime.datetime,
                             guards: Guards) -> tuple[str, datetime.datetime] | None:
        """Count one e-mail against the address's hourly limit
        (``per_email_per_hour``), as an SMS against its phone's, in the same
        counters (their TTL deletes them when the hour is over); over it the
        e-mail is held until the hour ends (``email_limit``). A submission
        names any address: this bounds what the Dinas' mail server sends to
        one mailbox, whoever submits. An e-mail SMTP refused gives it back
        (``record_failure``)."""
        self._taken = None
        hour, hour_ends = hour_bucket(now)
        key = f"email:{address.lower()}:{hour}"
        if self._count_within(((key, guards.per_email_per_hour, "email_limit", hour_ends),)):
            self._taken = ("email", address, [key])
            return None
        self.db.sms_counters.bulk_write([held_on(key, hour_ends)])
        return "email_limit", hour_ends

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
        """Log the failed attempt and release the claim; the failed attempts so
        far. An SMS the gateway refused gives its allowance back: only SMS it
        accepted count against the phone's hourly limit and the day's budget
        (a 503 burst held the citizen's next code for an hour)."""
        row = update_then_read(self.db.messages, {"_id": message_id}, {
            "$set": {"claimed_until": None, "last_error": reason},
            "$push": {"attempts": {"at": utcnow(), "ok": False, "reason": reason}}},
            projection={"attempts.ok": 1, "channel": 1, "address": 1})
        taken, self._taken = self._taken, None
        if taken is not None and (row["channel"], row["address"]) == taken[:2]:
            # guarded: a counter expired meanwhile (TTL) is not made negative
            self.db.sms_counters.bulk_write([UpdateOne({"_id": key, "sent": {"$gt": 0}},
                                                       {"$inc": {"sent": -1}})
                                             for key in taken[2]], ordered=False)
        return sum(1 for attempt in row["attempts"] if not attempt["ok"])

    def record_sent(self, message: OutgoingMessage, provider_ref: str) -> None:
        """Mark sent and emit ``notification_sent``: one update, the message carries it."""
        self._taken = None  # it counts
        now = utcnow()
        self._settle(message, {"status": "sent", "sent_at": now, "final_at": now,
                               "provider_ref": provider_ref, "claimed_until": None},
                     {"$push": {"attempts": {"at": now, "ok": True}}},
                     "notification_sent", self._outcome(message))
        self.let_go(message.message_id)

    def give_up(self, message: OutgoingMessage, reason: str) -> None:
        """Mark failed for good and emit ``notification_failed``: one update."""
        now = utcnow()
        self._settle(message, {"status": "failed", "failed_at": now, "final_at": now,
                               "last_error": reason, "claimed_until": None}, {},
                     "notification_failed", {"reason": reason, **self._outcome(message)})
        self.let_go(message.message_id)

    def _settle(self, message: OutgoingMessage, fields: dict, more: dict, event_type: str,
                payload: dict) -> None:
        """A pending message's outcome and its event, once (a message settled
        already changes nothing, and emits nothing). A message not about an
        application (a booking's, an officer's) emits none: the event's
        ``application_id`` names an application (docs/events.md)."""
        pending = {"_id": message.message_id, "status": "pending"}
        if not message.about_an_application:
            self.groups["messages"].write(UpdateOne(pending, {"$set": fields, **more}))
            return
        carried = self.carry(self.db.messages, [(event_type, payload)])
        # with the other outcomes of the moment (group commit); a batch that
        # cannot say whether this one was written is asked by its event's id
        if self.groups["messages"].modified(
                UpdateOne(pending, carried.update({"$set": fields, **more})),
                proof={"_id": message.message_id, f"{PENDING}._id": carried.rows[0]["_id"]}):
            carried.written(message.message_id)

    # ---- WhatsApp's status callbacks (``callbacks.py``) ---------------------

    def whatsapp_message(self, wamid: str, reference: str | None) -> Logged | None:
        """The WhatsApp message the Cloud API calls ``wamid`` (through the
        sparse index), else the one our ``reference`` names."""
        row = self.db.messages.find_one({"provider_ref": wamid})
        if (row is None or row["channel"] != "whatsapp") and reference:
            row = self.db.messages.find_one({"_id": reference})
        if row is None or row["channel"] != "whatsapp":
            return None
        return Logged(message_from_row(row), row["status"], row.get("provider_ref"),
                      "delivered_at" in row or "read_at" in row, row.get("sent_at"))

    def record_reached(self, message_id: str, status: str, at: datetime.datetime) -> None:
        """``delivered`` / ``read`` at ``at``: each kept at its earliest
        (``$min``: a redelivery, or one out of order, changes nothing); a
        message read was delivered too."""
        reached = {"read_at": at, "delivered_at": at} if status == "read" else {"delivered_at": at}
        self.db.messages.update_one({"_id": message_id}, {"$min": reached})

    def record_whatsapp_failed(self, message: OutgoingMessage, reason: str,
                               at: datetime.datetime) -> bool:
        """A sent WhatsApp message not known to have reached the phone becomes
        failed, with ``notification_failed`` (one update, the message carries
        it); whether it is failed now, by this call or an earlier one."""
        guard = {"_id": message.message_id, "status": "sent",
                 "delivered_at": {"$exists": False}}
        now = utcnow()
        update = {"$set": {"status": "failed", "failed_at": now, "final_at": now,
                           "last_error": reason},
                  "$push": {"attempts": {"at": at, "ok": False, "reason": reason}}}
        carried = self.carry(self.db.messages, [
            ("notification_failed", {"reason": reason, **self._outcome(message)})]
            if message.about_an_application else [])
        if self.db.messages.update_one(guard, carried.update(update)).modified_count:
            carried.written(message.message_id)
            return True
        row = self.db.messages.find_one({"_id": message.message_id}, {"status": 1})
        return row is not None and row["status"] == "failed"

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

    def resend(self, message_id: str, now: datetime.datetime) -> str:
        """A message given up (``failed``) held to be sent again at once - an
        operator's choice once its gateway is back (outside audit S2: a
        citizen with a phone number only lost every notice of an SMS outage
        longer than the retry schedule, and nothing sent it again): the
        sweeper sends it (one attempt: it gives up again if it fails),
        unless it no longer applies by then (``domain.outdated``). Its
        status before: ``failed`` (held now), another, or None (no such
        message)."""
        if self.db.messages.update_one(
                {"_id": message_id, "status": "failed"},
                {"$set": {"status": HELD, "held_reason": RESEND, "due_at": now,
                          "claimed_until": None},
                 "$unset": {"final_at": ""}, "$inc": {"resends": 1}}).modified_count:
            return "failed"
        row = self.db.messages.find_one({"_id": message_id}, {"status": 1})
        return None if row is None else row["status"]

    def failed_messages(self, limit: int,
                        after: tuple[datetime.datetime, str] | None = None) -> list[dict]:
        """Messages given up, newest first, ``limit`` of them after ``after``
        (the last row of the page before: ``shared.paging``)."""
        return page_after(self._failed_rows, {"status": "failed"}, "failed_at", limit, after,
                          descending=True)

    def _failed_rows(self, query: dict, limit: int) -> list[dict]:
        return list(self.db.messages.find(query, FAILED_FIELDS).sort(FAILED_ORDER).limit(limit))

    def counters(self, now: datetime.datetime) -> dict:
        """Today's SMS count and what is held back, by reason: the day's
        counter and the messages held now (through their status index)."""
        day, _ = day_bucket(now)
        today = self.db.sms_counters.find_one({"_id": f"day:{day}"}) or {}
        held = {row["_id"]: row["count"] for row in self.db.messages.aggregate([
            {"$match": {"status": "held"}},
            {"$group": {"_id": "$held_reason", "count": {"$sum": 1}}}])}
        return {"day": day, "sms_sent": today.get("sent", 0),
                "held_by_daily_budget": today.get("held", 0),
                "held_by_phone_limit": today.get("held_by_phone", 0), "held_now": held}


def date_final_messages(db) -> None:
    """Give each final message without ``final_at`` the time it ended."""
    for status, ended_at in ENDED_AT.items():
        db.messages.update_many({"status": status, "final_at": {"$exists": False}},
                                [{"$set": {"final_at": f"${ended_at}"}}])


class NotificationStoreProvider(StoreWithOutbox):
    """The store and its relay (``StoreWithOutbox``), keeping personal data
    ``RETENTION_DAYS`` (``NotificationStore.keep_for``): set in ``setup()``,
    with the other indexes, before any consumer starts."""

    def __init__(self):
        super().__init__(NotificationStore, publishes_as="notification")

    def setup(self):
        # read before connecting (outside audit D: a value refused after the
        # database's set-up ended in two tracebacks, not the one line)
        try:
            kept = retention(self.container.config)
        except InvalidSetting as refused:
            refuse_from_setup(self.container, refused)
        super().setup()
        NotificationStore.keep_for(self.db, kept)
