"""What each ``application_*`` event carries. Plain Python, no nameko.

Events carry what their consumers need, so they never read intake's
database: notification keeps its own contact book from
``application_submitted`` and ``application_resubmitted`` (contact + preferred
channel, the applicant's name) and tells the citizen
about rejections, resubmissions and cancellations; printing and courier take
their print needs from ``application_verified``. No payload names the
operator except ``verified_by`` (printing's audit trail); the citizen-facing
ones never do. Schemas: ``shared/events.py``.
"""

from __future__ import annotations

from shared.offices import DINAS

from .printables import document_details, holder
from .reasons import reason_texts

# what the Dinas prints for each document type (blanko card stock or paper)
CARD_DOCUMENTS = frozenset({"ktp_el", "kia"})


def ref(application: dict) -> dict:
    """The fields every ``application_*`` event starts with."""
    return {"application_id": application["_id"],
            "tracking_code": application["tracking_code"],
            "document_type": application["document_type"]}


def submitted_event(application: dict) -> dict:
    """``application_submitted``: where the citizen applied, how to reach them
    and whom to greet (notification's contact book keeps both), and how the
    document comes back (a Pos delivery's notice names no place to collect it)."""
    return {**ref(application), "channel": application["channel"],
            "kecamatan_code": application["applicant"]["nik"][:6],
            "contact": application["contact"],
            "full_name": application["applicant"]["full_name"],
            "delivery_method": application["delivery"]["method"]}


def print_needs(application: dict) -> dict:
    """What printing needs beyond the person: card or certificate, where it is
    collected (the place the citizen chose, ``request_fields.pickup_place``;
    a jemput-bola row's ``None`` and a Pos delivery's read as the Dinas),
    whether it replaces an earlier KTP-el and why, and the kecamatan of the
    officer who asked for it (whose list it goes on: the address may be there
    when the NIK is not)."""
    document_type = application["document_type"]
    reason = application["details"].get("reason", "first_issue") \
        if document_type == "ktp_el" else "first_issue"
    return {"print_kind": "card" if document_type in CARD_DOCUMENTS else "certificate",
            "pickup_place_id": application.get("pickup_place_id") or DINAS.place_id,
            "next_day": bool(application.get("next_day", False)),
            "replacement": reason != "first_issue",
            "replacement_reason": None if reason == "first_issue" else reason,
            "manifest_id": application.get("manifest_id"),
            # the officer's kecamatan: the hand-over list of a next-day request
            "kecamatan_code": application.get("kecamatan_code")}


def verified_event(application: dict, operator: str) -> dict:
    """``application_verified``: what printing and courier need to print and
    deliver. ``full_name`` is the applicant's (whom the Dinas tells and Pos
    delivers to); the document's own holder and details are ``printables``'."""
    return {**ref(application),
            "nik": application["applicant"]["nik"],
            "full_name": application["applicant"]["full_name"],
            "contact": application["contact"],
            **print_needs(application),
            **holder(application),
            "document_details": document_details(application),
            "delivery_method": application["delivery"]["method"],
            "delivery_address": application["delivery"].get("address"),
            "verified_by": operator}


def rejected_event(application: dict, codes: list[str], note: str | None) -> dict:
    """``application_rejected``: the codes, their texts in the citizen's language,
    the operator's note, and where to tell the citizen (no operator id)."""
    return {**ref(application), "reason_codes": codes,
            "reasons": reason_texts(codes, application["contact"]["language"]),
            "note": note, "contact": application["contact"],
            "manifest_id": application.get("manifest_id")}


def resubmitted_event(application: dict, corrected: list[str]) -> dict:
    """``application_resubmitted``: which fields the citizen corrected (names
    only), and the contact and name as corrected: notification's contact book
    takes them, so later notices reach the new phone or e-mail in the new language."""
    return {**ref(application), "corrected": corrected, "contact": application["contact"],
            "full_name": application["applicant"]["full_name"]}


def cancelled_event(application: dict) -> dict:
    """``application_cancelled``: the citizen withdrew it before verification."""
    return {**ref(application), "previous_status": application["status"],
            "contact": application["contact"], "manifest_id": application.get("manifest_id")}


def resend_event(application: dict) -> dict:
    """``tracking_code_resend_requested``: the code goes to the contact on file."""
    return {**ref(application), "contact": application["contact"]}
