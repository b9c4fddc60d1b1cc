"""Unit tests: the rules that ask the population register, with a fake
register (no I/O); the sandbox's fixture families against their own NIKs.
The register client over HTTP: tests/integration/test_register_client.py."""

from __future__ import annotations

import datetime
import json
import re
import textwrap
from pathlib import Path

import pytest

from deploy.local.sandboxes.register import FIXTURES, family_errors
from services.intake.batches import check_batch_row, csv_rows, json_rows
from services.intake.population import Family, Lookup, Person, RegisterUnavailable
from services.intake.rules import check_application
from services.intake.schemas import ApplicationRequestSchema
from services.intake.screening import Screening
from shared.errors import ValidationFailed
from shared.nik import parse_nik, validate_kk
from shared.wilayah import load_wilayah
from tests.document_bodies import (birth_body, body, death_body, kia_body, nik_born,
                                   skpwni_datang_body, skpwni_keluar_body, years_before)

TODAY = datetime.date(2025, 6, 1)
KK = "3673041201100003"
FATHER, MOTHER = "3673041503880001", "3673045207900001"
CHILD, TODDLER = "3673040805150002", "3673045001220003"


def person(nik: str, relation: str = "anak", recorded: bool = False, deceased: bool = False,
           kk: str = KK) -> Person:
    info = parse_nik(nik, today=TODAY)
    return Person(nik, kk, "Nama", info.sex, info.birth_date, relation, recorded, deceased)


FAMILY = Family(KK, "3673041010", (person(FATHER, "kepala_keluarga", recorded=True),
                                   person(MOTHER, "istri", recorded=True),
                                   person(CHILD), person(TODDLER)))


class FakeRegister:
    """Knows ``families``; ``down`` makes every question fail; counts the questions."""

    def __init__(self, *families: Family, down: bool = False):
        self.families = {family.kk_number: family for family in families}
        self.down = down
        self.asked = 0

    def _question(self):
        self.asked += 1
        if self.down:
            raise RegisterUnavailable("ConnectionError")

    def person(self, nik):
        self._question()
        return next(filter(None, (f.member(nik) for f in self.families.values())), None)

    def family(self, kk_number):
        self._question()
        return self.families.get(kk_number)


def check(request: dict, register=None, deaths=(), moved=()):
    """``deaths``: the NIKs whose death certificate was verified here, or
    {NIK: its date of death}; ``moved``: NIKs an SKPWNI pindah keluar
    verified here took out of Kota Serang."""
    died_on = deaths.get if isinstance(deaths, dict) else lambda nik: None
    lookup = Lookup(register or FakeRegister(FAMILY), lambda nik: nik in deaths, died_on=died_on,
                    moved_out=lambda nik: nik in moved)
    return check_application(ApplicationRequestSchema().load(request), TODAY, lookup)


def refused(request: dict, register=None, deaths=(), moved=()) -> dict:
    with pytest.raises(ValidationFailed) as excinfo:
        check(request, register, deaths, moved)
    return excinfo.value.fields


def refused_on(request: dict, register=None, deaths=(), moved=()) -> list[str]:
    return list(refused(request, register, deaths, moved))


def ktp(nik: str, kk: str = KK) -> dict:
    """A first KTP-el, named as the fake register names everyone."""
    return body("ktp_el", {"reason": "first_issue"}, nik=nik, kk=kk, full_name="Nama")


def kia(child_nik: str, **fields) -> dict:
    """A KIA, its child named as the fake register names everyone."""
    return kia_body(child_nik, child_full_name="Nama", **fields)


# --------------------------------------------------------------- every application

def test_a_nik_on_its_kk_passes_unflagged():
    assert check(ktp(MOTHER)).flags == ()


def test_a_nik_claimed_with_a_kk_it_is_not_on_refused():
    assert refused_on(ktp(MOTHER, kk="3673041201100004")) == ["applicant.kk_number"]


def test_a_nik_the_register_does_not_know_is_accepted_and_flagged():
    assert check(ktp(nik_born(datetime.date(1990, 1, 2)))).flags == ("register_unknown_nik",)


def test_register_unreachable_accepted_and_flagged_after_one_question():
    register = FakeRegister(FAMILY, down=True)
    checked = check(kia(CHILD, parent_nik=MOTHER, kk=KK), register)
    assert checked.flags == ("register_unchecked",)
    assert register.asked == 1  # the rest of its questions went unasked


