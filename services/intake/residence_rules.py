"""Rules of population registration (pendaftaran penduduk) beyond the KTP-el:
SKPWNI (certificate of moving) and KIA (child ID card). Plain Python, no
nameko; each refusal names its field."""

from __future__ import annotations

import datetime
from typing import Callable

from shared.errors import Msg
from shared.fields import kept_name
from shared.nik import ADULT_AGE, age_on, parse_nik

from .population import Lookup
from .rule_helpers import (SERVED_KABKOTA, DocumentRules, Findings, flag_deceased_parents,
                           known_married, merged, refuse, refuse_if_deceased, refuse_if_not_on,
                           refuse_unless_adult, refuse_unless_old_enough_to_be_a_parent,
                           register_name)

KIA_PHOTO_FROM_AGE = 5
# the moves (``move_kind``) of a pindah keluar that take its members out of
# Kota Serang: off the city's KKs once it is verified
LEAVING_THE_CITY = ("antar_kabkota", "antar_provinsi")


def move_kind(origin: str, destination: str) -> str:
    """The kind of move between two region codes (origin: the KK's kecamatan)."""
    if origin[:2] != destination[:2]:
        return "antar_provinsi"
    if origin[:4] != destination[:4]:
        return "antar_kabkota"
    if origin[:6] != destination[:6]:
        return "antar_kecamatan"
    return "dalam_kecamatan"  # between kelurahan/desa of one kecamatan, or within one


def required_for(move: str, path: str) -> None:
    label = move.replace("_", " ")
    refuse(path, f"Wajib diisi untuk {label}.", f"Required for {label}.")


def skpwni_details(request: dict, details: dict, today: datetime.date) -> Findings:
    move, origin = details["move"], request["applicant"]["kk_number"][:6]
    destination = details["destination"]["kelurahan_code"]  # in the region list (schema)
    if move == "pindah_keluar":
        if origin[:4] not in SERVED_KABKOTA:
            refuse("applicant.kk_number",
                   "SKPWNI pindah keluar diterbitkan Dinas daerah asal; KK ini bukan dari "
                   "Kota Serang.",
                   "A pindah keluar SKPWNI is issued where the family lives; this KK is not "
                   "from Kota Serang.")
        if not details["reason"]:
            required_for(move, "details.reason")
        if not details["members"]:
            required_for(move, "details.members")
        if len(set(details["members"])) != len(details["members"]):
            refuse("details.members", "NIK anggota keluarga yang pindah tidak boleh berulang.",
                   "A moving family member's NIK must not be repeated.")
    else:
        if origin[:4] in SERVED_KABKOTA:
            refuse("details.move",
                   "Pindah datang hanya untuk yang datang dari luar Kota Serang; KK ini dari "
                   "Kota Serang. Pindah di dalam Kota Serang (antar kecamatan atau dalam "
                   "kecamatan) diajukan sebagai SKPWNI pindah keluar dari KK ini, dengan alamat "
                   "tujuan di Kota Serang.",
                   "A pindah datang is only for arrivals from outside Kota Serang; this KK is "
                   "from Kota Serang. A move within the city (antar_kecamatan or "
                   "dalam_kecamatan) is applied for as a pindah keluar SKPWNI from this KK, with "
                   "the new address in Kota Serang.")
        if not details["skpwni_number"]:
            required_for(move, "details.skpwni_number")
        if destination[:4] not in SERVED_KABKOTA:
            refuse("details.destination.kelurahan_code",
                   "Pindah datang hanya untuk alamat tujuan di Kota Serang.",
                   "A pindah datang is only for a new address in Kota Serang.")
    return Findings(facts=frozenset({move}),
                    derived={"move_kind": move_kind(origin, destination)})


