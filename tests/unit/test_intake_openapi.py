"""The OpenAPI document of intake: valid OpenAPI 3, every route of the
intake services in it (and nothing else), an example for each document type
that the request schema and the rules accept, and answers as the code
renders them (a status view with its pickup window and barcode, a full
recording day) valid against it."""

from __future__ import annotations

import datetime
import pathlib
import re

import marshmallow
import pytest
from jsonschema import ValidationError
from openapi_spec_validator import validate

from services.intake import downstream, reasons
from services.intake.api_documents import UploadFormSchema
from services.intake.api_examples import submit_examples
from services.intake.appointments import DayFull
from services.intake.domain import new_tracking_code, public_view
from services.intake.openapi import openapi_document
from services.intake.population import Lookup
from services.intake.queue_schemas import ResubmitSchema
from services.intake.request_fields import corrected_request
from services.intake.rules import check_application
from services.intake.schemas import ApplicationRequestSchema, StatusLookupSchema
from services.intake.service import IntakeApi, IntakeEvents
from shared.clock import today_wib
from shared.events import DOCUMENT_TYPES, build_event
from shared.http import body_problems, probe_body
from tests import openapi_answers
from tests.openapi_answers import (assert_answer_matches, assert_request_matches,
                                   documented_routes)
from tests.stored_applications import rejected, submitted

SUBMIT = "/api/v1/applications"


class UnknownToRegister:
    def person(self, nik):
        return None

    def family(self, kk_number):
        return None


def served_routes() -> set[tuple[str, str]]:
    """(method, OpenAPI path) of every HTTP entrypoint of the intake services."""
    return openapi_answers.served_routes(IntakeApi, IntakeEvents)


def test_the_document_is_valid_openapi_3():
    document = openapi_document()
    validate(document)
    assert document["openapi"].startswith("3.")


def test_every_route_is_documented_and_nothing_else():
    served = served_routes()
    assert len(served) >= 19  # the walk finds the entrypoints (it can fail)
    assert served == documented_routes(openapi_document())


def test_a_route_missing_from_the_document_is_noticed():
    document = openapi_document()
    fewer = {**document, "paths": {path: item for path, item in document["paths"].items()
                                   if path != "/api/v1/operator/reasons"}}
    assert served_routes() - documented_routes(fewer) == {("get", "/api/v1/operator/reasons")}


def test_security_schemes_and_error_answers():
    document = openapi_document()
    assert set(document["components"]["securitySchemes"]) == {
        "operator", "kelurahanOfficer", "kecamatanOfficer", "service"}
    documents = document["paths"]["/api/v1/applications/{application_id}/documents"]["get"]
    assert documents["security"] == [{"operator": []}, {"service": []}]
    verify = document["paths"]["/api/v1/applications/{application_id}/verify"]["post"]
    assert verify["security"] == [{"operator": []}]
    assert {"401", "404", "409", "503"} <= set(verify["responses"])
    submit = document["paths"][SUBMIT]["post"]
    assert {"202", "400", "409", "413", "503"} <= set(submit["responses"])
    # an application past checking, or with no room left (uploads.DocumentsClosed,
    # DocumentLimitReached)
    upload = document["paths"]["/api/v1/applications/documents"]["post"]
    assert {"201", "400", "404", "409", "413"} <= set(upload["responses"])
    error = document["components"]["schemas"]["Error"]
    assert "error" in error["properties"]
    assert "security" not in document["paths"]["/api/v1/openapi.json"]["get"]


def test_an_example_for_each_document_type_on_submit():
    examples = openapi_document()["paths"][SUBMIT]["post"]["requestBody"]["content"][
        "application/json"]["examples"]
    assert set(examples) == set(DOCUMENT_TYPES)
    for document_type, example in examples.items():
        assert example["value"]["document_type"] == document_type


@pytest.mark.parametrize("document_type", DOCUMENT_TYPES)
def test_each_example_passes_the_schema_and_the_rules(document_type):
    today = today_wib()
    body = ApplicationRequestSchema().load(submit_examples(today)[document_type])
    checked = check_application(body, today, Lookup(UnknownToRegister()))
    assert checked.details
    # in time, whenever shown: the operator's only check is the register's answer
    assert [flag for flag in checked.flags if not flag.startswith("register_")] == []


SLOT = {"place": "Disdukcapil Kota Serang", "address": "Jl. Jend. Sudirman No. 5, Kota Serang",
        "date": "2099-01-05", "start": "09:00", "end": "10:00"}


