"""HTTP entrypoint for JSON APIs, on top of nameko's ``http``.

What ``api`` adds to nameko's handler, through its public hooks only:
* admission before any work (``admission_refusal``): a body over
  ``MAX_BODY_BYTES`` (or an upload endpoint's own limit: ``max_body_bytes``,
  ``max_body_setting``) gets 413 before it is read; when the endpoint's
  admission budget is full, 503 + ``Retry-After`` at once (before the body is
  read or parsed, nothing touches the database) instead of a request that
  waits for a worker; so does every request while the service's database
  is known to be down (``StoreWithOutbox.reachable``), instead of waiting
  ``MONGO_TIMEOUT_MS`` to find out. Three budgets per container, so a flood of one kind never
  takes another's capacity: ``lookups`` (every GET, and endpoints declared
  ``budget="lookups"`` such as the citizen's status lookup;
  ``ADMISSION_LOOKUPS`` in flight), ``staff`` (endpoints declared
  ``budget="staff"``: the Dinas' operators keep verifying while citizens'
  submits are shed; ``ADMISSION_STAFF``), ``partners`` (a partner's
  callback that it does not send again, such as Pos' webhook: refused, its
  news would wait hours for polling; ``ADMISSION_PARTNERS``, default every
  worker: it waits for one rather than being refused) and ``writes`` (the
  rest; ``ADMISSION_WRITES``). Each other defaults to half the workers; a service keeps
  ``ADMISSION_WRITES`` near the concurrency its database serves best: more
  in flight only makes every request slower, and the refused ones retry.
  Probes (``budget=None``: health, metrics) are never refused. An endpoint
  declared ``new_work=True`` (intake's new applications) is also refused at
  once while the pipeline behind the service is too far behind
  (``PIPELINE_QUEUES``, ``shared.pipeline``);
* every answer is counted for Prometheus (``shared.metrics``), by endpoint and
  status, with its latency;
* the body is read by the server before a worker is spawned (also a chunked
  one, up to the limit), so a handler never waits on the network; a body that
  has not arrived within ``BODY_READ_SECONDS`` gets 408 and the connection is
  closed, and a connection silent for ``IDLE_CONNECTION_SECONDS`` is closed
  (``ApiServer``): a client that trickles costs one connection, not a worker;
* a body sent with a ``Content-Encoding`` (gzip, br ...; none, an empty one
  or ``identity`` is the body as sent) is refused before it is read (415
  naming ``Content-Encoding``);
* ``read_json`` refuses a body sent as anything but ``application/json``
  (415 naming ``Content-Type``), a body not in UTF-8 or giving a name twice
  in one object (400 on ``_body``), and, before any schema sees them, bodies
  nested deeper than ``MAX_JSON_DEPTH`` and strings no field should hold
  (control characters, line breaks, lone surrogates), each a 400 naming the
  field;
* the connection (``ApiProtocol``) refuses what could be read as another
  request than a proxy in front reads (request smuggling, ``shared.framing``):
  a header line read another way (whitespace before the colon, a folded
  line...), a body length given twice or two ways, a malformed chunked body;
  each answer closes the connection. It also answers eventlet's own refusals
  (an over-long URL or header) with the JSON error body;
* an answer without content (204, 304) goes out as headers only
  (``response_from_result``, ``Bodyless``);
* errors become JSON (``response_from_exception``): a ``DomainError`` a 4xx /
  503 body naming the field, in the request's language; anything else a 500
  with no traceback (logged server-side). So do routing's misses
  (``JsonRoutes``): a path no endpoint serves is a 404, a method the path
  does not take a 405 with ``Allow``; a path with an empty segment
  (``/jobs//printed``) is a 404, not the path werkzeug would merge it into.
* on stop (SIGTERM), new requests are refused at once (503
  ``service_stopping``, ``/health/ready`` 503 ``stopping``; ``/metrics``
  still answered), those in flight
  finish, and then the listener closes (``StopGate``, ``shared.stopping``).
Then nameko's own ``handle_request`` runs the worker.
"""

from __future__ import annotations

import collections
import functools
import importlib
import json
import logging
import math
import re
import socket
import time
from http import HTTPStatus

import eventlet
import eventlet.corolocal
from eventlet import wsgi
from eventlet.semaphore import Semaphore
from marshmallow import EXCLUDE, RAISE, Schema, ValidationError
from kombu import Connection
from nameko.extensions import DependencyProvider, SharedExtension
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import HttpOnlyProtocol, WebServer
from werkzeug import exceptions as werkzeug_errors
from werkzeug.datastructures import LanguageAccept
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge
from werkzeug.http import parse_accept_header
from werkzeug.routing import Map
from werkzeug.wrappers import Response

from . import metrics
from .errors import (DatabaseUnavailable, DomainError, MethodNotAllowed, Msg, RequestTimeout,
                     ServiceBusy, TooManyAttempts, UnknownPath, UnsupportedMediaType,
                     Unauthorized, ValidationFailed, field_label, flatten_field_errors,
                     refuse_repeated)
from .framing import (ChunkedBody, ProtocolRefusal, framing_problem, header_line_problem,
                      too_large)
from . import headers as header_blocks
from .logs import ACCESS_FORMAT
from .messaging import missing_from, republish_after, restore, topology_parts
from .mongo import DatabaseCheck, StoreWithOutbox
from .pipeline import Pipeline
from .runtime import FrozenStartupHeap
from .settings import InvalidSetting, integer, require, seconds
from .stopping import DEFAULT_STOP_DRAIN_SECONDS, ServiceStopping, Stopping
from .text_rules import one_line, text_problem

# every header block this process reads - the requests it answers, the
# answers of the partners it asks - without the e-mail parser where it
# would read it the same (``shared.headers``)
header_blocks.install()

log = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 64 * 1024
DEFAULT_RETRY_AFTER_SECONDS = 2
DEFAULT_BODY_READ_SECONDS = 10
DEFAULT_IDLE_CONNECTION_SECONDS = 30
MAX_JSON_DEPTH = 32
# the probes and the metrics (``HealthCheck``), which ``StopGate`` answers
# itself on stop
HEALTH_PATH, LIVE_PATH, READY_PATH = "/health", "/health/live", "/health/ready"
METRICS_PATH = "/metrics"
# the refusals at once of this long go in one line of the access log (``AccessLog``)
REFUSALS_LINE_SECONDS = 10

_IDEMPOTENCY_KEY = re.compile("[\x20-\x7e]{1,128}")
_ABSOLUTE_FORM = re.compile(r"https?://[^/?#]*", re.IGNORECASE)


def request_language(request) -> str:
    """'en' when the client prefers English, else Bahasa Indonesia."""
    return language_of(request.headers.get("Accept-Language"))


# a language range's primary subtag -> the language answered; ``in``: the
# code Indonesian had until 1989, still sent by older Android and Java
LANGUAGE_TAGS = {"id": "id", "in": "id", "en": "en"}


