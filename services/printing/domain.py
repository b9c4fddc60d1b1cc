"""Print jobs and their leases. Plain Python: no nameko, no pymongo.

A job moves queued -> leased -> printed. A station that cannot print sends it
back to queued, for any station; so does an operator a printed document
still at the Dinas that went missing or was spoiled (``reprint``). A lease is a claim on the queue, not a
deadline for the report: when it runs out, another station may take the job
over, and the new lease token is what shuts the old holder out.

The store loads a job, asks these functions what follows, and writes the
answer (the job's changed fields and the events they cause) in one
transaction.
"""

from __future__ import annotations

import datetime
import secrets
import uuid
from dataclasses import dataclass
from typing import Callable

from shared.clock import as_utc, today_wib, whole_milliseconds
from shared.masking import mask_text
from shared.offices import DINAS

from .exceptions import (DeceasedHoldKept, DocumentNotFound, DocumentPrinted, HandedOver,
                         HolderDeceased, JobNotFound, LeaseLost, NotAtCounter, NotHeld, NotPrinted,
                         WithPos)
from .stations import CLAIMABLE_STATUSES, FAILURE_REASONS, LAPSED_REASON, priority


@dataclass(frozen=True)
class Event:
    """A fact to emit together with the change that caused it."""

    type: str
    payload: dict


Decision = tuple[dict, list[Event]]  # (fields of the job to set, events to emit)
CARD_DOCUMENTS = frozenset({"ktp_el", "kia"})  # printed on blanko card stock


def print_kind_of(document_type: str) -> str:
    return "card" if document_type in CARD_DOCUMENTS else "certificate"


# statuses of a job whose document exists (printed, or being printed)
CARD_ISSUED = ("queued", "leased", "printed", "collected")
HELD_AS_REPRINT = {"status": "held", "last_failure": "already_printed"}
# statuses of a job whose document is not printed yet
NOT_PRINTED = ("queued", "leased", "held")
# a job of a person recorded as deceased: for an operator to cancel (or
# release), and a station printing it loses its lease
HELD_AS_DECEASED = {"status": "held", "last_failure": "holder_deceased", "lease_until": None,
                    "lease_token": None}
# a card printed and still at the Dinas whose holder's death is recorded
# since: it stays printed (handed over to nobody), listed with the held jobs
# for an operator to cancel (``cancel``)
PRINTED_FOR_THE_DECEASED = {"last_failure": HELD_AS_DECEASED["last_failure"]}


# a job whose lease ran out on its last attempt (``stations.lapsed``): held,
# its station and lease token kept - nobody takes it over, so the station's
# late report is still heard (``on_lease``)
HELD_AS_LAPSED = {"status": "held", "last_failure": LAPSED_REASON, "failure_note": None}


def as_held(job: dict) -> dict:
    """A job of the operators' held list as they are told of it: a lease
    that ran out on the last attempt, listed before ``hold_lapsed`` holds
    it (``stations.held_filters``: within seconds), is shown as that will
    hold it (``HELD_AS_LAPSED``) - ``held``, ``lease_expired`` - not as
    ``leased`` (docs/station-api.md, the answer's schema: held or printed)."""
    return {**job, **HELD_AS_LAPSED} if job["status"] == "leased" else job


def held_here(job: dict) -> Event:
    """What printing says of a job it held itself (``HELD_AS_REPRINT``,
    ``HELD_AS_DECEASED``, ``HELD_AS_LAPSED``; no station's report): intake
    shows the citizen ``print_held``, waiting for an officer's check, not
    ``print_queued`` or "retrying"."""
    return Event("print_job_held", {"reason": job["last_failure"], **job_ref(job)})


def on_lease(job: dict) -> bool:
    """Whether a report under the job's lease token still counts: leased, or
    held because that lease ran out on its last attempt (``HELD_AS_LAPSED``:
    the card may have been printed all the same; a release or a cancel ends
    the lease)."""
    return job["status"] == "leased" or (
        job["status"] == "held" and job.get("last_failure") == HELD_AS_LAPSED["last_failure"])


def may_print_a_card_again(job: dict) -> bool:
    """Whether ``prints_a_card_again`` needs the NIK's earlier job: only for a
    KTP-el that is not an approved replacement (no read for the others)."""
    return job["document_type"] == "ktp_el" and not job["replacement"]