def skpwni_against_register(request: dict, details: dict, lookup: Lookup,
                            today: datetime.date) -> Findings | None:
    """A pindah keluar's members are on the applicant's KK, alive and still
    here; the certificate names each as the register does
    (``members_full_names``, in the request's order: outside audit S1 - it
    named the applicant alone, "2 orang: Yusuf Maulana dan 1 orang lainnya",
    and the destination's Dinas could not tell who else moves). A register
    that does not answer names nobody but the applicant (``printables.move``).
    A pindah datang's members arrive from outside: none the register
    records as dead or as living here (``refuse_unless_arriving``) - each
    member's one SKPWNI slot is taken by whoever names them."""
    if details["move"] != "pindah_keluar":
        for index, nik in enumerate(details["members"]):
            refuse_unless_arriving(f"details.members.{index}", nik, lookup)
        return None
    family = lookup.family(request["applicant"]["kk_number"])
    for index, nik in enumerate(details["members"]):
        path = f"details.members.{index}"
        refuse_if_not_on(path, nik, family, "Anggota keluarga yang pindah", "A moving member")
        refuse_if_deceased(path, nik, lookup)
        refuse_if_moved_out(path, nik, lookup)
    return Findings(derived=members_named(family, details["members"]))


def refuse_unless_arriving(path: str, nik: str, lookup: Lookup) -> None:
    """A member of a pindah datang is alive and comes into the city: not
    one the register has on a Kota Serang KK - unless a pindah keluar out of
    the city was verified here for them (``Lookup.moved_out``: moving back
    in, before the register's next synchronisation). 400 on ``path``."""
    refuse_if_deceased(path, nik, lookup)
    person = lookup.person(nik)
    if (person is not None and person.kk_number[:4] in SERVED_KABKOTA
            and not lookup.moved_out(nik)):
        refuse(path, "Anggota keluarga ini tercatat sebagai penduduk Kota Serang (pada KK di "
                     "Kota Serang); pindah datang hanya untuk yang datang dari luar Kota Serang.",
               "This member is recorded as a Kota Serang resident (on a Kota Serang KK); a "
               "pindah datang is only for people arriving from outside Kota Serang.")


def members_named(family, members: list[str]) -> dict:
    """``{"members_full_names": [...]}`` as the register names each of
    ``members`` on ``family`` (a ``population.Family``), or ``{}`` when it
    does not know the family or one of them."""
    found = [None if family is None else family.member(nik) for nik in members]
    if not found or None in found:
        return {}
    return {"members_full_names": [kept_name(person.full_name) for person in found]}


def names_members_later(application: dict) -> bool:
    """A pindah keluar whose moving members the register has not named yet
    (it did not answer when it was made): asked again at its verification."""
    details = application["details"]
    return (application["document_type"] == "skpwni" and details.get("move") == "pindah_keluar"
            and bool(details.get("members"))
            and not application.get("derived", {}).get("members_full_names"))


def moves_in(request: dict, details: dict) -> bool:
    """A pindah datang: who moved out of Kota Serang may move back in."""
    return request["document_type"] == "skpwni" and details["move"] == "pindah_datang"


def moved_out(moves: list[tuple[str, dict]]) -> bool:
    """Whether the last of a NIK's verified SKPWNIs (each with the time it
    was verified) took it out of Kota Serang: a pindah keluar to another
    kab/kota or province; a pindah datang verified since brought it back."""
    if not moves:
        return False
    _, last = max(moves, key=lambda move: move[0])
    return (last["details"]["move"] == "pindah_keluar"
            and last.get("derived", {}).get("move_kind") in LEAVING_THE_CITY)


def refuse_if_moved_out(path: str, nik: str, lookup: Lookup) -> None:
    """Intake verified a move of ``nik`` out of Kota Serang (``moved_out``):
    its KK here is no longer its own, whatever the register says until its
    next synchronisation. 400 on ``path``."""
    if lookup.moved_out(nik):
        refuse(path, "NIK ini tercatat sudah pindah keluar Kota Serang (SKPWNI pindah keluar "
                     "sudah diverifikasi); ajukan di Disdukcapil daerah tujuan, atau ajukan "
                     "SKPWNI pindah datang bila kembali ke Kota Serang.",
               "This NIK is recorded as having moved out of Kota Serang (an SKPWNI pindah "
               "keluar was verified); apply at the Disdukcapil of the new place, or apply for a "
               "pindah datang SKPWNI when moving back to Kota Serang.")


