"""The application, its status and its timeline. Plain Python, no nameko.

Two kinds of move, each along an explicit table. Operators and citizens act
along ``TRANSITIONS``: an action applies only to the statuses listed for it.
Downstream events (printing, courier, notification) move along
``downstream.EVENT_MOVES``; they may arrive in any order, so one that comes
late is recorded on the timeline and leaves the status alone (``downstream``).

Rejected is not the end: the citizen may resubmit (corrected fields, replaced
documents) and the application returns to the verification queue, or cancel
it. While rejected it does not hold the one-active slot, so the citizen may
also start afresh; a resubmission takes the slot back, and if a newer
application for the same subject holds it by then, the resubmission is
refused (409) and the newer one goes on. Cancelled is final.

The store reads an application, asks this module what follows, and writes that
and the events it names in one transaction.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Callable

from marshmallow import ValidationError

from shared.clock import utcnow
from shared.errors import Msg
from shared.fields import TRACKING_ALPHABET, TRACKING_PREFIX, schema
from shared.masking import mask_text
from shared.offices import DINAS, PLACES, Place

from .detail_schemas import DETAIL_SCHEMAS
from .exceptions import (IdempotencyKeyReused, PersonDeceased, PhotoNotUploaded,
                         PrintedNameMissing, WrongStatus)
from .population import REGISTER_UNCHECKED, REGISTER_WITHHELD
from .payloads import (cancelled_event, rejected_event, resubmitted_event,  # noqa: F401
                       submitted_event,  # the store emits it as domain.submitted_event
                       verified_event)
from .printables import unnamed
from .reasons import checked_codes, reason_texts
from .requirements import photos_not_uploaded
from .request_fields import corrected_fields, delivery_asked, pickup_place, request_fields
from .subjects import subject_key, subjects

# the alphabet leaves out 0/O, 1/I/L so a code read over the phone survives


@dataclass(frozen=True)
class Status:
    rank: int  # the order of the road, for reading; 0: a timeline step only, never a status
    label_id: str
    label_en: str
    final: bool = False  # the end of the road: no action or step moves it any more
    holds_slot: bool = True  # counts as the subject's one active application

    @property
    def active(self) -> bool:
        return self.holds_slot and not self.final

    def label(self, lang: str) -> str:
        return self.label_en if lang == "en" else self.label_id

    @property
    def labels(self) -> Msg:
        """Both labels, for a message that names the status (``WrongStatus``)."""
        return Msg(self.label_id, self.label_en)


STATUSES = {
    "submitted": Status(10, "Permohonan diterima", "Application received"),
    # awaiting a resubmission that may never come: the slot is free meanwhile
    "rejected": Status(20, "Permohonan ditolak", "Application rejected", holds_slot=False),
    "verified": Status(20, "Permohonan diverifikasi", "Application verified"),
    "print_queued": Status(30, "Masuk antrean cetak", "Queued for printing"),
    "print_failed": Status(30, "Cetak gagal, diulang", "Printing failed, retrying"),
    # a station's failure printing does not retry: an operator must look first
    "print_held": Status(30, "Cetak tertunda, menunggu pemeriksaan petugas",
                         "Printing on hold, waiting for an officer's check"),
    "printed": Status(40, "Dokumen dicetak", "Document printed"),
    "ready_for_pickup": Status(50, "Siap diambil", "Ready for collection"),
    "dispatched": Status(50, "Dikirim lewat Pos Indonesia", "Sent by Pos Indonesia"),
    # the parcel came back: the document waits at the Dinas for a pickup window
    "returned_to_dinas": Status(55, "Kiriman kembali ke Dinas",
                                "Parcel returned to the Disdukcapil"),
    "collected": Status(60, "Sudah diambil", "Collected", final=True),
    "delivered": Status(60, "Sudah diterima", "Delivered", final=True),
    # the operator gave the held print job up: nothing will be printed. Not
    # "or apply again": a job held because its holder died is cancelled too,
    # and a new application of that NIK is refused (the notice tells the rest)
    "print_cancelled": Status(60, "Pencetakan dihentikan; hubungi Disdukcapil",
                              "Printing stopped; contact the Disdukcapil", final=True),
    # above every downstream step, so none can move a cancelled application
    "cancelled": Status(70, "Permohonan dibatalkan", "Application cancelled", final=True),
    # rank 0: timeline steps only, never an application's status
    "resubmitted": Status(0, "Permohonan diajukan ulang", "Application resubmitted"),
    "notified": Status(0, "Pemberitahuan terkirim", "Notification sent"),
    "notification_failed": Status(0, "Pemberitahuan gagal", "Notification failed"),
    # one failed delivery attempt: the courier tries again, still dispatched
    "delivery_failed": Status(0, "Pengantaran gagal, dicoba lagi",
                              "Delivery attempt failed, trying again"),
    "pickup_rescheduled": Status(0, "Jadwal pengambilan diubah", "Pickup window moved"),
    # Pos' courier took the parcel at the Dinas (courier's ``parcel_picked_up``):
    # after a reprint Pos took the parcel before, the last step is this, not
    # the reprint's queue (outside audit G)
    "picked_up": Status(0, "Paket diambil kurir Pos", "Parcel picked up by Pos"),
    # Pos took the parcel with the print before while its reprint waited
    # (printing's ``reprint_withdrawn``): that print is the valid one
    "reprint_withdrawn": Status(0, "Cetak ulang dibatalkan: dokumen yang dicetak sebelumnya "
                                   "sudah dibawa Pos dan tetap berlaku",
                                "Reprint withdrawn: Pos already has the document printed "
                                "before, which stays valid"),
    # a jemput-bola parcel Pos delivered to the kelurahan office
    "at_kelurahan": Status(0, "Siap diambil di kantor kelurahan",
                           "Ready for collection at the kelurahan office"),
    # the office's officer collects the document at the Dinas (on the step's
    # ``day``); the citizen at the office (from its ``at_office_from``)
    "to_kelurahan": Status(0, "Dicetak; diambil petugas kelurahan di Dinas, lalu siap diambil "
                              "di kantor kelurahan",
                           "Printed; the kelurahan officer collects it at the Disdukcapil, then "
                           "it is ready at the kelurahan office"),
    "to_kecamatan": Status(0, "Dicetak; diambil petugas kecamatan di Dinas, lalu siap diambil "
                              "di kantor kecamatan",
                           "Printed; the kecamatan officer collects it at the Disdukcapil, then "
                           "it is ready at the kecamatan office"),
}

# action -> {the status it applies to: the status it leads to}
TRANSITIONS: dict[str, dict[str, str]] = {
    "verify": {"submitted": "verified"},  # operator
    "reject": {"submitted": "rejected"},  # operator
    "resubmit": {"rejected": "submitted"},  # citizen: back to the queue
    "cancel": {"submitted": "cancelled", "rejected": "cancelled"},  # citizen, before verification
}
# the timeline names a step after its status, except where the status alone
# would not say what happened (a resubmission is ``submitted`` again)
STEP_NAMES = {"resubmit": "resubmitted"}
# statuses an application can be in (the rest are timeline steps only)
APPLICATION_STATUSES = tuple(name for name, status in STATUSES.items() if status.rank > 0)

# what a citizen may see of a step (not, e.g., which operator acted)
PUBLIC_DETAIL = {"channel", "slot", "barcode", "reasons", "reason_codes", "note", "corrected",
                 "reason", "how", "kelurahan_code", "kecamatan_code", "day", "at_office_from"}
CITIZEN = "citizen"  # who acted, on the steps the citizen takes

Event = tuple[str, dict]  # (event type, payload)


@dataclass(frozen=True)
class Transition:
    """An action's outcome: the status it leaves and enters, its step, its events."""
    from_status: str
    to_status: str
    step: dict
    events: tuple[Event, ...]
    changes: dict = field(default_factory=dict)  # other fields the move sets
    application_id: str = ""

    @property
    def fields(self) -> dict:
        return status_fields(self.to_status, self.application_id,
                             holds_slot(self.changes.get("flags", ())))


