"""Unit tests for services.notification.callbacks: the WhatsApp Cloud API's
webhook - the signature, Meta's handshake, reading a delivery, and what
each status does to the message it is about. The store is a fake over a
dict; no broker, no database (tests/e2e/test_whatsapp_webhook.py runs the
same through the real stack)."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
from dataclasses import replace

import pytest
from werkzeug.datastructures import MultiDict
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from deploy.local.sandboxes.whatsapp import envelope
from services.notification.callbacks import (Callback, Logged, StatusUpdate, handshake,
                                             read_callback, settle_callback, settle_status,
                                             verify_signature)
from services.notification.domain import (FALLBACK, UNREADABLE_REPLY, Delivery, Guards,
                                           Senders, notice_for, send_due, take_over)
from services.notification.exceptions import BadSignature, Forbidden, NotYetRecorded
from services.notification.webhook import WhatsAppWebhook
from shared.clock import WIB
from shared.errors import ValidationFailed, localize
from shared.http import TOO_DEEP
from shared.events import build_event
from tests.unit.test_notification_domain import FakeMessageStore, FakeSender, contact

SECRET = "app-secret-for-tests"
NOW = datetime.datetime(2026, 11, 29, 12, 0, tzinfo=WIB)
SLOT = {"place": "Kantor Kecamatan Curug", "address": "Jl. Raya Curug No. 1, Kota Serang",
        "date": "2026-11-30", "start": "09:00", "end": "10:00"}


def signed(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# ---- the signature and the handshake ---------------------------------------------


def test_a_delivery_signed_with_the_app_secret_passes():
    body = b'{"object":"whatsapp_business_account","entry":[]}'
    verify_signature(SECRET, signed(body), body)
    verify_signature(SECRET, signed(body).upper().replace("SHA256=", "sha256="), body)


@pytest.mark.parametrize("header", [None, "", "sha256=", "sha1=" + "0" * 40, "sha256=xyz",
                                    "t=1,v1=" + "0" * 64])
def test_a_missing_or_malformed_signature_is_refused(header):
    with pytest.raises(BadSignature) as refused:
        verify_signature(SECRET, header, b"{}")
    assert refused.value.status == 401 and refused.value.code == "bad_signature"


def test_a_wrong_signature_is_refused_naming_nothing_secret():
    body = b'{"entry":[]}'
    for header in (signed(body, "another-secret"), signed(body + b" ")):
        with pytest.raises(BadSignature) as refused:
            verify_signature(SECRET, header, body)
        answer = json.dumps(refused.value.to_body("en"))
        assert "does not match" in answer
        assert SECRET not in answer and signed(body)[7:] not in answer


def test_the_handshake_echoes_the_challenge_for_the_right_token_only():
    params = {"hub.mode": "subscribe", "hub.verify_token": "token-1", "hub.challenge": "1158201444"}
    assert handshake(MultiDict(params), "token-1") == "1158201444"
    for wrong in ({"hub.verify_token": "token-2"}, {"hub.mode": "unsubscribe"},
                  {"hub.verify_token": ""}):
        with pytest.raises(Forbidden) as refused:
            handshake(MultiDict({**params, **wrong}), "token-1")
        assert refused.value.status == 403
    with pytest.raises(ValidationFailed) as bad:
        handshake(MultiDict({**params, "hub.challenge": "<script>"}), "token-1")
    assert list(bad.value.fields) == ["hub.challenge"]


@pytest.mark.parametrize("name", ["hub.challenge", "hub.verify_token", "hub.mode"])
def test_a_handshake_parameter_given_twice_is_a_400_naming_it(name):
    """A repeated hub.challenge was answered with its first value (200),
    while a repeated parameter elsewhere is a 400 naming it (outside audit)."""
    params = MultiDict({"hub.mode": "subscribe", "hub.verify_token": "token-1",
                        "hub.challenge": "1158201444"})
    params.add(name, params[name])
    with pytest.raises(ValidationFailed) as bad:
        handshake(params, "token-1")
    assert list(bad.value.fields) == [name]
    assert localize(bad.value.fields[name][0], "en") == "Given more than once."


# ---- reading a delivery -------------------------------------------------------------


def failed_item(wamid="wamid.A", reference="ev-1.whatsapp", code=131026) -> dict:
    return {"id": wamid, "status": "failed", "timestamp": "1795924800",
            "recipient_id": "6281234567890", "biz_opaque_callback_data": reference,
            "errors": [{"code": code, "title": "Message undeliverable",
                        "message": "Message undeliverable",
                        "error_data": {"details": "Message Undeliverable. +6281234567890"}}]}


def test_a_delivery_in_metas_shape_is_read_into_status_updates():
    raw = json.dumps(envelope("100200300", {
        "statuses": [failed_item(), {"id": "wamid.B", "status": "delivered",
                                     "timestamp": "1795924801", "recipient_id": "628111"},
                     {"status": "read"}, "not an object"],
        "messages": [{"from": "6281234567890", "id": "wamid.C", "type": "text",
                      "text": {"body": "halo, NIK saya 3673041207900001"}}]})).encode()
    callback = read_callback(raw)
    assert callback.inbound == 1
    failed, delivered = callback.statuses  # the ones without an id are passed over
    assert (failed.wamid, failed.status, failed.reference) == ("wamid.A", "failed", "ev-1.whatsapp")
    assert failed.at == datetime.datetime(2026, 11, 29, 4, 0, tzinfo=datetime.timezone.utc)
    # code and title, never the details; no phone number in what is kept
    assert failed.error == "whatsapp 131026: Message undeliverable"
    assert (delivered.status, delivered.error, delivered.reference) == ("delivered", None, None)
    assert "6281234567890" not in failed.masked


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b"\xff\xfe", b""])
def test_a_body_that_is_no_json_object_is_a_400(raw):
    with pytest.raises(ValidationFailed) as refused:
        read_callback(raw)
    assert list(refused.value.fields) == ["_body"]


def test_a_body_nested_beyond_the_parser_is_named_as_too_deep_not_as_no_json():
    """(Outside audit) a signed body 20,000 levels deep was told it was no
    JSON object in UTF-8."""
    with pytest.raises(ValidationFailed) as refused:
        read_callback(b"[" * 20_000 + b"]" * 20_000)
    assert refused.value.fields == {"_body": [TOO_DEEP]}


@pytest.mark.parametrize("bad", ["\ud800", "wamid.\x00A", "wamid.\nA", "w" * 257])
def test_an_item_whose_text_cannot_be_stored_is_passed_over_and_the_others_are_read(bad):
    """Outside audit: a lone surrogate in a status' id or reference (valid
    JSON, no text) answered 500 from the database's encoder; Meta delivered
    it again forever, and the ``failed`` after it never fell back to SMS."""
    first = {**failed_item(wamid=bad), "errors": [{"code": bad, "title": bad}]}
    raw = json.dumps(envelope("100200300", {"statuses": [
        first, {**failed_item(wamid="wamid.B"), "status": bad},
        {**failed_item(wamid="wamid.C", reference=bad), "recipient_id": bad,
         "errors": [{"code": 131026, "title": bad, "message": "Message undeliverable"}]}]}))
    callback = read_callback(raw.encode())
    [update] = callback.statuses  # the id or the status no text: passed over
    # a reference or a phone that is no text is as none: found by the wamid
    assert (update.wamid, update.reference, update.recipient) == ("wamid.C", None, None)
    assert update.error.startswith("whatsapp 131026: ") and len(update.error) <= 200
    (update.masked + update.error).encode("utf-8")  # logged and stored as it is


def test_a_failure_whose_error_is_no_text_is_recorded_with_its_code():
    item = {**failed_item(), "errors": [{"code": "\ud800", "title": "Undeliverable\ud800"}]}
    [update] = read_callback(json.dumps(envelope("1", {"statuses": [item]})).encode()).statuses
    assert update.error == "whatsapp error"


def test_another_webhook_field_or_shape_is_passed_over():
    assert read_callback(b'{"object": "page", "entry": [{"changes": [{"value": 3}]}]}') == \
        Callback((), 0)


# ---- what a status does ---------------------------------------------------------------


class FakeCallbackStore(FakeMessageStore):
    """The delivery fake plus what the callbacks need of the store."""

    def whatsapp_message(self, wamid, reference):
        row = next((r for r in self.messages.values() if r.get("provider_ref") == wamid), None)
        row = row or self.messages.get(reference)
        if row is None or row["message"].channel != "whatsapp":
            return None
        return Logged(row["message"], row["status"], row.get("provider_ref"),
                      "delivered_at" in row)

    def record_reached(self, message_id, status, at):
        row = self.messages[message_id]
        for name in ("read_at", "delivered_at") if status == "read" else ("delivered_at",):
            row[name] = min(row.get(name, at), at)

    def record_whatsapp_failed(self, message, reason, at):
        row = self.messages[message.message_id]
        if row["status"] == "sent" and "delivered_at" not in row:
            row.update(status="failed", last_error=reason)
            self.emitted.append({"event": "notification_failed", "channel": "whatsapp",
                                 "reason": reason})
            return True
        return row["status"] == "failed"

    def hold_new(self, message, reason, until):
        self.messages.setdefault(message.message_id, {
            "status": "held", "reason": reason, "due_at": until, "attempts": [],
            "claimed": False, "message": message})


def whatsapp_citizen_notice(event_type="document_ready_for_pickup", email=True):
    fields = dict(print_job_id="job-1", full_name="Siti Aminah", slot=dict(SLOT)) \
        if event_type == "document_ready_for_pickup" else {"channel": "web"}
    event = build_event(event_type, application_id="app-1", tracking_code="SDK7H3KQ9MX",
                        document_type="ktp_el",
                        contact=contact(preferred="whatsapp", email="siti@example.id" if email
                                        else None), **fields)
    return notice_for(event_type, event, event["contact"])


def sent_on_whatsapp(store, notice, wamid="wamid.A"):
    """The notice's WhatsApp message, sent (as ``deliver`` leaves it)."""
    message = notice.message("whatsapp")
    store.open_message(message)
    store.record_sent(message, wamid)
    return message


