"""Courier's retention of personal data against the real database server
(docs/courier-api.md, "Retention"):

* a shipment delivered or returned longer than ``RETENTION_DAYS`` ago loses
  its citizen's name, phone, street and Pos' free text, and so does its
  delivery record; it keeps its ids, tracking code, statuses and times, and
  a returned one still keeps a reprint at the counter;
* one final more recently, or not final at all, keeps everything;
* a second run changes nothing; two courier instances purging at once take
  each shipment once; a run takes one batch;
* the purge reads through its index, a window at a time;
* shipments final before retention came count from their last news;
* a Pos-bound application that ended with no final shipment - cancelled,
  its print cancelled, or collected at the Dinas - loses its delivery
  record's personal data ``RETENTION_DAYS`` after it ended; one still
  carried by a shipment not final keeps it (the shipment's purge takes it);
* the service's timer purges, and the operators' list and detail and Pos'
  webhook still answer for a purged shipment.
"""

from __future__ import annotations

import copy
import datetime
import json
import time
import uuid

import eventlet
import pytest
import requests

from deploy.local.sandboxes.pos_api import sign_webhook
from deploy.local.stack import DEV_SECRETS, free_port
from services.courier.service import CourierApi, CourierEvents
from services.courier.store import CourierStore
from shared.clock import utcnow
from shared.events import build_event
from shared.wilayah import load_wilayah
from tests.helpers import OPERATOR, eventually, service_config, store_on_a_database_of_its_own
from tests.integration.test_courier_listing import ShipmentReads, stages
from tests.integration.test_courier_store import printed, shipment_for, verified

YEAR = datetime.timedelta(days=365)
RECEIVER_PERSONAL = ("name", "phone", "address", "rt", "rw")
NOTE = "Diterima oleh Ibu Siti Aminah, hub 081234567805"


@pytest.fixture(scope="module")
def regions():
    return load_wilayah()


@pytest.fixture
def reads():
    return ShipmentReads()


@pytest.fixture
def store(backing, reads):
    for store in store_on_a_database_of_its_own(backing, CourierStore, "courier_retention",
                                                reads):
        CourierStore.ensure_indexes(store.db)
        yield store


def tracked(store: CourierStore, regions, status: str, final_days_ago: float | None = None) -> dict:
    """A citizen's shipment posted and tracked to ``status`` (Pos' status),
    its final news back-dated ``final_days_ago``; as stored."""
    application = verified()
    store.remember_application(application)
    shipment = shipment_for(store, printed(application), regions)
    barcode = f"P{uuid.uuid4().hex[:11].upper()}"
    store.record_dispatch(shipment["_id"], barcode)
    store.apply_tracking(barcode, [{"status": status, "at": utcnow().isoformat(),
                                    "location": "Jl. Melati No. 3, Sukajaya", "note": NOTE}],
                         "poll")
    if final_days_ago is not None:
        store.db.shipments.update_one({"_id": shipment["_id"]}, {"$set": {
            "retention_from": utcnow() - datetime.timedelta(days=final_days_ago)}})
    return store.db.shipments.find_one({"_id": shipment["_id"]})


def application_of(shipment: dict) -> str:
    return shipment["applications"][0]["application_id"]


