"""The operator's work queue and the moves along the transitions, through the
real stack: an operator lists what waits (filtered, oldest first, page by
page), opens one, rejects it with reason codes; the citizen corrects a field
and resubmits; the operator verifies. The citizen's timeline shows each step
with its time and never who acted; intake.events carries what notification
and printing need. A citizen cancels before verification, not after.
"""

from __future__ import annotations

import datetime

import pytest
import requests

from tests.helpers import (OPERATOR, BrokerProbe, eventually, personal_data_in_logs, random_kk,
                           random_mobile, random_nik)

KECAMATAN, KELURAHAN = "367305", "3673051001"  # Cipocok Jaya, Kelurahan Cipocok Jaya


def application_body(nik: str, phone: str, channel: str = "web", **applicant) -> dict:
    return {"document_type": "ktp_el", "channel": channel,
            "applicant": {"nik": nik, "kk_number": random_kk(KECAMATAN),
                          "full_name": "Rini Susanti", "phone": phone, **applicant},
            "details": {"reason": "first_issue"},
            "delivery": {"method": "pos", "address": {
                "street": "Jl. Raya Petir No. 12", "rt": "003", "rw": "001",
                "kelurahan_code": KELURAHAN, "postal_code": "42121"}}}


def submit(intake: str, body: dict) -> dict:
    response = requests.post(f"{intake}/api/v1/applications", json=body, timeout=10)
    assert response.status_code == 202, response.text
    return response.json()