def prints_a_card_again(job: dict, earlier: dict | None) -> bool:
    """Printing's own check, behind intake's one-active rule: a NIK's KTP-el
    is printed once unless a replacement was approved. A second job for it
    (e.g. overlapping PRR rows that slipped through) is held for an operator
    instead of printed."""
    return may_print_a_card_again(job) and earlier is not None


def gets_counter_window(job: dict) -> bool:
    """Collected by the citizen at a counter, in a window of their own.

    Not a next-day request (its kecamatan's officer collects it with the
    others, ``kecamatan_handover_ready``), not a jemput-bola manifest member
    (its kelurahan collects the batch), not a parcel for Pos Indonesia.
    """
    return (job["delivery_method"] == "pickup" and not job.get("next_day")
            and not job.get("manifest_id"))


# the fields of a job ``job_ref`` reads, and its status
JOB_REF_FIELDS = ("application_id", "tracking_code", "document_type", "status")


def job_ref(job: dict) -> dict:
    """What every printing event says about its job."""
    return {"application_id": job["application_id"], "tracking_code": job["tracking_code"],
            "document_type": job["document_type"], "print_job_id": job["_id"]}


def new_job(event: dict, now: datetime.datetime) -> tuple[dict, list[Event]]:
    """The print job for a verified application (an ``application_verified`` event)."""
    job = {
        "_id": uuid.uuid4().hex,
        "application_id": event["application_id"],
        "tracking_code": event["tracking_code"],
        "document_type": event["document_type"],
        "nik": event["nik"],
        "full_name": event["full_name"],
        "contact": event["contact"],
        "delivery_method": event["delivery_method"],
        "delivery_address": event["delivery_address"],
        # print needs (older events lack them: the defaults intake would send)
        "print_kind": event.get("print_kind") or print_kind_of(event["document_type"]),
        "pickup_place_id": event.get("pickup_place_id") or DINAS.place_id,
        "next_day": bool(event.get("next_day")),
        "replacement": bool(event.get("replacement")),
        **({"replacement_reason": event["replacement_reason"]}
           if event.get("replacement_reason") else {}),
        "manifest_id": event.get("manifest_id"),
        # what the document says (``holder``); older events lack them
        "holder_name": event.get("holder_name"),
        **({"holder_nik": event["holder_nik"]} if "holder_nik" in event else {}),
        "document_details": event.get("document_details"),
        # the kecamatan whose officer asked for it (a next-day request: the
        # NIK's, or the address' for a citizen who moved there); older events
        # lack it: the NIK's, where a first KTP-el's NIK was issued
        "kecamatan_code": event.get("kecamatan_code") or event["nik"][:6],
        "priority": priority(event),
        "status": "queued",
        "attempts": 0,
        "queued_at": now,
        "lease_until": None,
    }
    return job, [Event("print_job_queued", job_ref(job))]


def holder(job: dict) -> tuple[str, str | None]:
    """Whose document it is: the name it is issued in and, for a card, the NIK
    on it (a KIA: the child's, not the applying parent's). A job from an
    event older than these fields: the applicant's."""
    name = job.get("holder_name") or job["full_name"]
    nik = job.get("holder_nik", job["nik"]) if print_kind_of(job["document_type"]) == "card" \
        else None
    return name, nik


def card_holders(job: dict) -> list[str]:
    """The NIK a card job's card carries (a KTP-el: its applicant's; a KIA:
    the child's, not the applying parent's); none for a certificate."""
    return [nik for nik in [holder(job)[1]] if nik is not None]


def reported_lost(job: dict) -> str | None:
    """The NIK whose card of the job's type its holder reported lost: a
    replacement approved because the card was lost (``application_verified``
    with ``replacement_reason`` ``lost``) - the card the job replaces
    identifies no one from then on; else None."""
    if job.get("replacement_reason") != "lost":
        return None
    return next(iter(card_holders(job)), None)


def death_recorded(job: dict) -> str | None:
    """The NIK whose death the job's application records: an Akta Kematian
    verified here (``application_verified``: the death is recorded from then
    on, as intake refuses the NIK from then on) - its deceased's; else None."""
    if job["document_type"] != "akta_kematian":
        return None
    return (job.get("document_details") or {}).get("deceased_nik")


