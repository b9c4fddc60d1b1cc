"""The OpenAPI document of printing (valid, every route: test_openapi_routes.py):
each route's token (a station's, an operator's, an officer's, or none) and
the conflicts it answers, and what the entrypoints render (a claimed job, a
printed report, a held job, a verdict, the key set, a PRR import's
refusals) valid against it."""

from __future__ import annotations

import datetime

import pytest
from jsonschema import ValidationError

from services.printing import prr, tokens, verification
from services.printing.api_station import printed_view
from services.printing.exceptions import JobNotFound, LeaseLost, NotAtCounter, NotHeld, NotPrinted
from services.printing.openapi import openapi_document
from services.printing.domain import action_taken
from services.printing.schemas import HeldJobSchema, OperatorJobSchema, StationJobSchema
from tests.openapi_answers import assert_answer_matches, assert_request_matches

NOW = datetime.datetime(2026, 11, 30, 3, 0, tzinfo=datetime.timezone.utc)
CLAIM = "/api/v1/station/jobs/claim"
REPRINT = "/api/v1/operator/print-jobs/{job_id}/reprint"
SLOT = {"place": "Loket Disdukcapil Kota Serang",
        "address": "Jl. Jenderal Sudirman No. 5, Kota Serang",
        "date": "2025-03-11", "start": "08:00", "end": "09:00"}


def security(path: str) -> list | None:
    """Which token each route checks (the entrypoints: ``stations``,
    ``operators``, ``kelurahan_officers``, ``kecamatan_officers``; none for
    citizens, the verification and the probes)."""
    if path.startswith("/api/v1/station/"):
        return [{"station": []}]
    if path.startswith(("/api/v1/operator/", "/api/v1/counter/")):
        return [{"operator": []}]
    if path.startswith("/api/v1/kelurahan/"):
        return [{"kelurahanOfficer": []}]
    if path.startswith("/api/v1/kecamatan/"):
        return [{"kecamatanOfficer": []}]
    return None


def test_each_route_lists_the_token_it_checks():
    document = openapi_document()
    assert set(document["components"]["securitySchemes"]) == {
        "station", "operator", "kelurahanOfficer", "kecamatanOfficer"}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert operation.get("security") == security(path), (method, path)
            if security(path):
                assert {"401", "429"} <= set(operation["responses"]), (method, path)


@pytest.mark.parametrize("method, path, codes", [
    ("post", "/api/v1/station/jobs/{job_id}/printed", ("lease_token",)),
    ("post", "/api/v1/station/jobs/{job_id}/failed", ("lease_token",)),
    ("get", "/api/v1/station/jobs/{job_id}/document.pdf", ("lease_token", "photo_missing")),
    ("post", "/api/v1/operator/print-jobs/{job_id}/release", ("not_held", "holder_deceased")),
    ("post", "/api/v1/operator/print-jobs/{job_id}/cancel", ("not_held",)),
    ("post", REPRINT, ("not_printed", "handed_over", "with_pos", "holder_deceased")),
    ("post", "/api/v1/kelurahan/handovers", ("not_at_office", "holder_deceased")),
    ("post", "/api/v1/kecamatan/handovers", ("not_at_office", "holder_deceased")),
    ("post", "/api/v1/counter/collections", ("not_at_counter", "holder_deceased")),
    ("post", "/api/v1/pickup/windows", ("not_at_counter", "holder_deceased")),
    ("post", "/api/v1/pickup/reschedule", ("not_at_counter", "window_unavailable"))])
def test_each_conflict_a_route_answers_is_named(method, path, codes):
    conflict = openapi_document()["paths"][path][method]["responses"]["409"]
    for code in codes:
        assert code in conflict["description"], (path, code)


def test_the_download_is_a_pdf_and_the_prr_import_a_csv_with_its_own_limit():
    paths = openapi_document()["paths"]
    download = paths["/api/v1/station/jobs/{job_id}/document.pdf"]["get"]
    assert list(download["responses"]["200"]["content"]) == ["application/pdf"]
    assert "503" in download["responses"] and "photo" in download["responses"]["503"][
        "description"]
    prr_import = paths["/api/v1/operator/prr-imports"]["post"]
    assert list(prr_import["requestBody"]["content"]) == ["text/csv"]
    assert "PRR_MAX_BODY_BYTES" in prr_import["responses"]["413"]["description"]


