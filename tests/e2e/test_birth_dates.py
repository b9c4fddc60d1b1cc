"""Whose birth the NIK cannot date, through the real stack.

A NIK gives the year of birth in two digits: read by itself, a citizen born
in the 1920s is a baby this decade. The register sandbox knows the century,
and its date decides: a centenarian's KTP-el prints the year of birth the
register holds, their death is registered, they book a recording. A
declared marriage does not make a 5-year-old recordable.
"""

from __future__ import annotations

import datetime

import requests

from shared.clock import today_wib
from tests.document_bodies import body, death_body, nik_born, years_before
from tests.e2e.test_appointments import book, booking, working_day
from tests.e2e.test_printed_document import download, spoken_date, verified_job
from tests.helpers import random_kk
from tests.pdf_checks import pdf_text

DAY = datetime.timedelta(days=1)


def on_register(system, nik: str, born: datetime.date, recorded: bool) -> str:
    """``nik`` on a fresh family card of the register sandbox, born on
    ``born`` as the register has it: its KK."""
    kk = random_kk()
    family = {"kk_number": kk, "kelurahan_code": "3673041010", "members": [
        {"nik": nik, "full_name": "KAKEK SASTRO", "sex": "F" if int(nik[6:8]) > 40 else "M",
         "birth_date": born.isoformat(), "relation": "kepala_keluarga",
         "ktp_el_recorded": recorded, "deceased": False}]}
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
