"""Pos' news of a pickup come after its later news (outside review, HIGH),
through the real stack: a reprint that crossed Pos' courier is withdrawn
all the same.

Pos' courier takes a citizen's parcel, but that webhook is held (lost by
Pos, or two workers racing); an operator has the card printed again
meanwhile, and the station prints it. Pos' FAILED, after the reprint's
print, comes first: courier tells printing Pos took the parcel then, and
the reprint stands. Then the held IN_TRANSIT, dated before the reprint:
stale for the shipment's status, it still moves ``picked_up_at`` back and
tells printing again, which withdraws the reprint - the parcel's card is
valid again, the reprint's not. It used to stay the FAILED's time: the
citizen got a card whose QR said "revoked".

Also (outside review, MEDIUM): an ``ACCEPTED`` dated after Pos took the
parcel moved it back to ``dispatched``; it is kept in the history only.
"""

from __future__ import annotations

import datetime
import uuid

from shared.clock import WIB

from tests.e2e.test_courier import dispatched, shipment, webhook
from tests.e2e.test_printed_document import download, report_printed
from tests.e2e.test_printed_document import verify as verify_qr
from tests.e2e.test_reprint import reprint
from tests.helpers import claim_job_for, eventually
from tests.pdf_checks import pdf_qr_codes


def pos_news(system, posted: dict, status: str, at: str) -> dict:
    answer = webhook(system, {"eventId": uuid.uuid4().hex, "barcode": posted["barcode"],
                              "orderId": posted["shipment_id"], "status": status, "at": at,
                              "location": "Kota Serang"})
    assert answer.status_code == 200, answer.text
    return answer.json()


def whole_second(moment: datetime.datetime, later: bool = False) -> str:
    """Pos' times are whole seconds: ``moment``'s, or the next one."""
    return (moment + datetime.timedelta(seconds=1 if later else 0)).replace(
        microsecond=0).isoformat()


def test_a_pickup_told_after_a_later_failure_withdraws_the_reprint_it_crossed(
        system, mongo, courier_events, pos):
    jobs = mongo["printing"].print_jobs
    application_id, _, posted = dispatched(system, courier_events, pos)
    print_job_id = posted["shipment_id"].removeprefix("SDK-")

    taken_at = whole_second(datetime.datetime.now(WIB))  # Pos' courier takes it: news held
    requeued = reprint(system, print_job_id)
    assert requeued.status_code == 200, requeued.text
    second = claim_job_for(system.url("printing"), application_id)
    [second_qr] = pdf_qr_codes(download(system, second).content)
    report_printed(system, second)  # the reprint, printed after Pos took the parcel
    assert verify_qr(system, second_qr).json()["status"] == "valid"
    failed_at = whole_second(datetime.datetime.now(WIB), later=True)

    assert pos_news(system, posted, "FAILED", failed_at)["status"] == "delivery_failed"
    [told] = courier_events.wait_for(application_id, "parcel_picked_up")
    assert told["picked_up_at"] == failed_at
    eventually(lambda: jobs.find_one({"_id": print_job_id}).get("pos_picked_up_at"),
               what="printing hears of the first pickup")
    assert jobs.find_one({"_id": print_job_id}).get("reprint_withdrawn_at") is None

    # the held webhook: stale for the status, news of an earlier pickup all the same
    assert pos_news(system, posted, "IN_TRANSIT", taken_at)["status"] == "delivery_failed"
    told = eventually(lambda: len(found := courier_events.wait_for(
        application_id, "parcel_picked_up")) == 2 and found, what="parcel_picked_up again")
    assert told[1]["picked_up_at"] == taken_at and told[1]["event_id"] != told[0]["event_id"]
    view = shipment(system, posted["shipment_id"]).json()
    assert (view["status"], view["picked_up_at"]) == ("delivery_failed", taken_at)
    assert [(h["status"], h["stale"]) for h in view["history"]] == [
        ("FAILED", False), ("IN_TRANSIT", True)]

    withdrawn = eventually(lambda: (job := jobs.find_one({"_id": print_job_id}))
                           .get("reprint_withdrawn_at") and job, what="the reprint withdrawn")
    assert withdrawn["status"] == "printed"
    assert withdrawn["pos_picked_up_at"] == datetime.datetime.fromisoformat(taken_at)
    late = verify_qr(system, second_qr).json()  # the card Pos carries is the print before
    assert (late["status"], late["reason"]) == ("revoked", "not_issued"), late
    application = eventually(lambda: (found := mongo["intake"].applications.find_one(
        {"_id": application_id})) and "reprint_withdrawn" in [
            step["status"] for step in found["timeline"]] and found,
        what="the withdrawal on the citizen's timeline")
    assert application["status"] == "dispatched"
    assert [k for k, _ in courier_events.of(application_id)] == [
        "parcel_dispatched", "parcel_picked_up", "parcel_delivery_failed", "parcel_picked_up"]


def test_a_later_dated_accepted_leaves_a_parcel_in_transit_in_transit(system, courier_events,
                                                                      pos):
    application_id, _, posted = dispatched(system, courier_events, pos)
    now = datetime.datetime.now(WIB)
    in_transit_at = whole_second(now - datetime.timedelta(seconds=5))
    assert pos_news(system, posted, "IN_TRANSIT", in_transit_at)["status"] == "in_transit"
    assert pos_news(system, posted, "ACCEPTED", whole_second(now))["status"] == "in_transit"
    view = shipment(system, posted["shipment_id"]).json()
    assert (view["status"], view["picked_up_at"]) == ("in_transit", in_transit_at)
    assert [(h["status"], h["stale"]) for h in view["history"]] == [
        ("IN_TRANSIT", False), ("ACCEPTED", True)]
