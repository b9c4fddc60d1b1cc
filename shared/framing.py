"""How a request's bytes are read, one way only: its header lines, its body
length, the chunks of a chunked body (RFC 9112). What eventlet 0.33 and the
standard library would read some other way than a proxy in front might -
the smuggling of a second request inside the first one's body - is refused
here, before any endpoint sees the request (``shared.http.ApiProtocol``).

Pure checks over bytes and parsed headers: no server, no socket.
"""

from __future__ import annotations

import re
from typing import Callable

from eventlet.wsgi import ChunkReadError

from .errors import DomainError, Msg, PayloadTooLarge, ValidationFailed, field_label


class ProtocolRefusal(DomainError):
    """A request refused by the HTTP layer before any endpoint sees it."""

    def __init__(self, status: int, code: str, message: Msg,
                 fields: dict[str, list] | None = None):
        super().__init__(message, fields)
        self.status = status
        self.code = code


def too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(Msg(f"Ukuran isi permintaan melebihi {limit} byte.",
                               f"Request body exceeds {limit} bytes."))


# a field name (RFC 9110 5.6.2: a token)
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# what a field value may not hold (RFC 9110 5.5): control characters but tab.
# A bare CR above all: the standard library's parser ends a line there, so
# ``X-Note: a<CR>Content-Length: 0`` was two headers here and one to a proxy
_VALUE_CONTROL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")


def _bad_line(id_text: str, en_text: str) -> ProtocolRefusal:
    return ProtocolRefusal(400, "bad_request", Msg(id_text, en_text))


def _header_block(request_line: bytes, lines: list[bytes]) -> list[bytes]:
    """The request line and the header lines up to the empty one that ends
    them, that one included."""
    block = [request_line] if request_line else []
    for line in lines:
        block.append(line)
        if line in (b"\r\n", b"\n", b""):
            break
    return block


def header_line_problem(lines: list[bytes], request_line: bytes = b"") -> ProtocolRefusal | None:
    """Why the header ``lines`` of a request (as read, up to the empty line
    that ends them) cannot be read one way only, or None. The standard
    library's parser drops a line it cannot read - and every line after
    it: ``Content-Length : 35`` (whitespace before the colon, RFC 9112 5.1)
    was no Content-Length, and the body was answered as a next request -
    joins a line that starts with whitespace to the one before (obs-fold,
    RFC 9112 5.2), and splits a line at a bare CR. Each is a 400
    ``bad_request`` naming the problem.

    It also ends a line at a bare LF, as RFC 9112 2.2 lets a recipient: a
    request whose lines all end so is read as sent, but in a block of CRLF
    lines (``request_line`` included) ``X-A: a<LF>Content-Length: 35`` was
    two headers here and one to a proxy that ends lines at CRLF only - which
    forwards the body this server then read as the next request."""
    ends = {line.endswith(b"\r\n") for line in _header_block(request_line, lines)
            if line.endswith(b"\n")}
    if len(ends) > 1:
        return _bad_line(
            "Akhir baris bercampur: sebagian diakhiri CRLF, sebagian LF saja; akhiri baris "
            "permintaan dan setiap baris header dengan CRLF.",
            "Mixed line ends: some lines end in CRLF, others in a bare LF; end the request line "
            "and every header line with CRLF.")
    for line in lines:
        if line in (b"\r\n", b"\n", b""):
            break  # the end of the headers
        text = line.removesuffix(b"\n").removesuffix(b"\r")
        if text[:1] in (b" ", b"\t"):
            return _bad_line(
                "Baris header diawali spasi atau tab (lanjutan baris sebelumnya, obs-fold); "
                "tulis setiap header dalam satu baris.",
                "A header line starts with a space or tab (a continuation of the line before, "
                "obs-fold); send each header on one line.")
        name, colon, value = text.partition(b":")
        if not colon:
            return _bad_line("Baris header tanpa titik dua; setiap header ditulis \"Nama: nilai\".",
                             "A header line without a colon; each header is \"Name: value\".")
        if _TOKEN.fullmatch(name) and not _VALUE_CONTROL.search(value):
            continue  # a good line: its name shown nowhere (``field_label``: 44 -> 13 us a block)
        bare = name.rstrip(b" \t")
        shown = field_label(bare.decode("latin-1"))
        if bare != name and _TOKEN.fullmatch(bare):
            return _bad_line(
                f"Header \"{shown}\": tidak boleh ada spasi di antara nama dan titik dua.",
                f"Header \"{shown}\": no whitespace is allowed between the name and the colon.")
        if not _TOKEN.fullmatch(name):
            return _bad_line(
                f"Nama header \"{shown}\" kosong atau memuat karakter yang tidak diizinkan.",
                f"Header name \"{shown}\" is empty or contains characters that are not allowed.")
        if _VALUE_CONTROL.search(value):
            return _bad_line(
                f"Header \"{shown}\": nilainya memuat karakter kontrol (misalnya CR tanpa LF, NUL).",
                f"Header \"{shown}\": its value contains a control character (e.g. a CR without "
                f"LF, NUL).")
    return None


# ASCII digits only: int() also reads "+5", " 5", "5_0" and Arabic-Indic digits
_CONTENT_LENGTH = re.compile("[0-9]{1,18}", re.ASCII)


