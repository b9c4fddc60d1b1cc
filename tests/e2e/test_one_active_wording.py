"""The one-active 409 says what its subject is (outside audit: the same
child's birth certificate twice was refused "for this NIK", though a newborn
has no NIK - its subject is the mother's NIK, birth date and name)."""

from __future__ import annotations

import datetime

import requests

from shared.clock import today_wib
from tests.document_bodies import birth_body, kia_body, nik_born, years_before
from tests.helpers import random_kk, random_nik


def twice(system, request: dict) -> dict[str, dict]:
    """Submit, then submit again: the second answer's error, by language."""
    url = f"{system.url('intake')}/api/v1/applications"
    first = requests.post(url, json=request, timeout=10)
    assert first.status_code == 202, first.text
    answers = {lang: requests.post(url, json=request, headers={"Accept-Language": lang},
                                   timeout=10) for lang in ("id", "en")}
    assert {answer.status_code for answer in answers.values()} == {409}
    return {lang: answer.json()["error"] for lang, answer in answers.items()}


def test_the_same_newborn_twice_is_refused_as_the_same_child_not_a_nik(system):
    request = birth_body(today_wib() - datetime.timedelta(days=3),
                         mother_nik=random_nik(female=True), kk=random_kk())
    error = twice(system, request)
    assert error["id"]["message"] == (
        "Masih ada permohonan jenis dokumen ini yang aktif untuk anak ini (NIK ibu, tanggal "
        "lahir dan nama anak yang sama).")
    assert error["en"]["message"] == (
        "An application of this document type for this child (the same mother's NIK, birth "
        "date and child's name) is still in progress.")
    assert list(error["en"]["fields"]) == ["details.child"]


def test_a_nik_subject_says_whose_nik(system):
    kia = twice(system, kia_body(nik_born(years_before(today_wib(), 3)),
                                 documents=("akta_kelahiran", "kartu_keluarga", "ktp_el")))
    assert kia["id"]["message"] == \
        "Masih ada permohonan jenis dokumen ini yang aktif untuk NIK anak ini."
    assert kia["en"]["message"] == \
        "An application of this document type for this child's NIK is still in progress."
    assert list(kia["en"]["fields"]) == ["details.child_nik"]
