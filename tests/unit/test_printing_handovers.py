"""A kelurahan officer hands a jemput-bola document over only once its
manifest went back to the kelurahan, a kecamatan officer a next-day request
only once its day's list went to the kecamatan - and neither before their
day at the Dinas (``handovers.hands_over``). A member that will not be
printed holds none of the others (``handovers.manifest_complete``)."""

from __future__ import annotations

import datetime

import pytest

from services.printing import domain, handovers
from services.printing.exceptions import DocumentNotFound, NotAtCounter, NotAtOffice
from shared.events import build_event, shipment_manifest
from tests.unit.test_manifests import VERIFIED_AGAIN, dropped_at
from tests.unit.test_printing_domain import RULES

SUKAJAYA, CURUG = "3673041010", "367304"
MONDAY, TUESDAY = datetime.date(2025, 6, 9), datetime.date(2025, 6, 10)
SUNDAY = datetime.date(2025, 6, 8)


def waiting_at_kelurahan(job: dict, manifest: dict | None, kelurahan_code: str,
                         today: datetime.date = MONDAY) -> dict:
    assert handovers.hands_over("kelurahan", job, manifest, kelurahan_code, today)
    return job


def item(application_id: str) -> dict:
    return {"application_id": application_id, "tracking_code": f"SDK{application_id.upper()}",
            "full_name": "Siti", "document_type": "ktp_el"}


def manifest(**fields) -> dict:
    return {"_id": "JB-3673041010-20250605-ABCDEF", "kelurahan_code": SUKAJAYA,
            "application_ids": ["a", "b"], "printed_ids": ["a"], "items": [item("a")],
            "ready": False, **fields}


def gone(**fields) -> dict:
    """The manifest went back to the kelurahan: its officer at the Dinas on Monday."""
    return manifest(printed_ids=["a", "b"], items=[], ready=True,
                    days={"a": MONDAY.isoformat(), "b": MONDAY.isoformat()}, **fields)


def test_a_member_printed_before_the_rest_is_not_at_the_kelurahan_yet():
    job = {"application_id": "a", "status": "printed"}
    with pytest.raises(NotAtOffice):
        waiting_at_kelurahan(job, manifest(), SUKAJAYA)
    assert waiting_at_kelurahan(job, gone(), SUKAJAYA) is job


def test_nothing_is_handed_over_before_the_officer_s_day_at_the_dinas():
    job = {"application_id": "a", "status": "printed"}
    with pytest.raises(NotAtOffice) as refused:  # the card is still at the Dinas
        waiting_at_kelurahan(job, gone(), SUKAJAYA, today=SUNDAY)
    assert refused.value.code == "not_at_office"
    assert "2025-06-09" in str(refused.value.message)
    assert "2025-06-09" in refused.value.message.en
    assert "loket" not in str(refused.value.message)  # not the counter's text
    # from the officer's day on (not only from at_office_from, Tuesday)
    assert waiting_at_kelurahan(job, gone(), SUKAJAYA, today=MONDAY) is job
    assert waiting_at_kelurahan(job, gone(), SUKAJAYA, today=TUESDAY) is job


def test_an_unprinted_member_or_another_kelurahans_document_is_refused():
    with pytest.raises(NotAtOffice):
        waiting_at_kelurahan({"application_id": "b", "status": "leased"}, gone(), SUKAJAYA)
    with pytest.raises(DocumentNotFound):
        waiting_at_kelurahan({"status": "printed"}, gone(), "3673041011")
    with pytest.raises(DocumentNotFound):
        waiting_at_kelurahan({"status": "printed"}, None, SUKAJAYA)