def language_of(accept_language: str | None) -> str:
    """``request_language`` from the header's value: the best of Bahasa
    Indonesia and English by the listed weights, each range by its primary
    subtag (``id-ID`` is ``id``, ``en-US`` is ``en``; ``*`` weighs the one
    not listed); a tie, or neither with a weight above 0: Bahasa. (werkzeug's ``best_match`` took
    an exact ``en`` before a regional ``id-ID`` whatever their weights:
    ``id-ID,en;q=0.5`` answered English.)"""
    weights: dict[str, float] = {}
    anything = 0.0  # ``*``: any language not listed (RFC 9110 12.5.4)
    for value, quality in parse_accept_header(accept_language, LanguageAccept):
        if value == "*":
            anything = max(anything, quality)
        elif (language := LANGUAGE_TAGS.get(re.split(r"[-_]", value.lower(),
                                                     maxsplit=1)[0])) is not None:
            weights[language] = max(weights.get(language, 0.0), quality)
    english, bahasa = weights.get("en", anything), weights.get("id", anything)
    return "en" if english > bahasa else "id"


def json_response(status: int, body, headers: dict | None = None) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status,
                    headers=headers or {}, mimetype="application/json")


# statuses whose answer ends with its headers (RFC 9110 6.4.1)
BODYLESS_STATUSES = frozenset({204, 304})


class Bodyless(Response):
    """An answer that ends with its headers: no body, no Content-Type, no
    Transfer-Encoding. Werkzeug's own hands eventlet an empty iterator of no
    known length, which eventlet 0.33 (the version nameko takes; fixed in
    0.38) sends as ``Transfer-Encoding: chunked`` followed by the last chunk,
    ``0\r\n\r\n`` - bytes after a 204 that strict clients (Node.js)
    reject. Handed an empty list, eventlet knows there is nothing to send; it
    then writes ``Content-Length: 0`` itself, which every client reads as the
    end it already knew (RFC 9112 6.3)."""

    default_mimetype = None

    def get_wsgi_headers(self, environ):
        headers = super().get_wsgi_headers(environ)
        for name in ("Content-Type", "Content-Length", "Transfer-Encoding"):
            headers.remove(name)
        return headers

    def get_app_iter(self, environ):
        return []


TOO_DEEP = Msg(f"Isi permintaan bersarang lebih dari {MAX_JSON_DEPTH} tingkat.",
               f"Request body is nested more than {MAX_JSON_DEPTH} levels deep.")
BAD_FIELD_NAME = Msg("Nama kolom memuat karakter yang tidak diizinkan.",
                     "Field name contains characters that are not allowed.")


def body_problems(data) -> dict[str, list]:
    """What no field should receive, wherever it sits in a parsed JSON body:
    nesting deeper than ``MAX_JSON_DEPTH`` (``_body``), and strings - values
    and names alike - with control characters, line breaks or lone surrogates
    (by dotted path, names shown by ``field_label``). One walk for every field
    of every API, before any schema (or BSON) sees the body."""
    problems: dict[str, list] = {}

    # a path is its names and indexes, shown only for a problem: each name's
    # ``field_label`` is ~2 us, and a submit's body has twenty-odd (63 -> 22 us)
    def visit(value, path: tuple, depth: int) -> None:
        if isinstance(value, (dict, list)) and depth > MAX_JSON_DEPTH:
            problems["_body"] = [TOO_DEEP]
        elif isinstance(value, dict):
            for name, item in value.items():
                if text_problem(name):
                    problems[shown_path(path + (name,))] = [BAD_FIELD_NAME]
                else:
                    visit(item, path + (name,), depth + 1)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                visit(item, path + (index,), depth + 1)
        elif isinstance(value, str) and (problem := text_problem(value)):
            problems[shown_path(path) or "_body"] = [problem]

    visit(data, (), 1)
    return problems


def shown_path(path: tuple) -> str:
    """A field's dotted path, its names as safe to echo (``field_label``)."""
    return ".".join(field_label(part) if isinstance(part, str) else str(part) for part in path)


def read_json(request, schema, partner_text: tuple[str, ...] = ()):
    """Parse and load a JSON body through ``schema``; raise ValidationFailed,
    or UnsupportedMediaType (415) for a body sent as anything but
    ``application/json`` - with no ``charset`` or ``charset=utf-8``: a body
    declared in another was read as UTF-8 and stored garbled. No body is no
    JSON: a 400 on ``_body``. ``partner_text``: a partner's free-text fields,
    taken as one line (``load_json``)."""
    raw = request.get_data(cache=True)
    if raw:
        check_json_type(request.mimetype, request.mimetype_params)
    return load_json(raw, schema, partner_text)


def check_json_type(mimetype: str, params: dict) -> None:
    """Raise UnsupportedMediaType (415 naming ``Content-Type``) unless a body
    is declared ``application/json`` with no ``charset`` or
    ``charset=utf-8``: ``mimetype`` and ``params`` as werkzeug reads a
    content type (``parse_options_header``, the media type in lower case) -
    HTTP's ``read_json`` and the broker channel's."""
    if mimetype != "application/json":
        raise unsupported_media_type(mimetype, "application/json")
    check_charset(mimetype, params)


def check_charset(mimetype: str, params: dict, accepted: tuple[str, ...] = ("utf-8",)) -> None:
    """Raise UnsupportedMediaType (415 naming ``Content-Type``) for a body
    declared in a charset not ``accepted`` (lower case): a body declared in
    another was read as UTF-8 and stored garbled. No charset: UTF-8."""
    if (charset := params.get("charset")) is not None and \
            charset.strip().lower() not in accepted:
        raise unsupported_charset(charset, mimetype)


def unsupported_charset(charset: str, mimetype: str = "application/json") -> UnsupportedMediaType:
    """415 naming ``Content-Type``: a charset other than UTF-8 (the one sent)."""
    sent = field_label(charset)
    message = Msg(f"Kirim isi permintaan sebagai {mimetype} dalam UTF-8 (dikirim: "
                  f"charset={sent}).",
                  f"Send the body as {mimetype} in UTF-8 (got: charset={sent}).")
    return UnsupportedMediaType(message, {"Content-Type": [message]})


def unsupported_media_type(mimetype: str, *accepted: str) -> UnsupportedMediaType:
    """415 naming ``Content-Type``: the type sent (``mimetype``: its media
    type without parameters, lower case), and the ``accepted`` ones."""
    sent = field_label(mimetype)
    message = Msg(f"Kirim isi permintaan sebagai {' atau '.join(accepted)} (dikirim: "
                  f"{sent or 'tanpa Content-Type'}).",
                  f"Send the body as {' or '.join(accepted)} (got: {sent or 'no Content-Type'}).")
    return UnsupportedMediaType(message, {"Content-Type": [message]})


NOT_JSON = Msg("Isi permintaan bukan JSON yang valid.", "Request body is not valid JSON.")
NOT_UTF8 = Msg("Isi permintaan harus JSON dalam UTF-8.", "Request body must be JSON in UTF-8.")
NOT_UTF8_PARAMETER = Msg("Harus teks UTF-8.", "Must be UTF-8 text.")


def _no_constant(name: str):
    raise ValueError(f"{name} is JavaScript's, not JSON's")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999
        raise ValueError(f"{text} is no finite number")
    return value


def json_document(text, **kwargs):
    """``json.loads`` of JSON only (RFC 8259): Python's parser also takes
    ``NaN``, ``Infinity`` and ``-Infinity``, and reads ``1e999`` as an
    infinity - none a number any field takes, each a ``ValueError`` here."""
    return json.loads(text, parse_constant=_no_constant, parse_float=_finite, **kwargs)


