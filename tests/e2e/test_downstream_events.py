"""Intake's side of printing's and courier's events, through the real stack:
each event published with its schema on its emitter's exchange (as printing
and courier publish them), and the citizen's status API shows the status,
the timeline, the barcode and the pickup window. Histories arrive out of
order (the courier's event before printing's) and are not dead-lettered; a
delivered or collected application frees the NIK for a new one.

The applications are verified through the operator API, so printing (the
real service) queues a print job and emits its own ``print_job_queued``
whenever it does: the assertions hold in whichever order that one lands."""

from __future__ import annotations

import uuid

import requests

from shared.events import build_event
from tests.e2e.test_batches import batch_url, ktp_row, new_batch_id
from tests.helpers import (KELURAHAN_CODE, KELURAHAN_OFFICER, OPERATOR, eventually, publish,
                           valid_body)
from tests.openapi_answers import assert_answer_matches, served_document

SLOT = {"place": "Disdukcapil Kota Serang", "address": "Jl. Jend. Sudirman No. 5, Kota Serang",
        "date": "2099-01-05", "start": "09:00", "end": "10:00"}
LATER_SLOT = {**SLOT, "date": "2099-01-07", "start": "13:00", "end": "14:00"}
CONTACT = {"phone": "+6281234567890", "email": None, "language": "id"}
POS_ADDRESS = {"street": "Jl. Raya Curug No. 40", "rt": "002", "rw": "001",
               "kelurahan_code": KELURAHAN_CODE, "postal_code": "42171"}


class Citizen:
    """One verified application, its events and its status view."""

    def __init__(self, system, body: dict, application: dict | None = None):
        self.system, self.intake, self.body = system, system.url("intake"), body
        if application is None:
            response = requests.post(f"{self.intake}/api/v1/applications", json=body, timeout=10)
            assert response.status_code == 202, response.text
            application = response.json()
        self.application_id = application["application_id"]
        self.tracking_code = application["tracking_code"]
        verified = requests.post(f"{self.intake}/api/v1/applications/{self.application_id}/verify",
                                 headers=OPERATOR, timeout=10)
        assert verified.status_code == 200, verified.text
        self.ref = {"application_id": self.application_id, "tracking_code": self.tracking_code,
                    "document_type": body["document_type"]}
        self.print_job_id, self.shipment_id = uuid.uuid4().hex, uuid.uuid4().hex

    def printing(self, event_type: str, **payload) -> dict:
        event = build_event(event_type, **self.ref, print_job_id=self.print_job_id, **payload)
        publish(self.system.amqp_uri, "printing.events", event_type, event)
        return event

    def courier(self, event_type: str, **payload) -> dict:
        event = build_event(event_type, **self.ref, shipment_id=self.shipment_id,
                            barcode="P2611290001ID", **payload)
        publish(self.system.amqp_uri, "courier.events", event_type, event)
        return event

    def view(self, lang: str = "id") -> dict:
        response = requests.post(f"{self.intake}/api/v1/applications/status", timeout=10,
                                 headers={"Accept-Language": lang},
                                 json={"tracking_code": self.tracking_code,
                                       "nik": self.body["applicant"]["nik"]})
        assert response.status_code == 200, response.text
        return response.json()

    def steps(self, view: dict | None = None) -> list[str]:
        return [step["status"] for step in (view or self.view())["timeline"]]

    def until(self, check, what: str) -> dict:
        return eventually(lambda: (lambda view: view if check(view) else None)(self.view()),
                          what=what)

    def step(self, status: str, view: dict | None = None) -> dict:
        return next(s for s in (view or self.view())["timeline"] if s["status"] == status)

    def apply_again(self) -> requests.Response:
        """A new KTP-el for the same NIK: a replacement (the first card was issued)."""
        body = {**self.body, "details": {"reason": "data_change"}}
        return requests.post(f"{self.intake}/api/v1/applications", json=body, timeout=10)


def pos_body() -> dict:
    return {**valid_body(), "delivery": {"method": "pos", "address": POS_ADDRESS}}


def test_dispatched_before_printed_then_a_failed_attempt_then_delivered(system):
    citizen = Citizen(system, pos_body())
    assert citizen.apply_again().status_code == 409  # the NIK is held meanwhile
    citizen.courier("parcel_dispatched")  # printing's document_printed not yet processed
    view = citizen.until(lambda v: v["status"] == "dispatched", "dispatched")
    assert view["parcel_barcode"] == "P2611290001ID"
    assert citizen.step("dispatched", view)["detail"] == {"barcode": "P2611290001ID"}
    citizen.printing("document_printed", station_id="st-dinas-1")  # comes late
    view = citizen.until(lambda v: "printed" in citizen.steps(v), "the late printed step")
    assert view["status"] == "dispatched"
    citizen.courier("parcel_delivery_failed", reason="Penerima tidak di tempat")
    view = citizen.until(lambda v: "delivery_failed" in citizen.steps(v), "the failed attempt")
    assert view["status"] == "dispatched"
    assert citizen.step("delivery_failed", view)["detail"]["reason"] == "Penerima tidak di tempat"
    assert citizen.apply_again().status_code == 409
    citizen.courier("parcel_delivered")
    view = citizen.until(lambda v: v["status"] == "delivered", "delivered")
    assert view["status_label"] == "Sudah diterima"
    assert {"submitted", "verified", "dispatched", "printed", "delivery_failed",
            "delivered"} <= set(citizen.steps(view))
    again = citizen.apply_again()  # delivered: the NIK may apply again
    assert again.status_code == 202, again.text
    assert again.json()["application_id"] != citizen.application_id


