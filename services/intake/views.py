"""What operators see of applications: a queue row and the whole record.
Plain Python, no nameko. (The citizen's view is ``domain.public_view``.)

Operators are the Dinas: they see the NIK, KK, contact details, the
documents and who acted on each step. Fields other parts of intake add to
an application (flags, documents, a manifest id ...) show up in the detail
without this module knowing them.
"""

from __future__ import annotations

import datetime

from shared.masking import mask_identity
from shared.outbox import CARRIED_FIELDS

from .domain import STATUSES, shown_timeline
from .reasons import reason_texts

# bookkeeping, not the application (outside audit C: the operator's detail
# showed the one-active index's slot, the subject key and the request's digest)
HIDDEN = {"_id", "seen_events", "idempotency_key", "status_rank", "active_slot",
          "subject_key", "request_digest", "documents_replaced", *CARRIED_FIELDS}


def plain(value):
    """``value`` as JSON can carry it: times as ISO-8601, other types as text."""
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)  # e.g. an ObjectId of a stored file


def queue_row(application: dict, lang: str) -> dict:
    """An application in a list: the queue's, or a lookup's, whose rows an
    operator tells apart by the applicant's NIK - masked (the detail has it
    whole), as a recording booking's row has it."""
    area = application.get("area") or {}
    return plain({
        "application_id": application["_id"],
        "tracking_code": application["tracking_code"],
        "document_type": application["document_type"],
        "status": application["status"],
        "status_label": STATUSES[application["status"]].label(lang),
        "channel": application["channel"],
        "full_name": application["applicant"]["full_name"],
        "nik_masked": mask_identity(application["applicant"].get("nik")),
        "kecamatan_code": area.get("kecamatan_code"),
        "kelurahan_code": area.get("kelurahan_code"),
        "flags": application.get("flags", []),
        "documents_count": application.get("documents_count", 0),
        "queued_at": application.get("queued_at") or application["created_at"],
        "submitted_at": application["created_at"],
    })


def operator_step(step: dict, lang: str) -> dict:
    """A step as ``domain.shown_timeline`` labels it, with who acted."""
    detail = dict(step["detail"])
    if "reason_codes" in detail:
        detail["reasons"] = reason_texts(detail["reason_codes"], lang)
    return {**step, "detail": detail}


def operator_view(application: dict, lang: str) -> dict:
    """The whole application, documents and timeline (with who acted) included."""
    shown = {name: value for name, value in application.items() if name not in HIDDEN}
    return plain({
        "application_id": application["_id"],
        **shown,
        "status_label": STATUSES[application["status"]].label(lang),
        "documents": [{**entry, "replaced_by": replaced_by(application, entry)}
                      for entry in application.get("documents", [])],
        "timeline": [operator_step(step, lang) for step in shown_timeline(application, lang)],
    })


def replaced_by(application: dict, entry: dict) -> str | None:
    """The document uploaded in place of ``entry`` after a rejection
    (``uploads.replaced_by_upload``), or None."""
    return (application.get("documents_replaced") or {}).get(entry["document_id"])


def batch_member_view(accepted: dict, application: dict, lang: str) -> dict:
    """A jemput-bola member as its kelurahan's officer follows it (no
    personal data): its row, where it stands, and for one rejected at
    verification the reasons (the codes' texts; the operator's note goes to
    the citizen only)."""
    rejection = next((step["detail"] for step in reversed(application["timeline"])
                      if step["status"] == "rejected"), {})
    return {**accepted, "document_type": application["document_type"],
            "status": application["status"],
            "status_label": STATUSES[application["status"]].label(lang),
            "reasons": reason_texts(rejection.get("reason_codes", []), lang)
            if application["status"] == "rejected" else None}
