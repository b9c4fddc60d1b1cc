"""Unit tests for shared.nik and shared.wilayah against the real wilayah data.

Area codes used are real: 36 Banten, 36.73 Kota Serang, 36.73.04 Curug,
36.73.01 Serang (see shared/data/wilayah.csv).
"""

from __future__ import annotations

import datetime
import pickle

import pytest

from shared.masking import mask_identity
from shared.nik import (
    InvalidIdentityNumber,
    NikInfo,
    birth_date,
    parse_nik,
    validate_kk,
)
from shared.wilayah import DATA_PATH, Wilayah, load_wilayah

TODAY = datetime.date(2025, 6, 1)

MAN_NIK = "3673041207900001"  # Curug, 12-07-1990, male
WOMAN_NIK = "3673015207900002"  # Serang, day 52 -> 12-07-1990, female
KK = "3673041507150003"  # Curug, issued 15-07-2015


def invalid(value: object, **kwargs) -> InvalidIdentityNumber:
    with pytest.raises(InvalidIdentityNumber) as excinfo:
        parse_nik(value, today=TODAY, **kwargs)  # type: ignore[arg-type]
    return excinfo.value


def invalid_kk(value: object, **kwargs) -> InvalidIdentityNumber:
    with pytest.raises(InvalidIdentityNumber) as excinfo:
        validate_kk(value, **kwargs)  # type: ignore[arg-type]
    return excinfo.value


# --- wilayah ---------------------------------------------------------------


def test_wilayah_names_at_each_level() -> None:
    w = load_wilayah()
    assert w.province("36") == "Banten"
    assert w.kabkota("3673") == "Kota Serang"
    assert w.kabkota("36.73") == "Kota Serang"
    assert w.kecamatan("367304") == "Curug"
    assert w.kecamatan("36.73.04") == "Curug"
    assert w.kelurahan("36.73.04.1008") == "Sukalaksana"
    assert w.kelurahan("3673041008") == "Sukalaksana"
    assert w.name("36.73.05") == "Cipocok Jaya"


def test_wilayah_level_methods_reject_wrong_length_and_garbage() -> None:
    w = load_wilayah()
    assert w.kecamatan("3673") is None  # a kab/kota code is not a kecamatan
    assert w.province("99") is None
    assert w.kecamatan("36-73-04") is None
    assert w.name(None) is None
    assert w.name("") is None


def test_kota_serang_has_6_kecamatan_and_67_kelurahan() -> None:
    w = load_wilayah()
    kecamatan = [f"3673{i:02d}" for i in range(1, 100) if w.kecamatan(f"3673{i:02d}")]
    assert kecamatan == ["367301", "367302", "367303", "367304", "367305", "367306"]
    assert sum(len(w.kelurahan_in(code)) for code in kecamatan) == 67


def test_kelurahan_in_curug() -> None:
    kelurahan = load_wilayah().kelurahan_in("36.73.04")
    assert len(kelurahan) == 10
    assert kelurahan[0] == ("3673041001", "Curug")
    assert ("3673041008", "Sukalaksana") in kelurahan
    assert load_wilayah().kelurahan_in("369999") == []


def test_names_are_stripped() -> None:
    # Upstream has "Kota Administrasi Jakarta Utara " with a trailing space.
    assert load_wilayah().kabkota("31.72") == "Kota Administrasi Jakarta Utara"


def test_load_wilayah_is_cached() -> None:
    # read once per process (no timing asserted: the machine is shared)
    assert load_wilayah() is load_wilayah()
    fresh = Wilayah.from_csv(DATA_PATH)
    assert len(fresh) == len(load_wilayah()) == 91599


# --- parse_nik: valid numbers ----------------------------------------------


def test_parse_man() -> None:
    info = parse_nik(MAN_NIK, today=TODAY)
    assert info == NikInfo(
        nik=MAN_NIK,
        province_code="36",
        kabkota_code="3673",
        kecamatan_code="367304",
        birth_date=datetime.date(1990, 7, 12),
        sex="M",
        serial="0001",
        warnings=(),
    )


