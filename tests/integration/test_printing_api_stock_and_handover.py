"""Printing's HTTP API run in-process on a database of its own, with the
tests' station token and no ``STATIONS`` entry (a Dinas with one counter):

* a station without an entry that reports ``out_of_blanko`` stops getting
  cards, is listed with its stock, and an operator's delivery brings its
  cards back (a station neither configured nor tracked is still 404);
* a kelurahan officer records a jemput-bola hand-over only once the whole
  manifest is printed and from their day at the Dinas (409 ``not_at_office``
  before), and - for a manifest sent by Pos (``PrintingEvents`` running too) -
  only once Pos delivered it; never a member Pos takes to its citizen's door
  (404: on no officer's list).
"""

from __future__ import annotations

import pytest
import requests
from nameko.testing.services import entrypoint_waiter

from deploy.local.stack import free_port
from services.printing.service import PrintingApi, PrintingEvents
from services.printing.store import PrintStore
from shared.events import build_event
from tests.helpers import (KELURAHAN_CODE, KELURAHAN_OFFICER, OPERATOR, STATION, BrokerProbe,
                           eventually, officers_day_came, publish, service_config,
                           store_on_a_database_of_its_own)
from tests.integration.test_pickup_windows import rules as pickup_rules
from tests.integration.test_stations import queue_jobs

MANIFEST = "JB-3673041010-20250605-PQ12RS"


@pytest.fixture
def store(backing):
    yield from store_on_a_database_of_its_own(backing, PrintStore, "printing_api")


def api_on(backing, container_factory, store, **config) -> str:
    """``PrintingApi`` started on the store's database with ``config``: its address."""
    port = free_port()
    container_factory(PrintingApi, service_config(
        backing, store.db.name, WEB_SERVER_ADDRESS=f"127.0.0.1:{port}", **config)).start()
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def printing(backing, container_factory, store) -> str:
    """The API's address; ``STATION`` is ``station-test-1``, in no ``STATIONS``."""
    return api_on(backing, container_factory, store, BLANKO_LOW_THRESHOLD="5")


@pytest.fixture
def published(backing):
    """The events of a type printing published since the test began (waits
    for the first)."""
    probe, seen = BrokerProbe(backing.amqp_uri, "printing.events"), []

    def of_type(event_type: str) -> list[dict]:
        def arrived():
            seen.extend(probe.drain())
            return [body for key, body in seen if key == event_type]
        return eventually(arrived, what=event_type)
    yield of_type
    probe.close()


def claim(printing: str, **body) -> requests.Response:
    return requests.post(f"{printing}/api/v1/station/jobs/claim", json=body or None,
                         headers=STATION, timeout=30)


def test_an_unconfigured_station_out_of_blanko_gets_cards_again_after_a_delivery(
        printing, store, published):
    queue_jobs(store, 3, pickup_place_id="disdukcapil-serang", print_kind="card")
    job = claim(printing).json()
    failed = requests.post(f"{printing}/api/v1/station/jobs/{job['print_job_id']}/failed",
                           json={"lease_token": job["lease_token"], "reason": "out_of_blanko"},
                           headers=STATION, timeout=30)
    assert failed.json() == {"print_job_id": job["print_job_id"], "status": "queued"}
    stocks = requests.get(f"{printing}/api/v1/operator/stations/blanko", headers=OPERATOR,
                          timeout=30)
    assert stocks.json() == {"stations": [
        {"station_id": "station-test-1", "stock": 0, "warned": True, "stock_discrepancy": 0,
         "recent_deliveries": []}]}
    [low] = published("blanko_low")
    assert (low["station_id"], low["stock_left"]) == ("station-test-1", 0)
    assert claim(printing).status_code == 204  # three cards wait: none for it at zero

    delivered = requests.post(f"{printing}/api/v1/operator/stations/station-test-1/blanko",
                              json={"delivered": 52}, headers=OPERATOR, timeout=30)
    assert delivered.status_code == 200, delivered.text
    assert delivered.json() == {"station_id": "station-test-1", "stock": 52, "warned": False}
    again = claim(printing)
    assert again.status_code == 200 and again.json()["document_type"] == "ktp_el"

    # a station neither configured nor tracked (a mistyped id): no stock made
    unknown = requests.post(f"{printing}/api/v1/operator/stations/station-tset-1/blanko",
                            json={"delivered": 52}, headers=OPERATOR, timeout=30)
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "not_found")
    assert unknown.json()["error"]["message"] == (
        "Stasiun cetak tidak dikenal: tidak ada di STATIONS dan stok blankonya belum pernah "
        "dicatat.")
    in_english = requests.post(f"{printing}/api/v1/operator/stations/station-tset-1/blanko",
                               json={"delivered": 52}, timeout=30,
                               headers={**OPERATOR, "Accept-Language": "en"})
    assert in_english.json()["error"]["message"] == (
        "Unknown printing station: not in STATIONS and no blanko stock recorded for it yet.")
    assert store.db.blanko.count_documents({}) == 1