def test_a_shipment_final_longer_than_the_retention_loses_its_personal_data(store, regions):
    delivered = tracked(store, regions, "DELIVERED", 400)
    returned = tracked(store, regions, "RETURNED", 366)
    recent = tracked(store, regions, "DELIVERED", 364)
    failing = tracked(store, regions, "FAILED")  # not final: no retention_from
    store.db.shipments.update_one({"_id": failing["_id"]}, {"$set": {
        "created_at": utcnow() - 2 * YEAR, "last_news_at": utcnow() - 2 * YEAR}})
    failing = store.db.shipments.find_one({"_id": failing["_id"]})
    untouched = {s["_id"]: s for s in (recent, failing)}
    deliveries_before = {d["_id"]: d for d in store.db.deliveries.find()}

    assert store.purge_personal_data(YEAR, 200) == 2

    for before in (delivered, returned):
        after = store.db.shipments.find_one({"_id": before["_id"]})
        receiver = after["posting"]["receiver"]
        assert not set(RECEIVER_PERSONAL) & set(receiver)
        assert receiver["subdistrict"] == "Sukajaya" and receiver["zipCode"] == "42171"
        assert all("note" not in entry and "location" not in entry for entry in after["history"])
        assert [entry["status"] for entry in after["history"]] == \
            [entry["status"] for entry in before["history"]]
        assert after["personal_data_purged_at"] and "retention_from" not in after
        for kept in ("status", "barcode", "applications", "created_at", "dispatched_at",
                     "status_at", "print_job_id", "kind"):
            assert after[kept] == before[kept], kept
        assert after["posting"]["itemDesc"] == before["posting"]["itemDesc"]  # tracking code
        delivery = store.db.deliveries.find_one({"_id": application_of(before)})
        assert not {"full_name", "contact", "delivery_address"} & set(delivery)
        kept_delivery = deliveries_before[application_of(before)]
        assert delivery["tracking_code"] == kept_delivery["tracking_code"]
        assert delivery["delivery_method"] == "pos" and delivery["personal_data_purged_at"]
    for shipment_id, before in untouched.items():
        assert store.db.shipments.find_one({"_id": shipment_id}) == before
        application_id = application_of(before)
        assert store.db.deliveries.find_one({"_id": application_id}) == \
            deliveries_before[application_id]
    assert NOTE not in json.dumps([s for s in store.db.shipments.find(
        {"personal_data_purged_at": {"$exists": True}})], default=str)

    # the returned record still keeps a reprint at the counter
    reprint = printed({"application_id": application_of(returned), "tracking_code": "SDK1234567"})
    assert shipment_for(store, reprint, regions) is None

    # a second run: nothing left to take, nothing changes
    everything = list(store.db.shipments.find()), list(store.db.deliveries.find())
    assert store.purge_personal_data(YEAR, 200) == 0
    assert (list(store.db.shipments.find()), list(store.db.deliveries.find())) == everything

    # Pos' later news of a purged shipment is kept without its text
    store.apply_tracking(returned["barcode"], [{
        "status": "DELIVERED", "at": utcnow().isoformat(), "note": NOTE,
        "location": "Jl. Melati"}], "webhook", uuid.uuid4().hex)
    after = store.db.shipments.find_one({"_id": returned["_id"]})
    assert after["status"] == "returned" and after["history"][-1]["stale"]
    assert "note" not in after["history"][-1] and "location" not in after["history"][-1]


def test_a_run_takes_a_batch_and_two_instances_at_once_take_each_shipment_once(store, regions):
    due = [tracked(store, regions, "DELIVERED", 400 + n) for n in range(7)]
    assert store.purge_personal_data(YEAR, 3) == 3
    runs = [eventlet.spawn(store.purge_personal_data, YEAR, 3) for _ in range(2)]
    taken = [run.wait() for run in runs]
    assert sorted(taken) == [1, 3]  # the loser ran again: the one left
    taken.append(store.purge_personal_data(YEAR, 3))
    assert 3 + sum(taken) == 7 and store.purge_personal_data(YEAR, 3) == 0
    assert store.db.shipments.count_documents({"personal_data_purged_at": {"$exists": True}}) == 7
    assert store.db.deliveries.count_documents(
        {"_id": {"$in": [application_of(s) for s in due]},
         "personal_data_purged_at": {"$exists": True}}) == 7