def test_a_deceased_applicant_refused_by_the_register_or_a_verified_death():
    family = Family(KK, "3673041010", (person(MOTHER, recorded=True, deceased=True),))
    assert refused_on(ktp(MOTHER), FakeRegister(family)) == ["applicant.nik"]
    assert refused_on(ktp(MOTHER), deaths={MOTHER}) == ["applicant.nik"]
    # known dead here even when the register cannot be asked
    assert refused_on(ktp(MOTHER), FakeRegister(down=True), deaths={MOTHER}) == ["applicant.nik"]


def test_a_first_ktp_el_print_needs_a_recorded_nik():
    adult = nik_born(years_before(TODAY, 18))
    family = Family(KK, "3673041010", (person(adult),))
    assert refused_on(ktp(adult), FakeRegister(family)) == ["applicant.nik"]


# --------------------------------------------------------------- per document

def test_kia_child_and_parent_must_be_on_the_kk():
    assert check(kia(CHILD, parent_nik=MOTHER, kk=KK)).flags == ()
    stranger = nik_born(years_before(TODAY, 8))
    assert refused_on(kia(stranger, parent_nik=MOTHER, kk=KK)) == ["details.child_nik"]
    other_parent = nik_born(datetime.date(1985, 1, 1), female=True)
    assert refused_on(kia(CHILD, parent_nik=other_parent, kk=KK)) == ["details.parent_nik"]


def test_kia_for_a_family_the_register_does_not_know_is_flagged():
    checked = check(kia(nik_born(years_before(TODAY, 8))))
    assert set(checked.flags) == {"register_unknown_kk", "register_unknown_nik"}


def test_skpwni_members_must_be_living_members_of_the_applicants_kk():
    assert check(skpwni_keluar_body(nik=FATHER, kk=KK, members=[FATHER, CHILD])).flags == ()
    stranger = nik_born(datetime.date(1991, 1, 1))
    assert refused_on(skpwni_keluar_body(nik=FATHER, kk=KK, members=[FATHER, stranger])) == [
        "details.members.1"]
    assert refused_on(skpwni_keluar_body(nik=FATHER, kk=KK, members=[CHILD]),
                      deaths={CHILD}) == ["details.members.0"]


def test_a_pindah_keluar_names_each_member_as_the_register_does():
    """The certificate names every member who moves (outside audit S1: it
    named the applicant alone, "2 orang: ... dan 1 orang lainnya"), in the
    request's order, by the register's names; a register that does not
    answer names nobody here (the applicant alone is printed then)."""
    named = Family(KK, "3673041010", tuple(
        Person(p.nik, KK, name, p.sex, p.birth_date, p.relation, p.ktp_el_recorded, p.deceased)
        for p, name in zip(FAMILY.members, ("AHMAD  FAUZI", "SITI AMINAH",
                                            "\uff32\uff29\uff3a\uff2b\uff29", "NUR"))))
    request = skpwni_keluar_body(nik=FATHER, kk=KK, members=[CHILD, FATHER, MOTHER])
    # kept as a name the citizen types is (outside audit R: a register's
    # full-width name and double space were printed as given)
    assert check(request, FakeRegister(named)).derived["members_full_names"] == [
        "RIZKI", "AHMAD FAUZI", "SITI AMINAH"]
    assert "members_full_names" not in check(request, FakeRegister(down=True)).derived


def test_who_moved_out_of_kota_serang_applies_here_only_to_move_back_in():
    """After an SKPWNI pindah keluar out of Kota Serang is verified, its
    members are off the city's KKs, before the register hears of it: a
    KTP-el with the old KK, a second pindah keluar, are refused naming the
    NIK; a pindah datang (moving back in) is not."""
    with pytest.raises(ValidationFailed) as refused:
        check(ktp(MOTHER), moved={MOTHER})
    [[message]] = refused.value.fields.values()
    assert list(refused.value.fields) == ["applicant.nik"]
    assert str(message).startswith("NIK ini tercatat sudah pindah keluar Kota Serang")
    assert message.en.startswith("This NIK is recorded as having moved out of Kota Serang")
    assert refused_on(skpwni_keluar_body(nik=FATHER, kk=KK, members=[FATHER, CHILD]),
                      moved={CHILD}) == ["details.members.1"]
    assert refused_on(skpwni_keluar_body(nik=FATHER, kk=KK, members=[CHILD]),
                      moved={FATHER}) == ["applicant.nik"]
    # in Jakarta now, as the register has it by then
    jakarta = Family("3171010101200005", "3171011001",
                     (person(MOTHER, "kepala_keluarga", kk="3171010101200005"),))
    back = skpwni_datang_body(nik=MOTHER, kk="3171010101200005")
    assert check(back, FakeRegister(jakarta), moved={MOTHER}).details["move"] == "pindah_datang"
    assert check(ktp(FATHER), moved={MOTHER}).flags == ()
    # nor a KIA for a child who moved out (the parent stayed)
    assert refused_on(kia(CHILD, parent_nik=MOTHER, kk=KK), moved={CHILD}) == [
        "details.child_nik"]
    assert message.en.endswith("; apply at the Disdukcapil of the new place, or apply for a "
                               "pindah datang SKPWNI when moving back to Kota Serang.")


