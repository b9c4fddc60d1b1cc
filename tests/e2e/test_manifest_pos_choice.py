"""A jemput-bola manifest goes back to its kelurahan one way: its officer
collects it at the Dinas (``batch_ready_for_kelurahan``) or Pos takes it to
the office (an operator's send-by-pos) - never both, whatever the timing.
Printing decides (it alone knows whether it released the manifest): courier
asks it (``manifest_sent_by_pos``) and posts nothing before its answer.

The race the outside audit found (a print and a send-by-pos at the same
moment: the officer e-mailed to collect at the Dinas, the citizens told
"Ambil di Kantor Kelurahan" *and* "dikirim lewat Pos", and a parcel posted)
is made certain here by holding one consumer back - its queue unbound from
its exchange, the events it misses caught and handed to it afterwards, as
events on separate queues may come - in each losing order. Also: a member
whose citizen asked for delivery to their door goes in a parcel of its own
and holds no manifest.
"""

from __future__ import annotations

import contextlib

import pytest
import requests

from shared.messaging import handler_queue_name
from tests.e2e.test_batches import ktp_row
from tests.e2e.test_courier import MANIFEST_OFFICE, at_pos, shipment
from tests.e2e.test_office_handovers import batch_sent, lookup, print_it, published, verify
from tests.helpers import (KELURAHAN_CODE, OPERATOR, STATION, BrokerProbe, at_once,
                           claim_job_for, eventually, publish)


@contextlib.contextmanager
def held(system, source: str, event_type: str, service: str, method: str):
    """``service``'s consumer of ``event_type`` hears nothing until the block
    ends: its queue is unbound from ``<source>.events`` and a probe catches
    what it would have got; then the queue is bound again and the caught
    events are handed to it through the default exchange (as the retry
    schedule hands them back), in their order."""
    queue = handler_queue_name(source, event_type, service, method)
    exchange = f"{source}.events"
    probe = BrokerProbe(system.amqp_uri, exchange, event_type)  # bound first: nothing slips by
    probe.channel.queue_unbind(queue, exchange, event_type)
    try:
        yield
    finally:
        probe.channel.queue_bind(queue, exchange, event_type)
        for _, body in probe.drain():
            publish(system.amqp_uri, "", queue, body)
        probe.close()


def send_by_pos(system, manifest_id: str) -> requests.Response:
    return requests.post(f"{system.url('courier')}/api/v1/manifests/{manifest_id}/send-by-pos",
                         json=MANIFEST_OFFICE, headers=OPERATOR, timeout=10)


def manifest_at_courier(system, manifest_id: str) -> requests.Response:
    return requests.get(f"{system.url('courier')}/api/v1/manifests/{manifest_id}",
                        headers=OPERATOR, timeout=10)


def known_to_courier(system, mongo, manifest_id: str) -> None:
    eventually(lambda: mongo["courier"].manifests.find_one({"_id": manifest_id}),
               what="courier knows the manifest")


def printed_at_courier(mongo, manifest_id: str, application_id: str) -> None:
    """Courier handled the member's ``document_printed``: from then on
    nothing of courier's but printing's answer could post the manifest."""
    eventually(lambda: mongo["courier"].manifests.find_one(
        {"_id": manifest_id, "$or": [{"printed": application_id},
                                     {"on_its_own": application_id}]}),
        what="courier: the member printed")


def manifest_event(probe: BrokerProbe, seen: list, event_type: str, manifest_id: str) -> list:
    seen += probe.drain()
    return [body for key, body in seen if key == event_type and body["manifest_id"] == manifest_id]


def templates(system, of: str) -> list[str]:
    """What notification sent (or holds) about an application, or to a manifest's officer."""
    log = requests.get(f"{system.url('notification')}/api/v1/notifications/applications/{of}",
                       headers=OPERATOR, timeout=10).json()
    return [message["template"] for message in log["messages"]]


