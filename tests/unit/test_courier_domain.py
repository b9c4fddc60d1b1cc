"""Courier's decisions without I/O: postings, dispatch, tracking news, signatures."""

from __future__ import annotations

import datetime

import pytest
from marshmallow import ValidationError

from services.courier import signatures
from services.courier.domain import (TAKEN_BY_POS, application_order_id, back_at_dinas, readable,
                                     application_shipment, concerns_courier, delivery_record,
                                     dispatch_wanted, dispatched, kept_text, new_shipment, ref,
                                     released, reprint_awaited, timely, tracking_news)
from services.courier.exceptions import (BadSignature, CollectedAtDinas, DatedAhead,
                                         NotReturnable, UndeliverableAddress)
from services.courier.jemput_bola import (collection_at_dinas, drops_a_member, manifest_complete,
                                          manifest_record, manifest_status, may_be_on_its_way,
                                          not_printed, parcel_members, parcel_update,
                                          pos_answered, pos_status, printed_as,
                                          reprints_awaited, sending_by_pos)
from services.courier.posting import Sender, application_posting, manifest_posting
from services.courier.schemas import (KelurahanOfficeSchema, PosWebhookSchema,
                                      ReturnedAtDinasSchema, StuckQuerySchema)
from shared.errors import localize
from shared.wilayah import load_postal_codes, load_wilayah
from tests.unit.test_manifests import REJECTED, dropped_at

NOW = datetime.datetime(2026, 11, 29, 3, 0, tzinfo=datetime.timezone.utc)
DINAS = Sender("Disdukcapil Kota Serang", "Jl. Jenderal Sudirman No. 5", "Kota Serang", "42118",
               "0254200000")


def verified(method="pos", **overrides) -> dict:
    event = {"event_id": "e1", "application_id": "app-1", "tracking_code": "SDK123456",
             "document_type": "ktp_el", "nik": "3673046501900001", "full_name": "Siti Aminah",
             "contact": {"phone": "+6281234567890", "email": None, "language": "id"},
             "delivery_method": method, "manifest_id": None,
             "delivery_address": {"street": "Jl. Raya Curug No. 7", "rt": "002", "rw": "005",
                                  "kelurahan_code": "3673041010", "postal_code": "42171"}
             if method == "pos" else None}
    return {**event, **overrides}


def test_a_pickup_application_is_remembered_without_personal_data():
    record = delivery_record(verified("pickup"), NOW)
    assert record["delivery_method"] == "pickup"
    assert "full_name" not in record and "contact" not in record and "nik" not in record


def test_the_posting_names_every_region_from_the_kelurahan_code():
    delivery = delivery_record(verified(), NOW)
    doc = application_posting("SDK-job1", delivery, load_wilayah(), DINAS)
    receiver = doc["receiver"]
    assert receiver["name"] == "Siti Aminah" and receiver["phone"] == "+6281234567890"
    assert receiver["address"] == "Jl. Raya Curug No. 7 RT 002/RW 005"
    assert (receiver["subdistrict"], receiver["district"]) == ("Sukajaya", "Curug")
    assert receiver["city"] == "Kota Serang" and receiver["province"] == "Banten"
    assert receiver["zipCode"] == "42171"
    assert doc["sender"]["name"] == "Disdukcapil Kota Serang" and doc["orderId"] == "SDK-job1"
    assert doc["weight"] == 20 and doc["itemDesc"].startswith("KTP-el")


def test_an_email_only_citizen_gets_the_dinas_phone_on_the_label():
    delivery = delivery_record(verified(contact={"phone": None, "email": "a@b.id"}), NOW)
    assert application_posting("o", delivery, load_wilayah(), DINAS)["receiver"]["phone"] == \
        DINAS.phone


@pytest.mark.parametrize(("field", "value"), [("kelurahan_code", "3673049999"),
                                              ("postal_code", None)])
def test_an_address_pos_cannot_use_is_a_permanent_failure(field, value):
    event = verified()
    event["delivery_address"][field] = value
    with pytest.raises(UndeliverableAddress, match=field):
        application_posting("o", delivery_record(event, NOW), load_wilayah(), DINAS)


def with_postal_codes():
    return load_wilayah().with_postal_codes(load_postal_codes())


def without_postal_code(kelurahan_code: str = "3673041010") -> dict:
    """A PRR record's delivery: no postal code in the export."""
    event = verified()
    event["delivery_address"].update(postal_code=None, kelurahan_code=kelurahan_code)
    return delivery_record(event, NOW)


def test_every_kelurahan_of_the_region_list_has_a_postal_code():
    regions, postal_codes = load_wilayah(), load_postal_codes()
    kelurahan = {code for code, _ in regions.kelurahan_in("367304")}
    assert kelurahan and kelurahan <= set(postal_codes)
    assert len(postal_codes) == 83_762 and all(regions.kelurahan(code) for code in postal_codes)
    assert all(len(code) == 5 and code.isdigit() for code in postal_codes.values())


def test_a_missing_postal_code_is_the_kelurahan_s_from_the_region_list():
    doc = application_posting("o", without_postal_code(), with_postal_codes(), DINAS)
    assert doc["receiver"]["zipCode"] == "42171"
    assert doc["receiver"]["subdistrict"] == "Sukajaya"


def test_a_given_postal_code_is_kept():
    delivery = delivery_record(verified(), NOW)
    delivery["delivery_address"]["postal_code"] = "42172"
    doc = application_posting("o", delivery, with_postal_codes(), DINAS)
    assert doc["receiver"]["zipCode"] == "42172"


def test_an_address_that_cannot_make_a_posting_holds_the_shipment_for_an_operator():
    regions = with_postal_codes()
    ready = application_shipment("SDK-j1", without_postal_code(), regions, DINAS, NOW,
                                 print_job_id="j1")
    assert ready["status"] == "pending" and ready["posting"]["receiver"]["zipCode"] == "42171"
    held = application_shipment("SDK-j2", without_postal_code("3673049999"), regions, DINAS, NOW,
                                print_job_id="j2")
    assert (held["status"], held["posting"], held["print_job_id"]) == ("held", None, "j2")
    assert held["hold"] == {"reason": "address_incomplete",
                            "fields": ["kelurahan_code", "postal_code"], "since": NOW}
    assert held["applications"] == [ref(without_postal_code())]


def test_an_operator_s_correction_releases_a_held_shipment():
    regions, delivery = with_postal_codes(), without_postal_code("3673049999")
    held = application_shipment("SDK-j2", delivery, regions, DINAS, NOW)
    with pytest.raises(UndeliverableAddress) as still:
        released(held, delivery, {"postal_code": "42171"}, "operator-budi", regions, DINAS, NOW)
    assert still.value.fields == ["kelurahan_code"]
    corrected, update = released(held, delivery, {"kelurahan_code": "3673041010"},
                                 "operator-budi", regions, DINAS, NOW)
    assert corrected["delivery_address"]["kelurahan_code"] == "3673041010"
    assert corrected["delivery_address"]["street"] == "Jl. Raya Curug No. 7"
    assert update["status"] == "pending" and update["posting"]["orderId"] == "SDK-j2"
    assert update["posting"]["receiver"]["zipCode"] == "42171"
    assert update["released"] == {"by": "operator-budi", "at": NOW, "corrected": ["kelurahan_code"],
                                  "held_for": ["kelurahan_code", "postal_code"]}


