"""The PRR backlog: parsing the Dinas' Print Ready Record export and the
aging report. Plain Python, no I/O.

The export is CSV (UTF-8, comma-separated, a header row; docs/prr-import.md)
with the columns ``COLUMNS``. Each row is checked on its own: a bad row is
reported with its row number and the reason, and the good rows go on. A row
is a line (``\n``, ``\r\n`` or a lone ``\r`` ends it), numbered as an editor
or a spreadsheet shows the file (the header is row 1, a blank line is a row
too): no cell may hold a line break, so a quote opened and not closed on its
line is that row's fault, never a value swallowing the rows after it (the
csv module read the rest of the file as one cell: six rows answered as two).
A NIK twice in one file is one record (the first row, given the phone of a
later row when it has none); across imports the store keeps one record per
NIK.

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
import re
from dataclasses import dataclass
from typing import Callable

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validate

from shared.errors import (REPEATED_COLUMN, Msg, ValidationFailed, flatten_field_errors,
                           localize)
from shared.fields import RT_RW, IsoDate, MobilePhone, Nik, PersonName, PrintedText
from shared.masking import mask_identity
from shared.nik import ADULT_AGE
from shared.paging import Cursor, PageLimit

COLUMNS = ("nik", "full_name", "kecamatan_code", "recorded_on", "street", "rt", "rw",
           "kelurahan_code", "postal_code", "phone")
REQUIRED_COLUMNS = ("nik", "full_name", "kecamatan_code", "recorded_on", "street",
                    "kelurahan_code")
# what an import did with its records (``PrrStore.import_prr``)
IMPORT_COUNTS = ("imported", "phone_added", "already_known", "waiting_for_phone")
IMPORTS_PAGE, MAX_IMPORTS_PAGE = 20, 100  # ``GET /api/v1/operator/prr-imports``
AGE_BANDS = (("0-30", 30), ("31-90", 90), ("91-365", 365), (">365", None))
# KTP-el recording (perekaman) began in 2011 (Perpres 26/2009 as amended by
# 35/2010): an earlier date is a wrong cell (0001-01-01, 1900-01-01). It
# also covers "recorded before the holder was born": a NIK's two-digit year
# puts the birth in 19yy or 20yy, and 19yy is always before 2011
KTP_EL_RECORDING_BEGAN = datetime.date(2011, 1, 1)
# the longest row an export can hold is ~600 characters (``PrrRowSchema``'s
# limits); a longer line is no row, and is not handed to the csv module
# (whose cells stop at 128 KiB, ``csv.field_size_limit()``)
MAX_ROW_CHARS = 4096
# bad (and repeated) rows an answer lists; ``bad_row_count`` and
# ``repeated_count`` count them all (200 KB of junk lines answered 41 MB)
LISTED_ROWS = 100
ROW = "_row"  # a fault of the row, not of one of its cells
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_LINE_BREAK_BYTES = re.compile(rb"\r\n|\r|\n")
UNCLOSED_QUOTE = Msg(
    'Tanda kutip (") dibuka tetapi tidak ditutup pada baris ini; sel tidak boleh memuat '
    "baris baru.",
    'A quote (") is opened and not closed on this row; no cell may hold a line break.')
ROW_TOO_LONG = Msg(f"Baris lebih dari {MAX_ROW_CHARS} karakter: bukan baris PRR.",
                   f"Row longer than {MAX_ROW_CHARS} characters: no PRR row.")
NO_LINE_END = Msg(
    "Baris terakhir tidak diakhiri ganti baris: berkas mungkin terpotong di tengah baris ini. "
    "Bila baris ini lengkap, akhiri berkas dengan ganti baris dan unggah lagi.",
    "The last row does not end with a line break: the file may be cut inside this row. If "
    "the row is whole, end the file with a line break and upload it again.")
# why a record's KTP-el is not printed, by reason code (intake's
# ``prr_record_refused``): the holder's age, the holder's death, an
# application of the holder's own
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
    "active_application": Msg(
        "NIK ini sudah mempunyai permohonan KTP-el yang aktif (misalnya diajukan daring): PRR "
        "tidak membuat permohonan kedua. Bila permohonan itu ditolak atau dibatalkan, unggah "
        "lagi baris ini.",
        "The NIK already has an active KTP-el application (made online, say): the PRR makes "
        "no second one. Should that application be rejected or cancelled, upload this row "
        "again."),
}


# the refusals a later import of the NIK takes back (``imported_again``): the
# holder may be 17 by then, the other application ended
REFUSED_FOR_NOW = frozenset({"under_age", "active_application"})
# the refusals that leave the backlog: nothing is to be printed. A record
# refused ``active_application`` stays: its card is not printed yet, and
# leaves as any other once a KTP-el is printed for the NIK
OFF_THE_BACKLOG = ("deceased", "under_age")


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
    bad_rows: list[dict]             # {"row", "field", "message"}: of the first LISTED_ROWS
    repeated: list[dict]             # {"row", "same_as_row"}: a NIK already in this file
    rows: int = 0                    # data rows read (blank lines not counted)
    bad_row_count: int = 0           # bad rows, all of them
    repeated_count: int = 0          # repeated rows, all of them
    lang: str = "id"

    def refuse(self, row: int, problems: list[tuple[str, str]]) -> None:
        self.bad_row_count += 1
        if self.bad_row_count <= LISTED_ROWS:
            self.bad_rows += [{"row": row, "field": field, "message": localize(message,
                                                                               self.lang)}
                              for field, message in problems]

    def repeat(self, row: int, same_as_row: int) -> None:
        self.repeated_count += 1
        if self.repeated_count <= LISTED_ROWS:
            self.repeated.append({"row": row, "same_as_row": same_as_row})


class NotAPrrFile(ValueError):
    """Not UTF-8, no header, or required columns missing: nothing in it can
    be read. ``message`` says which, for the operator."""

    def __init__(self, message: Msg):
        super().__init__(message.en)
        self.message = message


def read_text(body: bytes) -> str:
    """The body as text (UTF-8, a BOM dropped); ``NotAPrrFile`` naming the
    first byte that is not UTF-8, and its line."""
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = len(_LINE_BREAK_BYTES.findall(body, 0, exc.start)) + 1
        raise NotAPrrFile(Msg(
            f"Bukan UTF-8: byte ke-{exc.start + 1} (baris {line}) tidak terbaca; simpan "
            "berkas sebagai CSV UTF-8.",
            f"Not UTF-8: byte {exc.start + 1} (line {line}) does not read; save the file as "
            "CSV UTF-8.")) from None


def _lines(text: str):
    """(row number, line, whether a line break ends it), lazily: a body of
    8 MiB of short lines held as a list was hundreds of MB."""
    start, number = 0, 0
    for number, end in enumerate(_LINE_BREAK.finditer(text), start=1):
        yield number, text[start:end.start()], True
        start = end.end()
    if start < len(text):
        yield number + 1, text[start:], False


def _open_quote_cell(line: str) -> int:
    """The cell (0-based) where the quote left open on ``line`` opens."""
    cell, quoted, opened = 0, False, 0
    for char in line:
        if char == '"':
            quoted = not quoted
            opened = cell if quoted else opened
        elif char == "," and not quoted:
            cell += 1
    return opened


def _cells(line: str) -> list[str]:
    return next(csv.reader((line,)))


def _line_problem(line: str, ended: bool, header: list[str]) -> tuple[str, Msg] | None:
    """What makes a line no row at all, before its cells are read one by one:
    a truncated file's last line, a quote left open, the wrong cell count."""
    if not ended:
        return ROW, NO_LINE_END
    if line.count('"') % 2:
        column = header[index] if (index := _open_quote_cell(line)) < len(header) else ROW
        return (column if column in COLUMNS else ROW), UNCLOSED_QUOTE
    return None