# ``active_slot`` while an application is in progress: the one-active rule's
# unique index (subject, document type, slot) lets two of a subject clash
# there; once it is not, its slot is its own id, which clashes with nothing
ACTIVE_SLOT = "active"


def status_fields(status: str, application_id: str, slot: bool = True) -> dict:
    """The stored fields that follow from being in ``status``; ``slot``:
    whether, while in progress, it holds its subject's one active slot - an
    application waiting for verification does not when the register was not
    asked about it (``holds_slot``)."""
    active = STATUSES[status].active
    return {"status": status, "status_rank": STATUSES[status].rank, "active": active,
            "active_slot": ACTIVE_SLOT if active and (slot or status != "submitted")
            else application_id}


# an application the register did not check (asked nothing, or no answer)
UNCHECKED_BY_REGISTER = frozenset({REGISTER_WITHHELD, REGISTER_UNCHECKED})


def holds_slot(flags) -> bool:
    """Whether an application waiting for verification holds its subject's
    one active slot: not one the register did not check - not asked
    (``register_withheld``: whoever guessed at a NIK too often) or not
    answering (``register_unchecked``: an outage) -, so a stranger with a
    wrong KK cannot take the owner's slot; it takes the slot when an
    operator verifies it (409 if another holds it then)."""
    return UNCHECKED_BY_REGISTER.isdisjoint(flags)


