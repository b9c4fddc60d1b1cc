"""An operator re-queues a printed document still at the Dinas (outside
audit T1 F2: the journal pattern's crash between "printing" and the printer
taking the document reports a card printed that was not; a card can also
come out spoiled), end to end through the real stack:

* a counter document: queued again first in the queue; its QR answers
  ``revoked`` (``replaced``) at once; its window's seat is given back;
  intake shows ``print_queued`` with no window; claimed, downloaded and
  printed again, the new QR is valid, the old one stays revoked, the
  citizen keeps the window announced - or the one they chose - and is told
  nothing again;
* a next-day request whose kecamatan list went: the list waits for it
  again (the old day no longer lets its officer record a hand-over), and
  the reprint goes out on a list of its own;
* a jemput-bola member re-queued before its manifest went: the manifest
  waits for it again and goes back with it, reprinted;
* a citizen's own parcel spoiled before Pos' courier took it: printed
  again into the same Pos order (nothing posted twice), its old QR
  ``revoked`` (``replaced``), the citizen's status ``dispatched`` with its
  barcode throughout; once Pos has it in hand (courier's
  ``parcel_picked_up``, ``picked_up_at`` on the shipment) it is refused;
  Pos out of reach at its print, the posting's retry after the reprint was
  asked for posts nothing: the reprint's print posts the order;
* a member of a jemput-bola manifest the Dinas sends by Pos: printed again
  into the manifest's parcel until Pos takes it (a reprint not printed by
  then withdrawn);
* refused (409, nothing changed): not printed yet (``not_printed``),
  collected (``handed_over``), a parcel Pos has in hand - a citizen's own
  or a manifest's (``with_pos``), a card whose holder is recorded deceased
  since (``holder_deceased``).
"""

from __future__ import annotations

import datetime
import uuid

import requests

from shared.clock import WIB, today_wib

from tests.e2e.test_batches import first_ktp, ktp_row, next_day
from tests.e2e.test_courier import pos_body, shipment, submit_and_verify, webhook
from tests.e2e.test_downstream_events import Citizen
from tests.e2e.test_ktp_journey import ktp_application
from tests.e2e.test_metrics import samples, total, value
from tests.e2e.test_courier import at_pos, refused_postings
from tests.e2e.test_manifest_pos_choice import (HOME, known_to_courier, manifest_at_courier,
                                                manifest_event, pos_confirmed_manifest,
                                                printed_at_courier, send_by_pos)
from tests.e2e.test_office_handovers import (batch_sent, death_verified, lookup, print_it,
                                             published, sms_to, verify)
from tests.e2e.test_printed_document import (collected_at_counter, download,
                                             report_printed)
from tests.e2e.test_printed_document import verify as verify_qr
from tests.helpers import (KECAMATAN_CODE, OPERATOR, STATION, BrokerProbe, claim_job_for,
                           eventually, random_mobile, random_nik)
from tests.pdf_checks import pdf_qr_codes


# why the operator reprints (a reprint spends a blanko: it must say)
SPOILED = {"reason": "Kartu rusak saat laminasi"}


def reprint(system, print_job_id: str, body: dict | None = None) -> requests.Response:
    """An operator's reprint, saying why (``SPOILED`` unless ``body``)."""
    return requests.post(f"{system.url('printing')}/api/v1/operator/print-jobs/"
                         f"{print_job_id}/reprint", json=SPOILED if body is None else body,
                         headers=OPERATOR, timeout=10)


def refused(answer: requests.Response, code: str) -> None:
    assert answer.status_code == 409, answer.text
    assert answer.json()["error"]["code"] == code, answer.text


def counter_job(system, nik: str, mobile: str) -> tuple[str, str, dict]:
    """A KTP-el at the counter, verified and claimed: (application id,
    tracking code, the claimed job with its NIK)."""
    submitted = requests.post(f"{system.url('intake')}/api/v1/applications",
                              json=ktp_application(nik, mobile, None), timeout=10)
    assert submitted.status_code == 202, submitted.text
    application_id, code = submitted.json()["application_id"], submitted.json()["tracking_code"]
    verify(system, application_id)
    job = claim_job_for(system.url("printing"), application_id)
    return application_id, code, {**job, "nik": nik}


def ready_sms(system, mobile: str, code: str) -> list[str]:
    return [m["message"] for m in sms_to(system, mobile)
            if code in m["message"] and "siap diambil" in m["message"]]


