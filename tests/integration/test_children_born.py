"""The births a parent was named for (``NikRecords.children_born``), against
the real database server (outside review: an Akta Kematian dated before a
birth the deceased mothered, verified here, was accepted): a birth
certificate verified here counts, whatever became of it since - one still
pending or rejected does not; a mother's are found by her NIK at the head of
their subject keys: one read through an index, never a scan of the
applications, and no index of its own (a father's births are not read: the
index they would need costs every application write); an Akta Kematian's
screening refuses the date of death they rule out."""

from __future__ import annotations

import datetime

import pytest

from services.intake.nik_records import BIRTHS_BY_FATHER
from services.intake.schemas import ApplicationRequestSchema
from services.intake.screening import Screening
from services.intake.store import ApplicationStore
from services.intake.subjects import subject_key
from shared.errors import ValidationFailed
from tests.document_bodies import death_body
from tests.helpers import random_nik, store_on_a_database_of_its_own
from tests.integration.test_nik_record import stored
from tests.integration.test_notification_growth import Reads, plan_of
from tests.unit.test_batches import NoRegister

TODAY = datetime.date(2026, 12, 7)
DAY = datetime.timedelta(days=1)


@pytest.fixture
def read(backing):
    """A store on a database of its own, and the reads it sent."""
    reads = Reads()
    for store in store_on_a_database_of_its_own(backing, ApplicationStore, "intake_children",
                                                reads):
        ApplicationStore.ensure_indexes(store.db)
        yield store, reads


def birth(store: ApplicationStore, mother: str, father: str | None, born: datetime.date,
          status: str, steps: tuple[str, ...] = (), name: str = "Nur Aini") -> None:
    details = {"child": {"full_name": name, "birth_date": born.isoformat()},
               "mother_nik": mother, "father_nik": father}
    stored(store, "akta_kelahiran", random_nik(), status, steps,
           subject=subject_key("akta_kelahiran", {}, details), **details)


def test_a_parents_verified_births_are_read_whatever_became_of_them(read):
    store, _ = read
    mother, father = random_nik(female=True, year=1990), random_nik(year=1988)
    other_mother = random_nik(female=True, year=1992)
    first, second = datetime.date(2025, 1, 5), datetime.date(2026, 11, 15)
    birth(store, mother, father, second, "collected",
          ("verified", "printed", "ready_for_pickup", "collected"))
    birth(store, mother, father, second, "submitted", name="Nur Aina")  # pending: no record yet
    birth(store, mother, None, datetime.date(2026, 10, 1), "rejected", ("rejected",))
    birth(store, other_mother, father, first, "verified", ("verified",))
    # her own applications (a subject ``nik:``) are no births
    stored(store, "ktp_el", mother, "verified", ("verified",))
    stored(store, "akta_kematian", mother, "submitted", date_of_death="2026-01-01")

    assert store.children_born(mother) == [second]
    assert store.children_born(other_mother) == [first]
    assert store.children_born(random_nik(female=True)) == []


def test_each_parents_read_goes_through_an_index(read):
    store, reads = read
    for n in range(30):
        birth(store, random_nik(female=True), random_nik(), TODAY - n * DAY, "verified",
              ("verified",))
    mother = random_nik(female=True)
    birth(store, mother, random_nik(), TODAY, "verified", ("verified",))
    # none of its own: the father's (96629e2) went the same day
    assert BIRTHS_BY_FATHER not in store.db.applications.index_information()

    reads.sent.clear()
    assert store.children_born(mother) == [TODAY]
    [command] = reads.sent
    plan = plan_of(store.db, command)
    names = [stage["stage"] for stage in plan]
    assert "COLLSCAN" not in names, names
    assert "one_active_per_subject" in str(plan), plan


def test_a_death_screening_refuses_a_date_a_verified_birth_rules_out(read):
    """The review's case: a birth verified with mother 3673064707900042 born
    2026-11-15, then her Akta Kematian dated 2026-01-01 - 202 before; now
    400 on details.date_of_death. A man's death asks nothing of his births."""
    store, reads = read
    mother, father = random_nik(female=True, year=1990), random_nik(year=1988)
    born = datetime.date(2026, 11, 15)
    birth(store, mother, father, born, "verified", ("verified",))

    def screened(deceased: str, died: datetime.date):
        request = ApplicationRequestSchema().load(death_body(died, deceased_nik=deceased))
        return Screening.of(NoRegister(), store).check(request, TODAY)

    with pytest.raises(ValidationFailed) as refused:
        screened(mother, datetime.date(2026, 1, 1))
    [message] = refused.value.fields["details.date_of_death"]
    assert list(refused.value.fields) == ["details.date_of_death"]
    assert "2026-11-15" in message and "2026-11-15" in message.en
    assert screened(mother, born)  # died giving birth
    assert screened(father, born - 301 * DAY)  # not asked: left to the operator
    reads.sent.clear()
    screened(random_nik(female=True, year=1950), TODAY - DAY)
    births = [command for command in reads.sent
              if isinstance(command["filter"].get("subject_key"), dict)]
    assert len(births) == 1  # one read of her births