def update(message, status="failed", wamid="wamid.A", **fields) -> StatusUpdate:
    return StatusUpdate(wamid, status, NOW, message.message_id,
                        "whatsapp 131026: Message undeliverable" if status == "failed" else None,
                        **fields)


def test_a_whatsapp_message_failed_later_hands_an_important_notice_to_sms():
    store, notice = FakeCallbackStore(), whatsapp_citizen_notice()
    assert notice.first == ("whatsapp", "email")  # the e-mail went already; SMS is left
    message = sent_on_whatsapp(store, notice)
    assert settle_status(update(message), store, NOW) == "failed; sms takes over"
    assert store.messages[message.message_id]["status"] == "failed"
    stand_in = store.messages[f"{notice.event_id}.sms"]
    assert (stand_in["status"], stand_in["reason"], stand_in["due_at"]) == ("held", FALLBACK, NOW)
    assert stand_in["message"].text == notice.texts.sms
    assert stand_in["message"].takes_over == message.message_id
    assert [e["event"] for e in store.emitted] == ["notification_sent", "notification_failed"]


def test_a_routine_notice_goes_by_email_then_sms():
    store, notice = FakeCallbackStore(), whatsapp_citizen_notice("application_submitted")
    message = sent_on_whatsapp(store, notice)
    assert message.fallbacks == ("email", "sms")
    assert settle_status(update(message), store, NOW) == "failed; email takes over"
    email = store.messages[f"{notice.event_id}.email"]["message"]
    assert (email.subject, email.fallbacks, email.notice) == (notice.texts.subject, ("sms",), notice)