def ready_handled(system) -> float:
    """How many ``document_ready_for_pickup`` notification has handled."""
    return total(samples(system.url("notification")), "smartdukcapil_events_total",
                 service="notification", handler="on_document_ready_for_pickup",
                 outcome="handled")


def window_count(mongo, slot_key: str) -> int:
    return (mongo["printing"].pickup_windows.find_one({"_id": slot_key}) or {}).get("count", 0)


def test_a_printed_counter_card_re_queued_is_printed_again_with_a_new_qr_and_window(
        system, mongo):
    nik, mobile = random_nik(female=True), random_mobile()
    application_id, code, first = counter_job(system, nik, mobile)
    [first_qr] = pdf_qr_codes(download(system, first).content)
    printed_on = today_wib()
    first_window = report_printed(system, first)["slot"]
    jobs = mongo["printing"].print_jobs
    first_key = jobs.find_one({"_id": first["print_job_id"]})["slot"]["key"]
    seats = window_count(mongo, first_key)
    eventually(lambda: lookup(system, code, nik)["status"] == "ready_for_pickup",
               what="intake: ready for pickup")
    eventually(lambda: ready_sms(system, mobile, code), what="the first ready SMS")
    assert verify_qr(system, first_qr).json()["status"] == "valid"

    # the card is missing: the operator re-queues it
    requeued = reprint(system, first["print_job_id"])
    assert requeued.status_code == 200, requeued.text
    assert requeued.json() == {"print_job_id": first["print_job_id"], "status": "queued"}
    stored = jobs.find_one({"_id": first["print_job_id"]})
    assert (stored["status"], stored["attempts"], stored["priority"], stored["slot"]) == (
        "queued", 0, 0, None)  # first in the queue, as replacements are
    assert window_count(mongo, first_key) == seats - 1  # its seat given back
    old = verify_qr(system, first_qr).json()
    assert (old["status"], old["reason"]) == ("revoked", "replaced")
    queued = eventually(lambda: (found := lookup(system, code, nik))["status"] == "print_queued"
                        and found, what="intake: queued again")
    assert "pickup_slot" not in queued
    # a second re-queue (the operator retrying after a lost answer) is answered
    # again and changes nothing (outside review: it was 409 not_printed, "release
    # or cancel it instead")
    again = reprint(system, first["print_job_id"])
    assert again.status_code == 200, again.text
    assert again.json() == {"print_job_id": first["print_job_id"], "status": "queued"}
    again_stored = jobs.find_one({"_id": first["print_job_id"]})
    assert (again_stored["status"], again_stored["attempts"], again_stored["printed_before"]) == (
        "queued", 0, stored["printed_before"])

    second = {**claim_job_for(system.url("printing"), application_id), "nik": nik}
    assert second["print_job_id"] == first["print_job_id"]
    [second_qr] = pdf_qr_codes(download(system, second).content)
    handled = ready_handled(system)
    second_window = report_printed(system, second)["slot"]
    second_key = jobs.find_one({"_id": first["print_job_id"]})["slot"]["key"]
    # the window announced still lies ahead: the reprint keeps it, taking its
    # seat again (unless the WIB day turned between the two prints and the
    # window is past: a new one then, the first's seat stays given back)
    if today_wib() == printed_on:
        assert second_key == first_key
        assert window_count(mongo, first_key) == seats
    else:
        assert window_count(mongo, first_key) == seats - 1
    new = verify_qr(system, second_qr).json()
    assert new["status"] == "valid"
    assert new["claims"]["document_number"] == old["claims"]["document_number"]
    assert verify_qr(system, first_qr).json()["reason"] == "replaced"

    ready = eventually(lambda: (found := lookup(system, code, nik))["status"] ==
                       "ready_for_pickup" and found, what="intake: ready again")
    assert ready["pickup_slot"]["date"] == second_window["date"]
    assert ready["pickup_slot"]["start"] == second_window["start"]
    if second_key == first_key:
        # the very window the citizen was told: no second SMS saying it again
        # (outside audit E: the same "ready" SMS came twice)
        eventually(lambda: ready_handled(system) > handled, what="the reprint's ready handled")
        assert len(ready_sms(system, mobile, code)) == 1
    else:
        texts = eventually(lambda: len(found := ready_sms(system, mobile, code)) == 2 and found,
                           what="the second ready SMS")
        assert nik not in texts[1] and mobile[1:] not in texts[1]
    assert first_window is not None and second_window is not None

    collected_at_counter(system, second)
    refused(reprint(system, first["print_job_id"]), "handed_over")


