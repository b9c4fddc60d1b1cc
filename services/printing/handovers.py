"""Hand-overs: the documents an officer collects as one list - a kecamatan's
next-day requests, a kelurahan's jemput-bola manifest - when and where, and
the officer's record of handing each to its citizen at the office.
Plain Python: no nameko, no pymongo (the store writes what these decide)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Callable

from shared.clock import today_wib
from shared.manifests import dropped, still_expected, waits_for_none
from shared.offices import DINAS

from .domain import Event, collected_here, holder
from .exceptions import DocumentNotFound, NotAtOffice
from .slots import PickupRules, day_slot


def handover_item(job: dict) -> dict:
    """One line of a hand-over list an officer signs off (no NIK): the
    applicant (``full_name``, whom the officer hands it to) and whose
    document it is (``holder_name``: the name printed on it - a KIA's
    child, a birth certificate's newborn -, by which the officer finds it
    in the pile: outside audit S1)."""
    return {"application_id": job["application_id"], "tracking_code": job["tracking_code"],
            "full_name": job["full_name"], "holder_name": holder(job)[0],
            "document_type": job["document_type"]}


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
    """A kecamatan's list is complete when none of the next-day jobs queued
    for it that day is ``waiting`` any more (each printed, or its held job
    cancelled by an operator): then its officer collects the printed ones
    ``when`` says (``handover_time``). Jobs queued later that day make a
    follow-up list of their own when they are printed (``follow_up``: some
    of the day's list went before - ``handover_days``)."""
    if lst.get("waiting") or not lst["items"]:
        return None
    return Event("kecamatan_handover_ready", {
        "kecamatan_code": lst["kecamatan_code"], "items": lst["items"],
        "follow_up": bool(lst.get("days")), **when})


def handover_days(items: list[dict], when: dict, field: str = "days") -> dict:
    """What a list that went out records (a ``$set``): the day its officer
    collects each of its documents at the Dinas, by application
    (``arrival_day``); a manifest's follow-ups under ``follow_ups``
    (``manifest_arrival``)."""
    return {f"{field}.{item['application_id']}": when["day"] for item in items}


def manifest_complete(manifest: dict) -> bool:
    """Nothing of the manifest (its members known from ``batch_accepted``)
    waits at the Dinas for another member: each is printed, or dropped and
    not verified again since (``shared.manifests``; courier posts a manifest
    by Pos on the same rule), and some printed ones wait in ``items``. Once
    the manifest went (``ready``), a member printed after it waits for no
    other: it follows on its own (``manifest_ready``)."""
    return bool(manifest["items"]) and (manifest["ready"] or waits_for_none(
        manifest.get("application_ids"), manifest["printed_ids"],
        dropped(manifest, "dropped_ids")))


def manifest_ready(manifest: dict, when: dict) -> Event | None:
    """A jemput-bola manifest goes back to its kelurahan as one, once
    complete (``manifest_complete``); the kelurahan's officer collects it
    ``when`` says (``handover_time``) - unless the Dinas sends it by Pos
    (``goes_by_pos``): then nobody collects it at the Dinas, and its
    hand-overs wait for Pos' delivery to the office. A dropped member
    verified again (a rejected one resubmitted) before the manifest went is
    a member again: the manifest waited for it and takes it along. Printed
    after all once the manifest went, it is a follow-up of its own: its
    officer collects it at the Dinas (the Pos parcel, if any, went without
    it)."""
    if not manifest_complete(manifest) or (goes_by_pos(manifest) and not manifest["ready"]):
        return None
    order = {application_id: n for n, application_id in enumerate(manifest["application_ids"])}
    follow_up = bool(manifest["ready"])
    return Event("batch_ready_for_kelurahan", {
        "manifest_id": manifest["_id"], "kelurahan_code": manifest["kelurahan_code"],
        "items": sorted(manifest["items"],
                        key=lambda item: order.get(item["application_id"], len(order))),
        "follow_up": follow_up, "members": len(order),
        # members Pos takes to their citizens' doors (``goes_with_manifest``):
        # on no list, neither left out (outside audit S1: the e-mail said so)
        "to_the_door": 0 if follow_up else len(set(manifest.get("door_ids") or ()) & set(order)),
        **when})


# what courier's news of a manifest's parcel sets on the manifest - printing
# confirmed the operator's choice of Pos for it (``pos_answer``), Pos
# accepted it, Pos delivered it: each a flag that only ever becomes true, so
# a redelivery or any order sets the same
PARCEL_NEWS = {"manifest_sent_by_pos": {"by_pos": True},
               "parcel_dispatched": {"pos_dispatched": True},
               "parcel_delivered": {"pos_delivered": True}}


def goes_by_pos(manifest: dict) -> bool:
    """The Dinas sends the manifest by Pos: printing confirmed the
    operator's choice (``pos_answer``), or Pos has it."""
    return bool(manifest.get("by_pos") or manifest.get("pos_dispatched"))


def pos_has_it(manifest: dict) -> bool:
    """Pos' courier took the manifest's parcel (``pos_picked_up_at``, from
    courier's ``parcel_picked_up``; or Pos delivered it, its news come in
    any order): its documents are no longer at the Dinas, none of its
    members is printed again."""
    return goes_by_pos(manifest) and bool(manifest.get("pos_picked_up_at")
                                          or manifest.get("pos_delivered"))


def into_the_parcel(manifest: dict) -> bool:
    """A member's reprint printed now goes in the manifest's parcel in place
    of the print it replaces, as the rest of the manifest (no follow-up for
    the officer: ``manifest_ready``): the manifest went (``ready``) by Pos,
    and Pos has not taken the parcel (``pos_has_it``) - courier's parcel,
    and its order, waited for the reprint."""
    return bool(manifest.get("ready")) and goes_by_pos(manifest) and not pos_has_it(manifest)


def pos_answer(manifest: dict) -> tuple[dict, Event]:
    """Printing's answer to an operator's choice of Pos for a manifest
    (courier's ``manifest_sent_by_pos``): what to set on it, and the answer.
    Collection at the Dinas and Pos are alternatives, and only printing
    knows whether it released the manifest for its officer
    (``batch_ready_for_kelurahan``): so printing decides, in the
    transaction that reads the manifest, and courier posts nothing before
    its answer - whatever came first, a print letting the manifest go or
    the operator's choice, exactly one of the two happens.

    Not released yet (or going by Pos already): it goes by Pos
    (``manifest_pos_confirmed``) - ``manifest_ready`` never calls its
    officer to the Dinas for it. Released (``ready`` with no Pos): refused
    (``manifest_pos_refused``, ``collected_at_dinas``, the officer's
    ``day``): the officer was e-mailed and its citizens told to collect at
    the office.

    A confirmation names the members printing still waits for
    (``not_printed``): courier's copy of the manifest counts one printed
    that an operator has since re-queued (``reprint``: missing or spoiled),
    and must not post the parcel without its reprint. So is a card printed
    whose holder's death was recorded since (``deceased_ids``, until an
    operator cancels it): courier's parcel waits for it, and its cancel
    (``print_job_cancelled``) drops it - a dead person's card never goes to
    the kelurahan in the parcel as if valid (outside review)."""
    about = {"manifest_id": manifest["_id"], "kelurahan_code": manifest.get("kelurahan_code")}
    if goes_by_pos(manifest) or not manifest.get("ready"):
        kept_back = set(manifest.get("deceased_ids") or ())
        waiting = still_expected(manifest.get("application_ids"),
                                 set(manifest.get("printed_ids") or ()) - kept_back,
                                 dropped(manifest, "dropped_ids"))
        return PARCEL_NEWS["manifest_sent_by_pos"], Event("manifest_pos_confirmed", {
            **about, "not_printed": sorted(waiting)})
    days = sorted((manifest.get("days") or {}).values())  # one day: the first release's
    return {}, Event("manifest_pos_refused", {**about, "reason": "collected_at_dinas",
                                              "day": days[0] if days else None})


def goes_with_manifest(job: dict) -> bool:
    """A member's document goes back to the kelurahan with the manifest (a
    hand-over item; in Pos' parcel to the office), unless its citizen asked
    for delivery by Pos to their door: Pos takes it there in a parcel of its
    own (courier), so its officer never collects it. Printed, it is waited
    for no longer all the same (``manifest_complete``: printed)."""
    return job.get("delivery_method") != "pos"


def parcel_in_transit(manifest: dict) -> bool:
    """The manifest goes by Pos (``goes_by_pos``: from the operator's choice
    on, while its documents still wait at the Dinas for Pos to take them) and
    Pos has not delivered it to the kelurahan office yet. A delivery learnt
    before its dispatch (events come in any order) counts as delivered."""
    return goes_by_pos(manifest) and not manifest.get("pos_delivered")


# what ``Office.arrival_day`` answers for a document already at the office
# whatever the day (Pos delivered it there)
ALREADY_THERE = datetime.date.min


def arrival_day(job: dict, lst: dict, field: str = "days") -> datetime.date | None:
    """The day the officer collects the job's document at the Dinas
    (``handover_days``: its list's ``day``), from which it may be at the
    office; None while it waits at the Dinas for the rest of its list."""
    day = (lst.get(field) or {}).get(job["application_id"])
    return None if day is None else datetime.date.fromisoformat(day)


def manifest_arrival(job: dict, manifest: dict) -> datetime.date | None:
    """A jemput-bola document: from its officer's day at the Dinas
    (``arrival_day``; a member printed early waits there for the others);
    for a manifest the Dinas sends by Pos, only once Pos delivered the
    parcel to the kelurahan office (``parcel_in_transit``) - then any day
    for the documents that went in it (those printed by the time the
    manifest went, ``ready``), while a member printed after it went (a
    follow-up, ``manifest_ready``) waits for its own officer's day."""
    if parcel_in_transit(manifest):
        return None
    follow_up = arrival_day(job, manifest, "follow_ups")
    if follow_up is None and manifest.get("pos_delivered") and manifest.get("ready"):
        return ALREADY_THERE
    return follow_up or arrival_day(job, manifest)


def manifest_list(job: dict) -> str | None:
    """The jemput-bola manifest on whose officer's list the job's document
    is: its own, unless Pos takes it to its citizen's door
    (``goes_with_manifest``) - then it is on no officer's list, and no
    kelurahan officer records it handed over (outside review: one did, and
    closed the application of a card still on its way to the door)."""
    return job.get("manifest_id") if goes_with_manifest(job) else None


@dataclass(frozen=True)
class Office:
    """An office whose officer collects documents at the Dinas as one list
    and hands each to its citizen (``document_collected``, how: its name)."""

    scope_field: str  # the list's field naming the office: the officer's token scope
    list_id: Callable[[dict], str | None]  # the list a job is on (None: on none)
    # from which WIB day the job's document (on that list) may be at the
    # office; None: not on its way yet
    arrival_day: Callable[[dict, dict], datetime.date | None]


OFFICES = {
    "kelurahan": Office("kelurahan_code", manifest_list, manifest_arrival),
    "kecamatan": Office("kecamatan_code",
                        lambda job: handover_list_id(job) if job.get("next_day") else None,
                        arrival_day),
}


def hands_over(how: str, job: dict, lst: dict | None, scope: str,
               today: datetime.date) -> bool:
    """Whether the officer of ``scope`` at the ``how`` office (``OFFICES``)
    records a printed document of a list of that office (``lst``, the one
    ``list_id`` names) as handed to its citizen ``today`` (WIB); False when
    they recorded it before (the first record stands). A document of
    another office, or of none (``lst`` None: a jemput-bola member Pos
    takes to its citizen's door, ``manifest_list``), is answered as if it
    did not exist.

    Refused (``NotAtOffice``) while the document cannot be at the office:
    not printed, waiting at the Dinas for the rest of its list, or before
    the officer's day at the Dinas (the list's ``day``): a record then would
    close the application (and free the NIK) with the card still at the
    Dinas. From that day on, not from ``at_office_from`` (the day the
    citizens were told): the officer may bring the documents back and hand
    one over the same day, and a hand-over that happened must be recordable.
    Also refused: a document collected elsewhere (at the counter)."""
    if lst is None or lst.get(OFFICES[how].scope_field) != scope:
        raise DocumentNotFound()
    if collected_here(job, how):
        return False
    if job["status"] != "printed":
        raise NotAtOffice()
    day = OFFICES[how].arrival_day(job, lst)
    if day is None:
        raise NotAtOffice()
    if today < day:
        raise NotAtOffice(day.isoformat())
    return True