def test_a_manifest_sent_by_pos_is_at_the_kelurahan_only_once_delivered():
    job = {"application_id": "a", "status": "printed"}
    ready = manifest(printed_ids=["a", "b"], items=[], ready=True)  # gone by Pos: no days
    dispatched = {**ready, **handovers.PARCEL_NEWS["parcel_dispatched"]}
    with pytest.raises(NotAtOffice):
        waiting_at_kelurahan(job, dispatched, SUKAJAYA)
    delivered = {**dispatched, **handovers.PARCEL_NEWS["parcel_delivered"]}
    assert waiting_at_kelurahan(job, delivered, SUKAJAYA, today=SUNDAY) is job
    # the delivery learnt first, its dispatch after (or redelivered): still delivered
    late = {**ready, **handovers.PARCEL_NEWS["parcel_delivered"],
            **handovers.PARCEL_NEWS["parcel_dispatched"]}
    assert waiting_at_kelurahan(job, late, SUKAJAYA) is job
    # announced for the Dinas, then sent by Pos after all: on the road, refused;
    # delivered: at the office, whatever the officer's day was
    by_pos = {**gone(), **handovers.PARCEL_NEWS["manifest_sent_by_pos"]}
    with pytest.raises(NotAtOffice):
        waiting_at_kelurahan(job, by_pos, SUKAJAYA)
    assert waiting_at_kelurahan(job, {**by_pos, **handovers.PARCEL_NEWS["parcel_delivered"]},
                                SUKAJAYA, today=SUNDAY) is job
    # a member printed after the parcel went (a follow-up): its own officer's day
    follow_up = {**delivered, "follow_ups": {"b": MONDAY.isoformat()}}
    late = {"application_id": "b", "status": "printed"}
    with pytest.raises(NotAtOffice):
        waiting_at_kelurahan(late, follow_up, SUKAJAYA, today=SUNDAY)
    assert waiting_at_kelurahan(late, follow_up, SUKAJAYA, today=MONDAY) is late


def test_only_a_manifest_s_parcel_is_told_by_its_shipment_id():
    assert shipment_manifest("SDK-JB-3673041010-20250605-ABCDEF") == \
        "JB-3673041010-20250605-ABCDEF"
    assert shipment_manifest("SDK-0f3c9a1be2d44e6f8a7b5c4d3e2f1a0b") is None


def test_a_next_day_request_is_at_the_kecamatan_once_its_list_went_out_on_its_day():
    job = {"application_id": "a", "status": "printed", "next_day": True,
           "kecamatan_code": CURUG}
    waiting = {"kecamatan_code": CURUG, "waiting": ["b"], "items": [item("a")]}
    with pytest.raises(NotAtOffice):  # printed, waiting at the Dinas for the day's others
        handovers.hands_over("kecamatan", job, waiting, CURUG, MONDAY)
    # kecamatan_handover_ready emitted: the officer at the Dinas on Monday
    out = {**waiting, "waiting": [], "items": [], "days": {"a": MONDAY.isoformat()}}
    with pytest.raises(NotAtOffice):
        handovers.hands_over("kecamatan", job, out, CURUG, SUNDAY)
    assert handovers.hands_over("kecamatan", job, out, CURUG, MONDAY) is True
    with pytest.raises(NotAtOffice):
        handovers.hands_over("kecamatan", {**job, "status": "leased"}, out, CURUG, MONDAY)
    with pytest.raises(DocumentNotFound):  # another kecamatan's officer
        handovers.hands_over("kecamatan", job, out, "367302", MONDAY)
    with pytest.raises(DocumentNotFound):  # not on any list of a kecamatan
        handovers.hands_over("kecamatan", job, None, CURUG, MONDAY)
    # recorded before: the first record stands (no second event)
    collected = {**job, "status": "collected", "collected_how": "kecamatan"}
    assert handovers.hands_over("kecamatan", collected, out, CURUG, MONDAY) is False
    assert handovers.OFFICES["kecamatan"].list_id({**job, "next_day": False}) is None


def test_a_document_collected_one_way_is_not_recorded_again_another_way():
    at_office = {"status": "collected", "collected_how": "kecamatan"}
    assert domain.collected_here(at_office, "kecamatan")
    assert not domain.collected_here(at_office, "counter")  # the counter: 409, not 200
    with pytest.raises(NotAtCounter):
        domain.waiting_at_counter(at_office)
    at_counter = {"application_id": "a", "status": "collected", "collected_how": "counter"}
    with pytest.raises(NotAtOffice):
        handovers.hands_over("kelurahan", at_counter, gone(), SUKAJAYA, MONDAY)
    # collected before the way was kept: a repeat whichever way
    assert domain.collected_here({"status": "collected"}, "counter")
    assert not domain.collected_here({"status": "printed"}, "counter")


