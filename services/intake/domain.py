"""The application, its status and its timeline. Plain Python, no nameko.

Two kinds of move. Operators act along explicit transitions (``TRANSITIONS``):
an action applies only to the statuses listed for it. Downstream events may
arrive in any order (they come through separate queues), so a step they record
only ever moves the status forward: the stored status is the highest rank seen,
while the timeline keeps every step with the time it happened.

The store reads an application, asks this module what follows, and writes that
and the events it names in one transaction.
"""

from __future__ import annotations

import datetime
import secrets
import uuid
from dataclasses import dataclass

from shared.clock import utcnow

from .exceptions import IdempotencyKeyReused, WrongStatus

# the alphabet leaves out 0/O, 1/I/L so a code read over the phone survives
TRACKING_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


@dataclass(frozen=True)
class Status:
    rank: int  # a downstream step moves the status only to a higher rank; 0 never moves it
    label_id: str
    label_en: str
    final: bool = False  # a final application no longer blocks a new one for the NIK

    def label(self, lang: str) -> str:
        return self.label_en if lang == "en" else self.label_id


STATUSES = {
    "submitted": Status(10, "Permohonan diterima", "Application received"),
    "rejected": Status(20, "Permohonan ditolak", "Application rejected", final=True),
    "verified": Status(20, "Permohonan diverifikasi", "Application verified"),
    "print_queued": Status(30, "Masuk antrean cetak", "Queued for printing"),
    "print_failed": Status(30, "Cetak gagal, diulang", "Printing failed, retrying"),
    "printed": Status(40, "Dokumen dicetak", "Document printed"),
    "ready_for_pickup": Status(50, "Siap diambil", "Ready for collection"),
    "dispatched": Status(50, "Dikirim lewat Pos Indonesia", "Sent by Pos Indonesia"),
    "delivery_failed": Status(55, "Pengiriman gagal", "Delivery failed"),
    "collected": Status(60, "Sudah diambil", "Collected", final=True),
    "delivered": Status(60, "Sudah diterima", "Delivered", final=True),
    "notified": Status(0, "Pemberitahuan terkirim", "Notification sent"),
    "notification_failed": Status(0, "Pemberitahuan gagal", "Notification failed"),
}

# action -> {the status it applies to: the status it leads to}
TRANSITIONS: dict[str, dict[str, str]] = {
    "verify": {"submitted": "verified"},
    "reject": {"submitted": "rejected"},
}

# downstream event -> the status step it records
EVENT_STATUS = {
    "print_job_queued": "print_queued",
    "print_job_failed": "print_failed",
    "document_printed": "printed",
    "document_ready_for_pickup": "ready_for_pickup",
    "document_collected": "collected",
    "parcel_dispatched": "dispatched",
    "parcel_delivered": "delivered",
    "parcel_delivery_failed": "delivery_failed",
    "notification_sent": "notified",
    "notification_failed": "notification_failed",
}
# what a citizen may see of a step (not, e.g., which operator acted)
PUBLIC_DETAIL = {"channel", "slot", "barcode", "reasons"}

Event = tuple[str, dict]  # (event type, payload)


@dataclass(frozen=True)
class Transition:
    """An action's outcome: the status it leaves and enters, its step, its events."""
    from_status: str
    to_status: str
    step: dict
    events: tuple[Event, ...]

    @property
    def fields(self) -> dict:
        return status_fields(self.to_status)


def status_fields(status: str) -> dict:
    """The stored fields that follow from being in ``status``."""
    return {"status": status, "status_rank": STATUSES[status].rank,
            "active": not STATUSES[status].final}


def new_tracking_code() -> str:
    return "SDK" + "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(8))


def timeline_entry(status: str, at: datetime.datetime | str, detail: dict | None = None) -> dict:
    return {"status": status, "at": at if isinstance(at, str) else at.isoformat(),
            "detail": detail or {}}


