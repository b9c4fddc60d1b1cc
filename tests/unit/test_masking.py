"""Phone numbers in free text (a Pos courier's note, an operator's note, a
log line): every form people write is masked, nothing else that appears in
our texts and logs is."""

from __future__ import annotations

import pytest

from shared.masking import mask_phone, mask_text

# (as written, the digits it holds): Pos' couriers wrote landlines and dotted
# or bracketed mobiles, which reached the citizen's timeline, SMS and e-mail
# in full (outside audit)
PHONES = [
    ("0812-3456-7890", "081234567890"), ("0812 3456 7890", "081234567890"),
    ("081234567890", "081234567890"), ("0812.3456.7891", "081234567891"),
    ("(0812) 3456-7890", "081234567890"), ("(0812)3456 7890", "081234567890"),
    ("0812\u20133456\u20137890", "081234567890"), ("0812 \u2014 3456 \u2014 7890", "081234567890"),
    ("0812 - 3456 - 7890", "081234567890"), ("0812-345-678", "0812345678"),
    ("+6281234567890", "+6281234567890"), ("+62 812 3456 7890", "+6281234567890"),
    ("+62-812-3456-7890", "+6281234567890"), ("+62 (0)812 3456 7890", "+6281234567890"),
    ("(+62) 812-3456-7890", "+6281234567890"), ("+62 (812) 3456 7890", "+6281234567890"),
    ("6281234567890", "6281234567890"), ("62 812 3456 7890", "6281234567890"),
    # landlines: 0 + a 2- or 3-digit area code, bracketed or not, +62 forms
    ("0254-123456", "0254123456"), ("0254 200123", "0254200123"), ("0254123456", "0254123456"),
    ("(0254) 123456", "0254123456"), ("(0254)200123", "0254200123"),
    ("021-1234-5678", "02112345678"), ("021 1234 5678", "02112345678"),
    ("(021) 1234 5678", "02112345678"), ("021.1234.5678", "02112345678"),
    ("0254-12345", "025412345"), ("+62254123456", "+62254123456"),
    ("+62 254 123456", "+62254123456"), ("(+62) 254 123456", "+62254123456"),
    ("+62 (254) 123456", "+62254123456"), ("+62 21 1234 5678", "+622112345678"),
]


@pytest.mark.parametrize("written, digits", PHONES)
@pytest.mark.parametrize("around", ["{}", "hubungi {}", "telp {}, kantor", "Hub.({})",
                                    "HP:{}", "Telp.{}.", "\u00a0{}\u00a0", "{} / 0",
                                    # a key notification keeps, in pymongo's command log
                                    '{{"_id": "phone:{}:2026-12-01T10"}}'])
def test_a_phone_number_in_free_text_is_masked_whatever_its_form(written, digits, around):
    text = around.format(written)
    assert mask_text(text) == around.format(mask_phone(digits))
    assert digits[-7:-3] not in mask_text(text)


def test_the_pos_courier_s_note_from_the_audit_is_masked_throughout():
    note = "Rumah kosong. Hub. (0812) 3456-7890 / 0812.3456.7891, kantor 0254-123456"
    assert mask_text(note) == \
        "Rumah kosong. Hub. 08123****890 / 08123****891, kantor 0254***456"
    assert mask_text("Agen Pos Curug telp 0254 200123") == "Agen Pos Curug telp 0254***123"
    assert mask_text("08123456789/08134567890") == "08123***789/08134***890"


def test_a_landline_keeps_at_least_three_digits_hidden():
    # five kept and three shown left one or two of a landline's digits hidden
    assert mask_phone("0254123456") == "0254***456"
    assert mask_phone("025412345") == "025***345"
    assert mask_phone("08123456789") == "08123***789"
    assert mask_phone("+6281234567890") == "+6281******890"


def test_identity_numbers_are_masked_before_phones():
    """A KK grouped in fours holds a phone-shaped tail ("0812 3456 7890"):
    masked as a phone it would keep twelve of its sixteen digits."""
    assert mask_text("KK 3673 0812 3456 7890") == "KK 3673********7890"
    assert mask_text("NIK 6281031201900001 telp 0254 200123") == \
        "NIK 6281********0001 telp 0254***123"


@pytest.mark.parametrize("written", ["3673/0412/0110/0003", "3673_0412_0110_0003",
                                     "367304/120110/0003", "367304_1201100003"])
