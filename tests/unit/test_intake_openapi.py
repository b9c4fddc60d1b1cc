"""The OpenAPI document of intake: valid OpenAPI 3, every route of the
intake services in it (and nothing else), an example for each document type
that the request schema and the rules accept."""

from __future__ import annotations

import datetime
import inspect

import pytest
from openapi_spec_validator import validate

from services.intake.api_examples import SUBMIT_EXAMPLES
from services.intake.openapi import OPERATIONS, openapi_document, openapi_path
from services.intake.population import Lookup
from services.intake.rules import check_application
from services.intake.schemas import ApplicationRequestSchema
from services.intake.service import IntakeApi, IntakeEvents
from shared.events import DOCUMENT_TYPES
from shared.http import ApiHandler

SUBMIT = "/api/v1/applications"


class UnknownToRegister:
    def person(self, nik):
        return None

    def family(self, kk_number):
        return None


def served_routes() -> set[tuple[str, str]]:
    """(method, OpenAPI path) of every HTTP entrypoint of the intake services."""
    routes = set()
    for service in (IntakeApi, IntakeEvents):
        for _, method in inspect.getmembers(service, inspect.isfunction):
            for entrypoint in getattr(method, "nameko_entrypoints", ()):
                if isinstance(entrypoint, ApiHandler):
                    routes.add((entrypoint.method.lower(), openapi_path(entrypoint.url)))
    return routes


def documented_routes(document: dict) -> set[tuple[str, str]]:
    return {(method, path) for path, item in document["paths"].items() for method in item}


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
        "operator", "kelurahanOfficer", "kecamatanOfficer"}
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
    body = ApplicationRequestSchema().load(SUBMIT_EXAMPLES[document_type])
    checked = check_application(body, datetime.date.today(), Lookup(UnknownToRegister()))
    assert checked.details
