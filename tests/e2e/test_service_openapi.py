"""Printing's and courier's served OpenAPI documents, through the real
stack: each is there without a token, validates, is the document its
module builds, and every path and method in it answers (a route, not the
router's 404/405, nor a 5xx) with a status the document lists, in the media
type it gives. Each request carries the operation's token and a body no
endpoint takes (a field none knows): refused before any work, so the probe
changes nothing (a claim leases no job)."""

from __future__ import annotations

import json

import pytest
import requests
from openapi_spec_validator import validate

from services.courier import openapi as courier_openapi
from services.printing import openapi as printing_openapi
from tests.openapi_answers import served_document
from tests.openapi_requests import VALUES, credentials

BUILT = {"printing": printing_openapi.openapi_document,
         "courier": courier_openapi.openapi_document}
UNKNOWN_FIELD = json.dumps({"openapi_probe": True}).encode()


@pytest.mark.parametrize("service", sorted(BUILT))
def test_the_served_document_is_the_built_one_and_validates(system, service):
    response = requests.get(f"{system.url(service)}/api/v1/openapi.json", timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    document = response.json()
    validate(document)
    assert document == json.loads(json.dumps(BUILT[service]()))


@pytest.mark.parametrize("service", sorted(BUILT))
def test_every_path_and_method_answers_as_listed(system, service):
    document = served_document(system.url(service))
    answered = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            body = UNKNOWN_FIELD if method == "post" else b""
            headers = credentials(system, operation, body)
            if body:
                headers["Content-Type"] = "application/json"
            response = requests.request(method.upper(), system.url(service) +
                                        path.format(**VALUES), headers=headers, data=body,
                                        timeout=10)
            what = f"{method.upper()} {path}: {response.status_code} {response.text[:200]}"
            assert response.status_code != 405 and response.status_code < 500, what
            if response.status_code == 404:  # a resource missing, not the route
                assert response.json()["error"]["code"] == "not_found", what
            assert response.status_code not in (401, 403), what  # the listed token grants it
            assert str(response.status_code) in operation["responses"], what
            listed = operation["responses"][str(response.status_code)]
            listed = document["components"]["responses"][listed["$ref"].rsplit("/", 1)[1]] \
                if "$ref" in listed else listed
            if response.content:
                sent = response.headers["Content-Type"].split(";")[0].strip()
                assert sent in listed.get("content", {}), f"{what}: sent {sent}"
            answered.append((method, path))
    assert len(answered) == sum(len(item) for item in document["paths"].values()) >= 12