def test_an_identity_number_grouped_with_slashes_or_underscores_is_masked(written):
    """Outside audit S3: an operator's note "NIK 3673/0412/0110/0003" went
    out in the citizen's SMS whole, and so did a path segment in the access
    log."""
    assert mask_text(f"NIK {written}.") == "NIK 3673********0003."
    assert mask_text(f"/api/v1/operator/applications/{written}") == \
        "/api/v1/operator/applications/3673********0003"


@pytest.mark.parametrize("written", ["3673 04 120110 0003", "3673-04-120110-0003",
                                     "3673_04_12_01_10_0003", "36 73 04 120110 0003",
                                     "\uff13\uff16\uff17\uff13\uff10\uff14\uff11\uff12"
                                     "\uff10\uff11\uff11\uff10\uff10\uff10\uff10\uff13"])
def test_an_identity_number_in_the_parts_a_nik_falls_into_is_masked(written):
    """Outside audit R: "3673 04 120110 0003" (region, kecamatan, birth
    date, serial) went out in an operator's note whole."""
    assert mask_text(f"NIK {written}.") == "NIK 3673********0003."


@pytest.mark.parametrize("written", ["NIK3673041201100003", "KK 3673\u00a00412\u00a00110\u00a00003",
                                     "KK 3673  0412  0110  0003", "KK 3673 - 0412 - 0110 - 0003",
                                     "KK 3673\u20130412\u20130110\u20130003"])
def test_an_identity_number_glued_to_a_word_or_with_wider_separators_is_masked(written):
    """Outside audit R2: each went out whole in an operator's note (the
    non-breaking spaces became plain ones in the WhatsApp message)."""
    assert "0412" not in mask_text(written) and mask_text(written).endswith("3673********0003")


@pytest.mark.parametrize("written", ["0812/3456/7805", "0812_3456_7805", "081 234 567 805"])
def test_a_mobile_grouped_with_slashes_underscores_or_after_its_operator_digit_is_masked(
        written):
    assert mask_text(f"hp {written}.") == "hp 08123****805."




@pytest.mark.parametrize("written", ["0 8 1 2 3 4 5 6 7 8 9 0", "0-8-1-2-3-4-5-6-7-8-9-0",
                                     "0.8.1.2.3.4.5.6.7.8.9.0",
                                     "\uff10\uff18\uff11\uff12\uff13\uff14\uff15\uff16"
                                     "\uff17\uff18\uff19\uff10"])
def test_a_mobile_spelt_out_digit_by_digit_or_in_full_width_digits_is_masked(written):
    """Outside audits S3, R: spelt out, or in full-width digits (which the
    SMS turned into ASCII after masking), it went out whole."""
    assert mask_text(f"hubungi {written} ya") == "hubungi 08123****890 ya"
    assert mask_text("hp + 6 2 8 1 2 3 4 5 6 7 8 9 0") == "hp +6281******890"


@pytest.mark.parametrize("harmless", [
    "3673-KTP-2026-0000042", "Berlaku s.d. 2026-12-01", "2026-12-01 08:00", "jam 08:00-15:00",
    "Silakan datang 01.12.2026 08.00-15.00 ke loket", "02.12.2026 09.00 WIB", "0900-1500",
    "jam 0800-1700", "03/04/2026", "P26120100005", "SDK7KQ2M9XA", "SDK-8c1f2a3b",
    "2026-11-29T14:05:00+07:00", "2026-11-29T14:05:00.123456+07:00", "2026-11-29 08:00:01,123",
    "RT 003/RW 004", "003/004", "42171", "Kode pos 42118", "kelurahan 6271011001",
    "JB-3604082001-20261201-000001", "JB-6271011001-20261201-000001",
    "5f0c1234-0254-4123-8123-081234567890", "12345678-0812-3456-7890-123456789012",
    "08123456-1234-4123-8123-123456789012",
    "a7f3c2e1b4d59687123456789012345678", "http://127.0.0.1:62812/api", "mongodb://localhost:27018",
    "10.0.2.15:5672", "took 0.812345678 s", "1764381900123", "Rp 62.500.000.000",
    "Rp 1.000.000.000.000.000", "1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6", "port 27018", "12345",
    "3673********0001", "08123****890",
])
def test_what_is_not_a_phone_number_is_left_alone(harmless):
    assert mask_text(harmless) == harmless