def with_events(application: dict, *events: tuple[str, dict]) -> dict:
    """``application`` after each event, recorded as ``downstream.record`` does."""
    for event_type, payload in events:
        ref = {"application_id": application["_id"],
               "tracking_code": application["tracking_code"], "document_type": "ktp_el"}
        update = downstream.record(application, event_type, build_event(event_type, **ref,
                                                                        **payload))
        application = {**application, **update.get("$set", {}),
                       "timeline": [*application["timeline"], update["$push"]["timeline"]]}
    return application


def test_a_status_view_with_its_pickup_window_and_barcode_matches_the_document():
    """A returned parcel back at pickup: both the barcode and the window show."""
    application = with_events(
        {**submitted(), "status": "verified"},
        ("parcel_dispatched", {"shipment_id": "s-1", "barcode": "P2611290001ID"}),
        ("parcel_returned", {"shipment_id": "s-1", "barcode": "P2611290001ID",
                             "reason": "Alamat tidak ditemukan"}),
        ("document_ready_for_pickup", {"print_job_id": "j-1", "full_name": "Siti Aminah",
                                       "contact": {"phone": "+6281234567890"}, "slot": SLOT}))
    view = public_view(application, "id")
    assert view["pickup_slot"] == SLOT and view["parcel_barcode"] == "P2611290001ID"
    for path in ("/api/v1/applications/status", "/api/v1/applications/resubmit",
                 "/api/v1/applications/cancel"):
        assert_answer_matches(openapi_document(), "POST", path, 200, view)
    with pytest.raises(ValidationError):  # the check can fail
        assert_answer_matches(openapi_document(), "POST", "/api/v1/applications/status", 200,
                              {**view, "nik": "3673045207900001"})


@pytest.mark.parametrize("next_free", [datetime.date(2026, 12, 8), None])
def test_a_full_recording_day_matches_the_document(next_free):
    body = DayFull(next_free).to_body("id")
    assert "next_free_day" in body["error"]
    assert_answer_matches(openapi_document(), "POST", "/api/v1/recording-appointments", 409,
                          body)


def test_a_repeated_upload_answers_200_as_documented():
    upload = openapi_document()["paths"]["/api/v1/applications/documents"]["post"]
    assert upload["responses"]["200"]["content"] == upload["responses"]["201"]["content"]


PROBES = {"/health", "/health/live", "/health/ready", "/metrics"}


def test_the_body_limit_and_unexpected_errors_are_listed_everywhere():
    """shared.http refuses a body over the limit (by Content-Length) on any
    request, and any endpoint may meet an unexpected error (docs/api.md);
    any but the probes and the metrics is refused 503 at admission or while
    the service stops."""
    for path, item in openapi_document()["paths"].items():
        for method, operation in item.items():
            assert {"413", "500"} <= set(operation["responses"]), (method, path)
            assert path in PROBES or "503" in operation["responses"], (method, path)


def test_a_probes_503_is_its_own_body_and_liveness_and_metrics_have_none():
    """Outside audit: each probe listed 503 as the ``{"error": ...}`` body.
    ``/health/live`` and ``/metrics`` answer 200 while the service stops and
    are never refused at admission (``shared.http.StopGate``, ``HealthCheck``)."""
    paths = openapi_document()["paths"]
    for path in ("/health/live", "/metrics"):
        assert "503" not in paths[path]["get"]["responses"], path
    for path, body in (("/health", {"status": "unavailable", "service": "intake_api",
                                    "database": "unavailable"}),
                       ("/health/ready", {"status": "not_ready", "service": "intake_api",
                                          "database": "ok", "broker": "unavailable"})):
        for answer in (body, probe_body("stopping", "intake_api")):
            assert_answer_matches(openapi_document(), "GET", path, 503, answer)
        with pytest.raises(ValidationError):  # the check can fail
            assert_answer_matches(openapi_document(), "GET", path, 503,
                                  {"status": "ready", "service": "intake_api"})


def test_reject_reasons_count_and_every_query_parameter_has_a_type():
    reject = openapi_document()["components"]["schemas"]["Reject"]["properties"]["reasons"]
    assert (reject["minItems"], reject["maxItems"]) == (1, reasons.MAX_REASONS)
    for path, item in openapi_document()["paths"].items():
        for method, operation in item.items():
            for parameter in operation.get("parameters", []):
                assert parameter["schema"].get("type"), (method, path, parameter["name"])