def test_the_purge_reads_through_its_index_a_window_at_a_time(store, regions, reads):
    """Two years of final shipments, one a day in all, a year's due. The
    local server reads every entry within an index's bounds before it stops
    at the limit: one read of "the due ones" read them all; a window of
    finality at a time reads those of the first days before the cut."""
    real = tracked(store, regions, "DELIVERED", 0)
    rows = []
    for day in range(730):
        row = copy.deepcopy(real)
        row.update({"_id": f"SDK-{uuid.uuid4().hex}", "barcode": f"P9{uuid.uuid4().hex[:10]}",
                    "retention_from": utcnow() - datetime.timedelta(days=day, hours=1)})
        row["applications"] = [{**row["applications"][0], "application_id": uuid.uuid4().hex}]
        rows.append(row)
    store.db.shipments.insert_many(rows)
    reads.taken()
    assert store.purge_personal_data(YEAR, 20) == 20
    examined = 0
    for command in reads.taken():
        asked = {key: command[key] for key in ("find", "filter", "limit") if key in command}
        plan = store.db.command("explain", asked, verbosity="executionStats")
        scans = [stage for stage in stages(plan["queryPlanner"]["winningPlan"])
                 if stage["stage"] in ("COLLSCAN", "IXSCAN")]
        if "retention_from" in command["filter"]:
            assert [(scan["stage"], scan["indexName"]) for scan in scans] == \
                [("IXSCAN", "purge_due")], scans
            examined += plan["executionStats"]["totalDocsExamined"]
    # explained after the run: the 20 purged have left the index since
    assert examined + 20 <= 3 * 20, examined  # of 365 due
    # the newest due first: from the windows of 1, 2, 4, 8 and 16 days past the year
    purged = {row["_id"] for row in store.db.shipments.find(
        {"personal_data_purged_at": {"$exists": True}}, projection={"_id": 1})}
    assert {row["_id"] for row in rows[365:380]} <= purged <= {row["_id"] for row in rows[365:396]}


def test_shipments_final_before_retention_came_count_from_their_last_news(backing, regions):
    for store in store_on_a_database_of_its_own(backing, CourierStore, "courier_retention_old"):
        CourierStore.ensure_indexes(store.db)
        delivered, failing = (tracked(store, regions, status) for status in ("DELIVERED", "FAILED"))
        store.db.shipments.update_many({}, {"$unset": {"retention_from": ""}})
        store.db.migrations.delete_many({})
        CourierStore.ensure_indexes(store.db)  # the first start of this version
        found = {s["_id"]: s for s in store.db.shipments.find()}
        assert found[delivered["_id"]]["retention_from"] == delivered["last_news_at"]
        assert "retention_from" not in found[failing["_id"]]


def ended(store: CourierStore, how: str, days_ago: float | None = None) -> dict:
    """A Pos-bound application's delivery record, the application ended
    ``how`` (``cancelled`` or ``collected`` at the Dinas) with no shipment
    final, back-dated ``days_ago``; as stored."""
    application = verified()
    store.remember_application(application)
    if how == "collected":
        store.record_collection(build_event(
            "document_collected", application_id=application["application_id"],
            tracking_code=application["tracking_code"], document_type="ktp_el",
            print_job_id=uuid.uuid4().hex, collected_by="operator-test", how="counter"))
    else:
        store.application_ended(application["application_id"])
    if days_ago is not None:
        store.db.deliveries.update_one({"_id": application["application_id"]}, {"$set": {
            "retention_from": utcnow() - datetime.timedelta(days=days_ago)}})
    return store.db.deliveries.find_one({"_id": application["application_id"]})


def test_a_delivery_that_ended_without_a_final_shipment_loses_its_personal_data(store, regions):
    cancelled, collected = ended(store, "cancelled", 400), ended(store, "collected", 366)
    recent = ended(store, "cancelled", 364)
    waiting = verified()  # verified, not ended: no retention yet
    store.remember_application(waiting)
    shipped = verified()  # its parcel pending with Pos when the application ended
    store.remember_application(shipped)
    shipment = shipment_for(store, printed(shipped), regions)
    store.application_ended(shipped["application_id"])
    store.db.deliveries.update_one({"_id": shipped["application_id"]}, {"$set": {
        "retention_from": utcnow() - 2 * YEAR}})
    untouched = {d["_id"]: d for d in store.db.deliveries.find(
        {"_id": {"$in": [recent["_id"], waiting["application_id"]]}})}
    assert "retention_from" in cancelled and "retention_from" in collected
    assert "retention_from" not in untouched[waiting["application_id"]]

    assert store.purge_ended_deliveries(YEAR, 200) == 2

    for before in (cancelled, collected):
        after = store.db.deliveries.find_one({"_id": before["_id"]})
        assert not {"full_name", "contact", "delivery_address"} & set(after)
        assert after["personal_data_purged_at"] and "retention_from" not in after
        for kept in ("tracking_code", "delivery_method", "document_type", "verified_at"):
            assert after[kept] == before[kept], kept
    for delivery_id, before in untouched.items():
        assert store.db.deliveries.find_one({"_id": delivery_id}) == before
    # the pending shipment may yet need the address: its own purge takes it
    kept = store.db.deliveries.find_one({"_id": shipped["application_id"]})
    assert kept["full_name"] == "Siti Aminah" and "retention_from" not in kept
    assert store.db.shipments.find_one({"_id": shipment["_id"]})["posting"]["receiver"]["name"]
    assert store.purge_ended_deliveries(YEAR, 200) == 0
    # verified again (rejected, resubmitted): its retention starts over
    store.remember_application({**verified(), "application_id": recent["_id"]})
    assert "retention_from" not in store.db.deliveries.find_one({"_id": recent["_id"]})