def kia_details(request: dict, details: dict, today: datetime.date) -> Findings:
    """Whether the child is old enough for a photo goes by the NIK alone:
    it is read right for anyone under 100, so for every child a KIA is for
    (under 17, by the register: ``kia_against_register``)."""
    if details["parent_nik"] == details["child_nik"]:
        refuse("details.parent_nik", "NIK orang tua tidak boleh NIK anak.",
               "The parent's NIK must not be the child's.")
    age = age_on(parse_nik(details["child_nik"], today=today).birth_date, today)
    return Findings(facts=frozenset({"child_5_or_older"} if age >= KIA_PHOTO_FROM_AGE else ()))


def kia_against_register(request: dict, details: dict, lookup: Lookup,
                         today: datetime.date) -> Findings:
    """A KIA is for a child under 17 by the register's birth date when it
    knows the child (a NIK read alone makes a centenarian a baby), else by
    the NIK's; whose parent was at least PARENT_MIN_AGE at the birth; not
    for a child who moved out of Kota Serang (``refuse_if_moved_out``). The
    card prints the child's name as the register gives it
    (``derived.child_full_name``; ``details.child_full_name`` that differs
    is flagged)."""
    family = lookup.family(details["kk_number"])  # first: it may hold the child and parent
    child_born = lookup.birth_date(details["child_nik"], today)
    if age_on(child_born, today) >= ADULT_AGE:
        refuse("details.child_nik",
               "KIA hanya untuk anak di bawah 17 tahun; usia 17 tahun ke atas mengajukan KTP-el.",
               "A KIA is only for children under 17; from 17, apply for a KTP-el.")
    refuse_unless_old_enough_to_be_a_parent("details.parent_nik", details["parent_nik"],
                                            child_born, Msg("Orang tua", "The parent"),
                                            lookup, today)
    refuse_if_not_on("details.child_nik", details["child_nik"], family, "NIK anak", "The child")
    refuse_if_not_on("details.parent_nik", details["parent_nik"], family, "NIK orang tua",
                     "The parent")
    refuse_a_sibling_as_the_parent(details, family)
    refuse_unless_adult("details.parent_nik", details["parent_nik"],
                        Msg("Orang tua", "The parent"), today, lookup,
                        married=known_married(request, details["parent_nik"]))
    refuse_if_deceased("details.child_nik", details["child_nik"], lookup)
    refuse_if_moved_out("details.child_nik", details["child_nik"], lookup)
    # an orphan's KIA names the late parent: accepted, the operator checks who applies
    return merged(flag_deceased_parents(lookup, details["parent_nik"]),
                  register_name("child", details["child_nik"], details["child_full_name"],
                                lookup))


def refuse_a_sibling_as_the_parent(details: dict, family) -> None:
    """A KIA's parent is not the child's sibling: both ``anak`` on the KK
    (a ``population.Family``; None: unknown, not checked). A parent who is
    the head's ``anak`` with a child who is a ``cucu`` is left alone."""
    on_it = [None if family is None else family.member(details[role])
             for role in ("parent_nik", "child_nik")]
    if None not in on_it and all(person.relation == "anak" for person in on_it):
        refuse("details.parent_nik",
               "NIK orang tua tercatat sebagai saudara anak (keduanya berstatus anak pada KK "
               "ini); isi NIK ibu atau ayah anak.",
               "The parent's NIK is recorded as the child's sibling (both are 'anak' on this "
               "KK); give the NIK of the child's mother or father.")


def refuse_kia_to_a_card_holder(request: dict, details: dict,
                                card_issued: Callable[[str], bool]) -> None:
    """A child who holds a KTP-el (one married before 17 may have it,
    ``rules.refuse_unless_old_enough_for_a_ktp_el``) has outgrown the KIA:
    ``card_issued`` is intake's record (``nik_records``)."""
    if request["document_type"] == "kia" and card_issued(details["child_nik"]):
        refuse("details.child_nik",
               "Anak ini sudah memiliki KTP-el; KIA tidak diterbitkan bagi pemilik KTP-el.",
               "This child already holds a KTP-el; a KIA is not issued to a KTP-el holder.")


RESIDENCE_RULES = {
    "skpwni": DocumentRules(skpwni_details, skpwni_against_register),
    "kia": DocumentRules(kia_details, kia_against_register),
}
