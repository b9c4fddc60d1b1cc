"""Courier through the real stack: intake, printing and courier as processes,
the real broker and database, the Pos sandbox as the partner. What courier
publishes is read from a test queue bound to ``courier.events``.

Apply with delivery by Pos -> verify -> print -> one shipment at Pos with the
address' region names -> ``parcel_dispatched`` with the barcode -> signed
webhooks (DELIVERED, and forged ones refused) -> polling for what no webhook
said -> RETURNED; the same ``document_printed`` twice and a crash between
Pos' reply and the record -> one shipment; a Pos outage -> every dispatch
waits and drains, none dead-lettered; a jemput-bola manifest by Pos (its
kelurahan hand-overs wait for Pos' delivery; it does not wait for a member
rejected, withdrawn or whose held print job was cancelled, and a member
printed after it went is not posted: its officer collects it at the Dinas;
a manifest its officer was called to collect at the Dinas is not sent by
Pos).
"""

from __future__ import annotations

import datetime
import json
import signal
import time
import uuid

import pytest
import requests

from deploy.dlq import connect, depth
from deploy.local.sandboxes.pos_api import sign_webhook
from services.courier.signatures import TOLERANCE_SECONDS
from shared.clock import WIB, today_wib
from shared.messaging import handler_queue_name
from shared.paging import encode_cursor
from tests.e2e.test_batches import batch_url, ktp_row, new_batch_id
from tests.e2e.test_downstream_events import Citizen
from tests.e2e.test_prr_import import upload as upload_prr
from tests.e2e.test_secrets_and_limits import assert_limited, nameko_run, new_client, one_refusal
from tests.e2e.test_ktp_journey import claim_job_for, emails_to, plain_text
from tests.e2e.test_office_handovers import (batch_sent, lookup, not_at_office, published, reject,
                                             verify)
from tests.e2e.test_operator_flow import citizen
from tests.helpers import (KELURAHAN_CODE, KELURAHAN_OFFICER, OPERATOR, STATION, BrokerProbe,
                           eventually, officers_day_came, personal_data_in_logs, publish,
                           random_mobile, random_nik, resident_name, valid_body)

PRINTED_QUEUE = handler_queue_name("printing", "document_printed", "courier", "on_document_printed")


def pos_body() -> dict:
    body = valid_body()
    body["delivery"] = {"method": "pos", "address": {
        "street": "Jl. Raya Curug No. 7", "rt": "002", "rw": "005",
        "kelurahan_code": KELURAHAN_CODE, "postal_code": "42171"}}
    return body


def submit_and_verify(system, body: dict | None = None) -> str:
    intake = system.url("intake")
    submitted = requests.post(f"{intake}/api/v1/applications", json=body or pos_body(), timeout=10)
    assert submitted.status_code == 202, submitted.text
    application_id = submitted.json()["application_id"]
    verified = requests.post(f"{intake}/api/v1/applications/{application_id}/verify",
                             headers=OPERATOR, timeout=10)
    assert verified.status_code == 200, verified.text
    return application_id


def print_it(system, application_id: str) -> str:
    """A station claims and prints the application's job; its print job id."""
    job = claim_job_for(system.url("printing"), application_id)
    printed = requests.post(f"{system.url('printing')}/api/v1/station/jobs/{job['print_job_id']}/printed",
                            json={"lease_token": job["lease_token"]}, headers=STATION, timeout=10)
    assert printed.status_code == 200, printed.text
    return job["print_job_id"]


def at_pos(pos: str, order_id: str) -> list[dict]:
    return [s for s in requests.get(f"{pos}/sandbox/shipments", timeout=5).json()
            if s["orderId"] == order_id]


def refused_postings(pos: str) -> list[str]:
    """The orderIds of the postings Pos refused, a refusal each. Pos'
    ``refused`` count has courier's tracking polls too: a poll refused
    first let a test read a shipment not recorded yet (CI: KeyError
    'status')."""
    return requests.get(f"{pos}/sandbox/faults", timeout=5).json()["refused_orders"]


def shipment(system, shipment_id: str, **headers) -> requests.Response:
    return requests.get(f"{system.url('courier')}/api/v1/shipments/{shipment_id}",
                        headers={**OPERATOR, **headers}, timeout=10)


def webhook(system, payload: dict, timestamp: int | None = None, secret: str | None = None,
            raw: bytes | None = None, header: str | None = None,
            client=requests) -> requests.Response:
    """POST ``payload`` signed as Pos signs it (the sandbox's own signer), by
    default with the stack's webhook secret."""
    secret = system.env()["POS_WEBHOOK_SECRET"] if secret is None else secret
    body = raw if raw is not None else json.dumps(payload).encode()
    signature = header if header is not None else sign_webhook(
        secret, json.dumps(payload).encode() if raw is not None else body,
        int(time.time()) if timestamp is None else timestamp)
    return client.post(f"{system.url('courier')}/api/v1/pos/webhook", data=body, timeout=10,
                         headers={"Content-Type": "application/json", "X-Pos-Signature": signature})


def dead_letters(system) -> int:
    connection = connect(system.amqp_uri)
    try:
        return depth(connection.channel(), f"{PRINTED_QUEUE}.dlq")
    finally:
        connection.close()


def dispatched(system, courier_events, pos) -> tuple[str, str, dict]:
    """A Pos-delivered application, printed and dispatched: (application id, barcode, event)."""
    application_id = submit_and_verify(system)
    print_job_id = print_it(system, application_id)
    [event] = courier_events.wait_for(application_id, "parcel_dispatched")
    assert event["shipment_id"] == f"SDK-{print_job_id}"
    return application_id, event["barcode"], event


def test_apply_for_pos_delivery_then_delivered_frees_the_nik(system, courier_events, pos):
    """The acceptance's first item through the public APIs only: apply with
    delivery by Pos, an operator verifies, the station prints, courier posts
    to Pos (the barcode on the citizen's status), Pos' signed DELIVERED
    webhook, and the citizen's status says delivered: the NIK may apply again."""
    citizen = Citizen(system, pos_body())  # submitted, then verified by an operator
    assert citizen.apply_again().status_code == 409  # one active application per NIK
    print_job_id = print_it(system, citizen.application_id)
    view = citizen.until(lambda v: v["status"] == "dispatched", "dispatched on the status page")
    barcode = view["parcel_barcode"]
    [posted] = at_pos(pos, f"SDK-{print_job_id}")
    assert posted["barcode"] == barcode
    assert citizen.step("dispatched", view)["detail"] == {"barcode": barcode}
    assert citizen.apply_again().status_code == 409

    delivered_at = datetime.datetime.now(WIB).replace(microsecond=0).isoformat()
    answer = webhook(system, {"eventId": uuid.uuid4().hex, "barcode": barcode,
                              "orderId": f"SDK-{print_job_id}", "status": "DELIVERED",
                              "at": delivered_at, "location": "Kota Serang",
                              "note": "Diterima ybs"})
    assert answer.status_code == 200 and answer.json()["status"] == "delivered", answer.text
    view = citizen.until(lambda v: v["status"] == "delivered", "delivered on the status page")
    assert view["parcel_barcode"] == barcode
    assert {"submitted", "verified", "printed", "dispatched", "delivered"} <= set(citizen.steps(view))
    again = citizen.apply_again()  # no longer active: the same NIK applies again
    assert again.status_code == 202, again.text
    assert again.json()["application_id"] != citizen.application_id
    assert personal_data_in_logs(system, citizen.body["applicant"]["nik"],
                                 citizen.body["applicant"]["phone"]) == []


