"""Every service's served JSON writes against the project's promise: bad
input gets a clear error naming the field, stores nothing, loses nothing.
Each POST, PUT and PATCH of each service's served OpenAPI document that
takes a JSON body is sent bodies wrong in one top-level property at a time
- the wrong JSON type (a string for a number, a boolean, an object or an
array; a number for a string; an object for a scalar; ``null`` where it is
not nullable), a string with a NUL or an escape character, an array or
object with one element of the wrong type - with the operation's own
credentials (Pos' signature over the very bytes sent) and probe path values
no resource has. Each is answered 400 ``validation_failed`` naming the
property (``prop`` or ``prop.<...>``, docs/api.md), in the shape the
operation's document lists: never a 5xx, never accepted. A body the store
could act on is never sent: every one is invalid, and a probe id names no
resource."""

from __future__ import annotations

import json

import pytest
import requests

from tests.openapi_answers import refused_naming, served_document
from tests.openapi_requests import VALUES, credentials

# notification's JSON writes take no property to probe (below)
SERVICES = ("intake", "printing", "courier")
WRITES = ("post", "put", "patch")
AN_OBJECT = {"openapi_probe": 1}
# values of the wrong JSON type, by the type the document declares; the
# first of each is also the wrong element put inside an array or object
MISTYPED = {
    "string": [7, AN_OBJECT],
    "integer": ["1", True, AN_OBJECT],
    "number": ["1.5", True, AN_OBJECT],
    "boolean": ["true", 1, AN_OBJECT],
    "object": ["openapi-probe", 7, ["openapi-probe"]],
    "array": ["openapi-probe", AN_OBJECT],
}
# no field takes these, whatever the declared type of string
UNPRINTABLE = ["openapi\x00probe", "openapi\x1b[31mprobe"]
# a partner's free text, taken as one line and never refused for a control
# character (docs/courier-api.md, Pos' webhook: Pos does not send a refused
# one again)
ONE_LINE = {("courier", "/api/v1/pos/webhook"): {"note", "location"}}
# elements not sent (their wrong types are sent all the same):
NOT_INSIDE = {
    # each row is checked on its own, a bad one rejected in the batch's 200
    # while the batch is stored under its (probe) id (docs/api.md, Jemput-bola
    # batches)
    ("intake", "/api/v1/jemput-bola/batches/{batch_id}"): {"applications"},
    # loaded by document type once the rest of the request loads
    # (rules.load_details): beside a missing applicant, only it is named -
    # as in a citizen's submission, whose example body the walk sends
    ("intake", "/api/v1/kecamatan/next-day-requests"): {"details"},
}


def resolved(document: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def alternatives(document: dict, schema: dict) -> list[dict]:
    """``schema`` resolved, or each of its ``oneOf``/``anyOf``/``allOf``."""
    schema = resolved(document, schema)
    listed = schema.get("oneOf") or schema.get("anyOf") or schema.get("allOf")
    return [resolved(document, one) for one in listed] if listed else [schema]


def declared_type(document: dict, schema: dict) -> str | None:
    """The JSON type the document declares (every alternative's), if one."""
    types = {one.get("type", "object" if "properties" in one else None)
             for one in alternatives(document, schema)}
    return types.pop() if len(types) == 1 else None


def wrong_element(document: dict, schema: dict):
    """An array of one element of the wrong type, or an object with its
    first property of the wrong type; None for a free-form object."""
    first = alternatives(document, schema)[0]
    if "items" in first:
        kind = declared_type(document, first["items"])
        return [MISTYPED[kind][0]] if kind else None
    for name, property_schema in first.get("properties", {}).items():
        if kind := declared_type(document, property_schema):
            return {name: MISTYPED[kind][0]}
    return None


def wrong_values(document: dict, schema: dict, one_line: bool = False,
                 inside: bool = True) -> list:
    """What a property of ``schema`` must not take; ``one_line``: control
    characters aside; ``inside``: one element of the wrong type too."""
    kind = declared_type(document, schema)
    if kind is None:
        return []
    values = list(MISTYPED[kind])
    if not any(one.get("nullable") for one in alternatives(document, schema)):
        values.append(None)
    if kind == "string" and not one_line:
        values += UNPRINTABLE
    elif inside and (element := wrong_element(document, schema)) is not None:
        values.append(element)
    return values


def json_writes(document: dict):
    """(method, path, operation, body schema) of every write taking JSON."""
    for path, item in document["paths"].items():
        for method, operation in item.items():
            content = operation.get("requestBody", {}).get("content", {})
            if method in WRITES and "application/json" in content:
                yield method, path, operation, resolved(
                    document, content["application/json"]["schema"])


def base_body(operation: dict) -> dict:
    """The operation's first example body, if it gives one (the others
    wrong in one property only); else none of its properties."""
    examples = operation["requestBody"]["content"]["application/json"].get("examples", {})
    return dict(next(iter(examples.values()))["value"]) if examples else {}


def refusal(system, service: str, document: dict, method: str, path: str, operation: dict,
            name: str, body: dict) -> str | None:
    """What is wrong with the answer to ``body``; None if it is the 400
    naming ``name`` the operation's document lists."""
    data = json.dumps(body).encode()
    headers = {**credentials(system, operation, data), "Content-Type": "application/json"}
    response = requests.request(method.upper(), system.url(service) + path.format(**VALUES),
                                headers=headers, data=data, timeout=10)
    what = (f"{service} {method.upper()} {path} {data[:160]!r}: {response.status_code} "
            f"{response.text[:240]}")
    return None if refused_naming(document, method, path, response, lambda key: (
        key == name or key.startswith(f"{name}."))) else what


@pytest.mark.parametrize("service", SERVICES)
def test_a_mistyped_property_is_refused_naming_it(system, service):
    document = served_document(system.url(service))
    failures, probed = [], 0
    for method, path, operation, schema in json_writes(document):
        base = base_body(operation)
        for name, property_schema in schema.get("properties", {}).items():
            # which of a oneOf's alternatives applies, the rest of the body
            # says (an example's) or the stored resource (a resubmit's details)
            inside = name not in NOT_INSIDE.get((service, path), ()) and (
                bool(base) or len(alternatives(document, property_schema)) == 1)
            for value in wrong_values(document, property_schema,
                                      name in ONE_LINE.get((service, path), ()), inside):
                failures.append(refusal(system, service, document, method, path, operation,
                                        name, {**base, name: value}))
                probed += 1
    failures = [failure for failure in failures if failure]
    assert not failures, "\n".join(failures)
    assert probed >= 20


def test_notification_s_writes_have_no_property_to_probe(system):
    """Meta's webhook delivery is free-form (its signature is checked, its
    content read as Meta documents it); the resend takes no body. A property
    declared on either joins the walk above."""
    document = served_document(system.url("notification"))
    writes = list(json_writes(document))
    assert len(writes) == 2
    assert [path for _, path, _, schema in writes if schema.get("properties")] == []
