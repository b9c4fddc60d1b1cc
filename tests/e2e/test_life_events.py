"""Life events across several applications, end to end through intake's HTTP
API (outside audit i6): what a finished application (a birth certificate
collected, a moving certificate verified) means for the applications after
it, and what two applications in progress at once may not both do."""

from __future__ import annotations

import datetime
import uuid

import requests

from shared.clock import today_wib
from shared.offices import WorkingCalendar
from tests.document_bodies import body, birth_body, skpwni_datang_body, skpwni_keluar_body
from tests.e2e.test_documents import birth_of, seed_family
from tests.helpers import (OPERATOR, STATION, claim_job_for, eventually, random_kk,
                           random_mobile, random_nik)


def submit(system, request: dict, lang: str = "id") -> requests.Response:
    """A new request: a new Idempotency-Key each time."""
    return requests.post(f"{system.url('intake')}/api/v1/applications", json=request, timeout=15,
                         headers={"Accept-Language": lang, "Idempotency-Key": uuid.uuid4().hex})


def accepted(system, request: dict) -> dict:
    response = submit(system, request)
    assert response.status_code == 202, response.text
    return response.json()


def verified(system, application: dict) -> None:
    response = requests.post(
        f"{system.url('intake')}/api/v1/applications/{application['application_id']}/verify",
        headers=OPERATOR, timeout=10)
    assert response.status_code == 200, response.text


def status_of(system, application: dict, nik: str) -> str:
    response = requests.post(f"{system.url('intake')}/api/v1/applications/status", timeout=10,
                             json={"tracking_code": application["tracking_code"], "nik": nik})
    assert response.status_code == 200, response.text
    return response.json()["status"]


def collected(system, application: dict, nik: str) -> None:
    """Verified, printed at a station and collected at the counter by ``nik``
    (the applicant); intake has recorded the collection."""
    printing = system.url("printing")
    verified(system, application)
    job = claim_job_for(printing, application["application_id"])
    printed = requests.post(f"{printing}/api/v1/station/jobs/{job['print_job_id']}/printed",
                            json={"lease_token": job["lease_token"]}, headers=STATION, timeout=10)
    assert printed.status_code == 200, printed.text
    counter = requests.post(f"{printing}/api/v1/counter/collections", headers=OPERATOR,
                            json={"tracking_code": application["tracking_code"], "nik": nik},
                            timeout=10)
    assert counter.status_code == 200, counter.text
    eventually(lambda: status_of(system, application, nik) == "collected",
               what="intake: collected")


# --------------------------------------------------------------- a birth is registered once

def test_a_birth_collected_is_not_registered_again_a_lost_one_is_a_kutipan_kedua(system):
    """The audit's Raka Saputra: registered, printed and collected; the very
    same request again (a new key) was accepted and printed a second
    certificate with another number. Now 409 on ``details.child``; his twin
    is still registered."""
    father, mother = random_nik(year=1990), random_nik(female=True, year=1992)
    kk, born = random_kk(), today_wib() - datetime.timedelta(days=10)

    def birth(name: str) -> dict:
        return birth_body(born, mother_nik=mother, father_nik=father, kk=kk, child_name=name,
                          father_full_name="Bayu Saputra")
    first = accepted(system, birth("Raka Saputra"))
    collected(system, first, father)

    answers = {lang: submit(system, birth("Raka Saputra"), lang) for lang in ("id", "en")}
    assert {answer.status_code for answer in answers.values()} == {409}, answers["en"].text
    errors = {lang: answer.json()["error"] for lang, answer in answers.items()}
    assert list(errors["en"]["fields"]) == ["details.child"]
    assert errors["en"]["code"] == "birth_already_registered"
    assert "kutipan kedua" in errors["id"]["message"]
    assert "a second copy of the birth certificate (kutipan kedua)" in errors["en"]["message"]
    accepted(system, birth("Raki Saputra"))  # his twin


# --------------------------------------------------------------- one SKPWNI per moving person

