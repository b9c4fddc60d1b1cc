"""Unit tests for services.notification.messages (pickup SMS and email)."""

from __future__ import annotations

import pytest

from services.notification.messages import DOCUMENT_NAMES, pickup_email, pickup_sms, slot_day
from shared.events import DOCUMENT_TYPES

NIK = "3673045207900001"
PHONE = "+6281234567890"
EMAIL = "siti.aminah@example.id"
SLOT = {"place": "Kantor Kecamatan Curug", "address": "Jl. Raya Curug No. 1, Kota Serang",
        "date": "2026-11-30", "start": "09:00", "end": "10:00"}


def event(lang: str = "id", document_type: str = "ktp_el") -> dict:
    # "nik"/"kk_number" are extra keys on purpose: the texts must not use them
    return {"document_type": document_type, "tracking_code": "SDK7H3KQ9MX",
            "full_name": "Siti Aminah", "nik": NIK, "kk_number": "3673041201100003",
            "contact": {"phone": PHONE, "email": EMAIL, "language": lang}, "slot": dict(SLOT)}


def test_pickup_sms_indonesian():
    assert pickup_sms(event()) == (
        "Smartdukcapil: KTP-el Anda (SDK7H3KQ9MX) sudah jadi. Silakan ambil di "
        "Kantor Kecamatan Curug, Jl. Raya Curug No. 1, Kota Serang, "
        "Senin, 30 November 2026 pukul 09:00-10:00 WIB. Bawa bukti pendaftaran.")


def test_pickup_sms_english():
    sms = pickup_sms(event("en"))
    assert sms == (
        "Smartdukcapil: your KTP-el (ID card) (SDK7H3KQ9MX) is ready. Collect it at "
        "Kantor Kecamatan Curug, Jl. Raya Curug No. 1, Kota Serang, "
        "Monday, 30 November 2026, 09:00-10:00 WIB. Bring your application receipt.")


@pytest.mark.parametrize(("date", "text"), [
    ("2026-11-30", "Senin, 30 November 2026"),
    ("2026-12-01", "Selasa, 1 Desember 2026"),
    ("2026-12-02", "Rabu, 2 Desember 2026"),
    ("2026-12-03", "Kamis, 3 Desember 2026"),
    ("2026-12-04", "Jumat, 4 Desember 2026"),
    ("2026-12-05", "Sabtu, 5 Desember 2026"),
    ("2026-12-06", "Minggu, 6 Desember 2026"),
    ("2027-08-17", "Selasa, 17 Agustus 2027"),
])
def test_slot_day_indonesian(date, text):
    assert slot_day({"date": date}, "id") == text


@pytest.mark.parametrize(("date", "text"), [
    ("2026-12-04", "Friday, 4 December 2026"),
    ("2027-08-17", "Tuesday, 17 August 2027"),
])
def test_slot_day_english(date, text):
    assert slot_day({"date": date}, "en") == text


def test_unknown_language_falls_back_to_indonesian():
    assert pickup_sms(event("fr")) == pickup_sms(event("id"))


@pytest.mark.parametrize("lang", ["id", "en"])
@pytest.mark.parametrize("document_type", DOCUMENT_TYPES)
def test_sms_fits_four_parts_and_has_no_personal_data(lang, document_type):
    sms = pickup_sms(event(lang, document_type))
    assert len(sms) <= 612
    assert sms.isascii()  # GSM-7 text: 612 chars is 4 concatenated parts
    assert DOCUMENT_NAMES[document_type][1 if lang == "en" else 0] in sms
    for secret in (NIK, "3673041201100003", PHONE, "081234567890", "81234567890", EMAIL):
        assert secret not in sms


def test_pickup_email_indonesian():
    subject, body = pickup_email(event())
    assert subject == "KTP-el Anda siap diambil (SDK7H3KQ9MX)"
    assert body.startswith("Yth. Siti Aminah,\n\n")
    assert "Tempat pengambilan: Kantor Kecamatan Curug\nJl. Raya Curug No. 1, Kota Serang\n" in body
    assert "Hari: Senin, 30 November 2026\nPukul: 09:00-10:00 WIB" in body
    assert "kode lacak SDK7H3KQ9MX" in body


def test_pickup_email_english():
    subject, body = pickup_email(event("en", "akta_kelahiran"))
    assert subject == "Your birth certificate is ready for collection (SDK7H3KQ9MX)"
    assert body.startswith("Dear Siti Aminah,\n\n")
    assert "Collect it at: Kantor Kecamatan Curug\nJl. Raya Curug No. 1, Kota Serang\n" in body
    assert "Day: Monday, 30 November 2026\nTime: 09:00-10:00 WIB" in body


@pytest.mark.parametrize("lang", ["id", "en"])
def test_email_has_no_identity_numbers_or_contacts(lang):
    subject, body = pickup_email(event(lang))
    for secret in (NIK, "3673041201100003", PHONE, "81234567890", EMAIL):
        assert secret not in subject and secret not in body