def _count_problem(cells: list[str], header: list[str]) -> tuple[str, Msg] | None:
    """A row of fewer cells than the header (cut, or a cell lost), or more
    that hold something (an unquoted comma in a street shifting the rest)."""
    if len(cells) < len(header) or any(cell.strip() for cell in cells[len(header):]):
        return ROW, Msg(f"Baris memuat {len(cells)} sel, baris judul {len(header)} kolom "
                        "(koma tanpa tanda kutip, atau sel hilang?).",
                        f"The row has {len(cells)} cells, the header {len(header)} columns "
                        "(an unquoted comma, or a missing cell?).")
    return None


def parse(text: str, today: datetime.date, lang: str = "id", *,
          text_problem: Callable[[str], Msg | None]) -> ParsedFile:
    """``text_problem``: what no field may hold (``shared.http.text_problem``:
    control characters, line breaks), checked as in every other body - a
    jemput-bola CSV row's cells too. Pure and long-running (60,000 rows):
    the import runs it off eventlet's hub."""
    lines = _lines(text)
    header = []
    for _, line, _ in lines:
        if line.strip():
            header = [name.strip().lower()
                      for name in _cells(line.lstrip("\ufeff")[:MAX_ROW_CHARS])]
            break
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        raise NotAPrrFile(Msg(
            f"Bukan berkas PRR: baris judul tanpa kolom wajib {', '.join(missing)} (CSV UTF-8 "
            f"dengan baris judul dan kolom {', '.join(REQUIRED_COLUMNS)}).",
            f"Not a PRR file: the header lacks the required {', '.join(missing)} (UTF-8 CSV "
            f"with a header row and the columns {', '.join(REQUIRED_COLUMNS)})."))
    if twice := [column for column in COLUMNS if header.count(column) > 1]:
        # which of the two cells counts would be a guess (a jemput-bola CSV's rule)
        raise ValidationFailed({column: [REPEATED_COLUMN] for column in twice})
    parsed, first_row, schema = ParsedFile([], [], [], lang=lang), {}, PrrRowSchema()
    for row_number, line, ended in lines:
        if not line.strip():
            continue
        if len(line) > MAX_ROW_CHARS:
            parsed.rows += 1
            parsed.refuse(row_number, [(ROW, ROW_TOO_LONG)])
            continue
        cells = _cells(line)
        if not any(cell.strip() for cell in cells):
            continue
        parsed.rows += 1
        if problem := _line_problem(line, ended, header) or _count_problem(cells, header):
            parsed.refuse(row_number, [problem])
            continue
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
            parsed.refuse(row_number, [(field, problems[field][0])
                                       for field in sorted(problems, key=_column_order)])
        elif problems := _row_problems(record, today):
            parsed.refuse(row_number, problems)
        elif (first := first_row.get(record["nik"])) is not None:
            parsed.repeat(row_number, first["row"])
            if first["phone"] is None:  # the backlog's later row may bring it
                first["phone"] = record["phone"]
        else:
            first_row[record["nik"]] = {**record, "row": row_number}
            parsed.records.append(first_row[record["nik"]])
    return parsed


