"""Pickup at the counter, end to end through the real stack: a citizen moves
their window, the counter records collection (after the NIK check) and intake
frees the NIK for the next application; a parcel Pos brings back gets a
window at the Dinas counter."""

from __future__ import annotations

import requests

from shared.clock import today_wib
from shared.offices import WorkingCalendar
from tests.e2e.test_ktp_journey import claim_job_for, ktp_application
from tests.helpers import (OPERATOR, STATION, BrokerProbe, eventually, publish, random_mobile,
                           random_nik)


def printed_application(system, nik: str, delivery: dict | None = None) -> dict:
    """Submitted, verified, claimed and printed: the print answer and the ids."""
    intake, printing = system.url("intake"), system.url("printing")
    body = ktp_application(nik, random_mobile(), None)
    if delivery:
        body["delivery"] = delivery
    submitted = requests.post(f"{intake}/api/v1/applications", json=body, timeout=10)
    assert submitted.status_code == 202, submitted.text
    application = submitted.json()
    verified = requests.post(f"{intake}/api/v1/applications/{application['application_id']}"
                             "/verify", headers=OPERATOR, timeout=10)
    assert verified.status_code == 200, verified.text
    job = claim_job_for(printing, application["application_id"])
    printed = requests.post(f"{printing}/api/v1/station/jobs/{job['print_job_id']}/printed",
                            json={"lease_token": job["lease_token"]}, headers=STATION, timeout=10)
    assert printed.status_code == 200, printed.text
    return {**application, **printed.json()}


def events_for(probe: BrokerProbe, seen: list, tracking_code: str, event_type: str) -> list:
    seen += probe.drain()
    return [body for key, body in seen if key == event_type
            and body.get("tracking_code") == tracking_code]


