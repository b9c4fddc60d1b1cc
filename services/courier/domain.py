"""Shipments and what Pos' tracking news does to them. Plain Python: no
nameko, no pymongo.

A shipment is keyed by its Pos order id, derived from what it carries (the
print job, or the jemput-bola manifest): however often the same
``document_printed`` arrives, and whoever handles it, there is one order id,
and Pos answers a reused order id with the same barcode. It moves

    pending (recorded, not yet accepted by Pos) -> dispatched (barcode)
      -> in_transit -> delivery_failed (an attempt; Pos tries again) -> ...
      -> delivered | returned (final)

A citizen's shipment whose address cannot make a posting (an unknown
kelurahan code; no postal code, none known for the kelurahan) starts
``held`` instead: posted nowhere, kept for an operator, who corrects the
address and releases it to ``pending``. Nothing is dead-lettered for it:
retrying the event could never fill in an address.

Tracking news arrives by webhook and by polling, in any order and more than
once: each Pos event is kept once in the history (keyed by status and time),
and only news newer than the shipment's latest moves it and tells anyone
(but news of an earlier pickup than the one told: ``tells_pickup``) -
so news dated ahead of courier's clock is not taken at all (``timely``).
Pos' free text (a courier's note, a location) is masked as it comes in
(``shared.masking.mask_text``): a note such as "Rumah kosong, hubungi
0812..." reaches the history, the ``parcel_*`` events' ``reason`` and from
there the citizen's timeline and SMS, and none of them may carry a phone
number or a NIK/KK. A note or a location is kept to ``NOTE_MAX_CHARS``
(``kept_text``).

A document in its citizen's hands (printing's ``document_collected``: at the
counter after a return, or handed over at the kelurahan) is noted on every
shipment that carries it; the status stays what Pos said (a returned
shipment stays returned), Pos' later news of it tells nobody, and no new
shipment is made for it. Nor after a return: the document waits at the
counter, reprinted or not.

A final shipment keeps its citizen's personal data ``RETENTION_DAYS`` from
when courier took its final news (``retention_from``), then loses it
(``retention``): the shipment stays, with its status, history and ids.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from shared.clock import as_utc
from shared.masking import mask_emails, mask_text
from shared.text_rules import one_line
from shared.wilayah import Wilayah

from .exceptions import DatedAhead, NotReturnable, UndeliverableAddress
from .posting import Sender, application_posting
from .signatures import TOLERANCE_SECONDS

ACTIVE = ("dispatched", "in_transit", "delivery_failed")  # Pos still has it
FINAL = ("delivered", "returned")
# the statuses that say Pos has the parcel in hand (``dispatched``: only the
# order is accepted, the parcel may still wait at the Dinas)
TAKEN_BY_POS = ACTIVE[1:] + FINAL
HELD = "held"  # for an operator: the address cannot make a posting
# a parcel still at the Dinas: not posted yet, or its order accepted (with
# no ``picked_up_at``)
UNTAKEN = ("pending", "dispatched")
# since when a citizen's shipment waits for its document's reprint (``reprint_awaited``)
AWAITS_REPRINT = "awaits_reprint"
STATUSES = (HELD, "pending", *ACTIVE, *FINAL)
# Pos' status -> the shipment's status, and the event it causes (if any)
POS_STATUSES = {
    "ACCEPTED": ("dispatched", None),
    "IN_TRANSIT": ("in_transit", None),
    "FAILED": ("delivery_failed", "parcel_delivery_failed"),
    "DELIVERED": ("delivered", "parcel_delivered"),
    "RETURNED": ("returned", "parcel_returned"),
}
# why an operator records a parcel back at the Dinas Pos never said RETURNED
# of (``back_at_dinas``): Pos brought it back to the counter, or Pos'
# courier never came for it
RETURN_REASONS = ("brought_back_by_pos", "never_taken_by_pos")
# how far ahead of courier's clock a Pos event may be dated: the clocks are
# trusted to agree as far as the webhook signature's timestamp must
AHEAD_TOLERANCE = datetime.timedelta(seconds=TOLERANCE_SECONDS)
# what is kept of a courier's note or a location: enough for any real one
# ("Rumah kosong, ..."); a longer one is cut, not refused - Pos does not send a refused
# webhook again, and the note otherwise reached the history, the event's
# ``reason`` and the citizen's timeline whole, at up to the body limit
NOTE_MAX_CHARS = 500


@dataclass(frozen=True)
class Event:
    """A fact to emit together with the change that caused it."""
    type: str
    payload: dict


def concerns_courier(event: dict) -> bool:
    """Whether an ``application_verified`` or ``document_printed`` is any of
    courier's business: not for a counter pickup outside a jemput-bola
    manifest (most applications), which courier skips with no database work.
    A ``document_printed`` from before it said how the document leaves is
    looked up."""
    return event.get("delivery_method", "pos") != "pickup" or bool(event.get("manifest_id"))


def delivery_record(event: dict, now: datetime.datetime) -> dict:
    """What courier keeps of an ``application_verified``. For a counter
    pickup only the method and the manifest: no personal data it will not use."""
    record = {"_id": event["application_id"], "delivery_method": event["delivery_method"],
              "manifest_id": event.get("manifest_id"), "tracking_code": event["tracking_code"],
              "document_type": event["document_type"], "verified_at": now}
    if event["delivery_method"] == "pos":
        record.update(full_name=event["full_name"], contact=event["contact"],
                      delivery_address=event["delivery_address"])
    return record


def application_order_id(print_job_id: str) -> str:
    return f"SDK-{print_job_id}"


def manifest_order_id(manifest_id: str) -> str:
    return f"SDK-{manifest_id}"


def ref(delivery: dict) -> dict:
    """What each ``parcel_*`` event says about one application it carries
    (from its ``delivery_record``)."""
    return {"application_id": delivery["_id"], "tracking_code": delivery["tracking_code"],
            "document_type": delivery["document_type"]}


def new_shipment(order_id: str, kind: str, carries: list[dict], posting: dict,
                 now: datetime.datetime, **extra) -> dict:
    """A shipment about to be posted; ``carries``: the applications' refs."""
    return {"_id": order_id, "kind": kind, "applications": carries, "posting": posting,
            "status": "pending", "barcode": None, "history": [], "created_at": now,
            "updated_at": now, "last_news_at": now, "checked_at": now, **extra}