def test_delivery_by_pos_from_print_to_the_door(system, courier_events, pos):
    body = pos_body()
    application_id, barcode, event = dispatched(system, courier_events, pos)
    [posted] = at_pos(pos, event["shipment_id"])
    assert posted["barcode"] == barcode
    receiver = posted["receiver"]
    assert (receiver["subdistrict"], receiver["district"], receiver["city"], receiver["province"]) \
        == ("Sukajaya", "Curug", "Kota Serang", "Banten")
    assert receiver["address"] == "Jl. Raya Curug No. 7 RT 002/RW 005"
    assert receiver["zipCode"] == "42171" and receiver["name"] == body["applicant"]["full_name"]
    assert posted["sender"]["name"] == "Disdukcapil Kota Serang"

    # Pos says it was delivered, by a signed webhook to courier
    hook = f"{system.url('courier')}/api/v1/pos/webhook"
    advanced = requests.post(f"{pos}/sandbox/advance/{barcode}", timeout=10,
                             json={"status": "DELIVERED", "note": "Diterima ybs", "webhook_url": hook})
    assert advanced.json()["delivered"] is True and advanced.json()["status_code"] == 200
    [delivered] = courier_events.wait_for(application_id, "parcel_delivered")
    assert (delivered["barcode"], delivered["shipment_id"]) == (barcode, event["shipment_id"])
    view = shipment(system, barcode).json()
    assert view["status"] == "delivered" and view["applications"][0]["application_id"] == application_id
    assert [entry["status"] for entry in view["history"]][-1] == "DELIVERED"
    assert "phone" not in json.dumps(view)
    assert [k for k, _ in courier_events.of(application_id)] == [
        "parcel_dispatched", "parcel_picked_up", "parcel_delivered"]
    phone = body["applicant"]["phone"]
    assert personal_data_in_logs(system, body["applicant"]["nik"], phone) == []


def test_forged_stale_and_replayed_webhooks_change_nothing(system, courier_events, pos):
    application_id, barcode, event = dispatched(system, courier_events, pos)
    news = {"eventId": uuid.uuid4().hex, "barcode": barcode, "orderId": event["shipment_id"],
            "status": "DELIVERED", "at": "2026-11-29T10:00:00+07:00", "location": "Serang",
            "note": "forged"}
    refused = [
        webhook(system, news, header=""),                                       # unsigned
        webhook(system, news, secret="not-the-secret"),                         # wrong key
        webhook(system, news, raw=json.dumps({**news, "status": "RETURNED"}).encode()),  # tampered
        webhook(system, news, timestamp=int(time.time()) - 301),                # stale
        # from the future: by more than the request's own time takes (int() alone
        # took up to a second off a 1-second margin; a CI run was accepted)
        webhook(system, news, timestamp=int(time.time()) + TOLERANCE_SECONDS + 60),
    ]
    assert [r.status_code for r in refused] == [401] * 5, [r.text for r in refused]
    assert {r.json()["error"]["code"] for r in refused} == {"bad_signature"}
    assert shipment(system, barcode).json()["status"] == "dispatched"

    failed = {**news, "status": "FAILED", "note": "Rumah kosong"}
    first = webhook(system, failed)
    assert first.status_code == 200 and first.json()["status"] == "delivery_failed", first.text
    replayed = webhook(system, failed)  # the same event id, freshly signed: a replay
    assert replayed.status_code == 409 and replayed.json()["error"]["code"] == "replayed"
    [told] = courier_events.wait_for(application_id, "parcel_delivery_failed")
    assert told["reason"] == "Rumah kosong"
    # the same attempt under another event id is not news either
    assert webhook(system, {**failed, "eventId": uuid.uuid4().hex}).status_code == 200
    unknown = webhook(system, {**failed, "eventId": uuid.uuid4().hex, "barcode": "P0"})
    assert unknown.status_code == 404
    history = shipment(system, barcode).json()["history"]
    assert [(h["status"], h["source"]) for h in history] == [("FAILED", "webhook")]
    assert [k for k, _ in courier_events.of(application_id)] == \
        ["parcel_dispatched", "parcel_picked_up", "parcel_delivery_failed"]


def test_a_phone_number_or_nik_in_pos_free_text_is_masked_wherever_it_goes(system, courier_events,
                                                                           pos):
    """Pos' notes are its couriers' free text: "hubungi 0812..." must not reach
    the event, the shipment's history, the citizen's timeline, the SMS or a log."""
    citizen = Citizen(system, pos_body())
    print_it(system, citizen.application_id)
    [sent] = courier_events.wait_for(citizen.application_id, "parcel_dispatched")
    phone, other, nik = random_mobile(), random_mobile(), random_nik()
    spaced = f"{other[:4]} {other[4:8]} {other[8:]}"
    now = datetime.datetime.now(WIB).replace(microsecond=0)
    news = [("IN_TRANSIT", now - datetime.timedelta(minutes=5), f"Serang ({spaced})",
             f"Titip NIK {nik}, telp {spaced}"),
            ("FAILED", now, "Serang", f"Rumah kosong, hubungi {phone}")]
    for status, at, location, note in news:
        answer = webhook(system, {"eventId": uuid.uuid4().hex, "barcode": sent["barcode"],
                                  "status": status, "at": at.isoformat(), "location": location,
                                  "note": note})
        assert answer.status_code == 200, answer.text

    def masked(number: str) -> str:
        return f"{number[:5]}****{number[-3:]}"
    reason = f"Rumah kosong, hubungi {masked(phone)}"
    [told] = courier_events.wait_for(citizen.application_id, "parcel_delivery_failed")
    assert told["reason"] == reason
    history = shipment(system, sent["barcode"]).json()["history"]
    assert [(h["note"], h["location"]) for h in history] == [
        (f"Titip NIK {nik[:4]}********{nik[-4:]}, telp {masked(other)}",
         f"Serang ({masked(other)})"), (reason, "Serang")]
    view = citizen.until(lambda v: "delivery_failed" in citizen.steps(v), "the failed attempt")
    assert citizen.step("delivery_failed", view)["detail"]["reason"] == reason
    e164 = "62" + citizen.body["applicant"]["phone"][1:]
    [text] = eventually(lambda: [m["message"] for m in requests.get(
        system.url("sms") + "/sandbox/messages", params={"to": e164}, timeout=5).json()
        if "Pos gagal" in m["message"]], what="the failed-attempt SMS")
    assert f"({reason})" in text
    for secret in (phone, phone[1:], other[1:], spaced, nik):
        assert secret not in text and secret not in json.dumps(view)
    assert personal_data_in_logs(system, phone, other, nik) == []


def test_landlines_and_dotted_or_bracketed_mobiles_in_pos_free_text_are_masked(
        system, backing, courier_events, pos):
    """Only mobiles written 08.. with spaces or dashes were masked: a courier's
    "(0812) 3456-7890 / 0812.3456.7891, kantor 0254-123456" reached the
    history, the event's reason, the citizen's timeline and e-mail verbatim
    (outside audit)."""
    body = pos_body()
    body["applicant"]["email"] = f"warga.{uuid.uuid4().hex[:10]}@example.id"
    citizen = Citizen(system, body)
    print_it(system, citizen.application_id)
    [sent] = courier_events.wait_for(citizen.application_id, "parcel_dispatched")
    note = "Rumah kosong. Hub. (0812) 3456-7890 / 0812.3456.7891, kantor 0254-123456"
    answer = webhook(system, {"eventId": uuid.uuid4().hex, "barcode": sent["barcode"],
                              "status": "FAILED", "at": datetime.datetime.now(WIB).isoformat(),
                              "location": "Agen Pos Curug telp 0254 200123", "note": note})
    assert answer.status_code == 200, answer.text

    reason = "Rumah kosong. Hub. 08123****890 / 08123****891, kantor 0254***456"
    [told] = courier_events.wait_for(citizen.application_id, "parcel_delivery_failed")
    assert told["reason"] == reason
    [kept] = shipment(system, sent["barcode"]).json()["history"]
    assert (kept["note"], kept["location"]) == (reason, "Agen Pos Curug telp 0254***123")
    view = citizen.until(lambda v: "delivery_failed" in citizen.steps(v), "the failed attempt")
    assert citizen.step("delivery_failed", view)["detail"]["reason"] == reason
    address = body["applicant"]["email"]
    [mail] = eventually(lambda: [text for text in map(plain_text, emails_to(backing.maildir, address))
                                 if reason in text], what="the failed-attempt e-mail")
    logs = "".join(path.read_text(errors="replace")
                   for path in (system.run_dir / "logs").glob("*.log"))
    for written in ("(0812) 3456-7890", "0812.3456.7891", "0254-123456", "0254 200123"):
        assert written not in mail and written not in json.dumps(view) and written not in logs


