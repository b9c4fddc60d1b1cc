"""What each ``application_*`` event of intake carries, checked against its
schema in the catalogue (``shared/events.py``, unknown fields refused)."""

from __future__ import annotations

import datetime
import json

import pytest

from services.intake.domain import new_application, reject, submitted_event, verify
from services.intake.exceptions import PrintedNameMissing
from services.intake.population import Family, Lookup, Person
from services.intake.printables import document_details
from services.intake.rules import check_application
from services.intake.schemas import ApplicationRequestSchema
from shared.clock import today_wib
from shared.events import build_event, load_event
from tests.document_bodies import (birth_body, body, death_body, kia_body, nik_born,
                                   skpwni_keluar_body, years_before)
from tests.helpers import random_kk, random_nik, valid_body
from tests.unit.test_intake_rules_register import FakeRegister
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
                            "reason_codes", "note", "contact", "manifest_id"}
    assert event["manifest_id"] is None  # not a jemput-bola member
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
    assert event["delivery_method"] == "pickup"
    posted = submitted_event(submitted({"method": "pos", "address": ADDRESS}))
    assert build_event("application_submitted", **posted)["delivery_method"] == "pos"




def verified_as_stored(body: dict, uploaded: tuple[str, ...] = ()) -> dict:
    """``application_verified`` of ``body`` stored as the service stores it
    (``uploaded``: the kinds of document uploaded before verification)."""
    request = ApplicationRequestSchema().load(body)
    checked = check_application(request, today_wib())
    app = new_application(request, checked.details, None, checked.stored())
    app["documents"] = [{"kind": kind} for kind in uploaded]
    [(event_type, payload)] = verify(app, OPERATOR).events
    return build_event(event_type, **payload)


def test_a_birth_certificate_is_the_childs_with_its_birth_and_both_parents():
    father = random_nik()
    event = verified_as_stored(birth_body("2026-10-01", father_nik=father, child_name="Nur Aini",
                                          mother_name="Siti Rahmawati"))
    assert (event["holder_name"], event["holder_nik"]) == ("Nur Aini", None)
    assert event["full_name"] == "Ahmad Fauzi"  # the applicant: whom the Dinas tells
    assert event["document_details"] == {
        "sex": "F", "birth_date": "2026-10-01", "birth_place_code": "3673",
        "birth_place": "Kota Serang",
        "mother_name": "Siti Rahmawati",  # as the citizen gave it: no register asked
        "father_name": "Ahmad Fauzi"}  # the applicant


def test_a_death_certificate_names_the_deceased_with_the_date_and_place_of_death():
    deceased = random_nik(year=1950)
    event = verified_as_stored(death_body("2026-11-02", deceased_nik=deceased,
                                          deceased_name="Sarmili bin Jaka"))
    assert event["holder_name"] == "Sarmili bin Jaka" and event["holder_nik"] is None
    assert event["full_name"] == "Ahmad Fauzi"  # the reporting applicant: whom the Dinas tells
    assert event["document_details"] == {
        "deceased_nik": deceased, "date_of_death": "2026-11-02", "reporter_relation": "anak",
        "place_of_death": "RSUD dr. Dradjat Prawiranegara, Kota Serang"}


def test_the_registers_name_is_printed_before_the_citizens():
    request = ApplicationRequestSchema().load(death_body("2026-11-02", deceased_name="Sarmili"))
    checked = check_application(request, today_wib())
    app = new_application(request, checked.details, None,
                          {**checked.stored(), "derived": {"deceased_full_name": "SARMILI"}})
    [(_, payload)] = verify(app, OPERATOR).events
    assert payload["holder_name"] == "SARMILI"


@pytest.mark.parametrize(("body", "missing"), [
    (lambda: death_body("2026-11-02", deceased_name=None), ["details.deceased_full_name"]),
    (lambda: birth_body("2026-10-01", mother_name=None), ["details.mother_full_name"]),
    # the mother applies: the father, neither the applicant nor named, is not known
    (lambda: {**(b := birth_body("2026-10-01", mother_name=None)),
              "applicant": {**b["applicant"], "nik": b["details"]["mother_nik"]}},
     ["details.father_full_name"]),
], ids=["deceased", "mother", "father"])
def test_a_certificate_naming_someone_by_nik_alone_is_not_verified(body, missing):
    request = ApplicationRequestSchema().load(body())
    checked = check_application(request, today_wib())
    app = new_application(request, checked.details, None, checked.stored())
    with pytest.raises(PrintedNameMissing) as refused:
        verify(app, OPERATOR)
    assert refused.value.code == "printed_name_missing" and refused.value.status == 409
    assert list(refused.value.fields) == missing