OUTSIDER, OUTSIDE_KK = "3171014506950002", "3171010101200005"


def test_a_pindah_datang_brings_no_one_living_here_nor_the_dead():
    """The review's outsider named a Serang family's member in a pindah
    datang - accepted, it took the member's one SKPWNI slot from the
    family's own pindah keluar - and a member recorded as deceased. Both
    are refused naming the member; one the register does not know (from
    elsewhere) is accepted, flagged; one who moved out (verified here) may
    come back."""
    arriving = skpwni_datang_body(nik=OUTSIDER, kk=OUTSIDE_KK, members=[OUTSIDER, CHILD])
    with pytest.raises(ValidationFailed) as refusal:
        check(arriving)
    [[message]] = refusal.value.fields.values()
    assert list(refusal.value.fields) == ["details.members.1"]
    assert str(message).startswith("Anggota keluarga ini tercatat sebagai penduduk Kota Serang")
    assert message.en == ("This member is recorded as a Kota Serang resident (on a Kota Serang "
                          "KK); a pindah datang is only for people arriving from outside Kota "
                          "Serang.")
    assert refused_on(arriving, dead_in_the_register(CHILD)) == ["details.members.1"]
    assert refused_on(arriving, deaths={CHILD}) == ["details.members.1"]
    assert check(arriving, moved={CHILD}).details["members"] == [OUTSIDER, CHILD]
    stranger = nik_born(datetime.date(1993, 4, 4))
    assert check(skpwni_datang_body(nik=OUTSIDER, kk=OUTSIDE_KK, members=[stranger])).flags == (
        "register_unknown_nik",)


def test_a_pindah_datang_from_a_kota_serang_kk_is_a_move_within_the_city():
    with pytest.raises(ValidationFailed) as refusal:
        check(skpwni_datang_body(nik=FATHER, kk=KK))
    [message] = refusal.value.fields["details.move"]
    assert list(refusal.value.fields) == ["details.move"]
    assert "pindah keluar dari KK ini" in str(message)
    assert "A move within the city (antar_kecamatan or dalam_kecamatan) is applied for as a " \
           "pindah keluar SKPWNI" in message.en


def test_a_ktp_el_before_its_recording_says_whose_recording_and_where():
    """Outside audit: "NIK ini belum melakukan perekaman" - a number does
    not record itself, its holder does; an English reader does not know
    "the Dinas"."""
    not_recorded = Family(KK, "3673041010", (person(MOTHER, "istri", recorded=False),))
    [[message]] = refused(ktp(MOTHER), FakeRegister(not_recorded)).values()
    assert str(message) == ("Pemilik NIK ini belum melakukan perekaman KTP-el; lakukan "
                            "perekaman di kantor kecamatan atau Dinas lebih dulu.")
    assert message.en == ("The holder of this NIK has not had the KTP-el recording (perekaman) "
                          "yet; have it done at a kecamatan office or the Disdukcapil first.")


def test_birth_kk_must_hold_a_parent():
    assert check(birth_body(TODAY, mother_nik=MOTHER, father_nik=FATHER, kk=KK,
                            mother_name=None)).flags == ()
    family = Family("3673041201100009", "3673041010", (person(CHILD, kk="3673041201100009"),))
    register = FakeRegister(FAMILY, family)
    request = birth_body(TODAY, mother_nik=MOTHER, father_nik=FATHER, kk="3673041201100009")
    request["applicant"]["kk_number"] = KK
    assert refused_on(request, register) == ["details.kk_number"]


def test_a_death_verified_once_is_not_certified_again_nor_reported_by_the_dead():
    deceased = nik_born(datetime.date(1950, 1, 1))
    assert refused_on(death_body(TODAY, deceased_nik=deceased, nik=MOTHER, kk=KK),
                      deaths={deceased}) == ["details.deceased_nik"]
    request = death_body(TODAY, deceased_nik=deceased, nik=MOTHER, kk=KK)
    request["details"]["reporter_nik"] = FATHER
    assert refused_on(request, deaths={FATHER}) == ["details.reporter_nik"]


