"""The served OpenAPI document, through the real stack: it validates, every
path and method in it answers (a route, not the router's 404/405), and each
document type's example body is accepted by the API it describes."""

from __future__ import annotations

import gzip

import pytest
import requests
from openapi_spec_validator import validate

from shared.events import DOCUMENT_TYPES
from tests.openapi_answers import assert_answer_matches
from tests.openapi_requests import VALUES, credentials


@pytest.fixture(scope="module")
def document(system):
    response = requests.get(f"{system.url('intake')}/api/v1/openapi.json", timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    return response.json()


@pytest.fixture(scope="module")
def accepted(system, document):
    """document type -> the application its example created."""
    examples = document["paths"]["/api/v1/applications"]["post"]["requestBody"]["content"][
        "application/json"]["examples"]
    created = {}
    for document_type, example in examples.items():
        response = requests.post(f"{system.url('intake')}/api/v1/applications",
                                 json=example["value"], timeout=10)
        created[document_type] = response
    return created


def test_the_served_document_validates(document):
    validate(document)
    assert "/api/v1/openapi.json" in document["paths"]


def test_each_document_types_example_is_accepted(accepted):
    assert set(accepted) == set(DOCUMENT_TYPES)
    for document_type, response in accepted.items():
        assert response.status_code in (201, 202), (document_type, response.text)
        assert response.json()["status"] == "submitted"


def test_every_path_and_method_answers(system, document, accepted):
    """Each operation called with its token, path parameters filled (a real
    application, dummy others) and an empty body: any answer of the API is
    fine (400 for the empty body, 404 for a dummy id as a JSON error), but
    never the router's own 404 or 405, nor a 5xx."""
    application_id = accepted["ktp_el"].json()["application_id"]
    values = {**VALUES, "application_id": application_id}
    answered = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            url = system.url("intake") + path.format(**values)
            headers = credentials(system, operation)
            kwargs = {}
            if method in ("post", "put"):
                kwargs = ({"files": {"unused": ("x", b"")}} if "multipart/form-data" in
                          operation.get("requestBody", {}).get("content", {}) else {"json": {}})
            response = requests.request(method.upper(), url, headers=headers, timeout=10,
                                        **kwargs)
            what = f"{method.upper()} {path}: {response.status_code} {response.text[:200]}"
            assert response.status_code != 405 and response.status_code < 500, what
            if response.status_code == 404:  # a resource missing, not the route
                assert response.json()["error"]["code"] == "not_found", what
            assert str(response.status_code) in operation["responses"], what
            # and in the media type the document gives (e.g. /metrics: text/plain)
            listed = operation["responses"][str(response.status_code)].get("content", {})
            if listed and response.content:
                sent = response.headers["Content-Type"].split(";")[0].strip()
                assert sent in listed, f"{what}: sent {sent}, listed {list(listed)}"
            answered.append((method, path))
    assert len(answered) >= 19


def test_each_security_requirement_listed_grants_its_operation(system, document, accepted):
    """Outside audit N1: the documents endpoints took printing's service
    token, and the document listed only the operator's. Every alternative
    listed is tried: none is refused 401/403."""
    values = {**VALUES, "application_id": accepted["ktp_el"].json()["application_id"]}
    tried = set()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method != "get":  # reads only: nothing is changed by the probe
                continue
            for alternative, requirement in enumerate(operation.get("security", [])):
                headers = credentials(system, operation, alternative=alternative)
                response = requests.get(system.url("intake") + path.format(**values),
                                        headers=headers, timeout=10)
                assert response.status_code not in (401, 403), (path, requirement, response.text)
                tried.update(requirement)
    assert {"operator", "service"} <= tried


def test_every_operation_lists_the_415_it_answers(system, document, accepted):
    """Outside audit: a body with ``Content-Encoding: gzip`` is refused 415 on
    any method, a GET too, which the document listed for no GET; and the
    upload answered a JSON body 400 where the document said 415. Each 415
    is listed, in the document's error shape, naming the header."""
    values = {**VALUES, "application_id": accepted["ktp_el"].json()["application_id"]}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            headers = {"Content-Encoding": "gzip", "Content-Type": "application/json",
                       **credentials(system, operation)}
            response = requests.request(method.upper(), system.url("intake") +
                                        path.format(**values), headers=headers,
                                        data=gzip.compress(b"{}"), timeout=10)
            what = f"{method.upper()} {path}: {response.status_code} {response.text[:200]}"
            assert response.status_code == 415, what
            assert list(response.json()["error"]["fields"]) == ["Content-Encoding"], what
            assert_answer_matches(document, method, path, 415, response.json())
    upload = "/api/v1/applications/documents"
    as_json = requests.post(system.url("intake") + upload, json={"kind": "foto"}, timeout=10)
    assert as_json.status_code == 415, as_json.text
    assert list(as_json.json()["error"]["fields"]) == ["Content-Type"]
    assert_answer_matches(document, "POST", upload, 415, as_json.json())


def test_an_unknown_route_is_told_apart(system):
    """The check above can fail: the router's own 404 is not a missing resource's."""
    response = requests.get(f"{system.url('intake')}/api/v1/no-such-route", timeout=10)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_path"