def shipment(status="pending", history=(), status_at=None) -> dict:
    delivery = delivery_record(verified(), NOW)
    found = new_shipment(application_order_id("job1"), "application", [ref(delivery)],
                         {"receiver": {}}, NOW)
    # Pos has one in transit or further in hand (``parcel_picked_up`` told already)
    picked_up = status_at or "2026-11-29T10:00:00+07:00" if status in TAKEN_BY_POS else None
    return {**found, "status": status, "barcode": "P2611290001", "history": list(history),
            "status_at": status_at, "picked_up_at": picked_up}


def pos(status: str, minute: int, note: str = "") -> dict:
    return {"status": status, "at": f"2026-11-29T10:{minute:02d}:00+07:00", "location": "Serang",
            "note": note}


def test_dispatch_happens_once():
    update, events = dispatched(shipment(), "P1", NOW)
    assert update["status"] == "dispatched" and update["barcode"] == "P1"
    assert [(e.type, e.payload["application_id"], e.payload["barcode"]) for e in events] == \
        [("parcel_dispatched", "app-1", "P1")]
    assert dispatched(shipment("dispatched"), "P1", NOW) == ({}, [])


def test_delivered_emits_once_and_a_repeat_changes_nothing():
    update, added, events = tracking_news(shipment("dispatched"), [pos("DELIVERED", 5)], "webhook", NOW)
    assert update["status"] == "delivered"
    assert [e.type for e in events] == ["parcel_picked_up", "parcel_delivered"]
    after = {**shipment("delivered", added, update["status_at"])}
    assert tracking_news(after, [pos("DELIVERED", 5)], "poll", NOW) == ({}, [], [])


def test_each_failed_attempt_is_told_and_pos_tries_again():
    update, added, events = tracking_news(
        shipment("dispatched"), [pos("ACCEPTED", 1), pos("FAILED", 5, "Rumah kosong")], "poll", NOW)
    assert update["status"] == "delivery_failed"
    assert [(e.type, e.payload.get("reason")) for e in events] == [
        ("parcel_picked_up", None), ("parcel_delivery_failed", "Rumah kosong")]
    again = shipment("delivery_failed", added, update["status_at"])
    update, _, events = tracking_news(again, [pos("FAILED", 5, "Rumah kosong"), pos("FAILED", 30)],
                                      "poll", NOW)
    assert len(events) == 1 and update["status"] == "delivery_failed"


def test_pos_taking_the_parcel_is_told_once_with_its_first_news_after_the_order():
    """Printing prints a citizen's parcel again (a spoiled card) only until
    Pos has it in hand: the first news after the order says so, before its
    own event, whatever status it is; never again for that shipment."""
    update, _, events = tracking_news(shipment("dispatched"), [pos("ACCEPTED", 1)], "poll", NOW)
    assert events == [] and "picked_up_at" not in update  # only the order
    for first in ("IN_TRANSIT", "FAILED", "DELIVERED", "RETURNED"):
        update, added, events = tracking_news(shipment("dispatched"), [pos(first, 5)],
                                              "webhook", NOW)
        assert events[0].type == "parcel_picked_up", first
        assert (events[0].payload["shipment_id"], events[0].payload["barcode"],
                events[0].payload["application_id"]) == (application_order_id("job1"),
                                                         "P2611290001", "app-1")
        assert update["picked_up_at"] == pos(first, 5)["at"]
        assert events[0].payload["picked_up_at"] == "2026-11-29T10:05:00+07:00"  # Pos' time
        moved = {**shipment("dispatched", added, update["status_at"]), **update}
        later = tracking_news(moved, [pos("FAILED", 9), pos("DELIVERED", 20)], "poll", NOW)
        assert "parcel_picked_up" not in [e.type for e in later[2]]
        assert "picked_up_at" not in later[0]
    # two news at once: told once, at the first
    update, _, events = tracking_news(shipment("dispatched"),
                                      [pos("FAILED", 9), pos("IN_TRANSIT", 5)], "poll", NOW)
    assert [e.type for e in events] == ["parcel_picked_up", "parcel_delivery_failed"]
    assert update["picked_up_at"] == pos("IN_TRANSIT", 5)["at"]
    # one in transit before courier told it (an older shipment): its next news tells it
    older = {**shipment("in_transit", [], pos("IN_TRANSIT", 5)["at"]), "picked_up_at": None}
    assert [e.type for e in tracking_news(older, [pos("DELIVERED", 9)], "poll", NOW)[2]] == [
        "parcel_picked_up", "parcel_delivered"]
    # stale news tells nothing
    done = shipment("delivered", [], pos("DELIVERED", 30)["at"])
    assert tracking_news({**done, "picked_up_at": None}, [pos("IN_TRANSIT", 5)], "poll",
                         NOW)[2] == []


def test_stale_news_is_kept_but_moves_nothing():
    taken = {"picked_up_at": pos("IN_TRANSIT", 5)["at"]}  # before any of the news below
    done = {**shipment("delivered", [{"key": "DELIVERED@x"}], "2026-11-29T10:20:00+07:00"),
            **taken}
    update, added, events = tracking_news(done, [pos("IN_TRANSIT", 10), pos("RETURNED", 40)],
                                          "webhook", NOW)
    assert events == [] and "status" not in update and "picked_up_at" not in update
    assert [entry["stale"] for entry in added] == [True, True]
    older = {**shipment("in_transit", [], "2026-11-29T10:20:00+07:00"), **taken}
    update, _, events = tracking_news(older, [pos("FAILED", 10)], "webhook", NOW)
    assert events == [] and "status" not in update