def test_the_same_failure_delivered_again_changes_nothing():
    store, notice = FakeCallbackStore(), whatsapp_citizen_notice()
    message = sent_on_whatsapp(store, notice)
    callback = Callback((update(message),))
    settle_callback(callback, store, NOW)
    before = {key: dict(row) for key, row in store.messages.items()}
    settle_callback(callback, store, NOW + datetime.timedelta(minutes=5))
    assert {key: dict(row) for key, row in store.messages.items()} == before
    assert [e["event"] for e in store.emitted].count("notification_failed") == 1


def test_a_failure_after_delivered_or_read_resends_nothing():
    for reached in ("delivered", "read"):
        store, notice = FakeCallbackStore(), whatsapp_citizen_notice()
        message = sent_on_whatsapp(store, notice)
        assert settle_status(update(message, reached), store, NOW) == f"recorded {reached}"
        outcome = settle_status(update(message), store, NOW)
        assert outcome == "failed after it reached the phone: nothing resent"
        assert store.messages[message.message_id]["status"] == "sent"
        assert f"{notice.event_id}.sms" not in store.messages


def test_delivered_and_read_keep_their_earliest_time():
    store, notice = FakeCallbackStore(), whatsapp_citizen_notice()
    message = sent_on_whatsapp(store, notice)
    later = NOW + datetime.timedelta(minutes=3)
    settle_status(replace(update(message, "read"), at=later), store, NOW)
    settle_status(update(message, "delivered"), store, NOW)  # out of order: earlier
    settle_status(replace(update(message, "read"), at=later + later.resolution), store, NOW)
    row = store.messages[message.message_id]
    assert (row["delivered_at"], row["read_at"], row["status"]) == (NOW, later, "sent")