def queue(intake: str, **params) -> list[dict]:
    """Every row of the queue for ``params``, page by page (a few rows a page)."""
    rows, cursor = [], None
    for _ in range(200):
        page = requests.get(f"{intake}/api/v1/operator/applications", headers=OPERATOR,
                            params={**params, "limit": 5, **({"cursor": cursor} if cursor else {})},
                            timeout=10)
        assert page.status_code == 200, page.text
        rows += page.json()["applications"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return rows
    raise AssertionError("the queue did not end")


def ids(rows: list[dict]) -> list[str]:
    return [row["application_id"] for row in rows]


def citizen(intake: str, action: str, tracking_code: str, nik: str, **body):
    return requests.post(f"{intake}/api/v1/applications/{action}", timeout=10,
                         json={"tracking_code": tracking_code, "nik": nik, **body})


def events_for(probe: BrokerProbe, application_id: str, expected: set[str]) -> dict[str, dict]:
    seen: dict[str, dict] = {}

    def arrived():
        for routing_key, body in probe.drain():
            if body.get("application_id") == application_id:
                seen[routing_key] = body
        return expected <= set(seen)
    eventually(arrived, what=f"{sorted(expected)} on intake.events")
    return seen


def test_list_reject_resubmit_verify_with_the_timeline(system):
    intake = system.url("intake")
    probe = BrokerProbe(system.amqp_uri, "intake.events")
    nik, phone = random_nik(female=True, kecamatan=KECAMATAN), random_mobile()
    email = f"rini.{nik[-6:]}@example.id"
    mine = submit(intake, application_body(nik, phone, "whatsapp", email=email,
                                           preferred_channel="whatsapp"))
    other = submit(intake, application_body(random_nik(kecamatan=KECAMATAN), random_mobile()))
    application_id, code = mine["application_id"], mine["tracking_code"]

    # the queue: filtered, oldest first, each row matching the filters
    rows = queue(intake, kecamatan=KECAMATAN, channel="whatsapp", document_type="ktp_el")
    assert application_id in ids(rows) and other["application_id"] not in ids(rows)
    assert all((r["kecamatan_code"], r["channel"], r["document_type"], r["status"]) == (
        KECAMATAN, "whatsapp", "ktp_el", "submitted") for r in rows)
    assert [r["queued_at"] for r in rows] == sorted(r["queued_at"] for r in rows)
    assert application_id in ids(queue(intake, kelurahan=KELURAHAN))
    assert application_id not in ids(queue(intake, kecamatan=KECAMATAN, flag="late_registration"))

    detail = requests.get(f"{intake}/api/v1/operator/applications/{application_id}",
                          headers=OPERATOR, timeout=10)
    assert detail.status_code == 200, detail.text
    assert detail.json()["applicant"]["nik"] == nik and detail.json()["documents"] == []
    assert detail.json()["contact"]["preferred_channel"] == "whatsapp"
    # what the store keeps for itself is not the operator's to read
    assert not {"active_slot", "subject_key", "request_digest", "seen_events",
                "idempotency_key", "status_rank"} & set(detail.json())

    rejected = requests.post(f"{intake}/api/v1/applications/{application_id}/reject",
                             headers=OPERATOR, timeout=10,
                             json={"reasons": ["name_mismatch", "kk_unreadable"],
                                   "note": "Nama di KK tertulis Rini Susanti Putri"})
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "rejected"
    assert application_id in ids(queue(intake, status="rejected", kecamatan=KECAMATAN))

    # the citizen reads why, corrects the name and resubmits: back in the queue
    resubmitted = citizen(intake, "resubmit", code, nik,
                          applicant={"full_name": "Rini Susanti Putri"})
    assert resubmitted.status_code == 200, resubmitted.text
    assert resubmitted.json()["status"] == "submitted"
    assert application_id in ids(queue(intake, kecamatan=KECAMATAN, channel="whatsapp"))
    assert requests.get(f"{intake}/api/v1/operator/applications/{application_id}",
                        headers=OPERATOR, timeout=10).json()["applicant"]["full_name"] \
        == "Rini Susanti Putri"

    verified = requests.post(f"{intake}/api/v1/applications/{application_id}/verify",
                             headers=OPERATOR, timeout=10)
    assert verified.status_code == 200, verified.text
    assert application_id not in ids(queue(intake, kecamatan=KECAMATAN))

    # the citizen's timeline: every step with its time, no operator, no personal data
    status = citizen(intake, "status", code, nik)
    assert status.status_code == 200, status.text
    # (notification's "received" message adds a notified step meanwhile)
    timeline = [step for step in status.json()["timeline"] if step["status"] != "notified"]
    assert [step["status"] for step in timeline][:4] == [
        "submitted", "rejected", "resubmitted", "verified"]
    times = [datetime.datetime.fromisoformat(step["at"]) for step in timeline]
    assert times == sorted(times) and all(t.tzinfo for t in times)
    assert timeline[1]["detail"]["reason_codes"] == ["name_mismatch", "kk_unreadable"]
    assert timeline[1]["detail"]["reasons"][0].startswith("Nama pemohon tidak sama")
    assert timeline[1]["detail"]["note"] == "Nama di KK tertulis Rini Susanti Putri"
    assert timeline[2]["detail"] == {"corrected": ["applicant.full_name"]}
    text = status.text
    assert "operator-test" not in text and "citizen" not in text and nik not in text
    # ... while the Dinas keeps who acted
    stored = requests.get(f"{intake}/api/v1/operator/applications/{application_id}",
                          headers=OPERATOR, timeout=10).json()["timeline"]
    stored = [step for step in stored if step["status"] != "notified"]
    assert [step["detail"].get("by") for step in stored][:4] == [
        None, "operator-test", "citizen", "operator-test"]

    events = events_for(probe, application_id, {
        "application_submitted", "application_rejected", "application_resubmitted",
        "application_verified"})
    probe.close()
    assert events["application_submitted"]["contact"] == {
        "phone": "+62" + phone[1:], "email": email, "language": "id",
        "preferred_channel": "whatsapp"}
    assert events["application_rejected"]["reason_codes"] == ["name_mismatch", "kk_unreadable"]
    assert len(events["application_rejected"]["reasons"]) == 2
    assert "operator-test" not in str(events["application_rejected"])
    assert events["application_resubmitted"]["corrected"] == ["applicant.full_name"]
    verified_event = events["application_verified"]
    assert verified_event["full_name"] == "Rini Susanti Putri"
    assert {k: verified_event[k] for k in ("print_kind", "pickup_place_id", "next_day",
                                           "replacement", "manifest_id", "delivery_method")} == {
        "print_kind": "card", "pickup_place_id": "disdukcapil-serang", "next_day": False,
        "replacement": False, "manifest_id": None, "delivery_method": "pos"}
    assert verified_event["delivery_address"]["kelurahan_code"] == KELURAHAN
    assert personal_data_in_logs(system, nik, phone) == []


def test_a_citizen_cancels_before_verification_not_after(system):
    intake = system.url("intake")
    probe = BrokerProbe(system.amqp_uri, "intake.events", "application_cancelled")
    nik = random_nik()
    first = submit(intake, application_body(nik, random_mobile()))
    assert citizen(intake, "cancel", first["tracking_code"], random_nik()).status_code == 404
    cancelled = citizen(intake, "cancel", first["tracking_code"], nik)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["timeline"][-1]["detail"] == {}
    event = events_for(probe, first["application_id"], {"application_cancelled"})
    assert event["application_cancelled"]["previous_status"] == "submitted"
    assert citizen(intake, "cancel", first["tracking_code"], nik).status_code == 409
    refused = requests.post(f"{intake}/api/v1/applications/{first['application_id']}/verify",
                            headers=OPERATOR, timeout=10)
    assert refused.status_code == 409

    # cancelled frees the slot: the citizen applies again, and once verified, cannot cancel
    second = submit(intake, application_body(nik, random_mobile()))
    assert requests.post(f"{intake}/api/v1/applications/{second['application_id']}/verify",
                         headers=OPERATOR, timeout=10).status_code == 200
    late = citizen(intake, "cancel", second["tracking_code"], nik)
    assert late.status_code == 409, late.text
    assert late.json()["error"]["code"] == "conflict"
    probe.close()


def test_resubmitting_after_a_newer_application_took_the_slot_is_refused(system):
    intake = system.url("intake")
    nik = random_nik()
    old = submit(intake, application_body(nik, random_mobile()))
    assert citizen(intake, "resubmit", old["tracking_code"], nik).status_code == 409  # not rejected
    assert requests.post(f"{intake}/api/v1/applications/{old['application_id']}/reject",
                         headers=OPERATOR, json={"reasons": ["kk_missing"]},
                         timeout=10).status_code == 200
    bad = citizen(intake, "resubmit", old["tracking_code"], nik,
                  applicant={"kk_number": "12345"})
    assert bad.status_code == 400 and "applicant.kk_number" in bad.json()["error"]["fields"]
    newer = submit(intake, application_body(nik, random_mobile()))  # rejected frees the slot
    refused = citizen(intake, "resubmit", old["tracking_code"], nik)
    assert refused.status_code == 409, refused.text
    assert "applicant.nik" in refused.json()["error"]["fields"]
    detail = requests.get(f"{intake}/api/v1/operator/applications/{old['application_id']}",
                          headers=OPERATOR, timeout=10).json()
    assert detail["status"] == "rejected"  # nothing changed
    assert requests.post(f"{intake}/api/v1/applications/{newer['application_id']}/verify",
                         headers=OPERATOR, timeout=10).status_code == 200


@pytest.mark.parametrize("lang", ["id", "en"])
def test_an_unknown_reason_code_is_refused_naming_reasons(system, lang):
    intake = system.url("intake")
    probe = BrokerProbe(system.amqp_uri, "intake.events", "application_rejected")
    application_id = submit(intake, application_body(random_nik(), random_mobile()))[
        "application_id"]
    response = requests.post(f"{intake}/api/v1/applications/{application_id}/reject",
                             headers={**OPERATOR, "Accept-Language": lang}, timeout=10,
                             json={"reasons": ["kk_unreadable", "foto_buram"]})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert list(error["fields"]) == ["reasons"]
    assert error["fields"]["reasons"] == [
        "Kode alasan tidak dikenal: foto_buram. Lihat katalog alasan." if lang == "id"
        else "Unknown reason code: foto_buram. See the reason catalogue."]
    detail = requests.get(f"{intake}/api/v1/operator/applications/{application_id}",
                          headers=OPERATOR, timeout=10).json()
    assert detail["status"] == "submitted" and len(detail["timeline"]) == 1
    # nothing was emitted: the relay publishes in order, so a rejection event
    # from the refused request would arrive before the one of this valid one
    assert requests.post(f"{intake}/api/v1/applications/{application_id}/reject",
                         headers=OPERATOR, json={"reasons": ["kk_unreadable"]},
                         timeout=10).status_code == 200
    received = []
    eventually(lambda: received.extend(body["reason_codes"] for _, body in probe.drain()
                                       if body["application_id"] == application_id) or received,
               what="the valid rejection on intake.events")
    assert received == [["kk_unreadable"]]
    probe.close()


@pytest.mark.parametrize("path", ["/api/v1/operator/applications",
                                  "/api/v1/operator/applications/any-id",
                                  "/api/v1/operator/reasons"])
@pytest.mark.parametrize("authorization", [None, "Basic b3BlcmF0b3I6dGVzdA=="])
def test_the_queue_needs_the_operator_token(system, path, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    response = requests.get(system.url("intake") + path, headers=headers, timeout=10)
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "unauthorized"


def test_bad_queue_parameters_are_named(system):
    response = requests.get(f"{system.url('intake')}/api/v1/operator/applications",
                            headers={**OPERATOR, "Accept-Language": "en"}, timeout=10,
                            params={"limit": "500", "kecamatan": "36"})
    assert response.status_code == 400, response.text
    assert set(response.json()["error"]["fields"]) == {"limit", "kecamatan"}


def test_the_reason_catalogue_for_operators(system):
    response = requests.get(f"{system.url('intake')}/api/v1/operator/reasons",
                            headers={**OPERATOR, "Accept-Language": "en"},
                            params={"document_type": "akta_kematian"}, timeout=10)
    assert response.status_code == 200, response.text
    codes = {row["code"] for row in response.json()["reasons"]}
    assert {"death_letter_missing", "kk_unreadable", "other"} <= codes
    assert "photo_missing" not in codes


def test_removing_the_phone_on_resubmission_takes_a_new_preferred_channel_along(system):
    """The stored ``preferred_channel`` (``sms``, the default with a phone)
    stays on resubmission: removing the phone alone is refused naming it
    (outside audit hF: the docs said only "one of them must remain")."""
    intake = system.url("intake")
    nik = random_nik()
    body = application_body(nik, random_mobile(), email=f"rini.{nik[-6:]}@example.id")
    application = submit(intake, body)
    assert requests.post(f"{intake}/api/v1/applications/{application['application_id']}/reject",
                         headers=OPERATOR, json={"reasons": ["kk_missing"]},
                         timeout=10).status_code == 200
    code = application["tracking_code"]
    alone = citizen(intake, "resubmit", code, nik, applicant={"phone": None})
    assert alone.status_code == 400, alone.text
    assert list(alone.json()["error"]["fields"]) == ["applicant.preferred_channel"]
    along = citizen(intake, "resubmit", code, nik,
                    applicant={"phone": None, "preferred_channel": "email"})
    assert along.status_code == 200, along.text
    contact = requests.get(f"{intake}/api/v1/operator/applications/{application['application_id']}",
                           headers=OPERATOR, timeout=10).json()["contact"]
    assert (contact["phone"], contact["preferred_channel"]) == (None, "email")
