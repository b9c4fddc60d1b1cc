"""Jemput-bola manifests by Pos: when courier posts a kelurahan's batch as
one parcel to its office. Plain Python: no nameko, no pymongo.

Collection at the Dinas and Pos are alternatives, and printing decides
which (it alone knows whether it released the manifest for its kelurahan's
officer): an operator's choice of Pos is recorded ``requested`` and asked of
printing (``manifest_sent_by_pos``); printing answers ``manifest_pos_confirmed``
(the parcel may go) or ``manifest_pos_refused`` (its officer collects it at
the Dinas: nothing is posted). Courier's own copy of the release
(``batch_ready_for_kelurahan``) only spares an operator the question when it
came first. Which members a parcel waits for and carries follows the rule
printing follows (``shared.manifests``).
"""

from __future__ import annotations

import datetime

from shared.events import manifest_parts
from shared.manifests import dropped, still_expected, waits_for_none

from .domain import Event, parse_time, reprint_awaited
from .exceptions import CollectedAtDinas
from .posting import manifest_item

REQUESTED, CONFIRMED, REFUSED = "requested", "confirmed", "refused"


def manifest_record(event: dict) -> dict:
    """A jemput-bola manifest from ``batch_accepted``: sent by Pos only when an operator says so."""
    return {"_id": event["manifest_id"], "kelurahan_code": event["kelurahan_code"],
            "batch_id": event["batch_id"], "application_ids": list(event["application_ids"]),
            "printed": [], "by_pos": None}


def pos_status(manifest: dict) -> str | None:
    """Where the operator's choice of Pos stands: None (not chosen),
    ``requested`` (printing has not answered), ``confirmed``, ``refused``.
    A choice recorded before printing answered them went by Pos on courier's
    word alone: confirmed."""
    by_pos = manifest.get("by_pos")
    return None if not by_pos else by_pos.get("status", CONFIRMED)


def not_printed(manifest: dict) -> set[str]:
    """The members the manifest still waits for (``shared.manifests``):
    neither printed nor dropped (one that will not be printed with the
    others: rejected, withdrawn, its held print job cancelled - and not
    verified again since; ``dropped``: an earlier version's list). A member
    delivered by Pos to its citizen's door (``on_its_own``) is waited for
    until printed, like the others, and then goes in a parcel of its own."""
    return still_expected(manifest["application_ids"], printed_members(manifest),
                          dropped(manifest, "dropped"))


def printed_members(manifest: dict) -> list[str]:
    """Every printed member: those the parcel carries (``parcel_members``)
    and those Pos takes to their citizen's door on their own (``on_its_own``)."""
    return [*parcel_members(manifest), *(manifest.get("on_its_own") or [])]


def parcel_members(manifest: dict) -> list[str]:
    """The members the parcel carries: those noted ``printed`` but one
    dropped after its latest print (``dropped_at`` later than ``printed_at``:
    its printed card cancelled - its holder died -, or the reprint it was
    sent back for cancelled). Printing takes such a one off its own list
    (``printed_ids``) and so does the parcel: a review found it in the
    parcel, its label counting one document too many and ``parcel_*``
    events told of a cancelled application. By the events' times, not the
    order they come in: a drop heard of before its print is still after
    it. Verified again since (resubmitted), it is waited for until printed
    again, as printing waits for it."""
    printed_at = manifest.get("printed_at") or {}
    dropped_at = manifest.get("dropped_at") or {}
    return [application_id for application_id in manifest["printed"]
            if not dropped_since(dropped_at.get(application_id),
                                 printed_at.get(application_id))]


def dropped_since(dropped: datetime.datetime | None, printed: str | None) -> bool:
    """Whether a drop (``member_dropped``: a time as the database returns it)
    came after a print (``document_printed``'s ISO time; None for a print
    noted before its time was kept: not known to be, the member stays)."""
    if dropped is None or printed is None:
        return False
    if dropped.tzinfo is None:  # a client not ``tz_aware``: the database's UTC
        dropped = dropped.replace(tzinfo=datetime.timezone.utc)
    return dropped > parse_time(printed)


