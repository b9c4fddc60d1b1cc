"""The officers' channels: jemput-bola batches from a kelurahan and next-day
KTP-el requests from a kecamatan. Plain Python, no nameko.

A batch row is a single submission's body (without ``channel``) plus the
applicant's ``address``; a CSV row is the same with dotted column names
(``applicant.nik``, ``details.reason``, ``address.kelurahan_code``;
a number as a segment makes a list: ``details.witnesses.0.nik``). Each row is
checked on its own: the submission schema and ``screening`` (the rules
with the population register, the first-card rule), exactly what a single
submission goes through, so a document type added there is accepted here as it is. Which
kelurahan a row belongs to is its own address's code, not the officer's.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
import json
import re
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from marshmallow import ValidationError

from shared.clock import utcnow
from shared.errors import (REPEATED_COLUMN, DomainError, Msg, ValidationFailed, field_label,
                           flatten_field_errors)
from shared.events import manifest_id
from shared.offices import DINAS

from .domain import TRACKING_ALPHABET, new_application, request_digests
from .exceptions import BatchIdReused
from .request_fields import FIRST_CARD_ONLY, NEXT_DAY_DELIVERY, OFFICERS_PLACE, first_card
from .rules import Checked
from .schemas import AddressSchema, ApplicationRequestSchema

if TYPE_CHECKING:
    from shared.auth import Officer

    from .screening import Screening

MAX_ROWS = 1000
BATCH_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
# CSV column -> needs a sub-path below it
SECTIONS = {"document_type": False, "applicant": True, "details": True, "delivery": True,
            "address": True}
_SEGMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d{1,3}")


class OutOfScope(DomainError):
    status = 403
    code = "out_of_scope"


class NotStored(DomainError):
    """A row of a batch whose storing was cut short (its request died, or
    ran past ``STORING_SECONDS``) before the row was stored: it was never
    checked to the end, and the batch id is done - a new one takes it."""

    status = 409
    code = "not_stored"

    def __init__(self):
        super().__init__(Msg("Baris ini tidak tersimpan: penyimpanan batch terputus.",
                             "This row was not stored: storing the batch was cut short."),
                         {"_row": [Msg("Tidak tersimpan (penyimpanan batch terputus): kirim "
                                       "baris ini lagi dengan batch id baru.",
                                       "Not stored (storing the batch was cut short): send "
                                       "this row again under a new batch id.")]})


# A batch's rows are stored within STORING_SECONDS of its start (``start_batch``):
# a request still storing then stops and finishes the batch with what it
# stored (``api_batches.store_batch``), so a batch left "processing" longer
# than that - plus one row's store begun just before - has no request
# storing it any more: intake was killed mid-batch, or lost the database.
# 0.6 s a row at MAX_ROWS (600 s) is twice the slowest measured (docs/api.md:
# 500 rows in 133 s at a load average of 15, checks included).
STORING_SECONDS = MAX_ROWS * 0.6
# one row's store (``store.submit``): its held-subjects read, its insert and,
# on a duplicate key, the earlier submission's read - each within the
# database's operation deadline (MONGO_TIMEOUT_MS)
ROW_OPERATIONS = 3
# the clocks of two intake instances (one started the batch, another judges it)
CLOCK_MARGIN_SECONDS = 60


def abandoned_after(operation_seconds: float) -> datetime.timedelta:
    """How long after its start a batch still processing was left by its
    request for good (``operation_seconds``: the store's operation deadline)."""
    return datetime.timedelta(seconds=STORING_SECONDS + ROW_OPERATIONS * operation_seconds
                              + CLOCK_MARGIN_SECONDS)


def abandoned(batch: dict | None, now: datetime.datetime, operation_seconds: float) -> bool:
    """A batch still processing that its request left for good."""
    return batch is not None and batch["status"] == "processing" and \
        batch["created_at"] < now - abandoned_after(operation_seconds)


def storing_until(batch: dict) -> datetime.datetime:
    """When a request storing ``batch``'s rows stops (``STORING_SECONDS``)."""
    return batch["created_at"] + datetime.timedelta(seconds=STORING_SECONDS)


@dataclass
class Row:
    number: int  # 1 = the first application (JSON: the list's first item)
    body: object
    line: int | None = None  # CSV: the file line it starts on (header = line 1)
    problems: dict = field(default_factory=dict)  # found while parsing


@dataclass(frozen=True)
class OfficerRequest:
    request: dict  # the loaded submission body, with the applicant's ``address``
    checked: Checked  # what ``rules.check_application`` found
    address: dict | None


def check_batch_id(batch_id: str) -> str:
    if not BATCH_ID.fullmatch(batch_id):
        raise ValidationFailed({"batch_id": [Msg(
            "1-64 karakter: huruf, angka, titik, garis bawah atau tanda hubung.",
            "1-64 characters: letters, digits, dot, underscore or hyphen.")]})
    return batch_id


def batch_key(officer: Officer, batch_id: str) -> str:
    """Batch ids are the officer's own: two officers may both have a "RW05-1"."""
    return f"{officer}/{batch_id}"


def new_manifest_id(kelurahan_code: str, today: datetime.date) -> str:
    """``JB-3673041010-20200715-7KQ2MX``: the kelurahan and day, readable on paper."""
    return manifest_id(kelurahan_code, today,
                       "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(6)))


def new_batch(officer: Officer, batch_id: str, rows: list[Row], today: datetime.date) -> dict:
    return {"_id": batch_key(officer, batch_id), "batch_id": batch_id,
            "officer": str(officer), "kelurahan_code": officer.scope,
            "manifest_id": new_manifest_id(officer.scope, today), "rows": len(rows),
            "content": batch_content(rows), "status": "processing", "created_at": utcnow(),
            # a CSV row's file line, for a reply made without its rows (``NotStored``)
            **({"lines": [row.line for row in rows]} if rows[0].line is not None else {})}


def batch_content(rows: list[Row]) -> str:
    """A digest of a batch's rows as read - each row's number, body and what
    reading it found (not its CSV line: a blank line more changes nothing;
    JSON and CSV alike, whatever the spacing)."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update(json.dumps([row.number, row.body, row.problems], sort_keys=True,
                                 default=str, ensure_ascii=False).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def same_rows(batch: dict, rows: list[Row]) -> None:
    """A batch id sent again carries the rows stored under it: the first
    reply, or the rest of a batch cut short; other rows are a
    ``BatchIdReused`` (a batch from before digests were kept: taken as the same)."""
    if batch.get("content") not in (None, batch_content(rows)):
        raise BatchIdReused(batch["rows"])


def rows_known(batch: dict) -> list[Row]:
    """A batch's rows as its record knows them: their numbers and CSV lines."""
    lines = batch.get("lines") or [None] * batch["rows"]
    return [Row(number, None, lines[number - 1]) for number in range(1, batch["rows"] + 1)]


def json_rows(applications: list) -> list[Row]:
    return [Row(number, body) for number, body in enumerate(applications, start=1)]


def csv_rows(data: bytes) -> list[Row]:
    """Rows of a CSV upload (UTF-8, a header line of dotted column names, comma
    or semicolon separated - Excel with Indonesian settings saves semicolons).
    Empty cells are left out, ``true``/``false`` are booleans (``csv_value``);
    blank lines are skipped. A problem with the file as a whole is a
    ``ValidationFailed``; a row's own is kept on it."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationFailed({"_body": [Msg("Berkas CSV harus UTF-8.",
                                              "The CSV file must be UTF-8.")]}) from None
    first_line = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""),
                        delimiter=";" if first_line.count(";") > first_line.count(",") else ",")
    rows: list[Row] = []
    try:
        columns = [name.strip() for name in next(reader, [])]
        check_columns(columns)
        line = reader.line_num
        for cells in reader:
            start, line = line + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if len(rows) == MAX_ROWS:
                raise ValidationFailed({"_body": [TOO_MANY_ROWS]})
            row = Row(len(rows) + 1, None, start)
            if len(cells) > len(columns):
                row.problems = {"_row": [Msg(f"Lebih dari {len(columns)} kolom.",
                                             f"More than {len(columns)} cells.")]}
            else:
                row.body = nest({name: csv_value(cell) for name, cell in zip(columns, cells)
                                 if cell.strip()})
            rows.append(row)
    except csv.Error:
        raise ValidationFailed({"_body": [Msg(
            f"CSV tidak dapat dibaca (baris {reader.line_num}).",
            f"The CSV cannot be read (line {reader.line_num}).")]}) from None
    if not rows:
        raise ValidationFailed({"_body": [Msg("CSV tanpa baris permohonan.",
                                              "The CSV has no application rows.")]})
    return rows


def csv_value(cell: str) -> str | bool:
    """A cell as JSON would carry it: ``true``/``false`` (any case: Excel
    writes TRUE) are the yes/no fields' booleans, the rest is text."""
    text = cell.strip()
    return {"true": True, "false": False}.get(text.lower(), text)


TOO_MANY_ROWS = Msg(f"Paling banyak {MAX_ROWS} permohonan per batch.",
                    f"At most {MAX_ROWS} applications per batch.")


# a column that also has columns below it (`details.child` beside
# `details.child.full_name`): one cell would hold what the others split
PARENT_COLUMN = Msg("Kolom ini juga induk kolom lain ({}): isi kolom di bawahnya saja.",
                    "This column is also the parent of another ({}): give only the "
                    "columns below it.")


def check_columns(columns: list[str]) -> None:
    """Every column a dotted path under a known section, once, none the parent of another."""
    if not any(columns):
        raise ValidationFailed({"_body": [Msg("Baris pertama harus judul kolom.",
                                              "The first line must name the columns.")]})
    problems = {}
    for name in columns:
        section, *below = name.split(".")
        if (section not in SECTIONS or bool(below) != SECTIONS[section]
                or not all(_SEGMENT.fullmatch(part) for part in below)):
            problems[field_label(name) or "_header"] = [Msg(
                "Kolom tidak dikenal: pakai document_type, applicant.*, details.*, delivery.* "
                "atau address.*.", "Unknown column: use document_type, applicant.*, details.*, "
                "delivery.* or address.*.")]
        elif columns.count(name) > 1:
            problems[field_label(name)] = [REPEATED_COLUMN]
        elif below_it := [other for other in columns if other.startswith(name + ".")]:
            problems[field_label(name)] = [PARENT_COLUMN.format(field_label(below_it[0]))]
    if problems:
        raise ValidationFailed(problems)


def nest(flat: dict[str, str]) -> dict:
    """``{"applicant.nik": "..."}`` -> ``{"applicant": {"nik": "..."}}``; numeric
    segments become lists in index order."""
    root: dict = {}
    for path, value in flat.items():
        *parents, leaf = path.split(".")
        node = root
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return _as_lists(root)


def _as_lists(node):
    if not isinstance(node, dict):
        return node
    items = {key: _as_lists(value) for key, value in node.items()}
    if items and all(key.isdigit() for key in items):
        return [items[key] for key in sorted(items, key=int)]
    return items


ROW_ADDRESS = AddressSchema(partial=("postal_code",))  # no Pos delivery: a postal code may wait
LEFT_OUT = object()  # an ``address`` not in the body (``load_request``)
OUTSIDE = Msg("Di luar wilayah petugas.", "Outside the officer's area.")


def load_request(body, *, channel: str, address_required: bool,
                 lang: str | None = None) -> tuple[dict, dict | None]:
    """An officer's application through the single submission's schema, and
    the applicant's address (its kelurahan code must exist): (request,
    address). ``lang``: the request's language, the notices' without
    ``applicant.language`` (a kelurahan batch's rows: none, Bahasa)."""
    if not isinstance(body, dict):
        raise ValidationFailed({"_row": [Msg("Harus objek JSON.", "Must be a JSON object.")]})
    body = dict(body)
    address, given = None, body.pop("address", LEFT_OUT)
    errors: dict[str, list] = {}
    if "channel" in body:
        errors["channel"] = [Msg(f"Tidak diisi: salurannya selalu {channel}.",
                                 f"Leave it out: the channel is always {channel}.")]
    if given is None:  # not an address left out: a next-day request took it as one
        errors["address"] = ["Field may not be null."]  # marshmallow's, localized as its
    elif given is LEFT_OUT and address_required:
        errors["address"] = [Msg("Wajib diisi.", "Missing data for required field.")]
    elif given is not LEFT_OUT:
        try:
            address = ROW_ADDRESS.load(given)
        except ValidationError as exc:
            errors.update(flatten_field_errors(exc.messages, "address"))
    try:
        request = ApplicationRequestSchema(lang=lang).load({**body, "channel": channel})
    except ValidationError as exc:
        errors.update(flatten_field_errors(exc.messages))
    else:
        if request["delivery"].get("place_id"):  # the round decides (``officer_application``)
            errors["delivery.place_id"] = [OFFICERS_PLACE]
    if errors:
        raise ValidationFailed(errors)
    return {**request, "address": address}, address


def load_problems(body) -> dict[str, list]:
    """What ``load_request`` finds at fault in a row's body (none for a row
    that could not be read into one)."""
    if body is None:
        return {}
    try:
        load_request(body, channel="kelurahan", address_required=True)
    except ValidationFailed as exc:
        return exc.fields
    return {}


def check_batch_row(row: Row, kelurahan_code: str, today: datetime.date,
                    screening: Screening) -> OfficerRequest:
    """A jemput-bola row: its address in the officer's kelurahan, then the
    checks of every application (``screening``)."""
    if row.problems:
        # with the row's other faults: the reply lists every field at fault
        # (a text problem in one cell hid a bad phone in another)
        raise ValidationFailed({**load_problems(row.body), **row.problems})
    request, address = load_request(row.body, channel="kelurahan", address_required=True)
    if address["kelurahan_code"] != kelurahan_code:
        raise OutOfScope(OUTSIDE, {"address.kelurahan_code": [Msg(
            f"Alamat di luar kelurahan Anda ({kelurahan_code}): ajukan lewat kelurahan alamat ini.",
            f"Address outside your kelurahan ({kelurahan_code}): submit it through its own.")]})
    return OfficerRequest(request, screening.check(request, today), address)


def next_day_request(body: dict, lang: str) -> tuple[dict, dict | None]:
    """A next-day request's body loaded (a KTP-el; ``load_request``)."""
    return load_request({"document_type": "ktp_el", **body}, channel="kecamatan",
                        address_required=False, lang=lang)


def next_day_digests(body: dict, lang: str) -> tuple[str, ...]:
    """What a retry of a next-day request must repeat (``domain.request_digests``
    of it loaded; as sent if it does not load - it then matches no earlier one)."""
    try:
        request, address = next_day_request(body, lang)
        request = {**request, "address": address}
    except ValidationFailed:
        request = {"document_type": "ktp_el", **body}
    return request_digests(request)


def check_next_day(body: dict, kecamatan_code: str, today: datetime.date,
                   screening: Screening, lang: str | None = None) -> OfficerRequest:
    """A kecamatan's next-day request: a first KTP-el, collected at the Dinas, for
    a NIK issued in the kecamatan or a citizen whose address is there.
    ``lang``: the request's language (the notices', as for a citizen's)."""
    if "delivery" in body:
        raise ValidationFailed({"delivery": [NEXT_DAY_DELIVERY]})
    request, address = next_day_request(body, lang)
    if request["document_type"] != "ktp_el":
        raise ValidationFailed({"document_type": [Msg("Hanya KTP-el.", "KTP-el only.")]})
    if kecamatan_code not in (request["applicant"]["nik"][:6],
                              address and address["kelurahan_code"][:6]):
        raise OutOfScope(OUTSIDE, {"applicant.nik": [Msg(
            f"NIK dan alamat pemohon tidak di kecamatan Anda ({kecamatan_code}).",
            f"Neither the NIK nor the address is in your kecamatan ({kecamatan_code}).")]})
    # before the checks of the reason it names (a police report for `lost` ...)
    if not first_card(request.get("details")):
        raise ValidationFailed({"details.reason": [FIRST_CARD_ONLY]})
    return OfficerRequest(request, screening.check(request, today), address)


def officer_application(officer_request: OfficerRequest, officer: Officer, key: str | None,
                        **fields) -> dict:
    """The application an officer's request becomes, with the fields printing
    groups by (``manifest_id``, ``next_day``, ``pickup_place_id``,
    ``kecamatan_code``) and who submitted it (kept for the Dinas only)."""
    request, checked = officer_request.request, officer_request.checked
    # a retry compares the address too (``next_day_digests``)
    digest = request_digests({**request, "address": officer_request.address})[0] if key \
        else None
    return {**new_application(request, checked.details, key, checked.stored(), digest),
            "address": officer_request.address, "submitted_by": str(officer),
            "manifest_id": None, "next_day": False, "pickup_place_id": None, **fields}


def row_key(batch_key: str, number: int) -> str:
    """The idempotency key of a batch's row: a resumed batch finds its rows
    by it (``BatchStore.stored_rows``); "§" cannot come in an HTTP key."""
    return f"\u00a7batch:{batch_key}#{number}"


def batch_application(officer_request: OfficerRequest, officer: Officer, batch: dict,
                      row: Row) -> dict:
    return officer_application(officer_request, officer, row_key(batch["_id"], row.number),
                               manifest_id=batch["manifest_id"],
                               kecamatan_code=officer.scope[:6],
                               batch={"batch_id": batch["batch_id"], "row": row.number})


def next_day_application(officer_request: OfficerRequest, officer: Officer,
                         key: str | None) -> dict:
    """Printed for the kecamatan to collect at the Dinas on the next working day."""
    return officer_application(officer_request, officer, key, next_day=True,
                               pickup_place_id=DINAS.place_id, kecamatan_code=officer.scope)
