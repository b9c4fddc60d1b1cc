"""Whose birth the NIK cannot date, through the real stack.

A NIK gives the year of birth in two digits: read by itself, a citizen born
in the 1920s is a baby this decade. The register sandbox knows the century,
and its date decides: a centenarian's KTP-el prints the year of birth the
register holds, their death is registered, they book a recording, they
are no child for a KIA. A declared marriage does not make a 5-year-old
recordable. A parent's age at the birth goes by the register's date too: a
late birth certificate names a mother born a century before, or a father of
85; a NIK the register dates too young to be the parent is refused.
"""

from __future__ import annotations

import datetime

import requests

from shared.clock import today_wib
from tests.document_bodies import (birth_body, body, death_body, kia_body, nik_born,
                                   years_before)
from tests.e2e.test_appointments import book, booking, working_day
from tests.e2e.test_printed_document import download, spoken_date, verified_job
from tests.helpers import random_kk
from tests.pdf_checks import pdf_text

DAY = datetime.timedelta(days=1)


def on_register(system, nik: str, born: datetime.date, recorded: bool,
                *others: tuple[str, datetime.date]) -> str:
    """``nik`` on a fresh family card of the register sandbox, born on
    ``born`` as the register has it (and ``others``, each a NIK and its
    birth date, recorded members): its KK."""
    kk = random_kk()
    members = [(nik, born, "kepala_keluarga", recorded),
               *((other, day, "anak", True) for other, day in others)]
    family = {"kk_number": kk, "kelurahan_code": "3673041010", "members": [
        {"nik": number, "full_name": "KAKEK SASTRO", "sex": "F" if int(number[6:8]) > 40 else "M",
         "birth_date": day.isoformat(), "relation": relation,
         "ktp_el_recorded": is_recorded, "deceased": False}
        for number, day, relation, is_recorded in members]}
    response = requests.post(f"{system.url('register')}/sandbox/families", json=family, timeout=5)
    assert response.status_code == 201, response.text
    return kk


def a_century_before(day: datetime.date) -> datetime.date:
    return day.replace(year=day.year - 100)


def test_a_centenarians_ktp_el_prints_the_year_the_register_holds(system):
    born = years_before(today_wib(), 100, days=20)  # the NIK alone: 20 days old
    nik = nik_born(born)
    kk = on_register(system, nik, born, recorded=True)
    job = verified_job(system, body("ktp_el", {"reason": "damaged", "old_card_surrendered": True},
                                    nik=nik, kk=kk))
    response = download(system, job)
    assert response.status_code == 200, response.text
    text = " ".join(pdf_text(response.content).split())
    assert f"Tanggal Lahir : {spoken_date(born)}" in text, text


def test_a_centenarians_death_is_registered(system):
    """Died the day before yesterday, born a century before yesterday: the
    NIK's date read in this century is after the death."""
    today = today_wib()
    born, died = a_century_before(today - DAY), today - 2 * DAY
    deceased = nik_born(born, female=True)
    kk = on_register(system, deceased, born, recorded=True)
    submitted = requests.post(f"{system.url('intake')}/api/v1/applications", timeout=15,
                              json=death_body(died, deceased_nik=deceased, kk=kk))
    assert submitted.status_code == 202, submitted.text


def test_a_centenarian_books_a_recording(system):
    born = years_before(today_wib(), 100, days=20)
    nik = nik_born(born)
    kk = on_register(system, nik, born, recorded=False)
    booked = book(system, booking(nik, "kec-curug", working_day(2, 20), kk))
    assert booked.status_code == 201, booked.text


def test_a_five_year_old_declared_married_books_no_recording(system):
    born = years_before(today_wib(), 5)
    child = nik_born(born)
    kk = on_register(system, child, born, recorded=False)
    refused = book(system, booking(child, "kec-curug", working_day(2, 20), kk,
                                   marital_status="kawin"), "en")
    assert refused.status_code == 400, refused.text
    [message] = refused.json()["error"]["fields"]["nik"]
    assert "10" in message and "married" in message


def submit(system, request: dict) -> requests.Response:
    return requests.post(f"{system.url('intake')}/api/v1/applications", json=request,
                         headers={"Accept-Language": "en"}, timeout=15)