def test_a_reprint_keeps_the_window_the_citizen_chose_and_tells_nothing_again(system, mongo):
    """The citizen moved their window a week ahead; the card is spoiled and
    printed again: the reprint is seated in the window they chose (outside
    audit: it dropped it for the next free one and sent a second "ready" SMS
    naming a window they had not chosen)."""
    printing = system.url("printing")
    nik, mobile = random_nik(female=True), random_mobile()
    application_id, code, first = counter_job(system, nik, mobile)
    report_printed(system, first)
    eventually(lambda: ready_sms(system, mobile, code), what="the first ready SMS")
    offered = requests.post(f"{printing}/api/v1/pickup/windows",
                            json={"tracking_code": code, "nik": nik}, timeout=10)
    assert offered.status_code == 200, offered.text
    chosen = offered.json()["windows"][10]
    moved = requests.post(f"{printing}/api/v1/pickup/reschedule", timeout=10, json={
        "tracking_code": code, "nik": nik, "date": chosen["date"], "start": chosen["start"]})
    assert moved.status_code == 200, moved.text
    jobs = mongo["printing"].print_jobs
    chosen_key = jobs.find_one({"_id": first["print_job_id"]})["slot"]["key"]
    seats = window_count(mongo, chosen_key)

    assert reprint(system, first["print_job_id"]).status_code == 200
    assert window_count(mongo, chosen_key) == seats - 1
    eventually(lambda: lookup(system, code, nik)["status"] == "print_queued",
               what="intake: queued again")
    handled = ready_handled(system)
    again = report_printed(system, {**claim_job_for(printing, application_id), "nik": nik})
    assert (again["slot"]["date"], again["slot"]["start"]) == (chosen["date"], chosen["start"])
    assert jobs.find_one({"_id": first["print_job_id"]})["slot"]["key"] == chosen_key
    assert window_count(mongo, chosen_key) == seats
    ready = eventually(lambda: (found := lookup(system, code, nik))["status"] ==
                       "ready_for_pickup" and found, what="intake: ready again")
    assert (ready["pickup_slot"]["date"], ready["pickup_slot"]["start"]) == (
        chosen["date"], chosen["start"])
    eventually(lambda: ready_handled(system) > handled, what="the reprint's ready handled")
    assert len(ready_sms(system, mobile, code)) == 1


def test_a_next_day_card_re_queued_after_its_list_went_follows_on_its_own(system, mongo):
    printing = system.url("printing")
    probe, seen = BrokerProbe(system.amqp_uri, "printing.events"), []
    try:
        nik = random_nik(kecamatan=KECAMATAN_CODE)
        accepted = next_day(system, first_ktp(nik))
        assert accepted.status_code == 202, accepted.text
        application_id = accepted.json()["application_id"]
        verify(system, application_id)
        job = claim_job_for(printing, application_id)
        report_printed(system, job)
        eventually(lambda: published(probe, seen, "kecamatan_handover_ready", application_id),
                   what="the kecamatan's list")

        assert reprint(system, job["print_job_id"]).status_code == 200
        [requeued] = eventually(lambda: published(probe, seen, "print_job_requeued",
                                                  application_id), what="print_job_requeued")
        assert requeued["requeued_by"] and requeued["print_job_id"] == job["print_job_id"]
        [stored] = mongo["printing"].handover_lists.find({"waiting": application_id})
        assert application_id not in stored.get("days", {})

        report_printed(system, claim_job_for(printing, application_id))
        lists = eventually(lambda: len(found := published(
            probe, seen, "kecamatan_handover_ready", application_id)) == 2 and found,
            what="the reprint's list")
        assert [item["application_id"] for item in lists[1]["items"]] == [application_id]
        assert not mongo["printing"].handover_lists.find_one({"waiting": application_id})
    finally:
        probe.close()