def test_parse_woman_subtracts_40_from_day() -> None:
    info = parse_nik(WOMAN_NIK, today=TODAY)
    assert info.sex == "F"
    assert info.birth_date == datetime.date(1990, 7, 12)
    assert info.kecamatan_code == "367301"
    assert info.serial == "0002"


@pytest.mark.parametrize(
    ("nik", "expected"),
    [
        ("3673040101900001", datetime.date(1990, 1, 1)),  # day 01, male
        ("3673043112900001", datetime.date(1990, 12, 31)),  # day 31, male
        ("3673044101900001", datetime.date(1990, 1, 1)),  # day 41, female
        ("3673047112900001", datetime.date(1990, 12, 31)),  # day 71, female
    ],
)
def test_day_boundaries(nik: str, expected: datetime.date) -> None:
    assert parse_nik(nik, today=TODAY).birth_date == expected


def test_surrounding_whitespace_is_stripped() -> None:
    assert parse_nik(f"  {MAN_NIK}\n", today=TODAY).nik == MAN_NIK


def test_unknown_kecamatan_is_warning_not_error() -> None:
    info = parse_nik("3673991207900001", today=TODAY)
    assert info.warnings == ("unknown_kecamatan",)
    assert info.kecamatan_code == "367399"


def test_unknown_kabkota_is_warning_not_error() -> None:
    info = parse_nik("3699011207900001", today=TODAY)
    assert "unknown_kabkota" in info.warnings
    assert "unknown_kecamatan" in info.warnings


def test_century_inference_with_fixed_today() -> None:
    def born(nik: str, today: datetime.date = TODAY) -> datetime.date:
        return parse_nik(nik, today=today).birth_date

    # 2024 is not in the future on TODAY -> 2000s.
    assert born("3673040103240001") == datetime.date(2024, 3, 1)
    # 2026 would be in the future -> 1926.
    assert born("3673040103260001") == datetime.date(1926, 3, 1)
    # Same digits, later "today": now 2026 is in the past.
    assert born("3673040103260001", datetime.date(2026, 3, 2)) == datetime.date(2026, 3, 1)
    # Born exactly today is allowed.
    assert born("3673040106250001") == TODAY
    # Tomorrow falls back to the previous century.
    assert born("3673040206250001") == datetime.date(1925, 6, 2)


def test_today_as_datetime_is_accepted() -> None:
    now = datetime.datetime(2025, 6, 1, 12, 0)
    assert parse_nik(MAN_NIK, today=now).birth_date == datetime.date(1990, 7, 12)


def test_an_instant_is_read_on_its_day_in_kota_serang() -> None:
    # 00:05 WIB on 1 January 2027 is still 31 December 2026 in UTC: a child
    # born that day was born in 2027, not in 1927
    after_midnight_wib = datetime.datetime(2026, 12, 31, 17, 5, tzinfo=datetime.timezone.utc)
    assert parse_nik("3673040101270001", today=after_midnight_wib).birth_date == \
        datetime.date(2027, 1, 1)


def test_the_registers_birth_date_when_it_has_the_niks_day_and_month() -> None:
    centenarian = "3673041501260001"  # 15-01-26
    on = datetime.date(2026, 12, 1)
    assert birth_date(centenarian, on) == datetime.date(2026, 1, 15)  # the NIK alone
    # the register knows the century the two digits do not say
    assert birth_date(centenarian, on, registered=datetime.date(1926, 1, 15)) == \
        datetime.date(1926, 1, 15)
    # a date the NIK does not carry: the register's record is not taken for it
    assert birth_date(centenarian, on, registered=datetime.date(1926, 1, 16)) == \
        datetime.date(2026, 1, 15)


