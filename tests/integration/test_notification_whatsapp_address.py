"""A pickup window told on WhatsApp names the place's address, as the
e-mail always does and the SMS where it fits: ``smartdukcapil_ready``,
``_returned`` and ``_pickup_moved`` carry it after the place's name
(outside review: they carried the place, the day and the window only)."""

from __future__ import annotations

import pytest

from shared.events import build_event
from tests.helpers import eventually, publish
from tests.integration.test_notification_delivery import (SLOT, citizen, ready,
                                                          start_notification, whatsapp_to)


def parameters(sent: dict) -> list[str]:
    [body] = sent["template"]["components"]
    return [parameter["text"] for parameter in body["parameters"]]


@pytest.mark.parametrize(("returned", "template"), [(False, "smartdukcapil_ready"),
                                                    (True, "smartdukcapil_returned")])
def test_a_pickup_window_on_whatsapp_gives_the_places_address(backing, container_factory,
                                                              returned, template):
    start_notification(backing, container_factory)
    contact = citizen(email=False, preferred="whatsapp")
    event = ready(backing, contact, returned=returned)
    [sent] = eventually(lambda: whatsapp_to(backing, contact["phone"]), what="the WhatsApp")
    assert sent["template"]["name"] == template
    assert parameters(sent) == ["KTP-el", event["tracking_code"], SLOT["place"],
                                SLOT["address"], "Selasa, 1 Desember 2026", "09.00-10.00"]


def test_a_moved_window_on_whatsapp_gives_the_new_places_address(backing, container_factory):
    start_notification(backing, container_factory)
    contact = citizen(email=False, preferred="whatsapp")
    slot = {**SLOT, "place": "Kantor Kecamatan Serang", "address": "Jl. Ki Mas Jong, Kota Serang",
            "date": "2026-12-02"}
    event = build_event("pickup_rescheduled", application_id="app-moved",
                        tracking_code="SDKMOVED01A", document_type="ktp_el", print_job_id="job-1",
                        slot=slot, contact={**contact, "language": "en"})
    publish(backing.amqp_uri, "printing.events", "pickup_rescheduled", event)
    [sent] = eventually(lambda: whatsapp_to(backing, contact["phone"]), what="the WhatsApp")
    assert sent["template"]["name"] == "smartdukcapil_pickup_moved"
    assert sent["template"]["language"]["code"] == "en"
    assert parameters(sent) == ["KTP-el (ID card)", "SDKMOVED01A", slot["place"], slot["address"],
                                "Wednesday, 2 December 2026", "09:00-10:00"]