def test_the_limits_of_the_texts_are_in_the_document():
    schemas = openapi_document()["components"]["schemas"]
    address, applicant = schemas["Address"]["properties"], schemas["Applicant"]["properties"]
    assert address["rt"]["pattern"] == address["rw"]["pattern"] == "^[0-9]{1,3}$"
    assert (address["street"]["minLength"], address["street"]["maxLength"]) == (3, 200)
    assert schemas["KtpElDetails"]["properties"]["police_report_number"]["maxLength"] == 64
    # the rule the schema cannot say: not blank
    for field in (applicant["full_name"], address["street"],
                  schemas["AktaKematianDetails"]["properties"]["place_of_death"]):
        assert "letter or digit" in field["description"]


def identity_fields(node, path: str = ""):
    """Every (path, schema) of a NIK or No. KK property in the document: a
    ``nik``, ``kk_number``, ``*_nik`` property or ``members`` item."""
    if isinstance(node, dict):
        for key, value in node.items():
            if path.endswith("properties") and isinstance(value, dict) and (
                    key in ("nik", "kk_number") or key.endswith("_nik")):
                yield f"{path}/{key}", value
            elif path.endswith("properties") and key == "members":
                yield f"{path}/{key}/items", value["items"]
            else:
                yield from identity_fields(value, f"{path}/{key}")


def test_nik_kk_and_tracking_codes_carry_their_patterns():
    """Integrators generating validators got no NIK rule: NIK, KK and
    tracking code were bare strings (outside audit S3)."""
    document = openapi_document()
    found = dict(identity_fields(document))
    for name in ("Applicant/properties/nik", "Applicant/properties/kk_number",
                 "KiaDetails/properties/child_nik", "SkpwniDetails/properties/members/items",
                 "AktaKelahiranDetails/properties/kk_number", "CitizenLookup/properties/nik",
                 "Resend/properties/nik", "multipart/form-data/schema/properties/nik"):
        assert any(path.endswith(name) for path in found), name
    for path, schema in found.items():
        nik = re.compile(schema["pattern"])  # what the server takes (outside audits R, R2)
        assert nik.fullmatch(" 3673045207900001\u00a0") and not nik.fullmatch("367304520790001")
        assert not nik.fullmatch("\t3673045207900001") and not nik.fullmatch("3673045207900001\n")
    schemas = document["components"]["schemas"]
    issued = re.compile(schemas["Accepted"]["properties"]["tracking_code"]["pattern"])
    assert issued.pattern == "^SDK[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{8}$"
    assert all(issued.fullmatch(new_tracking_code()) for _ in range(50))
    assert schemas["Uploaded"]["properties"]["tracking_code"]["pattern"] == issued.pattern
    upload = document["paths"]["/api/v1/applications/documents"]["post"]["requestBody"]
    for typed in (schemas["CitizenLookup"]["properties"]["tracking_code"],
                  schemas["Resubmit"]["properties"]["tracking_code"],
                  upload["content"]["multipart/form-data"]["schema"]["properties"][
                      "tracking_code"]):
        pattern = re.compile(typed["pattern"])  # as a citizen may type it: either case
        assert pattern.fullmatch("SDK7KQ2M9XA") and pattern.fullmatch(" sdk7kq2m9xa" + " " * 12)
        assert "maxLength" not in typed and not pattern.fullmatch("SDK7KQ2M9XA\t")


# tracking codes as a citizen may send them: the issued form, any case,
# spaces around; other lengths and characters (a dash, a hidden U+200B, a
# tab, a full-width or accented letter)
TYPED_CODES = ("SDK7KQ2M9XA", "sdk7kq2m9xa", " sdk7kq2m9xa" + " " * 12, "\u3000SDK7KQ2M9XA\u00a0",
               "ABCDEF", "SDK7KQ2M9X", "SDK7KQ2M9XI", "A" * 20, "000000", "ABCDE", "A" * 21,
               "", "      ", "SDK-7KQ2M9XA", "SDK 7KQ2M9XA", "SDK7KQ2M9XA\u200b", "SDK7KQ2M9XA\t",
               "\nSDK7KQ2M9XA", "SDK7KQ2M9XA\u2028", "SDK7KQ2M9XÄ",
               "\uff33\uff24\uff2b\uff17\uff2b\uff31\uff12\uff2d\uff19\uff38\uff21")


def server_takes(schema, code: str) -> bool:
    """Whether intake's own checks take ``code`` as a tracking code: the
    walk every body goes through (``body_problems``), then ``schema``."""
    if body_problems({"tracking_code": code}):
        return False
    try:
        schema().load({"tracking_code": code, "nik": "3673045207900001"})
    except marshmallow.ValidationError as refused:
        return "tracking_code" not in refused.messages
    return True