def test_a_nik_read_as_of_a_day_is_of_someone_born_by_then() -> None:
    woman = "3673044505260001"  # 05-05-26
    assert birth_date(woman, datetime.date(2026, 3, 1)) == datetime.date(1926, 5, 5)
    assert birth_date(woman, datetime.date(2026, 6, 1)) == datetime.date(2026, 5, 5)
    # born after the day whichever the century: the earlier
    assert birth_date(woman, datetime.date(1926, 3, 1)) == datetime.date(1926, 5, 5)
    # 29 February 00 was a day in 2000 only
    assert birth_date("3673042902000001", datetime.date(1999, 1, 1)) == \
        datetime.date(2000, 2, 29)


def test_leap_day_2000_is_valid() -> None:
    info = parse_nik("3673042902000001", today=TODAY)
    assert info.birth_date == datetime.date(2000, 2, 29)
    female = parse_nik("3673046902000001", today=TODAY)
    assert (female.birth_date, female.sex) == (datetime.date(2000, 2, 29), "F")


def test_leap_day_2001_is_invalid() -> None:
    assert invalid("3673042902010001").code == "nik.birth_date"


# --- parse_nik: errors -------------------------------------------------------


@pytest.mark.parametrize("day", ["00", "32", "40", "72", "99"])
def test_invalid_day_rejected(day: str) -> None:
    assert invalid(f"367304{day}07900001").code == "nik.birth_date"


@pytest.mark.parametrize("month", ["00", "13"])
def test_invalid_month_rejected(month: str) -> None:
    assert invalid(f"36730412{month}900001").code == "nik.birth_date"


@pytest.mark.parametrize(
    "nik",
    [
        "3673043102900001",  # 31 Feb, male
        "3673047102900001",  # 31 Feb, female
        "3673043104900001",  # 31 Apr
    ],
)
def test_impossible_calendar_date_rejected(nik: str) -> None:
    assert invalid(nik).code == "nik.birth_date"


def test_serial_0000_rejected() -> None:
    assert invalid("3673041207900000").code == "nik.serial"


@pytest.mark.parametrize("value", ["", "367304120790001", "36730412079000011", "   "])
def test_wrong_length_rejected(value: str) -> None:
    assert invalid(value).code == "nik.length"


@pytest.mark.parametrize(
    "value",
    [
        "367304120790000A",
        "3673 0412 0790 0001",
        "3673-04-120790-0001",
        "３６７３０４１２０７９００００１",  # full-width digits are not ASCII
        "367304120790000\u00b9",  # superscript one passes str.isdigit()
    ],
)
def test_non_digits_rejected(value: str) -> None:
    assert invalid(value).code == "nik.digits"


def test_non_string_rejected() -> None:
    assert invalid(3673041207900001).code == "nik.digits"
    assert invalid(None).code == "nik.digits"


def test_unknown_province_rejected() -> None:
    error = invalid("9973041207900001")
    assert error.code == "nik.province"
    assert "99" in error.message_en


def test_default_messages() -> None:
    error = invalid("123")
    assert error.field == "nik"
    assert error.message_id.startswith("NIK harus 16 digit angka")
    assert error.message_en.startswith("NIK must be 16 digits")
    assert str(error) == error.message_en
    assert isinstance(error, ValueError)


def test_messages_name_the_field() -> None:
    error = invalid("123", field="father_nik")
    assert error.field == "father_nik"
    assert "father_nik" in error.message_id
    assert "father_nik" in error.message_en


@pytest.mark.parametrize(
    "nik",
    [
        "3673041207900000",  # serial
        "9973041207900001",  # province
        "3673047207900001",  # day
        "3673043102900001",  # calendar
        "3673041207900001X",  # digits
    ],
)
def test_error_never_contains_full_number(nik: str) -> None:
    error = invalid(nik)
    digits = nik.rstrip("X")
    for text in (str(error), repr(error), error.message_id, error.message_en):
        assert digits not in text
    assert error.__cause__ is None or digits not in str(error.__cause__)


def test_repr_of_info_masks_nik() -> None:
    text = repr(parse_nik(MAN_NIK, today=TODAY))
    assert MAN_NIK not in text
    assert "3673********0001" in text


