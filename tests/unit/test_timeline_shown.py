"""The timeline a citizen is shown (``services.intake.domain.shown_timeline``)."""

from __future__ import annotations

from services.intake.domain import shown_timeline, timeline_entry


def test_a_pickup_courier_told_again_is_one_step():
    # courier tells parcel_picked_up again when Pos' news of an earlier pickup
    # comes late (forty-seventh session): two steps for the one parcel read as
    # the parcel taken twice
    application = {"timeline": [
        timeline_entry("submitted", "2026-12-07T01:00:00+00:00"),
        timeline_entry("dispatched", "2026-12-07T02:00:00+00:00", {"barcode": "P1"}),
        timeline_entry("picked_up", "2026-12-07T03:20:43+00:00", {"barcode": "P1"}),
        timeline_entry("delivery_failed", "2026-12-07T03:20:44+00:00", {"barcode": "P1"}),
        timeline_entry("picked_up", "2026-12-07T03:20:50+00:00", {"barcode": "P1"}),
        # a parcel of its own (a return, posted again) is picked up anew
        timeline_entry("picked_up", "2026-12-08T03:00:00+00:00", {"barcode": "P2"}),
    ]}
    shown = shown_timeline(application, "id")
    assert [(step["status"], step["detail"].get("barcode")) for step in shown] == [
        ("submitted", None), ("dispatched", "P1"), ("picked_up", "P1"),
        ("delivery_failed", "P1"), ("picked_up", "P2")]
    assert shown[2]["label"] == "Paket diambil kurir Pos"