# a KTP-el application in these says nothing of its NIK's recording: given
# up, or refused by an operator (a NIK not recorded among the reasons)
NOT_SHOWING_RECORDING = frozenset({"cancelled", "rejected"})


def shows_recording(application: dict) -> bool:
    """Whether a KTP-el print application shows its NIK recorded (no
    recording to book): one an operator verified, or one waiting whose NIK
    the register checked (it refuses a print for a NIK not recorded) - not
    one the register did not check (``holds_slot``: outside audit C, a
    stranger's guess at the NIK, or one made in an outage, told the NIK's
    owner "already recorded" and kept them from booking), nor one in
    ``NOT_SHOWING_RECORDING``."""
    status = application["status"]
    return status not in NOT_SHOWING_RECORDING and (
        status != "submitted" or holds_slot(application.get("flags", ())))


# whose tracking code a citizen may still need: an application in progress,
# or one rejected (resubmitting or withdrawing it takes the code and the NIK)
CODE_STILL_NEEDED = frozenset({name for name, status in STATUSES.items() if status.active}
                              | {"rejected"})


def codes_still_needed(applications: list[dict]) -> list[dict]:
    """Of one NIK's applications of one type (each in ``CODE_STILL_NEEDED``),
    those whose code a re-send sends: each subject's active one, or, for a
    subject with none active, its latest rejected one (outside audit C: a
    citizen who lost the code of a rejected application could neither
    resubmit nor withdraw it). An older rejected one of a subject that has
    another in progress cannot be resubmitted: no code for it."""
    by_subject: dict[tuple[str, ...], dict] = {}
    for application in sorted(applications, key=lambda a: (a["status"] != "rejected",
                                                            a["created_at"])):
        # an SKPWNI's key is its members' list (a dict key no list can be)
        key = application.get("subject_key") or application["_id"]
        by_subject[tuple(subjects(key))] = application
    return list(by_subject.values())


def new_tracking_code() -> str:
    return TRACKING_PREFIX + "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(8))


def timeline_entry(status: str, at: datetime.datetime | str, detail: dict | None = None) -> dict:
    return {"status": status, "at": at if isinstance(at, str) else at.isoformat(),
            "detail": detail or {}}


def new_application(request: dict, details: dict, idempotency_key: str | None,
                    checks: dict | None = None, digest: str | None = None) -> dict:
    """``checks``: what the rules found beside the details (``rules.Checked.stored``:
    flags for the operator, the supporting documents required, derived fields).
    ``digest``: what a retry with the key must repeat (``request_digests``), if
    the caller worked it out already; else worked out here from ``request``."""
    now, application_id = utcnow(), uuid.uuid4().hex
    application = {
        "_id": application_id,
        "tracking_code": new_tracking_code(),
        "document_type": request["document_type"],
        "channel": request["channel"],
        **request_fields(request, details),
        # the one-active rule's key: whom the document is for (``subjects``)
        "subject_key": subject_key(request["document_type"], request["applicant"], details),
        "flags": [], "required_documents": [], "derived": {},
        **(checks or {}),
        **status_fields("submitted", application_id, holds_slot((checks or {}).get("flags", ()))),
        "timeline": [timeline_entry("submitted", now, {"channel": request["channel"]})],
        "created_at": now,
        "queued_at": now,  # waiting for verification since (a resubmission re-enters)
    }
    if idempotency_key:
        application["idempotency_key"] = idempotency_key
        application["request_digest"] = digest or request_digests(request)[0]
    return application


