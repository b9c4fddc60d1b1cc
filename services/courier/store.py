"""Courier's store (database ``courier``): what it knows of each verified
application, jemput-bola manifests, shipments and the webhook ids it has seen.

Each method loads, asks ``domain`` / ``posting`` what follows and writes the
answer with its events in one transaction. Pos itself is never called from
here: a shipment is recorded ``pending`` first, posted by the service, and
then marked dispatched - conditionally, so two workers racing on the same
order id emit ``parcel_dispatched`` once.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterator

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError, PyMongoError

from shared.clock import today_wib, utcnow, whole_milliseconds
from shared.events import occurred_at
from shared.indexes import drop_index_if_present, migrate_once
from shared.logs import error_line
from shared.manifests import member_dropped, member_verified
from shared.paging import page_after
from shared.store import BaseStore, at_or_after, claim_each, duplicate_key
from shared.wilayah import Wilayah

from .domain import (ACTIVE, AWAITS_REPRINT, FINAL, HELD, UNTAKEN, Event,
                     application_order_id, application_shipment, back_at_dinas, collection_note,
                     delivery_record, dispatch_wanted, dispatched, manifest_order_id,
                     new_shipment, ref, released, reprint_awaited, stuck_before, timely,
                     tracking_news)
from .exceptions import (BarcodeNotYetKnown, ManifestNotKnown, ManifestNotYetKnown, NotHeld,
                         NotYetKnown, ReplayedWebhook, UnknownShipment)
from .jemput_bola import (awaits_member_reprint, collection_at_dinas, manifest_complete,
                          manifest_record, may_be_on_its_way, parcel_members, parcel_update,
                          pos_answered, printed_as, reprints_awaited, sending_by_pos)
from .posting import Sender, manifest_posting
from .retention import (carried, deliveries_to_purge, delivery_purge, ended_delivery, holding,
                        shipment_purge)

log = logging.getLogger(__name__)

# since when a shipment's posting was sent to Pos, its barcode not recorded yet
IN_DOUBT = "posting_in_doubt_since"
WEBHOOK_ID_RETENTION = datetime.timedelta(days=7)  # far beyond the 5-minute tolerance

# the operators' list: newest first, equal creation times by id
LISTING_ORDER = [("created_at", DESCENDING), ("_id", DESCENDING)]
# the stuck list: oldest news first, equal times by id
STUCK_ORDER = [("last_news_at", ASCENDING), ("_id", ASCENDING)]
FIRST_WINDOW = datetime.timedelta(days=1)
BOUNDED_WINDOWS = 10  # 1, 2, 4 ... 512 days: ~2.8 years back, then the rest at once


def unknown_manifest(manifest_id: str) -> Exception:
    """A manifest courier does not know: not yet (503), or none (404)
    (``jemput_bola.may_be_on_its_way``)."""
    return ManifestNotYetKnown() if may_be_on_its_way(manifest_id, today_wib()) \
        else ManifestNotKnown()


class CourierStore(BaseStore):
    @classmethod
    def ensure_indexes(cls, db) -> None:
        db.shipments.create_index([("barcode", ASCENDING)], unique=True,
                                  partialFilterExpression={"barcode": {"$type": "string"}})
        # the lookups by barcode (Pos' webhooks) read this one: the partial
        # unique one only guards (shared/store.py)
        db.shipments.create_index([("barcode", ASCENDING)], name="by_barcode")
        # the operators' list (``list_shipments``), with a status and without
        drop_index_if_present(db.shipments, "status_1_created_at_-1")  # no tie-breaker
        db.shipments.create_index(LISTING_ORDER, name="listing")
        db.shipments.create_index([("status", ASCENDING), *LISTING_ORDER],
                                  name="listing_by_status")
        # polling (``claim_quiet``) and the stuck list (status ``$in``: the
        # local server reads it through the status prefix of either index)
        db.shipments.create_index([("status", ASCENDING), ("checked_at", ASCENDING)])
        db.shipments.create_index([("applications.application_id", ASCENDING)])
        # the purge (``purge_personal_data``): only shipments still holding
        # personal data have ``retention_from``
        db.shipments.create_index([("retention_from", ASCENDING)], name="purge_due")
        db.deliveries.create_index([("retention_from", ASCENDING)], name="purge_due",
                                   sparse=True)
        migrate_once(db, "shipments_retention_from", lambda: date_final_shipments(db))
        db.webhook_events.create_index([("received_at", ASCENDING)],
                                       expireAfterSeconds=int(WEBHOOK_ID_RETENTION.total_seconds()))
        super().ensure_indexes(db)

    # ------------------------------------------------------------ what courier learns

    def remember_application(self, event: dict, handled_before: bool = False):
        """A verified application's delivery record. A jemput-bola member: its
        manifest waits for it (again, if it was dropped before: rejected,
        then resubmitted); ``NotYetKnown`` before the manifest's
        ``batch_accepted``."""
        def work(session):
            record = delivery_record(event, utcnow())
            self.db.deliveries.replace_one({"_id": record["_id"]}, record, upsert=True,
                                           session=session)
            if event.get("manifest_id") and not self.db.manifests.update_one(
                    {"_id": event["manifest_id"]},
                    member_verified(event["application_id"], occurred_at(event)),
                    session=session).matched_count:
                raise NotYetKnown(event["manifest_id"])
            return record
        return self.consume_once(event, "remember_application", work, handled_before)

    def record_collection(self, event: dict, handled_before: bool = False):
        """The document is in the citizen's hands: noted on its delivery and
        on every shipment carrying it (``domain``: what that changes)."""
        def work(session):
            note = collection_note(event, utcnow())
            application_id = event["application_id"]
            self.db.deliveries.update_one({"_id": application_id}, {"$set": {"collected": note}},
                                          session=session)
            self.db.deliveries.update_one(ended_delivery(application_id),
                                          {"$set": {"retention_from": note["at"]}}, session=session)
            self.db.shipments.update_many(
                {"applications.application_id": application_id},
                {"$set": {f"collected.{application_id}": note, "updated_at": note["at"]}},
                session=session)
            return note
        return self.consume_once(event, "record_collection", work, handled_before)

    def await_reprint(self, event: dict) -> None:
        """A citizen's own parcel Pos has not taken goes back to print
        (``print_job_requeued``): its shipment waits for the reprint's print
        (``reprint_awaited``; one pending or held says so from now:
        ``AWAITS_REPRINT``); so does a jemput-bola manifest for a member
        it counted printed: no longer printed (its operators' view lists it
        among those not printed) until the reprint's print. The latest time
        is kept: a redelivery changes nothing. ``NotYetKnown`` before its
        ``application_verified``; an event from before it said how the
        document leaves, for an application courier has no record of (a
        counter pickup), changes nothing."""
        def work(session):
            delivery = self.db.deliveries.find_one_and_update(
                {"_id": event["application_id"]},
                {"$max": {"reprint_since": event["occurred_at"]}},
                projection={"delivery_method": 1, "manifest_id": 1, "reprint_since": 1,
                            "last_printed_at": 1},
                return_document=ReturnDocument.AFTER, session=session)
            if delivery is None:
                if event.get("delivery_method") == "pos" or event.get("manifest_id"):
                    raise NotYetKnown(event["application_id"])
                return
            if awaits_member_reprint(delivery):
                self.db.manifests.update_one({"_id": delivery["manifest_id"]},
                                             {"$pull": {"printed": delivery["_id"]}},
                                             session=session)
                # its parcel, made and not taken by Pos, waits for it too
                # (the first member's time stands)
                self.db.shipments.update_one(
                    {"_id": manifest_order_id(delivery["manifest_id"]),
                     "status": {"$in": list(UNTAKEN)}, "picked_up_at": None,
                     AWAITS_REPRINT: None},
                    {"$set": {AWAITS_REPRINT: reprint_awaited(delivery)}}, session=session)
            if delivery["delivery_method"] == "pos":  # the operators see it at once
                self.db.shipments.update_one(
                    {"_id": application_order_id(event["print_job_id"]),
                     "status": {"$in": ["pending", HELD]}},
                    {"$set": {AWAITS_REPRINT: reprint_awaited(delivery)}}, session=session)
        self.run_transaction(work)

    def application_ended(self, application_id: str) -> None:
        """Its application ended (cancelled, rejected, its print cancelled):
        a Pos-bound delivery record's personal data goes ``RETENTION_DAYS``
        from now (``purge_ended_deliveries``). One conditional write: a
        redelivery, or a record with none to keep, changes nothing."""
        self.db.deliveries.update_one(ended_delivery(application_id),
                                      {"$set": {"retention_from": utcnow()}})

    def remember_manifest(self, event: dict, handled_before: bool = False):
        def work(session):
            record = manifest_record(event)
            self.db.manifests.update_one({"_id": record["_id"]}, {"$setOnInsert": record},
                                         upsert=True, session=session)
            return record
        return self.consume_once(event, "remember_manifest", work, handled_before)

    def note_collection_at_dinas(self, event: dict) -> dict | None:
        """``batch_ready_for_kelurahan``: the manifest is released for its
        officer to collect at the Dinas (``jemput_bola.collection_at_dinas``).
        No inbox row: the first release stands however often it comes.
        ``NotYetKnown`` before the manifest's ``batch_accepted``."""
        def work(session):
            manifest = self.db.manifests.find_one({"_id": event["manifest_id"]}, session=session)
            if manifest is None:
                raise NotYetKnown(event["manifest_id"])
            note = collection_at_dinas(event, manifest)
            if note is not None:
                self.db.manifests.update_one({"_id": manifest["_id"]},
                                             {"$set": {"at_dinas": note}}, session=session)
            return note
        return self.run_transaction(work)

    # ------------------------------------------------------------ dispatch

    def shipments_for_printed(self, event: dict, regions: Wilayah,
                              sender: Sender) -> list[dict]:
        """The shipments a printed document calls for: its own (a ``pos``
        application: pending, recorded here if new, or held - its address
        cannot make a posting: recorded for an operator) and its manifest's
        (a jemput-bola member: pending once the manifest is complete).
        None of either for a counter pickup, a manifest not complete or not
        by Pos, one already dispatched. ``NotYetKnown`` before its
        ``application_verified``."""
        def work(session):
            # the latest print it heard of: whether a reprint is still awaited
            delivery = self.db.deliveries.find_one_and_update(
                {"_id": event["application_id"]},
                {"$max": {"last_printed_at": event["occurred_at"]}},
                return_document=ReturnDocument.AFTER, session=session)
            if delivery is None:
                raise NotYetKnown(event["application_id"])
            shipments = []
            if delivery["delivery_method"] == "pos":
                shipments.append(self._own_shipment(session, delivery, event["print_job_id"],
                                                    event["occurred_at"], regions, sender))
            if delivery.get("manifest_id"):
                shipments.append(self._manifest_member_printed(session, delivery,
                                                               event["occurred_at"], regions,
                                                               sender))
            return [shipment for shipment in shipments if shipment is not None]
        return self._once(work)

    def _own_shipment(self, session, delivery: dict, print_job_id: str, printed_at: str,
                      regions: Wilayah, sender: Sender) -> dict | None:
        """The citizen's own shipment, recorded if new; None when it is not
        to be posted now - nor for a print a reprint replaces: it is marked
        as waiting for that (``AWAITS_REPRINT``), and the reprint's print
        posts it."""
        order_id = application_order_id(print_job_id)
        found = self.db.shipments.find_one({"_id": order_id}, session=session)
        returned = self.db.shipments.find_one(
            {"applications.application_id": delivery["_id"], "status": "returned"},
            projection={"_id": 1}, session=session)
        if not dispatch_wanted(delivery, returned is not None):
            return None
        awaits = reprint_awaited(delivery, printed_at)
        if found is None:
            found = application_shipment(order_id, delivery, regions, sender, utcnow(),
                                         print_job_id=print_job_id, **{AWAITS_REPRINT: awaits})
            self.db.shipments.insert_one(found, session=session)
        elif found["status"] in ("pending", HELD) and found.get(AWAITS_REPRINT) != awaits:
            self.db.shipments.update_one({"_id": order_id, "status": found["status"]},
                                         {"$set": {AWAITS_REPRINT: awaits}}, session=session)
            found = {**found, AWAITS_REPRINT: awaits}
        if awaits:
            log.info("shipment %s not posted for a print sent back to print at %s: it waits "
                     "for the reprint", order_id, awaits)
            return None
        return found if found["status"] in ("pending", HELD) else None

    def _manifest_member_printed(self, session, delivery: dict, printed_at: str,
                                 regions: Wilayah, sender: Sender) -> dict | None:
        """A member printed: the manifest waits for it no longer - in the
        parcel, or in one of its own to its citizen's door
        (``jemput_bola.printed_members``). When, too: its latest print
        (``jemput_bola.reprints_awaited``). Not a print an operator sent
        back to print since (``awaits_member_reprint``): the manifest waits
        for the reprint's."""
        changes: dict = {"$max": {f"printed_at.{delivery['_id']}": printed_at}}
        if not awaits_member_reprint(delivery):
            changes["$addToSet"] = {printed_as(delivery): delivery["_id"]}
        manifest = self.db.manifests.find_one_and_update(
            {"_id": delivery["manifest_id"]}, changes,
            return_document=ReturnDocument.AFTER, session=session)
        if manifest is None:  # its batch_accepted not handled yet
            raise NotYetKnown(delivery["manifest_id"])
        return self._manifest_shipment(session, manifest, regions, sender)

    def drop_manifest_member(self, application_id: str, manifest_id: str | None,
                             at: datetime.datetime, regions: Wilayah,
                             sender: Sender) -> dict | None:
        """A member its manifest no longer waits for (``jemput_bola.manifest_complete``),
        dropped ``at`` (its event's time): the manifest's pending shipment if
        that completes it (the service posts it), else None. ``manifest_id``
        None: the application's own, looked up (a ``print_job_cancelled`` from
        before it named it). No inbox row: keeping the latest time is the same
        however often the event comes, and the order id makes one shipment.
        ``NotYetKnown`` before the manifest's ``batch_accepted``."""
        def work(session):
            found = manifest_id or (self.db.deliveries.find_one(
                {"_id": application_id}, projection={"manifest_id": 1}, session=session)
                or {}).get("manifest_id")
            if not found:
                return None
            manifest = self.db.manifests.find_one_and_update(
                {"_id": found}, member_dropped(application_id, at),
                return_document=ReturnDocument.AFTER, session=session)
            if manifest is None:
                raise NotYetKnown(found)
            return self._manifest_shipment(session, manifest, regions, sender)
        return self._once(work)

    def send_manifest_by_pos(self, manifest_id: str, office: dict, operator: str,
                             regions: Wilayah, sender: Sender) -> tuple[dict, dict | None]:
        """An operator chose Pos for this manifest, to the kelurahan office
        (``jemput_bola.sending_by_pos``: asked of printing the first time): (the
        manifest, its pending shipment once printing confirmed it and every
        document is printed)."""
        def work(session):
            manifest = self.db.manifests.find_one({"_id": manifest_id}, session=session)
            if manifest is None:
                raise unknown_manifest(manifest_id)
            decision, events = sending_by_pos(manifest, office, operator, utcnow())
            self.db.manifests.update_one({"_id": manifest_id}, {"$set": {"by_pos": decision}},
                                         session=session)
            self._emit_all(session, events)
            manifest = {**manifest, "by_pos": decision}
            return manifest, self._manifest_shipment(session, manifest, regions, sender)
        return self._once(work)

    def pos_answered(self, event_type: str, event: dict, regions: Wilayah,
                     sender: Sender) -> dict | None:
        """Printing's answer to the operator's choice of Pos
        (``jemput_bola.pos_answered``): confirmed, the manifest's pending
        shipment if every document is printed (the service posts it);
        refused, nothing is posted and the operator is answered 409 from
        now on. No inbox row: an answer known already changes nothing.
        ``NotYetKnown`` before the manifest's ``batch_accepted``."""
        def work(session):
            manifest = self.db.manifests.find_one({"_id": event["manifest_id"]}, session=session)
            if manifest is None:
                raise NotYetKnown(event["manifest_id"])
            update = pos_answered(manifest, event_type, event, utcnow())
            if update is None:
                return None
            changes: dict = {"$set": update}
            if reprints := reprints_awaited(manifest, event_type, event):
                changes["$pull"] = {"printed": {"$in": reprints}}
            manifest = self.db.manifests.find_one_and_update(
                {"_id": manifest["_id"]}, changes,
                return_document=ReturnDocument.AFTER, session=session)
            return self._manifest_shipment(session, manifest, regions, sender)
        return self._once(work)

    def manifest(self, manifest_id: str) -> tuple[dict, dict | None]:
        """A manifest as courier knows it, and its shipment if made
        (``ManifestNotYetKnown`` / ``ManifestNotKnown`` as for sending it)."""
        manifest = self.db.manifests.find_one({"_id": manifest_id})
        if manifest is None:
            raise unknown_manifest(manifest_id)
        return manifest, self.db.shipments.find_one({"_id": manifest_order_id(manifest_id)})

    def _manifest_shipment(self, session, manifest, regions, sender) -> dict | None:
        """The manifest's parcel to post once it is complete
        (``jemput_bola.manifest_complete``): made now, or the one made
        before and not posted yet - without a member dropped since
        (``jemput_bola.parcel_update``). A complete manifest waits for no
        reprint: neither does its parcel, whatever its status (one awaited,
        then cancelled, is waited for no more). None: not complete, Pos has
        it, or nothing it held is left to send."""
        if manifest is None or not manifest_complete(manifest):
            return None
        order_id = manifest_order_id(manifest["_id"])
        found = self.db.shipments.find_one({"_id": order_id}, session=session)
        if found is None:  # it carries the members printed by now (each a known delivery)
            deliveries = list(self.db.deliveries.find(
                {"_id": {"$in": parcel_members(manifest)}, "delivery_method": "pickup"},
                session=session))
            posting = manifest_posting(order_id, manifest, manifest["by_pos"], len(deliveries),
                                       regions, sender)
            found = new_shipment(order_id, "manifest", [ref(d) for d in deliveries], posting,
                                 utcnow(), manifest_id=manifest["_id"])
            self.db.shipments.insert_one(found, session=session)
            return found
        update = {AWAITS_REPRINT: None} if found.get(AWAITS_REPRINT) else {}
        if found["status"] == "pending":
            update.update(parcel_update(found, manifest))
            if "applications" in update and not update["applications"]:
                log.warning("parcel %s not posted: every member it held was dropped since "
                            "its print", order_id)
                return None
        if update:
            update["updated_at"] = utcnow()
            self.db.shipments.update_one({"_id": order_id, "status": found["status"]},
                                         {"$set": update}, session=session)
        return {**found, **update} if found["status"] == "pending" else None

    def _once(self, work):
        """Two workers creating the same shipment: the loser's insert fails on
        the order id; run again, it now finds the winner's."""
        try:
            return self.run_transaction(work)
        except DuplicateKeyError:
            return self.run_transaction(work)

    def release_held(self, shipment_id: str, corrections: dict, operator: str,
                     regions: Wilayah, sender: Sender) -> dict:
        """An operator's corrected address for a held shipment: the shipment,
        now pending with its posting (the service posts it, unless it waits
        for its document's reprint: ``AWAITS_REPRINT``, the reprint's print
        posts it). One already released but not yet accepted by Pos
        (pending, ``released``) is answered as it is, so the same request
        again posts it; any other status - a pending one never held too (a
        review: it was posted, its corrections not applied, a jemput-bola
        parcel without the reprint it waited for) -: ``NotHeld``."""
        def work(session):
            shipment = self._by_id_or_barcode(shipment_id, session)
            if shipment is None:
                raise UnknownShipment()
            if shipment["status"] not in ("pending", HELD):
                raise NotHeld(shipment["status"])
            application_id = shipment["applications"][0]["application_id"]
            delivery = self.db.deliveries.find_one({"_id": application_id}, session=session)
            # a manifest's parcel keeps what its members' reprints set
            awaits = reprint_awaited(delivery) if shipment["kind"] == "application" \
                else shipment.get(AWAITS_REPRINT)
            if shipment["status"] == "pending":
                if not shipment.get("released"):
                    raise NotHeld(shipment["status"])
                return {**shipment, AWAITS_REPRINT: awaits}
            delivery_update, update = released(shipment, delivery, corrections, operator,
                                               regions, sender, utcnow())
            update[AWAITS_REPRINT] = awaits
            self.db.deliveries.update_one({"_id": application_id}, {"$set": delivery_update},
                                          session=session)
            self.db.shipments.update_one({"_id": shipment["_id"], "status": HELD},
                                         {"$set": update, "$unset": {"hold": ""}},
                                         session=session)
            return {**{k: v for k, v in shipment.items() if k != "hold"}, **update}
        return self.run_transaction(work)

    def record_returned(self, shipment_id: str, reason: str, operator: str) -> dict:
        """An operator has the parcel back at the Dinas (``domain.back_at_dinas``):
        the shipment as it stands now. Written only from the status read, so
        Pos' news or another operator at the same moment runs after it, or
        before it, never beside it."""
        def work(session):
            shipment = self._by_id_or_barcode(shipment_id, session)
            if shipment is None:
                raise UnknownShipment()
            # as stored: the first answer says what the same request again reads back
            now = whole_milliseconds(utcnow())
            update, added, events = back_at_dinas(shipment, reason, operator, now)
            if update:
                self.db.shipments.update_one(
                    {"_id": shipment["_id"], "status": shipment["status"]},
                    {"$set": update, "$push": {"history": {"$each": added}}}, session=session)
                self._emit_all(session, events)
            return {**shipment, **update, "history": shipment["history"] + added}
        return self.run_transaction(work)

    def posting_refused(self, order_id: str) -> None:
        """Pos refused the posting (a 4xx): Pos certainly does not have it -
        its webhooks for barcodes courier does not know are no longer
        answered "not yet" on its account (a review: one refusal kept every
        unknown barcode at 503 until an operator saw to the shipment)."""
        try:
            self.db.shipments.update_one({"_id": order_id, "status": "pending"},
                                         {"$unset": {IN_DOUBT: ""}})
        except PyMongoError as exc:
            log.warning("shipment %s: posting refused, still marked in doubt (%s)", order_id,
                        error_line(exc))

    def posting_in_doubt(self, order_id: str) -> None:
        """The shipment's posting is about to be sent to Pos: from now until
        its barcode is recorded Pos may have it. Once per posting (a retry
        keeps the first time). Failing this (the database out of reach)
        only loses the mark: the call goes on."""
        try:
            self.db.shipments.update_one({"_id": order_id, "status": "pending",
                                          IN_DOUBT: {"$exists": False}},
                                         {"$set": {IN_DOUBT: utcnow()}})
        except PyMongoError as exc:
            log.warning("shipment %s: posting in doubt, not marked (%s)", order_id,
                        error_line(exc))

    def record_dispatch(self, order_id: str, barcode: str) -> dict:
        def work(session):
            shipment = self.db.shipments.find_one({"_id": order_id}, session=session)
            update, events = dispatched(shipment, barcode, utcnow())
            if update:
                self.db.shipments.update_one({"_id": order_id, "status": "pending"},
                                             {"$set": update}, session=session)
                self._emit_all(session, events)
            return {**shipment, **update}
        return self.run_transaction(work)

    # ------------------------------------------------------------ tracking

    def apply_tracking(self, barcode: str, pos_events: list[dict], source: str,
                       webhook_event_id: str | None = None) -> dict:
        """Pos' news about a barcode; a webhook's event id is accepted once.
        News dated ahead of our clock: ``DatedAhead`` for a webhook, left
        out of a poll (``domain.timely``)."""
        taken = timely(pos_events, source, utcnow())
        if len(taken) < len(pos_events):  # a clock at Pos ahead would show only as late news
            log.warning("%d Pos event(s) of %s dated ahead of our clock left out until their "
                        "time (%s)", len(pos_events) - len(taken), barcode, source)
        pos_events = taken

        def work(session):
            if webhook_event_id is not None:
                self.db.webhook_events.insert_one(
                    {"_id": webhook_event_id, "barcode": barcode, "received_at": utcnow()},
                    session=session)
            shipment = self.db.shipments.find_one({"barcode": barcode}, session=session)
            if shipment is None:
                # a posting in doubt may be this barcode's: Pos took it, its
                # answer lost, recorded on the posting's retry - "not yet"
                if self.db.shipments.find_one({"status": "pending", IN_DOUBT: {"$ne": None}},
                                              {"_id": 1}, session=session):
                    raise BarcodeNotYetKnown()
                raise UnknownShipment()
            update, added, events = tracking_news(shipment, pos_events, source, utcnow())
            if update.get("picked_up_at") and shipment.get(AWAITS_REPRINT):
                update[AWAITS_REPRINT] = None
                if shipment.get("manifest_id"):
                    self._reprints_withdrawn(session, shipment)
            changes = {"$set": update} if update else {}
            if added:
                changes["$push"] = {"history": {"$each": added}}
            if changes:
                self.db.shipments.update_one({"_id": shipment["_id"]}, changes, session=session)
            self._emit_all(session, events)
            return {**shipment, **update, "history": shipment["history"] + added}
        try:
            return self.run_transaction(work)
        except DuplicateKeyError as exc:
            if duplicate_key(exc) == {"_id": webhook_event_id}:
                raise ReplayedWebhook() from None
            raise

    def _reprints_withdrawn(self, session, shipment: dict) -> None:
        """Pos took a manifest's parcel while it waited for a member's
        reprint (``AWAITS_REPRINT``): printing withdraws the reprint - the
        parcel carries the member's print before (``parcel_picked_up``) -,
        so the manifest counts each member it carries printed again."""
        self.db.manifests.update_one(
            {"_id": shipment["manifest_id"]},
            {"$addToSet": {"printed": {"$each": [application["application_id"] for application
                                                 in shipment["applications"]]}}},
            session=session)

    def claim_quiet(self, quiet: datetime.timedelta, limit: int) -> list[dict]:
        """Up to ``limit`` shipments Pos still has and nobody heard of for
        ``quiet``: each claimed (``checked_at`` = now) so the next poll, or
        another instance, does not ask Pos about it again at once."""
        now = whole_milliseconds(utcnow())  # as stored: ``give_back_quiet`` matches it
        claimed = claim_each(self.db.shipments,
                             {"status": {"$in": list(ACTIVE)}, "checked_at": {"$lt": now - quiet}},
                             {"$set": {"checked_at": now}}, limit,
                             sort=[("checked_at", ASCENDING)], projection={"barcode": 1})
        return [{**shipment, "claimed_at": now} for shipment in claimed]

    def give_back_quiet(self, shipments: list[dict], quiet: datetime.timedelta) -> None:
        """Claims of ``claim_quiet`` whose Pos was not asked (the round
        stopped: Pos out of reach): due again at the next round, not
        ``quiet`` later (a review: the rest of a batch of 50 waited 6 more
        hours). One that got news meanwhile (a webhook: ``checked_at``
        moved) is left as it is."""
        for claimed_at in {shipment["claimed_at"] for shipment in shipments}:
            self.db.shipments.update_many(
                {"_id": {"$in": [shipment["_id"] for shipment in shipments
                                 if shipment["claimed_at"] == claimed_at]},
                 "checked_at": claimed_at},
                {"$set": {"checked_at": claimed_at - quiet}})

    # ------------------------------------------------------------ retention

    def purge_personal_data(self, kept: datetime.timedelta, limit: int) -> int:
        """Take the personal data of up to ``limit`` shipments final for
        longer than ``kept``, and of the delivery records of what they
        carry (``retention``); how many shipments lost it.

        Safe with every courier instance purging at once: the update is
        conditional (a shipment purged already has no ``retention_from``),
        and a transaction that lost the race is run again and finds the
        next ones. Read a window of finality at a time (``due_for_purge``)."""
        now = utcnow()
        before = now - kept

        def work(session):
            due = due_for_purge(self.db.shipments, before, limit, {"applications": 1}, session)
            if not due:
                return 0
            purged = self.db.shipments.update_many(
                {"_id": {"$in": [shipment["_id"] for shipment in due]},
                 "retention_from": {"$lt": before}}, shipment_purge(now), session=session)
            self.db.deliveries.update_many(
                {"_id": {"$in": deliveries_to_purge(due, self._carrying(carried(due), session))},
                 "personal_data_purged_at": {"$exists": False}},
                delivery_purge(now), session=session)
            return purged.modified_count
        return self.run_transaction(work)

    def purge_ended_deliveries(self, kept: datetime.timedelta, limit: int) -> int:
        """Take the personal data of up to ``limit`` delivery records whose
        application ended longer than ``kept`` ago with no shipment final
        (``retention``); how many lost it. One carried by a shipment still
        holding personal data keeps it and leaves the index: that
        shipment's purge takes it. Read as ``purge_personal_data`` reads
        (``due_for_purge``); safe with every instance purging at once."""
        now = utcnow()
        before = now - kept

        def work(session):
            due = [row["_id"] for row in due_for_purge(self.db.deliveries, before, limit,
                                                       {"_id": 1}, session)]
            if not due:
                return 0
            held = holding(self._carrying(due, session)) & set(due)
            if held:
                self.db.deliveries.update_many({"_id": {"$in": sorted(held)}},
                                               {"$unset": {"retention_from": ""}}, session=session)
            return self.db.deliveries.update_many(
                {"_id": {"$in": [delivery for delivery in due if delivery not in held]},
                 "retention_from": {"$lt": before}}, delivery_purge(now),
                session=session).modified_count
        return self.run_transaction(work)

    def _carrying(self, application_ids: list[str], session) -> list[dict]:
        """The shipments carrying any of ``application_ids``, as the purges
        need them (``retention.holding``)."""
        return list(self.db.shipments.find(
            {"applications.application_id": {"$in": application_ids}},
            projection={"applications": 1, "personal_data_purged_at": 1}, session=session))

    # ------------------------------------------------------------ operators' view

    def list_shipments(self, status: str | None, since: datetime.datetime | None,
                       until: datetime.datetime | None, limit: int,
                       after: tuple[datetime.datetime, str] | None = None) -> list[dict]:
        """Up to ``limit`` shipments (in ``status``; created from ``since``,
        before ``until``), newest first, equal creation times by id; those
        after ``after`` (the last row of the page before).

        Read in windows of creation time (``creation_windows``) until the page
        is full: the local server reads every entry within an index's bounds
        before it sorts and stops at the limit, so one read of "the newest
        100" read every shipment ever made (a 503 after 5 s at 50,000). A
        page usually fills within its first day. Flat filters, no ``$or``
        (shared/store.py): the rest of the cursor's moment, then the windows
        before it."""
        query = {"status": status} if status else {}
        rows: list[dict] = []
        if after is not None:
            at, shipment_id = after
            if (since is None or at >= since) and (until is None or at < until):
                rows = self._listed({**query, "created_at": at, "_id": {"$lt": shipment_id}},
                                    limit)
            until = at if until is None else min(at, until)
        for window in creation_windows(since, until, utcnow()):
            if len(rows) >= limit:
                break
            rows += self._listed({**query, "created_at": window}, limit - len(rows))
        return rows

    def _listed(self, query: dict, limit: int) -> list[dict]:
        return list(self.db.shipments.find(query).sort(LISTING_ORDER).limit(limit))

    def stuck(self, days: float, limit: int,
              after: tuple[datetime.datetime, str] | None = None) -> list[dict]:
        """Up to ``limit`` shipments not final with no news for ``days``,
        oldest news first, equal times by id; those after ``after`` (the
        last row of the page before: ``shared.paging.page_after``, whose
        position on ``last_news_at`` is read within the cut-off)."""
        quiet = {"$lt": stuck_before(utcnow(), days)}

        def read(query: dict, n: int) -> list[dict]:
            news = query.get("last_news_at", {})
            news = {**quiet, **(news if isinstance(news, dict) else {"$gte": news, "$lte": news})}
            return list(self.db.shipments.find({**query, "last_news_at": news})
                        .sort(STUCK_ORDER).limit(n))
        return page_after(read, {"status": {"$in": [HELD, "pending", *ACTIVE]}}, "last_news_at",
                          limit, after)

    def shipment(self, shipment_id: str) -> dict:
        found = self._by_id_or_barcode(shipment_id)
        if found is None:
            raise UnknownShipment()
        return found

    def _by_id_or_barcode(self, shipment_id: str, session=None) -> dict | None:
        """Two indexed reads at most (one with ``$or`` would scan every shipment)."""
        return (self.db.shipments.find_one({"_id": shipment_id}, session=session)
                or self.db.shipments.find_one({"barcode": shipment_id}, session=session))

    def _emit_all(self, session, events: list[Event]) -> None:
        for event in events:
            self.emit(session, event.type, **event.payload)