def printed_as(delivery: dict) -> str:
    """Where a printed member is noted on its manifest (``printed_members``):
    ``printed`` (the parcel carries it), or ``on_its_own`` for one whose
    citizen asked for delivery by Pos to their door (its own parcel: the
    kelurahan never gets it, printing leaves it off the officer's list)."""
    return "on_its_own" if delivery["delivery_method"] == "pos" else "printed"


def awaits_member_reprint(delivery: dict) -> bool:
    """Whether a member the parcel would carry (``printed_as`` ``printed``)
    was sent back to print (``print_job_requeued``) after the latest print
    courier heard of (``domain.reprint_awaited``): the manifest waits for
    the reprint's print, as printing's hand-over list does. A member Pos
    takes to its citizen's door goes in a parcel of its own, which waits
    for it (``CourierStore._own_shipment``)."""
    return bool(delivery.get("manifest_id")) and printed_as(delivery) == "printed" \
        and reprint_awaited(delivery) is not None


def manifest_complete(manifest: dict) -> bool:
    """Printing confirmed Pos for the manifest (``pos_status``), it waits for
    no member (``not_printed``), and some printed one goes in the parcel
    (``parcel_members``): the parcel carries those. Printing lets the
    manifest go on the same rule; a member printed after that (a rejected
    one resubmitted) is not in the parcel: printing calls its officer to the
    Dinas for it."""
    return pos_status(manifest) == CONFIRMED and bool(parcel_members(manifest)) \
        and waits_for_none(manifest["application_ids"], printed_members(manifest),
                           dropped(manifest, "dropped"))


def parcel_update(shipment: dict, manifest: dict) -> dict:
    """What changes on a manifest's parcel made and not posted yet
    (``pending``: Pos out of reach, or a member's reprint awaited) before it
    is posted: the members dropped since their print (``parcel_members``)
    taken out of what it carries (no ``parcel_*`` event for them) and off its
    label (``manifest_item``: count and weight). Never one added: a member
    printed after the parcel was made goes to its officer at the Dinas, as
    printing says. Nothing (``{}``) when none was dropped."""
    members = set(parcel_members(manifest))
    kept = [application for application in shipment["applications"]
            if application["application_id"] in members]
    if len(kept) == len(shipment["applications"]):
        return {}
    return {"applications": kept,
            "posting": {**shipment["posting"], **manifest_item(manifest["_id"], len(kept))}}


def drops_a_member(event: dict) -> bool:
    """Whether an ``application_rejected``, ``application_cancelled`` or
    ``print_job_cancelled`` may drop a manifest's member: not one naming no
    manifest (most), which courier skips with no database work. A
    ``print_job_cancelled`` from before it named the manifest is looked up."""
    return event.get("manifest_id", "absent") is not None


def sending_by_pos(manifest: dict, office: dict, operator: str,
                   now: datetime.datetime) -> tuple[dict, list[Event]]:
    """The operator chose Pos for a manifest: the choice to record (the
    kelurahan office; an operator may correct it until the parcel is made)
    and - the first time only - ``manifest_sent_by_pos``, asking printing
    (``pos_status`` ``requested`` until it answers). Refused
    (``CollectedAtDinas``) once courier knows printing released it for its
    kelurahan's officer to collect at the Dinas (``collection_at_dinas``, or
    printing's refusal): the officer and the citizens were told; a parcel as
    well would take the documents the officer comes for, and their
    hand-overs at the office would wait for Pos."""
    status = pos_status(manifest)
    if status != CONFIRMED and manifest.get("at_dinas"):
        raise CollectedAtDinas(manifest["at_dinas"].get("day"))
    decision = {**office, "decided_by": operator, "decided_at": now,
                "status": status or REQUESTED}
    if status:
        return {**manifest["by_pos"], **decision}, []
    return decision, [Event("manifest_sent_by_pos", {"manifest_id": manifest["_id"],
                                                     "kelurahan_code": manifest["kelurahan_code"]})]