def test_a_jemput_bola_member_re_queued_before_its_manifest_went_goes_back_with_it(
        system, mongo):
    probe, seen = BrokerProbe(system.amqp_uri, "printing.events"), []
    try:
        answer = batch_sent(system, [ktp_row(), ktp_row()])
        manifest_id = answer["manifest_id"]
        first, second = [member["application_id"] for member in answer["accepted"]]
        verify(system, first)
        verify(system, second)
        printed = print_it(system, first)
        printed_at_courier(mongo, manifest_id, first)
        assert reprint(system, printed["print_job_id"]).status_code == 200
        print_it(system, second)  # the manifest waits for the reprint
        eventually(lambda: published(probe, seen, "print_job_requeued", first),
                   what="print_job_requeued")
        assert not published(probe, seen, "batch_ready_for_kelurahan", second)
        # courier's view of the manifest says so too
        printed_at_courier(mongo, manifest_id, second)
        view = eventually(lambda: (lambda v: v if v["not_printed"] == [first] else None)(
            manifest_at_courier(system, manifest_id).json()), what="courier: first not printed")
        assert view["status"] == "undecided", view
        print_it(system, first)
        [ready] = eventually(lambda: published(probe, seen, "batch_ready_for_kelurahan", first),
                             what="the manifest, reprint included")
        assert sorted(item["application_id"] for item in ready["items"]) == sorted(
            [first, second])
        assert ready["follow_up"] is False
        eventually(lambda: manifest_at_courier(system, manifest_id).json()["not_printed"] == [],
                   what="courier: the reprint printed")
    finally:
        probe.close()


def test_pos_chosen_while_a_member_waits_for_its_reprint_posts_the_parcel_with_it(
        system, mongo, pos):
    """A member re-queued before the operator chose Pos for the manifest:
    courier had it printed, printing waits for its reprint. Printing's
    confirmation names it (``not_printed``), and courier posts the parcel
    only once it is printed again - with it (it posted the parcel at once,
    the reprint not in it)."""
    probe, seen = BrokerProbe(system.amqp_uri, "printing.events"), []
    try:
        answer = batch_sent(system, [ktp_row(), ktp_row()])
        manifest_id = answer["manifest_id"]
        first, second = [member["application_id"] for member in answer["accepted"]]
        verify(system, first)
        verify(system, second)
        printed = print_it(system, first)
        printed_at_courier(mongo, manifest_id, first)
        assert reprint(system, printed["print_job_id"]).status_code == 200
        print_it(system, second)
        printed_at_courier(mongo, manifest_id, second)
        eventually(lambda: manifest_at_courier(system, manifest_id).json()["not_printed"] ==
                   [first], what="courier: first not printed before any choice of Pos")
        assert send_by_pos(system, manifest_id).status_code == 202
        [confirmed] = eventually(lambda: manifest_event(probe, seen, "manifest_pos_confirmed",
                                                        manifest_id), what="printing confirms")
        assert confirmed["not_printed"] == [first]
        eventually(lambda: manifest_at_courier(system, manifest_id).json()["status"] ==
                   "waiting_for_print", what="courier waits for the reprint")
        view = manifest_at_courier(system, manifest_id).json()
        assert view["not_printed"] == [first], view
        assert at_pos(pos, f"SDK-{manifest_id}") == []
        print_it(system, first)
        eventually(lambda: at_pos(pos, f"SDK-{manifest_id}"), what="the parcel posted")
        carried = mongo["courier"].shipments.find_one({"_id": f"SDK-{manifest_id}"})
        assert sorted(a["application_id"] for a in carried["applications"]) == sorted(
            [first, second])
    finally:
        probe.close()


def operator_steps(system, application_id: str) -> list[str]:
    """The application's timeline as an operator sees it, notices left out."""
    answer = requests.get(f"{system.url('intake')}/api/v1/operator/applications/"
                          f"{application_id}", headers=OPERATOR, timeout=10)
    assert answer.status_code == 200, answer.text
    return [step["status"] for step in answer.json()["timeline"] if step["status"] != "notified"]


