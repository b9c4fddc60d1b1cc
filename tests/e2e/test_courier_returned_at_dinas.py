"""An operator records a parcel of Pos' back at the Dinas (outside review):
Pos brought it back to the counter without ever sending RETURNED, and it
stayed with Pos for good - stuck, no operator action, the citizen's last
word "Pos tries again". Through the real stack: the shipment is returned
as if Pos had said so, printing gives the document a counter window and
tells the citizen by SMS, intake shows returned_to_dinas then
ready_for_pickup; the same request again tells nothing more, Pos' late
RETURNED is stale, a delivered parcel is refused naming its status.
"""

from __future__ import annotations

import datetime
import uuid

import requests

from shared.clock import WIB

from tests.e2e.test_courier import dispatched, pos_body, print_it, shipment, webhook
from tests.e2e.test_downstream_events import Citizen
from tests.e2e.test_office_handovers import sms_to
from tests.helpers import OPERATOR, eventually


def record_returned(system, shipment_id: str, body: dict | None = None,
                    headers: dict = OPERATOR) -> requests.Response:
    return requests.post(f"{system.url('courier')}/api/v1/shipments/{shipment_id}/returned",
                         json={"reason": "brought_back_by_pos"} if body is None else body,
                         headers=headers, timeout=10)


def pos_news(system, posted: dict, status: str) -> requests.Response:
    return webhook(system, {"eventId": uuid.uuid4().hex, "barcode": posted["barcode"],
                            "orderId": posted["shipment_id"], "status": status,
                            "at": datetime.datetime.now(WIB).replace(microsecond=0).isoformat()})


def test_a_parcel_pos_brought_back_silently_is_recorded_returned_and_goes_to_the_counter(
        system, courier_events, pos):
    citizen = Citizen(system, pos_body())
    print_it(system, citizen.application_id)
    [posted] = courier_events.wait_for(citizen.application_id, "parcel_dispatched")
    citizen.until(lambda v: v["status"] == "dispatched", "dispatched on the status page")

    assert record_returned(system, posted["shipment_id"], headers={}).status_code == 401
    unknown = record_returned(system, "SDK-" + "0" * 32)
    assert unknown.status_code == 404, unknown.text
    for body in ({}, {"reason": "hilang"}):
        refused = record_returned(system, posted["shipment_id"], body)
        assert refused.status_code == 400, refused.text
        assert list(refused.json()["error"]["fields"]) == ["reason"]
    assert shipment(system, posted["shipment_id"]).json()["status"] == "dispatched"

    recorded = record_returned(system, posted["barcode"])  # by barcode, as the stuck list shows
    assert recorded.status_code == 200, recorded.text
    view = recorded.json()
    assert (view["shipment_id"], view["status"]) == (posted["shipment_id"], "returned")
    assert (view["returned_at_dinas"]["by"], view["returned_at_dinas"]["reason"]) == (
        "operator-test", "brought_back_by_pos")
    assert [(h["status"], h["source"], h.get("by")) for h in view["history"]] == [
        ("RETURNED", "operator", "operator-test")]  # the answer carries it (audit hM)
    [returned] = courier_events.wait_for(citizen.application_id, "parcel_returned")
    assert (returned["shipment_id"], returned["reason"]) == (posted["shipment_id"], None)

    # printing's window at the counter, and the citizen told the parcel came back
    view = citizen.until(lambda v: v["status"] == "ready_for_pickup", "a window at the counter")
    steps = citizen.steps(view)
    assert steps.index("dispatched") < steps.index("returned_to_dinas") < steps.index(
        "ready_for_pickup")
    phone = citizen.body["applicant"]["phone"]
    eventually(lambda: [m for m in sms_to(system, phone) if citizen.tracking_code in m["message"]
                        and "gagal diantar Pos" in m["message"]],
               what="the SMS saying the parcel came back")

    # the same request again: answered, nothing told again; Pos' late word is stale
    again = record_returned(system, posted["shipment_id"], {"reason": "never_taken_by_pos"})
    assert again.status_code == 200, again.text
    assert again.json()["returned_at_dinas"] == recorded.json()["returned_at_dinas"]
    late = pos_news(system, posted, "RETURNED")
    assert late.status_code == 200 and late.json()["status"] == "returned", late.text
    history = shipment(system, posted["shipment_id"]).json()["history"]
    assert [(h["status"], h["source"], h["stale"], h.get("by")) for h in history] == [
        ("RETURNED", "operator", False, "operator-test"), ("RETURNED", "webhook", True, None)]

    # a delivered parcel is final: refused naming its status (and, published
    # after the requests above, its parcel_delivered shows they told nothing)
    other_id, _, other = dispatched(system, courier_events, pos)
    assert pos_news(system, other, "DELIVERED").status_code == 200
    courier_events.wait_for(other_id, "parcel_delivered")
    final = record_returned(system, other["shipment_id"])
    assert final.status_code == 409, final.text
    assert final.json()["error"]["code"] == "final"
    assert "delivered" in final.json()["error"]["message"]
    assert [k for k, _ in courier_events.of(citizen.application_id)] == [
        "parcel_dispatched", "parcel_returned"]
    assert [k for k, _ in courier_events.of(other_id)] == [
        "parcel_dispatched", "parcel_picked_up", "parcel_delivered"]
