"""The five document types and the population register, end to end: each
type's happy path and its characteristic refusals through intake's HTTP API
(the real services, broker and database), and the register sandbox started
by the stack - checked where it knows, flagged where it does not, and an
application accepted and flagged while the register is down or too slow.
"""

from __future__ import annotations

import datetime
import random

import pytest
import requests

from deploy.local.stack import port_open, wait_until
from shared.clock import today_wib
from tests.document_bodies import (birth_body, body, death_body, kia_body, nik_born,
                                   skpwni_datang_body, skpwni_keluar_body, years_before)
from tests.helpers import OPERATOR, eventually, personal_data_in_logs, random_kk, random_nik

DAY = datetime.timedelta(days=1)


def submit(system, request: dict, lang: str = "id") -> requests.Response:
    return requests.post(f"{system.url('intake')}/api/v1/applications", json=request,
                         headers={"Accept-Language": lang}, timeout=15)


def accepted(system, mongo, request: dict) -> dict:
    """Submit; expect 202 and return the stored application."""
    response = submit(system, request)
    assert response.status_code == 202, response.text
    return mongo["intake"].applications.find_one({"_id": response.json()["application_id"]})


def refused(system, request: dict, lang: str = "id", status: int = 400) -> dict:
    response = submit(system, request, lang)
    assert response.status_code == status, response.text
    return response.json()["error"]["fields"]


def seed_family(system, *members: tuple[str, str, bool]) -> str:
    """A fresh family on the register sandbox: (nik, relation, ktp_el_recorded) each."""
    kk = random_kk()
    family = {"kk_number": kk, "kelurahan_code": "3673041010", "members": [
        {"nik": nik, "full_name": "Warga Uji", "sex": "F" if int(nik[6:8]) > 40 else "M",
         "birth_date": birth_of(nik), "relation": relation, "ktp_el_recorded": recorded,
         "deceased": False} for nik, relation, recorded in members]}
    response = requests.post(f"{system.url('register')}/sandbox/families", json=family, timeout=5)
    assert response.status_code == 201, response.text
    return kk


def birth_of(nik: str) -> str:
    day, month, year = int(nik[6:8]) % 40, int(nik[8:10]), int(nik[10:12])
    year += 2000 if 2000 + year <= today_wib().year else 1900
    return datetime.date(year, month, day).isoformat()


# --------------------------------------------------------------- happy paths

HAPPY = {
    "akta_kelahiran": lambda today: birth_body(today - 3 * DAY),
    "akta_kematian": lambda today: death_body(today - DAY),
    "skpwni_keluar": lambda today: skpwni_keluar_body("3604052001"),
    "skpwni_datang": lambda today: skpwni_datang_body(),
    "kia": lambda today: kia_body(nik_born(years_before(today, 7))),
}


@pytest.mark.parametrize("case", sorted(HAPPY))
def test_each_document_type_accepted(system, mongo, case):
    request = HAPPY[case](today_wib())
    application = accepted(system, mongo, request)
    assert application["document_type"] == request["document_type"]
    assert application["status"] == "submitted" and application["active"]
    assert application["required_documents"]
    assert "late_registration" not in application["flags"]
    assert "register_unknown_nik" in application["flags"]  # random NIKs: not in the register
    numbers = [request["applicant"]["nik"], request["applicant"]["kk_number"],
               *(v for v in request["details"].values() if isinstance(v, str) and v.isdigit())]
    assert personal_data_in_logs(system, *numbers) == []


def test_the_kind_of_move_is_stored(system, mongo):
    application = accepted(system, mongo, skpwni_keluar_body("3171011001", kk=random_kk()))
    assert application["derived"] == {"move_kind": "antar_provinsi"}


# --------------------------------------------------------------- characteristic refusals