@pytest.mark.parametrize("latest", ["FAILED", "DELIVERED", "RETURNED"])
def test_news_of_an_earlier_pickup_come_late_is_told_again_with_its_time(latest):
    """Outside review (HIGH): Pos' IN_TRANSIT came after its FAILED (a
    webhook held, two workers racing): stale, it never reached printing,
    whose reprint printed between the two was not withdrawn - the citizen
    got a card whose QR said "revoked". An earlier pickup moves
    ``picked_up_at`` back and is told again, with its own time; the
    status stays where the later news put it."""
    first, added, events = tracking_news(shipment("dispatched"), [pos(latest, 43)], "webhook",
                                         NOW)
    assert first["picked_up_at"] == pos(latest, 43)["at"]
    after = {**shipment("dispatched"), **first, "history": added}
    update, added, events = tracking_news(after, [pos("IN_TRANSIT", 36)], "webhook", NOW)
    assert [entry["stale"] for entry in added] == [True]
    assert "status" not in update and update["picked_up_at"] == pos("IN_TRANSIT", 36)["at"]
    assert [(e.type, e.payload["picked_up_at"]) for e in events] == [
        ("parcel_picked_up", "2026-11-29T10:36:00+07:00")]
    again = {**after, **update, "history": after["history"] + added}
    # the same news again, or news of a pickup no earlier: nothing more told
    for late in ([pos("IN_TRANSIT", 36)], [pos("IN_TRANSIT", 40)]):
        update, _, events = tracking_news(again, late, "poll", NOW)
        assert events == [] and "picked_up_at" not in update
    # in one poll with news after it: told once, at the earliest
    update, _, events = tracking_news(after, [pos("FAILED", 50), pos("IN_TRANSIT", 30)], "poll",
                                      NOW)
    assert [(e.type, e.payload.get("picked_up_at")) for e in events] == [
        ("parcel_picked_up", "2026-11-29T10:30:00+07:00"), ("parcel_delivery_failed", None)] \
        if latest == "FAILED" else [("parcel_picked_up", "2026-11-29T10:30:00+07:00")]
    assert update["picked_up_at"] == pos("IN_TRANSIT", 30)["at"]


def test_returned_tells_printing_intake_and_the_citizen():
    update, _, events = tracking_news(shipment("delivery_failed"), [pos("RETURNED", 50, "Alamat tidak ditemukan")],
                                      "webhook", NOW)
    assert update["status"] == "returned"
    assert [(e.type, e.payload["reason"]) for e in events] == [("parcel_returned", "Alamat tidak ditemukan")]


def test_pos_free_text_is_masked_as_it_comes_in():
    """A courier's note (or a location) with a phone number or a NIK: masked
    in the history and in the events' ``reason``, whatever the status."""
    news = [pos("IN_TRANSIT", 1, "Titip NIK 3673045207900001"),
            pos("FAILED", 5, "Rumah kosong, hubungi 081234567805"),
            {**pos("RETURNED", 9, "Penerima pindah, telp 0812 3456 7805"),
             "location": "Serang 081234567805"}]
    _, added, events = tracking_news(shipment("dispatched"), news, "webhook", NOW)
    assert [(entry["note"], entry["location"]) for entry in added] == [
        ("Titip NIK 3673********0001", "Serang"),
        ("Rumah kosong, hubungi 08123****805", "Serang"),
        ("Penerima pindah, telp 08123****805", "Serang 08123****805")]
    assert [(e.type, e.payload.get("reason")) for e in events] == [
        ("parcel_picked_up", None),
        ("parcel_delivery_failed", "Rumah kosong, hubungi 08123****805"),
        ("parcel_returned", "Penerima pindah, telp 08123****805")]


def test_a_long_pos_note_is_cut_not_refused():
    """A 5,000-character note was kept whole: in the history, the event's
    ``reason`` and from there the citizen's timeline. Now its first 500
    characters (the last one "…") - masked first, so a number cut in two
    is masked whole - and the webhook still loads (no 400 for Pos)."""
    phone = "081234567805"
    long_note = "Rumah kosong. " * 35 + f"hubungi {phone} " + "x" * 5000
    _, [entry], [_, told] = tracking_news(shipment("dispatched"),
                                          [pos("FAILED", 5, long_note)], "webhook", NOW)
    assert len(entry["note"]) == 500 and entry["note"].endswith("…")
    assert entry["note"].startswith("Rumah kosong. ") and phone[:8] not in entry["note"]
    assert told.payload["reason"] == entry["note"]
    short = "Rumah kosong"
    assert tracking_news(shipment("dispatched"), [pos("FAILED", 5, short)], "webhook",
                         NOW)[1][0]["note"] == short
    signed = {"eventId": "e1", "barcode": "P1", "at": "2026-11-29T10:00:00+07:00",
              "status": "FAILED"}
    assert PosWebhookSchema().load({**signed, "note": long_note})["note"] == long_note


def test_a_long_pos_location_is_cut_as_a_note_is():
    """Outside audit P2 (left in the twentieth session): ``location`` had no
    cap - up to the 64 KB body in every history entry and the operators'
    and citizens' tracking views."""
    location = "Gudang Serang " + "x" * 5000
    _, [entry], _ = tracking_news(shipment("dispatched"),
                                  [{**pos("IN_TRANSIT", 5), "location": location}],
                                  "webhook", NOW)
    assert len(entry["location"]) == 500 and entry["location"].endswith("…")
    assert entry["location"].startswith("Gudang Serang x")


def test_a_webhook_status_outside_pos_table_is_refused_naming_it():
    signed = {"eventId": "e1", "barcode": "P1", "at": "2026-11-29T10:00:00+07:00"}
    with pytest.raises(ValidationError) as refused:
        PosWebhookSchema().load({**signed, "status": "LOST"})
    assert list(refused.value.messages) == ["status"]
    assert localize(refused.value.messages["status"][0], "id") == \
        "Harus salah satu dari: ACCEPTED, IN_TRANSIT, FAILED, DELIVERED, RETURNED."
    assert PosWebhookSchema().load({**signed, "status": "FAILED"})["status"] == "FAILED"


@pytest.mark.parametrize(("given", "echoed"), [({}, 3), ({"days": "3"}, 3), ({"days": "0"}, 0),
                                               ({"days": "0.5"}, 0.5)])
def test_stuck_days_are_echoed_as_given(given, echoed):
    days = StuckQuerySchema().load(given)["days"]
    assert days == echoed and type(days) is type(echoed)


def test_a_manifest_goes_when_all_printed_and_the_dinas_chose_pos():
    manifest = manifest_record({"manifest_id": "JB-1", "kelurahan_code": "3673041010",
                                "batch_id": "b", "application_ids": ["a", "b"]})
    assert not manifest_complete({**manifest, "printed": ["a", "b"]})
    office = {"street": "Jl. Kelurahan 1", "postal_code": "42171"}
    chosen = {**manifest, "by_pos": office}
    assert not manifest_complete({**chosen, "printed": ["a"]})
    assert manifest_complete({**chosen, "printed": ["b", "a"]})
    doc = manifest_posting("SDK-JB-1", {**chosen, "printed": ["b", "a"]}, office, 2,
                           load_wilayah(), DINAS)
    assert doc["receiver"]["name"] == "Kantor Kelurahan Sukajaya" and doc["weight"] == 100