# what a retry may correct and still be the same request: how the citizen is told
CONTACT_FIELDS = frozenset({"phone", "email", "language", "preferred_channel"})
# the digests ``request_digests`` makes now begin with this; one without it
# was stored before (document type and details as sent)
DIGEST_VERSION = "2:"


def request_digests(request: dict) -> tuple[str, str]:
    """What a retry of a submission repeats (``request`` loaded, not yet
    checked): its document type, its details as their schema loads them
    (a code dotted or bare, a default given or left out, the declared
    documents in any order, spaces around a name: the same details), its
    delivery, and the applicant but for the contact - a contact corrected on
    a retry does not make it another request; a name, a delivery or details
    changed do (outside audit A2: a retry switching to Pos was answered 202
    and stayed a pickup). The NIK and KK are compared as they are too
    (``earlier_answer``). Returns the digest stored now, and the one stored
    before ``DIGEST_VERSION`` (an application stored then is compared by it)."""
    applicant = request.get("applicant")
    sent = {"document_type": request.get("document_type"),
            "details": normalised_details(request.get("document_type"), request.get("details")),
            "delivery": normalised_delivery(request),
            # an officer's request: the applicant's address (``batches``)
            "address": request.get("address"),
            "applicant": {name: value for name, value in applicant.items()
                          if name not in CONTACT_FIELDS} if isinstance(applicant, dict)
            else applicant}
    before = {"document_type": request.get("document_type"), "details": request.get("details")}
    return DIGEST_VERSION + digest_of(sent), digest_of(before)


def normalised_delivery(request: dict):
    """The delivery as intake takes it (``request_fields``): the method its
    channel implies when left out, the Dinas when no place is named - a
    default sent or left out is the same delivery. As sent if it does not
    load (it then matches no earlier request)."""
    try:
        delivery = delivery_asked(request)
        return {name: value for name, value in {**delivery,
                                                "place_id": pickup_place(delivery)}.items()
                if value is not None}
    except (KeyError, TypeError, AttributeError):
        return request.get("delivery")


def normalised_details(document_type, details):
    """``details`` as their schema loads and dumps them, the declared
    documents sorted, each kind once; as sent if the schema refuses them."""
    kind = DETAIL_SCHEMAS.get(document_type) if isinstance(document_type, str) else None
    if kind is None:
        return details
    details_schema = schema(kind)
    try:
        loaded = details_schema.dump(details_schema.load(details))
    except ValidationError:
        return details
    if isinstance(loaded.get("documents"), list):  # a kind listed twice: declared once
        loaded["documents"] = sorted(set(loaded["documents"]), key=str)
    return loaded


def digest_of(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str,
                                     separators=(",", ":")).encode()).hexdigest()


def earlier_answer(earlier: dict, applicant: dict, digests: tuple[str, ...] = (),
                   submitted_by: str | None = None) -> dict:
    """A retried submission gets the first answer; a key reused for another
    NIK - or the same NIK with another KK - is refused: the answer carries
    the tracking code, which with the NIK opens the application (status,
    cancel), and a key may be guessable; the KK is what a stranger lacks.
    So is one reused for another document or other details (``digests``,
    ``request_digests``: the stored digest must be one of them; outside
    audit T4: a back-end reusing its ids got 202 with a first child's code
    for a second child's application, which was never stored); an
    application stored before its digest was kept is compared by NIK and KK
    only. And one made by someone else: a citizen's submission under a key
    an officer's next-day request used, or the other way round
    (``submitted_by``: the officer, None for a citizen's; outside audit B:
    a citizen's web submission was answered 202 with the officer's
    next-day application, collected at the kecamatan office)."""
    if earlier.get("submitted_by") != submitted_by:
        raise IdempotencyKeyReused()
    first = earlier["applicant"]
    if (first["nik"], first.get("kk_number")) != (applicant.get("nik"),
                                                 applicant.get("kk_number")):
        raise IdempotencyKeyReused()
    if digests and earlier.get("request_digest", digests[0]) not in digests:
        raise IdempotencyKeyReused()
    return earlier


