"""What the population register decides of an application, end to end
through intake's HTTP API and the register sandbox (outside review of the
civil-registration rules, a Disdukcapil officer's requests): the name a card
prints, who may arrive by a pindah datang, the father an Akta Kelahiran
names, a KIA for a child who moved out, the adults a role needs, and a
death the deceased's own child's verified birth rules out."""

from __future__ import annotations

import datetime

import requests

from shared.clock import today_wib
from tests.document_bodies import (birth_body, body, death_body, kia_body, nik_born,
                                   skpwni_datang_body, skpwni_keluar_body, years_before)
from tests.e2e.test_documents import accepted, birth_of, refused, submit
from tests.helpers import OPERATOR, claim_job_for, random_kk


def seed(system, *members: tuple[str, str, str], kk: str | None = None,
         deceased: tuple[str, ...] = ()) -> str:
    """A family on the register sandbox: (nik, full name, relation) each,
    recorded for KTP-el; ``deceased``: the NIKs it records as dead."""
    kk = kk or random_kk()
    family = {"kk_number": kk, "kelurahan_code": f"{kk[:6]}1010", "members": [
        {"nik": nik, "full_name": name, "sex": "F" if int(nik[6:8]) > 40 else "M",
         "birth_date": birth_of(nik), "relation": relation, "ktp_el_recorded": True,
         "deceased": nik in deceased} for nik, name, relation in members]}
    response = requests.post(f"{system.url('register')}/sandbox/families", json=family, timeout=5)
    assert response.status_code == 201, response.text
    return kk


def submitted(system, request: dict) -> None:
    response = submit(system, request)
    assert response.status_code == 202, response.text


def printed_name(system, application: dict) -> str:
    """Verified; the name on its print job."""
    intake = system.url("intake")
    verified = requests.post(f"{intake}/api/v1/applications/{application['_id']}/verify",
                             headers=OPERATOR, timeout=10)
    assert verified.status_code == 200, verified.text
    return claim_job_for(system.url("printing"), application["_id"])["holder_name"]


# --------------------------------------------------------------- 1. the name a card prints

def test_a_card_prints_the_registers_name_and_flags_the_one_typed(system, mongo):
    """The review's Bambang Hermawan: a KTP-el data_change typed "Warga Uji"
    printed "Warga Uji"; a KIA for Citra Lestari typed "Rudi Hartono" too.
    Both are accepted, flagged register_name_differs, and print the register's."""
    today = today_wib()
    father = nik_born(datetime.date(1980, 1, 1))
    mother = nik_born(datetime.date(1985, 3, 7), female=True)
    child = nik_born(years_before(today, 3), female=True)
    kk = seed(system, (father, "BAMBANG HERMAWAN", "kepala_keluarga"),
              (mother, "SRI WAHYUNI", "istri"), (child, "CITRA LESTARI", "anak"))

    ktp = accepted(system, mongo, body("ktp_el", {"reason": "data_change"}, nik=father, kk=kk,
                                       full_name="Warga Uji"))
    assert ktp["flags"] == ["register_name_differs"]
    assert ktp["derived"]["holder_full_name"] == "BAMBANG HERMAWAN"
    assert printed_name(system, ktp) == "BAMBANG HERMAWAN"

    kia = accepted(system, mongo, kia_body(child, parent_nik=mother, kk=kk,
                                           child_full_name="Rudi Hartono",
                                           documents=["akta_kelahiran", "kartu_keluarga",
                                                      "ktp_el"]))
    assert kia["flags"] == ["register_name_differs"]
    assert printed_name(system, kia) == "CITRA LESTARI"


def test_a_card_typed_as_the_register_names_its_holder_is_not_flagged(system, mongo):
    adult = nik_born(datetime.date(1979, 5, 2))
    kk = seed(system, (adult, "BAMBANG HERMAWAN", "kepala_keluarga"))
    ktp = accepted(system, mongo, body("ktp_el", {"reason": "damaged",
                                                  "old_card_surrendered": True},
                                       nik=adult, kk=kk, full_name=" Bambang  hermawan"))
    assert ktp["flags"] == []
    assert printed_name(system, ktp) == "BAMBANG HERMAWAN"