def claimed(document_type: str) -> dict:
    return {"_id": "5e0d7c1b2a3f4e6d8c9b0a1f2e3d4c5b", "application_id": "app-1",
            "tracking_code": "SDK7KQ2M9XA", "document_type": document_type,
            "print_kind": "card" if document_type == "ktp_el" else "certificate",
            "pickup_place_id": "disdukcapil-serang", "manifest_id": None,
            "nik": "3673045207900001", "full_name": "Siti Aminah", "holder_name": None,
            "lease_token": "q3Zr8V1cS0yXbP2mT7wK4A", "lease_until": NOW, "attempts": 1}


def test_a_claim_answers_as_the_document_says():
    card, certificate = (StationJobSchema().dump(claimed(kind))
                         for kind in ("ktp_el", "akta_kelahiran"))
    assert certificate["holder_nik"] is None
    document = openapi_document()
    for answer in (card, {"jobs": [card, certificate]}):
        assert_answer_matches(document, "POST", CLAIM, 200, answer)
    for body in ({}, {"max": 10}, {"manifest": True, "max": 50}):
        assert_request_matches(document, "POST", CLAIM, body)
    with pytest.raises(ValidationError):  # a station body refuses a field it does not know
        assert_request_matches(document, "POST", CLAIM, {"max": 10, "station": "x"})
    assert "204" in document["paths"][CLAIM]["post"]["responses"]


def test_printed_reports_answer_as_the_document_says():
    document = openapi_document()
    printed = printed_view({"_id": "job-1", "status": "printed", "slot": SLOT})
    by_pos = printed_view({"_id": "job-2", "status": "printed"})
    assert by_pos["slot"] is None
    for answer in (printed, by_pos):
        assert_answer_matches(document, "POST", "/api/v1/station/jobs/{job_id}/printed", 200,
                              answer)
    assert_answer_matches(document, "POST", "/api/v1/station/jobs/{job_id}/printed", 409,
                          LeaseLost().to_body("en"))
    results = {"results": [printed, {"print_job_id": "job-3", **LeaseLost().to_body("id")},
                           {"print_job_id": "job-4", **JobNotFound().to_body("en")}]}
    assert_answer_matches(document, "POST", "/api/v1/station/jobs/printed", 200, results)
    with pytest.raises(ValidationError):  # the check can fail
        assert_answer_matches(document, "POST", "/api/v1/station/jobs/printed", 200,
                              {"results": [{"print_job_id": "job-5"}]})


def test_a_held_job_is_listed_with_its_nulls():
    held = HeldJobSchema().dump({**claimed("ktp_el"), "status": "held",
                                 "last_failure": "holder_deceased"})
    assert held["station_id"] is None and held["failure_note"] is None
    assert_answer_matches(openapi_document(), "GET", "/api/v1/operator/print-jobs/held", 200,
                          {"jobs": [held], "next_cursor": None})


def test_a_print_job_looked_up_answers_as_the_document_says():
    held = {**claimed("ktp_el"), "status": "held", "delivery_method": "pickup",
            "queued_at": NOW, "last_failure": "data_error", "failure_note": "foto buram",
            "station_id": "station-serang-1"}
    held["actions"] = [action_taken("failed", "station-serang-1", held, NOW, "station-serang-1"),
                       action_taken("released", "op-1", held, NOW,
                                    operator_reason="foto sudah dicek ulang")]
    old = OperatorJobSchema().dump({**claimed("akta_kelahiran"), "status": "printed",
                                    "delivery_method": "pos", "printed_at": NOW})
    assert old["actions"] == [] and old["slot"] is None
    document = openapi_document()
    viewed = OperatorJobSchema().dump(held)
    assert "nik" not in viewed and "lease_token" not in viewed
    assert_answer_matches(document, "GET", "/api/v1/operator/print-jobs/{job_id}", 200, viewed)
    assert_answer_matches(document, "GET", "/api/v1/operator/print-jobs", 200,
                          {"jobs": [viewed, old]})
    for refused in (NotHeld("printed"), NotPrinted("cancelled")):
        assert_answer_matches(document, "POST", "/api/v1/operator/print-jobs/{job_id}/reprint",
                              409, refused.to_body("en"))