def went_to_the_dinas(system, mongo, pos, member: dict, nik: str, manifest_id: str) -> None:
    """Collected at the Dinas and only that: the officer e-mailed, the
    citizen told to collect at the office, a ``to_kelurahan`` step - and no
    parcel, no word of Pos, no ``dispatched`` step."""
    eventually(lambda: "office_pickup" in templates(system, member["application_id"]),
               what="the citizen told to collect at the kelurahan office")
    eventually(lambda: templates(system, manifest_id), what="the officer's e-mail")
    def to_kelurahan():
        timeline = lookup(system, member["tracking_code"], nik)["timeline"]
        return any(step["status"] == "to_kelurahan" for step in timeline) and timeline
    timeline = eventually(to_kelurahan, what="intake: to_kelurahan")
    printed_at_courier(mongo, manifest_id, member["application_id"])
    assert at_pos(pos, f"SDK-{manifest_id}") == []
    assert shipment(system, f"SDK-{manifest_id}").status_code == 404
    assert "dispatched_kelurahan" not in templates(system, member["application_id"])
    assert not any(step["status"] == "dispatched" for step in timeline)


def went_by_pos(system, courier_events, member: dict, nik: str, manifest_id: str,
                printing_events: BrokerProbe, seen: list) -> dict:
    """Taken by Pos and only that: the parcel, its citizen told of it, a
    ``dispatched`` step - and no ``batch_ready_for_kelurahan`` (no officer's
    e-mail, no office_pickup notice, no ``to_kelurahan`` step)."""
    [event] = courier_events.wait_for(member["application_id"], "parcel_dispatched")
    assert event["shipment_id"] == f"SDK-{manifest_id}"
    eventually(lambda: "dispatched_kelurahan" in templates(system, member["application_id"]),
               what="the citizen told of Pos' parcel")
    timeline = eventually(lambda: (found := lookup(system, member["tracking_code"], nik))[
        "status"] == "dispatched" and found["timeline"], what="intake: dispatched")
    # printing let the manifest go with the print that published document_printed
    eventually(lambda: published(printing_events, seen, "document_printed",
                                 member["application_id"]), what="document_printed")
    assert not published(printing_events, seen, "batch_ready_for_kelurahan",
                         member["application_id"])
    assert "office_pickup" not in templates(system, member["application_id"])
    assert templates(system, manifest_id) == []
    assert not any(step["status"] == "to_kelurahan" for step in timeline)
    return event


def pos_confirmed_manifest(system, mongo) -> tuple[str, dict, str]:
    """``one_member_manifest``, sent by Pos and confirmed by printing."""
    probe, seen = BrokerProbe(system.amqp_uri, "printing.events"), []
    try:
        manifest_id, member, nik = one_member_manifest(system, mongo)
        assert send_by_pos(system, manifest_id).status_code == 202
        eventually(lambda: manifest_event(probe, seen, "manifest_pos_confirmed", manifest_id),
                   what="printing confirms Pos")
        return manifest_id, member, nik
    finally:
        probe.close()


def one_member_manifest(system, mongo) -> tuple[str, dict, str]:
    """A kelurahan's batch of one KTP-el, verified: (manifest id, member, NIK)."""
    row = ktp_row()
    answer = batch_sent(system, [row])
    [member] = answer["accepted"]
    known_to_courier(system, mongo, answer["manifest_id"])
    verify(system, member["application_id"])
    return answer["manifest_id"], member, row["applicant"]["nik"]


