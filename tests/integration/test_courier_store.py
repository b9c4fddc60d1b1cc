"""Courier's store against the real database server: one shipment and one
``parcel_dispatched`` however many workers race on the same print job; a
webhook id accepted once; a printed document courier cannot place yet is
retried, not dropped; a manifest goes when complete and chosen - and
printing confirmed the choice; an address
that cannot make a posting is held for an operator, then released; news
dated ahead of the clock is refused by webhook and left out of a poll."""

from __future__ import annotations

import datetime
import uuid

import eventlet
import pytest

from services.courier.domain import manifest_order_id
from services.courier.exceptions import (CollectedAtDinas, DatedAhead, NotHeld, NotYetKnown,
                                         ReplayedWebhook, UnknownShipment)
from services.courier.jemput_bola import not_printed
from services.courier.posting import Sender
from services.courier.store import CourierStore
from shared.clock import WIB, utcnow
from shared.events import build_event
from shared.wilayah import load_postal_codes, load_wilayah
from tests.helpers import KELURAHAN_CODE, NoRelay, random_nik
from tests.integration.test_stations import counted_store

DINAS = Sender("Disdukcapil Kota Serang", "Jl. Jenderal Sudirman No. 5", "Kota Serang", "42118",
               "0254200000")


@pytest.fixture
def store(mongo):
    db = mongo[f"courier_it_{uuid.uuid4().hex[:8]}"]
    CourierStore.ensure_indexes(db)
    yield CourierStore(db, mongo, NoRelay())
    mongo.drop_database(db.name)


def verified(method: str = "pos", manifest_id: str | None = None, **address_fields) -> dict:
    address = {"street": "Jl. Raya Curug No. 7", "rt": "002", "rw": "005",
               "kelurahan_code": KELURAHAN_CODE, "postal_code": "42171", **address_fields}
    return build_event(
        "application_verified", application_id=uuid.uuid4().hex, tracking_code="SDK1234567",
        document_type="ktp_el", nik=random_nik(), full_name="Siti Aminah",
        contact={"phone": "+6281234567890", "email": None, "language": "id"},
        delivery_method=method, delivery_address=address if method == "pos" else None,
        verified_by="operator-test", manifest_id=manifest_id)


def printed(application: dict) -> dict:
    return build_event("document_printed", application_id=application["application_id"],
                       tracking_code=application["tracking_code"], document_type="ktp_el",
                       print_job_id=uuid.uuid4().hex, station_id="station-test-1")


def shipment_for(store: CourierStore, event: dict, regions) -> dict | None:
    """The one shipment a ``document_printed`` calls for (a document of one
    kind: a ``pos`` application's own, or its manifest's), or None."""
    found = store.shipments_for_printed(event, regions, DINAS)
    assert len(found) <= 1, found
    return found[0] if found else None


def chose_pos(store: CourierStore, manifest_id: str, regions) -> tuple[dict, dict | None]:
    """An operator's send-by-pos, and printing's confirmation of it: (the
    manifest, its pending shipment if every document is printed)."""
    manifest, shipment = store.send_manifest_by_pos(
        manifest_id, {"street": "Jl. Raya Sukajaya No. 1", "postal_code": "42171"},
        "operator-test", regions, DINAS)
    assert shipment is None  # never before printing's answer
    [asked] = [e for e in emitted(store, "manifest_sent_by_pos")
               if e["manifest_id"] == manifest_id]
    answer = build_event("manifest_pos_confirmed", manifest_id=manifest_id,
                         kelurahan_code=asked["kelurahan_code"])
    return manifest, store.pos_answered("manifest_pos_confirmed", answer, regions, DINAS)


def emitted(store: CourierStore, event_type: str) -> list[dict]:
    return [row["payload"] for row in store.db.outbox.find({"event_type": event_type})]


def test_workers_racing_on_one_print_job_make_one_shipment_and_one_event(store):
    application = verified()
    store.remember_application(application)
    event = printed(application)

    def worker(n: int):
        shipment = shipment_for(store, event, load_wilayah())
        if shipment is not None:
            store.record_dispatch(shipment["_id"], "P2611290001")  # Pos: same order, same barcode
        return shipment is not None

    pool = eventlet.GreenPool()
    results = list(pool.imap(worker, range(6)))
    assert any(results)
    assert store.db.shipments.count_documents({}) == 1
    [told] = emitted(store, "parcel_dispatched")
    assert (told["application_id"], told["barcode"]) == (application["application_id"], "P2611290001")
    # and afterwards, the same event again: nothing to send
    assert shipment_for(store, event, load_wilayah()) is None


def test_printed_before_verified_is_retried_and_a_pickup_is_not_courier_s(store):
    application = verified()
    with pytest.raises(NotYetKnown):
        shipment_for(store, printed(application), load_wilayah())
    assert store.db.shipments.count_documents({}) == 0
    pickup = verified("pickup")
    store.remember_application(pickup)
    assert shipment_for(store, printed(pickup), load_wilayah()) is None
    kept = store.db.deliveries.find_one({"_id": pickup["application_id"]})
    assert kept["delivery_method"] == "pickup" and not kept.keys() & {"contact", "full_name", "nik"}


