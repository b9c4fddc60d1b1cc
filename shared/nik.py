"""Parsing and validation of NIK and No. KK numbers.

NIK (Nomor Induk Kependudukan), 16 digits ``PPKKCC DDMMYY SSSS``:

* ``PPKKCC`` - province, kabupaten/kota and kecamatan where the NIK was
  *first* issued (it never changes when the person moves);
* ``DDMMYY`` - date of birth; women have 40 added to the day (41-71);
* ``SSSS``   - serial number starting at ``0001``.

No. KK (Nomor Kartu Keluarga), 16 digits: 6-digit area code, ``DDMMYY`` issue
date (no +40 rule) and a 4-digit serial starting at ``0001``.

Errors are raised as :class:`InvalidIdentityNumber` carrying a machine code
plus messages in Bahasa Indonesia and English. Messages never contain the
number itself: identity numbers are personal data and error text tends to end
up in logs and API responses.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import NamedTuple

from .clock import today_wib
from .wilayah import load_wilayah
from .masking import mask_identity

IDENTITY_LENGTH = 16

_DIGITS_RE = re.compile(r"[0-9]+")

# Female NIKs add this to the day of birth.
_FEMALE_DAY_OFFSET = 40

# a first KTP-el is issued from this age (or earlier to a married citizen);
# a witness is at least this old
ADULT_AGE = 17

WARNING_UNKNOWN_KABKOTA = "unknown_kabkota"
WARNING_UNKNOWN_KECAMATAN = "unknown_kecamatan"


class InvalidIdentityNumber(ValueError):
    """A NIK or No. KK failed validation.

    Attributes:
        field: name of the input field that held the number (e.g. ``"nik"``).
        code: machine-readable reason, e.g. ``"nik.length"``, ``"kk.serial"``.
        message_id: human message in Bahasa Indonesia.
        message_en: human message in English.
    """

    def __init__(self, field: str, code: str, message_id: str, message_en: str):
        super().__init__(message_en)
        self.field = field
        self.code = code
        self.message_id = message_id
        self.message_en = message_en

    def __reduce__(self):  # keep picklable despite the custom __init__
        return (
            type(self),
            (self.field, self.code, self.message_id, self.message_en),
        )

    def to_dict(self) -> dict[str, str]:
        """Shape suitable for a JSON error response."""
        return {
            "field": self.field,
            "code": self.code,
            "message_id": self.message_id,
            "message_en": self.message_en,
        }


@dataclass(frozen=True, repr=False)
class NikInfo:
    """Facts decoded from a valid NIK."""

    nik: str
    province_code: str  # "36"
    kabkota_code: str  # "3673"
    kecamatan_code: str  # "367304"
    birth_date: datetime.date
    sex: str  # "F" or "M"
    serial: str  # "0001"
    warnings: tuple[str, ...] = ()

    def __repr__(self) -> str:
        # The default repr would print the full NIK and birth date into logs
        # and tracebacks; show only what is safe for debugging.
        return (
            f"NikInfo(nik={mask_identity(self.nik)!r}, "
            f"province_code={self.province_code!r}, sex={self.sex!r}, "
            f"warnings={self.warnings!r})"
        )


# --- internal helpers ----------------------------------------------------


class Label(NamedTuple):
    """How the number is named in messages, in Bahasa Indonesia (``id``) and
    English (``en``): ``No. KK`` means nothing to an English reader."""
    id: str
    en: str


NIK_LABEL = Label("NIK", "NIK")
KK_LABEL = Label("No. KK", "KK number")


def _label(kind: Label, field: str, default_field: str) -> Label:
    """How the number is named in messages, e.g. ``"NIK"`` or ``"NIK (father_nik)"``."""
    # For the default field the bare kind is clearest; for others (e.g.
    # "father_nik") the field name tells the user which input is wrong.
    if field == default_field:
        return kind
    return Label(f"{kind.id} ({field})", f"{kind.en} ({field})")


def _require_16_digits(
    value: object, *, field: str, prefix: str, label: Label
) -> str:
    """Strip and check the 16-ASCII-digit format; return the normalized string."""
    if not isinstance(value, str):
        raise InvalidIdentityNumber(
            field,
            f"{prefix}.digits",
            f"{label.id} harus berupa teks 16 digit angka.",
            f"{label.en} must be a string of 16 digits.",
        )
    text = value.strip()
    if text and _DIGITS_RE.fullmatch(text) is None:
        raise InvalidIdentityNumber(
            field,
            f"{prefix}.digits",
            f"{label.id} hanya boleh berisi angka 0-9.",
            f"{label.en} must contain only digits 0-9.",
        )
    if len(text) != IDENTITY_LENGTH:
        raise InvalidIdentityNumber(
            field,
            f"{prefix}.length",
            f"{label.id} harus 16 digit angka (diterima {len(text)} digit).",
            f"{label.en} must be 16 digits (got {len(text)}).",
        )
    return text


def _require_province(number: str, *, field: str, prefix: str, label: Label) -> None:
    if load_wilayah().province(number[:2]) is None:
        raise InvalidIdentityNumber(
            field,
            f"{prefix}.province",
            f"{label.id} memuat kode provinsi yang tidak dikenal ({number[:2]}).",
            f"{label.en} has an unknown province code ({number[:2]}).",
        )


def _require_serial(number: str, *, field: str, prefix: str, label: Label) -> None:
    if number[12:] == "0000":
        raise InvalidIdentityNumber(
            field,
            f"{prefix}.serial",
            f"{label.id} memuat nomor urut 0000 yang tidak sah.",
            f"{label.en} has an invalid serial number 0000.",
        )


def _area_warnings(number: str) -> tuple[str, ...]:
    """Warnings for area codes missing from the current wilayah list.

    Codes are those in force when the NIK was first issued; areas are split
    and renumbered over time, so a miss here is not proof of a bad NIK.
    """
    wilayah = load_wilayah()
    warnings: list[str] = []
    if wilayah.kabkota(number[:4]) is None:
        warnings.append(WARNING_UNKNOWN_KABKOTA)
    if wilayah.kecamatan(number[:6]) is None:
        warnings.append(WARNING_UNKNOWN_KECAMATAN)
    return tuple(warnings)


def _safe_date(year: int, month: int, day: int) -> datetime.date | None:
    try:
        return datetime.date(year, month, day)
    except ValueError:
        return None


def _birth_readings(number: str) -> list[datetime.date]:
    """The real dates a NIK's ``DDMMYY`` can be, earlier first: its two-digit
    year in the 1900s and in the 2000s (29 February ``00`` is a date in 2000
    only); none for a day of birth out of range."""
    day, month, yy = int(number[6:8]), int(number[8:10]), int(number[10:12])
    if day > _FEMALE_DAY_OFFSET:
        day -= _FEMALE_DAY_OFFSET
    readings = (_safe_date(1900 + yy, month, day), _safe_date(2000 + yy, month, day))
    return [reading for reading in readings if reading is not None]


def _born_by(readings: list[datetime.date], day: datetime.date) -> datetime.date | None:
    """The latest of ``readings`` not after ``day``: the 2000s unless that
    would put the birth after it; ``None`` if every reading does."""
    return max((reading for reading in readings if reading <= day), default=None)


def _decode_birth(
    number: str, *, field: str, today: datetime.date, label: Label
) -> tuple[datetime.date, str]:
    """Return ``(birth_date, sex)`` from digits 7-12 of a NIK."""
    day = int(number[6:8])
    if 1 <= day <= 31:
        sex = "M"
    elif 1 + _FEMALE_DAY_OFFSET <= day <= 31 + _FEMALE_DAY_OFFSET:
        sex = "F"
    else:
        raise InvalidIdentityNumber(
            field,
            "nik.birth_date",
            f"{label.id} memuat tanggal lahir yang tidak sah "
            "(tanggal harus 01-31, atau 41-71 untuk perempuan).",
            f"{label.en} has an invalid day of birth "
            "(must be 01-31, or 41-71 for women).",
        )
    birth_date = _born_by(_birth_readings(number), today)
    if birth_date is None:
        raise InvalidIdentityNumber(
            field,
            "nik.birth_date",
            f"{label.id} memuat tanggal lahir yang tidak ada di kalender "
            "atau di masa depan.",
            f"{label.en} has a birth date that is not a real calendar date "
            "or is in the future.",
        )
    return birth_date, sex


def _as_date(today: datetime.date | None) -> datetime.date:
    if today is None:
        return today_wib()
    # datetime is a date subclass but does not compare with plain dates; an
    # instant (stored in UTC) falls on its day in Kota Serang: 00:05 WIB on
    # 1 January is still 31 December in UTC
    if isinstance(today, datetime.datetime):
        return today_wib(today) if today.tzinfo is not None else today.date()
    return today


# --- public API ------------------------------------------------------------


def parse_nik(
    value: str, *, field: str = "nik", today: datetime.date | None = None
) -> NikInfo:
    """Validate a NIK and decode it.

    Raises :class:`InvalidIdentityNumber` (codes ``nik.digits``,
    ``nik.length``, ``nik.province``, ``nik.birth_date``, ``nik.serial``).
    Unknown kab/kota or kecamatan codes are reported in ``warnings`` only.
    ``today`` fixes the reference date for choosing the birth century
    (default: today in WIB; an aware datetime: its WIB date).
    """
    label = _label(NIK_LABEL, field, "nik")
    nik = _require_16_digits(value, field=field, prefix="nik", label=label)
    _require_province(nik, field=field, prefix="nik", label=label)
    birth_date, sex = _decode_birth(
        nik, field=field, today=_as_date(today), label=label
    )
    _require_serial(nik, field=field, prefix="nik", label=label)
    return NikInfo(
        nik=nik,
        province_code=nik[:2],
        kabkota_code=nik[:4],
        kecamatan_code=nik[:6],
        birth_date=birth_date,
        sex=sex,
        serial=nik[12:],
        warnings=_area_warnings(nik),
    )


def is_nik(value: str) -> bool:
    """Whether ``value`` is a NIK ``parse_nik`` takes: a known province, a
    day and month of birth that are a date, a serial. A No. KK is one too
    (its issue date reads as a birth date); 16 random digits seldom are."""
    try:
        parse_nik(value)
    except InvalidIdentityNumber:
        return False
    return True


def age_on(birth: datetime.date, day: datetime.date) -> int:
    """Whole years from ``birth`` to ``day``."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def birth_date(
    nik: str, on: datetime.date, registered: datetime.date | None = None
) -> datetime.date:
    """When a valid NIK's holder was born.

    The NIK carries the day and month of birth, the year in two digits only:
    the population register's date (``registered``) has the century, and is
    taken when it has the NIK's day and month (another day is not this
    NIK's record). Else the NIK read as of ``on``, the holder born by then:
    the 2000s unless that is after ``on``, else the 1900s - ``05-05-26`` is
    1926 for a death on 1 March 2026 - or, born after ``on`` whichever the
    century, the earlier.
    """
    readings, on = _birth_readings(nik), _as_date(on)
    if registered is not None and any(
        (registered.month, registered.day) == (reading.month, reading.day)
        for reading in readings
    ):
        return registered
    return _born_by(readings, on) or readings[0]