def test_a_webhook_with_a_status_pos_never_sends_is_refused_naming_it(system, courier_events, pos):
    """400 naming ``status`` and the accepted values, nothing stored: the same
    event id with a known status is then taken."""
    application_id, barcode, event = dispatched(system, courier_events, pos)
    lost = {"eventId": uuid.uuid4().hex, "barcode": barcode, "status": "LOST",
            "at": datetime.datetime.now(WIB).isoformat(), "note": "Hilang"}
    refused = webhook(system, lost)
    assert refused.status_code == 400, refused.text
    error = refused.json()["error"]
    assert error["code"] == "validation_failed" and list(error["fields"]) == ["status"]
    assert error["fields"]["status"] == [
        "Harus salah satu dari: ACCEPTED, IN_TRANSIT, FAILED, DELIVERED, RETURNED."]
    view = shipment(system, barcode).json()
    assert view["status"] == "dispatched" and view["history"] == []
    taken = webhook(system, {**lost, "status": "IN_TRANSIT"})  # its event id was not kept
    assert taken.status_code == 200 and taken.json()["status"] == "in_transit", taken.text


def test_a_webhook_time_with_no_instant_in_utc_is_refused_naming_it(system, courier_events, pos):
    """A courier review: year 1 at +07:00 passed the schema, then could not
    be written in UTC - a 500, which Pos sends again and again. 400 naming
    ``at``, as for the webhook's other bad fields; nothing stored."""
    application_id, barcode, event = dispatched(system, courier_events, pos)
    odd = {"eventId": uuid.uuid4().hex, "barcode": barcode, "status": "IN_TRANSIT",
           "at": "0001-01-01T03:00:00+07:00"}
    refused = webhook(system, odd)
    assert refused.status_code == 400, refused.text
    error = refused.json()["error"]
    assert error["code"] == "validation_failed" and error["fields"] == {
        "at": ["Waktu event di luar rentang yang dapat ditulis dalam UTC."]}
    view = shipment(system, barcode).json()
    assert view["status"] == "dispatched" and view["history"] == []


def test_a_client_forging_webhooks_is_refused_for_a_while(system):
    """Past WEBHOOK_FAILURES_PER_CLIENT (10) refused signatures in the window,
    the client gets 429 + Retry-After for a wrong or missing signature; a
    correctly signed webhook is served from it all the same (outside review:
    anyone behind Pos' address kept Pos' own news out), and other clients
    (Pos) are not held back. From a loopback address of its own."""
    forger = new_client()
    news = {"eventId": uuid.uuid4().hex, "barcode": "P-NONE", "status": "DELIVERED",
            "at": "2026-11-29T10:00:00+07:00"}
    forged = [webhook(system, {**news, "eventId": uuid.uuid4().hex}, secret="guess", client=forger)
              for _ in range(10)]
    assert [r.status_code for r in forged] == [401] * 10, [r.text for r in forged]
    assert_limited(webhook(system, news, secret="guess", client=forger), window=300)
    assert_limited(webhook(system, news, header="", client=forger), window=300)
    # rightly signed, it is looked at: the barcode is unknown
    assert webhook(system, news, client=forger).status_code == 404
    assert_limited(webhook(system, news, secret="guess", client=forger), window=300)
    assert webhook(system, news, client=new_client()).status_code == 404


def test_a_signature_header_out_of_ascii_is_refused_and_counted(system):
    """``v1=é`` or ``t=²`` (a header's bytes are read as Latin-1) answered 500
    with a traceback in the log, and was not counted as a failure: anyone
    could fill courier's error log without ever reaching the limit."""
    forger = new_client()
    news = {"eventId": uuid.uuid4().hex, "barcode": "P-NONE", "status": "DELIVERED",
            "at": "2026-11-29T10:00:00+07:00"}
    headers = [f"t={int(time.time())},v1=\u00e9", "t=\u00b2,v1=" + "0" * 64,
               f"t={int(time.time())},v1=\u00e9{'0' * 63}"] * 4
    answers = [webhook(system, news, header=header, client=forger) for header in headers[:10]]
    assert [r.status_code for r in answers] == [401] * 10, [r.text for r in answers]
    assert {r.json()["error"]["code"] for r in answers} == {"bad_signature"}
    assert_limited(webhook(system, news, header=headers[0], client=forger), window=300)


def test_polling_finds_what_no_webhook_said_then_a_return(system, courier_events, pos):
    application_id, barcode, _ = dispatched(system, courier_events, pos)
    # webhook_url null: Pos records the attempt but tells nobody
    advanced = requests.post(f"{pos}/sandbox/advance/{barcode}", timeout=10,
                             json={"status": "FAILED", "note": "Alamat tidak ditemukan",
                                   "webhook_url": None})
    assert advanced.json()["delivered"] is False
    [failed] = courier_events.wait_for(application_id, "parcel_delivery_failed")
    assert failed["reason"] == "Alamat tidak ditemukan"
    history = shipment(system, barcode).json()["history"]
    assert ("FAILED", "poll") in [(h["status"], h["source"]) for h in history]
    stuck = requests.get(f"{system.url('courier')}/api/v1/shipments/stuck", params={"days": 0},
                         headers=OPERATOR, timeout=10).json()
    assert stuck["days"] == 0 and type(stuck["days"]) is int  # as given, not 0.0
    assert barcode in [s["barcode"] for s in stuck["shipments"]]

    hook = f"{system.url('courier')}/api/v1/pos/webhook"
    requests.post(f"{pos}/sandbox/advance/{barcode}", timeout=10,
                  json={"status": "RETURNED", "note": "Kembali ke pengirim", "webhook_url": hook})
    [returned] = courier_events.wait_for(application_id, "parcel_returned")
    assert returned["reason"] == "Kembali ke pengirim"
    assert shipment(system, barcode).json()["status"] == "returned"
    listed = every_page(system, {"status": "returned", "limit": 1})
    assert barcode in [s["barcode"] for s in listed]
    assert all(s["status"] == "returned" for s in listed)
    assert len({s["shipment_id"] for s in listed}) == len(listed)


def every_page(system, params: dict, path: str = "/api/v1/shipments") -> list[dict]:
    """The operators' list (or the stuck one), following ``next_cursor`` to its last page."""
    shipments, cursor = [], None
    while True:
        page = requests.get(f"{system.url('courier')}{path}", headers=OPERATOR,
                            params={**params, **({"cursor": cursor} if cursor else {})},
                            timeout=10)
        assert page.status_code == 200, page.text
        shipments += page.json()["shipments"]
        if not (cursor := page.json()["next_cursor"]):
            return shipments


def test_the_stuck_list_pages_as_the_list_does(system, courier_events, pos):
    """Outside review: the stuck list took ``limit`` (at most 500) and no
    cursor - past 500 stuck parcels, the rest could not be seen."""
    _, barcode, _ = dispatched(system, courier_events, pos)
    _, later, _ = dispatched(system, courier_events, pos)
    stuck = every_page(system, {"days": 0, "limit": 2}, "/api/v1/shipments/stuck")
    barcodes = [s["barcode"] for s in stuck]
    assert len(set(s["shipment_id"] for s in stuck)) == len(stuck)  # each once
    assert barcodes.index(barcode) < barcodes.index(later)  # oldest news first
    assert [s["last_news_at"] for s in stuck] == sorted(s["last_news_at"] for s in stuck)
    bad = requests.get(f"{system.url('courier')}/api/v1/shipments/stuck", headers=OPERATOR,
                       params={"cursor": "nonsense"}, timeout=10)
    assert bad.status_code == 400 and "cursor" in bad.json()["error"]["fields"], bad.text