def of_the_deceased(job: dict, deceased: set[str]) -> bool:
    """Whether the job is a card whose holder is among ``deceased``. Only a
    card: a certificate a relative applied for (a child's birth, a death, a
    move) is still the family's, though its applicant died since, as is a
    KIA a parent applied for."""
    return not deceased.isdisjoint(card_holders(job))


def handed_to_the_living(job: dict, deceased: set[str]) -> dict:
    """A card whose holder is recorded deceased is handed over to nobody: an
    operator cancels its job."""
    if of_the_deceased(job, deceased):
        raise HolderDeceased()
    return job


def is_claimable(job: dict, now: datetime.datetime) -> bool:
    """Waiting in the queue, or leased to a station that went quiet past its
    lease: queued or leased, with no lease running (a queued job has no
    ``lease_until``; a claim always sets one)."""
    return job["status"] in CLAIMABLE_STATUSES and (
        job["lease_until"] is None or job["lease_until"] < now)


def new_lease(station_id: str, now: datetime.datetime, lease: datetime.timedelta,
              claim_key: str | None = None) -> dict:
    """The fields a claim sets. Each claim also counts one more attempt.
    ``claim_key``: the claim's ``Idempotency-Key`` (None without one, so a
    key of an earlier lease of the job never answers for this one): a claim
    repeating it is answered this lease again (``stations.claimed_under``).
    Times in the database's whole milliseconds: the claim's answer says what
    an answer read back from the database says."""
    now = whole_milliseconds(now)
    return {"status": "leased", "station_id": station_id,
            "lease_token": secrets.token_urlsafe(16), "lease_until": now + lease,
            "leased_at": now, "claim_key": claim_key}


def lease_seconds(job: dict, now: datetime.datetime) -> int:
    """What a claim answered at ``now`` tells the station of the job's lease,
    in whole seconds: its length (``LEASE_SECONDS``) for a lease granted
    ``now``; what is left of it for a lease granted earlier and answered
    again (a claim repeating its key). Rounded down: a station timing the
    lease from the answer's arrival never counts past its end. ``now`` in
    the database's whole milliseconds, as ``lease_until`` read back is: a
    new lease is then ``LEASE_SECONDS`` exactly, not a second short."""
    left = as_utc(job["lease_until"]) - whole_milliseconds(now)
    return max(0, int(left.total_seconds()))


def leased_at(job: dict, lease: datetime.timedelta) -> datetime.datetime:
    """When the job's lease was granted (a lease granted before ``leased_at``
    was kept: its end less the lease's length)."""
    return job.get("leased_at") or job["lease_until"] - lease


def check_report(job: dict | None, station_id: str, lease_token: str) -> dict:
    """The job a station reports on, if that station still holds its lease.

    The clock is not consulted: a report after ``lease_until`` with nobody
    else holding the job is still the truth about the card. Only a takeover
    (a new token) or a requeue (no token) refuses it.
    """
    if job is None:
        raise JobNotFound()
    if job.get("station_id") != station_id or job.get("lease_token") != lease_token:
        raise LeaseLost()
    return job


def print_outcome(job: dict, now: datetime.datetime,
                  reserve_slot: Callable[[str, datetime.date, dict | None], dict]) -> Decision:
    """A station printed the document: what changes and who hears of it.

    ``reserve_slot(place_id, printed_on, keep)`` books a pickup window at the
    place from the next working day after ``printed_on`` (a WIB date) and
    returns the slot record (``slots.slot_record``); it is called only for
    documents the citizen collects at a counter. A reprint asks to keep the
    window announced for the print it replaced (``slot_before``): when it
    still lies ahead and has a seat, the citizen keeps it and is not told
    again (``window_told``). A repeated report changes nothing, so
    the station is answered with the slot it already has.
    """
    if not on_lease(job):
        return {}, []
    update = {"status": "printed", "printed_at": now, "lease_until": None}
    events = [Event("document_printed", {"station_id": job["station_id"], **job_ref(job),
                                         "delivery_method": job["delivery_method"],
                                         "manifest_id": job.get("manifest_id")})]
    if gets_counter_window(job):
        update["slot"] = reserve_slot(job["pickup_place_id"], today_wib(now),
                                      job.get("slot_before"))
        before = (job.get("slot_before") or {}).get("key")
        told = before is not None and before == update["slot"].get("key")
        events.append(ready_for_pickup(job, update["slot"], window_told=told))
    return update, events


