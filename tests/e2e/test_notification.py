"""Notification through the real stack: events published on their emitters'
exchanges (built with the events' schemas), messages counted where a person
would see them — the SMS sandbox, the WhatsApp sandbox, the SMTP server's
Maildir — and the operators' delivery log over HTTP.

The local stack runs without quiet hours (``DEV_SETTINGS``) and with the
officers' mailboxes of Kelurahan Sukajaya, Kecamatan Curug and the Dinas.
"""

from __future__ import annotations

import datetime
import json
import mailbox
import threading
import uuid
from email.headerregistry import HeaderRegistry

import requests

from deploy.dlq import connect, depth
from deploy.local.stack import DEV_SETTINGS
from services.notification.gsm7 import septets
from shared.events import build_event, source_of
from shared.messaging import handler_queue_name, wait_queue_name
from tests.e2e.test_metrics import samples, total
from tests.openapi_answers import assert_answer_matches, served_document
from tests.helpers import (KECAMATAN_CODE, KELURAHAN_CODE, OPERATOR, eventually, publish,
                           random_mobile, random_nik)

SLOT = {"place": "Kantor Kecamatan Curug", "address": "Jl. Raya Curug No. 1, Kota Serang",
        "date": "2026-12-01", "start": "09:00", "end": "10:00"}
OFFICERS = dict(part.split("=") for part in DEV_SETTINGS["OFFICER_EMAILS"].split(","))


class Citizen:
    def __init__(self, preferred: str = "sms", language: str = "id", email: bool = True):
        self.phone = "+62" + random_mobile()[1:]
        self.e164 = self.phone[1:]
        self.email = f"warga.{uuid.uuid4().hex[:10]}@example.id" if email else None
        self.nik = random_nik()
        self.application_id = uuid.uuid4().hex
        self.tracking_code = "SDK" + uuid.uuid4().hex[:8].upper()
        self.contact = {"phone": self.phone, "email": self.email, "language": language,
                        "preferred_channel": preferred}

    def ref(self) -> dict:
        return {"application_id": self.application_id, "tracking_code": self.tracking_code,
                "document_type": "ktp_el"}


def send(system, event_type: str, **payload) -> dict:
    event = build_event(event_type, **payload)
    publish(system.amqp_uri, f"{source_of(event_type)}.events", event_type, event)
    return event


def sms_to(system, citizen: Citizen) -> list[dict]:
    return requests.get(system.url("sms") + "/sandbox/messages", params={"to": citizen.e164},
                        timeout=5).json()


def whatsapp_to(system, citizen: Citizen) -> list[dict]:
    return requests.get(system.url("whatsapp") + "/sandbox/messages",
                        params={"to": citizen.e164}, timeout=5).json()


def mails_to(backing, address: str) -> list:
    return [m for m in mailbox.Maildir(str(backing.maildir), create=False) if m["To"] == address]


def parts(message) -> dict[str, str]:
    return {part.get_content_type(): part.get_payload(decode=True).decode()
            for part in message.walk() if not part.is_multipart()}


def handled(system, handler: str) -> float:
    """How often notification's ``handler`` has taken an event (its metrics)."""
    return total(samples(system.url("notification")), "smartdukcapil_events_total",
                 handler=handler)


def citizen_events(citizen: Citizen) -> dict[str, dict]:
    """Every event a citizen hears about, with realistic payloads."""
    ref, contact, parcel = citizen.ref(), citizen.contact, {"shipment_id": "shp-1",
                                                            "barcode": "P2612011234567"}
    return {
        "application_submitted": dict(ref, channel="web", contact=contact),
        "application_rejected": dict(ref, contact=contact,
                                     reasons=["Foto KK tidak terbaca"], reason_codes=["kk_unreadable"]),
        "application_cancelled": dict(ref, contact=contact, previous_status="submitted"),
        "recording_appointment_booked": dict(
            appointment_id=citizen.application_id, booking_code="REK" + citizen.tracking_code[3:],
            place_id="kec-curug", place_name=SLOT["place"], place_address=SLOT["address"],
            day=SLOT["date"], contact=contact),
        "document_ready_for_pickup": dict(ref, print_job_id="job-1", full_name="Siti Aminah",
                                          contact=contact, slot=SLOT),
        "pickup_rescheduled": dict(ref, print_job_id="job-1", contact=contact,
                                   slot=dict(SLOT, date="2026-12-02")),
        "parcel_dispatched": dict(ref, **parcel),
        "parcel_delivered": dict(ref, **parcel),
        "parcel_delivery_failed": dict(ref, **parcel, reason="alamat tidak ditemukan"),
        "parcel_returned": dict(ref, **parcel),
        "tracking_code_resend_requested": dict(ref, contact=contact),
    }


