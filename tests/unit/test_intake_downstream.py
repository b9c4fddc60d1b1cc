"""``downstream.record``: the one update a downstream event makes."""

from __future__ import annotations

from services.intake.domain import public_view, status_fields
import itertools

from services.intake.domain import STATUSES
from services.intake.downstream import (EVENT_MOVES, SETS_PICKUP, STEP_ONLY, gatherable,
                                        needs_status, record, recorded_as, together,
                                        usual_move)
from tests.stored_applications import submitted

SLOT = {"place": "Disdukcapil Kota Serang", "address": "Jl. Jend. Sudirman No. 5",
        "date": "2099-01-05", "start": "09:00", "end": "10:00"}
LATER_SLOT = {**SLOT, "date": "2099-01-07"}


def at(day: int) -> str:
    return f"2099-01-{day:02d}T00:00:00+00:00"


def applied(application: dict, update: dict) -> dict:
    return {**application, **update.get("$set", {}),
            "timeline": [*application["timeline"], update["$push"]["timeline"]]}


def verified() -> dict:
    return {**submitted(), "status": "verified", "status_rank": 20}


def test_ready_for_pickup_sets_the_window_and_a_move_replaces_it():
    app = applied(verified(), record(verified(), "document_ready_for_pickup",
                                     {"occurred_at": at(2), "slot": SLOT}))
    assert app["status"] == "ready_for_pickup" and app["pickup"]["slot"] == SLOT
    app = applied(app, record(app, "pickup_rescheduled", {"occurred_at": at(3),
                                                          "slot": LATER_SLOT}))
    assert app["status"] == "ready_for_pickup"
    assert public_view(app, "id")["pickup_slot"] == LATER_SLOT
    assert public_view(app, "id")["timeline"][-1]["detail"] == {"slot": LATER_SLOT}


def test_a_window_moved_before_its_announcement_arrived_keeps_the_move():
    app = applied(verified(), record(verified(), "pickup_rescheduled",
                                     {"occurred_at": at(3), "slot": LATER_SLOT}))
    update = record(app, "document_ready_for_pickup", {"occurred_at": at(2), "slot": SLOT})
    assert "pickup" not in update["$set"]
    assert applied(app, update)["pickup"]["slot"] == LATER_SLOT


def test_dispatch_keeps_the_barcode_for_the_citizen():
    app = applied(verified(), record(verified(), "parcel_dispatched", {
        "occurred_at": at(2), "shipment_id": "s-1", "barcode": "P2601000001"}))
    view = public_view(app, "en")
    assert (view["status"], view["parcel_barcode"]) == ("dispatched", "P2601000001")
    failed = record(app, "parcel_delivery_failed", {"occurred_at": at(3), "barcode": "P2601000001",
                                                    "reason": "Penerima tidak di tempat"})
    assert "$set" not in failed
    step = public_view(applied(app, failed), "en")["timeline"][-1]
    assert step["detail"]["reason"] == "Penerima tidak di tempat"
    assert step["label"] == "Delivery attempt failed, trying again"


def test_a_parcel_printed_again_before_pos_took_it_stays_dispatched_with_its_barcode():
    """A citizen's own parcel spoiled at the Dinas before Pos' courier took
    it is printed again: its Pos order stands, so the status stays
    ``dispatched`` with the barcode; the re-queue and the reprint are steps.
    Re-queued before the order was accepted, it is queued again, and the
    order's acceptance still leads on to ``dispatched``."""
    parcel = {"shipment_id": "SDK-0f3c9a1be2d44e6f8a7b5c4d3e2f1a0b", "barcode": "P2601000001"}
    printed = applied(verified(), record(verified(), "document_printed", {"occurred_at": at(1)}))
    app = applied(printed, record(printed, "parcel_dispatched", {"occurred_at": at(2), **parcel}))
    for event_type, day in (("print_job_requeued", 3), ("document_printed", 4)):
        update = record(app, event_type, {"occurred_at": at(day)})
        assert not {"status", "pickup"} & set(update.get("$set", {})), event_type
        app = applied(app, update)
    view = public_view(app, "id")
    assert (view["status"], view["parcel_barcode"]) == ("dispatched", "P2601000001")
    assert [step["status"] for step in app["timeline"]][-2:] == ["print_queued", "printed"]
    # re-queued while Pos had not accepted the order yet
    requeued = applied(printed, record(printed, "print_job_requeued", {"occurred_at": at(2)}))
    assert requeued["status"] == "print_queued"
    accepted = applied(requeued, record(requeued, "parcel_dispatched",
                                        {"occurred_at": at(3), **parcel}))
    assert accepted["status"] == "dispatched"
    assert "$set" not in record(accepted, "document_printed", {"occurred_at": at(4)})