def test_pos_chosen_after_printing_released_the_manifest_is_refused_by_printing(
        system, mongo, pos):
    """The losing order for Pos: printing released the manifest with its
    last print (the officer is called to the Dinas), and courier has not
    heard of it yet when the operator chooses Pos - it answers 202
    ``requested``. Printing refuses; courier posts nothing, and its view
    and the operator's repeated request say ``collected_at_dinas``."""
    printing_events, seen = BrokerProbe(system.amqp_uri, "printing.events"), []
    try:
        manifest_id, member, nik = one_member_manifest(system, mongo)
        with held(system, "printing", "batch_ready_for_kelurahan", "courier",
                  "on_batch_ready_for_kelurahan"):
            print_it(system, member["application_id"])
            [ready] = eventually(lambda: published(printing_events, seen,
                                                   "batch_ready_for_kelurahan",
                                                   member["application_id"]),
                                 what="printing released the manifest")
            printed_at_courier(mongo, manifest_id, member["application_id"])
            chosen = send_by_pos(system, manifest_id)
            assert chosen.status_code == 202, chosen.text
            assert chosen.json()["status"] == "requested"

            [refusal] = eventually(lambda: manifest_event(
                printing_events, seen, "manifest_pos_refused", manifest_id),
                what="printing refuses Pos")
            assert (refusal["reason"], refusal["day"]) == ("collected_at_dinas", ready["day"])
            view = eventually(lambda: (r := manifest_at_courier(system, manifest_id).json())[
                "status"] == "collected_at_dinas" and r, what="courier: refused")
            assert view["by_pos"]["status"] == "refused"
            assert view["by_pos"]["reason"] == "collected_at_dinas"
            assert view["at_dinas"]["day"] == ready["day"] and view["shipment"] is None
            again = send_by_pos(system, manifest_id)
            assert again.status_code == 409, again.text
            assert again.json()["error"]["code"] == "collected_at_dinas"
            assert ready["day"] in again.json()["error"]["message"]
            went_to_the_dinas(system, mongo, pos, member, nik, manifest_id)
        # courier hears of the release at last: nothing changes
        assert not manifest_event(printing_events, seen, "manifest_pos_confirmed", manifest_id)
        assert send_by_pos(system, manifest_id).status_code == 409
        assert at_pos(pos, f"SDK-{manifest_id}") == []
    finally:
        printing_events.close()


def test_a_print_after_printing_confirmed_pos_never_calls_the_officer_and_courier_waits(
        system, mongo, courier_events, pos):
    """The other order: printing confirms Pos before the last print, so the
    print releases nothing for the Dinas. Courier hears of the print before
    printing's confirmation (its consumer held): it posts nothing yet, and
    posts the parcel once the confirmation comes."""
    printing_events, seen = BrokerProbe(system.amqp_uri, "printing.events"), []
    try:
        manifest_id, member, nik = one_member_manifest(system, mongo)
        with held(system, "printing", "manifest_pos_confirmed", "courier",
                  "on_manifest_pos_confirmed"):
            chosen = send_by_pos(system, manifest_id)
            assert chosen.status_code == 202, chosen.text
            assert chosen.json() == {**chosen.json(), "status": "requested",
                                     "not_printed": [member["application_id"]]}
            eventually(lambda: manifest_event(printing_events, seen, "manifest_pos_confirmed",
                                              manifest_id), what="printing confirms Pos")
            print_it(system, member["application_id"])
            printed_at_courier(mongo, manifest_id, member["application_id"])
            view = manifest_at_courier(system, manifest_id).json()
            assert (view["status"], view["not_printed"]) == ("requested", [])
            assert at_pos(pos, f"SDK-{manifest_id}") == []
        went_by_pos(system, courier_events, member, nik, manifest_id, printing_events, seen)
        view = manifest_at_courier(system, manifest_id).json()
        assert view["status"] == "shipment" and view["by_pos"]["status"] == "confirmed"
        assert view["shipment"]["shipment_id"] == f"SDK-{manifest_id}"
        again = send_by_pos(system, manifest_id)
        assert again.status_code == 200 and again.json()["barcode"] == view["shipment"]["barcode"]
    finally:
        printing_events.close()