def test_the_shipment_list_refuses_a_day_outside_the_calendar_it_can_count(system):
    """``to=9999-12-31`` was a valid date, one day was added to it: 500
    ``OverflowError`` (an outside fuzzing audit); ``from=0001-01-01`` is
    before midnight WIB can be read in UTC. Both name their parameter now."""
    for params in ({"to": "9999-12-31"}, {"from": "0001-01-01"}, {"from": "1999-12-31"}):
        answer = requests.get(f"{system.url('courier')}/api/v1/shipments", headers=OPERATOR,
                              params=params, timeout=10)
        assert answer.status_code == 400, answer.text
        [name] = params
        assert name in answer.json()["error"]["fields"], answer.text
    for params in ({"from": "2000-01-01", "to": "2099-12-31"}, {"to": "2026-12-01"}):
        answer = requests.get(f"{system.url('courier')}/api/v1/shipments", headers=OPERATOR,
                              params=params, timeout=10)
        assert answer.status_code == 200, answer.text


def test_the_same_document_printed_twice_and_at_once_is_one_shipment(system, courier_events, pos):
    printed = BrokerProbe(system.amqp_uri, "printing.events", "document_printed")
    try:
        application_id, barcode, event = dispatched(system, courier_events, pos)
        [original] = [e for _, e in eventually(printed.drain, what="document_printed")
                      if e["application_id"] == application_id]
    finally:
        printed.close()
    for _ in range(3):  # a redelivery, and two copies in flight together
        publish(system.amqp_uri, "printing.events", "document_printed", original)
    copy = {**original, "event_id": uuid.uuid4().hex}  # the same print job, another event
    publish(system.amqp_uri, "printing.events", "document_printed", copy)
    # a later event for another application, to know the copies were handled
    later_id, _, _ = dispatched(system, courier_events, pos)
    assert [k for k, _ in courier_events.of(application_id)] == ["parcel_dispatched"]
    assert len(at_pos(pos, event["shipment_id"])) == 1
    assert later_id != application_id


def test_a_crash_between_pos_reply_and_the_record_is_one_shipment(system, courier_events, pos):
    application_id = submit_and_verify(system)
    assert requests.post(f"{pos}/sandbox/faults", json={"delay_after_accept_ms": 8000},
                         timeout=5).ok
    print_job_id = print_it(system, application_id)
    order_id = f"SDK-{print_job_id}"
    [accepted] = eventually(lambda: at_pos(pos, order_id), what="Pos accepted the posting")
    system.send_signal("courier", signal.SIGKILL)  # courier never heard the barcode
    system.procs["courier"].wait()
    requests.post(f"{pos}/sandbox/faults", json={"delay_after_accept_ms": 0}, timeout=5)
    system.respawn("courier")
    eventually(lambda: _healthy(system), timeout=90, what="courier back")
    [event] = courier_events.wait_for(application_id, "parcel_dispatched")
    assert event["barcode"] == accepted["barcode"]
    assert len(at_pos(pos, order_id)) == 1


def test_a_webhook_for_a_posting_in_doubt_is_not_yet_known_then_taken(system, courier_events,
                                                                       pos):
    """Outside audit N3: Pos took a posting whose answer courier never got
    (a timeout); Pos' webhook about that barcode came before the posting's
    retry recorded it and was answered 404 not_found - final for Pos - and
    the application stayed 'dispatched' until polling, 6 h later. While a
    posting is in doubt - from its sending until its barcode is recorded -
    an unknown barcode is 503 not_yet_known with Retry-After (Pos sends it
    again); once recorded, the webhook is taken."""
    application_id = submit_and_verify(system)
    assert requests.post(f"{pos}/sandbox/faults", json={"delay_after_accept_ms": 8000},
                         timeout=5).ok  # longer than courier's POS_TIMEOUT_SECONDS (2)
    try:
        order_id = f"SDK-{print_it(system, application_id)}"
        [accepted] = eventually(lambda: at_pos(pos, order_id), what="Pos accepted the posting")
        news = {"barcode": accepted["barcode"], "orderId": order_id, "status": "IN_TRANSIT",
                "at": datetime.datetime.now(WIB).isoformat(timespec="seconds")}
        # at once: while courier still waits for Pos' answer (outside audit N4:
        # 404 until courier's timeout), and after it
        answer = webhook(system, {**news, "eventId": uuid.uuid4().hex})
        assert answer.status_code == 503, answer.text
        assert answer.json()["error"]["code"] == "not_yet_known" and answer.headers["Retry-After"]
        # and Pos, which may not send a webhook again, delivers it meanwhile
        # with no webhook at all: courier reads its tracking once it has the barcode
        assert requests.post(f"{pos}/sandbox/advance/{accepted['barcode']}", timeout=20,
                             json={"status": "DELIVERED", "webhook_url": None}).ok
    finally:
        requests.post(f"{pos}/sandbox/faults", json={"delay_after_accept_ms": 0}, timeout=5)
    courier_events.wait_for(application_id, "parcel_dispatched")
    courier_events.wait_for(application_id, "parcel_delivered")  # not 6 h later
    taken = webhook(system, {**news, "eventId": uuid.uuid4().hex})
    assert taken.status_code == 200, taken.text


def _healthy(system) -> bool:
    try:
        return requests.get(f"{system.url('courier')}/health", timeout=2).ok
    except requests.RequestException:
        return False


def test_a_pos_outage_holds_dispatches_back_then_drains(system, courier_events, pos):
    applications = [submit_and_verify(system) for _ in range(3)]
    assert requests.post(f"{pos}/sandbox/faults", json={"down": True, "status": 503}, timeout=5).ok
    jobs = {application_id: print_it(system, application_id) for application_id in applications}
    # every dispatch tried and refused, at least twice over
    orders = [f"SDK-{job}" for job in jobs.values()]

    def each_refused_twice() -> bool:
        refused = refused_postings(pos)
        return all(refused.count(order) >= 2 for order in orders)
    eventually(each_refused_twice, what="each dispatch refused twice by Pos")
    assert all(courier_events.of(application_id) == [] for application_id in applications)
    assert requests.post(f"{pos}/sandbox/faults", json={"down": False}, timeout=5).ok
    for application_id in applications:
        [event] = courier_events.wait_for(application_id, "parcel_dispatched")
        assert len(at_pos(pos, f"SDK-{jobs[application_id]}")) == 1
        assert event["shipment_id"] == f"SDK-{jobs[application_id]}"
    assert dead_letters(system) == 0


def retries_of_printed_documents(system) -> int:
    """How many times courier's logs say a ``document_printed`` was put off
    (``shared.messaging``'s "retrying ..." line)."""
    return sum(path.read_text(errors="replace").count(f" on {PRINTED_QUEUE} in ")
               for path in (system.run_dir / "logs").glob("*.log"))


def test_a_posting_pos_asks_to_wait_for_is_not_tried_again_sooner(system, courier_events, pos,
                                                                   mongo):
    """A partner integrator's complaint: Pos answered 503 with
    ``Retry-After: 60`` and courier came back after 1 s and 5 s regardless,
    hammering Pos through its outage and using its retries up inside Pos'
    own window. The retry waits at least what Pos asked - 3 s here, where
    courier's schedule starts at 0.5 s - however soon Pos is back."""
    application_id = submit_and_verify(system)
    retried_before = retries_of_printed_documents(system)
    assert requests.post(f"{pos}/sandbox/faults", timeout=5,
                         json={"down": True, "status": 503, "retry_after": 3}).ok
    order_id = f"SDK-{print_it(system, application_id)}"
    eventually(lambda: retries_of_printed_documents(system) > retried_before,
               what="the first posting refused and put off")
    assert requests.post(f"{pos}/sandbox/faults", json={"down": False}, timeout=5).ok
    [event] = courier_events.wait_for(application_id, "parcel_dispatched")
    assert event["shipment_id"] == order_id
    posted = mongo["courier"].shipments.find_one({"_id": order_id})
    # the first try marked the posting sent; Pos took it on a later one
    waited = posted["dispatched_at"] - posted["posting_in_doubt_since"]
    assert waited >= datetime.timedelta(seconds=3), waited
    assert dead_letters(system) == 0