def test_a_manifest_does_not_wait_for_a_member_that_will_not_be_printed_with_it():
    when = handovers.handover_time(RULES, datetime.date(2025, 6, 7))  # a Saturday
    assert handovers.manifest_ready(manifest(), when) is None  # b is still to print
    # b rejected at verification (or withdrawn, or its print job cancelled)
    dropped = manifest(**dropped_at("b"))
    assert handovers.manifest_complete(dropped)
    event = handovers.manifest_ready(dropped, when)
    assert [i["application_id"] for i in event.payload["items"]] == ["a"]
    build_event(event.type, **event.payload)
    # nothing printed yet: nothing goes back (a stays waited for)
    assert handovers.manifest_ready(manifest(printed_ids=[], items=[], **dropped_at("b")),
                                    when) is None
    # every member dropped: nothing to hand over, no event
    assert not handovers.manifest_complete(manifest(printed_ids=[], items=[],
                                                    **dropped_at("a", "b")))


def test_a_member_printed_after_its_manifest_went_follows_on_its_own():
    when = handovers.handover_time(RULES, datetime.date(2025, 6, 7))
    # a went back alone (b was rejected); b resubmitted, verified, printed
    late = manifest(printed_ids=["a", "b"], **dropped_at("b"), items=[item("b")], ready=True,
                    days={"a": "2025-06-09"})
    event = handovers.manifest_ready(late, when)
    assert [i["application_id"] for i in event.payload["items"]] == ["b"]
    assert handovers.handover_days(event.payload["items"], when, "follow_ups") == {
        "follow_ups.b": "2025-06-09"}
    # even for a manifest whose parcel Pos took: b did not go in it
    by_pos = {**late, **handovers.PARCEL_NEWS["manifest_sent_by_pos"]}
    assert handovers.manifest_ready(by_pos, when) is not None
    # the whole of a manifest going by Pos calls nobody to the Dinas
    assert handovers.manifest_ready({**manifest(**dropped_at("b")),
                                     **handovers.PARCEL_NEWS["manifest_sent_by_pos"]},
                                    when) is None


def test_a_member_verified_again_before_its_manifest_went_is_waited_for():
    """b rejected, resubmitted and verified again: a member again - the
    manifest waits for it, then goes back as one with it."""
    when = handovers.handover_time(RULES, datetime.date(2025, 6, 7))
    again = {"verified_at": {"b": VERIFIED_AGAIN}}
    assert not handovers.manifest_complete(manifest(**dropped_at("b"), **again))
    both = manifest(**dropped_at("b"), **again, printed_ids=["a", "b"],
                    items=[item("a"), item("b")])
    event = handovers.manifest_ready(both, when)
    assert [i["application_id"] for i in event.payload["items"]] == ["a", "b"]
    assert (event.payload["follow_up"], event.payload["members"]) == (False, 2)
    # dropped again after that verification (its held print job given up): not waited for
    later = dropped_at("b", at=VERIFIED_AGAIN + datetime.timedelta(hours=1))
    assert handovers.manifest_complete(manifest(**later, **again))


def test_after_its_manifest_went_a_late_member_waits_for_no_other():
    """a went back alone; b and c were rejected, both verified again after
    that; c printed first follows at once - not held back for b."""
    when = handovers.handover_time(RULES, datetime.date(2025, 6, 7))
    late = manifest(application_ids=["a", "b", "c"], printed_ids=["a", "c"], items=[item("c")],
                    ready=True, days={"a": "2025-06-09"}, **dropped_at("b", "c"),
                    verified_at={"b": VERIFIED_AGAIN, "c": VERIFIED_AGAIN})
    event = handovers.manifest_ready(late, when)
    assert [i["application_id"] for i in event.payload["items"]] == ["c"]
    assert event.payload["follow_up"]


def test_a_kecamatan_list_does_not_wait_for_a_job_given_up():
    when = handovers.handover_time(RULES, datetime.date(2025, 6, 7))
    # b's held job cancelled by an operator: pulled from waiting, a goes
    event = handovers.kecamatan_handover(
        {"kecamatan_code": CURUG, "waiting": [], "items": [item("a")]}, when)
    assert [i["application_id"] for i in event.payload["items"]] == ["a"]
    # nothing printed: no list
    assert handovers.kecamatan_handover({"kecamatan_code": CURUG, "waiting": [], "items": []},
                                        when) is None


