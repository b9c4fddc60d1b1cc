"""Hand-over lists against the real database server (``PrintStore`` in-process).

* a jemput-bola manifest of 50 applications, printed concurrently, goes back
  to its kelurahan as one ``batch_ready_for_kelurahan``; its officer records
  the hand-over per citizen (``document_collected``, how = kelurahan), and
  another kelurahan's officer cannot;
* a kecamatan's next-day jobs make one ``kecamatan_handover_ready`` when the
  last of them is printed; its officer records each hand-over only then
  (``document_collected``, how = kecamatan), another kecamatan's officer never.
"""

from __future__ import annotations

import datetime
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from services.printing.exceptions import DocumentNotFound, NotAtCounter
from shared.auth import Officer
from shared.clock import today_wib
from shared.events import build_event
from shared.offices import DINAS
from tests.integration.test_pickup_windows import rules as pickup_rules
from tests.integration.test_stations import queue_jobs, station_rules, store  # noqa: F401

MANIFEST = "JB-3673041010-20250605-ABCDEF"


def officers_day(rules) -> dict:
    """The slot of a list completed today: the Dinas, open hours, next working day."""
    day = rules.calendar.next_working_day(today_wib())
    return {"place": DINAS.name, "address": DINAS.address, "date": day.isoformat(),
            "start": f"{DINAS.opens:02d}:00", "end": f"{DINAS.closes:02d}:00"}


def payloads(store, event_type: str) -> list[dict]:
    return [row["payload"] for row in store.db.outbox.find({"event_type": event_type})]


def print_all(store, count: int) -> None:
    """A Dinas station claims in batches and prints, four at a time."""
    rules = station_rules()
    station = rules.station("dinas-1")

    def print_one(job):
        store.mark_printed(job["_id"], "dinas-1", job["lease_token"], pickup_rules(40), rules)

    printed = 0
    with ThreadPoolExecutor(max_workers=4) as pool:
        while printed < count:
            batch = store.claim(station, rules, 8, manifest=True) or store.claim(station, rules, 8)
            assert batch, "jobs left unclaimed"
            list(pool.map(print_one, batch))
            printed += len(batch)


def test_a_manifest_of_50_comes_back_as_one_handover(store):
    jobs = queue_jobs(store, 50, pickup_place_id="disdukcapil-serang", print_kind="certificate",
                      document_type="akta_kelahiran", delivery_method="pickup",
                      manifest_id=MANIFEST)
    # printing learns the members; half are printed before, half after
    accepted = build_event("batch_accepted", manifest_id=MANIFEST, batch_id="RT03-RW02",
                           kelurahan_code="3673041010",
                           application_ids=[job["application_id"] for job in jobs])
    print_all(store, 0)
    rules = pickup_rules(40)
    assert store.learn_manifest(accepted, rules)["application_ids"] == \
        accepted["application_ids"]
    assert store.learn_manifest(accepted, rules) is None  # redelivered: handled once
    print_all(store, 50)

    [ready] = payloads(store, "batch_ready_for_kelurahan")
    assert (ready["manifest_id"], ready["kelurahan_code"]) == (MANIFEST, "3673041010")
    # its officer collects it at the Dinas, all the next working day
    assert ready["slot"] == officers_day(rules)
    assert [item["application_id"] for item in ready["items"]] == accepted["application_ids"]
    assert all("nik" not in item for item in ready["items"])
    assert payloads(store, "document_ready_for_pickup") == []  # no citizen windows

    sukajaya = Officer("officer-sukajaya", "3673041010")
    elsewhere = Officer("officer-sukalaksana", "3673041011")
    first = jobs[0]
    with pytest.raises(DocumentNotFound):
        store.hand_over(first["tracking_code"], first["nik"], elsewhere, "kelurahan")
    with pytest.raises(DocumentNotFound):
        store.hand_over(first["tracking_code"], "3673045207909999", sukajaya, "kelurahan")
    assert store.hand_over(first["tracking_code"], first["nik"], sukajaya, "kelurahan")["status"] == \
        "collected"
    store.hand_over(first["tracking_code"], first["nik"], sukajaya, "kelurahan")  # again: nothing new
    [collected] = payloads(store, "document_collected")
    assert (collected["how"], collected["collected_by"]) == (
        "kelurahan", "officer-sukajaya@3673041010")


def test_a_kecamatan_list_is_handed_over_when_its_last_next_day_job_is_printed(store):
    event = {"event_id": uuid.uuid4().hex, "application_id": uuid.uuid4().hex,
             "tracking_code": "SDKNEXTDAY01", "document_type": "ktp_el",
             "nik": "3673041207050001", "full_name": "Rudi Hartono",
             "contact": {"phone": None, "email": None, "language": "id"},
             "delivery_method": "pickup", "delivery_address": None, "verified_by": "op-1",
             "print_kind": "card", "pickup_place_id": "disdukcapil-serang", "next_day": True}
    for n in range(3):
        store.queue_job({**event, "event_id": uuid.uuid4().hex, "nik": f"367304120705000{n}",
                         "application_id": uuid.uuid4().hex, "tracking_code": f"SDKNEXT{n}"})
    rules = station_rules()
    station = rules.station("dinas-1")
    jobs = store.claim(station, rules, 3)
    curug, kasemen = Officer("officer-curug", "367304"), Officer("officer-kasemen", "367302")
    for n, job in enumerate(jobs):
        assert payloads(store, "kecamatan_handover_ready") == []  # not complete yet
        with pytest.raises(NotAtCounter):  # at the Dinas (printed or not)
            store.hand_over(jobs[0]["tracking_code"], jobs[0]["nik"], curug, "kecamatan")
        store.mark_printed(job["_id"], "dinas-1", job["lease_token"], pickup_rules(40), rules)
    [handover] = payloads(store, "kecamatan_handover_ready")
    assert handover["kecamatan_code"] == "367304"
    assert handover["slot"] == officers_day(pickup_rules(40))
    assert handover["day"] == handover["slot"]["date"]
    assert sorted(item["tracking_code"] for item in handover["items"]) == [
        "SDKNEXT0", "SDKNEXT1", "SDKNEXT2"]
    assert payloads(store, "document_ready_for_pickup") == []
    assert handover["at_office_from"] == pickup_rules(40).calendar.next_working_day(
        datetime.date.fromisoformat(handover["day"])).isoformat()

    first = jobs[0]
    with pytest.raises(DocumentNotFound):
        store.hand_over(first["tracking_code"], first["nik"], kasemen, "kecamatan")
    with pytest.raises(DocumentNotFound):  # not a jemput-bola document
        store.hand_over(first["tracking_code"], first["nik"],
                        Officer("officer-sukajaya", "3673041010"), "kelurahan")
    assert store.hand_over(first["tracking_code"], first["nik"], curug,
                           "kecamatan")["status"] == "collected"
    store.hand_over(first["tracking_code"], first["nik"], curug, "kecamatan")  # nothing new
    [collected] = payloads(store, "document_collected")
    assert (collected["how"], collected["collected_by"]) == ("kecamatan", "officer-curug@367304")