# --------------------------------------------------------------- 2. who arrives by a pindah datang

def test_a_pindah_datang_cannot_take_a_residents_slot_nor_bring_the_dead(system):
    """An outsider (a Jakarta KK) named a Serang family's member in a pindah
    datang: accepted, it held the member's one SKPWNI slot - the family
    head's own pindah keluar moving her was 409 on details.members.0. Now
    400 on the member; so is a member recorded as deceased, and a pindah
    datang from a Kota Serang KK (a move within the city is a pindah keluar)."""
    head = nik_born(datetime.date(1975, 12, 12))
    daughter = nik_born(datetime.date(2000, 12, 12), female=True)
    late = nik_born(datetime.date(1945, 1, 1))
    kk = seed(system, (head, "BUDI", "kepala_keluarga"), (daughter, "RINA", "anak"),
              (late, "SARMILI", "orang_tua"), deceased=(late,))
    outsider, outside_kk = nik_born(datetime.date(1995, 6, 5), female=True, kecamatan="317101"), \
        random_kk(kecamatan="317101")
    for lang in ("id", "en"):
        fields = refused(system, skpwni_datang_body(nik=outsider, kk=outside_kk,
                                                    members=[daughter]), lang)
        assert list(fields) == ["details.members.0"]
    assert fields["details.members.0"] == [
        "This member is recorded as a Kota Serang resident (on a Kota Serang KK); a pindah "
        "datang is only for people arriving from outside Kota Serang."]
    assert list(refused(system, skpwni_datang_body(nik=outsider, kk=outside_kk,
                                                   members=[outsider, late]))) == [
        "details.members.1"]
    # the family's own move is not held up by the stranger
    submitted(system, skpwni_keluar_body("3171011001", nik=head, kk=kk, members=[daughter]))

    within = refused(system, skpwni_datang_body(nik=head, kk=kk), "en")
    assert list(within) == ["details.move"]
    assert "A move within the city (antar_kecamatan or dalam_kecamatan) is applied for as a " \
           "pindah keluar SKPWNI from this KK" in within["details.move"][0]
    submitted(system, skpwni_datang_body(nik=outsider, kk=outside_kk, members=[outsider]))


# --------------------------------------------------------------- 3. the father an Akta Kelahiran names

def test_a_birth_to_parents_not_married_names_no_father(system):
    """The review's certificate read "Anak dari Ibu: SRI WAHYUNI / dan Ayah:
    BAMBANG HERMAWAN" though the parents were not married and no marriage
    proof was given: 400 on details.father_nik; without him, accepted."""
    father = nik_born(datetime.date(1980, 1, 1))
    mother = nik_born(datetime.date(1990, 7, 7), female=True)
    kk = seed(system, (father, "BAMBANG HERMAWAN", "kepala_keluarga"),
              (mother, "SRI WAHYUNI", "istri"))
    born = today_wib() - datetime.timedelta(days=5)
    unmarried = birth_body(born, mother_nik=mother, father_nik=father, kk=kk, married=False,
                           mother_name=None, documents=["surat_keterangan_lahir",
                                                        "kartu_keluarga"])
    fields = refused(system, unmarried, "en")
    assert list(fields) == ["details.father_nik"]
    assert fields["details.father_nik"][0].startswith(
        "The parents are not married: without a marriage record the birth certificate names "
        "the mother only")
    unmarried["details"]["father_nik"] = None
    submitted(system, unmarried)


# --------------------------------------------------------------- 5. a KIA after moving out

def test_no_kia_for_a_child_whose_move_out_of_the_city_was_verified(system, mongo):
    """The child's SKPWNI pindah keluar to Jakarta verified here (the
    register still has the child on the Serang KK): a KIA for the child is
    400 on details.child_nik, as the child's own applications are."""
    mother = nik_born(datetime.date(1988, 2, 2), female=True)
    child = nik_born(years_before(today_wib(), 3))
    kk = seed(system, (mother, "DEWI", "kepala_keluarga"), (child, "RAFI", "anak"))
    move = accepted(system, mongo, skpwni_keluar_body("3171011001", nik=mother, kk=kk,
                                                      members=[child]))
    verified = requests.post(f"{system.url('intake')}/api/v1/applications/{move['_id']}/verify",
                             headers=OPERATOR, timeout=10)
    assert verified.status_code == 200, verified.text
    kia = kia_body(child, parent_nik=mother, kk=kk, child_full_name="Rafi",
                   documents=["akta_kelahiran", "kartu_keluarga", "ktp_el"])
    fields = refused(system, kia, "en")
    assert list(fields) == ["details.child_nik"]
    assert fields["details.child_nik"][0].startswith(
        "This NIK is recorded as having moved out of Kota Serang")


