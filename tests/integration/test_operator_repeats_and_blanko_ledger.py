"""An outside review of the operators' endpoints and the blanko stock, as
stories on a store of its own (and the delivery's Idempotency-Key through
printing's HTTP API):

* a card of a holder who died, printed for a jemput-bola manifest the
  operator then chose Pos for, is cancelled until Pos takes the parcel and
  kept out of it meanwhile; once Pos has the parcel it leaves the held list
  and every answer says ``with_pos``;
* a station never downloads a new issuance of a job reported printed;
* a reprint or a release retried after a lost answer is answered 200 and
  says nothing again;
* a lease run out on its last attempt, cancelled before it is held, is
  cancelled ``lease_expired`` as the held list showed it;
* a blanko delivery retried under its key counts once, each delivery is
  kept in a ledger, a late ``out_of_blanko`` does not erase it, and a
  stock never reads below zero unseen.
"""

from __future__ import annotations

import datetime
import logging
import uuid

import pytest
import requests

from services.printing.exceptions import (BlankoKeyReused, DeceasedHoldKept, DocumentPrinted,
                                          WithPos)
from services.printing.issuance_store import IssuingPrintStore
from services.printing.stations import StationRules, parse_stations
from services.printing.tokens import generate
from shared.clock import utcnow
from shared.offices import PLACES
from tests.helpers import OPERATOR, random_nik
from tests.integration.test_pickup_windows import rules as pickup_rules
from tests.integration.test_printing_api_stock_and_handover import api_on
from tests.integration.test_stations import counted_store, queue_jobs

SID = "station-serang-1"
RULES = StationRules(parse_stations(f"{SID}@disdukcapil-serang:card+certificate:100", PLACES),
                     tuple(PLACES), datetime.timedelta(minutes=10), 3, blanko_threshold=5)
MANIFEST = "JB-3673041010-20261130-AB12CD"


@pytest.fixture
def store(backing):
    made = counted_store(backing, IssuingPrintStore, "printing_operator_repeats")
    store, _ = next(made)
    yield store
    made.close()


def events(store, event_type: str) -> list[dict]:
    return [row["payload"] for row in store.db.outbox.find({"event_type": event_type})]


def claimed(store, job: dict, rules: StationRules = RULES) -> dict:
    [mine] = [leased for leased in store.claim(rules.station(SID), rules, 100)
              if leased["_id"] == job["_id"]]
    return mine


def card(store, rules: StationRules = RULES, **fields) -> dict:
    [job] = queue_jobs(store, 1, nik=random_nik(), print_kind="card", document_type="ktp_el",
                       pickup_place_id="disdukcapil-serang", delivery_method="pickup", **fields)
    return claimed(store, job, rules)


def printed(store, **fields) -> dict:
    job = card(store, **fields)
    return store.mark_printed(job["_id"], SID, job["lease_token"], pickup_rules(40), RULES)


def verified(nik: str, document_type: str = "ktp_el", **extra) -> dict:
    return {"application_id": uuid.uuid4().hex,
            "tracking_code": "SDK" + uuid.uuid4().hex[:8].upper(),
            "document_type": document_type, "nik": nik, "full_name": "Siti Aminah",
            "contact": {"phone": None, "email": "siti@example.id", "language": "id"},
            "delivery_method": "pickup", "delivery_address": None,
            "pickup_place_id": "disdukcapil-serang", **extra}


def manifest_card_of_the_deceased(store) -> dict:
    """A KTP-el of a jemput-bola manifest, printed, its holder's death
    recorded since, while the manifest waits for another member (not
    released for its officer); the operator then chose Pos."""
    nik, waited_for = random_nik(), uuid.uuid4().hex
    application = verified(nik, manifest_id=MANIFEST)
    store.learn_manifest({"event_id": uuid.uuid4().hex, "manifest_id": MANIFEST,
                          "application_ids": [application["application_id"], waited_for],
                          "kelurahan_code": "3673041010"}, pickup_rules(40))
    store.queue_job(application)
    job = claimed(store, store.db.print_jobs.find_one({"nik": nik}))
    store.mark_printed(job["_id"], SID, job["lease_token"], pickup_rules(40), RULES)
    store.queue_job(verified(random_nik(), "akta_kematian",
                             document_details={"deceased_nik": nik}))
    answer = store.answer_pos_choice({"event_id": uuid.uuid4().hex, "manifest_id": MANIFEST})
    assert answer.type == "manifest_pos_confirmed"
    # the parcel waits for it: courier posts nothing with a dead person's card
    assert answer.payload["not_printed"] == sorted([application["application_id"], waited_for])
    return job


