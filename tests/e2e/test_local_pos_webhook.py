"""The local stack wires the Pos sandbox to courier's webhook (outside audit:
in ``make run`` ``/sandbox/advance`` answered ``{"delivered": false}`` and the
citizen stayed ``dispatched`` until courier polled after hours of quiet).

The tests' stacks start the sandboxes as ``make run`` does
(``Stack.start_backing``): a DELIVERED advanced with no ``webhook_url``
reaches courier, signed with courier's secret, and the citizen sees it.
"""

from __future__ import annotations

import requests

from deploy.local.stack import DEV_SECRETS, Stack
from tests.e2e.test_courier import dispatched, shipment
from tests.helpers import OPERATOR, eventually


def test_the_pos_sandbox_is_started_with_couriers_webhook_and_secret(tmp_path):
    options = Stack(tmp_path).sandbox_options("pos")
    assert options == ["--webhook-url", "http://127.0.0.1:8004/api/v1/pos/webhook",
                       "--webhook-secret", DEV_SECRETS["POS_WEBHOOK_SECRET"],
                       # its parcels kept with the stack's data (outside audit S2)
                       "--journal", str(tmp_path / "pos-sandbox.jsonl")]
    assert Stack(tmp_path).sandbox_options("sms") == []


def test_a_parcel_advanced_at_pos_reaches_courier_and_the_citizen(system, courier_events):
    pos = system.url("pos")
    application_id, barcode, _ = dispatched(system, courier_events, pos)
    advanced = requests.post(f"{pos}/sandbox/advance/{barcode}", timeout=10,
                             json={"status": "DELIVERED", "note": "Diterima ybs"})
    assert advanced.json()["delivered"] is True and advanced.json()["status_code"] == 200
    courier_events.wait_for(application_id, "parcel_delivered")
    history = shipment(system, barcode).json()["history"]
    assert ("DELIVERED", "webhook") in [(h["status"], h["source"]) for h in history]

    def citizen_sees_delivered():
        stored = requests.get(f"{system.url('intake')}/api/v1/operator/applications/"
                              f"{application_id}", headers=OPERATOR, timeout=10).json()
        return stored["status"] == "delivered"
    eventually(citizen_sees_delivered, what="the application delivered at intake")