def test_a_callback_before_the_send_is_recorded_is_delivered_again_later():
    store, notice = FakeCallbackStore(), whatsapp_citizen_notice()
    message = notice.message("whatsapp")
    store.open_message(message)  # claimed, being sent: no wamid on file yet
    other = sent_on_whatsapp(store, whatsapp_citizen_notice(), wamid="wamid.B")
    with pytest.raises(NotYetRecorded) as later:
        settle_callback(Callback((update(message), update(other, "delivered", "wamid.B"))),
                        store, NOW)
    assert later.value.status == 503
    assert "delivered_at" in store.messages[other.message_id]  # the other one is applied
    # a re-send being sent keeps its first send's reference: its own
    # failure, come before its send is recorded, is delivered again too
    resent = sent_on_whatsapp(store, whatsapp_citizen_notice(), wamid="wamid.FIRST")
    store.messages[resent.message_id].update(status="pending", claimed=True)
    with pytest.raises(NotYetRecorded):
        settle_status(update(resent, wamid="wamid.SECOND"), store, NOW)


def test_unknown_messages_other_sends_and_other_statuses_are_ignored():
    store, notice = FakeCallbackStore(), whatsapp_citizen_notice()
    message = sent_on_whatsapp(store, notice, wamid="wamid.NEW")
    unknown = StatusUpdate("wamid.X", "failed", NOW, None, "whatsapp 131026: x")
    assert settle_status(unknown, store, NOW) == "unknown message"
    # the same message id, another send of it (a resend after a crash): that one counts
    assert settle_status(update(message, wamid="wamid.OLD"), store, NOW) == \
        "another send of the message"
    assert settle_status(update(message, "sent", wamid="wamid.NEW"), store, NOW) == \
        "nothing to record"
    assert store.messages[message.message_id]["status"] == "sent"


def test_a_send_whose_reply_was_unreadable_is_found_by_our_reference():
    store, notice = FakeCallbackStore(), whatsapp_citizen_notice()
    message = sent_on_whatsapp(store, notice, wamid=UNREADABLE_REPLY)
    assert settle_status(update(message, wamid="wamid.Z"), store, NOW) == "failed; sms takes over"


def test_without_another_channel_the_failure_is_all_there_is():
    store, notice = FakeCallbackStore(), whatsapp_citizen_notice(email=False)
    notice = replace(notice, given=("whatsapp",), first=("whatsapp",))
    message = sent_on_whatsapp(store, notice)
    assert message.notice is None and take_over(message) is None
    assert settle_status(update(message), store, NOW) == "failed; no other channel to take over"
    assert [e["event"] for e in store.emitted][-1] == "notification_failed"