IMPORTANT = {"application_rejected", "document_ready_for_pickup", "pickup_rescheduled",
             "parcel_delivery_failed"}
# courier's event that tells nothing of its own: printing's window for the
# document back at the counter does (``document_ready_for_pickup``, returned)
TOLD_BY_PRINTING = {"parcel_returned"}


def test_every_notice_reaches_the_citizen_once_in_one_part_without_personal_data(system, backing):
    citizen = Citizen()
    events = citizen_events(citizen)
    send(system, "application_submitted", **events.pop("application_submitted"))
    eventually(lambda: sms_to(system, citizen), what="the 'received' SMS")  # contact book filled
    for event_type, payload in events.items():
        send(system, event_type, **payload)

    # routine notices on the preferred channel (SMS), important ones on SMS and e-mail
    texts = eventually(lambda: (lambda found: found if len(found) == 10 else None)(
        sms_to(system, citizen)), what="one SMS per notice")
    mails = eventually(lambda: (lambda found: found if len(found) == len(IMPORTANT) else None)(
        mails_to(backing, citizen.email)), what="one e-mail per important notice")
    for text in (t["message"] for t in texts):
        assert septets(text) <= 160, text
        assert citizen.nik not in text and citizen.e164[2:] not in text
    assert any(citizen.tracking_code in t["message"] and "P2612011234567" in t["message"]
               for t in texts)  # the Pos tracking number
    registry = HeaderRegistry()
    for mail in mails:
        message_id = mail["Message-ID"]
        assert str(registry("Message-ID", message_id)) == message_id
        assert ":" not in message_id.split("@")[0]
        body = parts(mail)
        assert set(body) == {"text/plain", "text/html"}
        assert citizen.tracking_code in body["text/plain"]
        assert citizen.nik not in str(body) and citizen.e164[2:] not in str(body)
    assert whatsapp_to(system, citizen) == []

    # the operators' delivery log: how each message went, never what it said or to whom
    def delivery_log():
        log = requests.get(system.url("notification") + "/api/v1/notifications/applications/"
                           + citizen.application_id, headers=OPERATOR, timeout=10)
        assert log.status_code == 200, log.text
        return log.json()["messages"]

    # a message is recorded sent just after the gateway took it: the last may still be on its way
    messages = eventually(lambda: (lambda found: found if {m["status"] for m in found} == {"sent"}
                                   else None)(delivery_log()), what="every message recorded sent")
    assert len(messages) == 10 + len(IMPORTANT)  # the appointment: under its id (here the same)
    assert not {m["about"] for m in messages} & TOLD_BY_PRINTING
    assert all(m["gateway_id"] and m["template"] and m["channel"] for m in messages)
    # what a message has not had is null, not left out (docs/api.md)
    assert all(m["last_error"] is None and m["held_reason"] is None and "due_at" in m
               for m in messages), messages
    logged = json.dumps(messages)
    assert citizen.phone not in logged and citizen.email not in logged
    assert "Smartdukcapil:" not in logged  # no message body
    refused = requests.get(system.url("notification") + "/api/v1/notifications/applications/x",
                           timeout=10)
    assert refused.status_code == 401
    # each answer as the served document describes it (outside audit D: none was served)
    document = served_document(system.url("notification"))
    # a tracking code where the application's id goes is a 400 naming
    # application_id, not "no messages" (outside review: read as "we never
    # texted you"); an id of nothing sent yet stays 200 [] (a manifest's)
    for code in ("SDK7KQ2M9XA", "sdk7kq2m9xa"):
        given = requests.get(system.url("notification") + "/api/v1/notifications/applications/"
                             + code, headers=OPERATOR, timeout=10)
        assert given.status_code == 400, given.text
        assert list(given.json()["error"]["fields"]) == ["application_id"]
        assert_answer_matches(document, "GET",
                              "/api/v1/notifications/applications/{application_id}", 400,
                              given.json())
    assert_answer_matches(document, "GET", "/api/v1/notifications/applications/{application_id}",
                          200, {"application_id": citizen.application_id, "messages": messages})
    for path in ("/api/v1/notifications/failed", "/api/v1/notifications/counters"):
        answer = requests.get(system.url("notification") + path + "?", headers=OPERATOR,
                              timeout=10)
        assert answer.status_code == 200, answer.text
        assert_answer_matches(document, "GET", path, 200, answer.json())
    # a query parameter an endpoint does not take is refused naming it, as
    # every endpoint with a query refuses one (outside review: ignored here)
    for path, query in ((f"/api/v1/notifications/applications/{citizen.application_id}",
                         "limit=1&limit=2"), ("/api/v1/notifications/counters", "x=1&x=2"),
                        ("/api/v1/notifications/counters", "day=2026-12-06")):
        answer = requests.get(f"{system.url('notification')}{path}?{query}", headers=OPERATOR,
                              timeout=10)
        assert answer.status_code == 400, answer.text
        assert set(answer.json()["error"]["fields"]) == {query.split("=")[0]}, answer.text
    resent = requests.post(system.url("notification") + "/api/v1/notifications/messages/"
                           "no-such.sms/resend?now=1", headers=OPERATOR, timeout=10)
    assert resent.status_code == 400 and set(resent.json()["error"]["fields"]) == {"now"}