def test_printing_confirms_pos_only_for_a_manifest_it_has_not_released():
    """Printing is the one to decide between collection at the Dinas and
    Pos: the operator's choice is confirmed while the manifest waits (its
    kelurahan then is never called to the Dinas for it), refused once it
    went to its officer, naming the officer's day."""
    update, answer = handovers.pos_answer(manifest())
    assert answer.type == "manifest_pos_confirmed" and update == {"by_pos": True}
    assert answer.payload == {"manifest_id": manifest()["_id"], "kelurahan_code": SUKAJAYA,
                              "not_printed": ["b"]}
    # the members it waits for: one printed but re-queued since (pulled
    # from printed_ids) among them, not one dropped
    _, answer = handovers.pos_answer(manifest(printed_ids=[], items=[]))
    assert answer.payload["not_printed"] == ["a", "b"]
    _, answer = handovers.pos_answer(manifest(dropped_ids=["b"]))
    assert answer.payload["not_printed"] == []
    when = handovers.handover_time(RULES, MONDAY)
    confirmed = manifest(printed_ids=["a", "b"], items=[item("a"), item("b")], **update)
    assert handovers.manifest_ready(confirmed, when) is None
    # a manifest printing has not heard of yet (its batch_accepted behind): not released
    assert handovers.pos_answer({"_id": "JB-1", "ready": False})[1].type == \
        "manifest_pos_confirmed"

    update, answer = handovers.pos_answer(gone())
    assert update == {} and answer.type == "manifest_pos_refused"
    assert answer.payload["reason"] == "collected_at_dinas"
    assert answer.payload["day"] == MONDAY.isoformat()
    build_event(answer.type, **answer.payload)  # the schema takes it
    # gone by Pos already (asked twice, or Pos has it): confirmed again
    assert handovers.pos_answer(gone(by_pos=True))[1].type == "manifest_pos_confirmed"
    assert handovers.pos_answer(gone(pos_dispatched=True))[1].type == "manifest_pos_confirmed"


def test_a_member_delivered_to_its_citizen_s_door_is_no_hand_over_item():
    assert handovers.goes_with_manifest({"delivery_method": "pickup"})
    assert not handovers.goes_with_manifest({"delivery_method": "pos"})


def test_a_member_pos_takes_to_its_citizen_s_door_is_on_no_officer_s_list():
    """Outside review: the kelurahan officer recorded a door member's
    hand-over (its manifest delivered by Pos) and closed its application
    while its own parcel was on its way to the door."""
    kelurahan = handovers.OFFICES["kelurahan"]
    at_the_office = {"manifest_id": "JB-3673041010-20250605-ABCDEF",
                     "delivery_method": "pickup"}
    assert kelurahan.list_id(at_the_office) == at_the_office["manifest_id"]
    assert kelurahan.list_id({**at_the_office, "delivery_method": "pos"}) is None


def test_a_reprint_goes_in_a_manifest_s_parcel_until_pos_takes_it():
    """A member's reprint printed after its manifest went by Pos goes in the
    parcel (no follow-up for the officer) while Pos has not taken it; from
    Pos' pickup (or delivery, news in any order) none is printed again."""
    by_pos = {**gone(), **handovers.PARCEL_NEWS["manifest_sent_by_pos"]}
    assert handovers.into_the_parcel(by_pos) and not handovers.pos_has_it(by_pos)
    dispatched = {**by_pos, **handovers.PARCEL_NEWS["parcel_dispatched"]}
    assert handovers.into_the_parcel(dispatched)  # the order accepted, the parcel here
    for taken in ({**dispatched, "pos_picked_up_at": datetime.datetime(2026, 12, 1, 3)},
                  {**dispatched, **handovers.PARCEL_NEWS["parcel_delivered"]}):
        assert handovers.pos_has_it(taken) and not handovers.into_the_parcel(taken)
    assert not handovers.into_the_parcel({**by_pos, "ready": False})  # goes with the rest
    assert not handovers.into_the_parcel(gone())  # its officer collects it
    assert not handovers.pos_has_it(gone())