def pos_answered(manifest: dict, event_type: str, event: dict,
                 now: datetime.datetime) -> dict | None:
    """What printing's answer (``manifest_pos_confirmed`` / ``_refused``)
    sets on the manifest; None - nothing - for an answer known already, or
    for none asked (printing answers only courier's own request). A refusal
    also notes the release (``at_dinas``) so the operator is answered 409
    from then on."""
    status = pos_status(manifest)
    if status != REQUESTED:
        return None
    if event_type == "manifest_pos_confirmed":
        return {"by_pos.status": CONFIRMED, "by_pos.answered_at": now}
    return {"by_pos.status": REFUSED, "by_pos.answered_at": now,
            "by_pos.reason": event["reason"],
            "at_dinas": manifest.get("at_dinas") or {"day": event.get("day"),
                                                     "at_office_from": None}}


def reprints_awaited(manifest: dict, event_type: str, event: dict) -> list[str]:
    """Printing's confirmation names the members it still waits for
    (``not_printed``): those courier counts printed from a print before the
    confirmation were re-queued by an operator since (missing or spoiled) -
    the parcel waits for their reprint (its ``document_printed`` puts them
    back). A print recorded after the confirmation is the reprint itself,
    come first: it stays."""
    if event_type != "manifest_pos_confirmed":
        return []
    printed_at = manifest.get("printed_at") or {}
    return sorted(application_id for application_id in event.get("not_printed") or ()
                  if application_id in manifest["printed"]
                  and printed_at.get(application_id, "") < event["occurred_at"])


def manifest_status(manifest: dict, shipment_made: bool) -> str:
    """How a manifest goes back to its kelurahan, as courier knows it:
    ``shipment`` (its parcel is made), ``waiting_for_print`` (printing
    confirmed Pos), ``requested`` (an operator chose Pos, printing has not
    answered), ``collected_at_dinas`` (its officer was called to the Dinas
    for it: an operator's choice of Pos refused, or refused from now on), or
    ``undecided`` (neither yet: printing calls its officer once its last
    document is printed, unless an operator chooses Pos before)."""
    status = pos_status(manifest)
    if shipment_made:
        return "shipment"
    if status == CONFIRMED:
        return "waiting_for_print"
    if status == REQUESTED and not manifest.get("at_dinas"):
        return "requested"
    return "collected_at_dinas" if manifest.get("at_dinas") else "undecided"


def collection_at_dinas(event: dict, manifest: dict) -> dict | None:
    """What a ``batch_ready_for_kelurahan`` sets on its manifest (``at_dinas``):
    printing released it for its kelurahan's officer to collect at the Dinas
    on ``day`` (its citizens told to collect at the office from
    ``at_office_from``), so an operator's send-by-Pos is refused at once
    from now on (``sending_by_pos``; a choice already asked of printing is
    refused by printing too). None - nothing to set - for a manifest
    printing confirmed for Pos (the event is a follow-up: a member printed
    after its parcel went, whose officer collects it at the Dinas), or one
    released before (a follow-up too: the first release stands). Only the
    days are kept, not the hand-over list (names courier has no use for)."""
    if pos_status(manifest) == CONFIRMED or manifest.get("at_dinas"):
        return None
    return {"day": event.get("day"), "at_office_from": event.get("at_office_from")}


# intake's manifest id, "JB-<kelurahan code>-<yyyymmdd>-<6 chars>"
# (services/intake/batches.py, docs/events.md: batch_accepted)
def may_be_on_its_way(manifest_id: str, today: datetime.date) -> bool:
    """Whether a manifest courier does not know may be one intake has just
    stored (its ``batch_accepted`` still on the way: it takes a moment,
    the batch's reply comes first) rather than none at all: an id of intake's
    shape dated today or yesterday (WIB, across midnight). Courier cannot
    tell "not yet" from "never" without asking intake; for such an id it
    says "not yet" (503, retry), and a typo of a fresh id stays "not yet"
    until its day has passed. Any other id is unknown (404)."""
    parts = manifest_parts(manifest_id)
    return parts is not None and today - datetime.timedelta(days=1) <= parts[1] <= today