def test_pos_answering_too_late_is_retried_and_still_one_shipment(system, courier_events, pos):
    application_id = submit_and_verify(system)
    # slower than courier's POS_TIMEOUT_SECONDS (2 s in the tests): Pos records
    # the posting after courier gave up on it
    assert requests.post(f"{pos}/sandbox/faults", json={"delay_ms": 3000}, timeout=5).ok
    order_id = f"SDK-{print_it(system, application_id)}"
    eventually(lambda: at_pos(pos, order_id), what="Pos recorded a posting courier gave up on")
    assert courier_events.of(application_id) == []
    assert requests.post(f"{pos}/sandbox/faults", json={"delay_ms": 0}, timeout=5).ok
    [event] = courier_events.wait_for(application_id, "parcel_dispatched")
    [posted] = at_pos(pos, order_id)
    assert event["barcode"] == posted["barcode"]
    assert dead_letters(system) == 0


def test_operators_view_needs_an_operator_token(system):
    courier = system.url("courier")
    for path in ("/api/v1/shipments", "/api/v1/shipments/stuck", "/api/v1/shipments/x"):
        assert requests.get(courier + path, timeout=10).status_code == 401
    bad = requests.get(f"{courier}/api/v1/shipments", params={"status": "lost"}, headers=OPERATOR,
                       timeout=10)
    assert bad.status_code == 400 and "status" in bad.json()["error"]["fields"]
    year_one = encode_cursor(datetime.datetime(1, 1, 1, tzinfo=datetime.timezone.utc), "a")
    for cursor in ("not-a-cursor", year_one):  # year 1: a 500 (outside audit G2)
        bad = requests.get(f"{courier}/api/v1/shipments", params={"cursor": cursor, "limit": 2},
                           headers=OPERATOR, timeout=10)
        assert bad.status_code == 400 and list(bad.json()["error"]["fields"]) == ["cursor"]
    assert requests.get(f"{courier}/api/v1/shipments/SDK-none", headers=OPERATOR,
                        timeout=10).status_code == 404


def test_a_jemput_bola_manifest_goes_by_pos_as_one_parcel(system, courier_events, pos, mongo):
    rows = [ktp_row(), ktp_row()]
    answer = requests.put(batch_url(system, new_batch_id()), headers=KELURAHAN_OFFICER, timeout=60,
                          json={"applications": rows})
    assert answer.status_code == 200, answer.text
    manifest_id = answer.json()["manifest_id"]
    application_ids = [row["application_id"] for row in answer.json()["accepted"]]
    courier = system.url("courier")
    office = {"street": "Jl. Raya Sukajaya No. 1", "postal_code": "42171", "phone": "0254123456"}
    send = f"{courier}/api/v1/manifests/{manifest_id}/send-by-pos"
    eventually(lambda: requests.post(send, json=office, headers=OPERATOR, timeout=10).status_code
               == 202, what="courier knows the manifest")
    for application_id in application_ids:
        requests.post(f"{system.url('intake')}/api/v1/applications/{application_id}/verify",
                      headers=OPERATOR, timeout=10)
        print_it(system, application_id)
    events = [courier_events.wait_for(application_id, "parcel_dispatched")[0]
              for application_id in application_ids]
    assert {e["shipment_id"] for e in events} == {f"SDK-{manifest_id}"}
    assert len({e["barcode"] for e in events}) == 1
    [parcel] = at_pos(pos, f"SDK-{manifest_id}")
    assert parcel["receiver"]["name"] == "Kantor Kelurahan Sukajaya"
    again = requests.post(send, json=office, headers=OPERATOR, timeout=10)
    assert again.status_code == 200 and again.json()["barcode"] == parcel["barcode"]

    # on the road: the kelurahan's officer cannot hand a document over yet
    eventually(lambda: mongo["printing"].manifests.find_one(
        {"_id": manifest_id, "pos_dispatched": True}), what="printing: the manifest went by Pos")
    first = answer.json()["accepted"][0]
    handover = {"tracking_code": first["tracking_code"], "nik": rows[0]["applicant"]["nik"]}

    def hand_over() -> requests.Response:
        return requests.post(f"{system.url('printing')}/api/v1/kelurahan/handovers",
                             json=handover, headers=KELURAHAN_OFFICER, timeout=10)
    early = hand_over()
    assert (early.status_code, early.json()["error"]["code"]) == (409, "not_at_office")
    # Pos delivers the parcel to the kelurahan office: now it can
    requests.post(f"{pos}/sandbox/advance/{parcel['barcode']}", timeout=10, json={
        "status": "DELIVERED", "webhook_url": f"{courier}/api/v1/pos/webhook"})
    courier_events.wait_for(first["application_id"], "parcel_delivered")
    handed = eventually(lambda: (r := hand_over()).status_code == 200 and r,
                        what="the hand-over once delivered")
    assert handed.json()["status"] == "collected"


def test_a_manifest_the_operator_sends_by_pos_is_not_announced_for_the_dinas(
        system, courier_events, pos, mongo):
    """Pos chosen before the documents are printed: nobody is called to the
    Dinas for it (no ``batch_ready_for_kelurahan``: no officer's e-mail, no
    office_pickup notice or step), its citizens hear of Pos' parcel only,
    and while it waits at the Dinas for Pos no hand-over is recorded."""
    printing_events, seen = BrokerProbe(system.amqp_uri, "printing.events"), []
    row = ktp_row()
    nik = row["applicant"]["nik"]
    answer = requests.put(batch_url(system, new_batch_id()), headers=KELURAHAN_OFFICER,
                          timeout=60, json={"applications": [row]})
    assert answer.status_code == 200, answer.text
    manifest_id = answer.json()["manifest_id"]
    [accepted] = answer.json()["accepted"]
    application_id, code = accepted["application_id"], accepted["tracking_code"]
    send = f"{system.url('courier')}/api/v1/manifests/{manifest_id}/send-by-pos"
    office = {"street": "Jl. Raya Sukajaya No. 1", "postal_code": "42171"}
    try:
        eventually(lambda: requests.post(send, json=office, headers=OPERATOR,
                                         timeout=10).status_code == 202,
                   what="courier knows the manifest")
        eventually(lambda: mongo["printing"].manifests.find_one(
            {"_id": manifest_id, "by_pos": True}), what="printing: the operator chose Pos")
        # Pos cannot take it yet: printed, it waits at the Dinas
        assert requests.post(f"{pos}/sandbox/faults", json={"down": True}, timeout=5).ok
        requests.post(f"{system.url('intake')}/api/v1/applications/{application_id}/verify",
                      headers=OPERATOR, timeout=10)
        print_it(system, application_id)
        eventually(lambda: mongo["printing"].manifests.find_one(
            {"_id": manifest_id, "ready": True}), what="printing: the manifest printed")
        early = requests.post(f"{system.url('printing')}/api/v1/kelurahan/handovers",
                              json={"tracking_code": code, "nik": nik},
                              headers=KELURAHAN_OFFICER, timeout=10)
        assert (early.status_code, early.json()["error"]["code"]) == (409, "not_at_office")
        assert requests.post(f"{pos}/sandbox/faults", json={"down": False}, timeout=5).ok
        courier_events.wait_for(application_id, "parcel_dispatched")

        # what printing published with the last print: no call to the Dinas
        eventually(lambda: published(printing_events, seen, "document_printed", application_id),
                   what="document_printed")
        assert not published(printing_events, seen, "batch_ready_for_kelurahan", application_id)
        notification = f"{system.url('notification')}/api/v1/notifications/applications"

        def templates(of: str) -> list[str]:
            log = requests.get(f"{notification}/{of}", headers=OPERATOR, timeout=10).json()
            return [message["template"] for message in log["messages"]]
        eventually(lambda: "dispatched_kelurahan" in templates(application_id),
                   what="the citizen told of Pos' parcel")
        assert "office_pickup" not in templates(application_id)
        assert templates(manifest_id) == []  # no officer's e-mail for it
        timeline = eventually(lambda: (found := lookup(system, code, nik))["status"]
                              == "dispatched" and found["timeline"], what="intake: dispatched")
        assert not any(step["status"] == "to_kelurahan" for step in timeline)
    finally:
        printing_events.close()