def test_officers_and_operators_get_their_lists_by_email(system, backing):
    items = [{"application_id": uuid.uuid4().hex, "tracking_code": f"SDK{n}ABCDEFG",
              "full_name": f"Warga {n}", "document_type": "akta_kelahiran"} for n in range(3)]
    manifest = "MNF-" + uuid.uuid4().hex[:8]
    send(system, "batch_ready_for_kelurahan", manifest_id=manifest, kelurahan_code=KELURAHAN_CODE,
         items=items)
    day = "2026-12-0" + str(uuid.uuid4().int % 9 + 1)
    send(system, "kecamatan_handover_ready", kecamatan_code=KECAMATAN_CODE, day=day, items=items)
    station = "station-" + uuid.uuid4().hex[:6]
    send(system, "blanko_low", station_id=station, place_id="kec-curug", stock_left=7,
         threshold=20)

    def mail_about(address, needle):
        return [m for m in mails_to(backing, address) if needle in parts(m)["text/plain"]]

    batch = eventually(lambda: mail_about(OFFICERS[KELURAHAN_CODE], manifest), what="kelurahan")
    assert "Sukajaya" in batch[0]["Subject"] + parts(batch[0])["text/plain"]
    for item in items:
        assert item["tracking_code"] in parts(batch[0])["text/plain"]
    eventually(lambda: mail_about(OFFICERS[KECAMATAN_CODE], "SDK2ABCDEFG"), what="kecamatan")
    blanko = eventually(lambda: mail_about(DEV_SETTINGS["OPERATORS_EMAIL"], station),
                        what="operators' mailbox")
    assert "Kantor Kecamatan Curug" in blanko[0]["Subject"]


def test_whatsapp_when_preferred_routine_there_only_important_everywhere(system, backing):
    citizen = Citizen(preferred="whatsapp", language="en")
    events = citizen_events(citizen)
    send(system, "application_submitted", **events["application_submitted"])
    [received] = eventually(lambda: whatsapp_to(system, citizen), what="WhatsApp template")
    assert received["template"]["name"] == "smartdukcapil_received"
    assert received["template"]["language"] == {"code": "en"}
    assert received["template"]["components"][0]["parameters"][1] == {
        "type": "text", "text": citizen.tracking_code}

    send(system, "document_ready_for_pickup", **events["document_ready_for_pickup"])
    eventually(lambda: mails_to(backing, citizen.email), what="pickup e-mail")
    found = eventually(lambda: (lambda w: w if len(w) == 2 else None)(whatsapp_to(system, citizen)),
                       what="pickup on WhatsApp")
    assert found[1]["template"]["name"] == "smartdukcapil_ready"
    assert sms_to(system, citizen) == []  # the phone hears it once, by WhatsApp
    [mail] = mails_to(backing, citizen.email)
    assert mail["Subject"].startswith("Your KTP-el (ID card) is ready")


