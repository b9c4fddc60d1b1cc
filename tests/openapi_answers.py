"""Check an answer of the intake API against an OpenAPI document of it (the
served one, or ``openapi_document()``): the schema of that operation's
answer for that status, its ``$ref``s resolved in the document, validated
with the reference OpenAPI 3.0 schema validator."""

from __future__ import annotations

import requests
from openapi_schema_validator import OAS30Validator, validate


def served_document(intake_url: str) -> dict:
    """The document intake serves (``GET /api/v1/openapi.json``)."""
    response = requests.get(f"{intake_url}/api/v1/openapi.json", timeout=10)
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