def manifest_parcel(system, manifest_id: str) -> dict:
    answer = shipment(system, f"SDK-{manifest_id}")
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_member_of_a_manifest_sent_by_pos_is_printed_again_into_its_parcel(
        system, mongo, courier_events, pos):
    """The earlier known limit "a member of a manifest the Dinas sends by
    Pos cannot be printed again" (409 ``with_pos`` while its parcel still
    waited at the Dinas): re-queued, the parcel's shipment waits for it
    (``awaits_reprint``), the reprint goes in the parcel - nobody called to
    the Dinas for it, nothing posted again. Re-queued again and Pos takes
    the parcel before the reprint is printed: the reprint is withdrawn, the
    manifest counts the member printed; from then on, ``with_pos``."""
    probe, seen = BrokerProbe(system.amqp_uri, "printing.events"), []
    try:
        manifest_id, member, _ = pos_confirmed_manifest(system, mongo)
        application_id = member["application_id"]
        printed = print_it(system, application_id)
        [posted] = courier_events.wait_for(application_id, "parcel_dispatched")
        assert reprint(system, printed["print_job_id"]).status_code == 200
        waiting = eventually(lambda: (p := manifest_parcel(system, manifest_id))
                             ["awaits_reprint"] and p, what="the parcel waits for the reprint")
        assert waiting["status"] == "dispatched" and waiting["picked_up_at"] is None
        assert manifest_at_courier(system, manifest_id).json()["not_printed"] == [application_id]
        print_it(system, application_id)
        eventually(lambda: manifest_parcel(system, manifest_id)["awaits_reprint"] is None,
                   what="the reprint in the parcel")
        assert manifest_at_courier(system, manifest_id).json()["not_printed"] == []
        eventually(lambda: published(probe, seen, "document_printed", application_id)[1:],
                   what="the reprint's document_printed")
        assert not published(probe, seen, "batch_ready_for_kelurahan", application_id)
        assert len(at_pos(pos, posted["shipment_id"])) == 1
        # sent back again; Pos' courier takes the parcel before the reprint is printed
        assert reprint(system, printed["print_job_id"]).status_code == 200
        eventually(lambda: manifest_parcel(system, manifest_id)["awaits_reprint"],
                   what="the parcel waits again")
        taken_at = datetime.datetime.now(WIB).replace(microsecond=0).isoformat()
        pos_news(system, posted["barcode"], posted["shipment_id"], "IN_TRANSIT", taken_at)
        job = eventually(lambda: mongo["printing"].print_jobs.find_one(
            {"_id": printed["print_job_id"], "reprint_withdrawn_at": {"$ne": None}}),
            what="the reprint withdrawn")
        assert job["status"] == "printed"
        parcel = manifest_parcel(system, manifest_id)
        assert parcel["awaits_reprint"] is None and parcel["picked_up_at"]
        eventually(lambda: manifest_at_courier(system, manifest_id).json()["not_printed"] == [],
                   what="courier: the member in the parcel, printed before")
        refused(reprint(system, printed["print_job_id"]), "with_pos")
        assert not published(probe, seen, "batch_ready_for_kelurahan", application_id)
        # the member's timeline says the reprint was withdrawn (outside audit J F2)
        [withdrawal] = eventually(lambda: published(probe, seen, "reprint_withdrawn",
                                                    application_id),
                                  what="printing's reprint_withdrawn")
        assert (withdrawal["manifest_id"], withdrawal["reprint_printed_at"]) == (
            manifest_id, None)
        eventually(lambda: operator_steps(system, application_id)[-1:] == ["reprint_withdrawn"],
                   what="the withdrawal on the member's timeline")
    finally:
        probe.close()


def test_a_member_pos_takes_to_its_door_is_printed_again_into_its_own_order(
        system, mongo, courier_events, pos):
    """A jemput-bola row whose citizen asked Pos to their door is a parcel of
    its own (409 ``with_pos`` before, even while it waited at the Dinas):
    printed again into its Pos order, nothing posted twice; its manifest
    does not wait for the reprint - the officer is called for the others."""
    probe, seen = BrokerProbe(system.amqp_uri, "printing.events"), []
    try:
        answer = batch_sent(system, [ktp_row(), {**ktp_row(),
                                                 "delivery": {"method": "pos", "address": HOME}}])
        office, home = answer["accepted"]
        known_to_courier(system, mongo, answer["manifest_id"])
        for member in (office, home):
            verify(system, member["application_id"])
        printed = print_it(system, home["application_id"])
        [own] = courier_events.wait_for(home["application_id"], "parcel_dispatched")
        assert reprint(system, printed["print_job_id"]).status_code == 200
        print_it(system, office["application_id"])
        [ready] = eventually(lambda: published(probe, seen, "batch_ready_for_kelurahan",
                                               office["application_id"]),
                             what="the officer called, the door member's reprint not awaited")
        assert [item["application_id"] for item in ready["items"]] == [office["application_id"]]
        print_it(system, home["application_id"])
        eventually(lambda: published(probe, seen, "document_printed", home["application_id"])[1:],
                   what="the reprint's document_printed")
        assert len(at_pos(pos, own["shipment_id"])) == 1
        assert [kind for kind, _ in courier_events.of(home["application_id"])] == [
            "parcel_dispatched"]
    finally:
        probe.close()


