"""HTTP entrypoint for JSON APIs, on top of nameko's ``http``.

What it adds to nameko's handler:
* request bodies over ``MAX_BODY_BYTES`` get 413 before the body is read;
* when every worker is busy, or the database cannot be reached, it answers
  503 with ``Retry-After`` at once instead of hanging or a bare 500;
* ``DomainError`` becomes a 4xx JSON body naming the field, in the request's
  language; any other exception a 500 with no traceback (logged server-side).
"""

from __future__ import annotations

import json
import logging
from functools import partial

from eventlet.event import Event
from marshmallow import ValidationError
from nameko.web.handlers import HttpRequestHandler
from pymongo.errors import ConnectionFailure
from werkzeug.wrappers import Response

from .errors import DomainError, Msg, PayloadTooLarge, ValidationFailed, flatten_field_errors

log = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 64 * 1024


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
                                              "Request body is not valid JSON.")]})
    if not isinstance(data, dict):
        raise ValidationFailed({"_body": [Msg("Isi permintaan harus objek JSON.",
                                              "Request body must be a JSON object.")]})
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise ValidationFailed(flatten_field_errors(exc.messages))


class ApiHandler(HttpRequestHandler):
    def __init__(self, method, url, **kwargs):
        # client errors are expected: nameko logs them as warnings, not crashes
        kwargs.setdefault("expected_exceptions", DomainError)
        super().__init__(method, url, **kwargs)

    def handle_request(self, request):
        lang = request_language(request)
        config = self.container.config
        limit = int(config.get("MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES))
        if (request.content_length or 0) > limit:
            return self.error_response(PayloadTooLarge(Msg(
                f"Ukuran isi permintaan melebihi {limit} byte.",
                f"Request body exceeds {limit} bytes.")), lang)
        if self.container._worker_pool.free() == 0:
            return self.busy_response(lang)
        request.shallow = False
        try:
            if request.content_length is None and request.method in ("POST", "PUT", "PATCH"):
                # chunked upload: Werkzeug hides a body without Content-Length,
                # so read the server's (de-chunking) input, at most limit+1 bytes
                data = request.environ["wsgi.input"].read(limit + 1)
                if len(data) > limit:
                    raise PayloadTooLarge(Msg(f"Ukuran isi permintaan melebihi {limit} byte.",
                                              f"Request body exceeds {limit} bytes."))
                request._cached_data = data
            context_data = self.server.context_data_from_headers(request)
            args, kwargs = self.get_entrypoint_parameters(request)
            self.check_signature(args, kwargs)
            event = Event()
            self.container.spawn_worker(self, args, kwargs, context_data=context_data,
                                        handle_result=partial(self.handle_result, event))
            return self.response_from_result(event.wait())
        except Exception as exc:
            return self.error_response(exc, lang)

    def busy_response(self, lang: str) -> Response:
        retry_after = str(self.container.config.get("RETRY_AFTER_SECONDS", 2))
        return json_response(503, {"error": {
            "code": "unavailable",
            "message": "Layanan sedang sibuk, silakan coba lagi." if lang == "id"
            else "Service busy, please retry."}}, {"Retry-After": retry_after})

    def error_response(self, exc, lang: str) -> Response:
        if isinstance(exc, DomainError):
            return json_response(exc.status, exc.to_body(lang))
        if isinstance(exc, ConnectionFailure):
            # the database is unreachable: nothing was stored, the client may retry
            log.error("database unavailable in %s %s: %s", self.method, self.url, type(exc).__name__)
            return self.busy_response(lang)
        log.error("unhandled error in %s %s: %s", self.method, self.url, type(exc).__name__,
                  exc_info=(type(exc), exc, exc.__traceback__))
        return json_response(500, {"error": {
            "code": "internal_error",
            "message": "Terjadi kesalahan pada server." if lang == "id" else "Internal server error."}})


api = ApiHandler.decorator