REFUSALS = {  # case -> (request, field, message in English)
    "kia_at_17": (lambda today: kia_body(nik_born(years_before(today, 17))), "details.child_nik",
                  "A KIA is only for children under 17; from 17, apply for a KTP-el."),
    "kia_at_6_without_photo": (
        lambda today: kia_body(nik_born(years_before(today, 6)),
                               documents=["akta_kelahiran", "kartu_keluarga", "ktp_el"]),
        "details.documents", "Required document missing: A colour photo of the child."),
    "death_without_death_letter": (
        lambda today: death_body(today - DAY, documents=["kartu_keluarga"]), "details.documents",
        "Required document missing: Death letter from a doctor, the lurah/village head or "
        "the police."),
    "skpwni_to_unknown_kelurahan": (
        lambda today: skpwni_keluar_body("3673049999"), "details.destination.kelurahan_code",
        "No village has this code in the region list."),
    "death_in_the_future": (lambda today: death_body(today + DAY), "details.date_of_death",
                            "The date must not be in the future."),
    # YYYY-MM-DD only: Python's date.fromisoformat also reads 20260920 and 2026-W38-7
    "birth_date_without_dashes": (lambda today: birth_body((today - DAY).strftime("%Y%m%d")),
                                  "details.child.birth_date", "Not a valid date (format YYYY-MM-DD)."),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_characteristic_refusals_name_the_field_and_store_nothing(system, intake_state, case):
    make, field, message_en = REFUSALS[case]
    # earlier tests' events leave the outbox as the relay publishes them
    before = eventually(lambda: (state := intake_state())[1] == 0 and state,
                        what="an empty outbox")
    assert refused(system, make(today_wib()), lang="en")[field] == [message_en]
    assert refused(system, make(today_wib()))[field] != [message_en]  # Bahasa Indonesia
    assert intake_state() == before


def test_late_birth_registration_accepted_and_flagged(system, mongo):
    application = accepted(system, mongo, birth_body(today_wib() - 61 * DAY))
    assert "late_registration" in application["flags"]
    # the operator's queue filters on it
    assert application["_id"] in queue_ids(system, flag="late_registration",
                                           document_type="akta_kelahiran")


def queue_ids(system, **filters) -> set[str]:
    """Every application id in the operator's queue under ``filters`` (all pages)."""
    ids, cursor = set(), None
    while True:
        page = requests.get(f"{system.url('intake')}/api/v1/operator/applications",
                            params={**filters, "limit": 100, "cursor": cursor},
                            headers=OPERATOR, timeout=10)
        assert page.status_code == 200, page.text
        ids |= {row["application_id"] for row in page.json()["applications"]}
        if not (cursor := page.json()["next_cursor"]):
            return ids


# --------------------------------------------------------------- one active application per subject

def test_twins_both_accepted_the_same_child_twice_refused(system, mongo):
    mother, born = random_nik(female=True), today_wib() - 2 * DAY
    kk = random_kk()
    for name in ("Muhammad Hasan", "Muhammad Husain"):
        accepted(system, mongo, birth_body(born, mother_nik=mother, child_name=name, kk=kk))
    again = birth_body(born, mother_nik=mother, child_name="muhammad  hasan", kk=kk)
    assert list(refused(system, again, status=409)) == ["details.child"]


def test_a_parent_applies_a_kia_for_each_child(system, mongo):
    parent, kk = random_nik(female=True, year=1985), random_kk()
    older, younger = nik_born(years_before(today_wib(), 9)), nik_born(years_before(today_wib(), 3))
    for child in (older, younger):
        accepted(system, mongo, kia_body(child, parent_nik=parent, kk=kk))
    assert list(refused(system, kia_body(older, parent_nik=parent, kk=kk), status=409)) == [
        "details.child_nik"]


def verify(system, application: dict, lang: str = "id") -> requests.Response:
    return requests.post(
        f"{system.url('intake')}/api/v1/applications/{application['_id']}/verify",
        headers={**OPERATOR, "Accept-Language": lang}, timeout=10)


def verified_death(system, mongo, deceased: str, died: datetime.date) -> None:
    death = accepted(system, mongo, death_body(died, deceased_nik=deceased))
    response = verify(system, death)
    assert response.status_code == 200, response.text


def test_after_a_verified_death_the_nik_cannot_apply(system, mongo):
    deceased = random_nik(year=1950)
    verified_death(system, mongo, deceased, today_wib() - DAY)
    ktp = body("ktp_el", {"reason": "lost", "police_report_number": "LP/12/VI/2025"},
               nik=deceased)
    assert list(refused(system, ktp)) == ["applicant.nik"]


def test_a_deceaseds_application_in_progress_cannot_be_verified(system, mongo):
    """Outside audit: the dead man's pending KTP-el replacement was verified,
    printed, announced and collected after his death was verified."""
    holder = random_nik(year=1980)
    ktp = accepted(system, mongo, body("ktp_el", {"reason": "damaged",
                                                  "old_card_surrendered": True}, nik=holder))
    verified_death(system, mongo, holder, today_wib() - DAY)

    refusal = verify(system, ktp, lang="en")
    assert refusal.status_code == 409, refusal.text
    error = refusal.json()["error"]
    assert (error["code"], error["fields"]) == (
        "deceased", {"applicant.nik": ["This NIK is recorded as deceased."]})
    stored = mongo["intake"].applications.find_one({"_id": ktp["_id"]})
    assert stored["status"] == "submitted"
    assert "verified" not in [step["status"] for step in stored["timeline"]]


def test_a_birth_after_the_mothers_verified_death_is_refused(system, mongo):
    mother = random_nik(female=True, year=1990)
    verified_death(system, mongo, mother, today_wib() - 100 * DAY)
    later = birth_body(today_wib() - 10 * DAY, mother_nik=mother)
    assert list(refused(system, later)) == ["details.mother_nik"]


# --------------------------------------------------------------- the population register

def test_a_nik_with_a_kk_it_is_not_on_refused(system, mongo):
    adult = random_nik(year=1985)
    kk = seed_family(system, (adult, "kepala_keluarga", True))
    ktp = body("ktp_el", {"reason": "first_issue"}, nik=adult, kk=random_kk())
    fields = refused(system, ktp, lang="en")
    assert fields == {"applicant.kk_number": [
        "The applicant's NIK is not on this family card (KK)."]}
    own_kk = body("ktp_el", {"reason": "first_issue"}, nik=adult, kk=kk, full_name="Warga Uji")
    application = accepted(system, mongo, own_kk)
    assert application["flags"] == []


def test_a_kia_checked_against_the_family_card(system, mongo):
    parent, child = random_nik(female=True, year=1988), nik_born(years_before(today_wib(), 4))
    kk = seed_family(system, (parent, "istri", True), (child, "anak", False))
    documents = ["akta_kelahiran", "kartu_keluarga", "ktp_el"]
    application = accepted(system, mongo, kia_body(child, parent_nik=parent, kk=kk,
                                                   documents=documents,
                                                   child_full_name="Warga Uji"))
    assert application["flags"] == []
    stranger = nik_born(years_before(today_wib(), 4))
    assert list(refused(system, kia_body(stranger, parent_nik=parent, kk=kk,
                                         documents=documents))) == ["details.child_nik"]


def register_answers(system) -> bool:
    """Whether intake checks against the register again: a fresh adult claimed
    with a KK they are not on is refused (accepted and flagged while not)."""
    adult = random_nik(year=1980)
    seed_family(system, (adult, "kepala_keluarga", True))
    return submit(system, body("ktp_el", {"reason": "first_issue"}, nik=adult)).status_code == 400


@pytest.fixture
def register_restored(system, backing):
    """Whatever the test does to the register sandbox, afterwards it runs, has
    no faults, and intake asks it again (past the client's pause)."""
    yield backing
    if "register" not in backing.procs or backing.procs["register"].poll() is not None:
        backing.respawn("register")
        wait_until(lambda: port_open(backing.ports.register), "register sandbox")
    requests.post(f"{backing.url('register')}/sandbox/faults",
                  json={"delay_ms": 0, "fail_next": 0}, timeout=5)
    eventually(lambda: register_answers(system), what="intake checking the register again")


def test_register_down_application_accepted_and_flagged(system, mongo, register_restored):
    adult = random_nik(year=1975)
    seed_family(system, (adult, "kepala_keluarga", True))
    register_restored.stop_processes(["register"])
    application = accepted(system, mongo, body("ktp_el", {"reason": "first_issue"}))
    assert application["flags"] == ["register_unchecked"]
    # even a NIK the register would refuse (another KK): the operator checks it
    flagged = accepted(system, mongo, body("ktp_el", {"reason": "first_issue"}, nik=adult))
    assert flagged["flags"] == ["register_unchecked"]


def test_a_stranger_unchecked_during_an_outage_takes_no_slot_from_the_owner(
        system, mongo, register_restored):
    """The register down, a stranger claims a citizen's NIK on another KK:
    accepted, flagged for the operator - and holding no slot, so the owner,
    once the register answers, applies; the operator's verify gives the
    slot to whoever is verified first (409 for the other)."""
    owner_nik = random_nik(year=1981)
    own_kk = seed_family(system, (owner_nik, "kepala_keluarga", True))
    faults = f"{register_restored.url('register')}/sandbox/faults"
    requests.post(faults, json={"fail_next": 100, "status": 503}, timeout=5)
    stranger = accepted(system, mongo, body("ktp_el", {"reason": "first_issue"}, nik=owner_nik))
    assert stranger["flags"] == ["register_unchecked"] and stranger["active_slot"] != "active"
    requests.post(faults, json={"fail_next": 0}, timeout=5)
    eventually(lambda: register_answers(system), what="intake checking the register again")
    owner = accepted(system, mongo, body("ktp_el", {"reason": "first_issue"}, nik=owner_nik,
                                         kk=own_kk, full_name="Warga Uji"))
    assert owner["flags"] == [] and owner["active_slot"] == "active"
    intake = system.url("intake")
    assert requests.post(f"{intake}/api/v1/applications/{owner['_id']}/verify",
                         headers=OPERATOR, timeout=10).status_code == 200
    taken = requests.post(f"{intake}/api/v1/applications/{stranger['_id']}/verify",
                          headers=OPERATOR, timeout=10)
    assert taken.status_code == 409 and list(taken.json()["error"]["fields"]) == [
        "applicant.nik"], taken.text


@pytest.mark.parametrize("fault", [{"delay_ms": 3000}, {"fail_next": 100, "status": 503}])
def test_register_slow_or_failing_application_accepted_and_flagged(system, mongo,
                                                                   register_restored, fault):
    answer = requests.post(f"{register_restored.url('register')}/sandbox/faults", json=fault,
                           timeout=5)
    assert answer.status_code == 200
    nik = random_nik(year=random.randint(1960, 2000))
    application = accepted(system, mongo, body("ktp_el", {"reason": "lost",
                                                          "police_report_number": "LP/1/2025"},
                                               nik=nik))
    assert application["flags"] == ["register_unchecked"]
