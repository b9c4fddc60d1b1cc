"""What the services' OpenAPI 3 documents share (intake, printing, courier),
each generated from marshmallow schemas with apispec and its marshmallow
plugin and served at ``GET /api/v1/openapi.json`` (``ServesOpenApi``).

A service's ``openapi.py`` lists every HTTP path and method it serves as
``Operation``s and says what its error statuses mean there; this module
has the rest: the error body, the answers every endpoint may give alike
(``error_answers``), the probes, the metrics and this document's own route
(``META_OPERATIONS``), and the build (``build_document``). A unit test per
service walks its entrypoints and fails on a route its list lacks (or a
listed one no entrypoint serves).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema, fields, validate

from .errors import BUSY, DATABASE_DOWN
from .http import LOOKUPS, api, json_response

OPENAPI_PATH = "/api/v1/openapi.json"

BAD_INPUT = (
    "Bad input: `error.fields` names each field at fault (dotted path; `_body` for the "
    "body as a whole), in Bahasa Indonesia or English (`Accept-Language`). On any "
    "request, a request that can be read more than one way closes the connection: a "
    "header line with whitespace before its colon, folded, without a colon, with a "
    "name not a token or a control character in its value, line ends mixing CRLF "
    "and a bare LF (`bad_request`), a body "
    "length given twice or two ways, a malformed chunked body "
    "(`error.fields.Content-Length` / `Transfer-Encoding`).")
UNAUTHORIZED = "Missing or invalid bearer token."
TOO_MANY = "Too many attempts; `Retry-After` says when to try again."
STOPPING_SERVICE = (
    "`service_stopping`: the service is stopping (SIGTERM, "
    "a restart) - any request but the probes and the metrics, answered at once with "
    "`Connection: close`; send it again, another instance answers.")
# which ``unavailable`` a client got: the load or an outage (``shared.errors``)
UNAVAILABLE_MESSAGES = (
    f"Its `message` says which: \"{BUSY}\" / \"{BUSY.en}\" for the load (an admission "
    f"budget, a backlog), \"{DATABASE_DOWN}\" / \"{DATABASE_DOWN.en}\" for the database.")
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before retrying.",
                               "schema": {"type": "integer"}}}


# what a service whose every body is JSON refuses (415)
JSON_ONLY = "anything but application/json, or a charset other than utf-8"


def error_answers(own: dict[int, str], unavailable: str,
                  refused_types: str = JSON_ONLY) -> dict[int, str]:
    """status -> when, for every error answer of a service (the body is
    always ``Error``): those ``shared.http`` gives alike, ``own`` (what 401,
    404, 409 ... mean at this service), the bodies of a type an endpoint
    does not take (``refused_types``) and when the service is
    ``unavailable`` (503)."""
    return dict(sorted({
        400: BAD_INPUT,
        401: UNAUTHORIZED,
        408: "The body did not arrive in full within BODY_READ_SECONDS.",
        413: "Body over the endpoint's size limit (MAX_BODY_BYTES, an upload's own): by "
             "Content-Length on any request before it is read, or while reading one.",
        414: "A request line of 8,192 bytes or more; the connection is closed.",
        415: f"A body sent with a Content-Type the endpoint does not take ({refused_types}; "
             "`error.fields.Content-Type` names it), or - on any "
             "operation, a GET too - with a Content-Encoding other than identity "
             "(`error.fields.Content-Encoding`).",
        429: TOO_MANY,
        431: "A header line of 8,192 bytes or more, over 65,536 bytes or 100 lines of "
             "headers; the connection is closed.",
        500: "An unexpected error: a generic message, no traceback (logged server-side).",
        503: "Refused before any work; `Retry-After` says when to retry. `unavailable`: "
             f"{unavailable} {UNAVAILABLE_MESSAGES} {STOPPING_SERVICE}",
        **own}.items()))


def bearer(description: str) -> dict:
    """A security scheme: ``Authorization: Bearer <token>``."""
    return {"type": "http", "scheme": "bearer", "description": description}


# the operators' scheme of a service beside intake (the same token entries)
OPERATOR_BEARER = bearer("An operator's token (config OPERATOR_TOKENS, the same entries as "
                         "intake's).")


def signed_in(header: str, description: str) -> dict:
    """A security scheme: a partner's signature of the body in ``header``."""
    return {"type": "apiKey", "in": "header", "name": header, "description": description}


class ErrorDetailSchema(Schema):
    code = fields.String(required=True, metadata={"example": "validation_failed"})
    message = fields.String(required=True)
    field_messages = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                                 data_key="fields",
                                 metadata={"description": "dotted field path -> messages"})


class ErrorSchema(Schema):
    error = fields.Nested(ErrorDetailSchema, required=True)


# the probes' answers (``shared.http.HealthCheck``, and ``StopGate`` while
# the service stops): each its own body, never ``Error``; ``service``'s
# example is the service's name (``build_document``)
OK_OR_NOT = validate.OneOf(("ok", "unavailable"))


class ProbeSchema(Schema):
    service = fields.String(required=True)


class HealthSchema(ProbeSchema):
    status = fields.String(required=True, validate=validate.OneOf(("ok",)))