def test_a_manifest_parcel_delivered_is_at_the_kelurahan_until_handed_over():
    # it read "delivered" (final: the NIK free to apply again) while the
    # document waited at the kelurahan office (outside audit)
    manifest = "SDK-JB-3673041010-20990101-ABCDEF"
    app = applied(verified(), record(verified(), "parcel_dispatched", {
        "occurred_at": at(2), "shipment_id": manifest, "barcode": "P2601000001"}))
    delivered = {"occurred_at": at(3), "shipment_id": manifest, "barcode": "P2601000001"}
    assert recorded_as("parcel_delivered", delivered) == "parcel_delivered_to_kelurahan"
    app = applied(app, record(app, recorded_as("parcel_delivered", delivered), delivered))
    view = public_view(app, "id")
    assert view["status"] == "dispatched"
    assert view["timeline"][-1]["label"] == "Siap diambil di kantor kelurahan"
    app = applied(app, record(app, "document_collected", {"occurred_at": at(4),
                                                          "how": "kelurahan"}))
    assert public_view(app, "id")["status"] == "collected"
    own = {**delivered, "shipment_id": "SDK-0f3c9a1be2d44e6f8a7b5c4d3e2f1a0b"}
    assert recorded_as("parcel_delivered", own) == "parcel_delivered"


def test_the_one_write_shortcuts_make_the_update_record_would():
    """``record_event`` writes these without reading the application first:
    the update must be the one ``record`` decides from the status read, under
    the guard's conditions."""
    slot = {"place": "Dinas", "date": "2026-12-01", "start": "08:00", "end": "09:00"}
    event = {"application_id": "a1", "occurred_at": at(2), "barcode": "P1", "reason": "x",
             "channel": "sms", "shipment_id": "s1", "slot": slot, "picked_up_at": at(1),
             "reprint_printed_at": None}
    for event_type in EVENT_MOVES:
        if event_type == "print_job_requeued":  # always from a read (its own test)
            assert usual_move(event_type, event) is None
            continue
        guard, update = usual_move(event_type, event)
        for status in guard["status"]["$in"]:
            for pickup in (None, {"slot": slot, "since": at(1)}):
                assert update == record({"_id": "a1", "status": status, "pickup": pickup},
                                        event_type, event)
        if event_type in SETS_PICKUP:  # a window set by a later event is not overwritten
            assert guard["pickup.since"] == {"$not": {"$gt": at(2)}}
            assert record({"_id": "a1", "status": "printed",
                           "pickup": {"slot": slot, "since": at(3)}},
                          event_type, event)["$set"].keys() == {*status_fields(
                              "ready_for_pickup", "a1")}
    for event_type in STEP_ONLY:
        assert usual_move(event_type, event) is None
        if not needs_status(event_type):
            assert record({"status": "verified", "pickup": None}, event_type, event) == {
                "$push": {"timeline": record({"status": "verified"}, event_type,
                                             event)["$push"]["timeline"]}}
    assert needs_status("pickup_rescheduled")


def test_events_written_together_make_what_they_would_one_by_one():
    """``together``: for every order a printed document's events can come in,
    and every status the application may stand in, the one write (where its
    guard lets it) leaves the application as the events' own writes, one
    after the other, would."""
    slot = {"place": "Dinas", "date": "2026-12-01", "start": "08:00", "end": "09:00"}
    events = [(event_type, {"application_id": "a1", **event}) for event_type, event in [
        ("print_job_queued", {"event_id": "q", "occurred_at": at(1)}),
        ("document_printed", {"event_id": "p", "occurred_at": at(2)}),
        ("document_ready_for_pickup", {"event_id": "r", "occurred_at": at(3), "slot": slot}),
        ("notification_sent", {"event_id": "n", "occurred_at": at(4), "channel": "sms"})]]
    assert all(gatherable(event_type) for event_type, _ in events)
    written = 0
    for order in itertools.permutations(events):
        gathered = together(list(order))
        if gathered is None:
            continue
        guard, update, taken = gathered
        assert guard["seen_events"] == {"$nin": [order[n][1]["event_id"] for n in taken]}
        for status in STATUSES:
            if "status" in guard and status not in guard["status"]["$in"]:
                continue
            app = one_by_one = {"_id": "a1", "status": status, "pickup": None, "timeline": []}
            for n in taken:
                one_by_one = applied(one_by_one, record(one_by_one, *order[n]))
            at_once = {**app, **update.get("$set", {}),
                       "timeline": update["$push"]["timeline"]["$each"]}
            assert at_once == one_by_one
            written += 1
    assert written > 0
    assert together([events[2], events[1]]) is None  # printed cannot follow ready: alone
    assert not gatherable("pickup_rescheduled")  # it depends on the window read


