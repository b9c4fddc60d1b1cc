"""Domain errors shared by every service, and their bilingual messages.

A service raises these from its rules; the HTTP layer (``shared.http``) turns
them into a 4xx JSON body naming the failing field, in the language the client
asked for (Bahasa Indonesia by default, English on ``Accept-Language: en``).
"""

from __future__ import annotations

import re


class Msg(str):
    """A message whose ``str`` value is Bahasa Indonesia, carrying ``.en``.

    Being a ``str`` lets it travel through marshmallow's ``ValidationError``
    untouched, so one validator serves both languages.
    """

    def __new__(cls, id_text: str, en_text: str):
        obj = super().__new__(cls, id_text)
        obj.en = en_text
        return obj


# marshmallow's built-in messages are English; these are the ones clients meet.
_MARSHMALLOW_ID = {
    "Missing data for required field.": "Wajib diisi.",
    "Unknown field.": "Kolom tidak dikenal.",
    "Field may not be null.": "Tidak boleh kosong.",
    "Not a valid string.": "Harus berupa teks.",
    "Not a valid integer.": "Harus berupa bilangan bulat.",
    "Not a valid boolean.": "Harus berupa true/false.",
    "Not a valid date.": "Tanggal tidak valid (format YYYY-MM-DD).",
    "Not a valid datetime.": "Waktu tidak valid (format ISO 8601).",
    "Not a valid email address.": "Alamat email tidak valid.",
    "Invalid input type.": "Jenis isian tidak valid.",
    "Not a valid mapping type.": "Harus berupa objek JSON.",
    "Not a valid list.": "Harus berupa daftar.",
    "Invalid value.": "Nilai tidak valid.",
    "String does not match expected pattern.": "Format tidak sesuai.",
}
_ONE_OF = re.compile(r"^Must be one of: (?P<choices>.*)\.$")
_LENGTH = re.compile(r"^Length must be between (?P<lo>\d+) and (?P<hi>\d+)\.$")
_SHORTER = re.compile(r"^Shorter than minimum length (?P<lo>\d+)\.$")

# a field name is echoed in error bodies: an unknown one comes from the client
FIELD_NAME_LIMIT = 40


def localize(message: str, lang: str) -> str:
    """Render one message in ``lang`` ("id" or "en")."""
    if isinstance(message, Msg):
        return message.en if lang == "en" else str(message)
    if lang == "en":
        return message
    if message in _MARSHMALLOW_ID:
        return _MARSHMALLOW_ID[message]
    if m := _ONE_OF.match(message):
        return f"Harus salah satu dari: {m['choices']}."
    if m := _LENGTH.match(message):
        return f"Panjang harus antara {m['lo']} dan {m['hi']} karakter."
    if m := _SHORTER.match(message):
        return f"Minimal {m['lo']} isian."
    return message


def field_label(name) -> str:
    """A client-supplied field name as safe to echo: at most ``FIELD_NAME_LIMIT``
    characters (then cut, ending in "..."), anything unprintable (control
    characters, lone surrogates) shown as "?"."""
    name = str(name)
    shown = "".join(c if c.isprintable() else "?" for c in name[:FIELD_NAME_LIMIT])
    return shown if len(name) <= FIELD_NAME_LIMIT else shown + "..."


def flatten_field_errors(messages, prefix: str = "") -> dict[str, list]:
    """marshmallow's nested ``{"applicant": {"nik": [...]}}`` -> ``{"applicant.nik": [...]}``
    (names as ``field_label`` shows them)."""
    flat: dict[str, list] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            path = f"{prefix}.{field_label(key)}" if prefix else field_label(key)
            flat.update(flatten_field_errors(value, path))
    elif isinstance(messages, (list, tuple)):
        if all(isinstance(m, str) for m in messages):
            flat[prefix or "_schema"] = list(messages)
        else:
            for value in messages:
                flat.update(flatten_field_errors(value, prefix))
    else:
        flat[prefix or "_schema"] = [messages]
    return flat


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
            Msg("Data permohonan tidak valid: " + ", ".join(sorted(fields)),
                "Invalid request data: " + ", ".join(sorted(fields))),
            fields,
        )


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class RequestTimeout(DomainError):
    """The body did not arrive within the server's deadline; the connection is
    closed after the answer."""

    status = 408
    code = "request_timeout"


class PayloadTooLarge(DomainError):
    status = 413
    code = "payload_too_large"


class Unprocessable(DomainError):
    status = 422
    code = "unprocessable"


class TooManyAttempts(DomainError):
    """Too many failed attempts at a secret (a bearer token; a tracking code +
    NIK) from this client or at this tracking code. HTTP answers 429 with
    ``Retry-After``; the request was not looked at, right or wrong."""

    status = 429
    code = "too_many_attempts"

    def __init__(self, retry_after: int):
        super().__init__(Msg(
            f"Terlalu banyak percobaan yang gagal. Coba lagi dalam {retry_after} detik.",
            f"Too many failed attempts. Retry in {retry_after} seconds."))
        self.retry_after = retry_after


class ServiceBusy(DomainError):
    """Every worker is taken: refused before any work, the client may retry.
    HTTP answers 503 with ``Retry-After``."""

    status = 503
    code = "unavailable"

    def __init__(self):
        super().__init__(Msg("Layanan sedang sibuk, silakan coba lagi.",
                             "Service busy, please retry."))


class DatabaseUnavailable(ServiceBusy):
    """The database cannot be reached (or did not answer in time): nothing was
    stored, the client may retry. HTTP answers 503 with ``Retry-After``."""
