"""A posting Pos took whose answer courier never got (a timeout): its retry
records the barcode and reads Pos' tracking at once - what Pos reported
meanwhile (its webhooks answered "not yet", and Pos may not send them again)
is not left for the poll of quiet shipments, hours later (outside audit N4).
The real database server and the Pos sandbox over HTTP; the service's own
post_shipment, no container (no timer polls here)."""

from __future__ import annotations

import pytest
import requests

from services.courier.exceptions import PosUnavailable
from services.courier.pos import PosClient
from services.courier.service import post_shipment
from shared.wilayah import load_postal_codes, load_wilayah
from tests.integration.test_courier_store import DINAS, printed, shipment_for, store, verified

__all__ = ["store"]  # the fixture


def test_a_posting_recorded_on_its_retry_takes_pos_news_from_meanwhile(store, backing):
    pos = backing.url("pos")
    regions = load_wilayah().with_postal_codes(load_postal_codes())
    client = PosClient(requests.Session(), pos, "sandbox-client", "sandbox-secret", 1.0, DINAS)
    application = verified()
    store.remember_application(application)
    shipment = shipment_for(store, printed(application), regions)
    requests.post(f"{pos}/sandbox/faults", json={"delay_after_accept_ms": 3000}, timeout=5)
    try:
        with pytest.raises(PosUnavailable):  # Pos took it; the answer came too late
            post_shipment(client, store, shipment)
    finally:
        requests.post(f"{pos}/sandbox/faults", json={"delay_after_accept_ms": 0}, timeout=5)
    [taken] = [s for s in requests.get(f"{pos}/sandbox/shipments", timeout=5).json()
               if s["orderId"] == shipment["_id"]]
    # Pos delivers it, its webhook lost
    assert requests.post(f"{pos}/sandbox/advance/{taken['barcode']}", timeout=10,
                         json={"status": "DELIVERED", "webhook_url": None}).ok

    again = store.db.shipments.find_one({"_id": shipment["_id"]})  # as the retry reads it
    post_shipment(client, store, again)
    recorded = store.db.shipments.find_one({"_id": shipment["_id"]})
    assert recorded["barcode"] == taken["barcode"]
    assert recorded["status"] == "delivered", recorded["status"]