def after_dispatch(citizen: Citizen, view: dict) -> list[str]:
    """The print steps on the citizen's timeline after its parcel was dispatched."""
    steps = citizen.steps(view)
    return [step for step in steps[steps.index("dispatched"):]
            if step in ("print_queued", "printed")]


def test_a_parcel_spoiled_before_pos_took_it_is_printed_again_into_the_same_order(
        system, mongo, courier_events, pos):
    """Closes the known limit "a document spoiled there cannot be printed
    again": the card of a citizen's own parcel comes out unusable while the
    Pos order waits for Pos' courier at the Dinas."""
    citizen = Citizen(system, pos_body())  # submitted, verified by an operator
    nik = citizen.body["applicant"]["nik"]
    first = {**claim_job_for(system.url("printing"), citizen.application_id), "nik": nik}
    [first_qr] = pdf_qr_codes(download(system, first).content)
    report_printed(system, first)
    [posted] = courier_events.wait_for(citizen.application_id, "parcel_dispatched")
    order_id, barcode = posted["shipment_id"], posted["barcode"]
    assert order_id == f"SDK-{first['print_job_id']}"
    citizen.until(lambda v: v["status"] == "dispatched", "dispatched on the status page")
    assert shipment(system, order_id).json()["picked_up_at"] is None  # the order only

    requeued = reprint(system, first["print_job_id"])
    assert requeued.status_code == 200, requeued.text
    assert requeued.json() == {"print_job_id": first["print_job_id"], "status": "queued"}
    old = verify_qr(system, first_qr).json()
    assert (old["status"], old["reason"]) == ("revoked", "replaced")
    citizen.until(lambda v: "print_queued" in after_dispatch(citizen, v), "the re-queue's step")
    assert citizen.view()["status"] == "dispatched"  # the Pos order stands
    assert citizen.view()["parcel_barcode"] == barcode

    second = {**claim_job_for(system.url("printing"), citizen.application_id), "nik": nik}
    assert second["print_job_id"] == first["print_job_id"]
    [second_qr] = pdf_qr_codes(download(system, second).content)
    report_printed(system, second)
    view = citizen.until(lambda v: after_dispatch(citizen, v) == ["print_queued", "printed"],
                         "the reprint's step")
    assert (view["status"], view["parcel_barcode"]) == ("dispatched", barcode)
    assert verify_qr(system, second_qr).json()["status"] == "valid"
    # the reprint's document_printed handled by courier before a later one's: one order
    other = submit_and_verify(system)
    claim = claim_job_for(system.url("printing"), other)
    report_printed(system, claim)
    courier_events.wait_for(other, "parcel_dispatched")
    assert len(at_pos(pos, order_id)) == 1
    assert [k for k, _ in courier_events.of(citizen.application_id)] == ["parcel_dispatched"]

    # Pos' courier takes it: courier says so once, printing prints it again no more
    # (after the reprint: Pos' times are whole seconds, so the next one)
    taken_at = (datetime.datetime.now(WIB) + datetime.timedelta(seconds=1)).replace(
        microsecond=0).isoformat()
    news = webhook(system, {"eventId": uuid.uuid4().hex, "barcode": barcode, "orderId": order_id,
                            "status": "IN_TRANSIT", "at": taken_at, "location": "Kota Serang"})
    assert news.status_code == 200 and news.json()["status"] == "in_transit", news.text
    [picked_up] = courier_events.wait_for(citizen.application_id, "parcel_picked_up")
    assert (picked_up["shipment_id"], picked_up["barcode"]) == (order_id, barcode)
    assert shipment(system, order_id).json()["picked_up_at"] == taken_at
    eventually(lambda: mongo["printing"].print_jobs.find_one(
        {"_id": first["print_job_id"]}).get("pos_picked_up_at"), what="printing hears of it")
    refused(reprint(system, first["print_job_id"]), "with_pos")
    assert mongo["printing"].print_jobs.find_one({"_id": first["print_job_id"]})["status"] == \
        "printed"
    assert verify_qr(system, second_qr).json()["status"] == "valid"
    later = webhook(system, {"eventId": uuid.uuid4().hex, "barcode": barcode, "orderId": order_id,
                             "status": "DELIVERED", "location": "Kota Serang",
                             "at": (datetime.datetime.fromisoformat(taken_at)
                                    + datetime.timedelta(seconds=1)).isoformat()})
    assert later.status_code == 200, later.text
    citizen.until(lambda v: v["status"] == "delivered", "delivered")
    assert [k for k, _ in courier_events.of(citizen.application_id)] == [
        "parcel_dispatched", "parcel_picked_up", "parcel_delivered"]