def prr_without_postal_code(system, mongo, kelurahan_code: str) -> tuple[str, str]:
    """A PRR record imported with no postal code: (application id, NIK)."""
    nik, phone = random_nik(), random_mobile()
    recorded_on = (today_wib() - datetime.timedelta(days=30)).isoformat()
    line = f"{nik},{resident_name(nik[-4:])},367304,{recorded_on},Jl. Kp. Sukajaya No. 3,001,002," \
           f"{kelurahan_code},,{phone}"
    assert upload_prr(system.url("printing"), [line])["imported"] == 1
    job = eventually(lambda: mongo["printing"].print_jobs.find_one({"nik": nik}),
                     what="the PRR record's print job")
    return job["application_id"], nik


def test_prr_records_without_a_postal_code_go_by_its_kelurahan_s_or_wait_for_an_operator(
        system, mongo, courier_events, pos):
    courier = system.url("courier")
    # the kelurahan is known: its postal code comes from the region list
    known, _ = prr_without_postal_code(system, mongo, KELURAHAN_CODE)
    print_it(system, known)
    [event] = courier_events.wait_for(known, "parcel_dispatched")
    [posted] = at_pos(pos, event["shipment_id"])
    assert (posted["receiver"]["zipCode"], posted["receiver"]["subdistrict"]) == ("42171", "Sukajaya")

    # no such kelurahan in the region list: held for an operator, not dead-lettered
    unknown, nik = prr_without_postal_code(system, mongo, "3673049999")
    order_id = f"SDK-{print_it(system, unknown)}"

    def held():
        listed = requests.get(f"{courier}/api/v1/shipments", params={"status": "held"},
                              headers=OPERATOR, timeout=10).json()["shipments"]
        return [s for s in listed if s["shipment_id"] == order_id]
    [listed] = eventually(held, what="the shipment held for an operator")
    assert listed["hold"]["reason"] == "address_incomplete"
    assert listed["hold"]["fields"] == ["kelurahan_code", "postal_code"]
    assert listed["barcode"] is None and at_pos(pos, order_id) == []
    assert order_id in [s["shipment_id"] for s in requests.get(
        f"{courier}/api/v1/shipments/stuck", params={"days": 0}, headers=OPERATOR,
        timeout=10).json()["shipments"]]
    assert dead_letters(system) == 0 and courier_events.of(unknown) == []

    release = f"{courier}/api/v1/shipments/{order_id}/release"
    assert requests.post(release, json={"postal_code": "42171"}, timeout=10).status_code == 401
    still = requests.post(release, json={"postal_code": "42171"}, headers=OPERATOR, timeout=10)
    assert still.status_code == 400 and list(still.json()["error"]["fields"]) == ["kelurahan_code"]
    bad = requests.post(release, json={"kelurahan_code": "36730", "postal_code": "4217"},
                        headers={**OPERATOR, "Accept-Language": "en"}, timeout=10)
    assert bad.status_code == 400, bad.text
    assert bad.json()["error"]["fields"] == {  # what each must be (outside audit G, D)
        "kelurahan_code": ["Must be a 10-digit village code (e.g. 3673041001)."],
        "postal_code": ["A postal code of 5 digits (e.g. 42171)."]}
    # Pos out of reach: 503, the shipment pending; the same request again,
    # with no body (outside audit G4), posts it
    assert requests.post(f"{pos}/sandbox/faults", json={"down": True, "status": 503},
                         timeout=5).ok
    busy = requests.post(release, json={"kelurahan_code": KELURAHAN_CODE}, headers=OPERATOR,
                         timeout=10)
    assert busy.status_code == 503 and busy.headers["Retry-After"], busy.text
    # Pos saying how long (whole seconds, rounded up): the operator is told that
    assert requests.post(f"{pos}/sandbox/faults", json={"retry_after": 7}, timeout=5).ok
    busy = requests.post(release, headers=OPERATOR, timeout=10)
    assert (busy.status_code, busy.headers["Retry-After"]) == (503, "7"), busy.text
    assert shipment(system, order_id).json()["status"] == "pending"
    assert requests.post(f"{pos}/sandbox/faults", json={"down": False}, timeout=5).ok
    done = requests.post(release, headers=OPERATOR, timeout=10)
    assert done.status_code == 200 and done.json()["status"] == "dispatched", done.text
    assert "hold" not in done.json()
    # who released it, what was corrected and what it was held for (outside audit G5)
    released = shipment(system, order_id).json()["released"]
    assert (released["corrected"], released["held_for"]) == (
        ["kelurahan_code"], ["kelurahan_code", "postal_code"]) and released["by"], released
    [dispatched_event] = courier_events.wait_for(unknown, "parcel_dispatched")
    assert dispatched_event["barcode"] == done.json()["barcode"]
    [posted] = at_pos(pos, order_id)
    assert posted["receiver"]["zipCode"] == "42171"
    again = requests.post(release, json={}, headers=OPERATOR, timeout=10)
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_held"
    assert personal_data_in_logs(system, nik) == []


def test_a_returned_parcel_collected_at_the_counter_stays_returned_and_is_not_posted_again(
        system, courier_events, pos):
    citizen = Citizen(system, pos_body())
    print_job_id = print_it(system, citizen.application_id)
    [event] = courier_events.wait_for(citizen.application_id, "parcel_dispatched")
    barcode = event["barcode"]
    news = {"barcode": barcode, "orderId": f"SDK-{print_job_id}", "location": "Kota Serang"}
    returned = webhook(system, {**news, "eventId": uuid.uuid4().hex, "status": "RETURNED",
                                "at": datetime.datetime.now(WIB).isoformat(),
                                "note": "Alamat tidak ditemukan"})
    assert returned.status_code == 200 and returned.json()["status"] == "returned"
    citizen.until(lambda v: v["status"] == "ready_for_pickup", "a window at the counter")
    collected = requests.post(f"{system.url('printing')}/api/v1/counter/collections",
                              headers=OPERATOR, timeout=10,
                              json={"tracking_code": citizen.tracking_code,
                                    "nik": citizen.body["applicant"]["nik"]})
    assert collected.status_code == 200, collected.text

    def noted():
        view = shipment(system, barcode).json()
        return view if view["applications"][0].get("collected") else None
    view = eventually(noted, what="courier notes the collection")
    assert view["status"] == "returned" and view["applications"][0]["collected"]["how"] == "counter"

    # a reprint of the document (another print job): it waits at the counter, not posted
    citizen.printing("document_printed", station_id="station-test-1")
    assert citizen.print_job_id != print_job_id
    dispatched(system, courier_events, pos)  # a later document, to know the reprint was handled
    assert [s["orderId"] for s in requests.get(f"{pos}/sandbox/shipments", timeout=5).json()
            if s["receiver"]["name"] == citizen.body["applicant"]["full_name"]
            and s["itemDesc"].endswith(citizen.tracking_code)] == [f"SDK-{print_job_id}"]

    # Pos' late word on the parcel: kept in the history, moves nothing, tells nobody
    late = webhook(system, {**news, "eventId": uuid.uuid4().hex, "status": "DELIVERED",
                            "at": datetime.datetime.now(WIB).isoformat()})
    assert late.status_code == 200 and late.json()["status"] == "returned"
    assert [k for k, _ in courier_events.of(citizen.application_id)] == \
        ["parcel_dispatched", "parcel_picked_up", "parcel_returned"]
    assert citizen.view()["status"] == "collected"