def application_shipment(order_id: str, delivery: dict, regions: Wilayah, sender: Sender,
                         now: datetime.datetime, **extra) -> dict:
    """A citizen's shipment (``delivery``: its ``delivery_record``): pending
    with its posting, or held for an operator, naming the address' fields
    that cannot make one."""
    try:
        posting = application_posting(order_id, delivery, regions, sender)
    except UndeliverableAddress as exc:
        return {**new_shipment(order_id, "application", [ref(delivery)], None, now, **extra),
                "status": HELD, "hold": {"reason": "address_incomplete",
                                         "fields": exc.fields, "since": now}}
    return new_shipment(order_id, "application", [ref(delivery)], posting, now, **extra)


def released(shipment: dict, delivery: dict, corrections: dict, operator: str,
             regions: Wilayah, sender: Sender, now: datetime.datetime) -> tuple[dict, dict]:
    """An operator corrects a held shipment's address: (the delivery's
    corrected address, the shipment's update to ``pending`` with its
    posting). ``UndeliverableAddress`` if it still cannot make one."""
    address = {**delivery["delivery_address"], **corrections}
    posting = application_posting(shipment["_id"], {**delivery, "delivery_address": address},
                                  regions, sender)
    return {"delivery_address": address}, {
        "status": "pending", "posting": posting, "updated_at": now, "last_news_at": now,
        "released": {"by": operator, "at": now, "corrected": sorted(corrections),
                     "held_for": shipment["hold"]["fields"]}}


def parcel_events(shipment: dict, event_type: str, **extra) -> list[Event]:
    """One event per application the shipment carries, but the collected ones."""
    collected = shipment.get("collected") or {}
    return [Event(event_type, {**application, "shipment_id": shipment["_id"],
                               "barcode": shipment["barcode"], **extra})
            for application in shipment["applications"]
            if application["application_id"] not in collected]