def test_the_sweeper_hands_a_stand_in_given_up_to_the_next_channel():
    """A stand-in made from a WhatsApp failure keeps the notice: when the
    sweeper gives it up too, the next channel takes over."""
    store, notice = FakeCallbackStore(), whatsapp_citizen_notice("application_submitted")
    settle_status(update(sent_on_whatsapp(store, notice)), store, NOW)
    senders = Senders(sms=FakeSender("sms"), email=FakeSender("email"))
    senders.email.failing = True
    d = Delivery(store, senders, Guards(), max_attempts=1, now=NOW)
    assert send_due(store.claim_due(NOW), d) == 0  # the e-mail fails for good
    sms = store.messages[f"{notice.event_id}.sms"]
    assert (sms["status"], sms["message"].takes_over) == ("held", f"{notice.event_id}.email")
    assert send_due(store.claim_due(NOW), d) == 1
    assert [m.text for m in senders.sms.sent] == [notice.texts.sms]


@pytest.mark.parametrize("raw", [b'{"entry": NaN}', b'{"entry": [], "n": Infinity}',
                                 b'{"entry": [], "n": -Infinity}', b'{"entry": [], "t": 1e999}'])
def test_a_delivery_that_is_not_json_is_refused_though_python_would_read_it(raw):
    # outside review: Python's parser takes NaN and Infinity (JavaScript's, not
    # JSON's) and reads 1e999 as an infinity; the webhook answered 200
    with pytest.raises(ValidationFailed) as refused:
        read_callback(raw)
    assert list(refused.value.fields) == ["_body"]
    assert read_callback(b'{"entry": [], "t": 1.5e3}') == Callback(())


def test_a_whatsapp_message_id_is_never_logged_nor_shown_whole():
    """A review (forty-fifth session): Meta's message id is base64 of the
    recipient's number; a log line kept its first 24 characters (most of
    the phone) beside the masked phone (the rest of it), and the delivery
    log showed it whole to every operator."""
    import base64
    from services.notification.callbacks import wamid_digest
    from services.notification.schemas import LoggedMessageSchema
    wamid = "wamid." + base64.b64encode(b"\x1c\x18\x0d6281234567890\x15\x02\x00\x11\x18\x12"
                                        b"ABCDEF0123456789").decode()
    logged = StatusUpdate(wamid, "delivered", NOW, None, None, "6281234567890").masked
    assert wamid[:12] not in logged and logged.startswith(f"delivered of {wamid_digest(wamid)}")
    ours = StatusUpdate(wamid, "read", NOW, "ev1.whatsapp", None, "6281234567890").masked
    assert ours.startswith("read of ev1.whatsapp") and wamid[:12] not in ours
    shown = LoggedMessageSchema().dump({"_id": "ev1.whatsapp", "channel": "whatsapp",
                                        "provider_ref": wamid})["gateway_id"]
    assert shown == wamid_digest(wamid) and "wamid." not in shown
    sms = LoggedMessageSchema().dump({"_id": "ev1.sms", "channel": "sms", "provider_ref": "gw-1"})
    assert sms["gateway_id"] == "gw-1"


def test_a_handshake_query_not_in_utf8_is_a_400_and_no_failed_try():
    """Outside audit: a raw 0xff byte in the handshake's query (not ``%ff``)
    answered 500 and logged a traceback."""
    environ = EnvironBuilder(method="GET").get_environ()
    environ["QUERY_STRING"] = b"hub.mode=subscribe&hub.challenge=\xff".decode("latin-1")
    webhook = WhatsAppWebhook.__new__(WhatsAppWebhook)
    webhook.failures = None  # never reached: the query is refused first
    with pytest.raises(ValidationFailed) as bad:
        webhook.challenge(Request(environ))
    assert list(bad.value.fields) == ["hub.challenge"]