def test_the_same_event_twice_and_two_copies_at_once_send_once(system, backing):
    citizen = Citizen()
    event = build_event("document_ready_for_pickup", print_job_id="job-1", full_name="Siti",
                        contact=citizen.contact, slot=SLOT, **citizen.ref())
    threads = [threading.Thread(target=publish, args=(system.amqp_uri, "printing.events",
                                                      "document_ready_for_pickup", event))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    publish(system.amqp_uri, "printing.events", "document_ready_for_pickup", event)

    eventually(lambda: sms_to(system, citizen) and mails_to(backing, citizen.email),
               what="the SMS and the e-mail")
    queue = handler_queue_name("printing", "document_ready_for_pickup", "notification",
                               "on_document_ready_for_pickup")

    def settled():  # every copy handled: nothing waiting in the queue or its retry queues
        connection = connect(system.amqp_uri)
        try:
            channel = connection.channel()
            return all(depth(channel, name) == 0 for name in
                       [queue] + [wait_queue_name(delay) for delay in (0.5, 1, 2)])
        finally:
            connection.close()
    eventually(settled, what="every copy handled")
    log = requests.get(system.url("notification") + "/api/v1/notifications/applications/"
                       + citizen.application_id, headers=OPERATOR, timeout=10).json()
    assert sorted(m["channel"] for m in log["messages"]) == ["email", "sms"]
    assert len(sms_to(system, citizen)) == 1 and len(mails_to(backing, citizen.email)) == 1


def test_a_tracking_code_resend_reaches_the_contact_on_file(system, backing):
    citizen = Citizen(preferred="email")
    send(system, "tracking_code_resend_requested", contact=citizen.contact, **citizen.ref())
    [mail] = eventually(lambda: mails_to(backing, citizen.email), what="the code by e-mail")
    assert citizen.tracking_code in parts(mail)["text/plain"]
    assert sms_to(system, citizen) == []  # routine: the preferred channel only


def test_a_parcel_notice_that_overtakes_the_applications_contact_waits_for_it(system, backing):
    """Outside audit N3 (a chaos drill): with the SMS gateway stalled,
    ``application_submitted`` backed up in its queue while a parcel's
    events, on queues of their own, overtook it; their notices need the
    contact book's entry that event brings, found none, and were dropped
    for good ("nobody to tell") - 16 citizens never told their document was
    sent and delivered. Now the parcel event is retried until the contact
    is on file, and its notice goes then."""
    citizen = Citizen()
    events = citizen_events(citizen)
    before = handled(system, "on_parcel_dispatched")
    send(system, "parcel_dispatched", **events["parcel_dispatched"])
    eventually(lambda: handled(system, "on_parcel_dispatched") > before, interval=0.05,
               what="the parcel event handled once")
    send(system, "application_submitted", **events["application_submitted"])
    texts = eventually(lambda: len(found := sms_to(system, citizen)) == 2 and found,
                       what="the 'received' SMS and the parcel's")
    assert any(events["parcel_dispatched"]["barcode"] in sms["message"] for sms in texts), texts


def test_a_parcel_notice_that_comes_after_the_parcel_was_delivered_is_not_sent(system, backing):
    """Outside audit N4: a parcel's "dispatched", retried until its contact
    was on file, reached the citizen 7 ms after "delivered". A notice read
    from the contact book whose application ended (``FINISHING``) after its
    event happened is not sent, as a held one is not (``outdated``)."""
    citizen = Citizen()
    events = citizen_events(citizen)
    send(system, "application_submitted", **events["application_submitted"])
    eventually(lambda: len(sms_to(system, citizen)) == 1, what="the 'received' SMS")
    an_hour_before = (datetime.datetime.now(datetime.timezone.utc)
                      - datetime.timedelta(hours=1)).isoformat()
    dispatched = build_event("parcel_dispatched", **events["parcel_dispatched"],
                             occurred_at=an_hour_before)
    send(system, "parcel_delivered", **events["parcel_delivered"])
    eventually(lambda: len(sms_to(system, citizen)) == 2, what="the 'delivered' SMS")
    before = handled(system, "on_parcel_dispatched")
    publish(system.amqp_uri, "courier.events", "parcel_dispatched", dispatched)  # happened before
    eventually(lambda: handled(system, "on_parcel_dispatched") > before, interval=0.05,
               what="the late event handled")
    assert len(texts := sms_to(system, citizen)) == 2, texts  # received, delivered
    assert f"parcel_dispatched {dispatched['event_id']}: not sent, its application ended after " \
           "it (parcel_delivered)" in system.log_path("notification").read_text(errors="replace")
