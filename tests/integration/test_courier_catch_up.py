"""A posting Pos took whose answer courier never got (a timeout): its retry
records the barcode and reads Pos' tracking at once - what Pos reported
meanwhile (its webhooks answered "not yet", and Pos may not send them again)
is not left for the poll of quiet shipments, hours later (outside audit N4).
The real database server and the Pos sandbox over HTTP; the service's own
post_shipment, no container (no timer polls here)."""

from __future__ import annotations

import pytest
import requests

from services.courier.exceptions import BarcodeNotYetKnown, PosUnavailable
from services.courier.pos import PosClient
from services.courier.dispatch import post_shipment
from shared.clock import utcnow
from shared.wilayah import load_postal_codes, load_wilayah
from tests.integration.test_courier_store import DINAS, printed, shipment_for, store, verified

__all__ = ["store"]  # the fixture


def a_posting(store, backing, timeout: float) -> tuple[str, PosClient, dict]:
    """A pending shipment about to be posted: (the Pos sandbox's URL, a client
    of it, the shipment)."""
    pos = backing.url("pos")
    regions = load_wilayah().with_postal_codes(load_postal_codes())
    client = PosClient(requests.Session(), pos, "sandbox-client", "sandbox-secret", timeout,
                       DINAS)
    application = verified()
    store.remember_application(application)
    return pos, client, shipment_for(store, printed(application), regions)


def test_a_posting_recorded_on_its_retry_takes_pos_news_from_meanwhile(store, backing):
    pos, client, shipment = a_posting(store, backing, 1.0)
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


def test_a_posting_pos_answers_409_stays_in_doubt_and_its_retry_posts_it(store, backing):
    """A courier review: a 409 (Pos holds an order of this id) was a refusal
    - dead-lettered at once, no longer in doubt, so Pos' webhooks about the
    order it holds were answered 404. It is in doubt, retried as an outage
    is (Pos answers a reused order id with its barcode)."""
    pos, client, shipment = a_posting(store, backing, 5.0)
    requests.post(f"{pos}/sandbox/faults", json={"fail_next": 1, "status": 409}, timeout=5)
    try:
        with pytest.raises(PosUnavailable):
            post_shipment(client, store, shipment)
    finally:
        requests.post(f"{pos}/sandbox/faults", json={"fail_next": 0, "status": 503}, timeout=5)
    with pytest.raises(BarcodeNotYetKnown):  # "not yet": a barcode of it may come
        store.apply_tracking("P26UNKNOWN0409", [{"status": "IN_TRANSIT",
                                                 "at": utcnow().isoformat()}], "webhook")
    again = store.db.shipments.find_one({"_id": shipment["_id"]})  # as the retry reads it
    assert again["posting_in_doubt_since"] is not None
    recorded = post_shipment(client, store, again)
    assert recorded["status"] == "dispatched" and recorded["barcode"]