def dispatch_wanted(delivery: dict, returned_before: bool) -> bool:
    """A printed ``pos`` document goes to Pos unless it is already in the
    citizen's hands, or a parcel of it came back (it waits at the counter),
    or its address is gone (``retention``: its parcel was final long ago;
    a reprint now waits at the counter too)."""
    return not delivery.get("collected") and not returned_before \
        and not delivery.get("personal_data_purged_at")


def reprint_awaited(delivery: dict, printed_at: str | None = None) -> str | None:
    """Since when a citizen's own parcel waits for its document's reprint:
    an operator sent the document back to print (``print_job_requeued``,
    ``reprint_since`` on its delivery record) after the print ``printed_at``
    - by default the latest one courier heard of (``last_printed_at``).
    Its shipment is not posted for the print the reprint replaces - Pos
    would accept the order, and the citizen be told the parcel is on its
    way, while the document is printed again (Pos out of reach at the
    first print, the posting retried after the reprint was asked for) -
    but with the reprint's own ``document_printed``. None: nothing awaited."""
    since = delivery.get("reprint_since")
    printed_at = printed_at or delivery.get("last_printed_at")
    if since is None or (printed_at is not None and parse_time(printed_at) > parse_time(since)):
        return None
    return since


def collection_note(event: dict, now: datetime.datetime) -> dict:
    """What courier keeps of a ``document_collected``: on the delivery record
    (``collected``) and on each shipment carrying it (``collected.<application id>``)."""
    return {"how": event["how"], "at": now}


def dispatched(shipment: dict, barcode: str, now: datetime.datetime) -> tuple[dict, list[Event]]:
    """Pos accepted the posting. A shipment already dispatched changes nothing.
    A citizen's own parcel waits for no reprint once Pos has its order (the
    order stands and takes the reprint: a posting in flight when the reprint
    was asked left ``awaits_reprint`` set on a dispatched shipment - a
    review); a manifest's parcel keeps it until its members are printed."""
    if shipment["status"] != "pending":
        return {}, []
    update = {"status": "dispatched", "barcode": barcode, "dispatched_at": now,
              "updated_at": now, "last_news_at": now, "checked_at": now}
    if shipment.get("kind") == "application" and shipment.get(AWAITS_REPRINT):
        update[AWAITS_REPRINT] = None
    return update, parcel_events({**shipment, **update}, "parcel_dispatched")


def parse_time(value: str) -> datetime.datetime:
    moment = datetime.datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)


# Pos' statuses in the order they happen to a parcel: of two at the same
# instant (Pos' times are whole seconds), the later in this order is news;
# a shipment's status ranks as the Pos status that sets it
POS_RANK = {pos_status: rank for rank, pos_status in enumerate(POS_STATUSES)}
SHIPMENT_RANK = {status: POS_RANK[pos_status]
                 for pos_status, (status, _) in POS_STATUSES.items()}


def readable(pos_events) -> tuple[list[dict], int]:
    """Of what Pos' tracking answered, the events courier can read - an
    object with a ``status``, an ISO ``at`` that has an instant in UTC
    (``shared.clock.as_utc``), and a ``note`` and a ``location`` that are text or
    absent - and how many it could not (reviews: one event with no ``at``,
    a note of a number, a year-1 time at +07:00 crashed the polling round,
    the catch-up of a posting in doubt, an operator's release). A webhook's
    body is checked by its schema instead (400 naming the field)."""
    if not isinstance(pos_events, list):
        return [], 1
    kept = []
    for pos_event in pos_events:
        try:
            if isinstance(pos_event["status"], str) and isinstance(pos_event["at"], str) \
                    and all(isinstance(pos_event.get(name), (str, type(None)))
                            for name in ("note", "location")):
                as_utc(parse_time(pos_event["at"]))
                kept.append(pos_event)
        except (TypeError, KeyError, ValueError, OverflowError):
            pass
    return kept, len(pos_events) - len(kept)


