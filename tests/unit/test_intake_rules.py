"""Unit tests for services.intake.rules through the real request schema.

Real Kota Serang numbers: 36.73.04 is Kecamatan Curug (shared/data/wilayah.csv).
"""

from __future__ import annotations

import copy
import datetime
from pathlib import Path

import pytest
from marshmallow import ValidationError

from services.intake.api_examples import submit_examples
from services.intake.request_fields import delivery_asked, request_fields
from services.intake.rules import ADULT_AGE, age_on, validate_application
from services.intake.schemas import ApplicationRequestSchema
from shared.errors import ValidationFailed, flatten_field_errors

TODAY = datetime.date(2025, 6, 1)
MAN_NIK = "3673041207900001"  # man, born 12-07-1990
WOMAN_NIK = "3673045207900001"  # woman, day 52 -> 12-07-1990
MINOR_NIK = "3673045503100002"  # girl, born 15-03-2010 (15 on TODAY)
KK = "3673041201100003"  # issued 12-01-2010


def request(details=None, delivery=None, **applicant) -> dict:
    body = {
        "document_type": "ktp_el",
        "channel": "web",
        "applicant": {"nik": MAN_NIK, "kk_number": KK, "full_name": "Budi Santoso",
                      "phone": "081234567890", **applicant},
        "details": {"reason": "first_issue"} if details is None else details,
    }
    if delivery is not None:
        body["delivery"] = delivery
    return body


def load(body: dict) -> dict:
    return ApplicationRequestSchema().load(body)


def failed_fields(body: dict) -> dict:
    with pytest.raises(ValidationFailed) as excinfo:
        validate_application(load(body), TODAY)
    assert excinfo.value.status == 400
    return excinfo.value.fields


def schema_errors(body: dict) -> dict:
    with pytest.raises(ValidationError) as excinfo:
        load(body)
    return flatten_field_errors(excinfo.value.messages)


def test_schema_defaults_and_phone_normalization():
    loaded = load(request(nik=WOMAN_NIK))
    assert loaded["applicant"] == {
        "nik": WOMAN_NIK, "kk_number": KK, "full_name": "Budi Santoso",
        "phone": "+6281234567890", "email": None, "language": "id",
        "marital_status": "belum_kawin"}
    assert loaded["delivery"] == {}  # the channel decides (``delivery_asked``)
    assert delivery_asked(loaded) == {"method": "pickup"}


def test_a_whatsapp_applicant_gets_the_document_by_pos_unless_they_ask_to_collect_it():
    """DESIGN.md: "Pos Indonesia delivers documents for PRR and WhatsApp
    applicants" (outside audit P1: a WhatsApp application without a
    ``delivery`` was printed for the counter)."""
    address = {"street": "Jl. Ahmad Yani No. 5", "kelurahan_code": "3673041010",
               "postal_code": "42111"}
    on_whatsapp = load({**request(delivery={"address": address}), "channel": "whatsapp"})
    assert delivery_asked(on_whatsapp)["method"] == "pos"
    assert validate_application(on_whatsapp, TODAY)
    to_collect = load({**request(delivery={"method": "pickup"}), "channel": "whatsapp"})
    assert delivery_asked(to_collect) == {"method": "pickup", "address": None}
    refused = failed_fields({**request(), "channel": "whatsapp"})
    assert list(refused) == ["delivery.address"]
    assert "WhatsApp" in str(refused["delivery.address"][0])
    # another channel with an address but no method: collected, as before
    assert delivery_asked(load(request(delivery={"address": address})))["method"] == "pickup"


def test_valid_first_issue_for_adult():
    details = validate_application(load(request()), TODAY)
    assert details == {"reason": "first_issue", "police_report_number": None,
                       "old_card_surrendered": False}


@pytest.mark.parametrize(("birth", "today", "age"), [
    (datetime.date(2008, 6, 1), datetime.date(2025, 6, 1), 17),
    (datetime.date(2008, 6, 2), datetime.date(2025, 6, 1), 16),
    (datetime.date(1990, 7, 12), datetime.date(2025, 7, 11), 34),
    (datetime.date(2008, 2, 29), datetime.date(2025, 2, 28), 16),
    (datetime.date(2008, 2, 29), datetime.date(2025, 3, 1), 17),
])
def test_age_on(birth, today, age):
    assert age_on(birth, today) == age


