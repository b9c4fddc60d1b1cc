"""Integration tests for the local partner sandboxes (SMS gateway, Pos Indonesia,
population register).

Each sandbox runs in-process on an ephemeral port and is exercised over real
HTTP, the same way the services talk to it.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import requests

from shared.masking import mask_identity, mask_phone

from deploy.local.sandboxes import pos_api, register, sms_gateway

ROOT = Path(__file__).resolve().parents[2]
SMS_AUTH = {"userkey": "sandbox-user", "passkey": "sandbox-pass"}
POS_AUTH = ("sandbox-client", "sandbox-secret")
WEBHOOK_SECRET = "sandbox-webhook-secret"


@contextmanager
def running(module: ModuleType, **opts: Any) -> Iterator[str]:
    with serving(module.make_server("127.0.0.1", 0, **opts)) as url:
        yield url


@contextmanager
def serving(server: ThreadingHTTPServer) -> Iterator[str]:
    # A short poll interval keeps shutdown() (and so each test's teardown) fast.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture()
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False  # never route localhost traffic through an ambient proxy
        yield session


@pytest.fixture()
def sms() -> Iterator[str]:
    with running(sms_gateway) as url:
        yield url


@pytest.fixture()
def pos() -> Iterator[str]:
    with running(pos_api) as url:
        yield url


@pytest.fixture()
def siak() -> Iterator[str]:
    with running(register) as url:
        yield url


# --------------------------------------------------------------------------- SMS gateway

def send(http: requests.Session, base: str, **fields: str) -> requests.Response:
    return http.post(f"{base}/api/sendsms/", data={**SMS_AUTH, **fields}, timeout=5)


def test_sms_send_is_stored_and_inspectable(http, sms):
    resp = send(http, sms, to="081234567678", message="Dokumen KTP Anda siap diambil")
    assert resp.status_code == 200
    body = resp.json()
    assert re.fullmatch(r"[0-9a-f]{32}", body["messageId"])
    assert body | {"messageId": "x"} == {"messageId": "x", "to": "6281234567678", "status": "1",
                                        "text": "Success", "parts": 1}
    json_resp = http.post(f"{sms}/api/sendsms/", timeout=5,
                          json={**SMS_AUTH, "to": "+6285700000111", "message": "x" * 161})
    assert json_resp.status_code == 200 and json_resp.json()["parts"] == 2

    stored = http.get(f"{sms}/sandbox/messages", timeout=5).json()
    assert [m["to"] for m in stored] == ["6281234567678", "6285700000111"]
    assert stored[0]["message"] == "Dokumen KTP Anda siap diambil"
    assert stored[0]["messageId"] == body["messageId"] and stored[0]["received_at"]
    # The filter accepts the local 08xx form too.
    only = http.get(f"{sms}/sandbox/messages", params={"to": "085700000111"}, timeout=5).json()
    assert [m["to"] for m in only] == ["6285700000111"]
    assert http.delete(f"{sms}/sandbox/messages", timeout=5).status_code == 200
    assert http.get(f"{sms}/sandbox/messages", timeout=5).json() == []


@pytest.mark.parametrize(("length", "parts"), [(160, 1), (306, 2), (307, 3), (612, 4)])
def test_sms_parts(http, sms, length, parts):
    assert send(http, sms, to="081234567678", message="a" * length).json()["parts"] == parts


def test_sms_rejects_overlong_message_and_bad_number(http, sms):
    assert send(http, sms, to="081234567678", message="a" * 613).status_code == 400
    bad = send(http, sms, to="0212345678", message="hi")  # Jakarta landline, not mobile
    assert bad.status_code == 400 and bad.json()["status"] == "0"
    assert http.get(f"{sms}/sandbox/messages", timeout=5).json() == []


def test_sms_reference_is_idempotent(http, sms):
    first = send(http, sms, to="081234567678", message="hi", reference="notif-42").json()
    again = send(http, sms, to="081234567678", message="hi", reference="notif-42").json()
    assert again["messageId"] == first["messageId"]
    assert again["duplicate"] is True and "duplicate" not in first
    assert len(http.get(f"{sms}/sandbox/messages", timeout=5).json()) == 1


def test_sms_concurrent_retries_store_once(http, sms):
    results: list[str] = []

    def worker() -> None:
        with requests.Session() as own:  # Sessions are not thread-safe; one per thread
            own.trust_env = False
            results.append(send(own, sms, to="081234567678", message="hi", reference="r1").json()["messageId"])

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(results) == 8 and len(set(results)) == 1
    assert len(http.get(f"{sms}/sandbox/messages", timeout=5).json()) == 1


def test_sms_wrong_credentials_401(http, sms):
    resp = http.post(f"{sms}/api/sendsms/", timeout=5,
                     data={"userkey": "sandbox-user", "passkey": "nope", "to": "081234567678", "message": "hi"})
    assert resp.status_code == 401
    assert resp.json() == {"status": "0", "text": "Userkey / Passkey Salah"}


@pytest.mark.parametrize("field", ["userkey", "passkey", "to", "message"])
def test_sms_missing_field_400_names_it(http, sms, field):
    fields = {**SMS_AUTH, "to": "081234567678", "message": "hi"}
    del fields[field]
    resp = http.post(f"{sms}/api/sendsms/", data=fields, timeout=5)
    assert resp.status_code == 400
    assert resp.json() == {"status": "0", "text": f"{field} wajib diisi"}


def test_sms_fault_injection_then_recovery(http, sms):
    assert http.post(f"{sms}/sandbox/faults", json={"fail_next": 2, "status": 503}, timeout=5).ok
    for _ in range(2):
        failed = send(http, sms, to="081234567678", message="hi")
        assert failed.status_code == 503
        assert failed.json() == {"status": "0", "text": "Service Unavailable"}
    assert send(http, sms, to="081234567678", message="hi").status_code == 200
    assert len(http.get(f"{sms}/sandbox/messages", timeout=5).json()) == 1
    assert http.post(f"{sms}/sandbox/faults", json={"fail_next": "x"}, timeout=5).status_code == 400


def test_sms_faults_for_one_number_leave_the_others_alone(http, sms):
    assert http.post(f"{sms}/sandbox/faults", json={"fail_next": 1, "status": 503,
                                                    "only_to": "6281234567679"}, timeout=5).ok
    assert send(http, sms, to="081234567678", message="hi").status_code == 200
    assert send(http, sms, to="+6281234567679", message="hi").status_code == 503
    assert send(http, sms, to="081234567679", message="hi").status_code == 200
    assert http.post(f"{sms}/sandbox/faults", json={"only_to": 62812}, timeout=5).status_code == 400
    assert http.post(f"{sms}/sandbox/faults", json={"only_to": None}, timeout=5).ok


def test_sms_body_cap_413(http, sms):
    resp = send(http, sms, to="081234567678", message="a" * (64 * 1024))
    assert resp.status_code == 413


def test_sms_logs_mask_number_and_omit_body(http, sms, caplog):
    caplog.set_level(logging.INFO, logger="sandbox")
    send(http, sms, to="081234567678", message="NIK 3171234567890001 rahasia")
    http.get(f"{sms}/sandbox/messages", params={"to": "081234567678"}, timeout=5)
    assert mask_phone("6281234567678") in caplog.text and "len=28" in caplog.text
    for secret in ("1234567", "rahasia", "3171234567890001"):
        assert secret not in caplog.text


# --------------------------------------------------------------------------- Pos Indonesia

def token(http: requests.Session, base: str) -> str:
    resp = http.post(f"{base}/oauth2/token", data={"grant_type": "client_credentials"}, auth=POS_AUTH, timeout=5)
    assert resp.status_code == 200, resp.text
    return resp.json()["access_token"]


def posting(order_id: str = "KK-2024-0001") -> dict[str, Any]:
    party = {"name": "Disdukcapil Kota Bandung", "address": "Jl. Ambon No. 1", "city": "Bandung",
             "zipCode": "40117", "phone": "0227234567"}
    return {"orderId": order_id, "itemDesc": "Kartu Keluarga", "weight": 120, "serviceCode": "PKH",
            "sender": party, "receiver": {**party, "name": "Budi", "city": "Cimahi", "zipCode": "40512"}}


def add(http: requests.Session, base: str, tok: str, doc: dict[str, Any]) -> requests.Response:
    return http.post(f"{base}/api/v1/AddPostingDoc", json=doc, timeout=5,
                     headers={"Authorization": f"Bearer {tok}"})


def test_pos_token_flow(http, pos):
    resp = http.post(f"{pos}/oauth2/token", data={"grant_type": "client_credentials"}, auth=POS_AUTH, timeout=5)
    assert resp.status_code == 200
    assert resp.json()["token_type"] == "Bearer" and resp.json()["expires_in"] == 3600
    wrong = http.post(f"{pos}/oauth2/token", data={"grant_type": "client_credentials"},
                      auth=("sandbox-client", "wrong"), timeout=5)
    assert wrong.status_code == 401 and wrong.json() == {"error": "invalid_client"}
    grant = http.post(f"{pos}/oauth2/token", data={"grant_type": "password"}, auth=POS_AUTH, timeout=5)
    assert grant.status_code == 400


def test_pos_expired_token_rejected(http):
    with running(pos_api, token_ttl=0) as base:
        assert add(http, base, token(http, base), posting()).status_code == 401


def test_pos_add_posting_and_duplicate(http, pos):
    tok = token(http, pos)
    created = add(http, pos, tok, posting())
    assert created.status_code == 201
    barcode = created.json()["barcode"]
    assert re.fullmatch(r"P\d{11}", barcode)
    assert created.json() == {"orderId": "KK-2024-0001", "barcode": barcode, "status": "ACCEPTED"}
    again = add(http, pos, tok, posting())
    assert again.status_code == 200
    assert again.json()["barcode"] == barcode and again.json()["duplicate"] is True
    other = add(http, pos, tok, posting("KK-2024-0002")).json()["barcode"]
    assert other != barcode
    shipments = http.get(f"{pos}/sandbox/shipments", timeout=5).json()
    assert sorted(s["orderId"] for s in shipments) == ["KK-2024-0001", "KK-2024-0002"]
    assert http.delete(f"{pos}/sandbox/shipments", timeout=5).status_code == 200
    assert http.get(f"{pos}/sandbox/shipments", timeout=5).json() == []


def test_pos_remembers_its_parcels_across_a_restart_on_the_same_data(http, tmp_path):
    """Outside audit S2: restarted (``make run`` again), the sandbox forgot
    its parcels and numbered from 00001 again - barcodes courier held for
    other shipments, so it could record none of its new postings."""
    journal = tmp_path / "pos-sandbox.jsonl"
    with running(pos_api, journal=journal) as pos:
        tok = token(http, pos)
        first = add(http, pos, tok, posting("KK-1")).json()["barcode"]
        http.post(f"{pos}/sandbox/advance/{first}", json={"status": "IN_TRANSIT"}, timeout=10)
        before = http.get(f"{pos}/sandbox/shipments", timeout=5).json()
    with journal.open("a") as cut_short:  # a kill mid-write leaves half a line
        cut_short.write('{"op": "add", "shipm')
    with running(pos_api, journal=journal) as pos:
        tok = token(http, pos)
        assert http.get(f"{pos}/sandbox/shipments", timeout=5).json() == before
        again = add(http, pos, tok, posting("KK-1"))
        assert again.json()["barcode"] == first and again.json()["duplicate"] is True
        second = add(http, pos, tok, posting("KK-2")).json()["barcode"]
        assert second != first
        track = http.get(f"{pos}/api/v1/tracking/{first}", timeout=5,
                         headers={"Authorization": f"Bearer {tok}"}).json()
        assert [event["status"] for event in track["events"]] == ["ACCEPTED", "IN_TRANSIT"]
    with running(pos_api, journal=journal) as pos:  # the posting after the cut line stands
        assert sorted(shipment["barcode"] for shipment in http.get(
            f"{pos}/sandbox/shipments", timeout=5).json()) == sorted([first, second])


def test_pos_missing_fields_are_named_by_path(http, pos):
    doc = posting()
    del doc["receiver"]["zipCode"], doc["weight"]
    doc["sender"]["phone"] = ""
    resp = add(http, pos, token(http, pos), doc)
    assert resp.status_code == 400
    assert resp.json() == {"errors": {"receiver.zipCode": "required", "weight": "required",
                                      "sender.phone": "required"}}
    assert http.get(f"{pos}/sandbox/shipments", timeout=5).json() == []


@pytest.mark.parametrize("header", [None, "Bearer not-a-token", "Basic c2FuZGJveC1jbGllbnQ6c2FuZGJveC1zZWNyZXQ="])
def test_pos_unauthorized(http, pos, header):
    headers = {"Authorization": header} if header else {}
    resp = http.post(f"{pos}/api/v1/AddPostingDoc", json=posting(), headers=headers, timeout=5)
    assert resp.status_code == 401 and resp.json() == {"error": "invalid_token"}
    assert http.get(f"{pos}/api/v1/tracking/P00000000000", headers=headers, timeout=5).status_code == 401


def test_pos_tracking(http, pos):
    tok = token(http, pos)
    barcode = add(http, pos, tok, posting()).json()["barcode"]
    auth = {"Authorization": f"Bearer {tok}"}
    track = http.get(f"{pos}/api/v1/tracking/{barcode}", headers=auth, timeout=5).json()
    assert track["barcode"] == barcode and track["orderId"] == "KK-2024-0001"
    assert [e["status"] for e in track["events"]] == ["ACCEPTED"]
    assert track["events"][0]["location"] == "Bandung" and track["events"][0]["at"].endswith("+07:00")
    assert http.get(f"{pos}/api/v1/tracking/P99999999999", headers=auth, timeout=5).status_code == 404


def test_pos_fault_injection_then_recovery(http, pos):
    tok = token(http, pos)
    assert http.post(f"{pos}/sandbox/faults", json={"fail_next": 1, "status": 503}, timeout=5).ok
    assert add(http, pos, tok, posting()).status_code == 503
    assert add(http, pos, tok, posting()).status_code == 201


def test_pos_outage_switch_refuses_until_lifted_and_counts(http):
    with running(pos_api) as pos:
        tok = token(http, pos)
        assert http.post(f"{pos}/sandbox/faults", json={"down": True, "status": 502}, timeout=5).ok
        assert [add(http, pos, tok, posting(f"O-{n}")).status_code for n in range(3)] == [502] * 3
        assert http.get(f"{pos}/api/v1/tracking/P0", timeout=5,
                        headers={"Authorization": f"Bearer {tok}"}).status_code == 502
        counts = http.get(f"{pos}/sandbox/faults", timeout=5).json()
        # the tracking call counted, only the postings named
        assert (counts["refused"], counts["refused_orders"]) == (4, ["O-0", "O-1", "O-2"])
        assert http.post(f"{pos}/sandbox/faults", json={"down": "yes"}, timeout=5).status_code == 400
        assert http.post(f"{pos}/sandbox/faults", json={"down": False}, timeout=5).ok
        assert add(http, pos, tok, posting("O-0")).status_code == 201
        assert http.get(f"{pos}/sandbox/shipments", timeout=5).json()[0]["orderId"] == "O-0"


def test_pos_delay_after_accept_records_before_answering(http):
    with running(pos_api) as pos:
        tok = token(http, pos)
        assert http.post(f"{pos}/sandbox/faults", json={"delay_after_accept_ms": 3000}, timeout=5).ok
        with pytest.raises(requests.Timeout):
            http.post(f"{pos}/api/v1/AddPostingDoc", json=posting("D-1"), timeout=0.5,
                      headers={"Authorization": f"Bearer {tok}"})
        # the client gave up, but Pos has the shipment; the same order id gets its barcode
        [kept] = http.get(f"{pos}/sandbox/shipments", timeout=5).json()
        assert http.post(f"{pos}/sandbox/faults", json={"delay_after_accept_ms": 0}, timeout=5).ok
        again = add(http, pos, tok, posting("D-1"))
        assert again.status_code == 200 and again.json()["barcode"] == kept["barcode"]


@contextmanager
def webhook_receiver(status: int = 204, first: tuple[int, ...] = ()
                     ) -> Iterator[tuple[str, "queue.Queue[tuple[dict, bytes]]"]]:
    """A tiny HTTP endpoint recording each delivery's headers and raw body;
    it answers ``first`` in turn, then ``status``."""
    received: queue.Queue[tuple[dict, bytes]] = queue.Queue()
    answers = list(first)

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.put((dict(self.headers), self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(answers.pop(0) if answers else status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks/pos", received
    finally:
        server.shutdown()
        server.server_close()


def test_pos_advance_sends_signed_webhook(http):
    with webhook_receiver() as (hook_url, received), running(pos_api, webhook_url=hook_url) as pos:
        tok = token(http, pos)
        barcode = add(http, pos, tok, posting()).json()["barcode"]
        resp = http.post(f"{pos}/sandbox/advance/{barcode}", json={"status": "DELIVERED", "note": "Diterima Budi"},
                         timeout=10)
        assert resp.status_code == 200
        assert resp.json()["delivered"] is True and resp.json()["status_code"] == 204
        headers, raw = received.get(timeout=5)
        stamp = headers["X-Pos-Signature"].split(",")[0].removeprefix("t=")
        assert abs(int(stamp) - time.time()) < 60
        signed = stamp.encode() + b"." + raw
        expected = f"t={stamp},v1=" + hmac.new(WEBHOOK_SECRET.encode(), signed, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers["X-Pos-Signature"], expected)
        event = json.loads(raw)
        assert headers["X-Pos-Event-Id"] == event["eventId"] == resp.json()["eventId"]
        assert event | {"at": "", "eventId": ""} == {"barcode": barcode, "orderId": "KK-2024-0001",
                                                     "status": "DELIVERED", "at": "", "location": "Cimahi",
                                                     "note": "Diterima Budi", "eventId": ""}
        track = http.get(f"{pos}/api/v1/tracking/{barcode}", headers={"Authorization": f"Bearer {tok}"},
                         timeout=5).json()
        assert [e["status"] for e in track["events"]] == ["ACCEPTED", "DELIVERED"]


def test_pos_advance_webhook_failures_are_reported(http, pos):
    barcode = add(http, pos, token(http, pos), posting()).json()["barcode"]
    with webhook_receiver(status=500) as (hook_url, received):
        resp = http.post(f"{pos}/sandbox/advance/{barcode}", timeout=10,
                         json={"status": "IN_TRANSIT", "webhook_url": hook_url})
        assert resp.json()["delivered"] is False and resp.json()["status_code"] == 500
        assert received.qsize() == 1
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    resp = http.post(f"{pos}/sandbox/advance/{barcode}", json={"status": "FAILED", "webhook_url": dead}, timeout=10)
    assert resp.json()["delivered"] is False and resp.json()["status_code"] is None
    assert http.post(f"{pos}/sandbox/advance/{barcode}", timeout=5,
                     json={"status": "IN_TRANSIT", "webhook_url": "file:///etc/passwd"}).status_code == 400
    assert http.post(f"{pos}/sandbox/advance/{barcode}", json={"status": "LOST"}, timeout=5).status_code == 400
    returned = http.post(f"{pos}/sandbox/advance/{barcode}", json={"status": "RETURNED"}, timeout=5)
    assert returned.status_code == 200
    track = http.get(f"{pos}/api/v1/tracking/{barcode}", timeout=5,
                     headers={"Authorization": f"Bearer {token(http, pos)}"}).json()
    assert track["status"] == "RETURNED" and track["events"][-1]["location"] == "Bandung"
    assert http.post(f"{pos}/sandbox/advance/P00000000000", json={"status": "FAILED"}, timeout=5).status_code == 404


# --------------------------------------------------------------------------- population register

SITI, SARMILI, KK_CURUG = "3673045207900001", "3673020101450001", "3673041201100003"


def penduduk(http: requests.Session, base: str, nik: Any) -> requests.Response:
    return http.post(f"{base}/api/v1/penduduk", json={"nik": nik}, timeout=5)


def keluarga(http: requests.Session, base: str, kk: Any) -> requests.Response:
    return http.post(f"{base}/api/v1/keluarga", json={"kk_number": kk}, timeout=5)


def test_register_fixture_people_and_families(http, siak):
    person = penduduk(http, siak, SITI).json()
    assert person == {"found": True, "person": {
        "nik": SITI, "kk_number": KK_CURUG, "full_name": "Siti Aminah", "sex": "F",
        "birth_date": "1990-07-12", "relation": "istri", "ktp_el_recorded": True, "deceased": False}}
    assert penduduk(http, siak, SARMILI).json()["person"]["deceased"] is True
    family = keluarga(http, siak, KK_CURUG).json()["family"]
    assert family["kelurahan_code"] == "3673041010" and SITI in [m["nik"] for m in family["members"]]
    assert penduduk(http, siak, "3673045207900099").json() == {"found": False}
    assert keluarga(http, siak, "3673041201100099").json() == {"found": False}


@pytest.mark.parametrize("number", ["367304520790", 3673045207900001, None, "3673O45207900001"])
def test_register_refuses_malformed_numbers(http, siak, number):
    assert penduduk(http, siak, number).status_code == 400
    assert keluarga(http, siak, number).status_code == 400


def test_register_sandbox_families_added_and_moved(http, siak):
    member = {"nik": "3673041503950001", "full_name": "Andi", "sex": "M", "birth_date": "1995-03-15",
              "relation": "kepala_keluarga", "ktp_el_recorded": True, "deceased": False}
    new = {"kk_number": "3673040101250001", "kelurahan_code": "3673041001", "members": [member]}
    assert http.post(f"{siak}/sandbox/families", json=new, timeout=5).status_code == 201
    assert penduduk(http, siak, member["nik"]).json()["person"]["kk_number"] == new["kk_number"]
    # Siti moves to the new card: she leaves her old one
    siti = {**penduduk(http, siak, SITI).json()["person"]}
    del siti["kk_number"]
    moved = {**new, "members": [member, siti]}
    assert http.post(f"{siak}/sandbox/families", json=moved, timeout=5).status_code == 201
    assert penduduk(http, siak, SITI).json()["person"]["kk_number"] == new["kk_number"]
    assert SITI not in [m["nik"] for m in keluarga(http, siak, KK_CURUG).json()["family"]["members"]]
    bad = http.post(f"{siak}/sandbox/families", timeout=5,
                    json={**new, "members": [{**member, "sex": "X", "deceased": "no"}]})
    assert bad.status_code == 400
    assert set(bad.json()["errors"]) == {"members.0.sex", "members.0.deceased"}


def test_register_fault_injection_then_recovery(http, siak):
    assert http.post(f"{siak}/sandbox/faults", json={"fail_next": 2, "status": 503}, timeout=5).json() == {"ok": True}
    assert [penduduk(http, siak, SITI).status_code for _ in range(3)] == [503, 503, 200]
    assert http.post(f"{siak}/sandbox/faults", json={"delay_ms": 1500}, timeout=5).status_code == 200
    with pytest.raises(requests.Timeout):  # what intake's short timeout meets
        http.post(f"{siak}/api/v1/penduduk", json={"nik": SITI}, timeout=0.5)


def test_register_logs_mask_numbers(http, siak, caplog):
    caplog.set_level(logging.INFO, logger="sandbox")
    penduduk(http, siak, SITI)
    keluarga(http, siak, KK_CURUG)
    assert mask_identity(SITI) in caplog.text and mask_identity(KK_CURUG) in caplog.text
    assert SITI not in caplog.text and KK_CURUG not in caplog.text


# --------------------------------------------------------------------------- CLI process

@pytest.mark.parametrize(("module", "signum"), [("sms_gateway", signal.SIGTERM), ("sms_gateway", signal.SIGINT),
                                                ("pos_api", signal.SIGTERM), ("register", signal.SIGTERM)])
def test_cli_announces_port_and_exits_cleanly(http, module, signum):
    proc = subprocess.Popen([sys.executable, "-m", f"deploy.local.sandboxes.{module}", "--host", "127.0.0.1",
                             "--port", "0"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: lines.put(proc.stdout.readline()), daemon=True).start()
        line = lines.get(timeout=10)  # deadline-bounded: a silent process fails instead of hanging
        match = re.fullmatch(r"LISTENING (http://127\.0\.0\.1:(\d+))\n", line)
        assert match, line
        assert http.get(f"{match.group(1)}/health", timeout=5).json() == {"status": "ok"}
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=5)
        assert proc.returncode == 0, err
        assert out == ""  # the LISTENING line must be the only stdout output
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


# --------------------------------------------------------------------------- kept-alive connections

@contextmanager
def counting_accepts(module: ModuleType) -> Iterator[tuple[str, list]]:
    """A sandbox that counts the connections it accepted."""
    server = module.make_server("127.0.0.1", 0)
    accepted: list = []
    get_request = server.get_request

    def counted():
        connection = get_request()
        accepted.append(connection[1])
        return connection

    server.get_request = counted
    with serving(server) as url:
        yield url, accepted


def test_a_partner_session_keeps_one_connection_per_worker():
    """The services' partner sessions (``shared.partners``) keep their
    connections, as many as their workers, and the sandboxes keep them open
    (HTTP/1.1): 16 workers asking 5 times each open 16 connections, not 80
    (HTTP/1.0: one per call)."""
    from shared.partners import partner_session

    workers, rounds = 16, 5
    with counting_accepts(register) as (url, accepted):
        session = partner_session({"max_workers": workers})
        # each answer takes 100 ms: the 16 are in flight together, every round
        assert session.post(f"{url}/sandbox/faults", json={"delay_ms": 100}, timeout=5).ok
        answers: list[int] = []

        def worker():
            for _ in range(rounds):
                answers.append(penduduk(session, url, SITI).status_code)

        threads = [threading.Thread(target=worker) for _ in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        session.close()
    assert answers == [200] * (workers * rounds)
    assert len(accepted) <= workers
    assert session.trust_env is False  # no ambient proxy sees a NIK


def test_a_sandbox_closes_a_connection_whose_body_it_did_not_read(siak):
    """Kept alive, a request body a route leaves unread would be read as the
    next request: such a connection is closed after its answer."""
    port = int(siak.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        assert read_answer(sock).startswith(b"HTTP/1.1 200")
        # kept open: a second request on the same connection is answered
        body = b'GET /health HTTP/1.1\r\nHost: x\r\n\r\n'
        sock.sendall(body)
        assert read_answer(sock).startswith(b"HTTP/1.1 200")
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nGET ")
        assert read_answer(sock).startswith(b"HTTP/1.1 200")
        assert sock.recv(1024) == b""  # closed: "GET " was never taken for a request


def read_answer(sock: socket.socket) -> bytes:
    """One answer (headers and its Content-Length body) from ``sock``."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        assert chunk, f"connection closed before an answer: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"Content-Length: (\d+)", head).group(1))
    while len(body) < length:
        body += sock.recv(4096)
    return head
