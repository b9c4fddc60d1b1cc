"""Bad input at intake: a clear 4xx naming the field, nothing stored, no event.

Each case is sent to the real intake service; afterwards the applications and
outbox collections are unchanged, and a probe bound to ``intake.events`` sees
only the event of a valid application sent last (the relay publishes in
order, so an event from a bad request would have arrived before it).
"""

from __future__ import annotations

import json

import pytest
import requests

from tests.helpers import (BrokerProbe, eventually, personal_data_in_logs, random_nik,
                           valid_body, with_value)


def delivered_by_pos(body: dict, **address) -> dict:
    body["delivery"] = {"method": "pos", "address": {
        "street": "Jl. Raya Curug No. 7", "rt": "002", "rw": "005",
        "kelurahan_code": "3673041010", "postal_code": "42171", **address}}
    return body


BLANK = ("Tidak boleh kosong: harus memuat huruf atau angka.",
         "Must not be blank: must contain a letter or digit.")
BAD_PHONE = ("Nomor HP tidak valid (contoh: 081234567890).",
             "Invalid mobile number (example: 081234567890).")


def without(body: dict, path: str) -> dict:
    parent, _, key = path.rpartition(".")
    target = body
    for part in filter(None, parent.split(".")):
        target = target[part]
    del target[key]
    return body


# case -> (body, status, field, the field's message in Bahasa Indonesia, in English)
CASES = {
    "malformed_json": (lambda: b'{"document_type": "ktp_el", "applicant": {', 400, "_body",
                       "Isi permintaan bukan JSON yang valid.", "Request body is not valid JSON."),
    "not_an_object": (lambda: b'["ktp_el"]', 400, "_body",
                      "Isi permintaan harus objek JSON.", "Request body must be a JSON object."),
    "missing_field": (lambda: without(valid_body(), "applicant.full_name"), 400,
                      "applicant.full_name", "Wajib diisi.", "Missing data for required field."),
    "missing_applicant": (lambda: without(valid_body(), "applicant"), 400, "applicant",
                          "Wajib diisi.", "Missing data for required field."),
    "invalid_nik_length": (lambda: with_value(valid_body(), "applicant.nik", "36730412"), 400,
                           "applicant.nik", "NIK harus 16 digit angka (diterima 8 digit).",
                           "NIK must be 16 digits (got 8)."),
    "invalid_nik_date": (lambda: with_value(valid_body(), "applicant.nik", "3673043102900001"),
                         400, "applicant.nik",
                         "NIK memuat tanggal lahir yang tidak ada di kalender atau di masa depan.",
                         "NIK has a birth date that is not a real calendar date or is in the "
                         "future."),
    "invalid_nik_serial": (lambda: with_value(valid_body(), "applicant.nik", "3673041207900000"),
                           400, "applicant.nik", "NIK memuat nomor urut 0000 yang tidak sah.",
                           "NIK has an invalid serial number 0000."),
    "unknown_document_type": (lambda: with_value(valid_body(), "document_type", "sim_a"), 400,
                              "document_type",
                              "Harus salah satu dari: ktp_el, akta_kelahiran, akta_kematian, skpwni, kia.",
                              "Must be one of: ktp_el, akta_kelahiran, akta_kematian, skpwni, kia."),
    "unknown_field": (lambda: with_value(valid_body(), "applicant.hobby", "x"), 400,
                      "applicant.hobby", "Kolom tidak dikenal.", "Unknown field."),
    # a boolean is a JSON true or false: "yes" is not one (marshmallow's own Boolean took it)
    "string_boolean": (lambda: with_value(valid_body(), "details.old_card_surrendered", "yes"),
                       400, "details.old_card_surrendered",
                       "Harus true atau false (boolean JSON, tanpa tanda kutip).",
                       "Must be true or false (a JSON boolean, without quotes)."),
    # a name or street of spaces printed a blank KTP-el and Pos refused the posting
    "blank_name": (lambda: with_value(valid_body(), "applicant.full_name", "   "), 400,
                   "applicant.full_name", *BLANK),
    "invisible_name": (lambda: with_value(valid_body(), "applicant.full_name", "\u200b\u200b"),
                       400, "applicant.full_name", *BLANK),
    "blank_street": (lambda: delivered_by_pos(valid_body(), street="\u3000 \u3000"), 400,
                     "delivery.address.street", *BLANK),
    "blank_police_report": (lambda: with_value(valid_body(), "details", {
        "reason": "lost", "police_report_number": "   "}), 400,
        "details.police_report_number", *BLANK),
    # Pos answered 413 to a 30,000-character RT
    "long_rt": (lambda: delivered_by_pos(valid_body(), rt="1" * 30000), 400,
                "delivery.address.rt", "Harus 1-3 angka (contoh: 003).",
                "Must be 1-3 digits (e.g. 003)."),
    "long_police_report": (lambda: with_value(valid_body(), "details", {
        "reason": "lost", "police_report_number": "LP/" + "1" * 20000}), 400,
        "details.police_report_number", "Maksimal 64 karakter.",
        "Longer than maximum length 64."),
    # letters became keypad digits: the SMS went to a stranger
    "lettered_phone": (lambda: with_value(valid_body(), "applicant.phone", "08123abc7890"), 400,
                       "applicant.phone", *BAD_PHONE),
    "letter_o_phone": (lambda: with_value(valid_body(), "applicant.phone", "O81234567890"), 400,
                       "applicant.phone", *BAD_PHONE),
    # named as the object, not "applicant._schema"
    "applicant_not_an_object": (lambda: with_value(valid_body(), "applicant", "x"), 400,
                                "applicant", "Jenis isian tidak valid.", "Invalid input type."),
}