def framing_problem(headers) -> DomainError | None:
    """Why a request's body length cannot be read one way only (RFC 9112
    6.3), or None: ``Content-Length`` given twice (eventlet took the first,
    and read the rest of the body as a next request: request smuggling) or
    not a number, ``Transfer-Encoding`` other than one ``chunked``, or both.
    Only spaces and tabs around a value are ignored (RFC 9110 5.5), as
    eventlet and Werkzeug ignore them: ``Content-Length: 2<SP>`` is 2,
    ``chunked`` followed by a no-break space is no chunked body to eventlet."""
    lengths = [value.strip(" \t") for value in headers.get_all("Content-Length") or []]
    codings = headers.get_all("Transfer-Encoding") or []
    if len(lengths) > 1 or not all(_CONTENT_LENGTH.fullmatch(value) for value in lengths):
        return ValidationFailed({"Content-Length": [Msg(
            "Harus satu bilangan bulat tidak negatif, diberikan sekali.",
            "Must be one non-negative integer, given once.")]})
    if codings and (len(codings) > 1 or codings[0].strip(" \t").lower() != "chunked"):
        return ValidationFailed({"Transfer-Encoding": [Msg(
            "Hanya \"chunked\" yang diterima, diberikan sekali.",
            "Only \"chunked\" is accepted, given once.")]})
    if lengths and codings:
        return ValidationFailed({"Transfer-Encoding": [Msg(
            "Tidak boleh bersama Content-Length.", "Must not come with Content-Length.")]})
    return None


MALFORMED_CHUNKS = ValidationFailed({"Transfer-Encoding": [Msg(
    "Isi chunked tidak sah: setiap potongan adalah ukurannya dalam heksadesimal dan CRLF, "
    "datanya dan CRLF; isi diakhiri 0, CRLF, CRLF, tanpa trailer.",
    "Malformed chunked body: each chunk is its size in hexadecimal and CRLF, its data and CRLF; "
    "the body ends with 0, CRLF, CRLF, without trailer fields.")]})

# a chunk-size line with its extensions (RFC 9112 7.1.1), which are ignored
CHUNK_LINE_LIMIT = 4096
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]+)[ \t]*(?:;[^\x00-\x08\x0a-\x1f\x7f]*)?\r?\n")
_SIZE, _DATA, _DATA_END, _LAST, _DONE = range(5)


class MalformedChunks(ChunkReadError):
    """A chunked body read another way than RFC 9112 7.1 has it: a read
    error to eventlet and Werkzeug, ``ChunkedBody.problem`` says why."""


class ChunkedBody:
    """The connection's bytes as eventlet's ``Input`` reads a chunked body
    from them, each line checked. eventlet 0.33 takes a chunk size as
    ``int(line, 16)`` does - also ``-5``, ``0x5``, `` 5`` - skips whatever
    follows a chunk's data up to the end of that line, and reads one line
    after the last chunk, whatever it holds (a trailer field: the rest was
    read as the next request). A chunk larger than ``limit`` (the endpoint's
    body limit, when set) is refused as soon as its size is read.

    A refusal sets ``problem`` (the error to answer), calls ``on_refusal``
    (the connection closes after that answer: nothing after the body is read
    as a request) and fails the read, as eventlet's own chunk errors do."""

    def __init__(self, rfile, on_refusal: Callable[[], None]):
        self.rfile = rfile
        self.on_refusal = on_refusal
        self.limit: int | None = None
        self.problem: DomainError | None = None
        self._state = _SIZE
        self._left = 0

    def read(self, size: int = -1) -> bytes:
        return self._data(self.rfile.read, size)

    def readline(self, size: int = -1) -> bytes:
        if self._state == _DATA:  # eventlet reads data by lines too
            return self._data(self.rfile.readline, size)
        if self.problem is not None:  # eventlet discarding the rest
            raise MalformedChunks(self.problem.message.en)
        if self._state == _SIZE:
            return self._size_line()
        if self._state in (_DATA_END, _LAST):
            line = self.rfile.readline(2)
            if line and line not in (b"\r\n", b"\n"):
                raise self._refused(MALFORMED_CHUNKS)
            self._state = _SIZE if self._state == _DATA_END else _DONE
            return line
        return b""

    def _size_line(self) -> bytes:
        line = self.rfile.readline(CHUNK_LINE_LIMIT)
        if not line:
            return line  # the client closed: eventlet's own error
        match = _CHUNK_SIZE.fullmatch(line)
        if match is None:
            raise self._refused(MALFORMED_CHUNKS)
        self._left = int(match[1], 16)
        if self.limit is not None and self._left > self.limit:
            raise self._refused(too_large(self.limit))
        self._state = _DATA if self._left else _LAST
        return line

    def _data(self, reader, size: int) -> bytes:
        if self._state != _DATA:
            return b""
        data = reader(self._left if size is None or size < 0 else min(size, self._left))
        self._left -= len(data)
        if not self._left:
            self._state = _DATA_END
        return data

    def _refused(self, problem: DomainError) -> MalformedChunks:
        self.problem = problem
        self.on_refusal()
        return MalformedChunks(problem.message.en)