def test_release_and_cancel_may_say_why_a_reprint_must():
    document = openapi_document()
    for action in ("release", "cancel"):
        path = f"/api/v1/operator/print-jobs/{{job_id}}/{action}"
        assert document["paths"][path]["post"]["requestBody"]["required"] is False
        for body in ({}, {"reason": "Data KK salah"}):
            assert_request_matches(document, "POST", path, body)
    assert document["paths"][REPRINT]["post"]["requestBody"]["required"] is True
    assert_request_matches(document, "POST", REPRINT, {"reason": "Rusak saat laminasi"})
    for refused in ({}, {"reason": "ok"}, {"reason": "Rusak", "note": "x"}):
        with pytest.raises(ValidationError):
            assert_request_matches(document, "POST", REPRINT, refused)


def test_verdicts_and_the_key_set_answer_as_the_document_says():
    key = tokens.generate("dinas-2026")
    job = {"_id": "job-1", "application_id": "app-1", "document_type": "ktp_el",
           "nik": "3673045207900001", "full_name": "Siti Aminah"}
    issuance = verification.new_issuance(
        job, "lease-1", verification.document_number("ktp_el", 2026, 42), key, NOW.date(), NOW)
    public = {key.kid: key.public}
    for token in (issuance["token"], "SDK1.nope", ""):
        answer = verification.verdict(token, public, {issuance["_id"]: issuance}.get)
        assert_answer_matches(openapi_document(), "GET", "/api/v1/verify", 200, answer)
    assert_answer_matches(openapi_document(), "GET", "/api/v1/verify/keys", 200,
                          verification.published_keys(public))


def test_a_prr_imports_refusals_and_the_counter_answer_as_the_document_says():
    record = {"_id": "3673045207900001", "import_id": "i-0", "row": 3, "refused": "deceased",
              "refused_at": NOW}
    found = {"rows": 2, "repeated_in_file": [{"row": 3, "same_as_row": 2}], "repeated_count": 1,
             "bad_rows": [{"row": 4, "field": "_row", "message": prr.NO_LINE_END.en}],
             "bad_row_count": 1}
    counts = dict.fromkeys(prr.IMPORT_COUNTS, 1)
    stored = {"_id": "i-1", "imported_at": NOW, "finished_at": NOW, "operator": "op", **found,
              **counts}
    cut_short = {"_id": "i-2", "imported_at": NOW, "finished_at": None, "operator": "op"}
    assert_answer_matches(openapi_document(), "POST", "/api/v1/operator/prr-imports", 200,
                          {"import_id": "i-1", **found, **counts})
    for import_ in (stored, cut_short):
        assert_answer_matches(openapi_document(), "GET",
                              "/api/v1/operator/prr-imports/{import_id}", 200,
                              {**prr.import_view(import_, full=True),
                               "refused": [prr.refused_view(record, "en")]})
    assert_answer_matches(openapi_document(), "GET", "/api/v1/operator/prr-imports", 200,
                          {"imports": [prr.import_view(stored), prr.import_view(cut_short)],
                           "next_cursor": None})
    assert_answer_matches(openapi_document(), "GET", "/api/v1/operator/prr-backlog/aging", 200,
                          {"as_of": "2026-11-30", "bands": [b for b, _ in prr.AGE_BANDS],
                           "kecamatan": prr.aging([{"kecamatan_code": "367304",
                                                    "recorded_on": "2026-11-01"}],
                                                  NOW.date())})
    assert_answer_matches(openapi_document(), "POST", "/api/v1/counter/collections", 409,
                          NotAtCounter().to_body("id"))