class _RepeatedName(ValueError):
    """A name given twice in one JSON object (``_one_value_per_name``)."""

    def __init__(self, name: str):
        super().__init__(name)
        self.name = name


def _one_value_per_name(pairs: list) -> dict:
    """An object's members, each name once. ``json`` keeps the last of a
    repeated name: ``{"channel": "bogus", "channel": "web"}`` would pass as
    "web" here while another reader of the same bytes (a proxy, a log, a
    partner's check) takes "bogus"."""
    members = dict(pairs)
    if len(members) < len(pairs):
        seen = set()
        for name, _ in pairs:
            if name in seen:
                raise _RepeatedName(name)
            seen.add(name)
    return members


def identity_only(content_encoding: str) -> bool:
    """Whether a ``Content-Encoding`` value names no coding but ``identity``:
    an empty one names none (empty list elements are ignored, RFC 9110
    5.6.1)."""
    return all(coding.strip(" \t").lower() in ("", "identity")
               for coding in content_encoding.split(","))


def unsupported_encoding(content_encoding: str) -> UnsupportedMediaType:
    """415 naming ``Content-Encoding`` (the value sent): bodies are taken as
    sent (a gzip body was read as broken JSON, a plain one labelled gzip as
    plain)."""
    sent = field_label(content_encoding)
    message = Msg(f"Kirim isi permintaan tanpa Content-Encoding (dikirim: {sent}).",
                  f"Send the body without a Content-Encoding (got: {sent}).")
    return UnsupportedMediaType(message, {"Content-Encoding": [message]})


def load_json(raw: bytes, schema, partner_text: tuple[str, ...] = ()):
    """``read_json`` for a body that came another way (the broker channel):
    the same checks, the same errors. The body is UTF-8 (a byte-order mark
    before it is ignored, RFC 8259 8.1): ``json`` would also guess UTF-16
    and UTF-32 from the bytes. Without a byte-order mark, UTF-16 and UTF-32
    JSON is ASCII and NUL bytes - valid UTF-8, but no JSON: told apart, as
    RFC 4627 3 did, by a NUL in the first four bytes. A name given twice in
    one object, at any depth, is refused naming it (``_one_value_per_name``).
    A partner's payload (``partner_text``: the free-text fields it may send
    in several lines - a partner does not send a refused one again) keeps
    those fields as one line (``text_rules.one_line``), and the fields its
    schema ignores (``unknown = EXCLUDE``) are not checked either."""
    if b"\x00" in (raw or b"")[:4]:
        raise ValidationFailed({"_body": [NOT_UTF8]})
    try:
        text = (raw or b"").decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationFailed({"_body": [NOT_UTF8]}) from None
    try:
        data = json_document(text, object_pairs_hook=_one_value_per_name)
    except _RepeatedName as repeated:
        name = field_label(repeated.name)
        raise ValidationFailed({"_body": [Msg(
            f"Nama kolom \"{name}\" muncul lebih dari sekali dalam satu objek.",
            f"Field name \"{name}\" appears more than once in one object.")]}) from None
    except ValueError:
        raise ValidationFailed({"_body": [NOT_JSON]}) from None
    except RecursionError:  # the parser's own limit, far beyond ours
        raise ValidationFailed({"_body": [TOO_DEEP]}) from None
    if not isinstance(data, dict):
        raise ValidationFailed({"_body": [Msg("Isi permintaan harus objek JSON.",
                                              "Request body must be a JSON object.")]})
    if partner_text:
        data = partner_payload(data, schema, partner_text)
    return load_checked(schema, data)


def partner_payload(data: dict, schema, free_text: tuple[str, ...]) -> dict:
    """``data`` without the fields ``schema`` ignores, ``free_text`` as one line."""
    taken = {field.data_key or name for name, field in schema.load_fields.items()}
    if schema.unknown == EXCLUDE:
        data = {name: value for name, value in data.items() if name in taken}
    return {name: one_line(value) if name in free_text and isinstance(value, str) else value
            for name, value in data.items()}


def read_query(request, schema):
    """Load the query string through ``schema``, with the body's checks
    (``load_checked``): 400 naming the parameter. A parameter given more than
    once is refused, not read as its first value (which one a client meant
    is not ours to guess). An unknown one is the schema's to decide: every
    query schema refuses it (``unknown = RAISE``) but public verification's,
    which ignores it (``printing.api_documents.TokenQuerySchema``)."""
    args = query_args(request)
    refuse_repeated(args)
    return load_checked(schema, args.to_dict())


def query_args(request):
    """``request.args``, or 400 naming each parameter whose raw bytes are not
    UTF-8: werkzeug decodes the query string strictly, and a raw byte over
    0x7f (``?token=<0xff>``, not ``%ff``) was a 500 and a logged traceback."""
    try:
        return request.args
    except UnicodeDecodeError:
        pass
    named = {}
    for part in request.query_string.split(b"&"):
        try:
            part.decode("utf-8")
        except UnicodeDecodeError:
            name = part.partition(b"=")[0].decode("utf-8", "replace")
            named[field_label(name)] = [NOT_UTF8_PARAMETER]
    raise ValidationFailed(named)


def read_no_query(request) -> None:
    """For an endpoint that takes no query parameters: any given is refused,
    400 naming it, as a query schema refuses one it does not take."""
    read_query(request, NoBodySchema())


def load_checked(schema, data: dict):
    """``schema.load(data)`` after ``body_problems``; either failing is a 400
    naming the field."""
    if problems := body_problems(data):
        raise ValidationFailed(problems)
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise ValidationFailed(flatten_field_errors(exc.messages)) from None


def idempotency_key(request) -> str | None:
    """The request's ``Idempotency-Key`` header, or None when it is absent.
    It is stored and indexed: 1-128 printable ASCII characters (a UUID fits),
    else 400 naming the header."""
    return checked_key(request.headers.get("Idempotency-Key"), "Idempotency-Key")


def checked_key(key: str | None, name: str) -> str | None:
    """An idempotency key as stored and indexed (None: there is none), or 400
    naming ``name``: the header, or the broker channel's ``request_id``."""
    if key is not None and not _IDEMPOTENCY_KEY.fullmatch(key):
        raise ValidationFailed({name: [Msg(
            "Harus 1-128 karakter ASCII yang dapat dicetak (misalnya UUID).",
            "Must be 1-128 printable ASCII characters (e.g. a UUID).")]})
    return key


def too_slow(request, seconds: float) -> RequestTimeout:
    """The 408 for a body that did not arrive in time, after shutting the
    reading side of its connection: eventlet would otherwise read and discard
    the rest of the body to keep the connection for a next request - from a
    trickling client, for as long as it trickles. Shut, the answer still goes
    out, and the connection closes."""
    body = request.environ.get("eventlet.input")
    if body is not None:
        try:
            body.get_socket().shutdown(socket.SHUT_RD)
        except OSError:
            pass  # already gone
    return RequestTimeout(Msg(f"Isi permintaan tidak diterima lengkap dalam {seconds:g} detik.",
                              f"Request body not received in full within {seconds:g} seconds."))


WRITES, LOOKUPS, STAFF, PARTNERS = "writes", "lookups", "staff", "partners"


def internal_error_body(lang: str) -> dict:
    """The answer to an error nobody expected: no detail leaves the service."""
    return {"error": {"code": "internal_error", "message": "Terjadi kesalahan pada server."
                      if lang == "id" else "Internal server error."}}