def test_a_manifest_does_not_wait_for_a_member_that_will_not_be_printed():
    """Rejected, withdrawn, its held job cancelled: the parcel goes with the
    printed ones (counted on its label); never with none printed."""
    chosen = {**manifest_record({"manifest_id": "JB-1", "kelurahan_code": "3673041010",
                                 "batch_id": "b", "application_ids": ["a", "b", "c"]}),
              "by_pos": {"street": "Jl. Kelurahan 1", "postal_code": "42171"}}
    assert not_printed({**chosen, "printed": ["a"], **dropped_at("b")}) == {"c"}
    assert not manifest_complete({**chosen, "printed": ["a"], **dropped_at("b")})
    complete = {**chosen, "printed": ["a"], **dropped_at("b", "c")}
    assert manifest_complete(complete) and not_printed(complete) == set()
    doc = manifest_posting("SDK-JB-1", complete, chosen["by_pos"], 1, load_wilayah(), DINAS)
    assert doc["weight"] == 50 and doc["itemDesc"] == "Jemput bola JB-1: 1 dokumen"
    assert not manifest_complete({**chosen, **dropped_at("a", "b", "c")})
    # a manifest courier knew before it kept dropped members
    assert manifest_complete({**chosen, "printed": ["a", "b", "c"], "dropped": None})
    # a rejected member resubmitted and printed before the others: it goes too
    assert manifest_complete({**chosen, "printed": ["a", "b", "c"], **dropped_at("b")})
    # a list of dropped members an earlier version kept (no times) counts too
    assert manifest_complete({**chosen, "printed": ["a"], "dropped": ["b", "c"]})


def test_a_manifest_waits_for_a_member_verified_again():
    """b rejected, then resubmitted and verified again: the parcel waits for
    it, as printing does; dropped again later, it does not."""
    chosen = {**manifest_record({"manifest_id": "JB-1", "kelurahan_code": "3673041010",
                                 "batch_id": "b", "application_ids": ["a", "b"]}),
              "by_pos": {"street": "Jl. Kelurahan 1", "postal_code": "42171"}}
    again = {"verified_at": {"b": REJECTED + datetime.timedelta(hours=2)}}
    assert not_printed({**chosen, "printed": ["a"], **dropped_at("b"), **again}) == {"b"}
    assert not manifest_complete({**chosen, "printed": ["a"], **dropped_at("b"), **again})
    later = dropped_at("b", at=REJECTED + datetime.timedelta(hours=3))
    assert manifest_complete({**chosen, "printed": ["a"], **later, **again})


def test_only_an_event_naming_a_manifest_may_drop_a_member():
    assert not drops_a_member({"application_id": "a", "manifest_id": None})
    assert drops_a_member({"application_id": "a", "manifest_id": "JB-1"})
    assert drops_a_member({"application_id": "a"})  # an older print_job_cancelled: looked up


def test_a_manifest_released_for_collection_at_the_dinas_is_not_sent_by_pos():
    """Printing called the kelurahan's officer to the Dinas for it (and told
    its citizens to collect at the office): an operator's Pos is refused,
    naming the officer's day, in both languages."""
    manifest = manifest_record({"manifest_id": "JB-1", "kelurahan_code": "3673041010",
                                "batch_id": "b", "application_ids": ["a"]})
    ready = {"manifest_id": "JB-1", "day": "2026-12-02", "at_office_from": "2026-12-03"}
    note = collection_at_dinas(ready, manifest)
    assert note == {"day": "2026-12-02", "at_office_from": "2026-12-03"}
    office = {"street": "Jl. Kelurahan 1", "postal_code": "42171"}
    with pytest.raises(CollectedAtDinas) as refused:
        sending_by_pos({**manifest, "at_dinas": note}, office, "op", NOW)
    assert refused.value.status == 409 and refused.value.code == "collected_at_dinas"
    assert "2026-12-02" in localize(refused.value.message, "id")
    assert "cannot be sent by Pos" in localize(refused.value.message, "en")
    # a follow-up (a member printed later) changes nothing: the first release stands
    assert collection_at_dinas({**ready, "day": "2026-12-09"}, {**manifest, "at_dinas": note}) \
        is None
    # the follow-up of a manifest the Dinas sends by Pos: nothing to refuse later
    chosen = {**manifest, "by_pos": office}
    assert collection_at_dinas(ready, chosen) is None
    assert sending_by_pos(chosen, office, "op", NOW)[1] == []
    # before any release: Pos is the operator's to choose
    [sent] = sending_by_pos(manifest, office, "op", NOW)[1]
    assert sent.type == "manifest_sent_by_pos"


def test_an_operators_choice_of_pos_waits_for_printing_s_answer():
    """The operator's send-by-pos is a request: the parcel goes only once
    printing confirmed it, never on a refusal - whichever came first at
    courier, the last print or the answer."""
    manifest = manifest_record({"manifest_id": "JB-1", "kelurahan_code": "3673041010",
                                "batch_id": "b", "application_ids": ["a"]})
    office = {"street": "Jl. Kelurahan 1", "postal_code": "42171"}
    assert manifest_status(manifest, False) == "undecided"
    decision, [sent] = sending_by_pos(manifest, office, "op", NOW)
    assert sent.type == "manifest_sent_by_pos" and decision["status"] == "requested"
    asked = {**manifest, "by_pos": decision, "printed": ["a"]}
    assert pos_status(asked) == "requested" and not manifest_complete(asked)
    assert manifest_status(asked, False) == "requested"
    # asked again before the answer: no second question, the office may be corrected
    again, events = sending_by_pos(asked, {**office, "rt": "001"}, "op2", NOW)
    assert events == [] and again["status"] == "requested" and again["rt"] == "001"

    def answered(event_type, **event):
        changes = pos_answered(asked, event_type, {"manifest_id": "JB-1", **event}, NOW)
        after = {**asked, "by_pos": dict(asked["by_pos"])}
        for key, value in changes.items():
            if key.startswith("by_pos."):
                after["by_pos"][key[len("by_pos."):]] = value
            else:
                after[key] = value
        return after
    confirmed = answered("manifest_pos_confirmed")
    assert manifest_complete(confirmed) and manifest_status(confirmed, False) == "waiting_for_print"
    assert manifest_status(confirmed, True) == "shipment"
    # a known answer, or one after the other, changes nothing
    assert pos_answered(confirmed, "manifest_pos_refused",
                        {"reason": "collected_at_dinas", "day": None}, NOW) is None
    assert pos_answered(manifest, "manifest_pos_confirmed", {}, NOW) is None

    refused = answered("manifest_pos_refused", reason="collected_at_dinas", day="2026-12-02")
    assert not manifest_complete(refused) and pos_status(refused) == "refused"
    assert refused["at_dinas"]["day"] == "2026-12-02"
    assert manifest_status(refused, False) == "collected_at_dinas"
    with pytest.raises(CollectedAtDinas) as repeated:
        sending_by_pos(refused, office, "op", NOW)
    assert "2026-12-02" in localize(repeated.value.message, "id")
    # courier heard of the release first (batch_ready_for_kelurahan): it keeps
    # that day, and its refusal is the same
    released_first = {**asked, "at_dinas": {"day": "2026-12-01", "at_office_from": "2026-12-02"}}
    assert collection_at_dinas({"day": "2026-12-01"}, asked) is not None
    assert pos_answered(released_first, "manifest_pos_refused",
                        {"reason": "collected_at_dinas", "day": "2026-12-01"},
                        NOW)["at_dinas"] == released_first["at_dinas"]
    with pytest.raises(CollectedAtDinas):
        sending_by_pos(released_first, office, "op", NOW)