def announced(slot: dict) -> dict:
    """The slot as events carry it (without the store's bookkeeping)."""
    return {key: slot[key] for key in ("place", "address", "date", "start", "end")}


def ready_for_pickup(job: dict, slot: dict, returned: bool = False,
                     window_told: bool = False) -> Event:
    """``returned``: the window of a document Pos brought back, not one just
    printed; ``window_told``: a reprint's, the window announced for the print
    it replaced (``slot_before``): nothing new to tell the citizen."""
    return Event("document_ready_for_pickup", {
        "full_name": job["full_name"], "contact": job["contact"], "slot": announced(slot),
        "returned": returned, "window_told": window_told, **job_ref(job)})


def citizen_job(job: dict | None, nik: str) -> dict:
    """The job a citizen (or the counter for them) names by tracking code, if
    the NIK is the job's; a wrong NIK is answered like an unknown code."""
    if job is None or job["nik"] != nik:
        raise DocumentNotFound()
    return job


def waiting_at_counter(job: dict) -> dict:
    """A printed document with a window, not collected yet."""
    if job["status"] != "printed" or not job.get("slot"):
        raise NotAtCounter()
    return job


def reschedule(job: dict, slot: dict) -> Decision:
    """The citizen moved their window (the store has taken the new seat)."""
    return {"slot": slot}, [Event("pickup_rescheduled", {
        "slot": announced(slot), "contact": job["contact"], **job_ref(job)})]


def collected_here(job: dict, how: str) -> bool:
    """Collected before, and recorded ``how`` (the counter, an office): a
    repeat of that record, answered as the first. A document collected
    another way is not this one's to record (the counter refuses an office's
    document). Jobs collected before ``collected_how`` was kept count as
    collected any way."""
    return job["status"] == "collected" and job.get("collected_how", how) == how


def collection(job: dict, collected_by: str, how: str, now: datetime.datetime) -> Decision:
    """The citizen has the document: the job is done and intake frees the NIK."""
    return ({"status": "collected", "collected_at": now, "collected_by": collected_by,
             "collected_how": how},
            [Event("document_collected", {"collected_by": collected_by, "how": how,
                                          **job_ref(job)})])


def returned_parcel(job: dict, reserve_slot: Callable[[str, datetime.date], dict],
                    now: datetime.datetime, deceased: set[str] = frozenset()) -> Decision:
    """Pos brought the parcel back: the document waits at the Dinas counter
    (whatever place the application named), in a window of its own. A card
    whose holder is among ``deceased`` (recorded since) gets no window and
    no "ready" notice: it is handed over to nobody, marked for an operator
    to cancel (``PRINTED_FOR_THE_DECEASED``; outside audit A3: the family
    was told to collect it)."""
    if job["status"] != "printed" or job.get("slot") or job.get("returned_at"):
        return {}, []  # not printed here (yet), or back already
    back = {"delivery_method": "pickup", "pickup_place_id": DINAS.place_id, "returned_at": now}
    if of_the_deceased(job, deceased):
        return {**back, **PRINTED_FOR_THE_DECEASED}, []
    slot = reserve_slot(DINAS.place_id, today_wib(now))
    at_counter = {**job, "delivery_method": "pickup"}
    return {**back, "slot": slot}, [ready_for_pickup(at_counter, slot, returned=True)]


def failure_outcome(job: dict, reason: str, note: str | None, max_attempts: int) -> Decision:
    """A station could not print: back to the queue for any station, or held
    for an operator when the reason says the job itself is wrong
    (``stations.FAILURE_REASONS``) or it has used up its attempts.

    Only a job on lease (``on_lease``) can fail; a printed one stays
    printed. The station's note is kept masked (a NIK or phone number typed
    into it): operators read it in the held list, which shows no personal
    data. A job held already because that lease ran out (``HELD_AS_LAPSED``,
    its ``print_job_held`` said so) stays held with the station's reason for
    the operator, and nothing more is said (the citizen's timeline showed
    "print_held" twice).
    """
    if not on_lease(job):
        raise LeaseLost()
    requeued = FAILURE_REASONS[reason] and job["attempts"] < max_attempts
    update = {"status": "queued" if requeued else "held", "lease_until": None,
              "lease_token": None, "last_failure": reason,
              "failure_note": mask_text(note)}
    if job["status"] == "held":
        return update, []
    return update, [Event("print_job_failed", {"station_id": job["station_id"], "reason": reason,
                                               "requeued": requeued, **job_ref(job)})]


