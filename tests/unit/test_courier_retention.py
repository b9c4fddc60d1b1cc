"""Courier's retention of personal data without I/O: the setting (a year
unless set, never under 30 days, typos refused), when a shipment's
retention starts (its final news), what a purged shipment keeps of Pos'
later news, a purged delivery never posted again, and what operators see."""

from __future__ import annotations

import datetime

import pytest

from services.courier.domain import delivery_record, dispatch_wanted, tracking_news
from services.courier.retention import (deliveries_to_purge, purge_batch, retention,
                                        shipment_purge)
from services.courier.schemas import shipment_view
from shared.settings import InvalidSetting
from tests.unit.test_courier_domain import NOW, pos, shipment, verified


def test_a_year_unless_set():
    assert retention({}) == datetime.timedelta(days=365)
    assert retention({"RETENTION_DAYS": ""}) == datetime.timedelta(days=365)  # unset
    assert retention({"RETENTION_DAYS": " 30 "}) == datetime.timedelta(days=30)
    assert retention({"RETENTION_DAYS": 730}) == datetime.timedelta(days=730)


@pytest.mark.parametrize("value", ["29", "0", "-5", "a year", "90.5", "3O0", True, 29])
def test_shorter_than_a_month_or_not_whole_days_is_refused(value):
    with pytest.raises(InvalidSetting) as refused:
        retention({"RETENTION_DAYS": value})
    assert refused.value.key == "RETENTION_DAYS"
    assert "at least 30" in str(refused.value)


def test_a_purge_takes_at_least_one_shipment_a_run():
    assert purge_batch({}) == 200 and purge_batch({"PURGE_BATCH": "50"}) == 50
    for value in ("0", "many"):
        with pytest.raises(InvalidSetting) as refused:
            purge_batch({"PURGE_BATCH": value})
        assert refused.value.key == "PURGE_BATCH"


@pytest.mark.parametrize("status, final", [("DELIVERED", True), ("RETURNED", True),
                                           ("FAILED", False), ("IN_TRANSIT", False)])
def test_retention_counts_from_the_final_news(status, final):
    update, _, _ = tracking_news(shipment("dispatched"), [pos(status, 5)], "webhook", NOW)
    assert update.get("retention_from") == (NOW if final else None)


def test_news_of_a_purged_shipment_is_kept_without_pos_free_text():
    purged = {**shipment("delivered", [], "2026-11-29T10:05:00+07:00"),
              "personal_data_purged_at": NOW}
    update, added, events = tracking_news(
        purged, [pos("RETURNED", 30, "Diterima oleh Ibu Siti, Jl. Melati 3")], "poll", NOW)
    assert events == [] and "status" not in update and "retention_from" not in update
    assert [(entry["status"], entry["stale"]) for entry in added] == [("RETURNED", True)]
    assert "note" not in added[0] and "location" not in added[0]


def test_a_purged_delivery_is_never_posted_again():
    delivery = delivery_record(verified(), NOW)
    assert dispatch_wanted(delivery, False)
    assert not dispatch_wanted({**delivery, "personal_data_purged_at": NOW}, False)


def test_a_delivery_record_goes_with_the_last_shipment_holding_its_data():
    def carrying(*application_ids, purged=True):
        return {"applications": [{"application_id": a} for a in application_ids],
                **({"personal_data_purged_at": NOW} if purged else {})}
    due = [carrying("a", "b"), carrying("c")]
    reprint = carrying("b", purged=False)  # a later shipment of b, not final yet
    assert deliveries_to_purge(due, [*due, reprint]) == ["a", "c"]


def test_operators_see_a_purged_shipment_without_its_citizen():
    stored = shipment("delivered", [{"key": "k", "status": "DELIVERED", "at": "…",
                                     "source": "poll", "stale": False, "received_at": NOW}])
    stored["posting"] = {"receiver": {"subdistrict": "Sukajaya", "district": "Curug",
                                      "city": "Kota Serang"}}
    view = shipment_view({**stored, "personal_data_purged_at": NOW}, with_history=True)
    assert view["personal_data_purged_at"] == NOW.isoformat()
    assert view["destination"] == {"subdistrict": "Sukajaya", "district": "Curug",
                                   "city": "Kota Serang"}
    assert view["history"][0]["note"] is None and view["history"][0]["location"] is None
    assert shipment_view(stored)["personal_data_purged_at"] is None


def test_the_purge_unsets_the_receiver_and_pos_free_text_and_marks_the_shipment():
    update = shipment_purge(NOW)
    assert set(update["$unset"]) == {
        "posting.receiver.name", "posting.receiver.phone", "posting.receiver.address",
        "posting.receiver.rt", "posting.receiver.rw", "history.$[].note",
        "history.$[].location", "retention_from"}
    assert update["$set"] == {"personal_data_purged_at": NOW}
