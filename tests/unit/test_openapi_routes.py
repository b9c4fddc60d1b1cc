"""Printing's and courier's OpenAPI documents (``services/*/openapi.py``):
each is valid OpenAPI 3 and lists every route its services serve, and
nothing else - the walk over the entrypoints notices a route the document
lacks and a listed one nobody serves. (Intake's: test_intake_openapi.py.)"""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate

from services.courier import openapi as courier_openapi
from services.courier.service import CourierApi, CourierEvents
from services.printing import openapi as printing_openapi
from services.printing.service import PrintingApi, PrintingEvents
from tests.openapi_answers import documented_routes, served_routes

# service -> (its document, its service classes, how many routes at least, a
# route it serves)
SERVICES = {
    "printing": (printing_openapi.openapi_document, (PrintingApi, PrintingEvents), 26,
                 ("post", "/api/v1/operator/print-jobs/{job_id}/reprint")),
    "courier": (courier_openapi.openapi_document, (CourierApi, CourierEvents), 12,
                ("post", "/api/v1/manifests/{manifest_id}/send-by-pos")),
}


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_the_document_is_valid_openapi_3(service):
    document = SERVICES[service][0]()
    validate(document)
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] == f"Smartdukcapil {service} API"


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_route_is_documented_and_nothing_else(service):
    openapi_document, classes, at_least, _ = SERVICES[service]
    served = served_routes(*classes)
    assert len(served) >= at_least  # the walk finds the entrypoints, mixins' too (it can fail)
    assert served == documented_routes(openapi_document())


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_a_route_missing_or_not_served_is_noticed(service):
    openapi_document, classes, _, (method, path) = SERVICES[service]
    paths = openapi_document()["paths"]
    fewer = {listed: item for listed, item in paths.items() if listed != path}
    assert served_routes(*classes) - documented_routes({"paths": fewer}) == {(method, path)}
    more = {**paths, "/api/v1/no-such-route": {"post": {}}}
    assert documented_routes({"paths": more}) - served_routes(*classes) == {
        ("post", "/api/v1/no-such-route")}