def test_a_parcel_sent_back_to_print_while_pos_was_out_of_reach_goes_with_its_reprint(
        system, mongo, courier_events, pos):
    """Pos out of reach when the card was printed: courier retries its
    posting. The card is spoiled and sent back to print meanwhile; the
    retry, Pos back, posts nothing - the citizen is not told "dispatched"
    while it is printed again - and the reprint's print posts the one
    order."""
    citizen = Citizen(system, pos_body())
    nik = citizen.body["applicant"]["nik"]
    first = {**claim_job_for(system.url("printing"), citizen.application_id), "nik": nik}
    order_id = f"SDK-{first['print_job_id']}"
    handled = dict(service="courier", handler="on_document_printed", outcome="handled")
    handled_before = value(samples(system.url("courier")), "smartdukcapil_events_total",
                           **handled)
    assert requests.post(f"{pos}/sandbox/faults", json={"down": True, "status": 503},
                         timeout=5).ok
    report_printed(system, first)
    eventually(lambda: order_id in refused_postings(pos), what="the posting refused by Pos")
    assert shipment(system, order_id).json()["status"] == "pending"

    requeued = reprint(system, first["print_job_id"])
    assert requeued.status_code == 200, requeued.text
    # the operators see it as soon as courier heard of the reprint (outside audit G3)
    waiting = eventually(lambda: shipment(system, order_id).json()["awaits_reprint"],
                         what="courier: the shipment awaits the reprint")
    assert requests.post(f"{pos}/sandbox/faults", json={"down": False}, timeout=5).ok
    # the first print's retry (its first try was refused: not handled), Pos
    # back: nothing posted, the shipment waits
    eventually(lambda: value(samples(system.url("courier")), "smartdukcapil_events_total",
                             **handled) > handled_before, what="the first print's retry")
    assert shipment(system, order_id).json()["status"] == "pending"
    assert at_pos(pos, order_id) == []
    assert courier_events.of(citizen.application_id) == []
    view = citizen.view()
    assert view["status"] == "print_queued" and "dispatched" not in citizen.steps(view)
    assert datetime.datetime.fromisoformat(waiting) > datetime.datetime.fromisoformat(
        citizen.step("printed", view)["at"])

    second = {**claim_job_for(system.url("printing"), citizen.application_id), "nik": nik}
    assert second["print_job_id"] == first["print_job_id"]
    report_printed(system, second)
    [posted] = courier_events.wait_for(citizen.application_id, "parcel_dispatched")
    assert posted["shipment_id"] == order_id
    [order] = at_pos(pos, order_id)
    assert order["barcode"] == posted["barcode"]
    assert shipment(system, order_id).json()["awaits_reprint"] is None
    view = citizen.until(lambda v: v["status"] == "dispatched", "dispatched on the status page")
    steps = [step for step in citizen.steps(view) if step != "notified"]
    assert steps[steps.index("printed"):] == ["printed", "print_queued", "printed",
                                              "dispatched"], steps


def test_a_document_not_printed_yet_is_not_re_queued(system, mongo):
    printing = system.url("printing")
    _, _, job = counter_job(system, random_nik(), random_mobile())
    refused(reprint(system, job["print_job_id"]), "not_printed")  # on a station's lease
    assert mongo["printing"].print_jobs.find_one({"_id": job["print_job_id"]})["status"] == \
        "leased"

    unknown = reprint(system, "0" * 32)
    assert unknown.status_code == 404, unknown.text
    assert requests.post(f"{printing}/api/v1/operator/print-jobs/{job['print_job_id']}/reprint",
                         timeout=10).status_code == 401
    field = reprint(system, job["print_job_id"], {**SPOILED, "note": "hilang"})
    assert field.status_code == 400 and "note" in field.json()["error"]["fields"], field.text


