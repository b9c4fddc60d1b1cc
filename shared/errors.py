"""Domain errors shared by every service, and their bilingual messages.

A service raises these from its rules; the HTTP layer (``shared.http``) turns
them into a 4xx JSON body naming the failing field, in the language the client
asked for (Bahasa Indonesia by default, English on ``Accept-Language: en``).
"""

from __future__ import annotations

import re

from marshmallow.exceptions import SCHEMA

from .masking import mask_text


class Msg(str):
    """A message whose ``str`` value is Bahasa Indonesia, carrying ``.en``.

    Being a ``str`` lets it travel through marshmallow's ``ValidationError``
    untouched, so one validator serves both languages.
    """

    def __new__(cls, id_text: str, en_text: str):
        obj = super().__new__(cls, id_text)
        obj.en = en_text
        return obj

    def format(self, *args, **kwargs) -> Msg:
        """Both languages filled in: a ``Msg`` template (a field's error
        message, a validator's) stays a ``Msg`` through marshmallow's ``format``."""
        return Msg(super().format(*args, **kwargs), self.en.format(*args, **kwargs))


# marshmallow's own messages are English: each template it can raise while
# loading (the fields' ``default_error_messages``, ``Schema``'s, the
# validators'), in Bahasa Indonesia, keyed by the English template with its
# placeholders. Length's words speak of characters: a list's count is checked
# with ``shared.fields.ItemCount``, whose messages are ``Msg`` already.
# tests/unit/test_errors_events.py walks marshmallow's classes for them.
_MARSHMALLOW_ID = {
    # Field, Schema and Nested
    "Missing data for required field.": "Wajib diisi.",
    "Field may not be null.": "Tidak boleh kosong.",
    "Invalid value.": "Nilai tidak valid.",
    "Unknown field.": "Kolom tidak dikenal.",
    "Invalid input type.": "Jenis isian tidak valid.",
    "Invalid type.": "Jenis isian tidak valid.",
    # the fields' types
    "Not a valid string.": "Harus berupa teks.",
    "Not a valid utf-8 string.": "Harus berupa teks UTF-8.",
    "Not a valid number.": "Harus berupa angka.",
    "Not a valid integer.": "Harus berupa bilangan bulat.",
    "Number too large.": "Angka terlalu besar.",
    "Special numeric values (nan or infinity) are not permitted.":
        "Nilai khusus (nan atau tak hingga) tidak diizinkan.",
    "Not a valid boolean.": "Harus berupa true atau false.",
    "Not a valid date.": "Tanggal tidak valid (format YYYY-MM-DD).",
    "Not a valid date (format YYYY-MM-DD).": "Tanggal tidak valid (format YYYY-MM-DD).",
    "Not a valid datetime.": "Waktu tidak valid (format ISO 8601).",
    "Not a valid time.": "Jam tidak valid (format HH:MM:SS).",
    "Not a valid aware datetime.":
        "Waktu harus menyertakan zona waktu (misalnya 2020-07-15T09:00:00+07:00).",
    "Not a valid naive datetime.": "Waktu tidak boleh menyertakan zona waktu.",
    "Not a valid period of time.": "Jangka waktu tidak valid.",
    "Not a valid mapping type.": "Harus berupa objek JSON.",
    "Not a valid list.": "Harus berupa daftar.",
    "Not a valid tuple.": "Harus berupa daftar dengan jumlah isian tetap.",
    "Not a valid email address.": "Alamat email tidak valid.",
    "Not a valid URL.": "URL tidak valid.",
    "Not a valid UUID.": "UUID tidak valid.",
    "Not a valid IP address.": "Alamat IP tidak valid.",
    "Not a valid IPv4 address.": "Alamat IPv4 tidak valid.",
    "Not a valid IPv6 address.": "Alamat IPv6 tidak valid.",
    "Not a valid IP interface.": "Antarmuka IP tidak valid.",
    "Not a valid IPv4 interface.": "Antarmuka IPv4 tidak valid.",
    "Not a valid IPv6 interface.": "Antarmuka IPv6 tidak valid.",
    # the validators
    "Invalid input.": "Isian tidak valid.",
    "String does not match expected pattern.": "Format tidak sesuai.",
    "Must be one of: {choices}.": "Harus salah satu dari: {choices}.",
    "One or more of the choices you made was not in: {choices}.":
        "Ada pilihan yang tidak termasuk: {choices}.",
    "One or more of the choices you made was in: {values}.":
        "Ada pilihan yang tidak diizinkan: {values}.",
    "Must be equal to {other}.": "Harus sama dengan {other}.",
    "Length must be between {min} and {max}.": "Panjang harus antara {min} dan {max} karakter.",
    "Shorter than minimum length {min}.": "Minimal {min} karakter.",
    "Longer than maximum length {max}.": "Maksimal {max} karakter.",
    "Length must be {equal}.": "Panjang harus tepat {equal} karakter.",
    "Must be greater than or equal to {min}.": "Harus paling sedikit {min}.",
    "Must be greater than {min}.": "Harus lebih dari {min}.",
    "Must be less than or equal to {max}.": "Harus paling banyak {max}.",
    "Must be less than {max}.": "Harus kurang dari {max}.",
    "Must be greater than or equal to {min} and less than or equal to {max}.":
        "Harus antara {min} dan {max}.",
    "Must be greater than {min} and less than or equal to {max}.":
        "Harus lebih dari {min} dan paling banyak {max}.",
    "Must be greater than or equal to {min} and less than {max}.":
        "Harus paling sedikit {min} dan kurang dari {max}.",
    "Must be greater than {min} and less than {max}.":
        "Harus lebih dari {min} dan kurang dari {max}.",
}
_EXACT_ID = {en: id_ for en, id_ in _MARSHMALLOW_ID.items() if "{" not in en}