def test_a_webhook_event_id_is_accepted_once(store):
    application = verified()
    store.remember_application(application)
    shipment = shipment_for(store, printed(application), load_wilayah())
    store.record_dispatch(shipment["_id"], "P2611290002")
    news = {"status": "DELIVERED", "at": "2026-11-29T10:00:00+07:00", "location": "Serang",
            "note": ""}
    assert store.apply_tracking("P2611290002", [news], "webhook", "evt-1")["status"] == "delivered"
    with pytest.raises(ReplayedWebhook):
        store.apply_tracking("P2611290002", [news], "webhook", "evt-1")
    assert len(emitted(store, "parcel_delivered")) == 1
    assert len(store.db.shipments.find_one({"_id": shipment["_id"]})["history"]) == 1


def test_a_manifest_goes_as_one_parcel_once_complete_and_chosen(store):
    manifest_id = f"JB-{KELURAHAN_CODE}-20261129-{uuid.uuid4().hex[:6]}"
    applications = [verified("pickup", manifest_id) for _ in range(2)]
    store.remember_manifest(build_event(
        "batch_accepted", manifest_id=manifest_id, batch_id="RW05-1", kelurahan_code=KELURAHAN_CODE,
        application_ids=[a["application_id"] for a in applications]))
    for application in applications:
        store.remember_application(application)
    first = shipment_for(store, printed(applications[0]), load_wilayah())
    assert first is None  # not chosen, not complete
    manifest, shipment = chose_pos(store, manifest_id, load_wilayah())
    assert shipment is None and manifest["printed"] == [applications[0]["application_id"]]
    shipment = shipment_for(store, printed(applications[1]), load_wilayah())
    assert shipment["_id"] == manifest_order_id(manifest_id)
    assert sorted(a["application_id"] for a in shipment["applications"]) == \
        sorted(a["application_id"] for a in applications)
    store.record_dispatch(shipment["_id"], "P2611290003")
    assert len(emitted(store, "parcel_dispatched")) == 2  # one per application it carries


def test_a_manifest_goes_without_the_members_that_will_not_be_printed(store):
    """Rejected (never verified), its held job cancelled (an older
    ``print_job_cancelled``, naming no manifest: looked up): the parcel goes
    with the printed member; the rejected one printed after it is not in it."""
    manifest_id = f"JB-{KELURAHAN_CODE}-20261129-{uuid.uuid4().hex[:6]}"
    printed_one, given_up, rejected = (verified("pickup", manifest_id) for _ in range(3))
    regions = load_wilayah()
    with pytest.raises(NotYetKnown):  # its batch_accepted not handled yet: retried
        store.drop_manifest_member(rejected["application_id"], manifest_id, utcnow(), regions,
                                   DINAS)
    store.remember_manifest(build_event(
        "batch_accepted", manifest_id=manifest_id, batch_id="RW05-1", kelurahan_code=KELURAHAN_CODE,
        application_ids=[a["application_id"] for a in (printed_one, given_up, rejected)]))
    store.remember_application(printed_one)
    store.remember_application(given_up)
    chose_pos(store, manifest_id, regions)
    assert shipment_for(store, printed(printed_one), regions) is None
    assert store.drop_manifest_member(rejected["application_id"], manifest_id, utcnow(),
                                      regions, DINAS) is None
    shipment = store.drop_manifest_member(given_up["application_id"], None, utcnow(), regions,
                                          DINAS)
    assert [a["application_id"] for a in shipment["applications"]] == [
        printed_one["application_id"]]
    store.record_dispatch(shipment["_id"], "P2611290009")
    # redelivered: nothing new
    assert store.drop_manifest_member(given_up["application_id"], None, utcnow(), regions,
                                      DINAS) is None
    store.remember_application(rejected)  # resubmitted, verified, printed: not posted
    assert shipment_for(store, printed(rejected), regions) is None
    assert [e["application_id"] for e in emitted(store, "parcel_dispatched")] == [
        printed_one["application_id"]]
    # an application of no manifest courier knows: nothing
    assert store.drop_manifest_member(uuid.uuid4().hex, None, utcnow(), regions, DINAS) is None


def manifest_of(store: CourierStore, *methods: str) -> tuple[str, list[dict]]:
    """A manifest courier knows, one verified member per delivery method: (its id, them)."""
    manifest_id = f"JB-{KELURAHAN_CODE}-20261129-{uuid.uuid4().hex[:6]}"
    members = [verified(method, manifest_id) for method in methods]
    store.remember_manifest(build_event(
        "batch_accepted", manifest_id=manifest_id, batch_id="RW05-1",
        kelurahan_code=KELURAHAN_CODE, application_ids=[m["application_id"] for m in members]))
    for member in members:
        store.remember_application(member)
    return manifest_id, members