# --------------------------------------------------------------- the dead in other roles

def dead_in_the_register(*niks: str) -> FakeRegister:
    """FAMILY, with ``niks`` recorded as deceased."""
    return FakeRegister(Family(KK, FAMILY.kelurahan_code, tuple(
        person(member.nik, member.relation, member.ktp_el_recorded, member.nik in niks)
        for member in FAMILY.members)))


def sworn_birth(*witnesses: str) -> dict:
    return birth_body(TODAY, mother_nik=MOTHER, father_nik=FATHER, kk=KK, mother_name=None,
                      witnesses=list(witnesses),
                      documents=["sptjm_kelahiran", "buku_nikah", "kartu_keluarga"])


def test_a_deceased_witness_is_refused():
    dead, alive = nik_born(datetime.date(1970, 1, 1)), nik_born(datetime.date(1980, 1, 1))
    assert check(sworn_birth(dead, alive)).flags == ("register_unknown_nik",)
    assert refused_on(sworn_birth(alive, dead), deaths={dead}) == ["details.witnesses.1"]
    grandmother = nik_born(datetime.date(1950, 1, 1), female=True)
    family = Family(KK, "3673041010", (*FAMILY.members, person(grandmother, "orang_tua",
                                                                deceased=True)))
    assert refused_on(sworn_birth(grandmother, alive), FakeRegister(family)) == [
        "details.witnesses.0"]


BORN = datetime.date(2025, 5, 20)


def born_to(mother_nik: str = MOTHER, father_nik: str = FATHER, applicant: str = FATHER) -> dict:
    request = birth_body(BORN, mother_nik=mother_nik, father_nik=father_nik, kk=KK,
                         mother_name=None)
    request["applicant"]["nik"] = applicant
    return request


def test_a_mother_who_died_before_the_birth_is_refused():
    assert refused_on(born_to(), deaths={MOTHER: datetime.date(2025, 3, 1)}) == [
        "details.mother_nik"]
    with pytest.raises(ValidationFailed) as refusal:
        check(born_to(), deaths={MOTHER: datetime.date(2025, 3, 1)})
    [message] = refusal.value.fields["details.mother_nik"]
    assert (message, message.en) == (
        "Ibu tercatat meninggal dunia sebelum tanggal lahir anak (akta kematian diverifikasi).",
        "The mother is recorded as deceased before the child's birth date (a death "
        "certificate was verified).")


def test_a_mother_who_died_at_the_birth_or_the_register_says_died_is_flagged():
    checked = check(born_to(), deaths={MOTHER: BORN})
    assert checked.flags == ("parent_deceased",)
    assert check(born_to(), dead_in_the_register(MOTHER)).flags == ("parent_deceased",)


def test_a_father_who_died_more_than_300_days_before_the_birth_is_refused():
    long_before = {FATHER: BORN - datetime.timedelta(days=301)}
    assert refused_on(born_to(applicant=MOTHER), deaths=long_before) == ["details.father_nik"]


def test_a_posthumous_child_is_accepted_and_flagged():
    within = {FATHER: BORN - datetime.timedelta(days=300)}
    assert check(born_to(applicant=MOTHER), deaths=within).flags == ("parent_deceased",)
    # only the register knows: no date to compare, the operator checks
    assert check(born_to(applicant=MOTHER), dead_in_the_register(FATHER)).flags == (
        "parent_deceased",)


def test_a_kia_naming_a_deceased_parent_is_accepted_and_flagged():
    request = kia(CHILD, parent_nik=MOTHER, kk=KK)
    request["applicant"]["nik"] = FATHER
    assert check(request).flags == ()
    assert check(request, deaths={MOTHER}).flags == ("parent_deceased",)
    assert check(request, dead_in_the_register(MOTHER)).flags == ("parent_deceased",)


def died(deceased: str, on: datetime.date, births: dict, asked: list | None = None):
    """An Akta Kematian of ``deceased`` (FATHER reports it) checked with
    ``births``: {NIK: the birth dates of the births verified here naming it
    the mother}; ``asked``: the NIKs asked of."""
    def children_born(nik: str) -> list[datetime.date]:
        (asked if asked is not None else []).append(nik)
        return births.get(nik, [])
    reporter = MOTHER if deceased == FATHER else FATHER
    lookup = Lookup(FakeRegister(FAMILY), children_born=children_born)
    return check_application(ApplicationRequestSchema().load(death_body(
        on, deceased_nik=deceased, nik=reporter, kk=KK)), TODAY, lookup)