def signed(payload: dict) -> dict:
    body = json.dumps(payload).encode()
    return {"data": body, "headers": {
        "Content-Type": "application/json",
        "X-Pos-Signature": sign_webhook(DEV_SECRETS["POS_WEBHOOK_SECRET"], body, int(time.time()))}}


def test_the_service_purges_on_its_timer_and_still_answers_for_a_purged_shipment(
        backing, container_factory, store, regions):
    old = tracked(store, regions, "DELIVERED", 31)
    recent = tracked(store, regions, "DELIVERED", 29)
    cancelled = ended(store, "cancelled", 31)
    port = free_port()
    config = service_config(backing, store.db.name, WEB_SERVER_ADDRESS=f"127.0.0.1:{port}",
                            RETENTION_DAYS="30", PURGE_INTERVAL_SECONDS="0.2",
                            POLL_INTERVAL_SECONDS="3600", **{
                                key: DEV_SECRETS[key] for key in
                                ("POS_CLIENT_ID", "POS_CLIENT_SECRET", "POS_WEBHOOK_SECRET")})
    container_factory(CourierEvents, config).start()
    container_factory(CourierApi, config).start()
    eventually(lambda: store.db.shipments.find_one(
        {"_id": old["_id"], "personal_data_purged_at": {"$exists": True}}), what="the purge")
    assert "personal_data_purged_at" not in store.db.shipments.find_one({"_id": recent["_id"]})
    eventually(lambda: store.db.deliveries.find_one(
        {"_id": cancelled["_id"], "personal_data_purged_at": {"$exists": True}}),
        what="the ended delivery's purge")

    api = f"http://127.0.0.1:{port}/api/v1"
    listed = requests.get(f"{api}/shipments", params={"status": "delivered"}, headers=OPERATOR,
                          timeout=10)
    assert listed.status_code == 200, listed.text
    views = {view["shipment_id"]: view for view in listed.json()["shipments"]}
    assert views[old["_id"]]["personal_data_purged_at"] is not None
    assert views[old["_id"]]["destination"]["subdistrict"] == "Sukajaya"
    assert views[recent["_id"]]["personal_data_purged_at"] is None
    for key in (old["_id"], old["barcode"]):
        detail = requests.get(f"{api}/shipments/{key}", headers=OPERATOR, timeout=10)
        assert detail.status_code == 200, detail.text
        view = detail.json()
        assert view["status"] == "delivered" and view["barcode"] == old["barcode"]
        assert view["applications"] == old["applications"]
        assert [(entry["status"], entry["note"], entry["location"]) for entry in view["history"]] \
            == [("DELIVERED", None, None)]
        assert "Siti" not in detail.text and "Melati" not in detail.text

    news = signed({"eventId": uuid.uuid4().hex, "barcode": old["barcode"], "status": "DELIVERED",
                   "at": utcnow().isoformat(), "note": NOTE})
    answered = requests.post(f"{api}/pos/webhook", timeout=10, **news)
    assert answered.status_code == 200, answered.text
    assert answered.json()["status"] == "delivered"