@pytest.mark.parametrize("answer", ["manifest_pos_confirmed", "manifest_pos_refused"])
def test_a_manifest_is_posted_only_once_printing_confirmed_pos(store, answer):
    """The operator's choice is a question to printing: every document
    printed, courier still posts nothing; printing's confirmation posts the
    parcel, its refusal (it had called the officer to the Dinas) never -
    and the operator is refused from then on, whatever comes later."""
    regions = load_wilayah()
    manifest_id, [member] = manifest_of(store, "pickup")
    office = {"street": "Jl. Raya Sukajaya No. 1", "postal_code": "42171"}
    manifest, shipment = store.send_manifest_by_pos(manifest_id, office, "operator-test",
                                                    regions, DINAS)
    assert shipment is None and manifest["by_pos"]["status"] == "requested"
    store.send_manifest_by_pos(manifest_id, office, "operator-2", regions, DINAS)  # again
    assert len(emitted(store, "manifest_sent_by_pos")) == 1
    event = printed(member)
    assert shipment_for(store, event, regions) is None  # printed, not confirmed
    day = {"reason": "collected_at_dinas", "day": "2026-12-02"} if answer.endswith("refused") \
        else {}
    answered = build_event(answer, manifest_id=manifest_id, kelurahan_code=KELURAHAN_CODE, **day)
    shipment = store.pos_answered(answer, answered, regions, DINAS)
    assert store.pos_answered(answer, answered, regions, DINAS) is None  # redelivered
    if answer == "manifest_pos_confirmed":
        assert shipment["_id"] == manifest_order_id(manifest_id)
        assert [a["application_id"] for a in shipment["applications"]] == [
            member["application_id"]]
        return
    assert shipment is None
    with pytest.raises(CollectedAtDinas):
        store.send_manifest_by_pos(manifest_id, office, "operator-test", regions, DINAS)
    # its release, heard of at last, and the print redelivered: still nothing
    store.note_collection_at_dinas(build_event(
        "batch_ready_for_kelurahan", manifest_id=manifest_id, kelurahan_code=KELURAHAN_CODE,
        items=[{"application_id": member["application_id"], "tracking_code": "SDK1234567",
                "full_name": "Siti Aminah", "document_type": "ktp_el"}],
        day="2026-12-02", at_office_from="2026-12-03"))
    assert shipment_for(store, event, regions) is None
    assert store.db.shipments.count_documents({}) == 0
    kept = store.manifest(manifest_id)[0]
    assert kept["by_pos"]["status"] == "refused" and kept["at_dinas"]["day"] == "2026-12-02"


def test_a_member_delivered_to_its_door_goes_on_its_own_and_the_manifest_goes_without_it(
        store):
    """A jemput-bola row asking for Pos to the citizen's door: printed, its
    own parcel; the manifest waits for it no longer, and its parcel to the
    office carries the others (it used to wait for ever: the member was
    never counted printed)."""
    regions = load_wilayah()
    manifest_id, [office_member, home] = manifest_of(store, "pickup", "pos")
    chose_pos(store, manifest_id, regions)
    assert shipment_for(store, printed(office_member), regions) is None  # waits for home
    own, parcel = store.shipments_for_printed(printed(home), regions, DINAS)
    assert own["kind"] == "application" and parcel["_id"] == manifest_order_id(manifest_id)
    assert [a["application_id"] for a in parcel["applications"]] == [
        office_member["application_id"]]
    assert parcel["posting"]["itemDesc"] == f"Jemput bola {manifest_id}: 1 dokumen"


@pytest.mark.parametrize("verified_first", [False, True])
def test_a_member_verified_again_before_the_parcel_went_goes_in_it(store, verified_first):
    """Rejected, resubmitted and verified again before the others are
    printed: the manifest waits for it (the rule printing follows), whichever
    of the two events courier handles first; then the parcel carries both."""
    manifest_id = f"JB-{KELURAHAN_CODE}-20261129-{uuid.uuid4().hex[:6]}"
    first, late = (verified("pickup", manifest_id) for _ in range(2))
    regions = load_wilayah()
    rejected_at = utcnow() - datetime.timedelta(minutes=5)
    late = {**late, "occurred_at": (rejected_at + datetime.timedelta(minutes=4)).isoformat()}
    with pytest.raises(NotYetKnown):  # its batch_accepted not handled yet: retried
        store.remember_application(late)
    assert store.db.deliveries.find_one({"_id": late["application_id"]}) is None
    store.remember_manifest(build_event(
        "batch_accepted", manifest_id=manifest_id, batch_id="RW05-1", kelurahan_code=KELURAHAN_CODE,
        application_ids=[first["application_id"], late["application_id"]]))
    store.remember_application(first)
    steps = [lambda: store.drop_manifest_member(late["application_id"], manifest_id,
                                                rejected_at, regions, DINAS),
             lambda: store.remember_application(late)]
    for step in reversed(steps) if verified_first else steps:
        step()
    chose_pos(store, manifest_id, regions)
    assert shipment_for(store, printed(first), regions) is None  # waits for late
    shipment = shipment_for(store, printed(late), regions)
    assert sorted(a["application_id"] for a in shipment["applications"]) == sorted(
        (first["application_id"], late["application_id"]))