# what a job's action history (``actions``) keeps: operators' decisions and
# stations' failure reports
ACTIONS = ("failed", "released", "cancelled", "reprinted")


def action_taken(action: str, by: str, job: dict, now: datetime.datetime,
                 station_id: str | None = None, operator_reason: str | None = None) -> dict:
    """An entry of the job's action history (``actions``, oldest first):
    who did what, when, and the reason and note the job carried as it was
    done (``job``: as the operator was shown it, or as a station's failure
    report leaves it - the note masked as stored). Appended in the update of
    the action itself, never rewritten: the latest ``released_by`` /
    ``requeued_by`` / ``cancelled_by`` alone lost the earlier ones, and a
    reprint clears the failure note (outside review). ``station_id``: the
    station of a failure report; ``operator_reason``: why the operator did
    it, in their words - a NIK or phone typed into it masked, as in the
    event that tells it (``cancel``, ``reprint``) and as a station's note."""
    return {"action": action, "by": by, "at": now, "reason": job.get("last_failure"),
            "note": job.get("failure_note"), "station_id": station_id,
            "operator_reason": mask_text(operator_reason)}


def release(job: dict, operator: str, manifest_with_pos: bool = False) -> Decision:
    """An operator sends a held job back to the queue, with fresh attempts:
    intake hears of it (``print_job_released``), so the citizen no longer
    reads that printing waits for an officer's check. Never a card held
    because its holder died (``DeceasedHoldKept``: it is cancelled; a
    printed one whose jemput-bola parcel Pos has taken since,
    ``manifest_with_pos``: ``WithPos``, as cancel answers). A job queued or
    on lease since an operator released it is a repeat (an operator retrying
    after a lost answer; outside review: answered 409 ``not_held``): it
    stays as it is and nothing is said again."""
    if job.get("last_failure") == HELD_AS_DECEASED["last_failure"] and (
            job_is_held(job) or job["status"] == "printed"):
        if job["status"] == "printed" and manifest_with_pos and job.get("manifest_id"):
            raise WithPos()
        raise DeceasedHoldKept()  # a printed one listed with them too (outside audit A3)
    if job["status"] in CLAIMABLE_STATUSES and job.get("released_by"):
        return {}, []
    if not job_is_held(job):
        raise NotHeld(job["status"])
    return ({"status": "queued", "attempts": 0, "lease_until": None, "lease_token": None,
             "station_id": None, "released_by": operator},
            [Event("print_job_released", {"released_by": operator, **job_ref(job)})])


def cancel(job: dict, operator: str, deceased: set[str] = frozenset(),
           manifest_by_pos: bool = False, reason: str | None = None) -> Decision:
    """An operator gives a held job up (e.g. the record must be corrected at
    the centre): nothing will be printed for the application, so intake ends
    it (the citizen may apply again) and notification tells the citizen.
    Also a card printed and still at the Dinas whose holder is among
    ``deceased`` (recorded since): handed over to nobody (``handed_to_the_living``),
    its job is given up as one held ``holder_deceased`` is (outside audit
    T1: the counter said "refer to an operator", who could not cancel it -
    the application stayed ready for pickup, its window movable). Not one
    that goes by Pos (``at_the_dinas``: its own parcel, or its jemput-bola
    manifest's - ``manifest_by_pos``). A job cancelled already is a repeat
    (an operator retrying after a lost answer; outside audit F5: answered 409
    ``not_held``): it stays as it is and nothing is said again - intake
    and the citizen were told once. ``manifest_by_pos``: Pos has taken the
    parcel of the job's jemput-bola manifest (``handovers.pos_has_it``);
    until then a card of the deceased printed for it is still at the Dinas,
    kept out of the parcel and cancelled as any other (outside review: the
    operator's choice of Pos made it uncancellable, listed for good). Once
    Pos has it: ``WithPos``, and it is listed no more. ``reason``: why, in
    the operator's words (``print_job_cancelled`` tells it, with who)."""
    if job["status"] == "cancelled":
        return {}, []
    given_up_printed = at_the_dinas(job, manifest_by_pos) and of_the_deceased(job, deceased)
    if not (job_is_held(job) or given_up_printed):
        if job["status"] == "printed" and manifest_by_pos and job.get("manifest_id"):
            raise WithPos()
        raise NotHeld(job["status"])
    last_failure = HELD_AS_DECEASED["last_failure"] if given_up_printed \
        else job.get("last_failure")
    return ({"status": "cancelled", "cancelled_by": operator, "lease_until": None,
             "lease_token": None},
            [Event("print_job_cancelled", {"reason": last_failure,
                                           "cancelled_by": operator,
                                           "operator_reason": mask_text(reason),
                                           "full_name": job["full_name"],
                                           "contact": job["contact"],
                                           "manifest_id": job.get("manifest_id"),
                                           **job_ref(job)})])