def next_status(application: dict, action: str) -> str:
    """Where ``action`` leads from the application's status, or ``WrongStatus``
    (also asked before costly checks of an action that cannot apply)."""
    to_status = TRANSITIONS[action].get(application["status"])
    if to_status is None:
        raise WrongStatus(STATUSES[application["status"]].labels)
    return to_status


def transition(application: dict, action: str, detail: dict,
               events: tuple[Event, ...] = (), changes: dict | None = None) -> Transition:
    """The move ``action`` makes from the application's status, or ``WrongStatus``."""
    status, to_status = application["status"], next_status(application, action)
    step = timeline_entry(STEP_NAMES.get(action, to_status), utcnow(), detail)
    return Transition(status, to_status, step, events, changes or {}, application["_id"])


def verify(application: dict, operator: str,
           deceased: Callable[[str], bool] = lambda nik: False,
           derived: dict | None = None) -> Transition:
    """``PersonDeceased`` for a document for someone who died since it was
    applied for (``deceased``: a death certificate verified here);
    ``PhotoNotUploaded`` for a card whose photo is declared, not uploaded;
    ``PrintedNameMissing`` for a certificate naming someone by NIK alone.
    ``derived``: what the register told at the verification (stored with
    the application's ``derived``, and printed)."""
    next_status(application, "verify")  # a wrong status says so first
    changes = {f"derived.{name}": value for name, value in (derived or {}).items()}
    if derived:
        application = {**application, "derived": {**application.get("derived", {}), **derived}}
    if dead := [path for path, nik in issued_for(application) if nik and deceased(nik)]:
        raise PersonDeceased(dead)
    if missing := photos_not_uploaded(application):
        raise PhotoNotUploaded(missing)
    if missing := unnamed(application):
        raise PrintedNameMissing(missing)
    return transition(application, "verify", {"by": operator},
                      (("application_verified", verified_event(application, operator)),),
                      changes)


def issued_for(application: dict) -> list[tuple[str, str]]:
    """Whom the document is for, by NIK, each with the field that names
    them: a KIA's child, an SKPWNI's moving members (arriving: its
    applicant), a KTP-el's applicant. A certificate of a birth or a death is
    no living person's to hold."""
    details = application["details"]
    document_type = application["document_type"]
    if document_type in ("akta_kelahiran", "akta_kematian"):
        return []
    if document_type == "kia":
        return [("details.child_nik", details.get("child_nik"))]
    if members := details.get("members"):
        return [(f"details.members.{index}", nik) for index, nik in enumerate(members)]
    return [("applicant.nik", application["applicant"]["nik"])]


def reject(application: dict, operator: str, codes: list[str],
           note: str | None = None) -> Transition:
    """Reject with reason codes from the catalogue (``reasons``) and an optional
    note - shown to the citizen (timeline, e-mail): a phone number or NIK/KK
    typed into it is masked (``mask_text``), as everything sent to citizens is."""
    details_reason = (application.get("details") or {}).get("reason") \
        if application["document_type"] == "ktp_el" else None
    codes = checked_codes(codes, application["document_type"], note, details_reason)
    note = mask_text(note)
    detail = {"by": operator, "reason_codes": codes, **({"note": note} if note else {})}
    return transition(application, "reject", detail,
                      (("application_rejected", rejected_event(application, codes, note)),))


def resubmit(application: dict, request: dict, details: dict,
             checks: dict | None = None) -> Transition:
    """The citizen's corrected request (already checked by the rules, which
    found ``checks`` as for a new application) takes the place of the old
    one, and the application re-enters the queue."""
    fields = {**request_fields(request, details), **(checks or {}),
              # a corrected child's name or birth date is another subject
              "subject_key": subject_key(request["document_type"], request["applicant"], details)}
    if application.get("submitted_by"):  # an officer's: where its round set it
        del fields["pickup_place_id"]
    corrected = corrected_fields(application, fields)
    updated = {**application, **fields}
    return transition(application, "resubmit", {"by": CITIZEN, "corrected": corrected},
                      (("application_resubmitted", resubmitted_event(updated, corrected)),),
                      {**fields, "queued_at": utcnow()})