def test_a_member_delivered_to_its_door_is_not_in_the_parcel_nor_waited_for_once_printed():
    """A jemput-bola row whose citizen asked for delivery by Pos to their
    door: printed, the manifest no longer waits for it, and its parcel (of
    its own) is not the manifest's."""
    chosen = {**manifest_record({"manifest_id": "JB-1", "kelurahan_code": "3673041010",
                                 "batch_id": "b", "application_ids": ["a", "home"]}),
              "by_pos": {"street": "Jl. Kelurahan 1", "postal_code": "42171",
                         "status": "confirmed"}}
    assert printed_as({"delivery_method": "pos"}) == "on_its_own"
    assert printed_as({"delivery_method": "pickup"}) == "printed"
    assert not_printed({**chosen, "printed": ["a"]}) == {"home"}
    assert not manifest_complete({**chosen, "printed": ["a"]})
    complete = {**chosen, "printed": ["a"], "on_its_own": ["home"]}
    assert manifest_complete(complete) and not_printed(complete) == set()
    doc = manifest_posting("SDK-JB-1", complete, chosen["by_pos"], 1, load_wilayah(), DINAS)
    assert doc["itemDesc"] == "Jemput bola JB-1: 1 dokumen"
    # only members delivered to their doors: no parcel for the office
    assert not manifest_complete({**chosen, "printed": [], "on_its_own": ["a", "home"]})


@pytest.mark.parametrize(("manifest_id", "not_yet"), [
    ("JB-3673041010-20261201-35YSQH", True),   # today: batch_accepted may be on its way
    ("JB-3673041010-20261130-35YSQH", True),   # yesterday: across midnight
    ("JB-3673041010-20261128-35YSQH", False),  # days ago: courier would know it
    ("JB-3673041010-20261202-35YSQH", False),  # dated ahead: intake never made it
    ("JB-3673041010-20261301-35YSQH", False),  # no such day
    ("JB-367304101-20261201-35YSQH", False),   # not intake's shape
    ("SDK-JB-3673041010-20261201-35YSQH", False),
    ("nonsense", False)])
def test_an_unknown_manifest_is_not_yet_known_only_if_intake_may_have_just_stored_it(
        manifest_id, not_yet):
    assert may_be_on_its_way(manifest_id, datetime.date(2026, 12, 1)) is not_yet


BODY = b'{"eventId":"e1","barcode":"P1","status":"DELIVERED"}'


def test_a_signed_webhook_passes():
    header = signatures.sign("s3cret", BODY, 1_000_000)
    signatures.verify("s3cret", header, BODY, now=1_000_000 + 299)
    # its hex in capitals, as some HMAC libraries write it
    timestamp, _, digest = header.partition(",v1=")
    signatures.verify("s3cret", f"{timestamp},v1={digest.upper()}", BODY, now=1_000_000)


@pytest.mark.parametrize(("header", "body", "now", "code"), [
    (None, BODY, 1_000_000, "missing"),
    ("sha256=abc", BODY, 1_000_000, "missing"),
    (signatures.sign("s3cret", BODY, 1_000_000), BODY.replace(b"P1", b"P2"), 1_000_000, "mismatch"),
    (signatures.sign("other", BODY, 1_000_000), BODY, 1_000_000, "mismatch"),
    (signatures.sign("s3cret", BODY, 1_000_000).replace("t=1000000", "t=1000900"), BODY, 1_000_900,
     "mismatch"),
    (signatures.sign("s3cret", BODY, 1_000_000), BODY, 1_000_301, "stale"),
    (signatures.sign("s3cret", BODY, 1_000_400), BODY, 1_000_000, "stale"),
])
def test_unsigned_tampered_and_stale_webhooks_are_refused(header, body, now, code):
    with pytest.raises(BadSignature) as refused:
        signatures.verify("s3cret", header, body, now)
    assert refused.value.message == {"missing": signatures.MISSING, "mismatch": signatures.MISMATCH,
                                     "stale": signatures.STALE}[code]


def test_courier_skips_only_a_counter_pickup_outside_a_manifest():
    assert not concerns_courier({"delivery_method": "pickup", "manifest_id": None})
    assert concerns_courier({"delivery_method": "pickup", "manifest_id": "m-1"})
    assert concerns_courier({"delivery_method": "pos", "manifest_id": None})
    # a document_printed from before it said how the document leaves: looked up
    assert concerns_courier({"print_job_id": "j-1"})


def test_a_collected_document_is_not_posted_and_pos_news_of_it_tells_nobody():
    delivery = delivery_record(verified(), NOW)
    assert dispatch_wanted(delivery, returned_before=False)
    assert not dispatch_wanted(delivery, returned_before=True)  # it waits at the counter
    assert not dispatch_wanted({**delivery, "collected": {"how": "counter", "at": NOW}}, False)
    returned = {**shipment("returned", status_at="2026-11-29T10:05:00+07:00"),
                "collected": {"app-1": {"how": "counter", "at": NOW}}}
    update, added, events = tracking_news(returned, [pos("DELIVERED", 30)], "webhook", NOW)
    assert "status" not in update and added[0]["stale"] and events == []
    # Pos still had it (its RETURNED never came) when the counter handed it over
    active = {**shipment("dispatched"), "collected": {"app-1": {"how": "counter", "at": NOW}}}
    update, _, events = tracking_news(active, [pos("RETURNED", 30)], "poll", NOW)
    assert update["status"] == "returned" and events == []


def test_news_dated_ahead_beyond_the_signature_tolerance_is_not_news_by_either_path():
    """The same tolerance as the signature's timestamp: up to 300 s ahead is
    taken; beyond it a webhook is refused naming ``at``, a poll leaves it out."""
    def at(seconds: int) -> dict:
        return {"status": "FAILED", "at": (NOW + datetime.timedelta(seconds=seconds)).isoformat()}

    edge, past = at(signatures.TOLERANCE_SECONDS), at(-3600)
    assert timely([past, edge], "webhook", NOW) == [past, edge]
    with pytest.raises(DatedAhead) as refused:
        timely([at(signatures.TOLERANCE_SECONDS + 1)], "webhook", NOW)
    assert list(refused.value.fields) == ["at"]
    assert localize(refused.value.fields["at"][0], "en").startswith(
        "Event time more than 5 minutes ahead of our clock")
    assert timely([past, at(36 * 60), edge], "poll", NOW) == [past, edge]