def test_an_address_without_a_known_postal_code_is_held_then_released(store):
    regions = load_wilayah().with_postal_codes(load_postal_codes())
    resolved, unknown = verified(postal_code=None), verified(postal_code=None,
                                                             kelurahan_code="3673049999")
    for application in (resolved, unknown):
        store.remember_application(application)
    ready = shipment_for(store, printed(resolved), regions)
    assert ready["status"] == "pending" and ready["posting"]["receiver"]["zipCode"] == "42171"

    event = printed(unknown)
    held = shipment_for(store, event, regions)
    assert held["status"] == "held" and held["hold"]["fields"] == ["kelurahan_code", "postal_code"]
    assert shipment_for(store, event, regions)["_id"] == held["_id"]  # redelivered
    assert store.db.shipments.count_documents({"status": "held"}) == 1
    assert [s["_id"] for s in store.list_shipments("held", None, None, 10)] == [held["_id"]]
    assert held["_id"] in [s["_id"] for s in store.stuck(0, 10)]
    released = store.release_held(held["_id"], {"kelurahan_code": KELURAHAN_CODE}, "operator-test",
                                  regions, DINAS)
    assert released["status"] == "pending" and "hold" not in released
    assert released["posting"]["receiver"]["subdistrict"] == "Sukajaya"
    stored = store.db.shipments.find_one({"_id": held["_id"]})
    assert stored["status"] == "pending" and "hold" not in stored
    assert stored["released"]["corrected"] == ["kelurahan_code"]
    kept = store.db.deliveries.find_one({"_id": unknown["application_id"]})
    assert kept["delivery_address"]["kelurahan_code"] == KELURAHAN_CODE
    # released but Pos not reached: the same request posts it again; once dispatched, not held
    assert store.release_held(held["_id"], {}, "operator-test", regions, DINAS)["status"] == "pending"
    store.record_dispatch(held["_id"], "P2611290004")
    with pytest.raises(NotHeld):
        store.release_held(held["_id"], {}, "operator-test", regions, DINAS)


def test_a_collected_or_returned_document_is_never_posted_again(store):
    regions = load_wilayah()
    returned_one, collected_one = verified(), verified()
    for application in (returned_one, collected_one):
        store.remember_application(application)
    first = shipment_for(store, printed(returned_one), regions)
    store.record_dispatch(first["_id"], "P2611290005")
    news = {"status": "RETURNED", "at": "2026-11-29T10:00:00+07:00", "location": "Serang",
            "note": "Alamat tidak ditemukan"}
    assert store.apply_tracking("P2611290005", [news], "webhook", uuid.uuid4().hex)["status"] \
        == "returned"
    assert shipment_for(store, printed(returned_one), regions) is None  # a reprint

    collection = build_event("document_collected", application_id=returned_one["application_id"],
                             tracking_code="SDK1234567", document_type="ktp_el",
                             print_job_id=first["print_job_id"], collected_by="operator-test",
                             how="counter")
    store.record_collection(collection)
    store.record_collection(collection)  # redelivered: once
    kept = store.db.shipments.find_one({"_id": first["_id"]})
    assert kept["status"] == "returned"
    assert kept["collected"][returned_one["application_id"]]["how"] == "counter"

    # collected before its document_printed was handled: nothing to post
    store.record_collection({**collection, "event_id": uuid.uuid4().hex,
                             "application_id": collected_one["application_id"]})
    assert shipment_for(store, printed(collected_one), regions) is None
    assert store.db.shipments.count_documents({}) == 1


def test_news_dated_ahead_of_the_clock_is_refused_by_webhook_and_left_out_of_a_poll(store):
    """An event Pos dated half an hour ahead would have made every real event
    after it stale: by webhook it is refused naming ``at`` (its id not kept),
    polled it is left out; a few minutes ahead (the clocks' tolerance) is news."""
    application = verified()
    store.remember_application(application)
    shipment = shipment_for(store, printed(application), load_wilayah())
    store.record_dispatch(shipment["_id"], "P2611290006")
    now = datetime.datetime.now(WIB)

    def news(status: str, minutes_ahead: float) -> dict:
        at = now + datetime.timedelta(minutes=minutes_ahead)
        return {"status": status, "at": at.isoformat(timespec="seconds"), "location": "Serang",
                "note": ""}

    ahead = news("FAILED", 36)
    with pytest.raises(DatedAhead) as refused:
        store.apply_tracking("P2611290006", [ahead], "webhook", "evt-ahead")
    assert list(refused.value.fields) == ["at"]
    assert store.db.webhook_events.count_documents({}) == 0  # Pos may send it again
    polled = store.apply_tracking("P2611290006", [news("IN_TRANSIT", -20), ahead], "poll")
    assert [(h["status"], h["stale"]) for h in polled["history"]] == [("IN_TRANSIT", False)]
    assert polled["status"] == "in_transit"

    returned = store.apply_tracking("P2611290006", [news("RETURNED", 4)], "webhook", "evt-back")
    assert returned["status"] == "returned"
    [told] = emitted(store, "parcel_returned")
    assert told["application_id"] == application["application_id"]
    assert emitted(store, "parcel_delivery_failed") == []


