"""WhatsApp's status webhook through the real stack (outside audit: a
WhatsApp message the Cloud API took but could not deliver stayed ``sent``,
no other channel took over, and the citizen heard nothing).

The WhatsApp sandbox posts Meta's signed status callbacks to notification's
``/api/v1/whatsapp/webhook`` as ``make run`` wires it (``sent`` and
``delivered``; ``failed`` with error 131026 for a number the test says is
not on WhatsApp); the tests post their own signed deliveries too. Every
request meant to fail comes from a loopback address of its own
(``new_client``): failing the signature counts against the client.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import requests

from deploy.local.sandboxes.whatsapp import envelope, status_item
from services.notification.callbacks import wamid_digest
from tests.e2e.test_notification import (SLOT, Citizen, mails_to, send, sms_to, whatsapp_to)
from tests.e2e.test_secrets_and_limits import new_client
from tests.helpers import OPERATOR, BrokerProbe, eventually, personal_data_in_logs
from tests.openapi_answers import assert_answer_matches, served_document

WEBHOOK = "/api/v1/whatsapp/webhook"


def webhook(system) -> str:
    return system.url("notification") + WEBHOOK


def signed_post(system, payload: dict | bytes, secret: str | None = None, client=requests,
                content_type: str | None = "application/json"):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    secret = secret or system.env()["WHATSAPP_APP_SECRET"]
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return client.post(webhook(system), data=body, timeout=10, headers={
        **({"Content-Type": content_type} if content_type else {}),
        "X-Hub-Signature-256": signature})


def not_on_whatsapp(system, citizen: Citizen, error_code: int = 131026) -> None:
    told = requests.post(system.url("whatsapp") + "/sandbox/recipients", timeout=5, json={
        "to": citizen.e164, "status": "failed", "error_code": error_code})
    assert told.status_code == 200, told.text


def story(system, citizen: Citizen, status: str) -> None:
    told = requests.post(system.url("whatsapp") + "/sandbox/recipients", timeout=5,
                         json={"to": citizen.e164, "status": status})
    assert told.status_code == 200, told.text


def delivery_log(system, citizen: Citizen) -> dict[str, dict]:
    answer = requests.get(system.url("notification") + "/api/v1/notifications/applications/"
                          + citizen.application_id, headers=OPERATOR, timeout=10)
    assert answer.status_code == 200, answer.text
    return {m["channel"]: m for m in answer.json()["messages"]}


def ready(system, citizen: Citizen) -> dict:
    return send(system, "document_ready_for_pickup", print_job_id="job-1", full_name="Siti",
                contact=citizen.contact, slot=SLOT, **citizen.ref())


def callbacks(system, wamid: str) -> list[dict]:
    return requests.get(system.url("whatsapp") + "/sandbox/callbacks", params={"id": wamid},
                        timeout=5).json()


def test_meta_verifies_the_endpoint_with_the_verify_token(system):
    params = {"hub.mode": "subscribe", "hub.verify_token": system.env()["WHATSAPP_VERIFY_TOKEN"],
              "hub.challenge": "1158201444"}
    answer = requests.get(webhook(system), params=params, timeout=10)
    assert answer.status_code == 200 and answer.text == "1158201444"
    assert answer.headers["Content-Type"].startswith("text/plain")
    guesser = new_client()
    for wrong in ({"hub.verify_token": "guessed"}, {"hub.mode": "unsubscribe"},
                  {"hub.verify_token": None}):
        refused = guesser.get(webhook(system), params={**params, **wrong}, timeout=10,
                              headers={"Accept-Language": "en"})
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["code"] == "forbidden"
        assert params["hub.verify_token"] not in refused.text


def test_a_handshake_parameter_given_twice_is_refused_naming_it(system):
    """A repeated hub.challenge was answered 200 with its first value; any
    other repeated query parameter is a 400 naming it."""
    token = system.env()["WHATSAPP_VERIFY_TOKEN"]
    query = [("hub.mode", "subscribe"), ("hub.verify_token", token),
             ("hub.challenge", "1158201444"), ("hub.challenge", "2")]
    answer = requests.get(webhook(system), params=query, timeout=10,
                          headers={"Accept-Language": "en"})
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["fields"] == {"hub.challenge": ["Given more than once."]}
    assert token not in answer.text


def test_a_message_whatsapp_could_not_deliver_reaches_the_citizen_by_sms_once(system, backing):
    citizen = Citizen(preferred="whatsapp")
    not_on_whatsapp(system, citizen)
    probe = BrokerProbe(system.amqp_uri, "notification.events")
    try:
        event = ready(system, citizen)
        [template] = eventually(lambda: whatsapp_to(system, citizen), what="the WhatsApp template")
        [sms] = eventually(lambda: sms_to(system, citizen), what="the SMS in its place")
        assert citizen.tracking_code in sms["message"] and sms["reference"] == f"{event['event_id']}.sms"
        assert len(mails_to(backing, citizen.email)) == 1  # important: by e-mail too, once

        log = eventually(lambda: (lambda found: found if found.get("sms", {}).get("status") == "sent"
                                  else None)(delivery_log(system, citizen)),
                         what="the SMS recorded sent")
        failed = log["whatsapp"]
        assert (failed["status"], failed["last_error"], failed["gateway_id"]) == \
            ("failed", "whatsapp 131026: Message undeliverable", wamid_digest(template["id"]))
        assert log["sms"]["fallback_for"] == failed["notification_id"]
        assert citizen.e164[2:] not in json.dumps(log)

        def outcomes():
            seen = [(key, body["channel"]) for key, body in probe.drain()
                    if body.get("application_id") == citizen.application_id]
            outcomes.seen += seen
            return outcomes.seen if len(outcomes.seen) >= 4 else None
        outcomes.seen = []
        assert sorted(eventually(outcomes, what="the outcomes published")) == [
            ("notification_failed", "whatsapp"), ("notification_sent", "email"),
            ("notification_sent", "sms"), ("notification_sent", "whatsapp")]

        # Meta delivers the same callback again: nothing changes, nothing is sent again
        record = next(r for r in whatsapp_to(system, citizen) if r["id"] == template["id"])
        again = json.dumps(envelope("100200300", {"statuses": [
            status_item(record, "failed", 131026)]})).encode()
        for _ in range(2):
            assert signed_post(system, again).status_code == 200
        assert delivery_log(system, citizen) == log  # no second stand-in on file to send
        assert len(sms_to(system, citizen)) == 1
        assert not [body for _, body in probe.drain()
                    if body.get("application_id") == citizen.application_id]
    finally:
        probe.close()
    assert personal_data_in_logs(system, "0" + citizen.e164[2:]) == []


def test_a_routine_notice_goes_by_email_when_whatsapp_cannot_deliver_it(system, backing):
    citizen = Citizen(preferred="whatsapp", language="en")
    not_on_whatsapp(system, citizen, 131047)  # the re-engagement window
    send(system, "application_submitted", channel="web", contact=citizen.contact,
         **citizen.ref())
    [mail] = eventually(lambda: mails_to(backing, citizen.email), what="the e-mail in its place")
    assert citizen.tracking_code in mail.get_payload()[0].get_payload(decode=True).decode()
    log = eventually(lambda: (lambda found: found if found.get("email", {}).get("status") == "sent"
                              else None)(delivery_log(system, citizen)), what="the e-mail sent")
    assert log["whatsapp"]["last_error"] == "whatsapp 131047: Re-engagement message"
    assert sms_to(system, citizen) == []  # the e-mail took it: no SMS as well


def test_an_unsigned_or_forged_failure_is_refused_and_changes_nothing(system):
    citizen = Citizen(preferred="whatsapp")
    story(system, citizen, "sent")  # WhatsApp says no more than "sent"
    ready(system, citizen)
    [record] = eventually(lambda: whatsapp_to(system, citizen), what="the WhatsApp template")
    eventually(lambda: any(c["delivered"] for c in callbacks(system, record["id"])),
               what="the 'sent' callback taken")
    eventually(lambda: delivery_log(system, citizen).get("whatsapp", {}).get("status") == "sent",
               what="WhatsApp recorded sent")
    forged = json.dumps(envelope("100200300", {"statuses": [
        status_item(record, "failed", 131026)]})).encode()
    forger = new_client()
    for headers in ({}, {"X-Hub-Signature-256": "sha256=" + "0" * 64},
                    {"X-Hub-Signature-256": "sha1=abc"}):
        refused = forger.post(webhook(system), data=forged, timeout=10,
                              headers={"Content-Type": "application/json", **headers})
        assert refused.status_code == 401, refused.text
        assert refused.json()["error"]["code"] == "bad_signature"
        assert system.env()["WHATSAPP_APP_SECRET"] not in refused.text
    wrong_secret = signed_post(system, forged, secret="not-the-app-secret", client=forger)
    assert wrong_secret.status_code == 401
    assert delivery_log(system, citizen)["whatsapp"]["status"] == "sent"
    assert "sms" not in delivery_log(system, citizen)

    accepted = signed_post(system, forged)  # signed with the app secret: Meta's
    assert accepted.status_code == 200, accepted.text
    eventually(lambda: sms_to(system, citizen), what="the SMS in its place")


def test_meta_signed_news_is_taken_from_a_client_locked_out_for_forgeries(system):
    """Outside review: past WEBHOOK_FAILURES_PER_CLIENT (10) bad signatures
    from an address Meta's callbacks also come from, Meta's rightly signed
    ones got 429 too. A wrong one is still refused 429; a right one served."""
    forger = new_client()
    body = json.dumps(envelope("100200300", {"statuses": []})).encode()
    forged = [signed_post(system, body, secret="guess", client=forger) for _ in range(10)]
    assert [r.status_code for r in forged] == [401] * 10, [r.text for r in forged]
    refused = signed_post(system, body, secret="guess", client=forger)
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "too_many_attempts"
    assert 0 < int(refused.headers["Retry-After"]) <= 300
    served = signed_post(system, body, client=forger)
    assert served.status_code == 200, served.text


def test_a_status_whose_id_is_no_text_is_passed_over_and_the_failure_after_it_taken(system):
    """Outside audit: a lone surrogate in a status' id or reference answered
    500 (the database's encoder); Meta delivered it again forever and the
    ``failed`` after it never fell back to SMS."""
    citizen = Citizen(preferred="whatsapp")
    story(system, citizen, "sent")
    ready(system, citizen)
    [record] = eventually(lambda: whatsapp_to(system, citizen), what="the WhatsApp template")
    eventually(lambda: delivery_log(system, citizen).get("whatsapp", {}).get("status") == "sent",
               what="WhatsApp recorded sent")
    failed = status_item(record, "failed", 131026)
    body = json.dumps(envelope("100200300", {"statuses": [
        {**failed, "id": "@ID@"}, {**failed, "biz_opaque_callback_data": "@ID@",
                                   "id": "wamid.unknown-to-notification"}, failed]}))
    answer = signed_post(system, body.replace('"@ID@"', '"\\ud800"').encode())
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"statuses": 2}  # the one without a readable id passed over
    eventually(lambda: sms_to(system, citizen), what="the SMS in its place")


def test_delivered_and_read_are_recorded_and_a_later_failure_resends_nothing(system):
    citizen = Citizen(preferred="whatsapp")
    ready(system, citizen)  # the sandbox reports sent, then delivered
    [record] = eventually(lambda: whatsapp_to(system, citizen), what="the WhatsApp template")
    delivered = eventually(lambda: delivery_log(system, citizen)["whatsapp"]["delivered_at"],
                           what="delivered recorded")
    assert delivery_log(system, citizen)["whatsapp"]["read_at"] is None
    statuses = system.url("whatsapp") + "/sandbox/statuses"
    read = requests.post(statuses, json={"id": record["id"], "status": "read"}, timeout=10)
    assert read.json() == {"delivered": True, "status_code": 200}
    whatsapp = delivery_log(system, citizen)["whatsapp"]
    assert whatsapp["read_at"] is not None and whatsapp["delivered_at"] == delivered

    # out of order: a failure after the phone had it - answered, nothing resent
    failed = requests.post(statuses, json={"id": record["id"], "status": "failed",
                                           "error_code": 131026}, timeout=10)
    assert failed.json() == {"delivered": True, "status_code": 200}
    log = delivery_log(system, citizen)
    assert (log["whatsapp"]["status"], log["whatsapp"]["last_error"]) == ("sent", None)
    assert set(log) == {"whatsapp", "email"}  # no stand-in on file: none to send
    assert sms_to(system, citizen) == []


def test_unknown_messages_and_citizens_own_messages_are_taken_and_ignored(system):
    unknown = envelope("100200300", {"statuses": [{
        "id": "wamid.HBgLNjI4MTIzNDU2Nzg5MBUCABIYIDNBM0Q", "status": "failed",
        "timestamp": str(int(time.time())), "recipient_id": "6281398765432",
        "errors": [{"code": 131026, "title": "Message undeliverable"}]}]})
    taken = signed_post(system, unknown)
    assert taken.status_code == 200, taken.text
    assert_answer_matches(served_document(system.url("notification")), "POST",
                          "/api/v1/whatsapp/webhook", 200, taken.json())
    assert taken.json() == {"statuses": 1}
    # a signed delivery of another type is refused, as the served document
    # says (outside audit H: any type was read as JSON)
    for content_type in ("text/plain", "application/json; charset=utf-16",
                         "application/x-www-form-urlencoded", None):
        refused = signed_post(system, unknown, content_type=content_type)
        assert refused.status_code == 415, (content_type, refused.text)
        assert list(refused.json()["error"]["fields"]) == ["Content-Type"]
    assert signed_post(system, unknown,
                       content_type="application/json; charset=UTF-8").status_code == 200
    nik = "3673041207900001"
    words = f"Halo, NIK saya {nik}, mohon info KTP saya kapan jadi"
    inbound = requests.post(system.url("whatsapp") + "/sandbox/inbound", timeout=10,
                            json={"from": "6281398765432", "text": words})
    assert inbound.json() == {"delivered": True, "status_code": 200}
    logs = system.log_path("notification").read_text(errors="replace")
    assert "mohon info KTP saya" not in logs and nik not in logs
    assert personal_data_in_logs(system, "081398765432") == []


def test_a_delivery_over_the_limit_is_refused_before_it_is_read(system):
    oversized = b"{" + b" " * (3 * 1024 * 1024) + b"}"
    refused = new_client().post(webhook(system), data=oversized, timeout=30,
                                headers={"Content-Type": "application/json"})
    assert refused.status_code == 413, refused.text