def test_a_returned_parcel_goes_back_to_pickup_moves_its_window_and_is_collected(system):
    citizen = Citizen(system, pos_body())
    citizen.printing("document_printed", station_id="st-dinas-1")
    citizen.courier("parcel_dispatched")
    citizen.until(lambda v: v["status"] == "dispatched", "dispatched")
    citizen.courier("parcel_returned", reason="Alamat tidak ditemukan")
    view = citizen.until(lambda v: v["status"] == "returned_to_dinas", "returned")
    assert citizen.step("returned_to_dinas", view)["detail"]["reason"] == "Alamat tidak ditemukan"
    assert citizen.apply_again().status_code == 409
    # printing gives the document printed before a pickup window
    citizen.printing("document_ready_for_pickup", full_name="Ahmad Fauzi", contact=CONTACT,
                     slot=SLOT)
    view = citizen.until(lambda v: v["status"] == "ready_for_pickup", "ready for pickup")
    assert view["pickup_slot"] == SLOT and view["parcel_barcode"]  # the window and the barcode
    assert_answer_matches(served_document(citizen.intake), "POST",
                          "/api/v1/applications/status", 200, view)
    citizen.printing("pickup_rescheduled", slot=LATER_SLOT, contact=CONTACT)
    view = citizen.until(lambda v: v.get("pickup_slot") == LATER_SLOT, "the moved window")
    assert view["status"] == "ready_for_pickup"
    assert citizen.step("pickup_rescheduled", view)["detail"] == {"slot": LATER_SLOT}
    citizen.printing("document_collected", collected_by="st-dinas-1", how="counter")
    view = citizen.until(lambda v: v["status"] == "collected", "collected")
    assert citizen.step("collected", view)["detail"] == {"how": "counter"}
    assert citizen.apply_again().status_code == 202


def test_a_jemput_bola_manifest_ready_at_the_kelurahan_then_handed_over(system):
    rows = [ktp_row(), ktp_row()]
    reply = requests.put(batch_url(system, new_batch_id()), headers=KELURAHAN_OFFICER,
                         json={"applications": rows}, timeout=60)
    assert reply.status_code == 200, reply.text
    accepted = reply.json()["accepted"]
    assert len(accepted) == 2
    # each as a single submission names it (a batch row has its address besides)
    bodies = [{**{k: v for k, v in row.items() if k != "address"}, "channel": "web"}
              for row in rows]
    citizens = [Citizen(system, bodies[row["row"] - 1], row) for row in accepted]
    for citizen in citizens:
        citizen.printing("document_printed", station_id="st-dinas-1")
    event = build_event(
        "batch_ready_for_kelurahan", manifest_id=reply.json()["manifest_id"],
        kelurahan_code=KELURAHAN_CODE, slot=SLOT, day=SLOT["date"], at_office_from="2099-01-06",
        items=[{**citizen.ref, "full_name": citizen.body["applicant"]["full_name"]}
               for citizen in citizens])
    publish(system.amqp_uri, "printing.events", "batch_ready_for_kelurahan", event)
    for citizen in citizens:
        view = citizen.until(lambda v: "to_kelurahan" in citizen.steps(v), "to the kelurahan")
        step = citizen.step("to_kelurahan", view)
        # not the slot's hours: the officer's collection at the Dinas, not the
        # citizen's; the documents are not at the kelurahan office yet
        assert step["detail"] == {"kelurahan_code": KELURAHAN_CODE, "day": SLOT["date"],
                                  "at_office_from": "2099-01-06"}
        assert step["label"] == ("Dicetak; diambil petugas kelurahan di Dinas, lalu siap "
                                 "diambil di kantor kelurahan")
    first, second = citizens
    first.printing("document_collected", collected_by="officer-sukajaya", how="kelurahan")
    view = first.until(lambda v: v["status"] == "collected", "handed over")
    assert first.step("collected", view)["detail"] == {"how": "kelurahan"}
    # the other is not handed over with it; its own document_printed may
    # still be on its way (a status race with printing's real print_job_queued
    # is retried after 1 s, then 5, then 30: a CI run once saw "verified")
    second.until(lambda v: v["status"] in ("printed", "print_queued"), "the other still printed")
    assert second.apply_again().status_code == 409
    again = first.apply_again()
    assert again.status_code == 202, again.text
