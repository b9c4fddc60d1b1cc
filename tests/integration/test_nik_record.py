"""What intake's own applications say of a NIK (``NikRecords.nik_record``),
against the real database server: a verified death certificate, a card that
left the printer, a PRR application verified - and a first-issue KTP-el's
screening, which asks both, reads the applications once; the records asked
at the same moment are read together."""

from __future__ import annotations

import datetime
import uuid

import pytest
from pymongo import MongoClient

from services.intake.appointments import CardAlreadyIssued
from services.intake.exceptions import BirthAlreadyRegistered
from services.intake.nik_records import NikRecord
from services.intake.schemas import ApplicationRequestSchema
from services.intake.screening import Screening
from services.intake.store import ApplicationStore
from shared.errors import ValidationFailed
from tests.document_bodies import kia_body, nik_born, years_before
from services.intake.subjects import subject_key
from tests.helpers import CommandCounter, NoRelay, at_once, random_nik
from tests.unit.test_batches import NoRegister
from tests.unit.test_intake_screening import TODAY, birth as birth_request, request


@pytest.fixture
def counted(backing):
    name = f"intake_nik_record_{uuid.uuid4().hex[:8]}"
    counter = CommandCounter()
    client = MongoClient(backing.mongo_uri, tz_aware=True, event_listeners=[counter])
    ApplicationStore.ensure_indexes(client[name])
    yield ApplicationStore(client[name], client, NoRelay()), counter
    client.drop_database(name)
    client.close()


def stored(store: ApplicationStore, document_type: str, subject_nik: str, status: str,
           steps: tuple[str, ...] = (), channel: str = "web", subject: str | None = None,
           **details) -> None:
    """``subject``: its subject key, if not the NIK's (a newborn's)."""
    application_id = uuid.uuid4().hex
    store.db.applications.insert_one({
        "_id": application_id, "tracking_code": f"SDK{uuid.uuid4().hex[:8].upper()}",
        "document_type": document_type, "subject_key": subject or f"nik:{subject_nik}",
        "applicant": {"nik": subject_nik if document_type == "ktp_el" else random_nik()},
        "status": status, "channel": channel, "active": False, "active_slot": application_id,
        "details": details, "timeline": [{"status": step} for step in ("submitted", *steps)]})


def test_a_nik_record_reads_its_death_and_its_card(counted):
    store, _ = counted
    dead, carded, prr, waiting, rejected_death = (random_nik() for _ in range(5))
    stored(store, "akta_kematian", dead, "printed", ("verified", "printed"))
    stored(store, "ktp_el", carded, "collected", ("verified", "printed", "collected"))
    stored(store, "ktp_el", prr, "verified", ("verified",), channel="prr")
    stored(store, "ktp_el", waiting, "verified", ("verified",))  # no card yet
    stored(store, "akta_kematian", rejected_death, "rejected", ("rejected",))
    stored(store, "kia", carded, "submitted")  # another document's subject: not read
    assert store.nik_record(dead) == NikRecord(death_verified=True, card_issued=False)
    assert store.nik_record(carded) == NikRecord(death_verified=False, card_issued=True)
    assert store.nik_record(prr) == NikRecord(death_verified=False, card_issued=True)
    assert store.nik_record(waiting) == NikRecord(death_verified=False, card_issued=False)
    assert store.nik_record(rejected_death) == NikRecord(death_verified=False, card_issued=False)
    assert (store.death_verified(dead), store.card_issued(carded)) == (True, True)


def test_a_nik_record_carries_the_date_of_death_of_a_verified_certificate(counted):
    store, _ = counted
    dead, waiting = random_nik(), random_nik()
    stored(store, "akta_kematian", dead, "verified", ("verified",), date_of_death="2026-06-01")
    stored(store, "akta_kematian", waiting, "submitted", date_of_death="2026-06-01")
    assert store.nik_record(dead) == NikRecord(True, False, datetime.date(2026, 6, 1))
    assert store.nik_record(waiting) == NikRecord(False, False, None)


def test_a_kia_for_a_child_whose_ktp_el_was_printed_is_refused(counted):
    store, _ = counted
    child = nik_born(years_before(TODAY, 16), female=True)
    kia = ApplicationRequestSchema().load(kia_body(child))
    assert Screening.of(NoRegister(), store).check(kia, TODAY)
    stored(store, "ktp_el", child, "printed", ("verified", "printed"))
    with pytest.raises(ValidationFailed) as refused:
        Screening.of(NoRegister(), store).check(kia, TODAY)
    assert list(refused.value.fields) == ["details.child_nik"]


def test_a_first_issue_ktp_el_screening_reads_the_applications_once(counted):
    store, counter = counted
    before = len(counter.commands)
    checked = Screening.of(NoRegister(), store).check(request(), TODAY)
    assert checked.details["reason"] == "first_issue"
    assert counter.commands[before:] == ["find"]  # the death and the card, together

    nik = request()["applicant"]["nik"]
    stored(store, "ktp_el", nik, "printed", ("verified", "printed"))
    with pytest.raises(CardAlreadyIssued):
        Screening.of(NoRegister(), store).check(request(), TODAY)