def test_an_skpwni_carries_the_destination_by_name_and_who_moves():
    nik = random_nik()
    event = verified_as_stored(skpwni_keluar_body(nik=nik, members=[nik, random_nik()]))
    details = event["document_details"]
    assert (details["move"], details["move_kind"], details["move_reason"]) == (
        "pindah_keluar", "antar_provinsi", "pekerjaan")
    assert details["destination"] == {
        "street": "Jl. Tanah Abang II No. 5", "rt": None, "rw": None, "postal_code": "10160",
        "kelurahan_code": "3171011001", "kelurahan": "Gambir", "kecamatan": "Gambir",
        "kabkota": "Kota Administrasi Jakarta Pusat", "province": "Daerah Khusus Ibukota Jakarta"}
    # the register did not answer: the applicant alone is named
    assert (details["members_moving"], details["members_named"]) == (2, ["Ahmad Fauzi"])
    assert nik not in json.dumps(details)


def test_an_skpwni_names_every_member_who_moves_as_the_register_does():
    nik, child = random_nik(), random_nik()
    application = {"document_type": "skpwni", "created_at": today_wib(),
                   "applicant": {"nik": nik, "full_name": "Ahmad Fauzi"},
                   "details": {"move": "pindah_keluar", "reason": "pekerjaan",
                               "members": [nik, child]},
                   "derived": {"move_kind": "antar_provinsi",
                               "members_full_names": ["AHMAD FAUZI", "RIZKI RAMADHAN"]}}
    details = document_details(application)
    assert (details["members_moving"], details["members_named"]) == (
        2, ["AHMAD FAUZI", "RIZKI RAMADHAN"])


def test_a_kia_is_the_childs_card():
    child = nik_born(years_before(today_wib(), 7))
    event = verified_as_stored(kia_body(child), uploaded=("foto",))  # 7: the photo is printed
    assert (event["holder_name"], event["holder_nik"]) == ("Rizki Ramadhan", child)
    assert event["nik"] != child and event["full_name"] == "Ahmad Fauzi"  # the parent applied
    assert event["document_details"] == {
        "sex": "M", "birth_date": years_before(today_wib(), 7).isoformat(),
        "birth_certificate_number": "3673-LU-08052015-0002"}


def test_a_ktp_el_is_the_applicants_card():
    event = verified_as_stored(valid_body())
    assert (event["holder_name"], event["holder_nik"]) == ("Ahmad Fauzi", event["nik"])
    assert set(event["document_details"]) == {"sex", "birth_date"}


def test_an_older_application_verified_without_what_the_document_says_still_loads():
    app = submitted()
    [(_, payload)] = verify(app, OPERATOR).events
    for name in ("holder_name", "holder_nik", "document_details"):
        del payload[name]
    event = load_event("application_verified",
                       build_event("application_verified", **payload))
    assert event["holder_name"] is None and event["document_details"] is None
    assert "holder_nik" not in event


def test_a_ktp_el_prints_the_birth_date_the_register_gave():
    """A centenarian's NIK says 15-01-26: by itself, 2026."""
    nik, kk = "3673041501260004", random_kk()
    register = FakeRegister(Family(kk, "3673041010", (Person(
        nik, kk, "KAKEK SASTRO", "M", datetime.date(1926, 1, 15), "kepala_keluarga", True,
        False),)))
    request = ApplicationRequestSchema().load(body(
        "ktp_el", {"reason": "damaged", "old_card_surrendered": True}, nik=nik, kk=kk))
    checked = check_application(request, datetime.date(2026, 12, 1), Lookup(register))
    app = new_application(request, checked.details, None, checked.stored())
    [(_, payload)] = verify(app, OPERATOR).events
    assert payload["document_details"] == {"sex": "M", "birth_date": "1926-01-15"}


def test_a_kia_applied_for_after_midnight_wib_prints_a_birth_that_day():
    """00:05 WIB on 1 January 2027 is 31 December 2026 in UTC: the child of
    01-01-27 was born in 2027 (the register was not asked for a KIA)."""
    application = {"document_type": "kia", "created_at": datetime.datetime(
        2026, 12, 31, 17, 5, tzinfo=datetime.timezone.utc), "details": {
            "child_nik": "3673040101270001", "birth_certificate_number": "3673-LU-01012027-0001"}}
    assert document_details(application)["birth_date"] == "2027-01-01"