def test_first_issue_under_17_unmarried_rejected():
    fields = failed_fields(request(nik=MINOR_NIK))
    assert list(fields) == ["applicant.nik"]
    assert "17" in fields["applicant.nik"][0].en


def test_first_issue_age_boundary():
    assert ADULT_AGE == 17
    on_17th_birthday, day_before = "3673040106080001", "3673040206080001"  # 01/02-06-2008
    assert validate_application(load(request(nik=on_17th_birthday)), TODAY)
    assert list(failed_fields(request(nik=day_before))) == ["applicant.nik"]


@pytest.mark.parametrize("details", [
    {"reason": "lost", "police_report_number": "LP/123/VI/2025/Polres Serang Kota"},
    {"reason": "damaged", "old_card_surrendered": True},
    {"reason": "data_change"},
])
def test_a_replacement_for_a_child_who_cannot_hold_a_card_is_refused(details):
    """A review (forty-fifth session): the age rule held for a first card
    only - a 15-year-old's "lost" KTP-el was accepted (the register silent,
    or not knowing the NIK). A married minor's replacement still is."""
    fields = failed_fields(request(details=details, nik=MINOR_NIK))
    assert list(fields) == ["applicant.nik"]
    assert fields["applicant.nik"][0].en == (
        "A KTP-el requires age 17 or older, or being/having been married.")
    assert validate_application(load(request(details=details, nik=MINOR_NIK,
                                             marital_status="kawin")), TODAY)


def ktp_el_section() -> str:
    """docs/api.md's KTP-el rules, its lines joined."""
    text = (Path(__file__).parents[2] / "docs" / "api.md").read_text()
    return " ".join(text.split("#### KTP-el (`ktp_el`)", 1)[1].split("#### ", 1)[0].split())


@pytest.mark.parametrize("details", [
    {"reason": "first_issue"},
    {"reason": "lost", "police_report_number": "LP/123/VI/2025/Polres Serang Kota"},
])
def test_the_docs_quote_the_age_rule_of_a_first_card_and_a_replacement(details):
    """An audit of the document rules: docs/api.md gave the age rule under
    `first_issue` alone, while a replacement of a 15-year-old's card is
    refused too (400 on ``applicant.nik``), with a message of its own."""
    message = failed_fields(request(details=details, nik=MINOR_NIK))["applicant.nik"][0]
    section = ktp_el_section()
    assert f"`{message}`" in section and f"`{message.en}`" in section


@pytest.mark.parametrize("status", ["kawin", "cerai"])
def test_first_issue_under_17_married_or_divorced_accepted(status):
    body = request(nik=MINOR_NIK, marital_status=status)
    assert validate_application(load(body), TODAY)["reason"] == "first_issue"


@pytest.mark.parametrize("status", ["kawin", "cerai"])
def test_a_married_first_issue_is_no_younger_than_a_parent_can_be(status):
    """Marriage lets a minor have a first KTP-el; a married 5-year-old is a
    mistyped NIK (or status), as a 5-year-old parent is."""
    five, ten = "3673040106200001", "3673040106150001"  # born 01-06-2020, 01-06-2015
    fields = failed_fields(request(nik=five, marital_status=status))
    assert list(fields) == ["applicant.nik"]
    assert "10" in fields["applicant.nik"][0].en and "married" in fields["applicant.nik"][0].en
    assert "10" in fields["applicant.nik"][0] and "kawin" in fields["applicant.nik"][0]
    assert validate_application(load(request(nik=ten, marital_status=status)), TODAY)


@pytest.mark.parametrize(("details", "field"), [
    ({"reason": "lost"}, "details.police_report_number"),
    ({"reason": "lost", "police_report_number": ""}, "details.police_report_number"),
    ({"reason": "damaged"}, "details.old_card_surrendered"),
    ({"reason": "first_issue", "colour": "red"}, "details.colour"),
    ({}, "details.reason"),
    ({"reason": "stolen"}, "details.reason"),
])
def test_details_rules(details, field):
    assert list(failed_fields(request(details=details))) == [field]


def test_lost_and_damaged_accepted_with_their_evidence():
    lost = {"reason": "lost", "police_report_number": "LP/123/VI/2025/Polres Serang Kota"}
    assert validate_application(load(request(details=lost)), TODAY)["reason"] == "lost"
    damaged = {"reason": "damaged", "old_card_surrendered": True}
    assert validate_application(load(request(details=damaged)), TODAY)["old_card_surrendered"]