def test_the_documented_tracking_code_is_the_one_the_server_takes():
    """Outside audit F3: the document gave a typed tracking code the issued
    form's pattern (SDK and 8 of its alphabet) and said anything else was a
    400, while the server takes 6-20 ASCII letters and digits (docs/api.md)
    and answers one that names no application 404, a failed attempt: a
    client validating by the document refused what the server answers."""
    document = openapi_document()
    schemas = document["components"]["schemas"]
    upload = document["paths"]["/api/v1/applications/documents"]["post"]["requestBody"]
    for typed, schema in (
            (schemas["CitizenLookup"]["properties"]["tracking_code"], StatusLookupSchema),
            (schemas["Resubmit"]["properties"]["tracking_code"], ResubmitSchema),
            (upload["content"]["multipart/form-data"]["schema"]["properties"]["tracking_code"],
             UploadFormSchema)):
        pattern = re.compile(typed["pattern"])
        assert {code: bool(pattern.fullmatch(code)) for code in TYPED_CODES} == {
            code: server_takes(schema, code) for code in TYPED_CODES}
        assert "6-20 ASCII letters and digits" in typed["description"]
    # the audit's own request: well-formed, a 404 (not a 400)
    assert_request_matches(document, "POST", "/api/v1/applications/status",
                           {"tracking_code": "ABCDEF", "nik": "3673045207900001"})
    with pytest.raises(ValidationError):
        assert_request_matches(document, "POST", "/api/v1/applications/status",
                               {"tracking_code": "SDK-7KQ2M9XA", "nik": "3673045207900001"})


def test_every_endpoint_taking_an_idempotency_key_lists_the_header():
    """The booking endpoint honoured the header but did not list it."""
    intake = pathlib.Path(__file__).parents[2] / "services" / "intake"
    readers = sum(len(re.findall(r"= idempotency_key\(request\)", path.read_text()))
                  for path in intake.glob("*.py"))
    listed = [(method, path) for path, item in openapi_document()["paths"].items()
              for method, operation in item.items()
              if any(p["name"] == "Idempotency-Key" for p in operation.get("parameters", []))]
    assert sorted(listed) == [("post", "/api/v1/applications"),
                              ("post", "/api/v1/kecamatan/next-day-requests"),
                              ("post", "/api/v1/recording-appointments")]
    assert readers == len(listed)  # a new reader of the header must be listed too


def untyped_parts(document: dict, schema: dict, path: str = "") -> list[str]:
    """Where a request body's schema says nothing of what it takes: no type,
    or an object with neither properties nor ``additionalProperties`` nor
    ``enum`` (apispec's rendering of a schema that loads anything, such as
    ``unknown = INCLUDE`` with no fields, or a ``Raw`` list item)."""
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    options = [option for key in ("oneOf", "anyOf", "allOf") for option in schema.get(key, ())]
    if options:
        return [found for n, option in enumerate(options)
                for found in untyped_parts(document, option, f"{path}<{n}>")]
    where = path or "(the body)"
    if "type" not in schema:
        return [where]
    found = []
    if schema["type"] == "object":
        properties, extra = schema.get("properties") or {}, schema.get("additionalProperties")
        if not properties and extra is not False and not isinstance(extra, dict) \
                and "enum" not in schema:
            found.append(where)
        for name, value in properties.items():
            found += untyped_parts(document, value, f"{path}.{name}" if path else name)
        if isinstance(extra, dict):
            found += untyped_parts(document, extra, f"{path}.*")
    elif schema["type"] == "array":
        found += untyped_parts(document, schema.get("items", {}), f"{path}[]")
    return found


def test_every_json_request_body_says_what_it_takes():
    """docs/api.md: the document lists the request bodies with their types and
    allowed values. A next-day request's body was an empty ``AnyObject``, a
    batch's rows and a resubmission's details anything, and a nullable
    address any object (apispec's ``{"type": "object", "nullable": true}``)."""
    document = openapi_document()
    untyped = {}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            media = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if media is not None:
                untyped[f"{method} {path}"] = untyped_parts(document, media["schema"])
    assert {operation: parts for operation, parts in untyped.items() if parts} == {}
    assert len(untyped) >= 9  # the walk finds the bodies (it can fail)
    assert untyped_parts(document, {"type": "object", "properties": {}}) == ["(the body)"]


