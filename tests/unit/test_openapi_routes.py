"""Printing's, courier's and notification's OpenAPI documents (``services/*/openapi.py``):
each is valid OpenAPI 3 and lists every route its services serve, and
nothing else - the walk over the entrypoints notices a route the document
lacks and a listed one nobody serves - and so does the route table of its
page in docs/. (Intake's: test_intake_openapi.py.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from services.courier import openapi as courier_openapi
from services.intake import openapi as intake_openapi
from services.courier.service import CourierApi, CourierEvents
from services.notification import openapi as notification_openapi
from services.notification.service import NotificationApi, NotificationEvents
from services.printing import openapi as printing_openapi
from services.printing.service import PrintingApi, PrintingEvents
from tests.openapi_answers import documented_routes, served_routes

# service -> (its document, its service classes, how many routes at least, a
# route it serves, its page)
SERVICES = {
    "printing": (printing_openapi.openapi_document, (PrintingApi, PrintingEvents), 26,
                 ("post", "/api/v1/operator/print-jobs/{job_id}/reprint"), "station-api.md"),
    "courier": (courier_openapi.openapi_document, (CourierApi, CourierEvents), 12,
                ("post", "/api/v1/manifests/{manifest_id}/send-by-pos"), "courier-api.md"),
    # outside audit D: notification served no document
    "notification": (notification_openapi.openapi_document,
                     (NotificationApi, NotificationEvents), 10,
                     ("post", "/api/v1/notifications/messages/{notification_id}/resend"), "api.md"),
}
DOCS = Path(__file__).parents[2] / "docs"


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_the_document_is_valid_openapi_3(service):
    document = SERVICES[service][0]()
    validate(document)
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] == f"Smartdukcapil {service} API"


@pytest.mark.parametrize("openapi_document", [intake_openapi.openapi_document] + [
    document for document, *_ in SERVICES.values()])
def test_the_answers_to_a_request_no_operation_matches_are_described(openapi_document):
    # outside review (forty-seventh session): 404 unknown_path and 405 with
    # Allow were in docs/api.md but in no served document
    description = openapi_document()["info"]["description"]
    assert "404 `unknown_path`" in description
    assert "405 `method_not_allowed`" in description and "`Allow`" in description


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_route_is_documented_and_nothing_else(service):
    openapi_document, classes, at_least, *_ = SERVICES[service]
    served = served_routes(*classes)
    assert len(served) >= at_least  # the walk finds the entrypoints, mixins' too (it can fail)
    assert served == documented_routes(openapi_document())


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_a_route_missing_or_not_served_is_noticed(service):
    openapi_document, classes, _, (method, path), _ = SERVICES[service]
    paths = openapi_document()["paths"]
    fewer = {listed: item for listed, item in paths.items() if listed != path}
    assert served_routes(*classes) - documented_routes({"paths": fewer}) == {(method, path)}
    more = {**paths, "/api/v1/no-such-route": {"post": {}}}
    assert documented_routes({"paths": more}) - served_routes(*classes) == {
        ("post", "/api/v1/no-such-route")}


def without_names(path: str) -> str:
    """``/a/{b}`` and the docs' ``/a/<b or c>`` alike: ``/a/{}``."""
    return re.sub(r"\{[^}]*\}|<[^>]*>", "{}", path)


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_the_pages_route_table_lists_every_route_of_the_document(service):
    """Outside the brief: station-api.md's table left out the reprint."""
    openapi_document, *_, page = SERVICES[service]
    rows = re.findall(r"^\| (GET|POST|PUT|DELETE) \|([^|]+)\|", (DOCS / page).read_text(),
                      re.MULTILINE)
    tabled = {(method.lower(), without_names(path.split("?")[0]))
              for method, cell in rows for path in re.findall(r"`([^`]+)`", cell)}
    documented = {(method, without_names(path))
                  for method, path in documented_routes(openapi_document())}
    assert tabled == documented