def test_a_card_whose_holder_died_since_is_not_re_queued(system, mongo):
    nik = random_nik()
    _, code, job = counter_job(system, nik, random_mobile())
    report_printed(system, job)
    death_verified(system, nik, mongo)
    refused(reprint(system, job["print_job_id"]), "holder_deceased")
    assert mongo["printing"].print_jobs.find_one({"_id": job["print_job_id"]})["status"] == \
        "printed"


def pos_news(system, barcode: str, order_id: str, status: str, at: str) -> None:
    answer = webhook(system, {"eventId": uuid.uuid4().hex, "barcode": barcode,
                              "orderId": order_id, "status": status, "at": at,
                              "location": "Kota Serang"})
    assert answer.status_code == 200, answer.text


def test_a_reprint_pos_took_the_parcel_before_is_withdrawn_and_the_parcel_s_card_valid(
        system, mongo, courier_events, pos):
    """Outside audit E (HIGH): a reprint that crossed Pos' courier taking the
    parcel - or that Pos' late news overtook (a webhook lost, polling finds
    it hours later) - left the citizen a card whose QR said "revoked" and
    the valid reprint at the Dinas, with nothing to set it right. Printing
    now withdraws such a reprint: the parcel's card is valid again, the
    reprint's download never is, a station printing it loses its lease."""
    jobs = mongo["printing"].print_jobs
    for printed_again in (False, True):
        citizen = Citizen(system, pos_body())
        nik = citizen.body["applicant"]["nik"]
        first = {**claim_job_for(system.url("printing"), citizen.application_id), "nik": nik}
        [first_qr] = pdf_qr_codes(download(system, first).content)
        report_printed(system, first)
        [posted] = courier_events.wait_for(citizen.application_id, "parcel_dispatched")
        taken_at = datetime.datetime.now(WIB).replace(microsecond=0).isoformat()
        requeued = reprint(system, first["print_job_id"])
        assert requeued.status_code == 200, requeued.text
        second = {**claim_job_for(system.url("printing"), citizen.application_id), "nik": nik}
        [second_qr] = pdf_qr_codes(download(system, second).content)
        if printed_again:  # Pos' news of a pickup before the reprint comes after it
            report_printed(system, second)
        pos_news(system, posted["barcode"], posted["shipment_id"], "IN_TRANSIT", taken_at)
        [told] = courier_events.wait_for(citizen.application_id, "parcel_picked_up")
        assert told["picked_up_at"] == datetime.datetime.fromisoformat(taken_at).isoformat()
        withdrawn = eventually(lambda: (job := jobs.find_one({"_id": first["print_job_id"]}))
                               .get("reprint_withdrawn_at") and job, what="the reprint withdrawn")
        assert (withdrawn["status"], withdrawn["lease_token"]) == ("printed", None)
        assert verify_qr(system, first_qr).json()["status"] == "valid"  # the card Pos carries
        late = verify_qr(system, second_qr).json()
        assert (late["status"], late["reason"]) == ("revoked", "not_issued"), late
        if not printed_again:  # the station printing it loses its lease
            lost = requests.post(f"{system.url('printing')}/api/v1/station/jobs/"
                                 f"{second['print_job_id']}/printed", headers=STATION,
                                 json={"lease_token": second["lease_token"]}, timeout=10)
            assert lost.status_code == 409, lost.text
        refused(reprint(system, first["print_job_id"]), "with_pos")
        assert len(at_pos(pos, posted["shipment_id"])) == 1
        # the citizen's timeline ends with Pos taking the parcel and the
        # reprint withdrawn, not the withdrawn reprint's queue (outside audit
        # G); the reprint's print, when it was printed, is shown withdrawn,
        # not as the document Pos took (outside audit J F2)
        view = citizen.until(lambda v: [step for step in citizen.steps(v)
                                        if step != "notified"][-2:] == [
                                            "picked_up", "reprint_withdrawn"],
                             "the pickup and the withdrawal on the timeline")
        assert view["status"] == "dispatched"
        prints = [step.get("withdrawn", False) for step in view["timeline"]
                  if step["status"] == "printed"]
        assert prints == ([False, True] if printed_again else [False]), view["timeline"]