def history_key(pos_event: dict) -> str:
    """One Pos event, however its time is written: its status and its
    instant in UTC (a webhook's ``+07:00`` and a poll's ``Z`` of one event
    were two keys, and the citizen heard of one failed delivery twice)."""
    instant = as_utc(parse_time(pos_event["at"]))
    return f"{pos_event['status']}@{instant.isoformat()}"


def timely(pos_events: list[dict], source: str, now: datetime.datetime) -> list[dict]:
    """Pos' events dated no later than ``now`` + ``AHEAD_TOLERANCE``: the one
    rule for webhooks and polling alike. An event dated further ahead (a
    wrong clock at Pos, a date typed wrong) is not news yet: taken in, it
    would make every real event after it look older than the latest
    (``tracking_news``: stale, telling nobody). A webhook carrying one is
    refused (``DatedAhead``: 400 naming ``at``, nothing kept); a polled one
    is left out, and a later poll takes it once its time has come."""
    latest_allowed = now + AHEAD_TOLERANCE
    taken = [e for e in pos_events if parse_time(e["at"]) <= latest_allowed]
    if source == "webhook" and len(taken) < len(pos_events):
        raise DatedAhead(TOLERANCE_SECONDS)
    return taken


def kept_text(text: str | None) -> str:
    """Pos' free text (a note, a location) as courier keeps it: masked, then
    cut to ``NOTE_MAX_CHARS`` (ending in "…"). Masked first, so a number cut
    in two is masked whole."""
    text = mask_emails(mask_text(one_line(text or ""))) or ""
    return text if len(text) <= NOTE_MAX_CHARS else text[:NOTE_MAX_CHARS - 1] + "…"


def tracking_news(shipment: dict, pos_events: list[dict], source: str,
                  now: datetime.datetime) -> tuple[dict, list[dict], list[Event]]:
    """What Pos' tracking events do to ``shipment``: (fields to set, history
    entries to add, events to emit). Known ones (same status and time) are
    ignored; older than the latest news, after a final status, or an
    ``ACCEPTED`` once Pos has the parcel in hand (``TAKEN_BY_POS``), they are
    kept in the history but move nothing (stale). The first news that Pos
    has the parcel (``TAKEN_BY_POS``) also says so (``parcel_picked_up``,
    ``picked_up_at``): from then on printing no longer prints its document
    again (docs/station-api.md, reprint). Said again only for news of an
    earlier pickup come late, stale or not (a webhook lost, two workers
    racing): ``picked_up_at`` moves back to it, and printing withdraws a
    reprint printed after it (outside review: the earlier time never
    reached printing, and the citizen got a card whose QR said "revoked")."""
    # keyed again as ``history_key`` keys now (entries kept before keyed the
    # time as written)
    known = {history_key(entry) if "status" in entry and "at" in entry else entry["key"]
             for entry in shipment["history"]}
    # a purged shipment is final: whatever comes now is stale, kept without its text
    purged = bool(shipment.get("personal_data_purged_at"))
    status = shipment["status"]
    latest = parse_time(shipment["status_at"]) if shipment.get("status_at") else None
    update, added, events, moved, picked_up = {}, [], [], False, None
    fresh = [e for e in pos_events if e.get("status") in POS_STATUSES and history_key(e) not in known]
    for pos_event in sorted(fresh, key=lambda e: (parse_time(e["at"]), POS_RANK[e["status"]])):
        at = parse_time(pos_event["at"])
        note = kept_text(pos_event.get("note"))
        # older than the latest news, or at its instant and no further along
        # (FAILED then IN_TRANSIT of one second moved a failed delivery back);
        # an ACCEPTED once Pos has the parcel, whenever dated: it is the
        # order, not the parcel (a review: a later-dated one moved a parcel
        # in transit back to dispatched)
        stale = status in FINAL or status == "pending" or (
            pos_event["status"] == "ACCEPTED" and status in TAKEN_BY_POS) or (
            latest is not None and (at < latest or (at == latest and POS_RANK[pos_event["status"]]
                                                    <= SHIPMENT_RANK.get(status, -1))))
        entry = {"key": history_key(pos_event), "status": pos_event["status"],
                 "at": pos_event["at"], "location": kept_text(pos_event.get("location")) or None,
                 "note": note, "source": source, "received_at": now, "stale": stale}
        if purged:  # Pos' free text is what the purge took from the history
            del entry["location"], entry["note"]
        added.append(entry)
        known.add(history_key(pos_event))
        if POS_STATUSES[pos_event["status"]][0] in TAKEN_BY_POS \
                and tells_pickup(picked_up or shipment.get("picked_up_at"), at, stale):
            picked_up = pos_event["at"]
            events += parcel_events(shipment, "parcel_picked_up", picked_up_at=at.isoformat())
        if stale:
            continue
        status, latest, moved = POS_STATUSES[pos_event["status"]][0], at, True
        event_type = POS_STATUSES[pos_event["status"]][1]
        if event_type in ("parcel_delivery_failed", "parcel_returned"):
            # no note: no reason (Pos' status word is not one for a citizen)
            events += parcel_events(shipment, event_type, reason=note or None)
        elif event_type:
            events += parcel_events(shipment, event_type)
    if added:
        update = {"checked_at": now, "last_news_at": now, "updated_at": now}
        if moved:
            update.update(status=status, status_at=latest.isoformat())
            if status in FINAL:  # its personal data is kept RETENTION_DAYS from now
                update["retention_from"] = now
        if picked_up:
            update["picked_up_at"] = picked_up
    return update, added, events


