"""The lines a printed document shows about its subject, in Bahasa Indonesia,
from a job's ``document_details`` (as ``application_verified`` carried them,
``shared.events.DocumentDetailsSchema``). Plain Python, no I/O.

Intake sends what it knows and leaves the rest out, so each line is printed
only when its field came; a job queued from an older event has none, and its
document shows the holder's name alone, as before. A death certificate names
the deceased (the holder) and the deceased's NIK; a birth certificate the
child (the holder) and its parents; each opens with the sentence real ones
do (``statement``).
"""

from __future__ import annotations

import datetime
from typing import Callable

from babel.dates import format_date

SEXES = {"M": "Laki-laki", "F": "Perempuan"}
MOVES = {"pindah_keluar": "Pindah keluar", "pindah_datang": "Pindah datang"}
MOVE_KINDS = {"antar_provinsi": "Antar provinsi", "antar_kabkota": "Antar kabupaten/kota",
              "antar_kecamatan": "Antar kecamatan", "dalam_kecamatan": "Dalam satu kecamatan"}
# whose name the document's first line is: the holder's (``domain.holder``)
HOLDER_LABELS = {"akta_kelahiran": "Nama Anak", "akta_kematian": "Nama"}
# what a certificate says of its holder, above the rows, as real ones read
STATEMENTS = {"akta_kelahiran": "Menerangkan bahwa telah lahir:",
              "akta_kematian": "Menerangkan bahwa telah meninggal dunia:"}
# a job queued from an event older than the deceased's name and NIK: its
# holder is the applicant who reported the death, and says so
REPORTER_LABEL = "Nama Pemohon"


def day(text: str) -> str:
    """``2026-10-01`` -> ``1 Oktober 2026``."""
    return format_date(datetime.date.fromisoformat(text), format="d MMMM y", locale="id")


def spoken(code: str) -> str:
    """A code word as a reader says it: ``orang_tua`` -> ``Orang tua``."""
    return code.replace("_", " ").capitalize()


def street(address: dict) -> str | None:
    rt_rw = "/".join(part for part in (address.get("rt"), address.get("rw")) if part)
    return " ".join(filter(None, [address.get("street"), rt_rw and f"RT/RW {rt_rw}"])) or None


def members(details: dict, named_at_most: int | None = None) -> str:
    """``2 orang: Ahmad Fauzi dan 1 orang lainnya``: the names intake knows
    (the first ``named_at_most`` of them: the rest are counted)."""
    count = details["members_moving"]
    named = (details.get("members_named") or [])[:named_at_most]
    others = count - len(named)
    listed = ", ".join(named) + (f" dan {others} orang lainnya" if named and others else "")
    return f"{count} orang" + (f": {listed}" if named else "")


def destination_lines(address: dict) -> list[tuple[str, str | None]]:
    return [("Alamat Tujuan", street(address)), ("Kelurahan/Desa", address.get("kelurahan")),
            ("Kecamatan", address.get("kecamatan")), ("Kabupaten/Kota", address.get("kabkota")),
            ("Provinsi", address.get("province")), ("Kode Pos", address.get("postal_code"))]


# field -> (label, how its value reads), in the order a document prints them
LINES: dict[str, tuple[str, Callable]] = {
    "sex": ("Jenis Kelamin", SEXES.get),
    "birth_place": ("Tempat Lahir", str),
    "birth_date": ("Tanggal Lahir", day),
    "birth_certificate_number": ("No. Akta Lahir", str),
    "deceased_nik": ("NIK", str),
    "date_of_death": ("Tanggal Kematian", day),
    "place_of_death": ("Tempat Kematian", str),
    "reporter_relation": ("Hubungan Pelapor", spoken),
    "move": ("Jenis Kepindahan", MOVES.get),
    "move_kind": ("Klasifikasi", MOVE_KINDS.get),
    "move_reason": ("Alasan Pindah", spoken),
    "skpwni_number": ("No. SKPWNI Asal", str),
}


def detail_lines(details: dict | None, named_at_most: int | None = None) -> dict[str, str]:
    """Label -> value, for each detail the job has, in printing order; an
    SKPWNI's moving members named up to ``named_at_most`` (``members``)."""
    details = details or {}
    lines = [(label, read(details[name])) for name, (label, read) in LINES.items()
             if details.get(name) is not None]
    lines += parents(details)
    if details.get("destination"):
        lines += destination_lines(details["destination"])
    if details.get("members_moving"):
        lines.append(("Anggota yang Pindah", members(details, named_at_most)))
    return {label: value for label, value in lines if value}


def parents(details: dict) -> list[tuple[str, str | None]]:
    """A birth certificate's "anak dari ibu ... dan ayah ...". A job from an
    older event may know the father alone (he applied): his name then."""
    mother, father = details.get("mother_name"), details.get("father_name")
    if mother:
        return [("Anak dari Ibu", mother), ("dan Ayah", father)]
    return [("Nama Ayah", father)] if father else []


def reported_only(document_type: str, details: dict | None) -> bool:
    """A death certificate's job from an event that named no deceased (older
    than the deceased's name and NIK): its holder is the reporting applicant."""
    return document_type == "akta_kematian" and not (details or {}).get("deceased_nik")


def holder_label(document_type: str, details: dict | None = None) -> str:
    if reported_only(document_type, details):
        return REPORTER_LABEL
    return HOLDER_LABELS.get(document_type, "Nama")


def statement(document_type: str, details: dict | None = None) -> str | None:
    """The sentence a certificate opens with, if any."""
    return None if reported_only(document_type, details) else STATEMENTS.get(document_type)
