"""Check an answer of a service's API against an OpenAPI document of it (the
served one, or ``openapi_document()``): the schema of that operation's
answer for that status, its ``$ref``s resolved in the document, validated
with the reference OpenAPI 3.0 schema validator (a refusal: ``refused_naming``);
and the routes a service serves against those its document lists."""

from __future__ import annotations

import inspect

import requests
from openapi_schema_validator import OAS30Validator, validate

from shared.http import ApiHandler
from shared.openapi import openapi_path


def served_routes(*services) -> set[tuple[str, str]]:
    """(method, OpenAPI path) of every HTTP entrypoint of ``services`` (their
    classes), mixins' included."""
    routes = set()
    for service in services:
        for _, method in inspect.getmembers(service, inspect.isfunction):
            for entrypoint in getattr(method, "nameko_entrypoints", ()):
                if isinstance(entrypoint, ApiHandler):
                    routes.add((entrypoint.method.lower(), openapi_path(entrypoint.url)))
    return routes


def documented_routes(document: dict) -> set[tuple[str, str]]:
    return {(method, path) for path, item in document["paths"].items() for method in item}


def served_document(base_url: str) -> dict:
    """The document a service serves (``GET /api/v1/openapi.json``)."""
    response = requests.get(f"{base_url}/api/v1/openapi.json", timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def answer_schema(document: dict, method: str, path: str, status: int) -> dict:
    """The JSON schema of the answer (``path`` as in the document: ``/a/{b}``)."""
    responses = document["paths"][path][method.lower()]["responses"]
    assert str(status) in responses, f"{method} {path} does not list {status}"
    response = responses[str(status)]
    if "$ref" in response:  # an error answer: #/components/responses/ErrorNNN
        response = document["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    # the components beside the schema: its "#/components/..." refs resolve there
    return {**response["content"]["application/json"]["schema"],
            "components": document["components"]}


def assert_answer_matches(document: dict, method: str, path: str, status: int,
                          body: dict) -> None:
    """Raises ``jsonschema.ValidationError`` where ``body`` breaks the document."""
    validate(body, answer_schema(document, method, path, status), cls=OAS30Validator,
             format_checker=OAS30Validator.FORMAT_CHECKER)


def refused_naming(document: dict, method: str, path: str, response, named) -> bool:
    """Whether ``response`` is the 400 ``validation_failed`` the operation
    lists (``path`` as in the document), naming a field ``named`` holds for
    (a callable on its key); its shape is checked against the document."""
    if response.status_code != 400:
        return False
    error = response.json()["error"]
    if error["code"] != "validation_failed" or not any(map(named, error.get("fields", {}))):
        return False
    assert_answer_matches(document, method, path, 400, response.json())
    return True


def request_schema(document: dict, method: str, path: str) -> dict:
    """The JSON schema of the operation's JSON request body (``path`` as in
    the document), its ``$ref``s resolvable."""
    body = document["paths"][path][method.lower()]["requestBody"]
    return {**body["content"]["application/json"]["schema"],
            "components": document["components"]}


def assert_request_matches(document: dict, method: str, path: str, body) -> None:
    """Raises ``jsonschema.ValidationError`` where ``body`` breaks the
    document's description of the request body."""
    validate(body, request_schema(document, method, path), cls=OAS30Validator,
             format_checker=OAS30Validator.FORMAT_CHECKER)