def test_every_phone_on_a_label_is_e164_a_kelurahan_office_s_landline_too():
    """A jemput-bola parcel used to carry the office's phone as the operator
    typed it (``0254123456``) while a citizen's carried ``+62...``."""
    manifest = {**manifest_record({"manifest_id": "JB-1", "kelurahan_code": "3673041010",
                                   "batch_id": "b", "application_ids": ["a"]}), "printed": ["a"]}
    office = {"street": "Jl. Kelurahan 1", "postal_code": "42171", "phone": "0254123456"}
    # as stored before the operator's number was normalised on the way in
    doc = manifest_posting("SDK-JB-1", manifest, office, 1, load_wilayah(), DINAS)
    assert doc["receiver"]["phone"] == "+62254123456"
    assert DINAS.phone == doc["sender"]["phone"] == "+62254200000"
    no_phone = manifest_posting("SDK-JB-1", manifest, {**office, "phone": None}, 1,
                                load_wilayah(), DINAS)
    assert no_phone["receiver"]["phone"] == "+62254200000"  # the Dinas', as for e-mail only
    with pytest.raises(ValueError):
        Sender("Disdukcapil", "Jl. Sudirman 5", "Kota Serang", "42118", "12345")


@pytest.mark.parametrize(("given", "kept"), [("0254123456", "+62254123456"),
                                             ("+62254123456", "+62254123456"),
                                             ("081234567890", "+6281234567890")])
def test_the_office_phone_an_operator_gives_is_kept_in_e164(given, kept):
    body = {"street": "Jl. Kelurahan 1", "postal_code": "42171", "phone": given}
    assert KelurahanOfficeSchema().load(body)["phone"] == kept


def test_an_office_phone_that_is_no_number_is_refused_naming_it():
    with pytest.raises(ValidationError) as refused:
        KelurahanOfficeSchema().load({"street": "Jl. Kelurahan 1", "postal_code": "42171",
                                      "phone": "12345678"})
    assert list(refused.value.messages) == ["phone"]


@pytest.mark.parametrize(("field", "value"), [("name", "   "), ("street", "\u200b\u200b\u200b"),
                                              ("rt", "1a"), ("rw", "0005")])
def test_an_office_address_pos_could_not_print_is_refused_naming_the_field(field, value):
    # a name or street of spaces passed (only its length was counted)
    body = {"street": "Jl. Kelurahan 1", "postal_code": "42171", field: value}
    with pytest.raises(ValidationError) as refused:
        KelurahanOfficeSchema().load(body)
    assert list(refused.value.messages) == [field]


@pytest.mark.parametrize("given", ["0254-ABC-456", "+12025550123", "0254１２３４５６"])
def test_an_office_phone_with_letters_or_abroad_is_refused(given):
    # "ABC" was dialled as 222 and a US number posted (outside audit)
    with pytest.raises(ValidationError) as refused:
        KelurahanOfficeSchema().load({"street": "Jl. Kelurahan 1", "postal_code": "42171",
                                      "phone": given})
    assert list(refused.value.messages) == ["phone"]


def test_a_webhook_dated_ahead_with_another_bad_field_names_both():
    # only the other field was named: the clock check ran after the schema (outside audit)
    ahead = (datetime.datetime.now(datetime.timezone.utc)
             + datetime.timedelta(minutes=30)).isoformat()
    with pytest.raises(ValidationError) as refused:
        PosWebhookSchema().load({"eventId": "e1", "barcode": "P2612010001", "status": "X",
                                 "at": ahead})
    assert sorted(refused.value.messages) == ["at", "status"]
    near = (datetime.datetime.now(datetime.timezone.utc)
            + datetime.timedelta(minutes=4)).isoformat()
    assert PosWebhookSchema().load({"eventId": "e1", "barcode": "P2612010001",
                                    "status": "FAILED", "at": near})["status"] == "FAILED"


def test_pos_free_text_is_kept_as_one_line_without_format_characters():
    """Outside audit R2: a note of two lines was refused 400 (Pos does not
    resend); a bidi override reached the citizen's timeline."""
    assert kept_text("Rumah kosong\r\nhubungi\t0812 3456 7890") == \
        "Rumah kosong hubungi 08123****890"
    assert kept_text("\u202eنص عربي\u202c") == "نص عربي"
    assert kept_text(None) == ""


def test_an_email_address_in_pos_free_text_is_masked():
    """Outside audit P2: a FAILED note naming an e-mail address reached the
    citizen's timeline whole (phones and NIKs were masked)."""
    assert kept_text("Penerima minta kabari ke siti.aminah@example.id, terima kasih") == \
        "Penerima minta kabari ke s***@example.id, terima kasih"
    assert kept_text("Jam 14.30 @gudang, 2 x coba") == "Jam 14.30 @gudang, 2 x coba"


def test_printing_s_confirmation_takes_back_a_member_printed_before_it_and_re_queued():
    """Courier counts a jemput-bola member printed; an operator re-queued it
    since (printing waits for its reprint): the confirmation's
    ``not_printed`` names it, and the parcel waits - unless courier's print
    of it is later than the confirmation (the reprint, come first)."""
    manifest = {**manifest_record({"manifest_id": "JB-1", "kelurahan_code": "3673041010",
                                   "batch_id": "b", "application_ids": ["a", "b", "c"]}),
                "printed": ["a", "b"], "printed_at": {"a": "2099-01-01T01:00:00+00:00",
                                                      "b": "2099-01-01T03:00:00+00:00"}}
    confirmed = {"not_printed": ["a", "b", "c"], "occurred_at": "2099-01-01T02:00:00+00:00"}
    assert reprints_awaited(manifest, "manifest_pos_confirmed", confirmed) == ["a"]
    assert reprints_awaited(manifest, "manifest_pos_refused", confirmed) == []
    assert reprints_awaited(manifest, "manifest_pos_confirmed",
                            {"occurred_at": confirmed["occurred_at"]}) == []  # older events
    # a print recorded before printed_at was kept counts as older
    assert reprints_awaited({**manifest, "printed_at": None}, "manifest_pos_confirmed",
                            confirmed) == ["a", "b"]


@pytest.mark.parametrize("delivery, printed_at, awaited", [
    ({}, "2026-12-04T09:00:00+00:00", None),  # never sent back to print
    # the print before the reprint was asked for: waits for the reprint's
    ({"reprint_since": "2026-12-04T09:05:00+00:00"}, "2026-12-04T09:00:00.5+00:00",
     "2026-12-04T09:05:00+00:00"),
    # the reprint's own print (a whole second reads as such, zone or not)
    ({"reprint_since": "2026-12-04T09:05:00.25+00:00"}, "2026-12-04T16:06:00+07:00", None),
    # by default the latest print courier heard of
    ({"reprint_since": "2026-12-04T09:05:00+00:00",
      "last_printed_at": "2026-12-04T09:00:00+00:00"}, None, "2026-12-04T09:05:00+00:00"),
    ({"reprint_since": "2026-12-04T09:05:00+00:00",
      "last_printed_at": "2026-12-04T09:06:00+00:00"}, None, None),
    ({"reprint_since": "2026-12-04T09:05:00+00:00"}, None, "2026-12-04T09:05:00+00:00"),
])
def test_a_parcel_waits_for_its_reprint_only_for_the_prints_before_it(delivery, printed_at,
                                                                     awaited):
    assert reprint_awaited(delivery, printed_at) == awaited