def reprint(job: dict, operator: str, deceased: set[str], manifest_with_pos: bool,
            reason: str | None = None) -> Decision:
    """An operator re-queues a printed document still at the Dinas - missing
    or spoiled after the station reported it (the journal pattern's price,
    docs/station-api.md): first in the queue, as a replacement, with fresh
    attempts; its window (the store gives the seat back; printed again,
    it keeps that window while it lies ahead: ``print_outcome``) and any
    office's hand-over are gone until it is printed again, and intake hears of it
    (``print_job_requeued``: the citizen is no longer told it is ready).
    Also a citizen's own parcel Pos has not taken yet (``awaiting_pos``):
    its Pos order stands and takes the reprint; and a member of a
    jemput-bola manifest the Dinas sends by Pos, until Pos takes the
    manifest's parcel (``manifest_with_pos``, ``handovers.pos_has_it``):
    the parcel waits for the reprint (``handovers.into_the_parcel``).
    Refused: not printed yet, collected or handed over, taken by Pos (its
    own parcel, or its jemput-bola manifest's: ``manifest_with_pos``), or a
    card of a holder recorded deceased (``deceased``: cancel it). A job a
    reprint queued again and not printed yet is a repeat (``reprint_queued``):
    it stays as it is and nothing is said again (outside review: a retry
    after a lost answer was told 409 ``not_printed``, "release or cancel" -
    a cancel would have ended the citizen's application). ``reason``: why,
    in the operator's words (``print_job_requeued`` tells it)."""
    if job["status"] == "collected":
        raise HandedOver()
    if reprint_queued(job):
        return {}, []  # a repeat (a retry after a lost answer): nothing said again
    if job["status"] != "printed":
        # queued, on lease, held - or cancelled: never to be printed
        raise NotPrinted(job["status"])
    if not (at_the_dinas(job, manifest_with_pos) or awaiting_pos(job)):
        raise WithPos()
    if of_the_deceased(job, deceased):
        raise DeceasedHoldKept()
    return ({"status": "queued", "attempts": 0, "priority": 0, "lease_until": None,
             "lease_token": None, "station_id": None, "slot": None, "last_failure": None,
             "failure_note": None, "requeued_by": operator,
             "printed_before": job.get("printed_at"), "slot_before": job.get("slot")},
            [Event("print_job_requeued", {"requeued_by": operator,
                                          "operator_reason": mask_text(reason),
                                          **job_ref(job),
                                          "delivery_method": job["delivery_method"],
                                          "manifest_id": job.get("manifest_id")})])


def reprint_queued(job: dict) -> bool:
    """A document an operator's reprint sent back to the queue, waiting for
    a station or on a station's lease (not held since: that is for release
    or cancel)."""
    return job["status"] in CLAIMABLE_STATUSES and bool(job.get("requeued_by")) \
        and job.get("printed_before") is not None


def downloadable(job: dict) -> dict:
    """A job whose document a station may download under its lease: one it
    may still report (``on_lease``). Printed - or collected - it is not: a
    new issuance for it would be a second valid document of one print, a
    duplicate card off the books (outside review: the lease token stays on
    a printed job). ``DocumentPrinted``."""
    if not on_lease(job):
        raise DocumentPrinted()
    return job


