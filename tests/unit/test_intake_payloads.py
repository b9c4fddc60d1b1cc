"""What each ``application_*`` event of intake carries, checked against its
schema in the catalogue (``shared/events.py``, unknown fields refused)."""

from __future__ import annotations

import json

import pytest

from services.intake.domain import reject, submitted_event, verify
from shared.events import build_event
from tests.stored_applications import ADDRESS, CODES, NIK, OPERATOR, submitted


def test_verified_payload_is_a_valid_application_verified_event():
    app = submitted({"method": "pos", "address": ADDRESS})
    [(event_type, payload)] = verify(app, OPERATOR).events
    event = build_event(event_type, **payload)  # the catalogue's schema, unknown fields refused
    assert event["application_id"] == app["_id"]
    assert (event["nik"], event["full_name"]) == (NIK, "Siti Aminah")
    assert event["contact"] == {"phone": "+6281234567890", "email": None, "language": "id",
                                "preferred_channel": "sms"}
    assert (event["delivery_method"], event["delivery_address"]) == ("pos", ADDRESS)
    assert event["verified_by"] == OPERATOR
    assert (event["print_kind"], event["pickup_place_id"], event["next_day"],
            event["replacement"], event["manifest_id"]) == (
        "card", "disdukcapil-serang", False, False, None)


@pytest.mark.parametrize(("document_type", "kind"), [
    ("ktp_el", "card"), ("kia", "card"), ("akta_kelahiran", "certificate"),
    ("akta_kematian", "certificate"), ("skpwni", "certificate")])
def test_print_kind_by_document_type(document_type, kind):
    app = {**submitted(), "document_type": document_type}
    [(_, payload)] = verify(app, OPERATOR).events
    assert payload["print_kind"] == kind


def test_print_needs_a_replacement_a_kecamatan_and_a_manifest_set():
    app = {**submitted(details={"reason": "lost", "police_report_number": "LP/1/2025"}),
           "pickup_place_id": "kec-curug", "next_day": True, "manifest_id": "mf-curug-07"}
    [(event_type, payload)] = verify(app, OPERATOR).events
    event = build_event(event_type, **payload)
    assert (event["replacement"], event["pickup_place_id"], event["next_day"],
            event["manifest_id"]) == (True, "kec-curug", True, "mf-curug-07")


def test_verified_payload_for_pickup_has_no_address():
    [(_, payload)] = verify(submitted(), OPERATOR).events
    assert (payload["delivery_method"], payload["delivery_address"]) == ("pickup", None)


@pytest.mark.parametrize(("language", "text"), [
    ("id", "Foto Kartu Keluarga tidak terbaca. Unggah ulang foto KK yang jelas dan utuh."),
    ("en", "The family card (KK) photo is unreadable. Upload a sharp photo of the whole KK.")])
def test_rejected_payload_carries_codes_texts_and_contact_but_no_operator(language, text):
    app = submitted(language=language)
    [(event_type, payload)] = reject(app, OPERATOR, CODES, "Foto terpotong").events
    event = build_event(event_type, **payload)
    assert set(payload) == {"application_id", "tracking_code", "document_type", "reasons",
                            "reason_codes", "note", "contact"}
    assert (event["reason_codes"], event["reasons"], event["note"]) == (
        CODES, [text], "Foto terpotong")
    assert event["contact"]["phone"] == "+6281234567890"
    assert OPERATOR not in json.dumps(payload)


def test_submitted_payload_carries_contact_and_the_kecamatan_of_the_nik():
    app = submitted(email="siti@example.id", preferred_channel="whatsapp")
    event = build_event("application_submitted", **submitted_event(app))
    assert (event["channel"], event["kecamatan_code"]) == ("web", "367304")
    assert event["contact"] == {"phone": "+6281234567890", "email": "siti@example.id",
                                "language": "id", "preferred_channel": "whatsapp"}
    assert NIK not in json.dumps(event)