@pytest.mark.parametrize("order_id", ["SDK-1", 5, {"a": 1}, None])
def test_a_webhook_s_fields_outside_the_contract_are_ignored_whatever_they_hold(order_id):
    """docs/courier-api.md: only eventId, barcode, status and at (location,
    note) are read; "other fields are ignored, whatever they hold" - an
    ``orderId`` that was not text answered 400 (outside review), and the
    news waited for the next poll."""
    signed = {"eventId": "e1", "barcode": "P1", "at": "2026-11-29T10:00:00+07:00",
              "status": "IN_TRANSIT", "orderId": order_id, "weight": "20"}
    assert PosWebhookSchema().load(signed) == {
        "eventId": "e1", "barcode": "P1", "status": "IN_TRANSIT", "location": None, "note": "",
        "at": datetime.datetime(2026, 11, 29, 3, 0, tzinfo=datetime.timezone.utc)}


def test_a_corrected_kelurahan_code_may_be_dotted_as_intake_takes_it():
    from services.courier.schemas import AddressCorrectionSchema
    assert AddressCorrectionSchema().load({"kelurahan_code": "36.73.04.1010"}) == \
        {"kelurahan_code": "3673041010"}
    with pytest.raises(ValidationError) as refused:
        AddressCorrectionSchema().load({"kelurahan_code": "36730410"})
    assert list(refused.value.messages) == ["kelurahan_code"]


def test_one_pos_event_written_in_two_offsets_is_one_event():
    """A courier review: the webhook's ``+07:00`` and the poll's ``Z`` of one
    FAILED were two history keys - a second parcel_delivery_failed, a second
    SMS to the citizen."""
    webhook = {"status": "FAILED", "at": "2026-11-29T14:05:00+07:00", "note": "Rumah kosong"}
    polled = {**webhook, "at": "2026-11-29T07:05:00+00:00"}
    first, added, events = tracking_news(shipment("in_transit"), [webhook], "webhook", NOW)
    assert [e.type for e in events] == ["parcel_delivery_failed"]
    after = {**shipment("in_transit"), **first, "history": added}
    update, added, events = tracking_news(after, [polled], "poll", NOW)
    assert (update, added, events) == ({}, [], [])
    # entries kept before keys were instants (the time as Pos wrote it) count too
    before = {**after, "history": [{**entry, "key": "FAILED@2026-11-29T14:05:00+07:00"}
                                   for entry in after["history"]]}
    assert tracking_news(before, [polled], "poll", NOW)[1] == []


@pytest.mark.parametrize("status", ["in_transit", "delivery_failed"])
def test_a_later_dated_accepted_never_moves_a_parcel_pos_has_back(status):
    """Outside review: an ACCEPTED dated after the parcel's IN_TRANSIT (Pos'
    order system late, or its clock) moved it back to ``dispatched``. It
    is the order, not the parcel: kept in the history only."""
    taken = {**shipment(status, [], pos("IN_TRANSIT", 5)["at"])}
    update, added, events = tracking_news(taken, [pos("ACCEPTED", 10)], "webhook", NOW)
    assert events == [] and "status" not in update
    assert [(entry["status"], entry["stale"]) for entry in added] == [("ACCEPTED", True)]
    # in one poll with the news that Pos has it: the ACCEPTED after it moves nothing
    update, added, events = tracking_news(shipment("dispatched"),
                                          [pos("IN_TRANSIT", 5), pos("ACCEPTED", 10)], "poll", NOW)
    assert update["status"] == "in_transit" and update["status_at"] == "2026-11-29T10:05:00+07:00"
    assert [entry["stale"] for entry in added] == [False, True]
    # still news for a parcel Pos has not taken
    update, _, _ = tracking_news(shipment("dispatched"), [pos("ACCEPTED", 10)], "poll", NOW)
    assert update["status"] == "dispatched"


@pytest.mark.parametrize(("first", "then", "status"), [
    ("FAILED", "IN_TRANSIT", "delivery_failed"),  # a failed delivery did not go back
    ("IN_TRANSIT", "ACCEPTED", "in_transit"),     # a late ACCEPTED of the posting second
    ("IN_TRANSIT", "FAILED", "delivery_failed"),  # further along at one instant: news
])
def test_of_two_events_at_one_instant_the_further_along_stands(first, then, status):
    at = "2026-11-29T14:05:00+07:00"
    update, added, _ = tracking_news(shipment("dispatched"), [{"status": first, "at": at}],
                                     "webhook", NOW)
    now = {**shipment("dispatched"), **update, "history": added}
    update, added, _ = tracking_news(now, [{"status": then, "at": at}], "poll", NOW)
    assert {**now, **update}["status"] == status and len(added) == 1


def test_events_of_one_instant_in_one_batch_are_taken_in_the_order_they_happen():
    at = "2026-11-29T14:05:00+07:00"
    update, _, events = tracking_news(
        shipment("dispatched"), [{"status": "FAILED", "at": at}, {"status": "IN_TRANSIT", "at": at}],
        "poll", NOW)
    assert update["status"] == "delivery_failed"
    assert [e.type for e in events] == ["parcel_picked_up", "parcel_delivery_failed"]


def test_pos_tracking_events_courier_cannot_read_are_left_out_not_a_crash():
    """A courier review: one polled event with no ``at`` crashed the polling
    round (and a posting's catch-up) for every shipment after it."""
    good = {"status": "IN_TRANSIT", "at": "2026-11-29T14:05:00+07:00"}
    events = [good, {"status": "FAILED"}, {"status": "FAILED", "at": "kemarin"},
              {"status": 3, "at": "2026-11-29T14:05:00+07:00"}, "DELIVERED", None]
    assert readable(events) == ([good], 5)
    assert readable(None) == ([], 1) and readable([]) == ([], 0)


def test_a_citizens_parcel_dispatched_while_a_reprint_was_asked_waits_for_it_no_more():
    """A posting in flight when the operator sent the document back to print:
    Pos accepted the order, which stands and takes the reprint - the
    shipment is no longer ``awaits_reprint`` (docs/courier-api.md: null
    but for a pending or held one). A manifest's parcel keeps it."""
    waiting = {**shipment(), "awaits_reprint": "2026-11-29T10:00:00+07:00"}
    update, _ = dispatched(waiting, "P1", NOW)
    assert update["status"] == "dispatched" and update["awaits_reprint"] is None
    parcel = {**waiting, "kind": "manifest"}
    assert "awaits_reprint" not in dispatched(parcel, "P1", NOW)[0]