def test_a_webhook_dated_ahead_of_the_clock_is_refused_and_the_real_return_still_counts(
        system, courier_events, pos):
    """The audit's case: a correctly signed FAILED dated 36 minutes ahead used
    to be taken, and Pos' real RETURNED minutes later was then kept as stale -
    no ``parcel_returned``, no pickup window for the citizen. Now the first
    is refused naming ``at`` (nothing kept) and the return is told."""
    application_id, barcode, event = dispatched(system, courier_events, pos)
    ahead = datetime.datetime.now(WIB) + datetime.timedelta(minutes=36)
    news = {"eventId": uuid.uuid4().hex, "barcode": barcode, "orderId": event["shipment_id"],
            "status": "FAILED", "at": ahead.isoformat(timespec="seconds")}
    refused = webhook(system, news)
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["code"] == "validation_failed"
    assert list(refused.json()["error"]["fields"]) == ["at"]
    history = shipment(system, barcode).json()["history"]
    assert "FAILED" not in [h["status"] for h in history]

    hook = f"{system.url('courier')}/api/v1/pos/webhook"
    back = requests.post(f"{pos}/sandbox/advance/{barcode}", timeout=10,
                         json={"status": "RETURNED", "note": "Kembali ke pengirim",
                               "webhook_url": hook})
    assert back.json()["status_code"] == 200, back.text
    [returned] = courier_events.wait_for(application_id, "parcel_returned")
    assert returned["reason"] == "Kembali ke pengirim"
    kept = shipment(system, barcode).json()
    assert kept["status"] == "returned"
    assert [h["stale"] for h in kept["history"] if h["status"] == "RETURNED"] == [False]


MANIFEST_OFFICE = {"street": "Jl. Raya Sukajaya No. 1", "postal_code": "42171", "phone": "0254123456"}


def chose_pos(system, manifest_id: str) -> requests.Response:
    """The operator sends the manifest by Pos (once courier knows it): the
    202 answer, while documents are being printed."""
    send = f"{system.url('courier')}/api/v1/manifests/{manifest_id}/send-by-pos"
    return eventually(lambda: (r := requests.post(send, json=MANIFEST_OFFICE, headers=OPERATOR,
                                                  timeout=10)).status_code == 202 and r,
                      what="courier knows the manifest")


def parcel_of(system, courier_events, pos, manifest_id: str, carried: str) -> dict:
    """The manifest's one parcel at Pos, once ``parcel_dispatched`` named
    ``carried``: it says how many documents it carries."""
    [event] = courier_events.wait_for(carried, "parcel_dispatched")
    assert event["shipment_id"] == f"SDK-{manifest_id}"
    [parcel] = at_pos(pos, f"SDK-{manifest_id}")
    assert parcel["barcode"] == event["barcode"]
    return parcel


def test_a_manifest_by_pos_goes_without_its_rejected_and_withdrawn_members(
        system, courier_events, pos, mongo):
    """Three rows: one printed, one rejected at verification, one withdrawn.
    The parcel goes with the printed one. The rejected one, resubmitted,
    verified and printed after the parcel went, is not posted: its officer
    collects it at the Dinas (a follow-up ``batch_ready_for_kelurahan``)."""
    intake, printing = system.url("intake"), system.url("printing")
    printing_events, seen = BrokerProbe(system.amqp_uri, "printing.events"), []
    rows = [ktp_row() for _ in range(3)]
    try:
        answer = batch_sent(system, rows)
        manifest_id = answer["manifest_id"]
        printed, rejected, withdrawn = answer["accepted"]
        waiting = chose_pos(system, manifest_id).json()
        assert waiting["not_printed"] == sorted(a["application_id"] for a in answer["accepted"])

        verify(system, printed["application_id"])
        reject(system, rejected["application_id"])
        cancelled = citizen(intake, "cancel", withdrawn["tracking_code"],
                            rows[2]["applicant"]["nik"])
        assert cancelled.status_code == 200, cancelled.text
        print_it(system, printed["application_id"])

        parcel = parcel_of(system, courier_events, pos, manifest_id, printed["application_id"])
        assert parcel["itemDesc"] == f"Jemput bola {manifest_id}: 1 dokumen"
        carried = shipment(system, f"SDK-{manifest_id}").json()["applications"]
        assert [a["application_id"] for a in carried] == [printed["application_id"]]
        eventually(lambda: mongo["printing"].manifests.find_one(
            {"_id": manifest_id, "ready": True}), what="printing: the manifest went")

        # the rejected member comes back, is verified and printed: not in the parcel
        nik = rows[1]["applicant"]["nik"]
        again = citizen(intake, "resubmit", rejected["tracking_code"], nik,
                        applicant={"full_name": rows[1]["applicant"]["full_name"] + " Putri"})
        assert again.status_code == 200, again.text
        verify(system, rejected["application_id"])
        print_it(system, rejected["application_id"])
        [follow_up] = eventually(lambda: published(printing_events, seen,
                                                   "batch_ready_for_kelurahan",
                                                   rejected["application_id"]),
                                 what="printing: a follow-up for the late member")
        assert [item["application_id"] for item in follow_up["items"]] == [
            rejected["application_id"]]
        eventually(lambda: mongo["courier"].manifests.find_one(
            {"_id": manifest_id, "printed": rejected["application_id"]}),
            what="courier: the late member printed")
        assert [p["barcode"] for p in at_pos(pos, f"SDK-{manifest_id}")] == [parcel["barcode"]]
        assert not [e for k, e in courier_events.of(rejected["application_id"])
                    if k.startswith("parcel_")]
        # intake records the print from printing's event, in its own time
        eventually(lambda: lookup(system, rejected["tracking_code"], nik)["status"] == "printed",
                   what="intake: the late member printed")
        # its officer collects it at the Dinas on its day: not yet at the office
        early = requests.post(f"{printing}/api/v1/kelurahan/handovers",
                              json={"tracking_code": rejected["tracking_code"], "nik": nik},
                              headers=KELURAHAN_OFFICER, timeout=10)
        assert not_at_office(early), early.text
    finally:
        printing_events.close()


def test_a_manifest_by_pos_goes_without_a_member_whose_held_print_job_was_cancelled(
        system, courier_events, pos):
    printing = system.url("printing")
    answer = batch_sent(system, [ktp_row(), ktp_row()])
    manifest_id = answer["manifest_id"]
    printed, given_up = answer["accepted"]
    chose_pos(system, manifest_id)
    for member in answer["accepted"]:
        verify(system, member["application_id"])
    print_it(system, printed["application_id"])

    job = claim_job_for(printing, given_up["application_id"])
    failed = requests.post(f"{printing}/api/v1/station/jobs/{job['print_job_id']}/failed",
                           json={"lease_token": job["lease_token"], "reason": "data_error"},
                           headers=STATION, timeout=10)
    assert failed.status_code == 200 and failed.json()["status"] == "held", failed.text
    cancelled = requests.post(f"{printing}/api/v1/operator/print-jobs/{job['print_job_id']}"
                              "/cancel", headers=OPERATOR, timeout=10)
    assert cancelled.status_code == 200, cancelled.text

    parcel = parcel_of(system, courier_events, pos, manifest_id, printed["application_id"])
    assert parcel["itemDesc"] == f"Jemput bola {manifest_id}: 1 dokumen"
    assert not [e for k, e in courier_events.of(given_up["application_id"])
                if k.startswith("parcel_")]