def test_a_dead_holders_card_of_a_manifest_sent_by_pos_is_cancelled_until_pos_has_the_parcel(
        store):
    job = manifest_card_of_the_deceased(store)
    assert [(held["_id"], held["status"], held["last_failure"])
            for held in store.held_jobs(RULES)] == [(job["_id"], "printed", "holder_deceased")]
    with pytest.raises(DeceasedHoldKept):  # "cancel this print job" - and cancel does
        store.release_held(job["_id"], "op-1", RULES)
    assert store.cancel_held(job["_id"], "op-1", RULES, pickup_rules(40))["status"] == \
        "cancelled"
    [cancelled] = events(store, "print_job_cancelled")
    assert (cancelled["reason"], cancelled["manifest_id"]) == ("holder_deceased", MANIFEST)
    assert store.held_jobs(RULES) == []
    manifest = store.db.manifests.find_one({"_id": MANIFEST})
    assert job["application_id"] not in manifest["printed_ids"] + manifest.get("deceased_ids", [])


def test_once_pos_has_the_parcel_the_card_leaves_the_list_and_every_answer_says_with_pos(store):
    job = manifest_card_of_the_deceased(store)
    store.manifest_picked_up_by_pos(MANIFEST, job["application_id"], utcnow())
    assert store.held_jobs(RULES) == []
    for decide in (lambda: store.cancel_held(job["_id"], "op-1", RULES, pickup_rules(40)),
                   lambda: store.release_held(job["_id"], "op-1", RULES),
                   lambda: store.reprint(job["_id"], "op-1", RULES)):
        with pytest.raises(WithPos):
            decide()
    assert events(store, "print_job_cancelled") == []


def test_a_job_reported_printed_gets_no_new_download(store):
    key = generate("test-key")
    job = card(store)
    _, first = store.issue(job["_id"], SID, job["lease_token"], key)
    store.mark_printed(job["_id"], SID, job["lease_token"], pickup_rules(40), RULES)
    with pytest.raises(DocumentPrinted):
        store.issue(job["_id"], SID, job["lease_token"], key)
    assert [row["_id"] for row in store.db.issuances.find({})] == [first["_id"]]
    # nor one never downloaded before its report
    other = card(store)
    store.mark_printed(other["_id"], SID, other["lease_token"], pickup_rules(40), RULES)
    with pytest.raises(DocumentPrinted):
        store.issue(other["_id"], SID, other["lease_token"], key)
    assert store.db.issuances.count_documents({"print_job_id": other["_id"]}) == 0


def test_a_reprint_retried_after_a_lost_answer_is_answered_again_and_said_once(store):
    job = printed(store)
    assert store.reprint(job["_id"], "op-1", RULES)["status"] == "queued"
    assert store.reprint(job["_id"], "op-1", RULES)["status"] == "queued"
    assert len(events(store, "print_job_requeued")) == 1
    claimed(store, job)  # a station took it meanwhile: still a repeat
    assert store.reprint(job["_id"], "op-1", RULES)["status"] == "leased"
    assert len(events(store, "print_job_requeued")) == 1


def test_a_release_retried_after_a_lost_answer_is_answered_again_and_said_once(store):
    job = card(store)
    store.mark_failed(job["_id"], SID, job["lease_token"], "data_error", None, RULES)
    assert store.release_held(job["_id"], "op-1", RULES)["status"] == "queued"
    assert store.release_held(job["_id"], "op-1", RULES)["status"] == "queued"
    assert len(events(store, "print_job_released")) == 1


def test_a_lapsed_last_lease_cancelled_before_it_is_held_says_lease_expired(store):
    job = card(store, attempts=1)  # its second attempt: the third is its last
    store.mark_failed(job["_id"], SID, job["lease_token"], "printer_fault", None, RULES)
    job = claimed(store, job)
    # its lease runs out (as ten minutes later): listed held, lease_expired
    store.db.print_jobs.update_one({"_id": job["_id"]},
                                   {"$set": {"lease_until": utcnow() - datetime.timedelta(1)}})
    [listed] = store.held_jobs(RULES)
    assert (listed["status"], listed["last_failure"]) == ("held", "lease_expired")
    store.cancel_held(job["_id"], "op-1", RULES, pickup_rules(40))
    assert [event["reason"] for event in events(store, "print_job_cancelled")] == \
        ["lease_expired"]


