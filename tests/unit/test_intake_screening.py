"""``Screening``: the checks every new or corrected application passes (the
rules with the register, then the first-card rule), and the delivery
address's kelurahan code checked against the region list."""

from __future__ import annotations

import datetime

import pytest
from marshmallow import ValidationError

from services.intake.appointments import CardAlreadyIssued
from services.intake.exceptions import BirthAlreadyRegistered
from services.intake.schemas import ApplicationRequestSchema
from services.intake.screening import Screening
from services.intake.subjects import subject_key
from shared.errors import ValidationFailed
from tests.document_bodies import birth_body, kia_body, nik_born, years_before
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


# --------------------------------------------------------------- a birth is registered once

MOTHER, FATHER = "3673044506920022", "3673041004900021"


def birth(name: str) -> dict:
    return ApplicationRequestSchema().load(birth_body(
        datetime.date(2026, 11, 20), mother_nik=MOTHER, father_nik=FATHER, child_name=name,
        kk="3673041506100021", father_full_name="Bayu Saputra"))


def test_a_birth_verified_here_is_not_registered_again_a_twin_is():
    """The same mother, birth date and name (case and spacing aside) as a
    birth certificate verified here: 409 on ``details.child``, pointing to
    a second copy (kutipan kedua) - said so in English words, at the
    Disdukcapil, never "the Dinas" (outside audit); a twin (another name)
    is another birth."""
    registered = {subject_key("akta_kelahiran", {}, birth("Raka Saputra")["details"])}
    asked = []
    once = Screening(NoRegister(), lambda nik: False, lambda nik: False,
                     birth_registered=lambda subject: asked.append(subject) or
                     subject in registered)
    with pytest.raises(BirthAlreadyRegistered) as refused:
        once.check(birth(" raka  SAPUTRA"), TODAY)
    body = {lang: refused.value.to_body(lang)["error"] for lang in ("id", "en")}
    assert refused.value.status == 409 and list(body["en"]["fields"]) == ["details.child"]
    assert "kutipan kedua" in body["id"]["message"] and "kutipan kedua" in body["en"]["message"]
    assert "at the Disdukcapil for a second copy of the birth certificate (kutipan kedua)." \
        in body["en"]["message"] and "Dinas" not in body["en"]["message"]
    child = refused.value.to_body("en")["error"]["fields"]["details.child"]
    assert child == ["This birth is already registered: apply for a second copy of the birth "
                     "certificate (kutipan kedua)."]
    assert body["id"]["message"] != body["en"]["message"]
    assert once.check(birth("Raki Saputra"), TODAY).details["child"]["full_name"] == \
        "Raki Saputra"
    assert len(asked) == 2  # one question per birth screened


def test_only_a_birth_asks_whether_its_birth_is_registered():
    asked = []
    Screening(NoRegister(), lambda nik: False, lambda nik: False,
              birth_registered=lambda subject: asked.append(subject) or True).check(
        request("data_change"), TODAY)
    assert asked == []