class Admission(SharedExtension):
    """Per container: its HTTP limits (read once), the requests in flight, by
    budget (``WRITES``, ``LOOKUPS``, ``STAFF``), and - where ``PIPELINE_QUEUES`` names
    queues - how far the pipeline behind the service is behind
    (``shared.pipeline``): new work (``api(..., new_work=True)``) is refused
    while it is too far behind."""

    pipeline = Pipeline()

    def setup(self):
        config = self.container.config
        self.databases = [provider for provider in self.container.dependencies
                          if isinstance(provider, StoreWithOutbox)]
        self.max_body_bytes = integer(config, "MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES)
        self.retry_after = str(integer(config, "RETRY_AFTER_SECONDS", DEFAULT_RETRY_AFTER_SECONDS))
        self.body_read_seconds = seconds(config, "BODY_READ_SECONDS", DEFAULT_BODY_READ_SECONDS)
        half = max(1, self.container.max_workers // 2)
        # at least one each: a budget of 0 refuses every request of its kind
        self.capacity = {WRITES: integer(config, "ADMISSION_WRITES", half, minimum=1),
                         LOOKUPS: integer(config, "ADMISSION_LOOKUPS", half, minimum=1),
                         STAFF: integer(config, "ADMISSION_STAFF", half, minimum=1),
                         PARTNERS: integer(config, "ADMISSION_PARTNERS",
                                           self.container.max_workers, minimum=1)}
        self.in_flight = dict.fromkeys(self.capacity, 0)

    @functools.cache
    def busy_body(self, lang: str) -> bytes:
        return json.dumps(ServiceBusy().to_body(lang), ensure_ascii=False).encode()

    def full(self, budget: str | None, new_work: bool = False) -> bool:
        if new_work and self.pipeline.behind():
            return True
        return budget is not None and self.in_flight[budget] >= self.capacity[budget]

    def database_down(self) -> bool:
        return not all(database.reachable() for database in self.databases)


URI_TOO_LONG = ProtocolRefusal(414, "uri_too_long", Msg(
    f"Baris permintaan (metode dan URL) terlalu panjang: batasnya {wsgi.MAX_REQUEST_LINE} byte.",
    f"Request line (method and URL) too long: the limit is {wsgi.MAX_REQUEST_LINE} bytes."))
HEADERS_TOO_LARGE = ProtocolRefusal(431, "headers_too_large", Msg(
    f"Header permintaan terlalu besar (per baris maksimal {wsgi.MAX_HEADER_LINE} byte, "
    f"seluruhnya {wsgi.MAX_TOTAL_HEADER_SIZE} byte, 100 baris).",
    f"Request headers too large (at most {wsgi.MAX_HEADER_LINE} bytes a line, "
    f"{wsgi.MAX_TOTAL_HEADER_SIZE} in all, 100 lines)."))
UNREADABLE = ProtocolRefusal(400, "bad_request", Msg(
    "Permintaan HTTP tidak dapat dibaca.", "The HTTP request cannot be read."))
VERSION_NOT_SUPPORTED = ProtocolRefusal(505, "http_version_not_supported", Msg(
    "Versi HTTP tidak didukung; gunakan HTTP/1.1.", "HTTP version not supported; use HTTP/1.1."))


class _LinesRead:
    """A reader that keeps the lines read through it: the header lines as
    sent, before the standard library's parser reads them its own way."""

    def __init__(self, rfile):
        self.rfile = rfile
        self.lines: list[bytes] = []

    def readline(self, size: int = -1) -> bytes:
        line = self.rfile.readline(size)
        self.lines.append(line)
        return line


# the environ key of a chunked request's ``ChunkedBody``
CHUNKED_BODY = "shared.http.chunked_body"
# the environ key of ``ApiProtocol.close_after_answer`` (``StopGate``)
CLOSE_AFTER_ANSWER = "shared.http.close_after_answer"


class ApiProtocol(HttpOnlyProtocol):
    """eventlet's HTTP/1.1 connection (eventlet 0.33, as nameko takes it),
    refusing what it would take or answer outside the API's error body:

    * a header line the standard library's parser would read another way
      than a proxy may (``header_line_problem``: whitespace before the
      colon, a folded line, no colon, a name not a token, a control
      character in a value, bare LF and CRLF line ends mixed in the request
      line and headers): 400 ``bad_request`` naming the problem - the
      parser dropped ``Content-Length : 35`` and every line after it, and
      the body was answered as the next request;
    * a request whose body length can be read two ways (``framing_problem``):
      400 naming the header, and the connection is closed - eventlet read a
      second ``Content-Length`` as none, and the rest of the body as the
      next request;
    * a chunked body read another way than RFC 9112 has it (``ChunkedBody``,
      answered by ``ApiHandler``: 400 naming ``Transfer-Encoding``, or 413
      for a chunk over the body limit), and the connection is closed;
    * a request line over ``MAX_REQUEST_LINE`` (414), a header line or all
      headers too large (431), a line HTTP cannot read (400, 505): eventlet
      and the standard library answer these with an empty or HTML body.

    Each refusal is the JSON error body (in Bahasa Indonesia, or English when
    the headers were read - up to a bad line - and ask for it), then the
    connection closes."""

    def _read_request_line(self):
        # eventlet's own answer to an over-long line is an empty 414; an
        # empty line is "no request" to it, and it closes the connection
        line = super()._read_request_line()
        if len(line) >= self.server.url_length_limit:
            self.refuse(URI_TOO_LONG, "id")
            return b""
        return line

    def parse_request(self):
        # eventlet swaps rfile for its header reader the same way
        header_lines = self.rfile = _LinesRead(self.rfile)
        try:
            if not super().parse_request():
                return False
        except (wsgi.HeaderLineTooLong, wsgi.HeadersTooLarge):
            self.refuse(HEADERS_TOO_LARGE, "id")
            return False
        finally:
            self.rfile = header_lines.rfile
        problem = (header_line_problem(header_lines.lines, self.raw_requestline)
                   or framing_problem(self.headers))
        if problem is not None:
            self.refuse(problem, language_of(self.headers.get("Accept-Language")))
            return False
        # the standard library makes ``//a/b`` ``/a/b`` (a guard for its own
        # file server's redirects): the path as sent, so that ``JsonRoutes``
        # sees the empty segment (404) as it does anywhere else in a path
        target = self.requestline.split()[1]
        if target.startswith("//"):
            self.path = target
        elif absolute := _ABSOLUTE_FORM.match(target):
            # RFC 9112 3.2.2: a server must accept the absolute form
            # (``GET http://host/health``), which a client sends to a proxy;
            # the path is what follows the authority (the Host header is not
            # read here, so there is nothing to replace)
            rest = target[absolute.end():]
            self.path = rest if rest.startswith("/") else f"/{rest}"
        return True

    def get_environ(self):
        environ = self._environ()
        environ[CLOSE_AFTER_ANSWER] = self.close_after_answer
        if self.headers.get("Content-Type") is None:
            # eventlet puts the standard library's default type, text/plain,
            # for a request without the header: a 415 said "got: text/plain"
            # to a client that sent none (WSGI: absent is "not given")
            environ.pop("CONTENT_TYPE", None)
        return environ

    def _environ(self):
        # eventlet's Input reads a chunked body from rfile: through a
        # ``ChunkedBody``, which checks each line (the connection itself
        # reads the next request from rfile as it is)
        if (self.headers.get("Transfer-Encoding") or "").strip(" \t").lower() != "chunked":
            return super().get_environ()
        connection = self.rfile
        chunks = self.rfile = ChunkedBody(connection, self.close_after_answer)
        try:
            environ = super().get_environ()
        finally:
            self.rfile = connection
        environ[CHUNKED_BODY] = chunks
        return environ

    def close_after_answer(self) -> None:
        """The answer says ``Connection: close`` and nothing after it is
        read: eventlet would otherwise read the rest of the body, and after
        it the next request."""
        self.close_connection = 1

    def send_error(self, code, message=None, explain=None):
        # the standard library's refusals while parsing: a request line or
        # version it cannot read, too many headers
        refusal = {431: HEADERS_TOO_LARGE, 505: VERSION_NOT_SUPPORTED}.get(code, UNREADABLE)
        self.refuse(refusal, "id")

    def refuse(self, error: DomainError, lang: str) -> None:
        """Answer ``error`` before the app sees the request, and close: the
        headers every answer carries (``PRIVATE_ANSWER``) included."""
        body = json.dumps(error.to_body(lang), ensure_ascii=False).encode()
        private = "".join(f"{name}: {value}\r\n" for name, value in PRIVATE_ANSWER)
        self.wfile.write(
            f"HTTP/1.1 {error.status} {HTTPStatus(error.status).phrase}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            f"{private}Connection: close\r\n\r\n".encode() + body)
        self.close_connection = 1


class AccessLog:
    """eventlet's access log - a line a request, through the personal-data
    filter - except for the 503s ``RefuseAtOnce`` answers a full budget
    with: those are counted per method and path, and written as one line
    (WARNING) every ``REFUSALS_LINE_SECONDS`` while they last. At 4x its
    capacity intake refuses hundreds a second: a line each cost it ~4 % of
    its CPU in the logging alone, and buried the lines of what it took
    (bench/README.md, fiftieth session); the metrics count each one still.

    eventlet writes a request's line in the green thread that ran the app
    for it, straight after the answer: a refusal marks that thread
    (``refused``), and the line then written there is counted instead
    (``info``). Every request clears the mark first (``StopGate``)."""

    def __init__(self, logger: logging.Logger):
        self.logger = logger
        self._mark = eventlet.corolocal.local()
        self._refused: collections.Counter = collections.Counter()
        self._writer = None

    def begin(self) -> None:
        self._mark.refused = None

    def refused(self, method: str, path: str) -> None:
        self._mark.refused = (method, path)

    def info(self, line, *args, **kwargs) -> None:
        refused = getattr(self._mark, "refused", None)
        if refused is None:
            self.logger.info(line, *args, **kwargs)
            return
        self._mark.refused = None
        self._refused[refused] += 1
        if self._writer is None:
            self._writer = eventlet.spawn_after(REFUSALS_LINE_SECONDS, self.write_refusals)

    def write_refusals(self) -> None:
        """The line of the refusals counted since the last one, if any."""
        counted, self._refused = self._refused, collections.Counter()
        if self._writer is not None:
            self._writer.cancel()  # written now: the one scheduled has nothing left
            self._writer = None
        if counted:
            self.logger.warning("refused %d request(s) with 503 (busy, answered at once) in the "
                                "last %ss or less: %s", sum(counted.values()),
                                REFUSALS_LINE_SECONDS, ", ".join(
                                    f"{method} {path} {count}"
                                    for (method, path), count in sorted(counted.items())))

    def __getattr__(self, name):  # debug, error: eventlet's other lines, as they were
        return getattr(self.logger, name)


class ApiServer(WebServer):
    """nameko's web server, with a timeout on every socket operation of a
    client connection (``IDLE_CONNECTION_SECONDS``): a connection that sends
    nothing - before its first request, between keep-alive requests, or in the
    middle of one - or reads nothing of its answer is closed after that long.
    (nameko's own server waits on a silent client forever.) Connections speak
    ``ApiProtocol``. On stop, ``StopGate`` and ``shared.stopping.Stopping``:
    new requests refused, those in flight finished, then the listener closed
    (``close_listener``) - not, as nameko's, once the dependencies are gone."""

    admission = Admission()

    def setup(self):
        config = self.container.config
        self.idle_seconds = seconds(config, "IDLE_CONNECTION_SECONDS",
                                   DEFAULT_IDLE_CONNECTION_SECONDS)
        self.stopping = Stopping(self.container.service_name,
                                 seconds(config, "STOP_DRAIN_SECONDS", DEFAULT_STOP_DRAIN_SECONDS),
                                 self.close_listener)
        self.listener = self.accepting = None
        self.access_log = AccessLog(logging.getLogger("nameko.web.server"))

    def start(self):
        refuse_an_address_in_use(self.bind_addr)
        self.stopping.watch_signals()
        super().start()

    def run(self):
        # the greenthread accepting connections, for ``close_listener``
        self.accepting = eventlet.getcurrent()
        super().run()

    def close_listener(self) -> None:
        """New connections are refused from here on: the accepting
        greenthread ends first (a socket closed under it leaves it waiting)."""
        if self.accepting is not None:
            self.accepting.kill()
        if self.listener is not None:
            self.listener.close()

    def stop(self):
        super().stop()
        self.stopping.stopped()
        self.access_log.write_refusals()  # what was counted, not left unwritten

    def kill(self):
        super().kill()
        self.stopping.forget_signals()
        self.access_log.write_refusals()  # now, not from a timer outliving the server

    def get_wsgi_server(self, sock, wsgi_app, protocol=ApiProtocol, debug=False):
        self.listener = sock
        return wsgi.Server(sock, sock.getsockname(), wsgi_app, protocol=protocol, debug=debug,
                           log=self.access_log, log_format=ACCESS_FORMAT,
                           socket_timeout=self.idle_seconds)

    def get_wsgi_app(self):
        app = super().get_wsgi_app()
        return StopGate(RefuseAtOnce(app, app.url_map, self.access_log), self.stopping,
                        self.admission, self.access_log)

    def make_url_map(self):
        # nameko's rules, in a map whose misses are JSON error bodies
        routes = JsonRoutes([rule.empty() for rule in super().make_url_map().iter_rules()])
        routes.service = self.container.service_name
        return routes


def refuse_an_address_in_use(address: tuple[str, int]) -> None:
    """nameko listens with ``SO_REUSEPORT`` (eventlet's default), so a second
    copy of a service - a stale one after a restart, another ``make run``,
    a port two units were given - bound the same address without an error
    and took half its requests (outside audit P3: /health/ready of one
    service answered as another 4 times in 6). A bind without it fails
    while anything listens there: the service refuses to start instead."""
    host, port = address
    if not port:
        return  # any free port: nothing to collide with
    probe = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    try:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is no one
        probe.bind((host, port))
    except OSError as exc:
        raise InvalidSetting("WEB_SERVER_ADDRESS", f"{host}:{port} is in use by another "
                             f"process (another copy of this service?): {exc.strerror}") from None
    finally:
        probe.close()


NO_SUCH_PATH = Msg("Alamat ini tidak ada di API ini.", "No such path in this API.")


class JsonRoutes(Map):
    """A URL map whose misses answer with the JSON error body, in the
    request's language: a path no endpoint serves 404 ``unknown_path``, a
    method the path does not take 405 ``method_not_allowed`` with ``Allow``.
    nameko's ``WsgiApp`` renders the ``HTTPException`` that routing raises;
    werkzeug's own are HTML, in English. Each miss is counted in the request
    metrics under the endpoint ``<unmatched>`` (the path itself would make a
    label per probe of a scanner)."""

    service = ""

    def bind_to_environ(self, environ, server_name=None, subdomain=None):
        return _JsonMisses(super().bind_to_environ(environ, server_name, subdomain), environ,
                           self.service)


class _JsonMisses:
    """A bound ``JsonRoutes``: nameko asks it ``match()`` only."""

    def __init__(self, adapter, environ, service: str):
        self.adapter = adapter
        self.environ = environ
        self.service = service

    def match(self, *args, **kwargs):
        # werkzeug merges slashes (and drops leading ones) before it matches:
        # ``/jobs//printed``, an empty job id, was the batch report's
        # ``/jobs/printed``. An empty segment is in no path of these APIs.
        if "//" in self.environ.get("PATH_INFO", ""):
            raise werkzeug_errors.NotFound(response=self.answer(UnknownPath(NO_SUCH_PATH)))
        try:
            return self.adapter.match(*args, **kwargs)
        except werkzeug_errors.MethodNotAllowed as miss:
            allowed = ", ".join(sorted(miss.valid_methods))
            wrong = MethodNotAllowed(Msg(f"Metode ini tidak diterima di sini; gunakan {allowed}.",
                                         f"This method is not accepted here; use {allowed}."))
            raise werkzeug_errors.MethodNotAllowed(
                response=self.answer(wrong, {"Allow": allowed})) from None
        except werkzeug_errors.NotFound:
            raise werkzeug_errors.NotFound(
                response=self.answer(UnknownPath(NO_SUCH_PATH))) from None

    def answer(self, error: DomainError, headers: dict | None = None) -> Response:
        metrics.observe_request(self.service, "<unmatched>", self.environ.get("REQUEST_METHOD", ""),
                                error.status, 0.0)
        lang = language_of(self.environ.get("HTTP_ACCEPT_LANGUAGE"))
        return json_response(error.status, error.to_body(lang), headers)


PRIVATE_ANSWER = (("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff"))


class RefuseAtOnce:
    """WSGI in front of nameko's app: a request for a fixed path (no ``<id>``
    in it) whose budget is full is answered 503 here, from a body rendered
    once, before nameko builds a request, routes it or renders an error. An
    overloaded service spends its time on the requests it admitted, not on
    the ones it refuses (``bench/request_cost.py --kind refusal`` measures
    what a refusal costs). Everything else - and a refusal this cannot tell
    (a path with an id, a body over the limit: 413 first) - goes on to
    ``handle_request``."""

    def __init__(self, app, url_map, access_log: AccessLog):
        self.app = app
        self.access_log = access_log
        self.fixed = {(method, rule.rule): rule.endpoint for rule in url_map.iter_rules()
                      if "<" not in rule.rule and isinstance(rule.endpoint, ApiHandler)
                      for method in rule.methods}

    def __call__(self, environ, start_response):
        def private(status, headers, exc_info=None):
            """Every answer's defaults (an endpoint may set its own
            Cache-Control): answers carry personal data - a NIK, a phone, a
            name - so no cache keeps one, and none is read as another type."""
            present = {name.lower() for name, _ in headers}
            headers = [*headers, *(header for header in PRIVATE_ANSWER
                                   if header[0].lower() not in present)]
            if exc_info is None:
                return start_response(status, headers)
            return start_response(status, headers, exc_info)
        return self.refuse_or_pass(environ, private)

    def refuse_or_pass(self, environ, start_response):
        handler = self.fixed.get((environ["REQUEST_METHOD"], environ.get("PATH_INFO")))
        if handler is None or not handler.admission.full(handler.budget, handler.new_work):
            return self.app(environ, start_response)
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return self.app(environ, start_response)
        if length > handler.max_body_bytes:
            return self.app(environ, start_response)
        self.access_log.refused(environ["REQUEST_METHOD"], environ["PATH_INFO"])
        return handler.refuse_at_once(environ, start_response)


def probe_body(status: str, service: str) -> dict:
    return {"status": status, "service": service}


# what ``StopGate`` answers itself, with no worker (``HealthCheck``'s routes
# document them)
AT_ONCE = frozenset({LIVE_PATH, METRICS_PATH})


def bodiless(environ) -> bool:
    """Whether a request says it sends no body, in no coding: as a probe or
    a scrape asks. One that does goes the way of every request, to the
    answer any endpoint gives it (a compressed body: 415)."""
    return not environ.get("CONTENT_LENGTH", "").strip("0") \
        and not environ.get("HTTP_TRANSFER_ENCODING") \
        and identity_only(environ.get("HTTP_CONTENT_ENCODING", ""))


def probe_answer(path: str, service: str) -> tuple[bytes, str] | None:
    """``/metrics``' or ``/health/live``'s 200 (body, content type), answered
    with no worker (``StopGate``); None for any other path."""
    if path == METRICS_PATH:  # the registry, and the outbox count's bounded read
        return metrics.exposition()
    if path == LIVE_PATH:
        return (json.dumps(probe_body("live", service), ensure_ascii=False).encode(),
                "application/json")
    return None


class StopGate:
    """WSGI in front of everything: counts the requests in flight
    (``Stopping.admitted``), and once the service is stopping answers every
    new one itself - no worker, no database (the metrics' outbox count aside,
    a read bounded as at any scrape) - with the connection closed:
    ``/health/live`` 200 (the process still answers), ``/health/ready`` and
    ``/health`` 503 ``stopping``, ``/metrics`` 200 (what the service counts
    while it stops, its ``<stopping>`` answers too, can still be scraped),
    anything else 503 ``service_stopping``, both 503s with ``Retry-After``.
    An answer in flight that starts after the stop
    began goes out as it would, with ``Connection: close``: the client's next
    request goes to another instance."""

    def __init__(self, app, stopping: Stopping, admission: Admission, access_log: AccessLog):
        self.app = app
        self.stopping = stopping
        self.admission = admission
        self.access_log = access_log

    def __call__(self, environ, start_response):
        self.access_log.begin()
        if self.stopping.refusing:
            return self.refuse(environ, start_response)
        if environ.get("REQUEST_METHOD") == "GET" and environ.get("PATH_INFO") in AT_ONCE \
                and bodiless(environ):
            return self.at_once(environ, start_response)
        self.stopping.admitted(environ)

        def closing(status, headers, exc_info=None):
            if self.stopping.refusing:
                environ[CLOSE_AFTER_ANSWER]()
            return start_response(status, headers, exc_info)
        return self.app(environ, closing)

    def at_once(self, environ, start_response):
        """``/health/live`` and ``/metrics``, answered here - no worker: with
        every worker busy (a burst of Pos webhooks each waiting out a frozen
        database) a probe waited behind them, and a supervisor restarted a
        service that was working (a review)."""
        path, service = environ["PATH_INFO"], self.stopping.service
        payload, content_type = probe_answer(path, service)
        metrics.observe_request(service, path, "GET", 200, 0.0)
        start_response("200 OK", [("Content-Type", content_type),
                                  ("Content-Length", str(len(payload))), *PRIVATE_ANSWER])
        return [payload]

    def refuse(self, environ, start_response):
        environ[CLOSE_AFTER_ANSWER]()
        service = self.stopping.service
        path, method = environ.get("PATH_INFO"), environ.get("REQUEST_METHOD", "")
        retry = [("Retry-After", self.admission.retry_after)]
        content_type = "application/json"
        if method == "GET" and (answer := probe_answer(path, service)) is not None:
            (payload, content_type), status, retry = answer, 200, []
        else:
            if method == "GET" and path in (READY_PATH, HEALTH_PATH):
                status, body = 503, probe_body("stopping", service)
            else:
                refusal = ServiceStopping()
                status = refusal.status
                body = refusal.to_body(language_of(environ.get("HTTP_ACCEPT_LANGUAGE")))
            payload = json.dumps(body, ensure_ascii=False).encode()
        metrics.observe_request(service, "<stopping>", method, status, 0.0)
        start_response(f"{status} {HTTPStatus(status).phrase}", [
            ("Content-Type", content_type), ("Content-Length", str(len(payload))),
            *PRIVATE_ANSWER, *retry])
        return [payload]


class _FailedResponse(Response):
    """An error on its way out; ``handle_request`` renders it in the request's
    language (nameko's ``response_from_exception`` does not see the request)."""

    def __init__(self, exc: Exception):
        super().__init__(status=500)
        self.exc = exc


class ApiHandler(HttpRequestHandler):
    server = ApiServer()
    admission = Admission()
    runtime = FrozenStartupHeap()

    def __init__(self, method, url, max_body_bytes: int | None = None,
                 max_body_setting: str | None = None, budget: str | None = "",
                 new_work: bool = False, **kwargs):
        # client errors are expected: nameko logs them as warnings, not crashes
        kwargs.setdefault("expected_exceptions", DomainError)
        super().__init__(method, url, **kwargs)
        # an endpoint that takes files has a body limit of its own:
        # ``max_body_bytes``, or the config key ``max_body_setting`` where the
        # config has it (``api(..., max_body_bytes=2162688,
        # max_body_setting="UPLOAD_MAX_BODY_BYTES")``); every other endpoint
        # has the container's ``MAX_BODY_BYTES``
        self.own_max_body_bytes = max_body_bytes
        self.max_body_setting = max_body_setting
        # "" (not given): GET is a lookup, anything else a write
        self.budget = (LOOKUPS if method == "GET" else WRITES) if budget == "" else budget
        # new work for the pipeline behind (a new application): also refused
        # while that pipeline is too far behind (``Admission``)
        self.new_work = new_work
        self.signatures_checked: set[tuple] = set()  # ``check_signature``

    def check_signature(self, args, kwargs):
        # a route calls its endpoint one way: (request,) and the route's
        # path values by name - a call shape nameko checks once here, not on
        # every request (``inspect.getcallargs``: 2.6 % of intake's CPU at
        # saturation; bench/README.md, fifty-first session)
        shape = (len(args), frozenset(kwargs))
        if shape not in self.signatures_checked:
            super().check_signature(args, kwargs)
            self.signatures_checked.add(shape)

    def stop(self):
        # entrypoints stop first: the service stops taking requests before
        # nameko waits for its workers (``shared.stopping``)
        self.server.stopping.stop()
        super().stop()

    def setup(self):
        super().setup()
        if self.max_body_setting in self.container.config:
            self.own_max_body_bytes = integer(self.container.config, self.max_body_setting,
                                              self.own_max_body_bytes)

    @property
    def max_body_bytes(self) -> int:
        return self.own_max_body_bytes or self.admission.max_body_bytes

    def refuse_at_once(self, environ, start_response):
        """503 + Retry-After for a full budget, as ``error_response`` would
        render it, from bytes rendered once per language."""
        lang = language_of(environ.get("HTTP_ACCEPT_LANGUAGE"))
        body = self.admission.busy_body(lang)
        start_response("503 Service Unavailable", [
            ("Content-Type", "application/json"), ("Content-Length", str(len(body))),
            ("Retry-After", self.admission.retry_after)])
        metrics.observe_request(self.container.service_name, self.url,
                                environ["REQUEST_METHOD"], 503, 0.0)
        return [body]

    def handle_request(self, request):
        started = time.perf_counter()
        response = self.answer(request)
        metrics.observe_request(self.container.service_name, self.url, request.method,
                                response.status_code, time.perf_counter() - started)
        return response

    def answer(self, request) -> Response:
        lang = request_language(request)
        refusal = self.admission_refusal(request)
        if refusal is not None:
            return self.error_response(refusal, lang)
        if self.budget is None:
            response = super().handle_request(request)
        else:
            self.admission.in_flight[self.budget] += 1
            try:
                response = super().handle_request(request)
            finally:
                self.admission.in_flight[self.budget] -= 1
        if isinstance(response, _FailedResponse):
            return self.error_response(response.exc, lang)
        return response

    def admission_refusal(self, request) -> DomainError | None:
        """Why this request is refused before any work, or None."""
        limit = self.max_body_bytes
        if (request.content_length or 0) > limit:
            return too_large(limit)
        if self.admission.full(self.budget, self.new_work):
            return ServiceBusy()
        if self.budget is not None and self.admission.database_down():
            return DatabaseUnavailable()
        chunked = "chunked" in request.headers.get("Transfer-Encoding", "").lower()
        if (request.content_length or chunked) and \
                not identity_only(request.headers.get("Content-Encoding", "")):
            return unsupported_encoding(request.headers.get("Content-Encoding", ""))
        if request.method in ("POST", "PUT", "PATCH") and (request.content_length or chunked):
            if chunked:
                # eventlet's input ends at the last chunk, so let Werkzeug
                # read it, bounded by the limit (a body with neither
                # Content-Length nor chunking is empty: nothing to wait for)
                request.environ["wsgi.input_terminated"] = True
            # one byte over the limit tells a too-large chunked body apart
            request.max_content_length = limit + 1
            request.shallow = False  # nameko's WsgiApp builds it shallow
            chunks = request.environ.get(CHUNKED_BODY)
            if chunks is not None:
                chunks.limit = limit
            seconds = self.admission.body_read_seconds
            deadline = eventlet.Timeout(seconds)
            try:
                if len(request.get_data(cache=True)) > limit:
                    return too_large(limit)
            except RequestEntityTooLarge:
                return too_large(limit)
            except ClientDisconnected:  # also what a socket timeout or bad chunk becomes
                if chunks is not None and chunks.problem is not None:
                    return chunks.problem
                return too_slow(request, seconds)
            except eventlet.Timeout as expired:
                if expired is not deadline:
                    raise
                return too_slow(request, seconds)
            finally:
                deadline.cancel()
        return None

    def response_from_result(self, result):
        # whatever an endpoint returns, a 204 or 304 goes out without a body
        response = super().response_from_result(result)
        if response.status_code in BODYLESS_STATUSES:
            response = Bodyless(status=response.status_code, headers=response.headers)
        return response

    def response_from_exception(self, exc):
        return _FailedResponse(exc)

    def error_response(self, exc: Exception, lang: str) -> Response:
        if isinstance(exc, RequestEntityTooLarge):
            exc = too_large(self.max_body_bytes)
        if isinstance(exc, (ServiceBusy, DatabaseUnavailable)):
            if isinstance(exc, DatabaseUnavailable):
                # an outage is the operators' news, answered 503 + Retry-After
                # as documented: a warning, not an error of the service
                log.warning("database unavailable in %s %s", self.method, self.url)
            # a partner's outage may say how long (``retry_after``, courier's ``PosBusy``)
            wait = getattr(exc, "retry_after", None) or self.admission.retry_after
            return json_response(exc.status, exc.to_body(lang), {"Retry-After": str(wait)})
        if isinstance(exc, TooManyAttempts):
            return json_response(exc.status, exc.to_body(lang),
                                 {"Retry-After": str(exc.retry_after)})
        if isinstance(exc, DomainError):
            # a bearer token missing or refused says which scheme (RFC 6750; outside
            # audit D: client libraries look for it); a webhook's signature is no token
            return json_response(exc.status, exc.to_body(lang), BEARER_CHALLENGE
                                 if exc.code == Unauthorized.code else None)
        log.error("unhandled error in %s %s: %s", self.method, self.url, type(exc).__name__,
                  exc_info=(type(exc), exc, exc.__traceback__))
        return json_response(500, internal_error_body(lang))


api = ApiHandler.decorator

# a 401 for a bearer token (``error_response``)
BEARER_CHALLENGE = {"WWW-Authenticate": "Bearer"}


# how long the broker check's answer holds (``BrokerCheck``)
BROKER_CHECK_EVERY_SECONDS = 5.0


class BrokerCheck(DependencyProvider):
    """Whether the service's broker (``AMQP_URI``) accepts a connection and
    has the queues and exchanges its service consumes from (every handler's
    queue, dead-letter and wait queues: ``shared.messaging.topology_parts``
    of this container's class and of ``consumers``, the service's other
    containers' classes), asked at most every ``BROKER_CHECK_EVERY_SECONDS``
    and by one probe at a time; the probes in between get that answer.
    ``/health/ready`` is public and never refused: each call opened and
    closed an AMQP connection, so a burst of probes from anyone was a burst
    of connections on the broker.

    A broker that lost its state (wiped, or its virtual host made again)
    answered "ok" while the first retry of a handler had nowhere to go
    (outside audit K): what is missing is logged and declared again; the
    broker is ready once that worked."""

    required_settings = ("AMQP_URI",)

    def __init__(self, *consumers: str):
        self.consumers = consumers  # "module:Class", as ``nameko run`` names them

    def setup(self):
        [self.amqp_uri] = require(self)
        config = self.container.config
        self.timeout = seconds(config, "BROKER_CHECK_SECONDS", 2)
        classes = [self.container.service_cls]
        for path in self.consumers:
            module, _, name = path.partition(":")
            classes.append(getattr(importlib.import_module(module), name))
        self.parts = [part for service_cls in classes
                      for part in topology_parts(service_cls, config)]
        self.republish_after = republish_after(config)
        self.asking = Semaphore()
        self.answer, self.asked_at = False, None

    def reachable(self) -> bool:
        with self.asking:
            if self.asked_at is None or \
                    time.monotonic() - self.asked_at >= BROKER_CHECK_EVERY_SECONDS:
                self.answer, self.asked_at = self.connects(), time.monotonic()
            return self.answer

    def connects(self) -> bool:
        try:
            with Connection(self.amqp_uri, connect_timeout=self.timeout) as connection:
                connection.ensure_connection(max_retries=1, timeout=self.timeout)
                return self.has_topology(connection)
        except Exception as exc:  # any transport error means "not reachable"
            log.warning("broker not reachable (%s)", type(exc).__name__)
            return False

    def has_topology(self, connection) -> bool:
        depths: dict[str, int] = {}
        missing = missing_from(connection, self.parts, depths)
        metrics.dead_letters(self.container.service_name, depths)
        if missing is None:
            return True
        log.warning("the broker has no %s (it lost its state?): declaring the queues of %s "
                    "again", missing, self.container.service_name)
        return restore(self.container, self.parts, connection, self.republish_after)

    def get_dependency(self, worker_ctx):
        return self


class HealthCheck:
    """Mixin giving a service its probes and its metrics (the service declares
    ``store``), none of them refused at admission (``budget=None``):

    * ``GET /health/live``: 200 while the process answers (a supervisor
      restarts it when not) - answered by ``StopGate``, with no worker, as
      ``/metrics`` is;
    * ``GET /health/ready``: 200 when its database and its broker both
      answer - the broker with the queues of the service's handlers
      (``BrokerCheck``: a service with an event container of its own names it
      in ``broker_check = BrokerCheck("module:Class")``) -, else 503 +
      Retry-After naming which does not (a supervisor or balancer sends it
      no traffic meanwhile);
    * ``GET /health``: the database alone (kept for existing callers): 200,
      else 503 + Retry-After naming it;
    * ``GET /metrics``: Prometheus text format (``shared.metrics``).

    The probes wait ``shared.mongo.PROBE_SECONDS`` at most for the database
    (one ping at a time: ``DatabaseCheck``): a frozen one is reported, not
    waited on."""

    broker_check = BrokerCheck()
    database_check = DatabaseCheck()

    @api("GET", HEALTH_PATH, budget=None)
    def health(self, request):
        if self.database_check.answers(self.store):
            return json_response(200, {"status": "ok", "service": self.name})
        return json_response(503, {"status": "unavailable", "service": self.name,
                                   "database": "unavailable"},
                             {"Retry-After": str(DEFAULT_RETRY_AFTER_SECONDS)})

    @api("GET", LIVE_PATH, budget=None)
    def liveness(self, request):
        return json_response(200, probe_body("live", self.name))

    @api("GET", READY_PATH, budget=None)
    def readiness(self, request):
        database = "ok" if self.database_check.answers(self.store) else "unavailable"
        broker = "ok" if self.broker_check.reachable() else "unavailable"
        ready = database == broker == "ok"
        return json_response(200 if ready else 503, {
            "status": "ready" if ready else "not_ready", "service": self.name,
            "database": database, "broker": broker},
            None if ready else {"Retry-After": str(DEFAULT_RETRY_AFTER_SECONDS)})

    @api("GET", METRICS_PATH, budget=None)
    def prometheus_metrics(self, request):
        body, content_type = metrics.exposition()
        return Response(body, status=200, content_type=content_type)


class NoBodySchema(Schema):
    """The body of an action that takes none (``read_no_body``): an empty
    object at most, any field in it unknown."""
    class Meta:
        unknown = RAISE


def read_optional_json(request, schema):
    """A body an action may leave out: none loads as ``{}`` would through
    ``schema`` (a field it requires: 400 naming it); one sent is read as
    ``read_json`` reads it."""
    return read_json(request, schema) if request.get_data(cache=True) \
        else load_checked(schema, {})


def read_no_body(request) -> None:
    """For an action that takes no body (an operator's verify): none, or
    ``{}``. Anything else is refused as
    any endpoint refuses what it does not take (``read_json``: 415 naming
    ``Content-Type`` for another type, 400 naming each field as unknown, or
    ``_body``), never read past: a note an operator sent along would be
    lost without a word."""
    read_optional_json(request, NoBodySchema())