def tells_pickup(known: str | None, at: datetime.datetime, stale: bool) -> bool:
    """Whether news that Pos has the parcel in hand, dated ``at``, tells
    printing so (``parcel_picked_up``): the first such news after the order
    (``known``: the ``picked_up_at`` so far, None), or news of an earlier
    pickup than ``known``, stale or not."""
    return not stale if known is None else at < parse_time(known)


def back_at_dinas(shipment: dict, reason: str, operator: str,
                  now: datetime.datetime) -> tuple[dict, list[dict], list[Event]]:
    """An operator has a parcel of Pos' back in hand at the Dinas while Pos
    never said ``RETURNED`` (outside review: a parcel Pos brought back to
    the counter, or lost track of, stayed with Pos for good - stuck, its
    document neither reprintable nor cancellable, its citizen told "Pos
    tries again"): (fields to set, history entries to add, events to emit).
    It is ``returned`` as if Pos had said so - final, Pos' later news of it
    stale - and tells the same (``parcel_returned``, no reason: no courier's
    note), with who, when and why (``RETURN_REASONS``) in its history and
    ``returned_at_dinas``. Recorded before: nothing more. ``NotReturnable``
    (``final``) for one delivered, returned by Pos, or whose documents are
    all in their citizens' hands; (``not_posted``) for one Pos never had
    the order of."""
    if shipment["status"] == "returned" and shipment.get("returned_at_dinas"):
        return {}, [], []
    collected = shipment.get("collected") or {}
    if shipment["status"] in FINAL:
        raise NotReturnable("final", shipment["status"])
    if all(application["application_id"] in collected for application in shipment["applications"]):
        raise NotReturnable("final", "collected")
    if shipment["status"] not in ACTIVE:
        raise NotReturnable("not_posted", shipment["status"])
    returned = {"status": "RETURNED", "at": now.isoformat()}
    entry = {**returned, "key": history_key(returned), "location": None, "note": None,
             "source": "operator", "by": operator, "received_at": now, "stale": False}
    update = {"status": "returned", "status_at": returned["at"], "updated_at": now,
              "last_news_at": now, "retention_from": now, AWAITS_REPRINT: None,
              "returned_at_dinas": {"by": operator, "at": now, "reason": reason}}
    return update, [entry], parcel_events(shipment, "parcel_returned", reason=None)


def stuck_before(now: datetime.datetime, days: float) -> datetime.datetime:
    """Shipments with no news since this moment are stuck."""
    return now - datetime.timedelta(days=days)