def test_every_post_and_put_describes_its_body():
    """An action that takes none says so (an empty object, optional): one
    that silently dropped what it was sent lost an operator's note."""
    for path, item in openapi_document()["paths"].items():
        for method, operation in item.items():
            if method in ("post", "put"):
                assert "requestBody" in operation, (method, path)
                assert "415" in operation["responses"], (method, path)
    verify = openapi_document()["paths"]["/api/v1/applications/{application_id}/verify"]["post"]
    assert verify["requestBody"]["required"] is False
    assert_request_matches(openapi_document(), "POST",
                           "/api/v1/applications/{application_id}/verify", {})
    with pytest.raises(ValidationError):
        assert_request_matches(openapi_document(), "POST",
                               "/api/v1/applications/{application_id}/verify", {"note": "x"})


NEXT_DAY = "/api/v1/kecamatan/next-day-requests"
# docs/api.md's example of a next-day request
NEXT_DAY_EXAMPLE = {"applicant": {"nik": "3673045207050001", "kk_number": "3673041201100003",
                                  "full_name": "Siti Aminah", "phone": "081234567890"},
                    "details": {"reason": "first_issue"}}


@pytest.mark.parametrize("body", [
    NEXT_DAY_EXAMPLE, {**NEXT_DAY_EXAMPLE, "document_type": "ktp_el"},
    {**NEXT_DAY_EXAMPLE, "address": {"street": "Jl. Raya Curug No. 7", "rt": "002", "rw": "005",
                                     "kelurahan_code": "3673041010"}}])
def test_a_next_day_request_s_body_is_described_as_the_api_takes_it(body):
    assert_request_matches(openapi_document(), "POST", NEXT_DAY, body)


@pytest.mark.parametrize("change", [
    {"channel": "kecamatan"}, {"delivery": {"method": "pickup"}}, {"document_type": "kia"},
    {"details": {"reason": "lost"}}, {"applicant": None}, {"note": "x"}])
def test_what_a_next_day_request_refuses_the_document_refuses_too(change):
    """Each of these answers 400 (docs/api.md: no channel, no delivery,
    KTP-el only, a first KTP-el only; an unknown field)."""
    with pytest.raises(ValidationError):
        assert_request_matches(openapi_document(), "POST", NEXT_DAY,
                               {**NEXT_DAY_EXAMPLE, **change})


def test_a_batch_row_is_described_as_a_submission_with_its_address():
    """docs/api.md's example row (an Akta Kelahiran); without its address,
    or with a ``channel``, it is no row."""
    row = {"document_type": "akta_kelahiran",
           "applicant": {"nik": "3673041503880001", "kk_number": "3673041201100003",
                         "full_name": "Ahmad Fauzi", "phone": "081234567890"},
           "details": {"child": {"full_name": "Hasan Basri", "sex": "M",
                                 "birth_date": "2020-07-01", "birth_place_code": "3673"},
                       "mother_nik": "3673045207900001", "parents_married": True,
                       "father_nik": "3673041503880001", "kk_number": "3673041201100003",
                       "documents": ["surat_keterangan_lahir", "buku_nikah", "kartu_keluarga"]},
           "address": {"street": "Jl. Raya Sukajaya No. 7", "rt": "003", "rw": "005",
                       "kelurahan_code": "3673041010"}}
    batch = "/api/v1/jemput-bola/batches/{batch_id}"
    assert_request_matches(openapi_document(), "PUT", batch, {"applications": [row]})
    for wrong in ({k: v for k, v in row.items() if k != "address"}, {**row, "channel": "web"}):
        with pytest.raises(ValidationError):
            assert_request_matches(openapi_document(), "PUT", batch, {"applications": [wrong]})
    with pytest.raises(ValidationError):
        assert_request_matches(openapi_document(), "PUT", batch, {"applications": []})



def test_a_citizen_names_the_office_to_collect_at_and_a_batch_row_does_not():
    """Outside audit T1: ``delivery.place_id``, one of ``shared.offices``'
    pickup places, on a submission and a resubmission; a jemput-bola row's
    document goes back to its kelurahan, so its delivery names none."""
    body = {**submit_examples(today_wib())["ktp_el"],
            "delivery": {"method": "pickup", "place_id": "kec-curug"}}
    assert_request_matches(openapi_document(), "POST", SUBMIT, body)
    with pytest.raises(ValidationError):
        assert_request_matches(openapi_document(), "POST", SUBMIT,
                               {**body, "delivery": {"place_id": "kec-bogor"}})
    ApplicationRequestSchema().load(body)  # the schema the document is made from agrees
    row = {"document_type": "ktp_el", "applicant": body["applicant"],
           "details": {"reason": "first_issue"}, "delivery": {"place_id": "kec-curug"},
           "address": {"street": "Jl. Raya Sukajaya No. 7", "kelurahan_code": "3673041010"}}
    batch = "/api/v1/jemput-bola/batches/{batch_id}"
    assert_request_matches(openapi_document(), "PUT", batch, {"applications": [
        {**row, "delivery": {"method": "pickup"}}]})
    with pytest.raises(ValidationError):
        assert_request_matches(openapi_document(), "PUT", batch, {"applications": [row]})