def test_a_card_waiting_at_the_counter_whose_holder_died_ends_print_cancelled():
    """Outside audit T1: printing now gives up a printed card whose holder
    died since; intake ends its application (final: the subject is free)."""
    app = applied(verified(), record(verified(), "document_ready_for_pickup",
                                     {"occurred_at": at(2), "slot": SLOT}))
    app = applied(app, record(app, "print_job_cancelled", {"occurred_at": at(3),
                                                           "reason": "holder_deceased"}))
    assert app["status"] == "print_cancelled"


def test_a_re_queued_print_takes_the_window_away_unless_the_reprint_s_came_first():
    """Outside audit T1 F2: an operator re-queues a printed document still at
    the Dinas; the reprint's window, come before it, stays."""
    ready = applied(verified(), record(verified(), "document_ready_for_pickup",
                                       {"occurred_at": at(2), "slot": SLOT}))
    requeued = applied(ready, record(ready, "print_job_requeued", {"occurred_at": at(3)}))
    assert requeued["status"] == "print_queued" and requeued["pickup"] is None
    assert "pickup_slot" not in public_view(requeued, "id")
    again = applied(requeued, record(requeued, "document_ready_for_pickup",
                                     {"occurred_at": at(4), "slot": LATER_SLOT}))
    assert again["status"] == "ready_for_pickup" and again["pickup"]["slot"] == LATER_SLOT
    # the reprint's window announced before the re-queue came: a step only
    late = record(again, "print_job_requeued", {"occurred_at": at(3)})
    assert late["$set"] == {"requeued_at": at(3)}  # noted, moves nothing
    assert applied(again, late)["status"] == "ready_for_pickup"
    # decided from a read only (the timeline), never gathered with others
    assert usual_move("print_job_requeued", {"occurred_at": at(3), "application_id": "a"}) is None
    assert not gatherable("print_job_requeued") and needs_status("print_job_requeued")


def test_a_re_queue_overtaken_by_its_reprint_s_print_keeps_an_office_document_printed():
    """An office's document (a kecamatan's next-day list, a jemput-bola
    manifest) has no window: the reprint's ``document_printed`` come before
    its re-queue is the only sign the re-queue is old news."""
    printed = applied(verified(), record(verified(), "document_printed", {"occurred_at": at(2)}))
    reprinted = applied(printed, record(printed, "document_printed", {"occurred_at": at(4)}))
    assert reprinted["status"] == "printed"
    late = record(reprinted, "print_job_requeued", {"occurred_at": at(3)})
    assert late["$set"] == {"requeued_at": at(3)}
    assert applied(reprinted, late)["status"] == "printed"
    # in order, the re-queue moves it back
    requeued = record(printed, "print_job_requeued", {"occurred_at": at(3)})
    assert requeued["$set"]["status"] == "print_queued"


def test_a_re_queue_come_before_the_print_it_replaced_keeps_that_print_s_ready_away():
    """Outside audit D: the operator re-queued a document just printed; the
    re-queue reached intake before the print and its window (each event type
    has its queue), which then moved the application to "ready" with the
    old window until the reprint's came."""
    queued = {**verified(), "status": "print_queued", "status_rank": 30}
    requeue = record(queued, "print_job_requeued", {"occurred_at": at(3)})
    assert requeue["$set"] == {"requeued_at": at(3)}  # nothing to move back yet
    app = applied(queued, requeue)
    for event_type, event in (("document_printed", {"occurred_at": at(2)}),
                              ("document_ready_for_pickup", {"occurred_at": at(2), "slot": SLOT}),
                              ("pickup_rescheduled", {"occurred_at": at(2),
                                                      "slot": LATER_SLOT})):
        update = record(app, event_type, event)
        assert "$set" not in update, event_type  # steps of the replaced print only
        app = applied(app, update)
    assert app["status"] == "print_queued" and app.get("pickup") is None
    # the one-write shortcut of each would not match: re-queued after it
    for event_type in ("document_printed", "document_ready_for_pickup"):
        guard, _ = usual_move(event_type, {"application_id": "a", "occurred_at": at(2),
                                           "slot": SLOT})
        assert guard["requeued_at"] == {"$not": {"$gt": at(2)}}
    # the reprint's own print and window do move it
    app = applied(app, record(app, "document_printed", {"occurred_at": at(4)}))
    app = applied(app, record(app, "document_ready_for_pickup",
                              {"occurred_at": at(4), "slot": LATER_SLOT}))
    assert app["status"] == "ready_for_pickup" and app["pickup"]["slot"] == LATER_SLOT
    # gathered together, the earliest of them guards the write
    both = together([("document_printed", {"application_id": "a", "occurred_at": at(4),
                                           "event_id": "e1"}),
                     ("document_ready_for_pickup", {"application_id": "a", "slot": SLOT,
                                                    "occurred_at": at(2), "event_id": "e2"})])
    assert both[0]["requeued_at"] == {"$not": {"$gt": at(2)}}


