"""HTTP entrypoint for JSON APIs, on top of nameko's ``http``.

What ``api`` adds to nameko's handler, through its public hooks only:
* admission before any work (``admission_refusal``): a body over
  ``MAX_BODY_BYTES`` gets 413 before it is read; when as many requests are in
  flight as the container has workers (``max_workers``), 503 + ``Retry-After``
  at once instead of a request that waits for a worker;
* the body is read by the server before a worker is spawned (also a chunked
  one, up to the limit), so a handler never waits on the network;
* errors become JSON (``response_from_exception``): a ``DomainError`` a 4xx /
  503 body naming the field, in the request's language; anything else a 500
  with no traceback (logged server-side).
Then nameko's own ``handle_request`` runs the worker.
"""

from __future__ import annotations

import json
import logging

from marshmallow import ValidationError
from nameko.extensions import SharedExtension
from nameko.web.handlers import HttpRequestHandler
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from .errors import (DatabaseUnavailable, DomainError, Msg, PayloadTooLarge, ServiceBusy,
                     ValidationFailed, flatten_field_errors)

log = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 64 * 1024
DEFAULT_RETRY_AFTER_SECONDS = 2


def request_language(request) -> str:
    """'en' when the client prefers English, else Bahasa Indonesia."""
    best = request.accept_languages.best_match(["id", "en"], default="id")
    return "en" if best == "en" else "id"


def json_response(status: int, body, headers: dict | None = None) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status,
                    headers=headers or {}, mimetype="application/json")


def read_json(request, schema):
    """Parse and load a JSON body through ``schema``; raise ValidationFailed."""
    try:
        data = json.loads(request.get_data(cache=True) or b"")
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed({"_body": [Msg("Isi permintaan bukan JSON yang valid.",
                                              "Request body is not valid JSON.")]}) from None
    if not isinstance(data, dict):
        raise ValidationFailed({"_body": [Msg("Isi permintaan harus objek JSON.",
                                              "Request body must be a JSON object.")]})
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise ValidationFailed(flatten_field_errors(exc.messages)) from None


def too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(Msg(f"Ukuran isi permintaan melebihi {limit} byte.",
                               f"Request body exceeds {limit} bytes."))


class Admission(SharedExtension):
    """Per container: its HTTP limits (read once) and the requests in flight."""

    def setup(self):
        config = self.container.config
        self.max_body_bytes = int(config.get("MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES))
        self.retry_after = str(config.get("RETRY_AFTER_SECONDS", DEFAULT_RETRY_AFTER_SECONDS))
        self.capacity = self.container.max_workers
        self.in_flight = 0


class _FailedResponse(Response):
    """An error on its way out; ``handle_request`` renders it in the request's
    language (nameko's ``response_from_exception`` does not see the request)."""

    def __init__(self, exc: Exception):
        super().__init__(status=500)
        self.exc = exc


class ApiHandler(HttpRequestHandler):
    admission = Admission()

    def __init__(self, method, url, **kwargs):
        # client errors are expected: nameko logs them as warnings, not crashes
        kwargs.setdefault("expected_exceptions", DomainError)
        super().__init__(method, url, **kwargs)

    def handle_request(self, request):
        lang = request_language(request)
        refusal = self.admission_refusal(request)
        if refusal is not None:
            return self.error_response(refusal, lang)
        self.admission.in_flight += 1
        try:
            response = super().handle_request(request)
        finally:
            self.admission.in_flight -= 1
        if isinstance(response, _FailedResponse):
            return self.error_response(response.exc, lang)
        return response

    def admission_refusal(self, request) -> DomainError | None:
        """Why this request is refused before any work, or None."""
        limit = self.admission.max_body_bytes
        if (request.content_length or 0) > limit:
            return too_large(limit)
        if self.admission.in_flight >= self.admission.capacity:
            return ServiceBusy()
        if request.method in ("POST", "PUT", "PATCH"):
            if request.content_length is None:
                # chunked: eventlet's input ends at the last chunk, so let
                # Werkzeug read it, bounded by the limit
                request.environ["wsgi.input_terminated"] = True
            # one byte over the limit tells a too-large chunked body apart
            request.max_content_length = limit + 1
            request.shallow = False  # nameko's WsgiApp builds it shallow
            try:
                if len(request.get_data(cache=True)) > limit:
                    return too_large(limit)
            except RequestEntityTooLarge:
                return too_large(limit)
        return None

    def response_from_exception(self, exc):
        return _FailedResponse(exc)

    def error_response(self, exc: Exception, lang: str) -> Response:
        if isinstance(exc, RequestEntityTooLarge):
            exc = too_large(self.admission.max_body_bytes)
        if isinstance(exc, (ServiceBusy, DatabaseUnavailable)):
            if isinstance(exc, DatabaseUnavailable):
                log.error("database unavailable in %s %s", self.method, self.url)
            return json_response(exc.status, exc.to_body(lang),
                                 {"Retry-After": self.admission.retry_after})
        if isinstance(exc, DomainError):
            return json_response(exc.status, exc.to_body(lang))
        log.error("unhandled error in %s %s: %s", self.method, self.url, type(exc).__name__,
                  exc_info=(type(exc), exc, exc.__traceback__))
        return json_response(500, {"error": {
            "code": "internal_error",
            "message": "Terjadi kesalahan pada server." if lang == "id" else "Internal server error."}})


api = ApiHandler.decorator


class HealthCheck:
    """Mixin giving a service ``GET /health``: 200 when its database answers,
    503 + Retry-After when not. The service declares ``store``."""

    @api("GET", "/health")
    def health(self, request):
        self.store.ping()
        return json_response(200, {"status": "ok", "service": self.name})