def test_two_relatives_cannot_each_move_the_same_people(system):
    """Joko moves [Joko, Lina] to Jakarta; Lina, at the same time, [Lina,
    Joko] to Bandung: 409 naming the first member already moving."""
    joko, lina, kk = random_nik(), random_nik(female=True), random_kk()
    accepted(system, skpwni_keluar_body("3171011001", nik=joko, kk=kk, members=[joko, lina]))
    bandung = skpwni_keluar_body("3273011001", nik=lina, kk=kk, members=[lina, joko])
    answers = {lang: submit(system, bandung, lang) for lang in ("id", "en")}
    assert {answer.status_code for answer in answers.values()} == {409}, answers["en"].text
    errors = {lang: answer.json()["error"] for lang, answer in answers.items()}
    assert errors["en"]["fields"] == {
        "details.members.0": ["An application is already in progress."]}
    assert errors["id"]["message"] == ("Masih ada permohonan jenis dokumen ini yang aktif untuk "
                                       "NIK anggota keluarga yang pindah ini.")
    assert errors["en"]["message"] == ("An application of this document type for this moving "
                                       "family member's NIK is still in progress.")


# --------------------------------------------------------------- moved out of Kota Serang

def test_who_moved_out_of_kota_serang_is_not_served_on_the_old_kk_until_moving_back(system):
    """Yusuf moves himself and Nur to Jakarta (antar_provinsi): verified,
    printed and collected. The register still has them on the Karundang KK; intake knows: Yusuf's KTP-el
    with the old KK, a second pindah keluar for Nur, Nur's recording booking,
    are refused naming the NIK. Moving back in (pindah datang) is accepted."""
    yusuf, nur, father = random_nik(year=1992), random_nik(female=True, year=2007), random_nik(
        year=1965)
    kk = seed_family(system, (father, "kepala_keluarga", True), (yusuf, "anak", True),
                     (nur, "anak", False))
    move = accepted(system, skpwni_keluar_body("3171011001", nik=yusuf, kk=kk,
                                               members=[yusuf, nur]))
    collected(system, move, yusuf)

    ktp = body("ktp_el", {"reason": "data_change"}, nik=yusuf, kk=kk)
    answers = {lang: submit(system, ktp, lang) for lang in ("id", "en")}
    assert {answer.status_code for answer in answers.values()} == {400}, answers["en"].text
    fields = {lang: answer.json()["error"]["fields"] for lang, answer in answers.items()}
    assert list(fields["id"]) == ["applicant.nik"]
    assert fields["id"]["applicant.nik"][0].startswith(
        "NIK ini tercatat sudah pindah keluar Kota Serang")
    assert fields["en"]["applicant.nik"][0].startswith(
        "This NIK is recorded as having moved out of Kota Serang")
    again = submit(system, skpwni_keluar_body("3171011002", nik=father, kk=kk, members=[nur]))
    assert again.status_code == 400, again.text
    assert list(again.json()["error"]["fields"]) == ["details.members.0"]
    day = WorkingCalendar().next_working_day(today_wib() + datetime.timedelta(days=1))
    booking = requests.post(f"{system.url('intake')}/api/v1/recording-appointments", timeout=15,
                            json={"nik": nur, "kk_number": kk, "full_name": "Nur Fitriani",
                                  "phone": random_mobile(), "place_id": "kec-cipocok-jaya",
                                  "day": day.isoformat()})
    assert booking.status_code == 400, booking.text
    assert list(booking.json()["error"]["fields"]) == ["nik"]

    # in Jakarta now, as the register has it by then; moving back in is a pindah datang
    jakarta = random_kk(kecamatan="317101")
    requests.post(f"{system.url('register')}/sandbox/families", timeout=5, json={
        "kk_number": jakarta, "kelurahan_code": "3171011001", "members": [
            {"nik": yusuf, "full_name": "Yusuf Maulana", "sex": "M", "birth_date": birth_of(yusuf),
             "relation": "kepala_keluarga", "ktp_el_recorded": True, "deceased": False}]}
                  ).raise_for_status()
    accepted(system, skpwni_datang_body(nik=yusuf, kk=jakarta))