def test_records_asked_at_once_are_read_together_each_its_own(counted):
    store, counter = counted
    expected = {}
    for n in range(8):
        dead, carded, waiting = random_nik(), random_nik(), random_nik()
        stored(store, "akta_kematian", dead, "printed", ("verified", "printed"))
        stored(store, "ktp_el", carded, "collected", ("verified", "printed", "collected"))
        stored(store, "ktp_el", waiting, "verified", ("verified",))
        expected.update({dead: NikRecord(True, False), carded: NikRecord(False, True),
                         waiting: NikRecord(False, False), random_nik(): NikRecord(False, False)})
    niks = list(expected)
    before = len(counter.commands)

    answers = at_once(len(niks), lambda n: store.nik_record(niks[n]))

    assert answers == [expected[nik] for nik in niks]
    finds = counter.commands[before:].count("find")
    assert finds < len(niks) / 4, finds



def test_a_birth_verified_here_is_registered_whatever_became_of_it(counted):
    """A birth certificate's subject (mother, birth date, name) with a
    ``verified`` step - collected since, say - is registered; one only
    rejected, or another child's, is not. A birth's screening asks it in
    one read, and refuses the same birth again (409 on ``details.child``)."""
    store, counter = counted
    born = birth_request("Raka Saputra")
    subject = subject_key("akta_kelahiran", {}, born["details"])
    assert store.birth_registered(subject) is False
    Screening.of(NoRegister(), store).check(born, TODAY)

    stored(store, "akta_kelahiran", random_nik(), "rejected", ("rejected",), subject=subject)
    assert store.birth_registered(subject) is False
    stored(store, "akta_kelahiran", random_nik(), "collected",
           ("verified", "printed", "ready_for_pickup", "collected"), subject=subject)
    assert store.birth_registered(subject) is True
    before = len(counter.commands)
    assert store.birth_registered(subject) is True
    assert counter.commands[before:] == ["find"]
    with pytest.raises(BirthAlreadyRegistered) as refused:
        Screening.of(NoRegister(), store).check(birth_request("RAKA  saputra"), TODAY)
    assert list(refused.value.fields) == ["details.child"]
    Screening.of(NoRegister(), store).check(birth_request("Raki Saputra"), TODAY)  # a twin


def moving(store: ApplicationStore, members: list[str], move: str, kind: str,
           verified_at: str | None) -> None:
    """An SKPWNI moving ``members`` (its subjects), verified at ``verified_at``
    (None: not verified)."""
    application_id = uuid.uuid4().hex
    steps = [{"status": "submitted", "at": "2026-01-01T01:00:00+00:00"},
             *([{"status": "verified", "at": verified_at}] if verified_at else [])]
    store.db.applications.insert_one({
        "_id": application_id, "tracking_code": f"SDK{uuid.uuid4().hex[:8].upper()}",
        "document_type": "skpwni", "subject_key": [f"nik:{nik}" for nik in members],
        "applicant": {"nik": members[0]}, "details": {"move": move, "members": members},
        "derived": {"move_kind": kind}, "status": steps[-1]["status"], "channel": "web",
        "active": False, "active_slot": application_id, "timeline": steps})


def test_a_member_of_a_verified_move_out_of_the_city_moved_out_until_moving_back(counted):
    """A verified pindah keluar to another kab/kota or province takes its
    members out of Kota Serang (one within the city does not, nor one not
    verified); a pindah datang verified after it brings one back."""
    store, _ = counted
    yusuf, nur, rina, sari, budi = (random_nik() for _ in range(5))
    moving(store, [yusuf, nur], "pindah_keluar", "antar_provinsi", "2026-02-01T02:00:00+00:00")
    moving(store, [rina], "pindah_keluar", "antar_kabkota", "2026-02-01T02:00:00+00:00")
    moving(store, [sari], "pindah_keluar", "antar_kecamatan", "2026-02-01T02:00:00+00:00")
    moving(store, [budi], "pindah_keluar", "antar_provinsi", None)
    moving(store, [yusuf], "pindah_datang", "antar_provinsi", "2026-06-01T02:00:00+00:00")
    moving(store, [rina], "pindah_datang", "antar_kabkota", "2026-01-15T02:00:00+00:00")
    stored(store, "ktp_el", nur, "collected", ("verified", "printed", "collected"))

    # asked at once, read together: an SKPWNI is each of its members'
    records = at_once(5, lambda n: store.nik_record((yusuf, nur, rina, sari, budi)[n]))
    assert [record.moved_out for record in records] == [False, True, True, False, False]
    assert records[1] == NikRecord(death_verified=False, card_issued=True, moved_out=True)