def refused_death(deceased: str, on: datetime.date, births: dict) -> dict:
    with pytest.raises(ValidationFailed) as refusal:
        died(deceased, on, births)
    return refusal.value.fields


def test_a_mother_dead_before_her_verified_childs_birth_is_refused():
    """The review's case the other way round: a birth verified first, then
    the mother's Akta Kematian dated before it."""
    births = {MOTHER: [BORN - datetime.timedelta(days=700), BORN]}
    fields = refused_death(MOTHER, BORN - datetime.timedelta(days=1), births)
    [message] = fields.pop("details.date_of_death")
    assert fields == {}
    assert (message, message.en) == (
        "Almarhumah tercatat sebagai ibu dari anak yang lahir 2025-05-20 (akta kelahiran "
        "diverifikasi), sesudah tanggal kematian ini; periksa tanggal kematian.",
        "The deceased is recorded as the mother of a child born on 2025-05-20 (a birth "
        "certificate was verified), after this date of death; check the date of death.")
    assert died(MOTHER, BORN, births)  # she died giving birth


def test_a_womans_death_asks_her_births_a_mans_and_other_documents_ask_nothing():
    # a father's births would need an index every application write pays for
    asked: list = []
    died(MOTHER, TODAY, {}, asked)
    died(FATHER, TODAY, {}, asked)
    assert asked == [MOTHER]

    def never(nik):
        raise AssertionError("asked outside an Akta Kematian")
    lookup = Lookup(FakeRegister(FAMILY), children_born=never)
    for request in (ktp(MOTHER), born_to(), kia(CHILD, parent_nik=MOTHER, kk=KK)):
        check_application(ApplicationRequestSchema().load(request), TODAY, lookup)


# --------------------------------------------------------------- roles only an adult fills

def test_a_toddler_reports_no_death_a_widow_of_16_does():
    """The review's reporter_nik of a 2-year-old was accepted: the reporter is
    17 or older, or (the applicant's own marital status) married, as a
    witness is checked."""
    request = death_body(TODAY, deceased_nik=FATHER, nik=MOTHER, kk=KK)
    request["details"]["reporter_nik"] = TODDLER
    [message] = refused(request)["details.reporter_nik"]
    assert list(refused(request)) == ["details.reporter_nik"]
    assert (message, message.en) == (
        "Pelapor harus berusia 17 tahun ke atas atau sudah/pernah kawin.",
        "The reporter must be 17 or older, or be or have been married.")
    widow = nik_born(years_before(TODAY, 16), female=True)
    family = Family(KK, "3673041010", (*FAMILY.members, person(widow, "famili_lain")))
    request = death_body(TODAY, deceased_nik=FATHER, nik=widow, kk=KK)
    request["applicant"]["marital_status"] = "cerai"
    assert check(request, FakeRegister(family))
    request["applicant"]["marital_status"] = "belum_kawin"
    assert refused_on(request, FakeRegister(family)) == ["details.reporter_nik"]


def test_a_kias_parent_is_an_adult_or_married_and_not_the_childs_sibling():
    """The review's KIA named the child's sister of 14 (both 'anak' on the
    KK) as the parent: refused naming details.parent_nik; so is a relative
    of 14 who is no sibling; a married mother of 16 applying is not."""
    child = nik_born(years_before(TODAY, 2))
    sister = nik_born(years_before(TODAY, 14), female=True)
    family = Family(KK, "3673041010", (*FAMILY.members, person(child), person(sister)))
    request = kia(child, parent_nik=sister, kk=KK)
    request["applicant"]["nik"] = FATHER
    [message] = refused(request, FakeRegister(family))["details.parent_nik"]
    assert message.en == ("The parent's NIK is recorded as the child's sibling (both are 'anak' "
                          "on this KK); give the NIK of the child's mother or father.")
    assert str(message).startswith("NIK orang tua tercatat sebagai saudara anak")
    cousin = Family(KK, "3673041010", (*FAMILY.members, person(child),
                                       person(sister, "famili_lain")))
    [message] = refused(request, FakeRegister(cousin))["details.parent_nik"]
    assert message.en == "The parent must be 17 or older, or be or have been married."
    mother = kia(child, parent_nik=sister, kk=KK)
    mother["applicant"]["marital_status"] = "kawin"
    assert check(mother, FakeRegister(cousin))


# --------------------------------------------------------------- births the NIK cannot date