def jemput_bola_jobs(store, manifest_id: str, count: int) -> list[dict]:
    """``count`` queued members of a manifest printing learnt from ``batch_accepted``."""
    jobs = queue_jobs(store, count, pickup_place_id="disdukcapil-serang", print_kind="card",
                      delivery_method="pickup", delivery_address=None, manifest_id=manifest_id)
    store.learn_manifest(build_event(
        "batch_accepted", manifest_id=manifest_id, batch_id="RT03-RW02",
        kelurahan_code=KELURAHAN_CODE,
        application_ids=[job["application_id"] for job in jobs]), pickup_rules(40))
    return jobs


def print_one(printing: str) -> dict:
    """A station claims the next manifest member and prints it."""
    [job] = claim(printing, manifest=True, max=1).json()["jobs"]
    printed = requests.post(f"{printing}/api/v1/station/jobs/{job['print_job_id']}/printed",
                            json={"lease_token": job["lease_token"]}, headers=STATION,
                            timeout=30)
    assert printed.status_code == 200, printed.text
    return job


def hand_over(printing: str, job: dict) -> requests.Response:
    return requests.post(f"{printing}/api/v1/kelurahan/handovers",
                         json={"tracking_code": job["tracking_code"], "nik": job["nik"]},
                         headers=KELURAHAN_OFFICER, timeout=30)


def test_a_kelurahan_hands_a_document_over_only_once_its_manifest_is_printed(
        printing, store, published):
    jemput_bola_jobs(store, MANIFEST, 2)
    first = print_one(printing)
    early = hand_over(printing, first)
    assert (early.status_code, early.json()["error"]["code"]) == (409, "not_at_office")

    print_one(printing)  # the last member: the manifest goes back to the kelurahan
    [ready] = published("batch_ready_for_kelurahan")
    assert ready["manifest_id"] == MANIFEST
    # still at the Dinas until the officer's day there
    before = hand_over(printing, first)
    assert (before.status_code, before.json()["error"]["code"]) == (409, "not_at_office")
    assert ready["day"] in before.json()["error"]["message"]
    officers_day_came(store.db, first["application_id"])
    handed = hand_over(printing, first)
    assert handed.status_code == 200 and handed.json()["status"] == "collected", handed.text
    [collected] = published("document_collected")
    assert (collected["tracking_code"], collected["how"]) == (first["tracking_code"], "kelurahan")


def test_a_manifest_sent_by_pos_is_handed_over_only_once_pos_delivered_it(
        backing, container_factory, printing, store):
    manifest_id = "JB-3673041010-20250605-POS123"
    jobs = jemput_bola_jobs(store, manifest_id, 2)
    printed = [print_one(printing), print_one(printing)]  # ready: printed in full
    events = container_factory(PrintingEvents, service_config(backing, store.db.name))
    events.start()

    def courier_says(event_type: str, job: dict, shipment_id: str = f"SDK-{manifest_id}"):
        with entrypoint_waiter(events, f"on_{event_type}", timeout=30):
            publish(backing.amqp_uri, "courier.events", event_type, build_event(
                event_type, application_id=job["application_id"],
                tracking_code=job["tracking_code"], document_type=job["document_type"],
                shipment_id=shipment_id, barcode="P2506050001"))

    for job in jobs:  # one parcel: one event per document it carries
        courier_says("parcel_dispatched", job)
    in_transit = hand_over(printing, printed[0])
    assert (in_transit.status_code, in_transit.json()["error"]["code"]) == \
        (409, "not_at_office")

    courier_says("parcel_delivered", jobs[0])
    handed = hand_over(printing, printed[0])
    assert handed.status_code == 200 and handed.json()["status"] == "collected", handed.text
    # a dispatch redelivered after the delivery does not put the parcel back on the road
    courier_says("parcel_dispatched", jobs[1])
    assert hand_over(printing, printed[1]).status_code == 200

    # a citizen's parcel is none of the manifests' business
    courier_says("parcel_dispatched", jobs[0], shipment_id=f"SDK-{jobs[0]['_id']}")
    assert store.db.manifests.count_documents({}) == 1


def test_a_member_pos_takes_to_the_door_is_not_handed_over_by_the_kelurahan(printing, store):
    """Outside review: the manifest delivered to the kelurahan office by Pos,
    its officer recorded the hand-over of a member whose citizen chose Pos
    to their door (200, ``document_collected``) - its own parcel still on
    the way there."""
    manifest_id = "JB-3673041010-20250605-DOOR01"
    at_the_office, to_the_door = jemput_bola_jobs(store, manifest_id, 2)
    store.db.print_jobs.update_one({"_id": to_the_door["_id"]},
                                   {"$set": {"delivery_method": "pos",
                                             "delivery_address": {"street": "Jl. Raya"}}})
    store.answer_pos_choice(build_event("manifest_sent_by_pos", manifest_id=manifest_id,
                                        kelurahan_code=KELURAHAN_CODE))
    printed = {job["print_job_id"]: job for job in (print_one(printing), print_one(printing))}
    store.manifest_parcel_news(manifest_id, {"pos_delivered": True})

    door = hand_over(printing, printed[to_the_door["_id"]])
    assert (door.status_code, door.json()["error"]["code"]) == (404, "not_found"), door.text
    assert store.db.print_jobs.find_one({"_id": to_the_door["_id"]})["status"] == "printed"
    office = hand_over(printing, printed[at_the_office["_id"]])
    assert office.status_code == 200 and office.json()["status"] == "collected", office.text