class LiveSchema(ProbeSchema):
    status = fields.String(required=True, validate=validate.OneOf(("live",)))


class ReadySchema(ProbeSchema):
    status = fields.String(required=True, validate=validate.OneOf(("ready",)))
    database = fields.String(required=True, validate=validate.OneOf(("ok",)))
    broker = fields.String(required=True, validate=validate.OneOf(("ok",)))


class NotReadySchema(ProbeSchema):
    status = fields.String(required=True, validate=validate.OneOf(("not_ready",)))
    database = fields.String(required=True, validate=OK_OR_NOT)
    broker = fields.String(required=True, validate=OK_OR_NOT)


class DatabaseUnavailableSchema(ProbeSchema):
    status = fields.String(required=True, validate=validate.OneOf(("unavailable",)))
    database = fields.String(required=True, validate=validate.OneOf(("unavailable",)))


class StoppingSchema(ProbeSchema):
    status = fields.String(required=True, validate=validate.OneOf(("stopping",)))


PROBE_SCHEMAS = (HealthSchema, LiveSchema, ReadySchema, NotReadySchema,
                 DatabaseUnavailableSchema, StoppingSchema)
STOPPING = ("`stopping`: the service is stopping (SIGTERM, a restart), answered with "
            "`Connection: close`; a balancer sends it no more.")
BINARY = {"type": "string", "format": "binary"}


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # as nameko routes it: ``<string:name>`` for a path parameter
    summary: str
    ok: int
    # a schema, or a JSON schema as given (``BINARY`` for a file), in ``media_type``
    answer: type[Schema] | dict
    errors: tuple[int, ...] = ()
    security: str | tuple[str, ...] | None = None  # a tuple: any one of them
    # the request body's JSON schema, or a whole ``requestBody`` object as given
    body: type[Schema] | Schema | dict | None = None
    body_required: bool = True  # False: the body may be left out
    query: type[Schema] | None = None
    tag: str = "citizen"
    extra: dict = field(default_factory=dict)  # merged into the operation as given
    also_ok: dict[int, str] = field(default_factory=dict)  # other successes, same answer
    media_type: str = "application/json"
    # other successes with an answer of their own: status -> (when, the
    # answer as ``answer``, or None for none: a 204)
    other_answers: dict[int, tuple[str, type[Schema] | dict | None]] = field(
        default_factory=dict)
    # what an error status means on this route, in place of the service's
    # general description (also listed, like ``errors``)
    why: dict[int, str] = field(default_factory=dict)
    # a probe or the metrics (``HealthCheck``): never refused at admission nor
    # while the service stops, so no 503 ``Error``; ``unready`` its own 503:
    # (when, the bodies it may be)
    probe: bool = False
    unready: tuple[str, tuple[type[Schema], ...]] | None = None


META_OPERATIONS: tuple[Operation, ...] = (
    Operation("GET", OPENAPI_PATH, "This document", 200, {"type": "object"}, (), tag="meta"),
    Operation("GET", "/health", "Health: the database answers", 200, HealthSchema,
              tag="meta", probe=True, unready=(
                  "`unavailable`: the database does not answer (within half a second); or "
                  + STOPPING, (DatabaseUnavailableSchema, StoppingSchema))),
    Operation("GET", "/health/live", "Liveness: the process answers (also while it stops)",
              200, LiveSchema, tag="meta", probe=True),
    Operation("GET", "/health/ready", "Readiness: the database and the broker answer", 200,
              ReadySchema, tag="meta", probe=True, unready=(
                  "`not_ready`: the database or the broker does not answer (each named "
                  "`unavailable`; the broker also while it lacks a queue of the service's "
                  "handlers and refuses to have it declared again); or " + STOPPING, (NotReadySchema, StoppingSchema))),
    Operation("GET", "/metrics", "Prometheus metrics (text format), also while the service "
              "stops", 200, {"type": "string"}, tag="meta", probe=True,
              media_type="text/plain"),  # Prometheus' text format (its version a parameter)
)

_PARAMETER = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")


def openapi_path(route: str) -> str:
    """nameko's ``/a/<string:b>`` as OpenAPI's ``/a/{b}``."""
    return _PARAMETER.sub(r"{\1}", route)


def schema_name(schema) -> str | None:
    """Component names: the class name without ``Schema``; a modified schema
    (``partial``, ``exclude``) is inlined instead of named."""
    cls = schema if isinstance(schema, type) else type(schema)
    if not isinstance(schema, type) and (schema.partial or schema.exclude or schema.only):
        return None
    name = cls.__name__
    return name[:-len("Schema")] if name.endswith("Schema") else name


def _success(operation: Operation, description: str, answer=None) -> dict:
    return {"description": description,
            "content": {operation.media_type: {"schema": answer or operation.answer}}}


def _error(status: int, description: str) -> dict:
    response = {"description": description,
                "content": {"application/json": {"schema": "Error"}}}
    if status in (429, 503):
        response["headers"] = RETRY_AFTER
    return response


def _request_body(operation: Operation) -> dict | None:
    if operation.body is None or isinstance(operation.body, dict):
        return operation.body
    return {"required": operation.body_required,
            "content": {"application/json": {"schema": operation.body}}}