def new_application(request: dict, details: dict, idempotency_key: str | None) -> dict:
    now = utcnow()
    applicant = request["applicant"]
    application = {
        "_id": uuid.uuid4().hex,
        "tracking_code": new_tracking_code(),
        "document_type": request["document_type"],
        "channel": request["channel"],
        "applicant": {
            "nik": applicant["nik"],
            "kk_number": applicant["kk_number"],
            "full_name": applicant["full_name"],
            "marital_status": applicant["marital_status"],
        },
        "contact": {"phone": applicant["phone"], "email": applicant["email"],
                    "language": applicant["language"]},
        "details": details,
        "delivery": request["delivery"],
        **status_fields("submitted"),
        "timeline": [timeline_entry("submitted", now, {"channel": request["channel"]})],
        "seen_events": [],
        "created_at": now,
    }
    if idempotency_key:
        application["idempotency_key"] = idempotency_key
    return application


def earlier_answer(earlier: dict, application: dict) -> dict:
    """A retried submission gets the first answer; a key reused by another NIK is refused."""
    if earlier["applicant"]["nik"] != application["applicant"]["nik"]:
        raise IdempotencyKeyReused()
    return earlier


def ref(application: dict) -> dict:
    """The fields every ``application_*`` event starts with."""
    return {"application_id": application["_id"],
            "tracking_code": application["tracking_code"],
            "document_type": application["document_type"]}


def submitted_event(application: dict) -> dict:
    """``application_submitted``: enough for notification to say where to go."""
    return {**ref(application), "channel": application["channel"],
            "kecamatan_code": application["applicant"]["nik"][:6]}


def verified_event(application: dict, operator: str) -> dict:
    """``application_verified``: what printing and courier need to print and deliver."""
    return {**ref(application),
            "nik": application["applicant"]["nik"],
            "full_name": application["applicant"]["full_name"],
            "contact": application["contact"],
            "delivery_method": application["delivery"]["method"],
            "delivery_address": application["delivery"].get("address"),
            "verified_by": operator}


def rejected_event(application: dict, reasons: list[str]) -> dict:
    """``application_rejected``: the reasons and where to tell the citizen (no operator)."""
    return {**ref(application), "reasons": reasons, "contact": application["contact"]}


def transition(application: dict, action: str, detail: dict,
               events: tuple[Event, ...] = ()) -> Transition:
    """The move ``action`` makes from the application's status, or ``WrongStatus``."""
    status = application["status"]
    to_status = TRANSITIONS[action].get(status)
    if to_status is None:
        raise WrongStatus(status)
    return Transition(status, to_status, timeline_entry(to_status, utcnow(), detail), events)


def verify(application: dict, operator: str) -> Transition:
    return transition(application, "verify", {"by": operator},
                      (("application_verified", verified_event(application, operator)),))


def reject(application: dict, operator: str, reasons: list[str]) -> Transition:
    return transition(application, "reject", {"by": operator, "reasons": reasons},
                      (("application_rejected", rejected_event(application, reasons)),))


def step_from_event(event_type: str, event: dict) -> dict:
    """The timeline entry a downstream event adds (details safe to show the citizen)."""
    status = EVENT_STATUS[event_type]
    detail = {}
    if "slot" in event:
        detail["slot"] = event["slot"]
    if "channel" in event:
        detail["channel"] = event["channel"]
    if "barcode" in event and event["barcode"]:
        detail["barcode"] = event["barcode"]
    return timeline_entry(status, event["occurred_at"], detail)


def advance(status_rank: int, step: dict) -> dict | None:
    """The status fields ``step`` sets on an application at ``status_rank``, or
    ``None`` when it leaves the status alone: only forward, never on a rank-0 step."""
    rank = STATUSES[step["status"]].rank
    if rank == 0 or rank <= status_rank:
        return None
    return status_fields(step["status"])


def public_view(application: dict, lang: str) -> dict:
    """What the citizen sees on a status lookup: no NIK, KK or contact details."""
    timeline = sorted(application["timeline"], key=lambda step: step["at"])
    return {
        "application_id": application["_id"],
        "tracking_code": application["tracking_code"],
        "document_type": application["document_type"],
        "status": application["status"],
        "status_label": STATUSES[application["status"]].label(lang),
        "timeline": [{**step, "label": STATUSES[step["status"]].label(lang),
                      "detail": {k: v for k, v in step["detail"].items() if k in PUBLIC_DETAIL}}
                     for step in timeline],
    }
