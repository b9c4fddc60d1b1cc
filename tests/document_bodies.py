"""Valid application bodies for each document type, for unit and end-to-end
tests alike. Every number is a parameter; the defaults are random (valid
NIKs and KKs from Kota Serang, tests/helpers.py), so each test has its own
subjects. Dates are ``datetime.date`` or ISO strings."""

from __future__ import annotations

import datetime

from tests.helpers import random_kk, random_mobile, random_nik, unused_nik


def nik_born(day: datetime.date, female: bool = False, kecamatan: str = "367304") -> str:
    """A random NIK of someone born on ``day``, never the same twice in a
    session (a fixed ``day`` leaves 9,999 serials: a benchmark's KIA children
    met twice - 409 - a dozen times in a run)."""
    return unused_nik(f"{kecamatan}{day.day + (40 if female else 0):02d}{day.month:02d}"
                      f"{day.year % 100:02d}")


def years_before(today: datetime.date, years: int, days: int = 0) -> datetime.date:
    """The date ``years`` years (and ``days`` days) before ``today`` (29 Feb -> 28 Feb)."""
    day = today.replace(year=today.year - years, day=min(today.day, 28))
    return day - datetime.timedelta(days=days)


def body(document_type: str, details: dict, nik: str | None = None, kk: str | None = None,
         **applicant) -> dict:
    return {"document_type": document_type, "channel": "web",
            "applicant": {"nik": nik or random_nik(), "kk_number": kk or random_kk(),
                          "full_name": "Ahmad Fauzi", "phone": random_mobile(), **applicant},
            "details": details}


def named(**names: str | None) -> dict:
    """The name fields given (None: left out)."""
    return {field: name for field, name in names.items() if name is not None}


def birth_body(birth_date, mother_nik: str | None = None, child_name: str = "Nur Aini",
               kk: str | None = None, father_nik: str | None = None, married: bool = True,
               documents=("surat_keterangan_lahir", "buku_nikah", "kartu_keluarga"),
               mother_name: str | None = "Siti Rahmawati", **details) -> dict:
    """The father applies (named as the applicant); the mother's name is the
    citizen's (``mother_name``: the register knows no random NIK; None: not given)."""
    kk = kk or random_kk()
    father_nik = father_nik or (random_nik() if married else None)
    return body("akta_kelahiran", {
        "child": {"full_name": child_name, "sex": "F", "birth_date": str(birth_date),
                  "birth_place_code": "3673"},
        "mother_nik": mother_nik or random_nik(female=True), "parents_married": married,
        "father_nik": father_nik, "kk_number": kk, "documents": list(documents),
        **named(mother_full_name=mother_name), **details}, nik=father_nik, kk=kk)


def death_body(date_of_death, deceased_nik: str | None = None, nik: str | None = None,
               kk: str | None = None, documents=("surat_kematian", "kartu_keluarga"),
               deceased_name: str | None = "Sarmili bin Jaka", **details) -> dict:
    """``deceased_name``: the citizen's (the register knows no random NIK;
    None: not given)."""
    nik = nik or random_nik()
    return body("akta_kematian", {
        "deceased_nik": deceased_nik or random_nik(year=1950), "date_of_death": str(date_of_death),
        "place_of_death": "RSUD dr. Dradjat Prawiranegara, Kota Serang",
        "reporter_nik": nik, "reporter_relation": "anak", "documents": list(documents),
        **named(deceased_full_name=deceased_name), **details}, nik=nik, kk=kk)


def skpwni_keluar_body(kelurahan_code: str = "3171011001", nik: str | None = None,
                       kk: str | None = None, members=None, **details) -> dict:
    nik = nik or random_nik()
    return body("skpwni", {
        "move": "pindah_keluar",
        "destination": {"street": "Jl. Tanah Abang II No. 5", "kelurahan_code": kelurahan_code,
                        "postal_code": "10160"},
        "reason": "pekerjaan", "members": list([nik] if members is None else members),
        "documents": ["kartu_keluarga"], **details}, nik=nik, kk=kk)


def skpwni_datang_body(kelurahan_code: str = "3673041010", nik: str | None = None,
                       kk: str | None = None, **details) -> dict:
    return body("skpwni", {
        "move": "pindah_datang",
        "destination": {"street": "Jl. Raya Curug No. 12", "kelurahan_code": kelurahan_code,
                        "postal_code": "42171"},
        "skpwni_number": "3171-SKPWNI-2025-000123", "documents": ["skpwni"], **details},
        nik=nik, kk=kk or random_kk(kecamatan="317101"))


def kia_body(child_nik: str, parent_nik: str | None = None, kk: str | None = None,
             documents=("akta_kelahiran", "kartu_keluarga", "ktp_el", "foto"),
             **details) -> dict:
    kk = kk or random_kk()
    parent_nik = parent_nik or random_nik(female=True, year=1988)
    return body("kia", {
        "child_nik": child_nik, "child_full_name": "Rizki Ramadhan",
        "birth_certificate_number": "3673-LU-08052015-0002", "parent_nik": parent_nik,
        "kk_number": kk, "documents": list(documents), **details}, nik=parent_nik, kk=kk)
