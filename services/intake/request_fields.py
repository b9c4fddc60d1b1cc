"""What a citizen's request sets on an application, and back: the request an
application came from, for the citizen to correct and the rules to check
again on resubmission. Plain Python, no nameko.
"""

from __future__ import annotations

from shared.errors import Msg, ValidationFailed
from shared.offices import DINAS

CONTACT_CHANNELS = {"sms": "phone", "whatsapp": "phone", "email": "email"}  # -> address field


def contact_of(applicant: dict) -> dict:
    """How to reach the applicant. The preferred channel defaults to SMS when a
    phone was given, else email; a chosen one needs its address (400 naming
    ``applicant.preferred_channel``)."""
    preferred = applicant.get("preferred_channel") or ("sms" if applicant["phone"] else "email")
    if not applicant[CONTACT_CHANNELS[preferred]]:
        needed = CONTACT_CHANNELS[preferred]
        raise ValidationFailed({"applicant.preferred_channel": [Msg(
            f"Saluran '{preferred}' memerlukan applicant.{needed}.",
            f"Channel '{preferred}' needs applicant.{needed}.")]})
    return {"phone": applicant["phone"], "email": applicant["email"],
            "language": applicant["language"], "preferred_channel": preferred}


# DESIGN.md: "Pos Indonesia delivers documents for PRR and WhatsApp
# applicants" - they applied from home; any other channel collects at the
# Dinas unless the request asks for Pos (a PRR record names Pos itself)
POS_CHANNELS = ("whatsapp",)


def delivery_asked(request: dict) -> dict:
    """How the document reaches its citizen: the request's ``delivery``,
    whose ``method``, when not named, is a pickup where it names a place to
    collect it (``place_id``), else Pos for a WhatsApp applicant and a pickup
    for anyone else. A WhatsApp applicant may still ask for a pickup."""
    delivery = request.get("delivery") or {}
    if delivery.get("method"):
        return delivery
    pos = request["channel"] in POS_CHANNELS and not delivery.get("place_id")
    return {**delivery, "method": "pos" if pos else "pickup"}


# an officer's application is collected where the officer's round takes it
# (``batches.officer_application``): the kelurahan for a jemput-bola row, the
# Dinas for a kecamatan's next-day request
OFFICERS_PLACE = Msg(
    "Tidak diisi: permohonan lewat petugas diambil sesuai rombongannya (jemput bola: di "
    "kelurahan; permintaan H+1 kecamatan: di Disdukcapil).",
    "Leave it out: an application through an officer is collected as its round says "
    "(jemput bola: at the kelurahan; a kecamatan's next-day request: at the Dinas).")


def officers_place(delivery: dict | None) -> None:
    """An officer's application names no place to collect it (400 on
    ``delivery.place_id``)."""
    if (delivery or {}).get("place_id"):
        raise ValidationFailed({"delivery.place_id": [OFFICERS_PLACE]})


# a kecamatan's next-day request (``batches.check_next_day``) is a first
# KTP-el that the kecamatan collects at the Dinas
NEXT_DAY_DELIVERY = Msg("Tidak diisi: kecamatan mengambil cetakan di Disdukcapil.",
                        "Leave it out: the kecamatan collects the print at the Dinas.")
FIRST_CARD_ONLY = Msg("Permintaan H+1 hanya untuk KTP-el pertama (first_issue).",
                      "Next-day requests are for a first KTP-el only (first_issue).")


def first_card(details: dict | None) -> bool:
    return (details or {}).get("reason") == "first_issue"


def officers_rules(application: dict, corrections: dict) -> None:
    """The rules of an officer's channel, again on its resubmission (outside
    review: a next-day request resubmitted for Pos, or as a lost card's
    replacement, was printed for the kecamatan's hand-over list and posted
    too): a next-day request takes no ``delivery`` and stays a first card,
    400 as ``batches.check_next_day`` answers; no officer's application
    names a place to collect it (``officers_place``)."""
    if application.get("next_day"):
        if "delivery" in corrections:
            raise ValidationFailed({"delivery": [NEXT_DAY_DELIVERY]})
        if not first_card(corrections.get("details", application["details"])):
            raise ValidationFailed({"details.reason": [FIRST_CARD_ONLY]})
    officers_place(corrections.get("delivery"))


def pickup_place(delivery: dict) -> str | None:
    """The application's ``pickup_place_id``: where the citizen collects the
    document (the place they chose, else the Dinas; printing routes the job
    to a station there and books the window there); None for a Pos delivery."""
    if delivery["method"] != "pickup":
        return None
    return delivery.get("place_id") or DINAS.place_id


def request_fields(request: dict, details: dict) -> dict:
    """The stored fields a (corrected) request decides: who, how to reach them,
    what they ask for, where it is collected, and the area the operators'
    queue filters on (the NIK's kecamatan; the kelurahan of the address
    given, if any). An officer's application sets its own place
    (``batches.officer_application``)."""
    applicant = request["applicant"]
    delivery = delivery_asked(request)
    address = request.get("address") or delivery.get("address") or {}
    contact = contact_of(applicant)
    return {
        "applicant": {name: value for name, value in applicant.items() if name not in contact},
        "contact": contact,
        "details": details,
        "delivery": delivery,
        "pickup_place_id": pickup_place(delivery),
        "area": {"kecamatan_code": applicant["nik"][:6],
                 "kelurahan_code": address.get("kelurahan_code")},
    }


def request_of(application: dict) -> dict:
    """The application as the loaded request it came from, for the citizen to
    correct and the rules to check again; with an officer's application, the
    applicant's ``address`` the officer sent, kept: no resubmission corrects
    it, and its kelurahan is the one the queue lists it under (outside
    review: a resubmitted batch row lost it, ``request_fields``' area)."""
    return {"document_type": application["document_type"], "channel": application["channel"],
            "applicant": {**application["applicant"], **application["contact"]},
            "details": application["details"], "delivery": application["delivery"],
            "address": application.get("address")}


def corrected_fields(application: dict, fields: dict) -> list[str]:
    """Which request fields differ between ``application`` and its new ``fields``."""
    before, after = request_of(application), request_of({**application, **fields})
    names = sorted(set(before["applicant"]) | set(after["applicant"]))
    return [*(f"applicant.{name}" for name in names
              if before["applicant"].get(name) != after["applicant"].get(name)),
            *(part for part in ("details", "delivery") if before[part] != after[part])]


def corrected_request(application: dict, corrections: dict) -> dict:
    """The application's request with the citizen's corrections: applicant
    fields one by one, ``details`` and ``delivery`` each replaced whole; an
    officer's application keeps its channel's rules (``officers_rules``)."""
    if application.get("submitted_by"):
        officers_rules(application, corrections)
    request = request_of(application)
    return {**request,
            "applicant": {**request["applicant"], **corrections.get("applicant", {})},
            **{part: corrections[part] for part in ("details", "delivery") if part in corrections}}