def withdrawn_by_printing(picked_up: int, decided: int, reprinted: int | None = None) -> dict:
    """Printing's ``reprint_withdrawn``: Pos took the parcel on day
    ``picked_up``, printing withdrew the reprint on day ``decided``; the
    reprint was printed on day ``reprinted`` (at midnight less a second:
    its ``document_printed`` is emitted just after), or not."""
    return {"occurred_at": at(decided), "picked_up_at": at(picked_up),
            "reprint_printed_at": None if reprinted is None
            else at(reprinted).replace("00:00:00", "23:59:59").replace(
                f"-{reprinted:02d}T", f"-{reprinted - 1:02d}T")}


def test_a_reprint_pos_overtook_is_withdrawn_on_the_citizen_s_timeline():
    """Outside audit J F2: a reprint printed, then withdrawn (Pos' news came
    late, dated before that print), left "Dokumen dicetak" before "Paket
    diambil kurir Pos", as if the reprint were what Pos carries. Printing's
    ``reprint_withdrawn`` puts the application back at ``printed`` (the
    print Pos carries) and shows the reprint's print as withdrawn - in
    either order of the reprint's print and the withdrawal."""
    printed = applied(verified(), record(verified(), "document_printed", {"occurred_at": at(1)}))
    requeued = applied(printed, record(printed, "print_job_requeued", {"occurred_at": at(2)}))
    assert requeued["status"] == "print_queued"
    reprinted = applied(requeued, record(requeued, "document_printed", {"occurred_at": at(4)}))
    picked = applied(reprinted, record(reprinted, "parcel_picked_up",
                                       {"occurred_at": at(5), "barcode": "P1"}))
    done = applied(picked, record(picked, "reprint_withdrawn", withdrawn_by_printing(3, 6, 4)))
    assert done["status"] == "printed"
    for lang, label in (("id", "Dokumen dicetak ulang (dibatalkan: Pos membawa cetakan "
                                "sebelumnya)"),
                        ("en", "Document reprinted (withdrawn: Pos carries the earlier print)")):
        steps = [(step["status"], step.get("withdrawn", False), step["label"])
                 for step in public_view(done, lang)["timeline"]]
        assert [step[:2] for step in steps] == [
            ("submitted", False), ("printed", False), ("print_queued", False),
            ("printed", True), ("picked_up", False), ("reprint_withdrawn", False)]
        assert steps[3][2] == label
    assert public_view(done, "id")["timeline"][-1]["label"].startswith("Cetak ulang dibatalkan")
    # the withdrawal first: the late re-queue moves nothing, the reprint's
    # print is a withdrawn step
    first = applied(printed, record(printed, "reprint_withdrawn", withdrawn_by_printing(3, 6, 4)))
    assert first["status"] == "printed"
    late = record(first, "print_job_requeued", {"occurred_at": at(2)})
    assert late["$set"] == {"requeued_at": at(2)}
    late_print = record(applied(first, late), "document_printed", {"occurred_at": at(4)})
    assert "$set" not in late_print
    shown = public_view(applied(applied(first, late), late_print), "id")["timeline"]
    assert [step.get("withdrawn", False) for step in shown if step["status"] == "printed"] \
        == [False, True]
    # a reprint not printed yet: from its queue (or held) back to printed, in
    # the one write without a read
    for status in ("print_queued", "print_failed", "print_held"):
        guard, update = usual_move("reprint_withdrawn", {"application_id": "a",
                                                         **withdrawn_by_printing(3, 6)})
        assert status in guard["status"]["$in"]
        assert update["$set"]["status"] == "printed"
        assert update["$set"]["reprint_withdrawn"] == {"printed_at": None, "until": at(6)}
        assert update["$push"]["timeline"]["status"] == "reprint_withdrawn"
    # sent by Pos already (its order stood): the status stays, the print is withdrawn
    dispatched = {**reprinted, "status": "dispatched"}
    update = record(dispatched, "reprint_withdrawn", withdrawn_by_printing(3, 6, 4))
    assert update["$set"] == {"reprint_withdrawn": {"printed_at": "2099-01-03T23:59:59+00:00",
                                                    "until": at(6)}}
    # Pos' time, whole seconds, may come before the print it took was
    # recorded (the same second): only the reprint's print is withdrawn
    same_second = applied(picked, record(picked, "reprint_withdrawn", withdrawn_by_printing(
        0, 6, 4)))
    assert [step.get("withdrawn", False) for step in public_view(same_second, "id")["timeline"]
            if step["status"] == "printed"] == [False, True]
    # nothing of the reprint printed: no print is withdrawn
    unprinted = applied(requeued, record(requeued, "reprint_withdrawn",
                                         withdrawn_by_printing(3, 6)))
    assert unprinted["status"] == "printed"
    assert not any(step.get("withdrawn") for step in public_view(unprinted, "id")["timeline"])