def test_a_new_application_s_language_and_key_are_described_as_they_work():
    """Outside audit A2: the document gave ``applicant.language`` a default
    of ``id`` (a client generator sending it would never get the
    Accept-Language default), listed no Accept-Language, and said nothing of
    ``idempotency_key_reused`` or the key's form."""
    document = openapi_document()
    applicant = document["components"]["schemas"]["Applicant"]["properties"]["language"]
    assert "default" not in applicant and "Accept-Language" in applicant["description"]
    for path in ("/api/v1/applications", "/api/v1/kecamatan/next-day-requests"):
        operation = document["paths"][path]["post"]
        headers = {p["name"]: p for p in operation["parameters"] if p["in"] == "header"}
        assert set(headers) == {"Idempotency-Key", "Accept-Language"}
        key = headers["Idempotency-Key"]["schema"]
        assert (key["minLength"], key["maxLength"]) == (1, 128)
        assert re.fullmatch(key["pattern"], "a UUID-like key ~") and not re.fullmatch(
            key["pattern"], "kunci-é")
        assert "idempotency_key_reused" in operation["responses"]["409"]["description"]


def test_an_applicant_s_language_may_be_null_as_the_document_says():
    # outside review: the description said "left out or null" while the
    # property was not nullable, and null is accepted (the request's language)
    language = openapi_document()["components"]["schemas"]["Applicant"]["properties"]["language"]
    assert language["nullable"] is True and "null" in language["description"]
    body = {"document_type": "ktp_el", "channel": "web",
            "applicant": {"nik": "3673045207900001", "kk_number": "3673041201100003",
                          "full_name": "Siti Aminah", "phone": "081234567890", "language": None},
            "details": {"reason": "first_issue"}}
    assert ApplicationRequestSchema(lang="en").load(body)["applicant"]["language"] == "en"


def test_a_resubmission_s_applicant_is_described_as_it_is_corrected():
    """Outside review: the resubmission's ``applicant`` was described as a new
    application's - ``language`` null for the request's language,
    ``marital_status`` default ``belum_kawin``, phone and email default null -
    while a resubmission refuses a null language (400) and keeps the stored
    value of every field left out. The document now says what it does."""
    document = openapi_document()
    applicant = document["components"]["schemas"]["Resubmit"]["properties"]["applicant"]
    properties = applicant["properties"]
    assert "nik" not in properties and "required" not in applicant
    assert [name for name, described in properties.items() if "default" in described] == []
    for name in ("phone", "email", "language", "preferred_channel", "marital_status"):
        assert "Left out: kept as stored." in properties[name]["description"], name
    resubmit, lookup = "/api/v1/applications/resubmit", {"tracking_code": "SDK7KQ2M9XA",
                                                         "nik": "3673045207900001"}
    null_language = {**lookup, "applicant": {"language": None}}
    with pytest.raises(ValidationError):  # the document refuses a null language ...
        assert_request_matches(document, "POST", resubmit, null_language)
    with pytest.raises(marshmallow.ValidationError):  # ... as the server does
        ResubmitSchema().load(null_language)
    no_phone = {**lookup, "applicant": {"phone": None, "email": "siti@example.id"}}
    assert_request_matches(document, "POST", resubmit, no_phone)  # both take a null phone
    assert ResubmitSchema().load(no_phone)["applicant"]["phone"] is None
    # a field left out keeps the stored value, not the new application's default
    stored = rejected(submitted(marital_status="kawin", language="en"))
    corrected = corrected_request(stored, ResubmitSchema().load(
        {**lookup, "applicant": {"full_name": "Siti Aminah Rahma"}}))["applicant"]
    assert (corrected["full_name"], corrected["marital_status"], corrected["language"],
            corrected["phone"]) == ("Siti Aminah Rahma", "kawin", "en", "+6281234567890")