@pytest.mark.parametrize("reprint_came_first", [False, True])
def test_a_member_re_queued_before_printing_confirmed_pos_is_waited_for(store,
                                                                       reprint_came_first):
    """A member courier counts printed, re-queued by an operator before the
    choice of Pos (printing waits for its reprint): printing's confirmation
    names it (``not_printed``) and the parcel waits for the reprint's
    ``document_printed``, then carries both. The reprint printed after the
    confirmation but heard of before it is not taken back."""
    regions = load_wilayah()
    manifest_id, members = manifest_of(store, "pickup", "pickup")
    first_print = printed(members[0])
    assert shipment_for(store, first_print, regions) is None
    assert shipment_for(store, printed(members[1]), regions) is None
    store.send_manifest_by_pos(manifest_id, {"street": "Jl. Raya Sukajaya No. 1",
                                             "postal_code": "42171"}, "op", regions, DINAS)
    answer = build_event("manifest_pos_confirmed", manifest_id=manifest_id,
                         kelurahan_code=KELURAHAN_CODE,
                         not_printed=[members[0]["application_id"]])
    reprinted = printed(members[0])  # built after the confirmation: a later time
    if reprint_came_first:
        assert shipment_for(store, reprinted, regions) is None  # not confirmed yet
        shipment = store.pos_answered("manifest_pos_confirmed", answer, regions, DINAS)
    else:
        assert store.pos_answered("manifest_pos_confirmed", answer, regions, DINAS) is None
        manifest, _ = store.manifest(manifest_id)
        assert manifest["printed"] == [members[1]["application_id"]]
        shipment = shipment_for(store, reprinted, regions)
    assert shipment["_id"] == manifest_order_id(manifest_id)
    assert sorted(a["application_id"] for a in shipment["applications"]) == sorted(
        m["application_id"] for m in members)


def requeued(print_event: dict, method: str | None = "pos",
             manifest_id: str | None = None) -> dict:
    """An operator's reprint of that print (``print_job_requeued``);
    ``method`` None: an event from before it said how the document leaves."""
    return build_event("print_job_requeued", requeued_by="operator-test",
                       **{key: print_event[key] for key in ("application_id", "tracking_code",
                                                            "document_type", "print_job_id")},
                       **({"delivery_method": method, "manifest_id": manifest_id}
                          if method else {}))


def reprinted(print_event: dict) -> dict:
    """The reprint's own ``document_printed``: the same job, printed again."""
    return {**printed(print_event), "print_job_id": print_event["print_job_id"]}


def test_a_print_sent_back_to_print_is_not_posted_its_reprint_is(store):
    """Pos out of reach at the first print: its event is retried after an
    operator sent the document back to print. The retry posts nothing (the
    citizen would read "dispatched" while it is printed again); the
    reprint's print posts the same order."""
    regions = load_wilayah()
    application = verified()
    store.remember_application(application)
    first = printed(application)
    pending = shipment_for(store, first, regions)  # posted, Pos out of reach: retried later
    assert pending["status"] == "pending" and pending["awaits_reprint"] is None
    reprint = requeued(first)
    store.await_reprint(reprint)
    store.await_reprint(reprint)  # redelivered: the same
    # the operators see it at once, not at the retry (outside audit G3)
    assert store.db.shipments.find_one({"_id": pending["_id"]})["awaits_reprint"] == \
        reprint["occurred_at"]

    assert shipment_for(store, first, regions) is None  # the retry
    kept = store.db.shipments.find_one({"_id": pending["_id"]})
    assert (kept["status"], kept["awaits_reprint"]) == ("pending", reprint["occurred_at"])
    assert store.list_shipments("pending", None, None, 10)[0]["awaits_reprint"] == \
        reprint["occurred_at"]

    again = shipment_for(store, reprinted(first), regions)
    assert again["_id"] == pending["_id"] and again["awaits_reprint"] is None
    assert store.db.shipments.find_one({"_id": pending["_id"]})["awaits_reprint"] is None
    assert store.db.shipments.count_documents({}) == 1
    # the print before, redelivered once more: still nothing
    assert shipment_for(store, first, regions) is None