def cancel(application: dict) -> Transition:
    return transition(application, "cancel", {"by": CITIZEN},
                      (("application_cancelled", cancelled_event(application)),))


# a print on the timeline that is a withdrawn reprint's (``shown_timeline``)
WITHDRAWN_PRINT = Status(0, "Dokumen dicetak ulang (dibatalkan: Pos membawa cetakan sebelumnya)",
                         "Document reprinted (withdrawn: Pos carries the earlier print)")


def shown_timeline(application: dict, lang: str) -> list[dict]:
    """The timeline in time order, each step with its label; a print
    recorded from the withdrawn reprint's print on and before printing
    withdrew it (``reprint_withdrawn``, ``downstream.fields_set``) is that
    reprint's - whichever came first to intake -: ``withdrawn``, and
    labelled so (outside audit J F2: it read as the document Pos took). Its
    ``document_printed`` is emitted as it is printed; the print Pos carries
    was printed before its re-queue. A parcel's pickup is one step, however
    often courier told it."""
    span = application.get("reprint_withdrawn") or {}
    shown, parcels_taken = [], set()
    for step in sorted(application["timeline"], key=lambda step: step["at"]):
        if step["status"] == "picked_up":
            # courier tells a pickup again when Pos' news of an earlier one
            # came late (its time moved back): the citizen sees it once
            if (barcode := step["detail"].get("barcode")) in parcels_taken:
                continue
            parcels_taken.add(barcode)
        if step["status"] == "printed" and span.get("printed_at") \
                and span["printed_at"] <= step["at"] <= span["until"]:
            shown.append({**step, "label": WITHDRAWN_PRINT.label(lang), "withdrawn": True})
        else:
            shown.append({**step, "label": STATUSES[step["status"]].label(lang)})
    return shown


def public_view(application: dict, lang: str) -> dict:
    """What the citizen sees on a status lookup: no NIK, KK or contact details."""
    return {
        "application_id": application["_id"],
        "tracking_code": application["tracking_code"],
        "document_type": application["document_type"],
        "status": application["status"],
        "status_label": STATUSES[application["status"]].label(lang),
        # where the citizen chose to collect it (their own application; an
        # officer's round says where); when, and the parcel's barcode, once known
        **({"pickup_place": place.view()} if (place := chosen_place(application)) else {}),
        # none once printing gave it up (outside audit A: a card whose
        # holder died, cancelled, still showed the window given up)
        **({"pickup_slot": application["pickup"]["slot"]}
           if application.get("pickup") and application["status"] != "print_cancelled" else {}),
        **({"parcel_barcode": application["parcel"]["barcode"]}
           if (application.get("parcel") or {}).get("barcode") else {}),
        "timeline": [{**step, "detail": public_detail(step["detail"], lang)}
                     for step in shown_timeline(application, lang)],
    }


def chosen_place(application: dict) -> Place | None:
    """The office the citizen chose to collect at (``delivery.place_id``, the
    Dinas by default) - outside audit A1: nothing showed the choice before
    the "ready" notice. None for a Pos delivery - unless its parcel came
    back and waits at the Disdukcapil counter (a pickup window given:
    outside audit A3) - and for an officer's application (a jemput-bola
    round's or a next-day request's documents go through their office)."""
    if application.get("manifest_id") or application.get("next_day"):
        return None
    if application.get("pickup_place_id") is None and application.get("pickup"):
        return DINAS  # a returned parcel's document, at the counter
    return PLACES.get(application.get("pickup_place_id") or "")


def public_detail(detail: dict, lang: str) -> dict:
    """What a step shows the citizen: never who acted; reasons in their language."""
    shown = {name: value for name, value in detail.items() if name in PUBLIC_DETAIL}
    if "reason_codes" in shown:
        shown["reasons"] = reason_texts(shown["reason_codes"], lang)
    return shown