def _operation(operation: Operation) -> dict:
    responses = {str(operation.ok): _success(operation, operation.summary)}
    responses.update({str(status): _success(operation, description)
                      for status, description in operation.also_ok.items()})
    responses.update({str(status): {"description": description} if answer is None
                      else _success(operation, description, answer)
                      for status, (description, answer) in operation.other_answers.items()})
    # every body may arrive too slowly; every request may be framed more than
    # one way (shared.framing), declare a body over the limit or send one
    # with a Content-Encoding (shared.http: both checked on any method, a GET
    # too), be too long in its line or headers, find the service busy, or
    # meet an unexpected error; a body of a type the endpoint does not take
    # is a 415 as well
    errors = {*operation.errors, *operation.why, 400, 413, 414, 415, 431, 500,
              *(() if operation.probe else (503,)),
              *((408,) if operation.method in ("POST", "PUT") else ())}
    for status in sorted(errors):
        responses[str(status)] = (_error(status, operation.why[status])
                                  if status in operation.why
                                  else {"$ref": f"#/components/responses/Error{status}"})
    if operation.unready is not None:
        description, bodies = operation.unready
        responses["503"] = {"description": description, "headers": RETRY_AFTER, "content": {
            "application/json": {"schema": {"oneOf": list(bodies)}}}}
    spec = {"summary": operation.summary, "tags": [operation.tag],
            "operationId": f"{operation.method.lower()}_{openapi_path(operation.path)}",
            "responses": responses, **operation.extra}
    if operation.security:
        schemes = operation.security
        spec["security"] = [{scheme: []} for scheme in
                            ((schemes,) if isinstance(schemes, str) else schemes)]
    if operation.query is not None:
        spec.setdefault("parameters", []).append({"in": "query", "schema": operation.query})
    parameters = _PARAMETER.findall(operation.path)
    spec.setdefault("parameters", []).extend(
        {"in": "path", "name": name, "required": True, "schema": {"type": "string"}}
        for name in parameters)
    if not spec["parameters"]:
        del spec["parameters"]
    body = _request_body(operation)
    if body is not None:
        spec["requestBody"] = body
    return spec


def _null_means_null(node) -> None:
    """apispec writes a nullable nested schema (OpenAPI 3.0) as ``anyOf``: the
    schema, or ``{"type": "object", "nullable": true}`` - which takes any
    object, so the field would seem to take anything. ``enum: [null]``
    makes that alternative what it stands for: null."""
    if isinstance(node, dict):
        for option in node.get("anyOf", ()):
            if option == {"type": "object", "nullable": True}:
                option["enum"] = [None]
        for value in node.values():
            _null_means_null(value)
    elif isinstance(node, list):
        for value in node:
            _null_means_null(value)


@dataclass(frozen=True)
class Api:
    """What one service's document says of itself."""

    title: str
    version: str
    description: str
    service: str  # its nameko name, as the probes answer it
    security: dict[str, dict]  # scheme name -> the scheme (``bearer``)
    errors: dict[int, str]  # ``error_answers``
    operations: tuple[Operation, ...]
    error_schema: type[Schema] = ErrorSchema
    schemas: tuple[type[Schema], ...] = ()  # named components no operation names


# answers to a request no operation below matches, so listed by none of them
UNMATCHED = ("\n\nA request no operation matches is answered with the `Error` body: "
             "404 `unknown_path` for a path no operation serves, 405 `method_not_allowed` "
             "with an `Allow` header listing the methods the path takes.")


def build_document(described: Api) -> dict:
    """The whole OpenAPI 3.0 document of ``described``."""
    spec = APISpec(title=described.title, version=described.version, openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin(schema_name_resolver=schema_name)],
                   info={"description": described.description + UNMATCHED})
    for scheme, declared in described.security.items():
        spec.components.security_scheme(scheme, declared)
    spec.components.schema("Error", schema=described.error_schema)
    for status, description in described.errors.items():
        spec.components.response(f"Error{status}", _error(status, description))
    for schema in described.schemas:
        spec.components.schema(schema_name(schema), schema=schema)
    for operation in described.operations:
        spec.path(path=openapi_path(operation.path),
                  operations={operation.method.lower(): _operation(operation)})
    document = spec.to_dict()
    schemas = document["components"]["schemas"]
    for probe in PROBE_SCHEMAS:
        if schema_name(probe) in schemas:
            schemas[schema_name(probe)]["properties"]["service"]["example"] = described.service
    _null_means_null(document)
    return document


def cached_document(described: Api) -> Callable[[], dict]:
    """The function a service's document is read by: built at the first
    call, kept for the process."""
    @functools.lru_cache(maxsize=1)
    def openapi_document() -> dict:
        return build_document(described)
    return openapi_document


class ServesOpenApi:
    """Mixin serving the service's document (the service names its
    ``openapi_document``), no auth."""

    @api("GET", OPENAPI_PATH, budget=LOOKUPS)
    def openapi(self, request):
        """-> 200 this API as an OpenAPI 3 document (no auth)"""
        return json_response(200, self.openapi_document())
