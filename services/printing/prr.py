"""The PRR backlog: parsing the Dinas' Print Ready Record export and the
aging report. Plain Python, no I/O.

The export is CSV (UTF-8, comma-separated, a header row; docs/prr-import.md)
with the columns ``COLUMNS``. Each row is checked on its own: a bad row is
reported with its row number and the reason, and the good rows go on. Rows
are numbered as a spreadsheet shows the file (the header is row 1, a blank
line is a row too, a quoted value over several lines is one row), so an
operator finds the row the report names. A NIK twice in one file is one record (the first row);
across imports the store keeps one record per NIK.

A record is for a first KTP-el: intake, which asks the population register,
makes no application of a record whose holder is not 17 yet (``under_age``:
a married minor may have one, but the export has no marital status) or is
recorded as deceased (``prr_record_refused``; ``REFUSALS`` tells the
operator why; a later upload of a record refused ``under_age`` imports it
anew, ``imported_again``). Not here: a NIK carries its holder's birth year
in two digits, so ``...150126...`` is a child born in 2026 or a citizen
born in 1926 - only the register can say which.
"""

from __future__ import annotations

import csv
import datetime
import io
from dataclasses import dataclass
from typing import Callable

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from shared.errors import (REPEATED_COLUMN, Msg, ValidationFailed, flatten_field_errors,
                           localize)
from shared.fields import RT_RW, IsoDate, MobilePhone, Nik, PersonName, PrintedText
from shared.masking import mask_identity
from shared.nik import ADULT_AGE

COLUMNS = ("nik", "full_name", "kecamatan_code", "recorded_on", "street", "rt", "rw",
           "kelurahan_code", "postal_code", "phone")
REQUIRED_COLUMNS = ("nik", "full_name", "kecamatan_code", "recorded_on", "street",
                    "kelurahan_code")
AGE_BANDS = (("0-30", 30), ("31-90", 90), ("91-365", 365), (">365", None))
# why a record's KTP-el is not printed, by reason code (intake's
# ``prr_record_refused``): the holder's age, the holder's death
REFUSALS = {
    "under_age": Msg(
        f"Belum berusia {ADULT_AGE} tahun menurut tanggal lahir (data kependudukan, atau NIK "
        "bila data kependudukan tidak mengenalnya): KTP-el pertama tidak dicetak dari PRR "
        "(yang sudah kawin mengajukan KTP-el dengan status kawin).",
        f"Under {ADULT_AGE} by the birth date (the population register's, or the NIK's when "
        "the register does not know it): no first KTP-el is printed from the PRR (a married "
        "citizen applies for one, stating the marriage)."),
    "deceased": Msg(
        "Tercatat telah meninggal dunia (akta kematian yang sudah diverifikasi atau data "
        "kependudukan): KTP-el tidak dicetak.",
        "Recorded as deceased (a verified death certificate or the population register): "
        "no KTP-el is printed."),
}


# the refusals a later import of the NIK takes back (``imported_again``)
REFUSED_UNTIL_OF_AGE = frozenset({"under_age"})


def _digits(count: int) -> validate.Regexp:
    return validate.Regexp(rf"^\d{{{count}}}$", error=Msg(f"Harus {count} angka.",
                                                          f"Must be {count} digits."))


class PrrRowSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    nik = Nik(required=True)
    full_name = PersonName(required=True, max=100)  # printed on the card
    kecamatan_code = fields.String(required=True, validate=_digits(6))
    recorded_on = IsoDate(required=True)
    street = PrintedText(required=True, min=3, max=200)  # on the Pos label: not blank
    rt = fields.String(load_default=None, validate=RT_RW)
    rw = fields.String(load_default=None, validate=RT_RW)
    kelurahan_code = fields.String(required=True, validate=_digits(10))
    postal_code = fields.String(load_default=None, validate=_digits(5))
    phone = MobilePhone(load_default=None)


@dataclass
class ParsedFile:
    records: list[dict]              # good rows, one per NIK, with their row number
    bad_rows: list[dict]             # {"row", "field", "message"}
    repeated: list[dict]             # {"row", "same_as_row"}: a NIK already in this file
    rows: int = 0                    # data rows read (blank lines not counted)


class NotAPrrFile(ValueError):
    """No header, required columns missing, or a value too long for the csv
    module (``csv.field_size_limit()``, 128 KiB): nothing in it can be read."""


def _numbered_rows(text: str):
    """(row number, cells) of every row with something in it. csv.reader, not
    DictReader: DictReader skips blank lines without counting them, and its
    line numbers count each line of a quoted value."""
    try:
        for number, cells in enumerate(csv.reader(io.StringIO(text)), start=1):
            if any(cell.strip() for cell in cells):
                yield number, cells
    except csv.Error as exc:
        raise NotAPrrFile(str(exc)) from exc