def at_the_dinas(job: dict, manifest_by_pos: bool) -> bool:
    """A document printed that stays the Dinas' to hand over (``still_at_the_dinas``)
    and is not a member of a jemput-bola manifest the Dinas sends by Pos
    (``manifest_by_pos``: printing confirmed it; outside audit A3 - such a
    member, its holder dead, was listed and cancelled while Pos carried it)."""
    return still_at_the_dinas(job) and not (manifest_by_pos and job.get("manifest_id"))


def awaiting_pos(job: dict) -> bool:
    """A citizen's own parcel printed and not in Pos' hands yet: courier has
    not told of Pos' first news of it (``parcel_picked_up``) - its order may
    be accepted, the document still at the Dinas. Also a jemput-bola
    member's whose citizen asked Pos to their door: a parcel of its own."""
    return job["status"] == "printed" and job.get("delivery_method") == "pos" \
        and not job.get("pos_picked_up_at")


def reprint_withdrawn(job: dict, taken_at: datetime.datetime,
                      manifest_id: str | None = None) -> Decision | None:
    """Pos took the parcel carrying the job's document at ``taken_at`` (Pos'
    time) - a citizen's own parcel, or the one of its jemput-bola manifest
    (``manifest_id``, a member that goes with it) - while its document was
    re-queued - the operator's reprint crossed Pos' courier
    taking it, or Pos' news came late (a webhook lost: polling finds it
    hours later) -, or before its reprint was printed: the parcel carries
    the document printed before (outside audit E: the citizen got a card
    whose QR said "revoked", the valid reprint stayed at the Dinas, and
    nothing could set it right). The reprint is withdrawn: the job is the
    earlier print's again (a station printing it now loses its lease; one
    held ``holder_deceased`` keeps that), and
    the store makes that print's download valid again (revoked as its
    holder's death or loss recorded since says, if one was) and the
    reprint's not (``_reprint_withdrawn``), and intake hears of it
    (``reprint_withdrawn``: the citizen's status is the print Pos carries,
    the reprint's print, if any, shown as withdrawn - outside audit J F2).
    None: nothing to withdraw - no re-queue, or a reprint printed before
    Pos took the parcel (it may be the one Pos carries), or a job given up
    or handed over since."""
    own = job.get("delivery_method") == "pos"  # a jemput-bola member's to its door too
    in_the_parcel = own if manifest_id is None else \
        not own and job.get("manifest_id") == manifest_id
    if not in_the_parcel or not job.get("requeued_by") or not job.get("printed_before"):
        return None
    if job["status"] not in ("queued", "leased", "held", "printed"):
        return None
    if job["status"] == "printed" and job["printed_at"] <= taken_at:
        return None
    reprint_printed = job["status"] == "printed"
    # held because its holder died: the card Pos carries is still a dead
    # person's, and the job keeps saying so (outside review: it was cleared)
    kept = HELD_AS_DECEASED["last_failure"] \
        if job.get("last_failure") == HELD_AS_DECEASED["last_failure"] else None
    return ({"status": "printed", "printed_at": job["printed_before"], "lease_until": None,
             "lease_token": None, "station_id": None, "last_failure": kept,
             "failure_note": None, "reprint_withdrawn_at": taken_at},
            [Event("reprint_withdrawn", {
                **job_ref(job), "picked_up_at": in_utc(taken_at),
                "printed_at": in_utc(job["printed_before"]),
                "reprint_printed_at": in_utc(job["printed_at"]) if reprint_printed else None,
                "manifest_id": manifest_id})])


def in_utc(moment: datetime.datetime) -> str:
    """An event's time as intake's timeline writes it (UTC, ISO 8601), so
    the two compare as text."""
    return as_utc(moment).isoformat()


def still_at_the_dinas(job: dict) -> bool:
    """A document printed and not handed over: at a counter, or waiting for
    its office's officer - not one Pos has taken."""
    return job["status"] == "printed" and job.get("delivery_method") != "pos"


def job_is_held(job: dict, max_attempts: int | None = None) -> bool:
    return job["status"] == "held" or (max_attempts is not None and job["status"] == "leased"
                                       and job["attempts"] >= max_attempts)