def test_no_phone_and_no_email_rejected_on_phone():
    assert list(failed_fields(request(phone=None))) == ["applicant.phone"]
    assert validate_application(load(request(phone=None, email="budi@example.id")), TODAY)


def test_pos_delivery_requires_address():
    assert list(failed_fields(request(delivery={"method": "pos"}))) == ["delivery.address"]
    address = {"street": "Jl. Raya Curug No. 5", "kelurahan_code": "3673041001",
               "postal_code": "42171"}
    loaded = load(request(delivery={"method": "pos", "address": address}))
    assert validate_application(loaded, TODAY)["reason"] == "first_issue"


def test_each_document_type_loads_its_own_details():
    body = request()  # KTP-el details sent as a KIA
    body["document_type"] = "kia"
    fields = failed_fields(body)
    assert {"details.reason", "details.child_nik", "details.parent_nik"} <= set(fields)
    assert fields["details.reason"] == ["Unknown field."]


def test_unknown_document_type_rejected_by_schema():
    body = request()
    body["document_type"] = "paspor"
    assert list(schema_errors(body)) == ["document_type"]


@pytest.mark.parametrize("nik", ["3673041207900000", "367304120790001", "3673049907900001"])
def test_invalid_nik_rejected_by_schema(nik):
    errors = schema_errors(request(nik=nik))
    assert list(errors) == ["applicant.nik"]
    assert nik not in str(errors)


@pytest.mark.parametrize("phone", ["0254123456", "02155512345", "hello", "+14155552671"])
def test_landline_foreign_or_garbage_phone_rejected(phone):
    assert list(schema_errors(request(phone=phone))) == ["applicant.phone"]


def test_unknown_applicant_key_rejected_by_schema():
    assert list(schema_errors(request(religion="islam"))) == ["applicant.religion"]


def example_with_value(body: dict, path: str, value) -> dict:
    """``body`` with ``value`` at the dotted ``path``."""
    *parents, leaf = path.split(".")
    node = body
    for part in parents:
        node = node[part]
    node[leaf] = value
    return body


def example_with(document_type: str, path: str, value) -> dict:
    """The document type's example body with ``value`` at the dotted ``path``."""
    return example_with_value(submit_examples(TODAY)[document_type], path, value)


POS_ADDRESS = {"method": "pos", "address": {"street": "Jl. Raya Curug No. 5", "rt": "002",
                                            "rw": "004", "kelurahan_code": "3673041001",
                                            "postal_code": "42171"}}
# every text that is printed or posted: a name, a street, a place (the audit
# found each accepted as spaces: a KTP-el printed blank, a posting Pos refused)
PRINTED_TEXTS = [
    ("ktp_el", "applicant.full_name"),
    ("ktp_el", "delivery.address.street"),
    ("akta_kelahiran", "details.child.full_name"),
    ("akta_kematian", "details.place_of_death"),
    ("skpwni", "details.destination.street"),
    ("kia", "details.child_full_name"),
]


@pytest.mark.parametrize(("document_type", "path"), PRINTED_TEXTS)
@pytest.mark.parametrize("blank", ["   ", "\u200b\u200b\u200b", "\u3000\u00a0\ufeff"])
def test_a_printed_text_of_spaces_or_invisible_characters_is_refused(document_type, path,
                                                                     blank):
    body = example_with(document_type, "delivery", copy.deepcopy(POS_ADDRESS))
    fields = refused(example_with_value(body, path, blank))
    assert list(fields) == [path]
    assert fields[path][0].en == "Must not be blank: must contain a letter or digit."


def refused(body: dict) -> dict:
    """The fields a request is refused on, by its schema or its details' (the
    details are loaded by their document type's schema in ``rules``)."""
    try:
        validate_application(load(body), datetime.date.today())
    except ValidationError as exc:
        return flatten_field_errors(exc.messages)
    except ValidationFailed as exc:
        return exc.fields
    raise AssertionError("accepted")


def test_names_and_streets_are_kept_without_the_spaces_around_them():
    body = request(full_name="  Budi Santoso\u200b ", delivery={**POS_ADDRESS, "address": {
        **POS_ADDRESS["address"], "street": " Jl. Raya Curug No. 5 "}})
    loaded = load(body)
    assert loaded["applicant"]["full_name"] == "Budi Santoso"
    assert loaded["delivery"]["address"]["street"] == "Jl. Raya Curug No. 5"