def test_error_to_dict_and_pickle() -> None:
    error = invalid("3673041207900000")
    assert error.to_dict() == {
        "field": "nik",
        "code": "nik.serial",
        "message_id": error.message_id,
        "message_en": error.message_en,
    }
    clone = pickle.loads(pickle.dumps(error))
    assert (clone.field, clone.code, clone.message_en) == (
        "nik", "nik.serial", error.message_en,
    )


# --- validate_kk -------------------------------------------------------------


def test_kk_valid_and_normalized() -> None:
    assert validate_kk(f" {KK} ") == KK


def test_kk_leap_day_2000_valid() -> None:
    assert validate_kk("3673042902000001") == "3673042902000001"


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("367304150715000", "kk.length"),
        ("36730415071500031", "kk.length"),
        ("36730415071500A3", "kk.digits"),
        ("9973041507150003", "kk.province"),
        ("3673045507150003", "kk.date"),  # no +40 rule for KK: day 55 invalid
        ("3673043207150003", "kk.date"),  # day 32
        ("3673040007150003", "kk.date"),  # day 0
        ("3673041513150003", "kk.date"),  # month 13
        ("3673043102150003", "kk.date"),  # 31 Feb
        ("3673042902010003", "kk.date"),  # 29 Feb 2001
        ("3673041507150000", "kk.serial"),
    ],
)
def test_kk_errors(value: str, code: str) -> None:
    error = invalid_kk(value)
    assert error.code == code
    assert error.field == "kk_number"
    assert value not in error.message_id
    assert value not in error.message_en


def test_kk_messages_name_the_field() -> None:
    error = invalid_kk("123", field="family_card")
    assert error.field == "family_card"
    assert "family_card" in error.message_id
    assert "family_card" in error.message_en


# --- mask_identity -----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("3673041207900001", "3673********0001"),
        ("12345678", "12345678"),
        ("123456789", "1234*6789"),
        ("1234567", "*******"),
        ("abc", "***"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask_identity(value: str | None, expected: str) -> None:
    assert mask_identity(value) == expected


@pytest.mark.parametrize("number", ["3673043102900001", "3673048002900001"])
def test_a_birth_date_message_ends_as_a_sentence_in_both_languages(number) -> None:
    """Outside audit T3: the message read "... atau di masa depan" with no
    final full stop (an impossible date; a day past 71)."""
    error = invalid(number)
    assert error.code == "nik.birth_date"
    assert error.message_id.endswith(".") and error.message_en.endswith(".")


@pytest.mark.parametrize(
    ("number", "code"),
    [
        (3673041207900001, "digits"),
        ("3673041207900O01", "digits"),
        ("367", "length"),
        ("9973041207900001", "province"),
        ("3673041207900000", "serial"),
    ],
)
def test_a_format_message_ends_as_a_sentence_in_both_languages(number, code) -> None:
    """Outside audit: "NIK must contain only digits 0-9", "NIK must be 16
    digits (got 3)" and the rest of the format checks had no final full
    stop, in either language."""
    for error in (invalid(number), invalid_kk(number)):
        assert error.code.endswith(code)
        assert error.message_id.endswith(".") and error.message_en.endswith(".")
        assert ".." not in error.message_id + error.message_en
    assert invalid("367").message_en == "NIK must be 16 digits (got 3)."
    assert invalid("367").message_id == "NIK harus 16 digit angka (diterima 3 digit)."


def test_a_kk_message_names_it_the_kk_number_in_english() -> None:
    """Outside audit: "No. KK must contain only digits 0-9" - "No." is
    Bahasa's abbreviation; an English reader reads "KK number"."""
    error = invalid_kk("36730415071500A3")
    assert error.message_id == "No. KK hanya boleh berisi angka 0-9."
    assert error.message_en == "KK number must contain only digits 0-9."
    named = invalid_kk("123", field="family_card")
    assert named.message_id.startswith("No. KK (family_card) ")
    assert named.message_en.startswith("KK number (family_card) ")