def refused_on(response: requests.Response) -> dict:
    assert response.status_code == 400, response.text
    return response.json()["error"]["fields"]


def test_a_kia_for_a_centenarian_is_refused_as_not_a_child(system):
    born = years_before(today_wib(), 100, days=20)  # the NIK alone: 20 days old
    elder = nik_born(born)
    parent = nik_born(datetime.date(1985, 4, 9), female=True)
    kk = on_register(system, parent, datetime.date(1985, 4, 9), True, (elder, born))
    [message] = refused_on(submit(system, kia_body(elder, parent_nik=parent, kk=kk)))[
        "details.child_nik"]
    assert "under 17" in message


def test_a_kia_is_for_a_child_under_17_by_the_register(system):
    parent = nik_born(datetime.date(1985, 4, 9), female=True)
    sixteen, seventeen = (years_before(today_wib(), years, days=5) for years in (16, 17))
    child, grown = nik_born(sixteen), nik_born(seventeen)
    kk = on_register(system, parent, datetime.date(1985, 4, 9), True,
                     (child, sixteen), (grown, seventeen))
    accepted = submit(system, kia_body(child, parent_nik=parent, kk=kk))
    assert accepted.status_code == 202, accepted.text
    [message] = refused_on(submit(system, kia_body(grown, parent_nik=parent, kk=kk)))[
        "details.child_nik"]
    assert "under 17" in message


def late_birth(born: datetime.date, mother: str, kk: str, applicant: str,
               father: str | None = None) -> dict:
    """An adult's birth registered late (akta kelahiran terlambat): the
    person born on ``born`` applies."""
    request = birth_body(born, mother_nik=mother, kk=kk, father_nik=father,
                         married=father is not None, mother_name=None,
                         documents=["surat_keterangan_lahir", "kartu_keluarga",
                                    *(["buku_nikah"] if father else [])])
    request["applicant"]["nik"] = applicant
    return request


def test_a_late_birth_certificate_names_a_mother_born_a_century_before(system):
    born, mother_born = datetime.date(1960, 3, 2), datetime.date(1924, 6, 1)  # NIK year 24
    adult, mother = nik_born(born, female=True), nik_born(mother_born, female=True)
    kk = on_register(system, adult, born, True, (mother, mother_born))
    accepted = submit(system, late_birth(born, mother, kk, adult))
    assert accepted.status_code == 202, accepted.text


def test_a_late_birth_certificate_names_a_father_of_85(system):
    """The NIK alone makes a father born 1920 either not yet born at a 2005
    birth or 85 then, past what the NIK is read to allow; the register says 85."""
    born, father_born = datetime.date(2005, 7, 1), datetime.date(1920, 5, 10)
    mother_born = datetime.date(1975, 2, 14)
    adult = nik_born(born)
    father, mother = nik_born(father_born), nik_born(mother_born, female=True)
    kk = on_register(system, father, father_born, True, (mother, mother_born), (adult, born))
    accepted = submit(system, late_birth(born, mother, kk, adult, father=father))
    assert accepted.status_code == 202, accepted.text


def test_a_mother_the_register_dates_too_young_is_refused(system):
    """A 1960 birth naming a NIK of year 14: read by itself, a mother born
    1914; the register holds 2014 (a granddaughter's NIK typed for the
    mother's). And a mother of 6 at a birth this year, as ever."""
    born = datetime.date(1960, 3, 2)
    granddaughter_born = datetime.date(2014, 8, 17)
    adult, granddaughter = nik_born(born), nik_born(granddaughter_born, female=True)
    kk = on_register(system, adult, born, True, (granddaughter, granddaughter_born))
    [message] = refused_on(submit(system, late_birth(born, granddaughter, kk, adult)))[
        "details.mother_nik"]
    assert "at least 10" in message

    today = today_wib()
    six = years_before(today, 6)
    mother = nik_born(six, female=True)
    kk = on_register(system, mother, six, False)
    assert list(refused_on(submit(system, birth_body(today - DAY, mother_nik=mother, kk=kk))))\
        == ["details.mother_nik"]