def _template_pattern(template: str) -> re.Pattern:
    """``"Must be one of: {choices}."`` -> a pattern capturing ``choices``."""
    parts = re.split(r"\{(\w+)\}", template)
    return re.compile("".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>.*)"
                              for i, part in enumerate(parts)))


# the most literal text first: "Must be greater than {min}." would also take
# "Must be greater than or equal to 1." (as min "or equal to 1")
_TEMPLATED_ID = [(_template_pattern(en), id_) for en, id_ in sorted(
    _MARSHMALLOW_ID.items(), key=lambda item: -len(re.sub(r"\{\w+\}", "", item[0])))
    if "{" in en]

# a field name is echoed in error bodies: an unknown one comes from the client
FIELD_NAME_LIMIT = 40


def localize(message: str, lang: str) -> str:
    """Render one message in ``lang`` ("id" or "en")."""
    if isinstance(message, Msg):
        return message.en if lang == "en" else str(message)
    if lang == "en":
        return message
    if message in _EXACT_ID:
        return _EXACT_ID[message]
    for pattern, indonesian in _TEMPLATED_ID:
        if m := pattern.fullmatch(message):
            return indonesian.format(**m.groupdict())
    return message


def field_label(name) -> str:
    """A client-supplied field name as safe to echo: at most ``FIELD_NAME_LIMIT``
    characters (then cut, ending in "..."), anything unprintable (control
    characters, lone surrogates) shown as "?", a NIK, KK or phone number in
    it masked (outside audit B: a NIK sent as a field's name came back
    whole in ``fields`` and the message)."""
    name = str(name)
    shown = "".join(c if c.isprintable() else "?" for c in name[:FIELD_NAME_LIMIT])
    return mask_text(shown if len(name) <= FIELD_NAME_LIMIT else shown + "...")


# a CSV upload's header naming a column twice (a jemput-bola batch, a PRR
# export): which of the two cells counts would be a guess
REPEATED_COLUMN = Msg("Kolom ganda.", "Column given twice.")


def flatten_field_errors(messages, prefix: str = "") -> dict[str, list]:
    """marshmallow's nested ``{"applicant": {"nik": [...]}}`` -> ``{"applicant.nik": [...]}``
    (names as ``field_label`` shows them). What marshmallow says of a nested
    object as a whole (``{"applicant": {"_schema": [...]}}``, e.g. a string
    where the object belongs) is the object's own: ``applicant``."""
    flat: dict[str, list] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            if key == SCHEMA and prefix:
                path = prefix
            else:
                path = f"{prefix}.{field_label(key)}" if prefix else field_label(key)
            for name, found in flatten_field_errors(value, path).items():
                flat.setdefault(name, []).extend(found)
    elif isinstance(messages, (list, tuple)):
        if all(isinstance(m, str) for m in messages):
            flat[prefix or SCHEMA] = list(messages)
        else:
            for value in messages:
                flat.update(flatten_field_errors(value, prefix))
    else:
        flat[prefix or SCHEMA] = [messages]
    return flat


class ArrivedEarly(Exception):
    """An event came before another one it needs, whose queue is behind (a
    parcel's notice before its application's contact, a print before its
    verification): the handler raises it and the delayed retry brings the
    event back. Expected, so logged in one line, never with a traceback per
    attempt. Never carries personal data."""


class PartnerUnavailable(Exception):
    """A partner (the SMS gateway, SMTP, WhatsApp, Pos, the population
    register) could not take or answer the work now: the event's handler
    raises it and the delayed retry brings the event back. Expected, so it
    is logged in one line, never with a traceback per attempt (nameko's
    "error handling worker" line). Never carries personal data."""