def parse(text: str, today: datetime.date, lang: str = "id", *,
          text_problem: Callable[[str], Msg | None]) -> ParsedFile:
    """``text_problem``: what no field may hold (``shared.http.text_problem``:
    control characters, line breaks), checked as in every other body - a
    jemput-bola CSV row's cells too."""
    numbered = _numbered_rows(text)
    _, header_cells = next(numbered, (None, []))
    header = [name.strip().lower() for name in header_cells]
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        raise NotAPrrFile(", ".join(missing))
    if twice := [column for column in COLUMNS if header.count(column) > 1]:
        # which of the two cells counts would be a guess (a jemput-bola CSV's rule)
        raise ValidationFailed({column: [REPEATED_COLUMN] for column in twice})
    parsed, first_row, schema = ParsedFile([], [], []), {}, PrrRowSchema()
    for row_number, cells in numbered:
        parsed.rows += 1
        values = {key: value.strip() or None for key, value in zip(header, cells)
                  if key in COLUMNS}
        problems = {key: [problem] for key, value in values.items()
                    if value is not None and (problem := text_problem(value))}
        try:
            record = schema.load({key: value for key, value in values.items()
                                  if value is not None and key not in problems})
        except ValidationError as exc:
            problems = {**flatten_field_errors(exc.messages), **problems}
        if problems:
            parsed.bad_rows += [{"row": row_number, "field": field,
                                 "message": localize(problems[field][0], lang)}
                                for field in sorted(problems, key=_column_order)]
            continue
        if problems := _row_problems(record, today):
            parsed.bad_rows += [{"row": row_number, "field": field,
                                 "message": localize(message, lang)}
                                for field, message in problems]
        elif record["nik"] in first_row:
            parsed.repeated.append({"row": row_number, "same_as_row": first_row[record["nik"]]})
        else:
            first_row[record["nik"]] = row_number
            parsed.records.append({**record, "row": row_number})
    return parsed


def _column_order(field: str) -> int:
    return COLUMNS.index(field) if field in COLUMNS else len(COLUMNS)


def _row_problems(record: dict, today: datetime.date) -> list[tuple[str, Msg]]:
    """What a row whose columns each read well still gets wrong, every one."""
    problems = []
    if record["recorded_on"] > today:
        problems.append(("recorded_on", Msg("Tanggal perekaman di masa depan.",
                                            "Recording date in the future.")))
    if not record["kelurahan_code"].startswith(record["kecamatan_code"]):
        problems.append(("kelurahan_code", Msg("Kelurahan tidak berada di kecamatan tersebut.",
                                               "The kelurahan is not in that kecamatan.")))
    return problems


def event_payload(record: dict, prr_record_id: str) -> dict:
    """``prr_record_imported`` for a record with a phone (Pos and the SMS need it)."""
    return {"nik": record["nik"], "full_name": record["full_name"],
            "recorded_on": record["recorded_on"].isoformat(),
            "address": {key: record[key] for key in ("street", "rt", "rw", "kelurahan_code",
                                                     "postal_code")},
            "phone": record["phone"], "prr_record_id": prr_record_id}


def announcement(record: dict, prr_record_id: str) -> tuple[str, dict]:
    """What a new record tells intake. With a phone: the record, to be
    printed and sent by Pos. Without one: only that the NIK is recorded
    (no second recording for it), until an import brings its phone
    (``phone_arrived``)."""
    if record["phone"] is not None:
        return "prr_record_imported", event_payload(record, prr_record_id)
    return "prr_record_imported_without_phone", {
        "nik": record["nik"], "recorded_on": record["recorded_on"].isoformat(),
        "prr_record_id": prr_record_id}


def phone_arrived(record: dict, stored: dict) -> bool:
    """A row for a NIK already stored brings the phone its record waited for:
    the record is announced now, as a new one with a phone would have been.
    Any other row for a known NIK changes nothing (one record per NIK). A
    record an earlier version stored has no ``announced``: taken as announced
    (what it was is unknown; the guarded update matches only ``False``)."""
    return record["phone"] is not None and not stored.get("announced", True)


def imported_again(stored: dict) -> bool:
    """A row for a NIK whose record intake refused as ``under_age``: the
    holder may be 17 by now (the operator uploads it again from the 17th
    birthday, docs/prr-import.md), so the row is taken as a new record -
    stored in place of the refused one and announced, intake screening it
    again. Any other refusal stands (a holder recorded deceased stays so):
    the row is one more ``already_known``."""
    return stored.get("refused") in REFUSED_UNTIL_OF_AGE


def refused_view(record: dict, lang: str) -> dict:
    """A stored record intake refused (``prr_record_refused``), as the operator
    sees it: its row in the import, the NIK masked (the row finds the rest)."""
    return {"row": record.get("row"), "nik": mask_identity(record["_id"]),
            "reason": record["refused"],
            "message": localize(REFUSALS[record["refused"]], lang),
            "refused_at": record["refused_at"].isoformat()}


def age_band(recorded_on: datetime.date, today: datetime.date) -> str:
    age = (today - recorded_on).days
    return next(name for name, upto in AGE_BANDS if upto is None or age <= upto)


def aging(records, today: datetime.date) -> list[dict]:
    """The backlog (records not printed yet) by kecamatan and age band."""
    table: dict[str, dict[str, int]] = {}
    for record in records:
        row = table.setdefault(record["kecamatan_code"], {name: 0 for name, _ in AGE_BANDS})
        row[age_band(datetime.date.fromisoformat(record["recorded_on"]), today)] += 1
    return [{"kecamatan_code": code, "bands": bands, "total": sum(bands.values())}
            for code, bands in sorted(table.items())]
