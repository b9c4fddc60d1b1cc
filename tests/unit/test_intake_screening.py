"""``Screening``: the checks every new or corrected application passes (the
rules with the register, then the first-card rule), and the delivery
address's kelurahan code checked against the region list."""

from __future__ import annotations

import datetime

import pytest
from marshmallow import ValidationError

from services.intake.appointments import CardAlreadyIssued
from services.intake.schemas import ApplicationRequestSchema
from services.intake.screening import Screening
from shared.errors import ValidationFailed
from tests.document_bodies import kia_body, nik_born, years_before
from tests.unit.test_batches import NoRegister

TODAY = datetime.date(2026, 11, 29)
NIK = "3673041207900001"


def request(reason: str = "first_issue", kelurahan_code: str = "3673041010") -> dict:
    return ApplicationRequestSchema().load({
        "document_type": "ktp_el", "channel": "web",
        "applicant": {"nik": NIK, "kk_number": "3673041201100099", "full_name": "Budi Santoso",
                      "phone": "081234567890"},
        "details": {"reason": reason},
        "delivery": {"method": "pos", "address": {
            "street": "Jl. Raya Curug No. 40", "kelurahan_code": kelurahan_code,
            "postal_code": "42171"}}})


def screening(issued: set[str] = frozenset()) -> Screening:
    return Screening(NoRegister(), lambda nik: False, lambda nik: nik in issued)


def test_the_rules_run_and_flag_what_the_register_did_not_know():
    checked = screening().check(request(), TODAY)
    assert checked.details["reason"] == "first_issue"
    assert "register_unknown_nik" in checked.stored()["flags"]


def test_a_second_first_issue_is_refused_a_replacement_is_not():
    with pytest.raises(CardAlreadyIssued) as refused:
        screening({NIK}).check(request(), TODAY)
    assert "details.reason" in refused.value.fields
    assert screening({NIK}).check(request("data_change"), TODAY).details["reason"] == "data_change"


def test_the_rules_refuse_before_the_card_is_asked_about():
    asked = []
    strict = Screening(NoRegister(), lambda nik: False, lambda nik: asked.append(nik) or False)
    body = request()
    body["details"] = {"reason": "lost"}  # without the police report number
    with pytest.raises(ValidationFailed):
        strict.check(body, TODAY)
    assert asked == []


@pytest.mark.parametrize(("code", "message"), [
    ("3673049999", "No village has this code in the region list."),
    ("36730410", "Must be a 10-digit village code (e.g. 3673041001)."),
])
def test_a_delivery_address_in_no_kelurahan_of_the_region_list_is_refused(code, message):
    with pytest.raises(ValidationError) as refused:
        request(kelurahan_code=code)
    [refusal] = refused.value.messages["delivery"]["address"]["kelurahan_code"]
    assert refusal.en == message


def test_a_dotted_kelurahan_code_loads_as_digits():
    assert request(kelurahan_code="36.73.04.1010")["delivery"]["address"][
        "kelurahan_code"] == "3673041010"


def test_a_kia_for_a_child_who_holds_a_ktp_el_is_refused():
    """A married 16-year-old has her KTP-el: she has outgrown the KIA."""
    child = nik_born(years_before(TODAY, 16), female=True)
    kia = ApplicationRequestSchema().load(kia_body(child))
    assert screening().check(kia, TODAY).details["child_nik"] == child
    with pytest.raises(ValidationFailed) as refused:
        screening({child}).check(kia, TODAY)
    [message] = refused.value.fields["details.child_nik"]
    assert (message, message.en) == (
        "Anak ini sudah memiliki KTP-el; KIA tidak diterbitkan bagi pemilik KTP-el.",
        "This child already holds a KTP-el; a KIA is not issued to a KTP-el holder.")