def test_a_print_and_a_choice_of_pos_at_the_same_moment_have_one_outcome(
        system, mongo, courier_events, pos):
    """The audit's reproduction as it was: the station's print and the
    operator's send-by-pos sent together. Whichever wins, exactly one
    outcome."""
    printing_events, seen = BrokerProbe(system.amqp_uri, "printing.events"), []
    try:
        manifest_id, member, nik = one_member_manifest(system, mongo)
        printing = system.url("printing")
        job = claim_job_for(printing, member["application_id"])
        printed, chosen = at_once(2, lambda n: requests.post(
            f"{printing}/api/v1/station/jobs/{job['print_job_id']}/printed",
            json={"lease_token": job["lease_token"]}, headers=STATION, timeout=10)
            if n == 0 else send_by_pos(system, manifest_id))
        assert printed.status_code == 200, printed.text
        assert chosen.status_code in (200, 202, 409), chosen.text
        view = eventually(lambda: (r := manifest_at_courier(system, manifest_id).json())[
            "status"] in ("shipment", "collected_at_dinas") and r, what="one outcome")
        if view["status"] == "shipment":
            went_by_pos(system, courier_events, member, nik, manifest_id, printing_events, seen)
        else:
            went_to_the_dinas(system, mongo, pos, member, nik, manifest_id)
    finally:
        printing_events.close()


HOME = {"street": "Jl. Raya Curug No. 7", "rt": "002", "rw": "005",
        "kelurahan_code": KELURAHAN_CODE, "postal_code": "42171"}


@pytest.mark.parametrize("how", ["pos", "dinas"])
def test_a_member_delivered_to_its_door_goes_on_its_own_and_holds_no_manifest(
        system, mongo, courier_events, pos, how):
    """A jemput-bola row may ask for delivery by Pos to the citizen's door
    (docs/api.md: a row is an application's body). Printed, it goes in a
    parcel of its own; the manifest does not wait for it any more - by
    Pos, the office's parcel goes with the other member only (it waited
    for ever: courier counted the door-delivered member as never printed);
    at the Dinas, it is not on the officer's list, nor told to collect
    there."""
    printing_events, seen = BrokerProbe(system.amqp_uri, "printing.events"), []
    rows = [ktp_row(), {**ktp_row(), "delivery": {"method": "pos", "address": HOME}}]
    try:
        answer = batch_sent(system, rows)
        manifest_id = answer["manifest_id"]
        office, home = answer["accepted"]
        known_to_courier(system, mongo, manifest_id)
        if how == "pos":
            assert send_by_pos(system, manifest_id).status_code == 202
            eventually(lambda: manifest_at_courier(system, manifest_id).json()["status"]
                       == "waiting_for_print", what="printing confirms Pos")
        for member in (office, home):
            verify(system, member["application_id"])
            print_it(system, member["application_id"])
        [own] = courier_events.wait_for(home["application_id"], "parcel_dispatched")
        assert own["shipment_id"] != f"SDK-{manifest_id}"
        [posted] = at_pos(pos, own["shipment_id"])
        assert posted["receiver"]["address"].startswith(HOME["street"])
        if how == "pos":
            event = went_by_pos(system, courier_events, office, rows[0]["applicant"]["nik"],
                                manifest_id, printing_events, seen)
            [parcel] = at_pos(pos, f"SDK-{manifest_id}")
            assert parcel["itemDesc"] == f"Jemput bola {manifest_id}: 1 dokumen"
            carried = shipment(system, event["barcode"]).json()["applications"]
            assert [a["application_id"] for a in carried] == [office["application_id"]]
        else:
            [ready] = eventually(lambda: published(printing_events, seen,
                                                   "batch_ready_for_kelurahan",
                                                   office["application_id"]),
                                 what="the officer called to the Dinas")
            assert [i["application_id"] for i in ready["items"]] == [office["application_id"]]
            assert ready["members"] == 2
            went_to_the_dinas(system, mongo, pos, office, rows[0]["applicant"]["nik"],
                              manifest_id)
            assert "office_pickup" not in templates(system, home["application_id"])
        assert [k for k, e in courier_events.of(home["application_id"])] == ["parcel_dispatched"]
    finally:
        printing_events.close()