def test_a_held_shipment_released_while_its_reprint_is_awaited_waits_for_it(store):
    regions = load_wilayah().with_postal_codes(load_postal_codes())
    application = verified(postal_code=None, kelurahan_code="3673049999")
    store.remember_application(application)
    first = printed(application)
    held = shipment_for(store, first, regions)
    assert held["status"] == "held" and held["awaits_reprint"] is None
    reprint = requeued(first)
    store.await_reprint(reprint)
    assert store.db.shipments.find_one({"_id": held["_id"]})["awaits_reprint"] == \
        reprint["occurred_at"]

    released = store.release_held(held["_id"], {"kelurahan_code": KELURAHAN_CODE},
                                  "operator-test", regions, DINAS)
    assert (released["status"], released["awaits_reprint"]) == ("pending", reprint["occurred_at"])
    assert store.db.shipments.find_one({"_id": held["_id"]})["awaits_reprint"] == \
        reprint["occurred_at"]
    # the same request again (Pos was out of reach): still waiting
    assert store.release_held(held["_id"], {}, "operator-test", regions,
                              DINAS)["awaits_reprint"] == reprint["occurred_at"]

    posted = shipment_for(store, reprinted(first), regions)
    assert (posted["_id"], posted["status"], posted["awaits_reprint"]) == \
        (held["_id"], "pending", None)
    assert store.release_held(held["_id"], {}, "operator-test", regions,
                              DINAS)["awaits_reprint"] is None


def test_a_reprint_courier_has_no_record_of_is_retried_or_not_its_business(store):
    application = verified()
    first = printed(application)
    with pytest.raises(NotYetKnown):  # its application_verified not handled yet
        store.await_reprint(requeued(first))
    store.await_reprint(requeued(first, method=None))  # older event: a counter pickup's
    assert store.db.deliveries.count_documents({}) == 0
    store.remember_application(application)
    store.await_reprint(requeued(first))
    assert store.db.deliveries.find_one({"_id": application["application_id"]})[
        "reprint_since"] is not None


def printed_members_of(store: CourierStore, manifest_id: str) -> list[str]:
    return sorted(store.manifest(manifest_id)[0]["printed"])


def test_a_member_sent_back_to_print_is_not_printed_until_its_reprint(store):
    """The operators' view of a manifest lists a member sent back to print
    among those not printed, as printing's hand-over list waits for it,
    before any choice of Pos; its print before, redelivered, changes
    nothing; the reprint's print counts it printed again."""
    regions = load_wilayah()
    manifest_id, members = manifest_of(store, "pickup", "pickup")
    ids = [member["application_id"] for member in members]
    first = printed(members[0])
    for event in (first, printed(members[1])):
        assert shipment_for(store, event, regions) is None  # Pos not chosen
    reprint = requeued(first, "pickup", manifest_id)
    store.await_reprint(reprint)
    store.await_reprint(reprint)  # redelivered
    assert printed_members_of(store, manifest_id) == [ids[1]]
    assert not_printed(store.manifest(manifest_id)[0]) == {ids[0]}
    assert shipment_for(store, first, regions) is None
    assert printed_members_of(store, manifest_id) == [ids[1]]
    assert shipment_for(store, reprinted(first), regions) is None
    assert printed_members_of(store, manifest_id) == sorted(ids)
    store.await_reprint(reprint)  # redelivered after the reprint's print: it stays
    assert printed_members_of(store, manifest_id) == sorted(ids)


def test_a_member_sent_back_to_print_before_courier_heard_of_its_print_waits(store):
    regions = load_wilayah()
    manifest_id, [member] = manifest_of(store, "pickup")
    first = printed(member)
    store.await_reprint(requeued(first, "pickup", manifest_id))
    assert shipment_for(store, first, regions) is None
    assert printed_members_of(store, manifest_id) == []
    assert shipment_for(store, reprinted(first), regions) is None
    assert printed_members_of(store, manifest_id) == [member["application_id"]]


@pytest.mark.parametrize("taken_first", [False, True])
def test_a_manifest_s_parcel_pos_has_not_taken_waits_for_a_member_s_reprint(store, taken_first):
    """A member of a manifest whose parcel waits at the Dinas for Pos' courier
    (the order accepted) sent back to print: the parcel's shipment says it
    waits (``awaits_reprint``, the first member's time) and the manifest
    lists the member not printed, until the reprint's print - which posts
    nothing again. Pos taking the parcel first: printing withdraws the
    reprint, the parcel carries the print before - printed again here, the
    shipment waits no more."""
    regions = load_wilayah()
    manifest_id, members = manifest_of(store, "pickup", "pickup")
    ids = [member["application_id"] for member in members]
    prints = [printed(member) for member in members]
    for event in prints:
        assert shipment_for(store, event, regions) is None  # Pos not chosen
    _, shipment = chose_pos(store, manifest_id, regions)
    barcode = f"P26{uuid.uuid4().hex[:9]}"
    store.record_dispatch(shipment["_id"], barcode)
    reprints = [requeued(event, "pickup", manifest_id) for event in prints]
    for reprint in (reprints[0], reprints[1], reprints[0]):  # one redelivered
        store.await_reprint(reprint)
    parcel = store.db.shipments.find_one({"_id": shipment["_id"]})
    assert (parcel["status"], parcel["awaits_reprint"]) == ("dispatched",
                                                            reprints[0]["occurred_at"])
    assert not_printed(store.manifest(manifest_id)[0]) == set(ids)
    if taken_first:
        store.apply_tracking(barcode, [{"status": "IN_TRANSIT", "at": utcnow().isoformat(),
                                        "location": "Serang"}], "poll")
    else:
        assert shipment_for(store, reprinted(prints[0]), regions) is None
        assert store.db.shipments.find_one({"_id": shipment["_id"]})["awaits_reprint"] \
            == reprints[0]["occurred_at"]  # the other member still awaited
        assert shipment_for(store, reprinted(prints[1]), regions) is None  # posted before
    parcel = store.db.shipments.find_one({"_id": shipment["_id"]})
    assert parcel["awaits_reprint"] is None
    assert bool(parcel.get("picked_up_at")) == taken_first
    assert not_printed(store.manifest(manifest_id)[0]) == set()
    assert len(emitted(store, "parcel_dispatched")) == 2  # one order, an event per member


