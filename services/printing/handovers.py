"""Hand-overs: the documents an officer collects as one list - a kecamatan's
next-day requests, a kelurahan's jemput-bola manifest - when and where, and
the officer's record of handing each to its citizen at the office.
Plain Python: no nameko, no pymongo (the store writes what these decide)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Callable

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


def handover_time(rules: PickupRules, ready_on: datetime.date) -> dict:
    """What a list's event says of when: the officer's ``slot`` at the Dinas
    (``handover_slot``), its ``day``, and ``at_office_from``: the next working
    day after it, from which the citizens collect at their office (the
    officer brings the documents back on ``day``, perhaps after it closed)."""
    slot = handover_slot(rules, ready_on)
    office_day = rules.calendar.next_working_day(datetime.date.fromisoformat(slot["date"]))
    return {"slot": slot, "day": slot["date"], "at_office_from": office_day.isoformat()}


def kecamatan_handover(lst: dict, when: dict) -> Event | None:
    """A kecamatan's list is complete when every next-day job queued for it
    that day is printed: then its officer collects them ``when`` says
    (``handover_time``). Jobs queued later that day make a follow-up list of
    their own when they are printed."""
    if lst["printed"] < lst["expected"] or not lst["items"]:
        return None
    return Event("kecamatan_handover_ready", {
        "kecamatan_code": lst["kecamatan_code"], "items": lst["items"], **when})


def manifest_complete(manifest: dict) -> bool:
    """Every application of the manifest (known from ``batch_accepted``) is
    printed, and that was not noted before (``ready``)."""
    members = manifest.get("application_ids")
    return not manifest.get("ready") and bool(members) and \
        set(members) <= set(manifest["printed_ids"])


def manifest_ready(manifest: dict, when: dict) -> Event | None:
    """A jemput-bola manifest goes back to its kelurahan as one, once
    complete (``manifest_complete``); the kelurahan's officer collects it
    ``when`` says (``handover_time``) - unless the Dinas sends it by Pos
    (``goes_by_pos``): then nobody collects it at the Dinas, and its
    hand-overs wait for Pos' delivery to the office."""
    if not manifest_complete(manifest) or goes_by_pos(manifest):
        return None
    members = manifest["application_ids"]
    by_application = {item["application_id"]: item for item in manifest["items"]}
    return Event("batch_ready_for_kelurahan", {
        "manifest_id": manifest["_id"], "kelurahan_code": manifest["kelurahan_code"],
        "items": [by_application[application_id] for application_id in members], **when})


# what courier's news of a manifest's parcel sets on the manifest - the
# operator chose Pos for it (``manifest_sent_by_pos``), Pos accepted it,
# Pos delivered it: each a flag that only ever becomes true, so a
# redelivery or any order sets the same
PARCEL_NEWS = {"manifest_sent_by_pos": {"by_pos": True},
               "parcel_dispatched": {"pos_dispatched": True},
               "parcel_delivered": {"pos_delivered": True}}


def goes_by_pos(manifest: dict) -> bool:
    """The Dinas sends the manifest by Pos: the operator chose it, or Pos has it."""
    return bool(manifest.get("by_pos") or manifest.get("pos_dispatched"))


def parcel_in_transit(manifest: dict) -> bool:
    """The manifest goes by Pos (``goes_by_pos``: from the operator's choice
    on, while its documents still wait at the Dinas for Pos to take them) and
    Pos has not delivered it to the kelurahan office yet. A delivery learnt
    before its dispatch (events come in any order) counts as delivered."""
    return goes_by_pos(manifest) and not manifest.get("pos_delivered")


def manifest_at_kelurahan(job: dict, manifest: dict) -> bool:
    """Only once the whole manifest went back to the kelurahan
    (``manifest_complete``: every member printed): a member printed early is
    still at the Dinas; and, for a manifest the Dinas sends by Pos, only once
    Pos delivered the parcel to the kelurahan office (``parcel_in_transit``)."""
    return bool(manifest.get("ready")) and not parcel_in_transit(manifest)


def list_at_kecamatan(job: dict, lst: dict) -> bool:
    """Once the list the job is on went to the kecamatan
    (``kecamatan_handover``): a printed job still among the list's ``items``
    waits at the Dinas for the others of its day."""
    return job["application_id"] not in {item["application_id"] for item in lst["items"]}


@dataclass(frozen=True)
class Office:
    """An office whose officer collects documents at the Dinas as one list
    and hands each to its citizen (``document_collected``, how: its name)."""

    scope_field: str  # the list's field naming the office: the officer's token scope
    list_id: Callable[[dict], str | None]  # the list a job is on (None: on none)
    arrived: Callable[[dict, dict], bool]  # whether the job's document is at the office


OFFICES = {
    "kelurahan": Office("kelurahan_code", lambda job: job.get("manifest_id"),
                        manifest_at_kelurahan),
    "kecamatan": Office("kecamatan_code",
                        lambda job: handover_list_id(job) if job.get("next_day") else None,
                        list_at_kecamatan),
}


def hands_over(how: str, job: dict, lst: dict | None, scope: str) -> bool:
    """Whether the officer of ``scope`` at the ``how`` office (``OFFICES``)
    records a printed document of a list of that office (``lst``, the one
    ``list_id`` names) as handed to its citizen now; False when it was
    collected before (the first record stands). A document of another
    office, or of none, is answered as if it did not exist; one not at the
    office yet (``Office.arrived``) is refused."""
    if lst is None or lst.get(OFFICES[how].scope_field) != scope:
        raise DocumentNotFound()
    if job["status"] == "collected":
        return False
    if job["status"] != "printed" or not OFFICES[how].arrived(job, lst):
        raise NotAtCounter()
    return True