def status_of(system, tracking_code: str, nik: str) -> str:
    response = requests.post(f"{system.url('intake')}/api/v1/applications/status",
                             json={"tracking_code": tracking_code, "nik": nik}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["status"]


def test_citizen_moves_the_window_and_collects_then_may_apply_again(system):
    printing = system.url("printing")
    probe, seen = BrokerProbe(system.amqp_uri, "printing.events"), []
    nik = random_nik()
    try:
        document = printed_application(system, nik)
        code = document["tracking_code"]
        first = document["slot"]
        assert first["date"] == WorkingCalendar().next_working_day(today_wib()).isoformat()

        # a wrong NIK is answered like an unknown tracking code, and changes nothing
        wrong = requests.post(f"{printing}/api/v1/pickup/windows",
                              json={"tracking_code": code, "nik": random_nik()}, timeout=10)
        unknown = requests.post(f"{printing}/api/v1/pickup/windows",
                                json={"tracking_code": "SDKNOSUCHCODE", "nik": nik}, timeout=10)
        assert wrong.status_code == unknown.status_code == 404
        assert wrong.json() == unknown.json()

        offered = requests.post(f"{printing}/api/v1/pickup/windows",
                                json={"tracking_code": code, "nik": nik}, timeout=10)
        assert offered.status_code == 200, offered.text
        later = offered.json()["windows"][10]
        assert later != first

        refused = requests.post(f"{printing}/api/v1/pickup/reschedule", timeout=10, json={
            "tracking_code": code, "nik": random_nik(), "date": later["date"],
            "start": later["start"]})
        assert refused.status_code == 404
        closed = requests.post(f"{printing}/api/v1/pickup/reschedule", timeout=10, json={
            "tracking_code": code, "nik": nik, "date": later["date"], "start": "17:00"},
            headers={"Accept-Language": "en"})
        assert closed.status_code == 409 and "start" in closed.json()["error"]["fields"]
        # outside audit D: "String does not match expected pattern."
        half_past = requests.post(f"{printing}/api/v1/pickup/reschedule", timeout=10, json={
            "tracking_code": code, "nik": nik, "date": later["date"], "start": "10:30"},
            headers={"Accept-Language": "en"})
        assert half_past.status_code == 400, half_past.text
        assert half_past.json()["error"]["fields"]["start"] == [
            "The window's start, on the hour (HH:00, e.g. 09:00)."]
        # only the windows offered may be chosen: a Friday in 9999 is refused
        beyond = requests.post(f"{printing}/api/v1/pickup/reschedule", timeout=10, json={
            "tracking_code": code, "nik": nik, "date": "9999-12-31", "start": "10:00"})
        assert beyond.status_code == 409, beyond.text
        assert beyond.json()["error"]["code"] == "window_unavailable"
        assert list(beyond.json()["error"]["fields"]) == ["date"]

        moved = requests.post(f"{printing}/api/v1/pickup/reschedule", timeout=10, json={
            "tracking_code": code, "nik": nik, "date": later["date"], "start": later["start"]})
        assert moved.status_code == 200, moved.text
        assert moved.json()["slot"] == later
        [rescheduled] = eventually(lambda: events_for(probe, seen, code, "pickup_rescheduled"),
                                   what="pickup_rescheduled published")
        assert rescheduled["slot"] == later and nik not in str(rescheduled)

        # while the document waits, the NIK has an active application: a
        # replacement (the card was lost on the way home, say) is refused
        replacement = {**ktp_application(nik, random_mobile(), None),
                       "details": {"reason": "lost", "police_report_number": "LP/123/XI/2026"}}
        blocked = requests.post(f"{system.url('intake')}/api/v1/applications",
                                json=replacement, timeout=10)
        assert blocked.status_code == 409 and "applicant.nik" in blocked.json()["error"]["fields"]

        # the counter: an operator token, and the NIK on the citizen's card
        body = {"tracking_code": code, "nik": nik}
        assert requests.post(f"{printing}/api/v1/counter/collections", json=body,
                             timeout=10).status_code == 401
        assert requests.post(f"{printing}/api/v1/counter/collections", headers=OPERATOR,
                             json={**body, "nik": random_nik()}, timeout=10).status_code == 404
        # a field not listed is refused, not dropped (the token says who collected it)
        for path, extra in (("counter/collections", {**body, "collected_by": "someone-else"}),
                            ("pickup/reschedule", {**body, "date": later["date"],
                                                   "start": later["start"], "place": "x"}),
                            ("pickup/windows", {**body, "lang": "en"})):
            stray = requests.post(f"{printing}/api/v1/{path}", headers=OPERATOR, json=extra,
                                  timeout=10)
            assert stray.status_code == 400, (path, stray.text)
            assert list(stray.json()["error"]["fields"]) == [
                next(iter(set(extra) - {"tracking_code", "nik", "date", "start"}))]
        lookup_stray = requests.post(f"{system.url('intake')}/api/v1/applications/status",
                                     json={**body, "phone": "x"}, timeout=10)
        assert lookup_stray.status_code == 400, lookup_stray.text
        assert list(lookup_stray.json()["error"]["fields"]) == ["phone"]
        collected = requests.post(f"{printing}/api/v1/counter/collections", headers=OPERATOR,
                                  json=body, timeout=10)
        assert collected.status_code == 200, collected.text
        assert collected.json()["status"] == "collected"
        again = requests.post(f"{printing}/api/v1/counter/collections", headers=OPERATOR,
                              json=body, timeout=10)
        assert again.status_code == 200  # recorded twice: one event
        [event] = eventually(lambda: events_for(probe, seen, code, "document_collected"),
                             what="document_collected published")
        assert (event["how"], event["collected_by"]) == ("counter", "operator-test")
        # moving a collected document's window is refused
        assert requests.post(f"{printing}/api/v1/pickup/reschedule", timeout=10, json={
            "tracking_code": code, "nik": nik, "date": later["date"],
            "start": later["start"]}).status_code == 409

        eventually(lambda: status_of(system, code, nik) == "collected", what="intake: collected")
        # the NIK is free again: the same replacement application is accepted
        renewed = requests.post(f"{system.url('intake')}/api/v1/applications",
                                json=replacement, timeout=10)
        assert renewed.status_code == 202, renewed.text
        assert len(events_for(probe, seen, code, "document_collected")) == 1
    finally:
        probe.close()


def test_a_returned_parcel_waits_at_the_dinas_counter(system):
    probe, seen = BrokerProbe(system.amqp_uri, "printing.events"), []
    try:
        document = printed_application(system, random_nik(), delivery={
            "method": "pos", "address": {"street": "Jl. Raya Curug No. 7", "rt": "001",
                                         "rw": "002", "kelurahan_code": "3673041010",
                                         "postal_code": "42171"}})
        code = document["tracking_code"]
        assert document["slot"] is None
        returned = {"event_id": f"returned-{code}", "schema_version": 1,
                    "occurred_at": "2026-01-05T03:00:00+00:00",
                    "application_id": document["application_id"], "tracking_code": code,
                    "document_type": "ktp_el", "shipment_id": "shp-1", "barcode": "P2601",
                    "reason": "alamat tidak ditemukan"}
        publish(system.amqp_uri, "courier.events", "parcel_returned", returned)
        publish(system.amqp_uri, "courier.events", "parcel_returned", returned)  # redelivered
        [ready] = eventually(lambda: events_for(probe, seen, code, "document_ready_for_pickup"),
                             what="document_ready_for_pickup after the return")
        assert ready["slot"]["place"] == "Loket Disdukcapil Kota Serang"
        assert ready["slot"]["date"] > today_wib().isoformat()
    finally:
        probe.close()


def test_before_verification_printing_knows_no_document_then_it_is_not_at_the_counter(system):
    """Printing hears of an application at its verification: before that a
    right code and NIK are answered as an unknown code (404, a failed
    check), after it - queued, not printed - 409 ``not_at_counter``
    (outside audit hF: docs/station-api.md said "not printed yet" was 409)."""
    intake, printing = system.url("intake"), system.url("printing")
    nik = random_nik()
    submitted = requests.post(f"{intake}/api/v1/applications", timeout=10,
                              json=ktp_application(nik, random_mobile(), None))
    assert submitted.status_code == 202, submitted.text
    body = {"tracking_code": submitted.json()["tracking_code"], "nik": nik}
    unknown = {"tracking_code": "SDKNOSUCHCODE", "nik": nik}

    def asked(path: str, json: dict, **headers) -> requests.Response:
        return requests.post(f"{printing}/api/v1/{path}", json=json, headers=headers, timeout=10)
    for path, headers in (("pickup/windows", {}), ("counter/collections", OPERATOR)):
        waiting = asked(path, body, **headers)
        assert waiting.status_code == 404, waiting.text
        assert waiting.json() == asked(path, unknown, **headers).json()

    verified = requests.post(f"{intake}/api/v1/applications/{submitted.json()['application_id']}"
                             "/verify", headers=OPERATOR, timeout=10)
    assert verified.status_code == 200, verified.text
    # printing's job is queued (intake's step) before it is asked: each 404 counts
    eventually(lambda: status_of(system, body["tracking_code"], nik) == "print_queued",
               what="printing queued the job")
    queued = asked("pickup/windows", body)
    assert queued.status_code == 409 and queued.json()["error"]["code"] == "not_at_counter"
    counter = asked("counter/collections", body, **OPERATOR)
    assert counter.status_code == 409 and counter.json()["error"]["code"] == "not_at_counter"
