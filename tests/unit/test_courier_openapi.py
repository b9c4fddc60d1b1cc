"""The OpenAPI document of courier (valid, every route: test_openapi_routes.py):
Pos' signature on the webhook and operators' tokens elsewhere, what each
route refuses, and the views operators get (a held shipment, one with its
history, a manifest) valid against it."""

from __future__ import annotations

import pytest
from jsonschema import ValidationError

from services.courier.exceptions import BadSignature, ReplayedWebhook
from services.courier.openapi import openapi_document
from services.courier.schemas import manifest_view, shipment_view
from services.courier.signatures import MISMATCH
from tests.openapi_answers import assert_answer_matches
from tests.unit.test_courier_domain import NOW, shipment

WEBHOOK = "/api/v1/pos/webhook"
SEND_BY_POS = "/api/v1/manifests/{manifest_id}/send-by-pos"


def test_pos_signs_the_webhook_and_operators_hold_the_rest():
    document = openapi_document()
    signature = document["components"]["securitySchemes"]["posSignature"]
    assert (signature["type"], signature["in"], signature["name"]) == (
        "apiKey", "header", "X-Pos-Signature")
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if path == WEBHOOK:
                expected = [{"posSignature": []}]
            elif path.startswith(("/api/v1/shipments", "/api/v1/manifests")):
                expected = [{"operator": []}]
            else:  # the probes, the metrics, this document
                expected = None
            assert operation.get("security") == expected, (method, path)


def test_the_webhooks_answers_are_pos_table():
    """docs/courier-api.md: 200, 400, 401, 404, 409, 413, 429, 503."""
    responses = openapi_document()["paths"][WEBHOOK]["post"]["responses"]
    assert {"200", "400", "401", "404", "409", "413", "429", "503"} <= set(responses)
    assert "bad_signature" in responses["401"]["description"]
    assert "replayed" in responses["409"]["description"]
    for status, refusal in ((401, BadSignature(MISMATCH)), (409, ReplayedWebhook())):
        assert_answer_matches(openapi_document(), "POST", WEBHOOK, status, refusal.to_body("en"))
    assert_answer_matches(openapi_document(), "POST", WEBHOOK, 200,
                          {"received": "evt-1", "status": "delivered"})


def test_each_operators_route_lists_what_it_refuses():
    paths = openapi_document()["paths"]
    release = paths["/api/v1/shipments/{shipment_id}/release"]["post"]["responses"]
    assert {"400", "401", "404", "409", "422", "503"} <= set(release)
    send = paths[SEND_BY_POS]["post"]["responses"]
    assert {"200", "202", "400", "401", "404", "409", "422", "503"} <= set(send)
    assert "not_yet_known" in send["503"]["description"]
    manifest = paths["/api/v1/manifests/{manifest_id}"]["get"]["responses"]
    assert "not_yet_known" in manifest["503"]["description"]


HISTORY = [{"key": "k1", "status": "DELIVERED", "at": "2026-11-29T10:05:00+07:00",
            "location": "Serang", "note": "Diterima ybs", "source": "webhook", "stale": False,
            "received_at": NOW}]


def stored(status: str, history=()) -> dict:
    """A shipment as courier stores it, for an application with a tracking
    code as intake issues them."""
    found = shipment(status, history)
    return {**found, "applications": [{**application, "tracking_code": "SDK7KQ2M9XA"}
                                      for application in found["applications"]]}


def dispatched_shipment() -> dict:
    return {**stored("delivered", HISTORY), "dispatched_at": NOW, "posting": {"receiver": {
        "subdistrict": "Sukajaya", "district": "Curug", "city": "Kota Serang"}},
        "collected": {"app-1": {"how": "counter", "at": NOW}}}


def test_a_shipment_with_its_history_matches_the_document():
    view = shipment_view(dispatched_shipment(), with_history=True)
    assert view["applications"][0]["collected"]["how"] == "counter"
    assert_answer_matches(openapi_document(), "GET", "/api/v1/shipments/{shipment_id}", 200,
                          view)
    page = {"shipments": [shipment_view(dispatched_shipment())], "next_cursor": None}
    assert_answer_matches(openapi_document(), "GET", "/api/v1/shipments", 200, page)
    with pytest.raises(ValidationError):  # the check can fail
        assert_answer_matches(openapi_document(), "GET", "/api/v1/shipments", 200,
                              {**page, "shipments": [{**view, "status": "lost"}]})


def test_a_parcel_recorded_back_at_the_dinas_answers_with_its_history():
    # docs/courier-api.md: "its history ending in an entry of source operator"
    # (audit hM: the answer left the history out, and the document allowed it)
    returned = {**dispatched_shipment(), "status": "returned",
                "returned_at_dinas": {"by": "operator-1", "at": NOW,
                                      "reason": "brought_back_by_pos"}}
    returned["history"] = returned["history"] + [
        {"status": "RETURNED", "at": "2026-11-29T10:06:00+07:00", "location": None, "note": None,
         "source": "operator", "stale": False, "received_at": NOW, "by": "operator-1"}]
    path = "/api/v1/shipments/{shipment_id}/returned"
    assert_answer_matches(openapi_document(), "POST", path, 200,
                          shipment_view(returned, with_history=True))
    with pytest.raises(ValidationError):
        assert_answer_matches(openapi_document(), "POST", path, 200, shipment_view(returned))


def test_a_held_shipment_matches_the_document():
    held = {**stored("held"), "barcode": None,
            "hold": {"reason": "address_incomplete", "fields": ["kelurahan_code"],
                     "since": NOW}}
    view = shipment_view(held)
    assert view["destination"] == {"subdistrict": None, "district": None, "city": None}
    assert_answer_matches(openapi_document(), "GET", "/api/v1/shipments/stuck", 200,
                          {"days": 3, "shipments": [view], "next_cursor": None})


MANIFEST = {"_id": "JB-3673041010-20261129-AB12CD", "kelurahan_code": "3673041010",
            "application_ids": ["app-1", "app-2"], "printed": ["app-1"]}


@pytest.mark.parametrize("manifest, shipment_made", [
    (MANIFEST, False),
    ({**MANIFEST, "by_pos": {"status": "refused", "decided_by": "operator-1",
                             "decided_at": NOW, "answered_at": NOW,
                             "reason": "collected_at_dinas"},
      "at_dinas": {"day": "2026-12-02"}}, False),
    ({**MANIFEST, "by_pos": {"status": "confirmed", "decided_by": "operator-1",
                             "decided_at": NOW}}, True)])
def test_a_manifests_view_matches_the_document(manifest, shipment_made):
    view = manifest_view(manifest, dispatched_shipment() if shipment_made else None)
    assert_answer_matches(openapi_document(), "GET", "/api/v1/manifests/{manifest_id}", 200,
                          view)
    if not shipment_made:
        assert_answer_matches(openapi_document(), "POST", SEND_BY_POS, 202, view)
    else:
        assert_answer_matches(openapi_document(), "POST", SEND_BY_POS, 200, view["shipment"])