# 100 on TODAY: the NIK says 01-03-25, which read by itself is 2025 - a baby
CENTENARIAN_BORN = datetime.date(1925, 3, 1)
ELDERLY_KK = "3673041201100005"


def elders(*people: tuple[str, datetime.date], recorded: bool = True) -> Family:
    """A family of ``people`` (NIK, the register's birth date) on ELDERLY_KK."""
    return Family(ELDERLY_KK, "3673041010", tuple(
        Person(nik, ELDERLY_KK, "Nama", parse_nik(nik, today=TODAY).sex, born, "kepala_keluarga",
               recorded, False) for nik, born in people))


def test_a_first_ktp_el_goes_by_the_registers_birth_date_when_it_knows_the_nik():
    """A centenarian is 100, not 0; the date is kept (``derived``) for the card."""
    nik = nik_born(CENTENARIAN_BORN)
    checked = check(ktp(nik, kk=ELDERLY_KK), FakeRegister(elders((nik, CENTENARIAN_BORN))))
    assert (checked.flags, checked.derived) == ((), {"birth_date": "1925-03-01",
                                                     "holder_full_name": "Nama"})
    # unknown to the register: the NIK read by itself decides (and refuses)
    assert refused_on(ktp(nik, kk=ELDERLY_KK)) == ["applicant.nik"]
    # a date the NIK does not carry is not taken for the NIK's
    other_day = FakeRegister(elders((nik, datetime.date(1925, 3, 2))))
    assert refused_on(ktp(nik, kk=ELDERLY_KK), other_day) == ["applicant.nik"]


def test_a_centenarian_witnesses_a_birth():
    witness, adult = nik_born(CENTENARIAN_BORN), nik_born(datetime.date(1980, 1, 1))
    request = birth_body(TODAY, mother_nik=MOTHER, father_nik=FATHER, kk=KK, witnesses=[
        witness, adult], documents=["sptjm_kelahiran", "buku_nikah", "kartu_keluarga"])
    register = FakeRegister(FAMILY, elders((witness, CENTENARIAN_BORN)))
    assert check(request, register)
    assert refused_on(request) == ["details.witnesses.0"]  # the NIK alone: 0 years old


def test_a_kia_is_for_a_child_under_17_by_the_registers_birth_date():
    """A centenarian's NIK reads as a baby's; the register's date refuses the
    KIA, asking nothing more than before (the applicant, then the KK, which
    holds the child). While the register cannot answer, the NIK alone
    decides: accepted, flagged for the operator."""
    elder, parent = nik_born(CENTENARIAN_BORN), nik_born(datetime.date(1960, 4, 9), female=True)
    request = kia(elder, parent_nik=parent, kk=ELDERLY_KK)
    register = FakeRegister(elders((parent, datetime.date(1960, 4, 9)), (elder, CENTENARIAN_BORN)))
    assert refused_on(request, register) == ["details.child_nik"]
    assert register.asked == 2
    assert check(request, FakeRegister(down=True)).flags == ("register_unchecked",)
    assert check(kia(CHILD, parent_nik=MOTHER, kk=KK)).flags == ()  # born 2015
    grown = nik_born(years_before(TODAY, 17))
    assert refused_on(kia(grown, parent_nik=MOTHER, kk=KK), FakeRegister(Family(
        KK, "3673041010", (*FAMILY.members, person(grown))))) == ["details.child_nik"]


def late_birth(born: datetime.date, mother: str, father: str | None = None) -> dict:
    """An adult's birth registered late (akta kelahiran terlambat), on ELDERLY_KK."""
    return birth_body(born, mother_nik=mother, father_nik=father, married=father is not None,
                      kk=ELDERLY_KK, mother_name=None, documents=[
                          "surat_keterangan_lahir", "kartu_keluarga",
                          *(["buku_nikah"] if father else [])])


def test_a_parents_age_at_the_birth_goes_by_the_registers_birth_date():
    """A father born 1920 was 85 at a 2005 birth: past the 80 a NIK read by
    itself allows, but the register's date says so."""
    father_born, mother_born = datetime.date(1920, 5, 10), datetime.date(1975, 2, 14)
    father, mother = nik_born(father_born), nik_born(mother_born, female=True)
    request = late_birth(datetime.date(2005, 7, 1), mother, father)
    assert check(request, FakeRegister(elders((father, father_born), (mother, mother_born))))
    assert refused_on(request) == ["details.father_nik"]  # the NIK alone: 2020 or 1920
    # a mother born 1924 (NIK year 24) for a late certificate of 1960, either way
    mother_born = datetime.date(1924, 6, 1)
    mother = nik_born(mother_born, female=True)
    assert check(late_birth(datetime.date(1960, 3, 2), mother),
                 FakeRegister(elders((mother, mother_born))))
    assert check(late_birth(datetime.date(1960, 3, 2), mother))