def test_a_delivery_retried_under_its_key_counts_once_and_is_kept_in_the_ledger(store):
    first = store.record_blanko_delivery(SID, 500, RULES, "op-1", "delivery-0001")
    again = store.record_blanko_delivery(SID, 500, RULES, "op-1", "delivery-0001")
    assert (first["stock"], again["stock"]) == (500, 500)
    assert store.record_blanko_delivery(SID, 20, RULES, "op-2")["stock"] == 520
    with pytest.raises(BlankoKeyReused):
        store.record_blanko_delivery(SID, 50, RULES, "op-1", "delivery-0001")
    [stock] = store.blanko_stocks()
    assert stock["stock"] == 520
    assert [(row["delivered"], row["recorded_by"], row["answer"]["stock"])
            for row in stock["recent_deliveries"]] == [(20, "op-2", 520), (500, "op-1", 500)]


def test_an_out_of_blanko_report_does_not_erase_a_later_delivery(store):
    store.record_blanko_delivery(SID, 2, RULES, "op-1")
    early, late = card(store), card(store)
    store.mark_failed(early["_id"], SID, early["lease_token"], "out_of_blanko", None, RULES)
    assert store.blanko_stocks()[0]["stock"] == 0
    store.record_blanko_delivery(SID, 500, RULES, "op-1")
    # a job leased before the delivery: the station ran out before it came
    store.mark_failed(late["_id"], SID, late["lease_token"], "out_of_blanko", None, RULES)
    assert store.blanko_stocks()[0]["stock"] == 500
    # leased after it: the station is out of blanko again
    fresh = card(store)
    store.mark_failed(fresh["_id"], SID, fresh["lease_token"], "out_of_blanko", None, RULES)
    assert store.blanko_stocks()[0]["stock"] == 0


def test_cards_printed_beyond_the_stock_are_counted_not_stored_below_zero(store, caplog):
    rules = StationRules(RULES.stations, RULES.places, RULES.lease, 1, blanko_threshold=5)
    store.record_blanko_delivery(SID, 1, rules, "op-1")
    first = card(store, rules)
    # its lease runs out on its last attempt: it no longer counts as held
    store.db.print_jobs.update_one({"_id": first["_id"]},
                                   {"$set": {"lease_until": utcnow() - datetime.timedelta(1)}})
    second = card(store, rules)
    with caplog.at_level(logging.WARNING, logger="services.printing.blanko_store"):
        for job in (first, second):  # the first station's late report still counts
            store.mark_printed(job["_id"], SID, job["lease_token"], pickup_rules(40), rules)
    [stock] = store.blanko_stocks()
    assert (stock["stock"], stock["stock_discrepancy"]) == (0, 1)
    assert any(SID in record.getMessage() and "stock_discrepancy" in record.getMessage()
               for record in caplog.records)


def test_the_delivery_endpoint_reads_the_idempotency_key(backing, container_factory, store):
    printing = api_on(backing, container_factory, store, BLANKO_LOW_THRESHOLD="5")
    store.db.blanko.insert_one({"_id": "station-test-1", "stock": 0})  # tracked
    url = f"{printing}/api/v1/operator/stations/station-test-1/blanko"

    def deliver(delivered: int, key: str) -> requests.Response:
        return requests.post(url, json={"delivered": delivered},
                             headers={**OPERATOR, "Idempotency-Key": key}, timeout=30)
    first, retried = deliver(500, "d-0001"), deliver(500, "d-0001")
    assert first.json() == retried.json() == {"station_id": "station-test-1", "stock": 500,
                                              "warned": False}
    reused = deliver(300, "d-0001")
    assert (reused.status_code, reused.json()["error"]["code"]) == (409,
                                                                     "idempotency_key_reused")
    assert "Idempotency-Key" in reused.json()["error"]["fields"]
    listed = requests.get(f"{printing}/api/v1/operator/stations/blanko", headers=OPERATOR,
                          timeout=30).json()
    [station] = listed["stations"]
    assert (station["stock"], station["stock_discrepancy"]) == (500, 0)
    assert [(row["delivered"], row["recorded_by"], row["stock_after"])
            for row in station["recent_deliveries"]] == [(500, "operator-test", 500)]
