"""Indonesian administrative-area codes (kode wilayah) lookup.

Reads ``shared/data/wilayah.csv`` (see ``shared/data/README.md`` for source
and format) into plain dicts. Codes may be given dotted (``36.73.04``) or as
bare digits (``367304``); internally everything is keyed by bare digits
because that is the form embedded in NIK and No. KK numbers, and the digit
count alone identifies the level (2, 4, 6 or 10 digits).

Use :func:`load_wilayah` rather than constructing :class:`Wilayah` directly so
the CSV is parsed once per process. Postal codes (``shared/data/kodepos.csv``,
one per kelurahan) are a separate file that only the courier needs:
``load_wilayah().with_postal_codes(load_postal_codes())``.
"""

from __future__ import annotations

import csv
import functools
from pathlib import Path

# Resolved from this file, never from the environment, so the lookup cannot
# be silently pointed at a different dataset.
DATA_PATH: Path = Path(__file__).resolve().parent / "data" / "wilayah.csv"
POSTAL_CODES_PATH: Path = DATA_PATH.with_name("kodepos.csv")

PROVINCE_LEN = 2
KABKOTA_LEN = 4
KECAMATAN_LEN = 6
KELURAHAN_LEN = 10


def normalize_code(code: object) -> str | None:
    """Return ``code`` as bare ASCII digits, or ``None`` if it is malformed.

    Accepts ``"36.73.04"``, ``"367304"`` and surrounding whitespace. Anything
    that is not a string of digits and dots yields ``None`` so that lookups
    simply miss instead of raising on user input.
    """
    if not isinstance(code, str):
        return None
    digits = code.strip().replace(".", "")
    if not digits or not (digits.isascii() and digits.isdigit()):
        return None
    return digits


class Wilayah:
    """In-memory index of province, kab/kota, kecamatan and kelurahan names.

    All lookups return ``None`` for unknown or malformed codes; validation
    policy (error vs. warning) belongs to the caller, e.g. ``shared.nik``.
    """

    def __init__(self, names: dict[str, str],
                 postal_codes: dict[str, str] | None = None) -> None:
        """Build the index from a mapping of bare-digit code -> name (and,
        optionally, bare-digit kelurahan code -> postal code)."""
        self._names: dict[str, str] = names
        self._postal_codes: dict[str, str] = postal_codes or {}
        # Only kelurahan get a child index: it is the one listing callers need
        # (address forms), and it keeps memory to one small list per kecamatan.
        self._kelurahan_by_kecamatan: dict[str, list[str]] = {}
        for code in names:
            if len(code) == KELURAHAN_LEN:
                self._kelurahan_by_kecamatan.setdefault(
                    code[:KECAMATAN_LEN], []
                ).append(code)
        for codes in self._kelurahan_by_kecamatan.values():
            codes.sort()

    @classmethod
    def from_csv(cls, path: Path) -> Wilayah:
        """Parse a ``code,name,level`` CSV file (header row required)."""
        # A few upstream names carry a trailing space; stripped so that
        # equality checks and display are not affected by it.
        return cls(_read_codes(path, "name"))

    def with_postal_codes(self, postal_codes: dict[str, str]) -> Wilayah:
        """The same regions, answering ``postal_code`` from ``postal_codes``."""
        return Wilayah(self._names, postal_codes)

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, code: object) -> bool:
        return self.name(code) is not None

    def name(self, code: object) -> str | None:
        """Name of the area at any level, or ``None`` if unknown."""
        digits = normalize_code(code)
        return None if digits is None else self._names.get(digits)

    def _name_at(self, code: object, length: int) -> str | None:
        digits = normalize_code(code)
        if digits is None or len(digits) != length:
            return None
        return self._names.get(digits)

    def province(self, code2: object) -> str | None:
        """Province name for a 2-digit code such as ``"36"``."""
        return self._name_at(code2, PROVINCE_LEN)

    def kabkota(self, code4: object) -> str | None:
        """Kabupaten/kota name for ``"3673"`` or ``"36.73"``."""
        return self._name_at(code4, KABKOTA_LEN)

    def kecamatan(self, code6: object) -> str | None:
        """Kecamatan name for ``"367304"`` or ``"36.73.04"``."""
        return self._name_at(code6, KECAMATAN_LEN)

    def kelurahan(self, code10: object) -> str | None:
        """Kelurahan/desa name for ``"3673041008"`` or ``"36.73.04.1008"``."""
        return self._name_at(code10, KELURAHAN_LEN)

    def area(self, code10: object) -> dict[str, str | None]:
        """The names of a kelurahan/desa and the areas above it, as an
        address spells them out: ``kelurahan``, ``kecamatan``, ``kabkota``,
        ``province`` (each ``None`` when unknown)."""
        digits = normalize_code(code10) or ""
        return {"kelurahan": self.kelurahan(digits),
                "kecamatan": self.kecamatan(digits[:KECAMATAN_LEN]),
                "kabkota": self.kabkota(digits[:KABKOTA_LEN]),
                "province": self.province(digits[:PROVINCE_LEN])}

    def postal_code(self, code10: object) -> str | None:
        """Postal code of a kelurahan/desa, or ``None`` if unknown (or not loaded)."""
        digits = normalize_code(code10)
        return None if digits is None else self._postal_codes.get(digits)

    def kelurahan_in(self, kecamatan_code: object) -> list[tuple[str, str]]:
        """Kelurahan/desa of a kecamatan as ``(10-digit code, name)`` pairs.

        Sorted by code; empty for an unknown or malformed kecamatan code.
        """
        digits = normalize_code(kecamatan_code)
        if digits is None or len(digits) != KECAMATAN_LEN:
            return []
        codes = self._kelurahan_by_kecamatan.get(digits, [])
        return [(code, self._names[code]) for code in codes]


def _read_codes(path: Path, column: str) -> dict[str, str]:
    """bare-digit ``code`` -> ``column`` (stripped) of a CSV with a header row."""
    values: dict[str, str] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        rows = csv.reader(handle)
        header = next(rows, [])
        code_col, value_col = header.index("code"), header.index(column)
        for row in rows:
            code = normalize_code(row[code_col]) if row else None
            if code is not None:
                values[code] = row[value_col].strip()
    return values


@functools.lru_cache(maxsize=1)
def load_wilayah() -> Wilayah:
    """Return the process-wide :class:`Wilayah`, parsing the CSV on first use."""
    return Wilayah.from_csv(DATA_PATH)


@functools.lru_cache(maxsize=1)
def load_postal_codes() -> dict[str, str]:
    """bare-digit kelurahan code -> postal code (``shared/data/kodepos.csv``), parsed once."""
    return _read_codes(POSTAL_CODES_PATH, "postal_code")