def test_a_parent_the_register_dates_too_young_is_refused():
    """NIK year 14 for a mother of 1960 reads as 1914 by itself; the register
    holds 2014 (a granddaughter's NIK typed for the mother's): refused, and
    the century before is not tried on the register's date. A KIA's parent
    too."""
    born = datetime.date(2014, 8, 17)
    granddaughter = nik_born(born, female=True)
    request = late_birth(datetime.date(1960, 3, 2), granddaughter)
    assert check(request)
    register = FakeRegister(elders((granddaughter, born)))
    assert refused_on(request, register) == ["details.mother_nik"]
    message = refused(request, register)["details.mother_nik"][0]
    assert "sedikitnya 10 tahun" in message and "by their birth date" in message.en
    child = nik_born(datetime.date(2020, 1, 5))
    sister_born = datetime.date(2012, 9, 9)  # 7 at the birth
    sister = nik_born(sister_born, female=True)
    assert refused_on(kia(child, parent_nik=sister, kk=ELDERLY_KK), FakeRegister(elders(
        (sister, sister_born), (child, datetime.date(2020, 1, 5))))) == ["details.parent_nik"]


def test_a_death_is_dated_against_the_birth_the_register_or_the_nik_gives_by_then():
    """Born 5 May 1925, died 1 March 2025: the NIK's 05-05-25 read as of the
    day of death is 1925, whether or not the register answers."""
    deceased = nik_born(datetime.date(1925, 5, 5), female=True)
    died = datetime.date(2025, 3, 1)
    request = death_body(died, deceased_nik=deceased, nik=MOTHER, kk=KK)
    assert check(request, FakeRegister(FAMILY, elders((deceased, datetime.date(1925, 5, 5)))))
    assert check(request)  # the register does not know the deceased
    # the register's birth date after the death
    young = FakeRegister(FAMILY, elders((deceased, datetime.date(2025, 5, 5))))
    assert refused_on(death_body(died, deceased_nik=deceased, nik=MOTHER, kk=KK), young) == [
        "details.date_of_death"]


# --------------------------------------------------------------- the names a certificate prints

DECEASED = nik_born(datetime.date(1945, 1, 1))
ELDERS = Family("3673020510050002", "3673021002", (
    Person(DECEASED, "3673020510050002", "SARMILI", "M", datetime.date(1945, 1, 1),
           "kepala_keluarga", True, False),))
NAMED = Family(KK, "3673041010", (
    Person(FATHER, KK, "Ahmad Fauzi", "M", datetime.date(1988, 3, 15), "kepala_keluarga", True,
           False),
    Person(MOTHER, KK, "Siti Aminah", "F", datetime.date(1990, 7, 12), "istri", True, False)))


def test_a_death_keeps_the_registers_name_of_the_deceased():
    checked = check(death_body(TODAY, deceased_nik=DECEASED, nik=MOTHER, kk=KK,
                               deceased_name=None), FakeRegister(FAMILY, ELDERS))
    assert (checked.derived, checked.flags) == ({"deceased_full_name": "SARMILI"}, ())
    # the citizen's own, case and spacing aside, is the same name
    checked = check(death_body(TODAY, deceased_nik=DECEASED, nik=MOTHER, kk=KK,
                               deceased_name=" sarmili "), FakeRegister(FAMILY, ELDERS))
    assert (checked.derived, checked.flags) == ({"deceased_full_name": "SARMILI"}, ())


def test_a_name_that_differs_from_the_registers_is_flagged_and_the_registers_kept():
    checked = check(death_body(TODAY, deceased_nik=DECEASED, nik=MOTHER, kk=KK,
                               deceased_name="Sarmili bin Jaka"), FakeRegister(FAMILY, ELDERS))
    assert checked.derived == {"deceased_full_name": "SARMILI"}
    assert checked.flags == ("register_name_differs",)
    assert checked.details["deceased_full_name"] == "Sarmili bin Jaka"  # what the citizen gave


@pytest.mark.parametrize("register", [FakeRegister(FAMILY), FakeRegister(FAMILY, down=True)],
                         ids=["unknown", "unreachable"])
