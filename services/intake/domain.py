"""The application and its status timeline. Plain Python, no nameko.

Status only moves forward: downstream events may arrive in any order (they
come through separate queues), so the stored status is the highest rank seen,
while the timeline keeps every step with the time it happened.
"""

from __future__ import annotations

import datetime
import secrets
import uuid

from shared.clock import utcnow

# the alphabet leaves out 0/O, 1/I/L so a code read over the phone survives
TRACKING_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

# status -> (rank, label in Bahasa Indonesia, label in English)
STATUSES = {
    "submitted": (10, "Permohonan diterima", "Application received"),
    "rejected": (20, "Permohonan ditolak", "Application rejected"),
    "verified": (20, "Permohonan diverifikasi", "Application verified"),
    "print_queued": (30, "Masuk antrean cetak", "Queued for printing"),
    "print_failed": (30, "Cetak gagal, diulang", "Printing failed, retrying"),
    "printed": (40, "Dokumen dicetak", "Document printed"),
    "ready_for_pickup": (50, "Siap diambil", "Ready for collection"),
    "dispatched": (50, "Dikirim lewat Pos Indonesia", "Sent by Pos Indonesia"),
    "delivery_failed": (55, "Pengiriman gagal", "Delivery failed"),
    "collected": (60, "Sudah diambil", "Collected"),
    "delivered": (60, "Sudah diterima", "Delivered"),
    "notified": (0, "Pemberitahuan terkirim", "Notification sent"),
    "notification_failed": (0, "Pemberitahuan gagal", "Notification failed"),
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
FINAL_STATUSES = {"rejected", "collected", "delivered"}
# what a citizen may see of a step (not, e.g., which operator acted)
PUBLIC_DETAIL = {"channel", "slot", "barcode", "reasons"}


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
        "status": "submitted",
        "status_rank": STATUSES["submitted"][0],
        "active": True,
        "timeline": [timeline_entry("submitted", now, {"channel": request["channel"]})],
        "seen_events": [],
        "created_at": now,
    }
    if idempotency_key:
        application["idempotency_key"] = idempotency_key
    return application


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


def public_view(application: dict, lang: str) -> dict:
    """What the citizen sees on a status lookup: no NIK, KK or contact details."""
    label = 2 if lang == "en" else 1
    timeline = sorted(application["timeline"], key=lambda step: step["at"])
    return {
        "application_id": application["_id"],
        "tracking_code": application["tracking_code"],
        "document_type": application["document_type"],
        "status": application["status"],
        "status_label": STATUSES[application["status"]][label],
        "timeline": [{**step, "label": STATUSES[step["status"]][label],
                      "detail": {k: v for k, v in step["detail"].items() if k in PUBLIC_DETAIL}}
                     for step in timeline],
    }