def case_body(case: str) -> bytes | str:
    """A fresh body for ``case`` (fresh random NIKs each time it is sent)."""
    body = CASES[case][0]()
    return body if isinstance(body, bytes) else json.dumps(body)


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("lang", ["id", "en"])
def test_bad_input_names_the_field_and_changes_nothing(system, intake_state, case, lang):
    _, status, field, message_id, message_en = CASES[case]
    before = intake_state()
    body = case_body(case)
    response = requests.post(f"{system.url('intake')}/api/v1/applications", data=body,
                             headers={"Content-Type": "application/json",
                                      "Accept-Language": "en-US,en;q=0.9" if lang == "en" else "id"},
                             timeout=10)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert field in error["fields"], error
    assert error["fields"][field] == [message_en if lang == "en" else message_id]
    assert intake_state() == before
    if isinstance(body, str):  # the identity numbers and phone it carried never reach a log
        applicant = json.loads(body).get("applicant", {})
        applicant = applicant if isinstance(applicant, dict) else {}
        assert personal_data_in_logs(system, applicant.get("nik"), applicant.get("kk_number"),
                                     applicant.get("phone")) == []


def test_oversized_body_is_refused_with_413(system, intake_state):
    before = intake_state()
    body = valid_body()
    body["details"]["note"] = "x" * (70 * 1024)
    response = requests.post(f"{system.url('intake')}/api/v1/applications", json=body, timeout=10)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"

    chunked = requests.post(f"{system.url('intake')}/api/v1/applications", timeout=10,
                            headers={"Content-Type": "application/json"},
                            data=(part for part in [json.dumps(body).encode()]))
    assert chunked.status_code == 413
    assert intake_state() == before


def test_no_event_leaves_intake_for_bad_input(system, intake_state):
    probe = BrokerProbe(system.amqp_uri, "intake.events")
    url = f"{system.url('intake')}/api/v1/applications"
    try:
        for case, (_, status, *_) in CASES.items():
            assert requests.post(url, data=case_body(case), timeout=10,
                                 headers={"Content-Type": "application/json"}).status_code == status
        good = requests.post(url, json=valid_body(), timeout=10)
        assert good.status_code == 202
        events = eventually(probe.drain, what="the valid application's event")
    finally:
        probe.close()
    assert [(key, payload["application_id"]) for key, payload in events] == \
        [("application_submitted", good.json()["application_id"])]


def test_same_idempotency_key_stores_one_application(system, mongo):
    url = f"{system.url('intake')}/api/v1/applications"
    body, key = valid_body(), {"Idempotency-Key": f"retry-{random_nik()}"}
    first = requests.post(url, json=body, headers=key, timeout=10)
    second = requests.post(url, json=body, headers=key, timeout=10)
    assert first.status_code == second.status_code == 202
    assert first.json() == second.json()
    assert mongo["intake"].applications.count_documents(
        {"applicant.nik": body["applicant"]["nik"]}) == 1