@pytest.mark.parametrize("number", ["   ", "\u200b"])
def test_a_lost_card_needs_a_police_report_number_that_is_not_blank(number):
    fields = refused(request(details={"reason": "lost", "police_report_number": number}))
    assert list(fields) == ["details.police_report_number"]


@pytest.mark.parametrize(("part", "value"), [("rt", "1" * 30000), ("rw", "0051"),
                                             ("rt", "RT3"), ("rw", "\uff10\uff10\uff15"),
                                             ("rt", "")])
def test_rt_and_rw_are_at_most_three_digits(part, value):
    address = {**POS_ADDRESS["address"], part: value}
    fields = schema_errors(request(delivery={"method": "pos", "address": address}))
    assert list(fields) == [f"delivery.address.{part}"]
    assert fields[f"delivery.address.{part}"][0].en == "Must be 1-3 digits (e.g. 003)."


def test_rt_and_rw_of_one_to_three_digits_or_none_are_kept():
    for rt, rw in (("3", "05"), ("003", "005"), (None, None)):
        address = {**POS_ADDRESS["address"], "rt": rt, "rw": rw}
        loaded = load(request(delivery={"method": "pos", "address": address}))
        assert (loaded["delivery"]["address"]["rt"], loaded["delivery"]["address"]["rw"]) == (
            rt, rw)


def test_a_police_report_number_is_at_most_64_characters():
    number = "LP/B/1234/VII/2025/SPKT/POLRESTA SERANG KOTA/POLDA BANTEN/" + "X" * 6
    assert len(number) == 64
    details = {"reason": "lost", "police_report_number": number}
    assert validate_application(load(request(details=details)), TODAY)[
        "police_report_number"] == number
    fields = refused(request(details={**details, "police_report_number": "X" * 60000}))
    assert list(fields) == ["details.police_report_number"]


@pytest.mark.parametrize("postal_code", ["４２１１１", "٤٢١١١", "42111"])
def test_a_postal_code_is_five_ascii_digits(postal_code):
    """Outside audit R2: ``\\d`` took full-width and Arabic-Indic digits, and
    Pos got ``zipCode: "４２１１１"``; the served pattern (ECMA, ASCII) refused them."""
    address = {"street": "Jl. Ahmad Yani No. 5", "kelurahan_code": "3673041010",
               "postal_code": postal_code}
    body = request(delivery={"method": "pos", "address": address})
    if postal_code.isascii():
        assert load(body)["delivery"]["address"]["postal_code"] == postal_code
    else:
        assert list(schema_errors(body)) == ["delivery.address.postal_code"]


def test_a_citizen_chooses_the_office_to_collect_at():
    """Outside audit T1: every citizen's application was collected at the
    Dinas, so a kecamatan's printing station never had a job.
    ``delivery.place_id`` names a pickup place of ``shared.offices``; not
    given, the Dinas; with Pos, none."""
    chosen = load(request(delivery={"method": "pickup", "place_id": "kec-curug"}))
    assert request_fields(chosen, {})["pickup_place_id"] == "kec-curug"
    assert request_fields(load(request()), {})["pickup_place_id"] == "disdukcapil-serang"
    address = {"street": "Jl. Ahmad Yani No. 5", "kelurahan_code": "3673041010",
               "postal_code": "42111"}
    by_pos = load(request(delivery={"method": "pos", "address": address}))
    assert request_fields(by_pos, {})["pickup_place_id"] is None
    # a WhatsApp applicant naming an office collects there (not Pos by the channel)
    on_whatsapp = load({**request(delivery={"place_id": "kec-curug"}), "channel": "whatsapp"})
    assert delivery_asked(on_whatsapp)["method"] == "pickup"
    assert request_fields(on_whatsapp, {})["pickup_place_id"] == "kec-curug"


@pytest.mark.parametrize("delivery", [
    {"method": "pickup", "place_id": "kec-bogor"},
    {"place_id": ""},
    {"method": "pos", "place_id": "kec-curug",
     "address": {"street": "Jl. Ahmad Yani No. 5", "kelurahan_code": "3673041010",
                 "postal_code": "42111"}},
])
def test_an_unknown_place_or_one_with_pos_is_refused_on_delivery_place_id(delivery):
    errors = schema_errors(request(delivery=delivery))
    assert list(errors) == ["delivery.place_id"]