def test_a_manifest_its_officer_was_called_to_collect_at_the_dinas_is_not_sent_by_pos(
        system, courier_events, pos, mongo):
    """Printed and released for the kelurahan (``batch_ready_for_kelurahan``:
    the officer e-mailed to collect it at the Dinas, its citizens told to
    collect at the office): an operator's send-by-Pos is refused (409
    ``collected_at_dinas``), no parcel is posted, printing is not told Pos
    took it, and the officer's hand-over is recorded from their day."""
    printing = system.url("printing")
    printing_events, seen = BrokerProbe(system.amqp_uri, "printing.events"), []
    row = ktp_row()
    try:
        answer = batch_sent(system, [row])
        manifest_id = answer["manifest_id"]
        [member] = answer["accepted"]
        verify(system, member["application_id"])
        print_it(system, member["application_id"])
        [ready] = eventually(lambda: published(printing_events, seen, "batch_ready_for_kelurahan",
                                               member["application_id"]),
                             what="batch_ready_for_kelurahan")
        eventually(lambda: mongo["courier"].manifests.find_one(
            {"_id": manifest_id, "at_dinas.day": ready["day"]}),
            what="courier: the manifest released for collection at the Dinas")

        send = f"{system.url('courier')}/api/v1/manifests/{manifest_id}/send-by-pos"
        refused = requests.post(send, json=MANIFEST_OFFICE, headers=OPERATOR, timeout=10)
        assert refused.status_code == 409, refused.text
        error = refused.json()["error"]
        assert error["code"] == "collected_at_dinas" and ready["day"] in error["message"]
        english = requests.post(send, json=MANIFEST_OFFICE, timeout=10,
                                headers={**OPERATOR, "Accept-Language": "en"})
        assert "cannot be sent by Pos" in english.json()["error"]["message"]
        assert at_pos(pos, f"SDK-{manifest_id}") == []
        assert mongo["courier"].manifests.find_one({"_id": manifest_id})["by_pos"] is None

        officers_day_came(mongo["printing"], member["application_id"])
        handed = requests.post(f"{printing}/api/v1/kelurahan/handovers", timeout=10,
                               json={"tracking_code": member["tracking_code"],
                                     "nik": row["applicant"]["nik"]},
                               headers=KELURAHAN_OFFICER)
        assert handed.status_code == 200 and handed.json()["status"] == "collected", handed.text
        assert not mongo["printing"].manifests.find_one({"_id": manifest_id}).get("by_pos")
    finally:
        printing_events.close()


def test_a_manifest_courier_has_not_heard_of_yet_is_503_then_404_for_one_that_cannot_be(system):
    """Right after a batch is stored courier may not have its ``batch_accepted``
    yet: a fresh id of intake's shape is 503 + Retry-After (not yet), never
    404 (it exists); an old or misshapen id is 404."""
    courier = system.url("courier")
    today = today_wib().strftime("%Y%m%d")
    send = f"{courier}/api/v1/manifests/{{}}/send-by-pos"
    fresh = requests.post(send.format(f"JB-3673041010-{today}-ZZZZZZ"), json=MANIFEST_OFFICE,
                          headers=OPERATOR, timeout=10)
    assert fresh.status_code == 503 and fresh.headers["Retry-After"], fresh.text
    assert fresh.json()["error"]["code"] == "not_yet_known"
    for unknown in ("JB-3673041010-20200715-ZZZZZZ", "JB-nope"):
        answer = requests.post(send.format(unknown), json=MANIFEST_OFFICE, headers=OPERATOR,
                               timeout=10)
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found"
    # a batch just stored: "not yet" or known, never "not found"
    manifest_id = batch_sent(system, [ktp_row()])["manifest_id"]
    first = requests.post(send.format(manifest_id), json=MANIFEST_OFFICE, headers=OPERATOR,
                          timeout=10)
    assert first.status_code in (202, 503), first.text
    eventually(lambda: requests.post(send.format(manifest_id), json=MANIFEST_OFFICE,
                                     headers=OPERATOR, timeout=10).status_code == 202,
               what="courier knows the manifest")


@pytest.mark.parametrize("value", ["29", "365d", "0.5"])
def test_a_retention_too_short_or_mistyped_refuses_the_start_in_one_line_naming_it(system, value):
    """Courier's ``RETENTION_DAYS`` (docs/courier-api.md, "Retention"): a
    month at least, whole days."""
    env = {**system.env(), "RETENTION_DAYS": value, "COURIER_DATABASE": "courier_typo"}
    code, output = nameko_run(env, "courier")
    assert code == 1
    assert one_refusal(output) == ("shared.settings.InvalidSetting: refusing to start: "
                                   "RETENTION_DAYS: expected whole days, at least 30")


def test_a_failed_attempt_without_pos_note_tells_no_reason(system, courier_events, pos):
    """Outside audit P2: a FAILED webhook without a ``note`` (it is optional)
    sent the citizen "Pos gagal mengantar KTP-el SDK... (FAILED)" - Pos'
    status word in a Bahasa SMS - and put it in the timeline as the reason."""
    citizen = Citizen(system, pos_body())
    print_it(system, citizen.application_id)
    [sent] = courier_events.wait_for(citizen.application_id, "parcel_dispatched")
    answer = webhook(system, {"eventId": uuid.uuid4().hex, "barcode": sent["barcode"],
                              "status": "FAILED", "at": datetime.datetime.now(WIB).isoformat()})
    assert answer.status_code == 200, answer.text
    [told] = courier_events.wait_for(citizen.application_id, "parcel_delivery_failed")
    assert told["reason"] is None
    view = citizen.until(lambda v: "delivery_failed" in citizen.steps(v), "the failed attempt")
    assert "FAILED" not in json.dumps(citizen.step("delivery_failed", view))
    e164 = "62" + citizen.body["applicant"]["phone"][1:]
    [text] = eventually(lambda: [m["message"] for m in requests.get(
        system.url("sms") + "/sandbox/messages", params={"to": e164}, timeout=5).json()
        if "Pos gagal" in m["message"]], what="the failed-attempt SMS")
    assert "FAILED" not in text and "()" not in text, text


def test_a_note_of_several_lines_or_in_another_script_is_news_all_the_same(
        system, courier_events, pos):
    """Outside audit R2: a webhook whose note had a line break or a tab - or
    a field courier ignores that had one - was refused 400, and Pos does not
    send a refused webhook again: the news waited hours for polling. A note
    in a script GSM-7 cannot spell reached the SMS as "(??? ?????)", and its
    bidi override reached the timeline."""
    citizen = Citizen(system, pos_body())
    print_it(system, citizen.application_id)
    [sent] = courier_events.wait_for(citizen.application_id, "parcel_dispatched")
    now = datetime.datetime.now(WIB).replace(microsecond=0)
    moving = webhook(system, {"eventId": uuid.uuid4().hex, "barcode": sent["barcode"],
                              "status": "IN_TRANSIT", "at": (now - datetime.timedelta(
                                  minutes=5)).isoformat(), "location": "Kota Serang\tGudang",
                              "extra": {"courierName": "Budi\nSantoso"}})
    assert moving.status_code == 200, moving.text
    failed = webhook(system, {"eventId": uuid.uuid4().hex, "barcode": sent["barcode"],
                              "status": "FAILED", "at": now.isoformat(),
                              "note": "\u202eنص عربي\u202c\r\nRumah kosong"})
    assert failed.status_code == 200, failed.text
    history = shipment(system, sent["barcode"]).json()["history"]
    assert [(h["location"], h["note"]) for h in history] == [
        ("Kota Serang Gudang", ""), (None, "نص عربي Rumah kosong")]
    [told] = courier_events.wait_for(citizen.application_id, "parcel_delivery_failed")
    assert told["reason"] == "نص عربي Rumah kosong"
    e164 = "62" + citizen.body["applicant"]["phone"][1:]
    [text] = eventually(lambda: [m["message"] for m in requests.get(
        system.url("sms") + "/sandbox/messages", params={"to": e164}, timeout=5).json()
        if "Pos gagal" in m["message"]], what="the failed-attempt SMS")
    assert "?" not in text and "(" not in text, text  # a reason GSM-7 cannot spell is left out