# --------------------------------------------------------------- 7. roles only an adult fills

def test_a_toddler_reports_no_death_and_a_sister_of_14_is_no_kias_parent(system):
    """The review's Akta Kematian reported by a 2-year-old, and KIA naming
    the child's sister of 14 (both 'anak' on the KK) as its parent: each
    was 202. Now 400 naming details.reporter_nik / details.parent_nik."""
    today = today_wib()
    head, wife = nik_born(datetime.date(1950, 3, 3)), nik_born(datetime.date(1985, 4, 4),
                                                               female=True)
    sister = nik_born(years_before(today, 14), female=True)
    toddler = nik_born(years_before(today, 2))
    kk = seed(system, (head, "HASAN", "kepala_keluarga"), (wife, "LASTRI", "istri"),
              (sister, "AYU", "anak"), (toddler, "BIMA", "anak"))
    death = death_body(today - datetime.timedelta(days=2), deceased_nik=head, nik=wife, kk=kk,
                       deceased_name=None)
    death["details"]["reporter_nik"] = toddler
    fields = refused(system, death, "en")
    assert fields == {"details.reporter_nik": [
        "The reporter must be 17 or older, or be or have been married."]}
    kia = kia_body(toddler, parent_nik=sister, kk=kk, child_full_name="BIMA",
                   documents=["akta_kelahiran", "kartu_keluarga", "ktp_el"])
    kia["applicant"]["nik"] = wife
    fields = refused(system, kia, "en")
    assert list(fields) == ["details.parent_nik"]
    assert "recorded as the child's sibling" in fields["details.parent_nik"][0]
    # the mother applies for the KIA; she reports the death herself
    kia["details"]["parent_nik"] = wife
    submitted(system, kia)
    death["details"]["reporter_nik"] = wife
    submitted(system, death)


# --------------------------------------------------------------- 8. a death before one's child's birth

def test_a_death_dated_before_the_deceaseds_verified_childs_birth_is_refused(system, mongo):
    """The review's case: an Akta Kelahiran verified with mother
    3673064707900042, born 2026-11-15; then an Akta Kematian for her dated
    2026-01-01 - 202, and verified. Now 400 on details.date_of_death, naming
    the birth's date (never the child). A death the birth allows is
    accepted: hers giving birth. A father's is not checked this way round
    (his births would need an index every application write pays for)."""
    today = today_wib()
    born = today - datetime.timedelta(days=20)
    mother = nik_born(datetime.date(1990, 7, 7), female=True)
    father = nik_born(datetime.date(1988, 3, 3))
    birth = accepted(system, mongo, birth_body(born, mother_nik=mother, father_nik=father,
                                               child_name="Putri Lestari",
                                               father_full_name="Bayu Saputra"))
    verified = requests.post(f"{system.url('intake')}/api/v1/applications/{birth['_id']}/verify",
                             headers=OPERATOR, timeout=10)
    assert verified.status_code == 200, verified.text

    hers = death_body(born - datetime.timedelta(days=1), deceased_nik=mother)
    assert refused(system, hers, "en") == {"details.date_of_death": [
        f"The deceased is recorded as the mother of a child born on {born.isoformat()} (a "
        "birth certificate was verified), after this date of death; check the date of death."]}
    assert refused(system, hers) == {"details.date_of_death": [
        f"Almarhumah tercatat sebagai ibu dari anak yang lahir {born.isoformat()} (akta "
        "kelahiran diverifikasi), sesudah tanggal kematian ini; periksa tanggal kematian."]}

    submitted(system, death_body(born, deceased_nik=mother))
