"""The WhatsApp Cloud API sandbox's status webhooks, over real HTTP: after a
template message is accepted, Meta's callbacks in Meta's shape, signed with
the app secret (``X-Hub-Signature-256``) - ``sent`` then ``delivered``, or
``failed`` with error 131026 for a number the test says is not on WhatsApp;
a callback not answered 2xx delivered again; one status or a citizen's
message sent on demand."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator

import pytest
import requests

from deploy.local.sandboxes import whatsapp
from tests.integration.test_sandboxes import running, webhook_receiver

APP_SECRET = "test-app-secret"
TOKEN = {"Authorization": "Bearer sandbox-whatsapp-token"}
PHONE = "6281234567890"


@pytest.fixture()
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False  # never route localhost traffic through an ambient proxy
        yield session


def receiver(*first: int):
    """An endpoint answering ``first`` in turn, then 200, recording each delivery."""
    return webhook_receiver(200, first)


def template(to: str = PHONE, *texts: str) -> dict:
    return {"messaging_product": "whatsapp", "to": to, "type": "template",
            "biz_opaque_callback_data": "ev-1.whatsapp",
            "template": {"name": "smartdukcapil_ready", "language": {"code": "id"},
                         "components": [{"type": "body", "parameters": [
                             {"type": "text", "text": text} for text in texts or ("KTP-el",)]}]}}


def send(http, base: str, to: str = PHONE) -> str:
    answer = http.post(f"{base}/100200300/messages", json=template(to), headers=TOKEN, timeout=5)
    assert answer.status_code == 200, answer.text
    return answer.json()["messages"][0]["id"]


def next_status(received) -> tuple[dict, dict]:
    """(headers, the one status item) of the next delivery, its signature checked."""
    headers, raw = received.get(timeout=10)
    expected = "sha256=" + hmac.new(APP_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Hub-Signature-256"], expected)
    body = json.loads(raw)
    assert body["object"] == "whatsapp_business_account"
    [change] = body["entry"][0]["changes"]
    assert change["field"] == "messages"
    assert change["value"]["metadata"]["phone_number_id"] == "100200300"
    [item] = change["value"]["statuses"]
    return headers, item


def test_an_accepted_message_is_followed_by_signed_sent_and_delivered(http):
    with receiver() as (url, received), \
            running(whatsapp, webhook_url=url, app_secret=APP_SECRET) as base:
        wamid = send(http, base)
        _, sent = next_status(received)
        _, delivered = next_status(received)
    assert [(s["id"], s["status"]) for s in (sent, delivered)] == [(wamid, "sent"),
                                                                   (wamid, "delivered")]
    assert sent["recipient_id"] == PHONE and sent["biz_opaque_callback_data"] == "ev-1.whatsapp"
    assert int(sent["timestamp"]) > 0 and delivered["pricing"]["category"] == "utility"


def test_a_number_not_on_whatsapp_gets_failed_with_metas_error(http):
    with receiver() as (url, received), \
            running(whatsapp, webhook_url=url, app_secret=APP_SECRET) as base:
        told = http.post(f"{base}/sandbox/recipients", timeout=5,
                         json={"to": "+" + PHONE, "status": "failed", "error_code": 131026})
        assert told.status_code == 200, told.text
        wamid = send(http, base)
        _, failed = next_status(received)
        assert (failed["id"], failed["status"]) == (wamid, "failed")
        [error] = failed["errors"]
        assert (error["code"], error["title"]) == (131026, "Message undeliverable")
        other = send(http, base, "6289876543210")  # anyone else: delivered as usual
        assert [next_status(received)[1]["status"] for _ in range(2)] == ["sent", "delivered"]
        assert received.empty()
        bad = http.post(f"{base}/sandbox/recipients", json={"to": PHONE, "status": "lost"},
                        timeout=5)
        assert bad.status_code == 400
        assert http.post(f"{base}/sandbox/recipients", timeout=5, json={
            "to": PHONE, "status": "failed", "error_code": 1}).status_code == 400
    assert other != wamid


def test_a_callback_not_answered_2xx_is_delivered_again(http):
    with receiver(503, 500) as (url, received), \
            running(whatsapp, webhook_url=url, app_secret=APP_SECRET) as base:
        http.post(f"{base}/sandbox/recipients", json={"to": PHONE, "status": "sent"}, timeout=5)
        wamid = send(http, base)
        answers = [received.get(timeout=10) for _ in range(3)]
        assert len({raw for _, raw in answers}) == 1  # the same delivery, again
        [callback] = http.get(f"{base}/sandbox/callbacks", params={"id": wamid}, timeout=5).json()
        assert (callback["status"], callback["attempts"], callback["delivered"]) == \
            ("sent", [503, 500, 200], True)


def test_one_status_or_a_citizens_message_on_demand(http):
    with receiver() as (url, received), \
            running(whatsapp, webhook_url=url, app_secret=APP_SECRET) as base:
        http.post(f"{base}/sandbox/recipients", json={"to": PHONE, "status": "sent"}, timeout=5)
        wamid = send(http, base)
        next_status(received)
        read = http.post(f"{base}/sandbox/statuses", json={"id": wamid, "status": "read"},
                         timeout=10)
        assert read.json() == {"delivered": True, "status_code": 200}
        assert next_status(received)[1]["status"] == "read"
        assert http.post(f"{base}/sandbox/statuses", json={"id": "wamid.nope", "status": "read"},
                         timeout=5).status_code == 404
        inbound = http.post(f"{base}/sandbox/inbound", json={"from": PHONE, "text": "halo"},
                            timeout=10)
        assert inbound.json()["delivered"] is True
        _, raw = received.get(timeout=10)
        [message] = json.loads(raw)["entry"][0]["changes"][0]["value"]["messages"]
        assert (message["from"], message["text"]) == (PHONE, {"body": "halo"})


@pytest.mark.parametrize(("texts", "code"), [
    (("KTP-el", "Foto KK buram.\nMohon unggah ulang."), 132018),
    (("KTP-el", "Foto KK\tburam."), 132018),
    (("KTP-el", "Foto KK     buram."), 132018),  # 5 spaces in a row
    (("KTP-el", "x" * 650, "y" * 51), 132005),  # 324 for the template's words + 707 > 1,024
])
def test_a_parameter_meta_would_refuse_is_refused_with_metas_error(http, texts, code):
    with running(whatsapp) as base:
        answer = http.post(f"{base}/100200300/messages", json=template(PHONE, *texts),
                           headers=TOKEN, timeout=5)
        assert answer.status_code == 400, answer.text
        error = answer.json()["error"]
        assert (error["code"], error["type"]) == (code, "OAuthException")
        assert error["message"].startswith(f"(#{code}) ")
        assert error["error_data"]["messaging_product"] == "whatsapp" \
            and error["error_data"]["details"]
        assert http.get(f"{base}/sandbox/messages", timeout=5).json() == []
        # four spaces and 700 characters of parameters are what Meta still takes
        fine = http.post(f"{base}/100200300/messages", headers=TOKEN, timeout=5,
                         json=template(PHONE, "KTP-el", "Foto KK    buram." + "x" * 677))
        assert fine.status_code == 200, fine.text


def test_faults_for_one_number_leave_the_others_alone(http):
    with running(whatsapp) as base:
        assert http.post(f"{base}/sandbox/faults", timeout=5,
                         json={"fail_next": 1, "status": 400, "only_to": PHONE}).ok
        send(http, base, to="6281234567891")
        refused = http.post(f"{base}/100200300/messages", json=template(PHONE), headers=TOKEN,
                            timeout=5)
        assert refused.status_code == 400 and refused.json()["error"]["code"] == 2
        send(http, base)  # one failure only


def test_without_a_webhook_url_no_callback_is_sent(http):
    with running(whatsapp) as base:
        wamid = send(http, base)
        answer = http.post(f"{base}/sandbox/statuses", json={"id": wamid, "status": "failed"},
                           timeout=5)
        assert answer.json() == {"delivered": False, "status_code": None}
    with pytest.raises(ValueError):
        whatsapp.make_server("127.0.0.1", 0, webhook_url="file:///etc/passwd")


def test_the_stack_starts_it_with_notifications_webhook_and_app_secret(tmp_path):
    from deploy.local.stack import DEV_SECRETS, Stack
    assert Stack(tmp_path).sandbox_options("whatsapp") == [
        "--webhook-url", "http://127.0.0.1:8003/api/v1/whatsapp/webhook",
        "--app-secret", DEV_SECRETS["WHATSAPP_APP_SECRET"]]
