"""Hand-overs: the documents an officer collects as one list - a kecamatan's
next-day requests, a kelurahan's jemput-bola manifest - and when and where.
Plain Python: no nameko, no pymongo (the store writes what these decide)."""

from __future__ import annotations

import datetime

from shared.clock import today_wib
from shared.offices import DINAS

from .domain import Event
from .exceptions import DocumentNotFound, NotAtCounter
from .slots import PickupRules, day_slot


def handover_item(job: dict) -> dict:
    """One line of a hand-over list an officer signs off (no NIK)."""
    return {"application_id": job["application_id"], "tracking_code": job["tracking_code"],
            "full_name": job["full_name"], "document_type": job["document_type"]}


def handover_list_id(job: dict) -> str:
    """The kecamatan hand-over list a next-day job belongs to: its kecamatan
    and the WIB day its request was verified (queued here)."""
    return f"{job['kecamatan_code']}|{today_wib(job['queued_at']).isoformat()}"


def handover_slot(rules: PickupRules, ready_on: datetime.date) -> dict:
    """Where and when an officer collects a complete hand-over list: at the
    Dinas, any time it is open on the next working day after ``ready_on``
    (the WIB day the list was complete), as the Dinas promises kecamatan
    next-day requests."""
    return day_slot(rules.place(DINAS.place_id), rules.calendar.next_working_day(ready_on))


def kecamatan_handover(lst: dict, slot: dict) -> Event | None:
    """A kecamatan's list is complete when every next-day job queued for it
    that day is printed: then its officer collects them in ``slot``
    (``handover_slot``). Jobs queued later that day make a follow-up list of
    their own when they are printed."""
    if lst["printed"] < lst["expected"] or not lst["items"]:
        return None
    return Event("kecamatan_handover_ready", {
        "kecamatan_code": lst["kecamatan_code"], "day": slot["date"],
        "items": lst["items"], "slot": slot})


def manifest_ready(manifest: dict, slot: dict) -> Event | None:
    """A jemput-bola manifest goes back to its kelurahan as one, when every
    application of it (known from ``batch_accepted``) is printed; the
    kelurahan's officer collects it in ``slot`` (``handover_slot``)."""
    members = manifest.get("application_ids")
    if manifest.get("ready") or not members or not set(members) <= set(manifest["printed_ids"]):
        return None
    by_application = {item["application_id"]: item for item in manifest["items"]}
    return Event("batch_ready_for_kelurahan", {
        "manifest_id": manifest["_id"], "kelurahan_code": manifest["kelurahan_code"],
        "items": [by_application[application_id] for application_id in members], "slot": slot})


# what Pos' news of a manifest's parcel sets on the manifest: each a flag
# that only ever becomes true, so a redelivery or any order sets the same
PARCEL_NEWS = {"parcel_dispatched": {"pos_dispatched": True},
               "parcel_delivered": {"pos_delivered": True}}





def parcel_in_transit(manifest: dict) -> bool:
    """The manifest went by Pos (``parcel_dispatched``) and Pos has not
    delivered it to the kelurahan office yet. A delivery learnt before its
    dispatch (events come in any order) counts as delivered."""
    return bool(manifest.get("pos_dispatched")) and not manifest.get("pos_delivered")


def waiting_at_kelurahan(job: dict, manifest: dict | None, kelurahan_code: str) -> dict:
    """A printed jemput-bola document the officer of its own kelurahan hands over;
    another kelurahan's officer is answered as if it did not exist. Only once
    the whole manifest went back to the kelurahan (``manifest_ready``: every
    member printed): a member printed early is still at the Dinas; and, for a
    manifest the Dinas sent by Pos, only once Pos delivered the parcel to the
    kelurahan office (``parcel_in_transit``)."""
    if manifest is None or manifest.get("kelurahan_code") != kelurahan_code:
        raise DocumentNotFound()
    if job["status"] != "printed" or not manifest.get("ready") or parcel_in_transit(manifest):
        raise NotAtCounter()
    return job