def test_a_member_dropped_after_its_print_is_not_in_the_parcel_nor_on_its_label():
    """A courier review: a member printed, then its printed card cancelled
    (its holder died) or the reprint it awaited cancelled - printing takes it
    off its list, courier kept it in the parcel: its label counted one too
    many, and ``parcel_*`` events told of a cancelled application."""
    printed_at = "2025-06-05T10:00:00+07:00"  # 03:00 UTC, REJECTED's instant
    chosen = {**manifest_record({"manifest_id": "JB-1", "kelurahan_code": "3673041010",
                                 "batch_id": "b", "application_ids": ["a", "b"]}),
              "by_pos": {"street": "Jl. Kelurahan 1", "postal_code": "42171",
                         "status": "confirmed"},
              "printed": ["a", "b"], "printed_at": {"a": printed_at, "b": printed_at}}
    cancelled = {**chosen, **dropped_at("a", at=REJECTED + datetime.timedelta(hours=1))}
    assert parcel_members(cancelled) == ["b"]
    assert manifest_complete(cancelled) and not_printed(cancelled) == set()
    # dropped before that print (rejected, resubmitted, printed): it goes
    before = {**chosen, **dropped_at("a", at=REJECTED - datetime.timedelta(hours=1)),
              "verified_at": {"a": REJECTED - datetime.timedelta(minutes=30)}}
    assert parcel_members(before) == ["a", "b"]
    # verified again since the drop: waited for until printed again, as printing waits
    again = {**cancelled, "verified_at": {"a": REJECTED + datetime.timedelta(hours=2)}}
    assert not_printed(again) == {"a"} and not manifest_complete(again)
    reprinted = {**again, "printed_at": {**again["printed_at"],
                                         "a": "2025-06-05T13:00:00+07:00"}}
    assert parcel_members(reprinted) == ["a", "b"] and manifest_complete(reprinted)
    # every printed one dropped since: nothing to send
    assert not manifest_complete({**chosen, **dropped_at(
        "a", "b", at=REJECTED + datetime.timedelta(hours=1))})

    # the parcel made before the drop, not posted yet, goes without it
    office = chosen["by_pos"]
    parcel = {"applications": [{"application_id": "a"}, {"application_id": "b"}],
              "posting": manifest_posting("SDK-JB-1", chosen, office, 2, load_wilayah(), DINAS)}
    update = parcel_update(parcel, cancelled)
    assert update["applications"] == [{"application_id": "b"}]
    assert (update["posting"]["itemDesc"], update["posting"]["weight"]) == (
        "Jemput bola JB-1: 1 dokumen", 50)
    assert update["posting"]["receiver"] == parcel["posting"]["receiver"]
    assert parcel_update(parcel, chosen) == {}
    # a member printed after the parcel was made is not added to it
    assert parcel_update({**parcel, "applications": [{"application_id": "b"}]}, chosen) == {}


def test_pos_events_with_free_text_or_a_time_courier_cannot_keep_are_left_out():
    """A courier review: a polled note of a number (``kept_text``: TypeError)
    or a time with no instant in UTC (year 1 at +07:00: OverflowError) broke
    the polling round, the catch-up after a posting and an operator's
    release for as long as Pos kept the event."""
    good = {"status": "IN_TRANSIT", "at": "2026-11-29T14:05:00+07:00"}
    plain = {**good, "note": None, "location": None}
    worded = {**good, "note": "Rumah kosong", "location": "Serang"}
    events = [good, plain, worded, {**good, "note": 3}, {**good, "location": {"kota": "Serang"}},
              {**good, "note": ["a"]}, {**good, "at": "0001-01-01T03:00:00+07:00"},
              {**good, "at": "9999-12-31T23:00:00-05:00"}]
    assert readable(events) == ([good, plain, worded], 5)


@pytest.mark.parametrize("at", ["0001-01-01T03:00:00+07:00", "9999-12-31T23:00:00-05:00"])
def test_a_webhook_time_with_no_instant_in_utc_is_refused_naming_it(at):
    """It passed the schema and answered 500 - for ever, as Pos sends a
    webhook it got no answer for again (a courier review)."""
    with pytest.raises(ValidationError) as refused:
        PosWebhookSchema().load({"eventId": "e1", "barcode": "P2612010001",
                                 "status": "DELIVERED", "at": at})
    assert list(refused.value.messages) == ["at"]
    assert localize(refused.value.messages["at"][0], "en") == \
        "Event time outside the range that can be written in UTC."


def test_an_operator_records_a_parcel_of_pos_back_at_the_dinas_once():
    """Outside review: a parcel Pos brought back to the counter without ever
    saying RETURNED stayed with Pos for good. An operator records it
    returned: final, told as Pos' RETURNED is (no reason), with who, when
    and why; recorded again, nothing more."""
    for status in ("dispatched", "in_transit", "delivery_failed"):
        update, added, events = back_at_dinas(shipment(status), "brought_back_by_pos",
                                              "operator-budi", NOW)
        assert (update["status"], update["retention_from"], update["awaits_reprint"]) == (
            "returned", NOW, None)
        assert update["returned_at_dinas"] == {"by": "operator-budi", "at": NOW,
                                               "reason": "brought_back_by_pos"}
        assert [(e.type, e.payload["application_id"], e.payload["reason"]) for e in events] == [
            ("parcel_returned", "app-1", None)]
        assert [(h["status"], h["source"], h["by"], h["stale"]) for h in added] == [
            ("RETURNED", "operator", "operator-budi", False)]
    done = {**shipment("in_transit"), **update, "history": added}
    assert back_at_dinas(done, "never_taken_by_pos", "operator-sri", NOW) == ({}, [], [])
    # Pos' word after it: final, kept as stale, tells nobody
    late, kept, told = tracking_news(done, [pos("RETURNED", 50), pos("DELIVERED", 55)],
                                     "webhook", NOW)
    assert told == [] and "status" not in late and [h["stale"] for h in kept] == [True, True]


@pytest.mark.parametrize(("status", "collected", "code", "named"), [
    ("delivered", False, "final", "delivered"),
    ("returned", False, "final", "returned"),   # Pos said so itself
    ("in_transit", True, "final", "collected"),  # its document in its citizen's hands
    ("held", False, "not_posted", "held"),
    ("pending", False, "not_posted", "pending"),
])
def test_a_parcel_final_or_never_posted_is_not_recorded_back_at_the_dinas(status, collected,
                                                                          code, named):
    found = {**shipment(status), "collected": {"app-1": {"how": "counter", "at": NOW}}
             if collected else None}
    with pytest.raises(NotReturnable) as refused:
        back_at_dinas(found, "brought_back_by_pos", "operator-budi", NOW)
    assert refused.value.code == code
    assert f"(status: {named})" in localize(refused.value.message, "en")


@pytest.mark.parametrize(("body", "named"), [
    ({}, "reason"), ({"reason": "hilang"}, "reason"),
    ({"reason": "brought_back_by_pos", "note": "x"}, "note"),
])
def test_a_return_without_a_known_reason_is_refused_naming_the_field(body, named):
    with pytest.raises(ValidationError) as refused:
        ReturnedAtDinasSchema().load(body)
    assert list(refused.value.messages) == [named]