def age_of(nik: str, today: datetime.date) -> int:
    """A valid NIK's holder's age on ``today``, by the birth date it carries."""
    return age_on(parse_nik(nik, today=today).birth_date, today)


def validate_kk(value: str, *, field: str = "kk_number") -> str:
    """Validate a No. KK and return it as a normalized 16-digit string.

    Raises :class:`InvalidIdentityNumber` (codes ``kk.digits``, ``kk.length``,
    ``kk.province``, ``kk.date``, ``kk.serial``).
    """
    label = _label(KK_LABEL, field, "kk_number")
    kk = _require_16_digits(value, field=field, prefix="kk", label=label)
    _require_province(kk, field=field, prefix="kk", label=label)
    day, month, yy = int(kk[6:8]), int(kk[8:10]), int(kk[10:12])
    # The issue date has no +40 rule; a real date in either century is
    # accepted because the issue date is not otherwise constrained here.
    if all(_safe_date(year, month, day) is None for year in (2000 + yy, 1900 + yy)):
        raise InvalidIdentityNumber(
            field,
            "kk.date",
            f"{label.id} memuat tanggal penerbitan yang tidak sah.",
            f"{label.en} has an invalid issue date.",
        )
    _require_serial(kk, field=field, prefix="kk", label=label)
    return kk