@pytest.fixture
def counted(backing):
    """A courier store whose client's commands are counted, and the counter."""
    yield from counted_store(backing, CourierStore, "courier_counted")


def test_a_copy_published_again_is_one_read_when_courier_handled_it(counted):
    # a broker's kept events published again (shared.messaging.Republished):
    # a copy this consumer handled is one read of its inbox row, no
    # transaction failing on it; a copy it never saw (lost with the broker
    # before it came) is handled as any first delivery
    store, counter = counted
    seen = verified()
    assert store.remember_application(seen)["_id"] == seen["application_id"]
    counter.commands.clear()
    assert store.remember_application(seen, handled_before=True) is None
    assert counter.commands == ["find"], counter.commands

    lost = verified()
    counter.commands.clear()
    assert store.remember_application(lost, handled_before=True)["_id"] == lost["application_id"]
    assert counter.commands.count("commitTransaction") == 1, counter.commands
    assert store.db.deliveries.count_documents({}) == 2

    # unmarked, a redelivery is still turned away by its inbox row
    counter.commands.clear()
    assert store.remember_application(seen) is None
    assert "find" not in counter.commands and "abortTransaction" in counter.commands, \
        counter.commands


def test_a_pending_shipment_never_held_is_not_released(store):
    """A courier review: ``release`` of a shipment that was never held posted
    it - its corrections not applied, and a jemput-bola parcel without the
    member's reprint it waited for. 409 ``not_held`` (docs/courier-api.md)."""
    regions = load_wilayah()
    application = verified()
    store.remember_application(application)
    pending = shipment_for(store, printed(application), regions)
    assert pending["status"] == "pending"
    with pytest.raises(NotHeld):
        store.release_held(pending["_id"], {"postal_code": "42172"}, "operator-test", regions,
                           DINAS)
    manifest_id, members = manifest_of(store, "pickup", "pickup")
    prints = [printed(member) for member in members]
    for event in prints:
        shipment_for(store, event, regions)
    _, parcel = chose_pos(store, manifest_id, regions)
    store.await_reprint(requeued(prints[0], "pickup", manifest_id))
    assert store.db.shipments.find_one({"_id": parcel["_id"]})["awaits_reprint"]
    with pytest.raises(NotHeld):
        store.release_held(parcel["_id"], {}, "operator-test", regions, DINAS)


def test_a_posting_pos_refused_leaves_no_unknown_barcode_waiting_on_it(store):
    """Pos refused the posting (a 4xx): it certainly does not have it, so a
    webhook for a barcode courier does not know is 404, not "not yet" for
    as long as the shipment stays (a courier review)."""
    from services.courier.exceptions import PosRefused
    from services.courier.dispatch import post_shipment

    class Refusing:
        def add_posting(self, posting):
            raise PosRefused("receiver address refused")

    application = verified()
    store.remember_application(application)
    pending = shipment_for(store, printed(application), load_wilayah())
    with pytest.raises(PosRefused):
        post_shipment(Refusing(), store, pending)
    with pytest.raises(UnknownShipment):
        store.apply_tracking("P26UNKNOWN0001", [{"status": "IN_TRANSIT",
                                                 "at": utcnow().isoformat()}], "webhook")


def test_a_polling_round_cut_short_gives_back_what_it_did_not_ask_pos(store):
    """A courier review: a round claimed up to 50 quiet shipments at once
    (``checked_at`` = now) and stopped at Pos' first failure: the rest waited
    ``quiet`` (6 h) more before Pos was asked of them. Given back, they are
    due at the next round; one that got news meanwhile stays as it is."""
    quiet = datetime.timedelta(hours=6)
    long_ago = utcnow() - datetime.timedelta(days=1)
    ids = []
    for _ in range(3):
        application = verified()
        store.remember_application(application)
        shipment = shipment_for(store, printed(application), load_wilayah())
        store.record_dispatch(shipment["_id"], f"P26{uuid.uuid4().hex[:9]}")
        store.db.shipments.update_one({"_id": shipment["_id"]},
                                      {"$set": {"checked_at": long_ago}})
        ids.append(shipment["_id"])
    claimed = store.claim_quiet(quiet, 10)
    assert sorted(s["_id"] for s in claimed) == sorted(ids)
    assert store.claim_quiet(quiet, 10) == []  # claimed: not asked again at once
    asked, news, unasked = claimed
    store.db.shipments.update_one({"_id": news["_id"]}, {"$set": {"checked_at": utcnow()}})
    store.give_back_quiet([news, unasked], quiet)
    assert [s["_id"] for s in store.claim_quiet(quiet, 10)] == [unasked["_id"]]