def test_a_name_the_register_cannot_give_is_the_citizens(register):
    checked = check(death_body(TODAY, deceased_nik=DECEASED, nik=MOTHER, kk=KK,
                               deceased_name="Sarmili bin Jaka"), register)
    assert checked.derived == {}
    assert set(checked.flags) & {"register_unknown_nik", "register_unchecked"}
    assert checked.details["deceased_full_name"] == "Sarmili bin Jaka"


def test_a_birth_keeps_the_registers_names_of_both_parents():
    checked = check(birth_body(TODAY, mother_nik=MOTHER, father_nik=FATHER, kk=KK,
                               mother_name=None), FakeRegister(NAMED))
    assert checked.derived == {"mother_full_name": "Siti Aminah", "father_full_name": "Ahmad Fauzi"}
    assert checked.flags == ()


def test_a_fathers_name_without_his_nik_refused():
    request = birth_body(TODAY, mother_nik=MOTHER, kk=KK, married=False,
                         father_full_name="Ahmad Fauzi", documents=(
                             "surat_keterangan_lahir", "kartu_keluarga"))
    request["applicant"]["nik"] = MOTHER
    assert refused_on(request, FakeRegister(NAMED)) == ["details.father_full_name"]


# --------------------------------------------------------------- the client

def test_people_and_families_never_show_a_full_number():
    family = FAMILY
    assert MOTHER not in repr(family.member(MOTHER)) and KK not in repr(family)


# --------------------------------------------------------------- the sandbox's fixtures

def test_fixture_families_agree_with_their_own_numbers():
    families = json.loads(FIXTURES.read_text())["families"]
    wilayah = load_wilayah()
    niks = []
    for family in families:
        assert family_errors(family) == {}
        assert validate_kk(family["kk_number"]) == family["kk_number"]
        assert wilayah.kelurahan(family["kelurahan_code"])
        assert family["kelurahan_code"][:6] == family["kk_number"][:6]
        for member in family["members"]:
            info = parse_nik(member["nik"], today=TODAY)
            assert (info.sex, info.birth_date.isoformat()) == (member["sex"], member["birth_date"])
            niks.append(member["nik"])
    assert len(niks) == len(set(niks))
    members = [m for f in families for m in f["members"]]
    assert any(m["deceased"] for m in members)
    twins = [m for m in members if m["birth_date"] == "2018-02-03"]
    assert len(twins) == 2 and len({m["full_name"] for m in twins}) == 2


def test_the_example_bodies_in_the_api_docs_pass_against_the_fixture_families():
    """docs/api.md shows one body per document type: each is accepted, unflagged
    (the pindah datang arrival excepted: Jakarta's register is not ours)."""
    families = [Family.from_json(f) for f in json.loads(FIXTURES.read_text())["families"]]
    text = (Path(__file__).parents[2] / "docs" / "api.md").read_text()
    examples = [json.loads(block) for block in re.findall(r"```json\n(\{\"document_type\".*?)```",
                                                           text, re.S)]
    assert {example["document_type"] for example in examples} == {
        "akta_kelahiran", "akta_kematian", "skpwni", "kia"}
    for example in examples:
        checked = check(example, FakeRegister(*families))
        arriving = example["details"].get("move") == "pindah_datang"
        assert set(checked.flags) <= ({"register_unknown_nik", "register_unknown_kk"}
                                      if arriving else {"late_registration"}), example


def test_the_jemput_bola_examples_in_the_api_docs_pass_against_the_fixture_families():
    """docs/api.md's batch, as JSON and as CSV (the same row), is taken by the
    local stack's officer of Kelurahan Sukajaya: every row passes its checks."""
    families = [Family.from_json(f) for f in json.loads(FIXTURES.read_text())["families"]]
    text = (Path(__file__).parents[2] / "docs" / "api.md").read_text()
    text = text[text.index("### PUT /api/v1/jemput-bola/batches"):]
    as_json = json.loads(re.search(r"```json\n *(\{\"applications\".*?)```", text, re.S).group(1))
    as_csv = textwrap.dedent(re.search(r"```csv\n(.*?) *```", text, re.S).group(1)).encode()
    screening = Screening(FakeRegister(*families), lambda nik: False, lambda nik: False)
    json_requests, csv_requests = [], []
    for rows, into in ((json_rows(as_json["applications"]), json_requests),
                       (csv_rows(as_csv), csv_requests)):
        for row in rows:
            taken = check_batch_row(row, "3673041010", TODAY, screening)
            assert set(taken.checked.flags) <= {"late_registration"}
            into.append(({**taken.request, "details": None}, taken.checked.details))
    assert len(json_requests) == 1 and csv_requests == json_requests