def test_a_retry_whose_details_do_not_load_is_told_which_field(system, mongo):
    """Outside audit B: a retry with a field its details do not have was
    answered 409 idempotency_key_reused, not the 400 naming the field a
    first try gets."""
    url = f"{system.url('intake')}/api/v1/applications"
    body, key = valid_body(), {"Idempotency-Key": f"retry-{random_nik()}"}
    assert requests.post(url, json=body, headers=key, timeout=10).status_code == 202
    wrong = requests.post(url, json=with_value(body, "details.alasan", "hilang"), headers=key,
                          timeout=10)
    assert wrong.status_code == 400, wrong.text
    assert list(wrong.json()["error"]["fields"]) == ["details.alasan"]
    assert mongo["intake"].applications.count_documents(
        {"applicant.nik": body["applicant"]["nik"]}) == 1


def test_a_nik_sent_as_a_field_name_is_not_echoed(system):
    body = valid_body()
    body["3673041201100003"] = "x"
    body["applicant"]["6281234567890"] = "y"
    answer = requests.post(f"{system.url('intake')}/api/v1/applications", json=body, timeout=10)
    assert answer.status_code == 400, answer.text
    assert sorted(answer.json()["error"]["fields"]) == ["3673********0003",
                                                        "applicant.62812*****890"]
    assert "3673041201100003" not in answer.text and "6281234567890" not in answer.text


def test_second_active_application_for_same_nik_is_a_conflict(system, mongo):
    url = f"{system.url('intake')}/api/v1/applications"
    body = valid_body()
    assert requests.post(url, json=body, timeout=10).status_code == 202
    again = requests.post(url, json=body, timeout=10)
    assert again.status_code == 409
    assert "applicant.nik" in again.json()["error"]["fields"]
    assert mongo["intake"].applications.count_documents(
        {"applicant.nik": body["applicant"]["nik"]}) == 1
    applicant = body["applicant"]
    assert personal_data_in_logs(system, applicant["nik"], applicant["kk_number"],
                                 applicant["phone"]) == []


def test_chunked_body_within_the_limit_is_accepted(system):
    response = requests.post(f"{system.url('intake')}/api/v1/applications", timeout=10,
                             headers={"Content-Type": "application/json"},
                             data=(part for part in [json.dumps(valid_body()).encode()]))
    assert response.status_code == 202, response.text


def test_idempotency_key_reused_for_another_nik_is_refused(system, mongo):
    url = f"{system.url('intake')}/api/v1/applications"
    key = {"Idempotency-Key": f"reuse-{random_nik()}"}
    first, other = valid_body(), valid_body()
    assert requests.post(url, json=first, headers=key, timeout=10).status_code == 202
    reused = requests.post(url, json=other, headers=key, timeout=10)
    assert reused.status_code == 409
    assert "Idempotency-Key" in reused.json()["error"]["fields"]
    assert mongo["intake"].applications.count_documents(
        {"applicant.nik": other["applicant"]["nik"]}) == 0
    assert personal_data_in_logs(system, *(applicant[key] for applicant in (
        first["applicant"], other["applicant"]) for key in ("nik", "kk_number", "phone"))) == []


def test_a_post_without_a_body_is_answered_at_once(system):
    """``curl -X POST`` with no ``-d`` sends neither Content-Length nor a
    chunked body: the API must not wait for one (the README's verify step)."""
    import socket
    host, port = system.url("intake").removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"POST /api/v1/applications/unknown/verify HTTP/1.1\r\nHost: x\r\n"
                     b"Authorization: Bearer test-operator-token\r\n\r\n")
        status_line = sock.recv(200).split(b"\r\n")[0]
    assert status_line.startswith(b"HTTP/1.1 404"), status_line


def test_every_service_answers_an_unknown_path_or_method_with_the_json_error_body(system):
    for service in ("intake", "printing", "courier", "notification"):
        unknown = requests.get(f"{system.url(service)}/api/v1/nothing", timeout=10)
        assert unknown.status_code == 404, (service, unknown.text)
        assert unknown.json()["error"] == {"code": "unknown_path",
                                           "message": "Alamat ini tidak ada di API ini."}
    wrong = requests.get(f"{system.url('intake')}/api/v1/applications", timeout=10,
                         headers={"Accept-Language": "en"})
    assert (wrong.status_code, wrong.headers["Allow"]) == (405, "POST")
    assert wrong.json()["error"]["code"] == "method_not_allowed"


def test_a_body_sent_as_text_is_refused_with_415_and_stores_nothing(system, intake_state):
    before = intake_state()
    answer = requests.post(f"{system.url('intake')}/api/v1/applications", timeout=10,
                           data=json.dumps(valid_body()), headers={"Content-Type": "text/plain"})
    assert answer.status_code == 415, answer.text
    assert list(answer.json()["error"]["fields"]) == ["Content-Type"]
    assert intake_state() == before