def _column_order(field: str) -> int:
    return COLUMNS.index(field) if field in COLUMNS else len(COLUMNS)


def _row_problems(record: dict, today: datetime.date) -> list[tuple[str, Msg]]:
    """What a row whose columns each read well still gets wrong, every one."""
    problems = []
    if record["recorded_on"] > today:
        problems.append(("recorded_on", Msg("Tanggal perekaman di masa depan.",
                                            "Recording date in the future.")))
    elif record["recorded_on"] < KTP_EL_RECORDING_BEGAN:
        problems.append(("recorded_on", Msg(
            f"Tanggal perekaman sebelum perekaman KTP-el dimulai ({KTP_EL_RECORDING_BEGAN.year}).",
            f"Recording date before KTP-el recording began ({KTP_EL_RECORDING_BEGAN.year}).")))
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
    """A row for a NIK whose record intake refused as ``under_age`` or
    ``active_application``: the holder may be 17 by now (the operator
    uploads it again from the 17th birthday, docs/prr-import.md), the other
    application rejected or cancelled, so the row is taken as a new record -
    stored in place of the refused one and announced, intake screening it
    again. A death stands: the row is one more ``already_known``."""
    return stored.get("refused") in REFUSED_FOR_NOW


def refused_view(record: dict, lang: str) -> dict:
    """A stored record intake refused (``prr_record_refused``), as the operator
    sees it: the import and row that announced it, the NIK masked (the row
    finds the rest)."""
    return {"import_id": record.get("import_id"), "row": record.get("row"),
            "nik": mask_identity(record["_id"]),
            "reason": record["refused"],
            "message": localize(REFUSALS[record["refused"]], lang),
            "refused_at": record["refused_at"].isoformat()}


class ImportsQuerySchema(Schema):
    """``GET /api/v1/operator/prr-imports`` query parameters."""

    class Meta:
        unknown = RAISE

    limit = PageLimit(IMPORTS_PAGE, MAX_IMPORTS_PAGE)
    cursor = Cursor()


def import_view(stored: dict, full: bool = False) -> dict:
    """A stored import as the operator sees it: its counts (null for one an
    earlier version stored; the records' counts also while it runs or when
    it was cut short, ``finished_at`` null), and ``full``: the bad and
    repeated rows the upload answered (in the upload's language)."""
    view = {"import_id": stored["_id"], "imported_at": stored["imported_at"].isoformat(),
            "finished_at": stored["finished_at"].isoformat() if stored.get("finished_at")
            else None,
            "operator": stored.get("operator"),
            **{key: stored.get(key) for key in ("rows", *IMPORT_COUNTS, "bad_row_count",
                                                "repeated_count")}}
    if full:
        view.update({key: stored.get(key, []) for key in ("bad_rows", "repeated_in_file")})
    return view


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