def date_final_shipments(db) -> None:
    """Shipments final before retention came count theirs from their last
    news (``last_news_at``: no earlier than the final one)."""
    db.shipments.update_many({"status": {"$in": list(FINAL)},
                              "retention_from": {"$exists": False},
                              "personal_data_purged_at": {"$exists": False}},
                             [{"$set": {"retention_from": "$last_news_at"}}])


def due_for_purge(collection, before: datetime.datetime, limit: int, projection: dict,
                  session) -> list[dict]:
    """Up to ``limit`` documents of ``collection`` whose ``retention_from`` is
    before ``before``, the most recently due first, read through its
    ``purge_due`` index a window at a time (``creation_windows``), never in
    one read: the local server reads every entry within an index's bounds
    before it stops at the limit, and a first purge after years finds most
    of them due."""
    due: list[dict] = []
    for window in creation_windows(None, before, before):
        due += collection.find({"retention_from": window}, projection=projection,
                               session=session).limit(limit - len(due))
        if len(due) >= limit:
            break
    return due


def creation_windows(since: datetime.datetime | None, until: datetime.datetime | None,
                     now: datetime.datetime) -> Iterator[dict]:
    """``created_at`` ranges, newest first, from ``until`` (None: open above,
    for a clock ahead of ours) back to ``since`` (None: open below): the first
    a day long, each next one twice the one before; after
    ``BOUNDED_WINDOWS`` the last takes the rest."""
    top, width, upper = until or now, FIRST_WINDOW, {"$lt": until} if until else {}
    for _ in range(BOUNDED_WINDOWS):
        bottom = top - width
        if since is not None and bottom <= since:
            break
        yield {**at_or_after(bottom), **upper}
        top, width, upper = bottom, width * 2, {"$lt": bottom}
    yield {**(at_or_after(since) if since else {}), **upper}