class DomainError(Exception):
    """Base of every error a client may see. Never carries personal data."""

    status = 400
    code = "bad_request"

    def __init__(self, message: Msg, fields: dict[str, list] | None = None):
        super().__init__(message.en if isinstance(message, Msg) else message)
        self.message = message
        self.fields = fields or {}

    def to_body(self, lang: str) -> dict:
        body = {"code": self.code, "message": localize(self.message, lang)}
        if self.fields:
            body["fields"] = {
                name: [localize(m, lang) for m in msgs] for name, msgs in self.fields.items()
            }
        return {"error": body}


class ValidationFailed(DomainError):
    status = 400
    code = "validation_failed"

    def __init__(self, fields: dict[str, list]):
        super().__init__(
            Msg("Data permintaan tidak valid: " + ", ".join(sorted(fields)),
                "Invalid request data: " + ", ".join(sorted(fields))),
            fields,
        )


REPEATED_PARAMETER = Msg("Diberikan lebih dari sekali.", "Given more than once.")


def refuse_repeated(args, names: tuple[str, ...] | None = None) -> None:
    """400 naming each query parameter given more than once (``args``: a
    werkzeug ``MultiDict``; ``names``: only these), not read as its first
    value: which one a client meant is not ours to guess."""
    repeated = {field_label(name): [REPEATED_PARAMETER] for name, values in args.lists()
                if len(values) > 1 and (names is None or name in names)}
    if repeated:
        raise ValidationFailed(repeated)


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class UnknownPath(DomainError):
    """No endpoint serves the path: a client's mistake, not a missing resource
    (``not_found``)."""

    status = 404
    code = "unknown_path"


class MethodNotAllowed(DomainError):
    """The path exists, not for this method: HTTP answers 405 with ``Allow``."""

    status = 405
    code = "method_not_allowed"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class KeyReused(Conflict):
    """409 naming a key (``field``: the ``Idempotency-Key`` header, or how
    the client sent it) that came before with another request of its kind
    (``what``: an application, a recording appointment, a blanko delivery):
    a retry sends the same request, a new one a new key."""

    code = "idempotency_key_reused"

    def __init__(self, what: Msg, field: str = "Idempotency-Key"):
        super().__init__(
            Msg(f"{field} ini sudah dipakai untuk {what} lain.",
                f"This {field} was already used for another {what.en}."),
            {field: [Msg(f"Gunakan kunci baru untuk {what} baru.",
                         f"Use a new key for a new {what.en}.")]})


class RequestTimeout(DomainError):
    """The body did not arrive within the server's deadline; the connection is
    closed after the answer."""

    status = 408
    code = "request_timeout"


class PayloadTooLarge(DomainError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(DomainError):
    status = 415
    code = "unsupported_media_type"


class Unprocessable(DomainError):
    status = 422
    code = "unprocessable"


class TooManyAttempts(DomainError):
    """Too many failed attempts at a secret (a bearer token; a tracking code +
    NIK) from this client or at this tracking code. HTTP answers 429 with
    ``Retry-After``; the request was not looked at, right or wrong."""

    status = 429
    code = "too_many_attempts"
    # what there was too much of; a subclass words its own (requests that
    # did not fail, refused applications ...), the wait follows
    too_many = Msg("Terlalu banyak percobaan yang gagal.", "Too many failed attempts.")

    def __init__(self, retry_after: int):
        super().__init__(Msg(f"{self.too_many} Coba lagi dalam {retry_after} detik.",
                             f"{self.too_many.en} Retry in {retry_after} seconds."))
        self.retry_after = retry_after


# the two ``unavailable`` 503s, told apart by their message: a citizen told
# "busy" waits out a peak; one told of an outage knows it is not the load
# (outside audit F4: both read "sibuk", an outage looked like a peak)
BUSY = Msg("Layanan sedang sibuk, silakan coba lagi.", "Service busy, please retry.")
DATABASE_DOWN = Msg("Layanan sedang mengalami gangguan, silakan coba lagi beberapa saat lagi.",
                    "The service is temporarily unavailable, please try again shortly.")


class ServiceBusy(DomainError):
    """Every worker is taken: refused before any work, the client may retry.
    HTTP answers 503 with ``Retry-After``."""

    status = 503
    code = "unavailable"

    def __init__(self):
        super().__init__(BUSY)


class DatabaseUnavailable(ServiceBusy):
    """The database cannot be reached (or did not answer in time): nothing was
    stored, the client may retry. HTTP answers 503 with ``Retry-After``, as
    for a busy service (same code: a client retries both alike), but says
    it is an outage, not the load (``DATABASE_DOWN``)."""

    def __init__(self):
        DomainError.__init__(self, DATABASE_DOWN)