@pytest.mark.parametrize("dropped", ["card_cancelled", "card_cancelled_parcel_made",
                                     "awaited_reprint_cancelled"])
def test_a_member_dropped_after_its_print_is_not_in_the_parcel(store, dropped):
    """A courier review: a member printed, then dropped - its printed card
    cancelled (its holder died), or the reprint it was sent back for
    cancelled: printing takes it off its list, but the parcel, made after
    that or made before and posted after (Pos out of reach), carried it -
    its label counting one document too many, ``parcel_dispatched`` (and
    later ``parcel_delivered``) told of a cancelled application."""
    regions = load_wilayah()
    manifest_id, [gone, kept] = manifest_of(store, "pickup", "pickup")
    chose_pos(store, manifest_id, regions)
    first = printed(gone)
    assert shipment_for(store, first, regions) is None  # waits for the other
    if dropped == "card_cancelled":
        assert store.drop_manifest_member(gone["application_id"], manifest_id,
                                          utcnow() + datetime.timedelta(seconds=1), regions,
                                          DINAS) is None  # still waits for the other
        parcel = shipment_for(store, printed(kept), regions)
    else:
        made = shipment_for(store, printed(kept), regions)  # made; Pos out of reach
        assert len(made["applications"]) == 2
        if dropped == "awaited_reprint_cancelled":
            store.await_reprint(requeued(first, "pickup", manifest_id))
            assert store.db.shipments.find_one({"_id": made["_id"]})["awaits_reprint"]
        parcel = store.drop_manifest_member(gone["application_id"], manifest_id,
                                            utcnow() + datetime.timedelta(seconds=1), regions,
                                            DINAS)  # the service posts it
    assert parcel["_id"] == manifest_order_id(manifest_id)
    assert [a["application_id"] for a in parcel["applications"]] == [kept["application_id"]]
    assert (parcel["posting"]["itemDesc"], parcel["posting"]["weight"]) == (
        f"Jemput bola {manifest_id}: 1 dokumen", 50)
    assert parcel.get("awaits_reprint") is None
    stored = store.db.shipments.find_one({"_id": parcel["_id"]})
    assert (stored["applications"], stored["posting"], stored.get("awaits_reprint")) == (
        parcel["applications"], parcel["posting"], None)
    store.record_dispatch(parcel["_id"], f"P26{uuid.uuid4().hex[:9]}")
    assert [e["application_id"] for e in emitted(store, "parcel_dispatched")] == [
        kept["application_id"]]
    assert not_printed(store.manifest(manifest_id)[0]) == set()


def test_one_shipment_whose_news_cannot_be_taken_does_not_stop_the_polling_round(store):
    """A courier review: one polled event courier could not keep (here a
    note of a number, past ``readable``) raised out of the round: the rest
    of its claimed batch waited ``quiet`` (6 h), and the same shipment
    stopped every round. Now the round goes on; that one is given back,
    due at the next round."""
    from types import SimpleNamespace

    from nameko.testing.services import worker_factory

    from services.courier.service import CourierEvents

    quiet = datetime.timedelta(hours=6)
    barcodes = []
    for age in (3, 2, 1):  # the first claimed first
        application = verified()
        store.remember_application(application)
        shipment = shipment_for(store, printed(application), load_wilayah())
        barcodes.append(f"P26{uuid.uuid4().hex[:9]}")
        store.record_dispatch(shipment["_id"], barcodes[-1])
        store.db.shipments.update_one({"_id": shipment["_id"]}, {"$set": {
            "checked_at": utcnow() - datetime.timedelta(days=age)}})
    broken = barcodes[0]

    class Pos:
        def tracking(self, barcode):
            return [{"status": "DELIVERED", "at": utcnow().isoformat(),
                     **({"note": 3} if barcode == broken else {})}]

    service = worker_factory(CourierEvents, store=store, pos=Pos(),
                             settings=SimpleNamespace(quiet=quiet, poll_batch=10))
    service.poll_quiet_shipments()
    status = {s["barcode"]: s["status"] for s in store.db.shipments.find()}
    assert status == {broken: "dispatched", barcodes[1]: "delivered",
                      barcodes[2]: "delivered"}
    assert [s["barcode"] for s in store.claim_quiet(quiet, 10)] == [broken]
