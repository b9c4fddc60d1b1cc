"""The last line of defence for personal data in logs.

Every service's logging config attaches ``PersonalDataFilter`` to its
handlers: whatever a log call, a library (pymongo's command log at DEBUG
writes whole documents) or a traceback says, anything shaped like a NIK, KK
or phone number leaves masked. Expected errors (``EXPECTED``: bad input, a
conflict, a partner or the database out of reach for now) are logged as one
line, without the traceback and its chained database error, whose text can
carry an index's key values. A request line's query-string secrets (a station's
``lease_token``, a checked card's QR ``token``, whose payload names its
holder) and any other value a URL's query has but the few known harmless
(``LOGGED_QUERY_PARAMETERS``) leave as ``***``, and a request line's long
runs of digits are masked: the web server's access log writes whole URLs.
Read percent-decoded, a target keeps its control characters encoded: a
client cannot write a line of its own into the log.

``error_line`` says why something failed in one short line (a log line, a
dead letter's header): where an outage is expected - a broker or database
connection lost - its traceback says nothing more, dozens of times.
"""

from __future__ import annotations

import functools
import logging
import re
import urllib.parse

from pymongo.errors import ConnectionFailure

from .errors import ArrivedEarly, DomainError, PartnerUnavailable
from .masking import mask_email, mask_identity, mask_text
from .nik import is_nik

# errors logged in one line, their traceback dropped: a client's bad input or
# conflict, a partner or the database out of reach for now, an event come
# before what it needs - each expected,
# each retried (an event handler's attempt, logged by nameko with its
# traceback, then by the retry's own line naming the cause: a partner's
# outage wrote ~30 lines per message per attempt)
EXPECTED = (DomainError, PartnerUnavailable, ArrivedEarly, ConnectionFailure)


# the query parameters a URL in a log keeps the value of: the documented
# ones that neither name a person nor grant anything (the operators' list
# filters and paging, the WhatsApp handshake's mode and challenge). Any other
# - a station's ``lease_token``, a checked card's QR ``token`` (its payload
# names its holder), the handshake's ``hub.verify_token``, a client's
# misplaced ``access_token`` or ``?nik=`` - leaves as ``***``
LOGGED_QUERY_PARAMETERS = frozenset({
    "cursor", "limit", "status", "from", "to", "days", "channel", "document_type", "flag",
    "kecamatan", "kelurahan", "place_id", "hub.mode", "hub.challenge"})
_QUERY_PARAMETER = re.compile(r"([?&])([^=&\s\"'#?]+)=([^&\s\"'#]*)")
# a parameter's name kept as sent: a plain word (``nik``, ``access_token``);
# another (``siti%40example.id``) is a value sent as a name
_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]{0,40}")
# a request line's target ("GET /api/v1/... HTTP/1.1"), read percent-decoded:
# a run of 8 or more digits in it is masked even inside a word
# (``/x3673045207900001``, ``/%33%36...``), where ``mask_text`` looks for
# whole numbers only, and so is an e-mail address. The target is all up to
# the version and the line's last closing quote (one followed by a space or
# the end): one cut at its first space (two spaces before the version -
# "GET /x3673...0001ffff...  HTTP/1.1", which the server reads as any other -
# or a quote inside) left a NIK glued to a hex string or to digits whole.
# Found without a regular expression's search for the last quote from each
# start, which took 0.3 s for a hostile 8 KB line
_REQUEST_START = re.compile(r'"[A-Za-z]+ ')
_VERSION = re.compile(r"HTTP/[0-9.]*\Z")
_DIGIT_RUN = re.compile(r"[0-9]{8,}")
_ADDRESS = re.compile(r"[^\s/?&=@]+@[^\s/?&=@]+")
# what decoding a target may bring that a log line must not carry: a line
# break (a forged line after it: outside audit G1, ``%0A2026-12-04 ... ERROR``),
# a NUL (``grep`` then reads the log as binary), any other control character
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _masked_target(target: str) -> str:
    decoded = urllib.parse.unquote(target)
    decoded = _ADDRESS.sub(lambda m: mask_email(m.group()), decoded)
    decoded = mask_text(_DIGIT_RUN.sub(lambda run: mask_identity(run.group()), decoded))
    # encoded again - after masking: "%0A+62 812..." hid the phone behind its "A"
    return _CONTROL.sub(lambda m: f"%{ord(m.group()):02X}", decoded)


def _masked_request(line: str) -> str:
    """``line`` with its request line's target masked (``_masked_target``):
    from the first ``"METHOD `` to the line's last closing quote."""
    end = line.rfind('"')
    while end >= 0 and end + 1 < len(line) and not line[end + 1].isspace():
        end = line.rfind('"', 0, end)
    start = _REQUEST_START.search(line, 0, max(end, 0))
    if start is None:
        return line
    target, version = line[start.end():end], ""
    if (found := _VERSION.search(target)) and target[:found.start()].endswith(" "):
        target = target[:found.start()].rstrip(" ")  # the spaces before it go with it
        version = line[start.end() + len(target):end]
    return f'{line[:start.end()]}{_masked_target(target)}{version}{line[end:]}'


def _masked_parameter(match: re.Match) -> str:
    separator, name = match.group(1), match.group(2)
    if name in LOGGED_QUERY_PARAMETERS:
        return match.group()
    return f"{separator}{name if _PLAIN_NAME.fullmatch(name) else '***'}=***"


def redact_urls(text: str) -> str:
    """``text`` with the query values of URLs in it that are not
    ``LOGGED_QUERY_PARAMETERS`` as ``***`` (and a name that is no plain
    word), and a request line's target masked (read percent-decoded: long
    runs of digits, e-mail addresses)."""
    text = "\n".join(_masked_request(line) for line in text.split("\n"))
    return _QUERY_PARAMETER.sub(_masked_parameter, text)


# our ids (an application's, a job's, an event's: 32 hex digits) hold
# digits that look like a phone number's or a landline's by chance: masked
# with the message, "/jobs/f4670**4784f406cb4395*9163a7228c/printed" could
# not be found in the logs (outside audit R2: a run of 8 digits or more
# comes by chance in half of them). They are set aside while the message is
# masked; within one, only a run as long as a NIK or KK (16 digits) that
# holds one (``is_nik``: a NIK or KK put inside a 32-hex-digit string in a
# request's path) is masked - a phone number glued into one is no id of ours
# nor a citizen's mistake, only a made-up one. 16 digits come by chance in
# one uuid4 of some 240, and "dead-lettering event 5381533480fb4152****..."
# could not be found with ``deploy.dlq show`` (outside audit S1); one such
# run in 20 reads as a NIK, and stays masked
_HEX_ID = re.compile(r"(?<![0-9A-Za-z])[0-9a-f]{32}(?![0-9A-Za-z])")
_LONG_DIGIT_RUN = re.compile(r"[0-9]{16,}")
_SET_ASIDE = re.compile("\ue000([a-z]+)\ue001")


def _masked_run(run: re.Match) -> str:
    digits = run.group()
    holds_nik = any(is_nik(digits[start:start + 16]) for start in range(len(digits) - 15))
    return mask_identity(digits) if holds_nik else digits


def masked(text: str) -> str:
    """``text`` as a log line may carry it: personal data masked
    (``mask_text``), URLs redacted (``redact_urls``), our ids whole."""
    ids: list[str] = []

    def set_aside(match: re.Match) -> str:
        ids.append(_LONG_DIGIT_RUN.sub(_masked_run, match.group()))
        return f"\ue000{_letters(len(ids) - 1)}\ue001"
    text = redact_urls(mask_text(_HEX_ID.sub(set_aside, text)))
    return _SET_ASIDE.sub(lambda m: ids[_number(m.group(1))], text) if ids else text


def _letters(number: int) -> str:
    """A number in letters (no digit a mask could take): 0 -> a, 27 -> bb."""
    return "".join("abcdefghijklmnopqrstuvwxyz"[int(d)] for d in str(number))


def _number(letters: str) -> int:
    return int("".join(str("abcdefghijklmnopqrstuvwxyz".index(c)) for c in letters))


def error_line(error: BaseException, limit: int = 200) -> str:
    """``Type: message``, the message's first line, masked, at most ``limit``
    characters (a driver's message can run to kilobytes)."""
    lines = str(error).strip().splitlines()
    text = f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__
    text = masked(text)
    return text if len(text) <= limit else text[:limit - 3] + "..."


@functools.lru_cache(maxsize=1024)
def _masked_part(text: str) -> str:
    return masked(text)


class AccessLine:
    """One line of the web server's access log, kept as eventlet's fields
    (``eventlet.wsgi.DEFAULT_LOG_FORMAT``'s) until it is written. Two of them
    come from the client - its address (with any ``X-Forwarded-For``) and the
    request line - and are masked as ``masked`` masks a whole line; the
    others are the server's own (the time, the status, the length, the
    seconds). Those two take the same few values again and again (a status
    lookup's line is the same every time), so each is masked once and then
    remembered: masking the whole line, a new text each time for its clock,
    cost intake ~5 % of its CPU under a load of status lookups (bench/README.md,
    fifty-second session). ``PersonalDataFilter`` writes it as it renders."""

    __slots__ = ("fields",)

    def __init__(self, fields: dict):
        self.fields = fields

    def __str__(self) -> str:
        f = self.fields
        request = _masked_part(f'"{f["request_line"]}"')  # quoted, as ``redact_urls`` reads it
        return (f"{_masked_part(str(f['client_ip']))} - - [{f['date_time']}] {request} "
                f"{f['status_code']} {f['body_length']} {f['wall_seconds']:.6f}")


class AccessFormat(str):
    """eventlet's access-line format whose ``%`` gives an ``AccessLine``:
    the fields kept, masked when the line is written (a refusal's is only
    counted: ``shared.http.AccessLog``)."""

    def __mod__(self, fields: dict) -> AccessLine:
        return AccessLine(fields)


ACCESS_FORMAT = AccessFormat('%(client_ip)s - - [%(date_time)s] "%(request_line)s"'
                             ' %(status_code)s %(body_length)s %(wall_seconds).6f')


class PersonalDataFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, AccessLine) and not record.args:
            record.msg = str(record.msg)  # its client's parts masked as it renders
            return True
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, EXPECTED):
            record.exc_info, record.exc_text = None, None
        elif record.exc_info:
            record.exc_text = mask_text(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        record.msg, record.args = masked(record.getMessage()), ()
        return True


def known_level(level: str) -> logging.Filter:
    """A filter the logging config builds from ``LOG_LEVEL`` (attached to
    nothing) only to check it before the root logger is given it: a level
    logging does not know refuses the start in one line naming the setting
    (``LOG_LEVEL=LOUD`` ended nameko's CLI in dictConfig's traceback).
    Filters are built before the loggers, so this one is met first."""
    if not isinstance(level, int) and level not in logging.getLevelNamesMapping():
        from .settings import InvalidSetting, refuse  # settings needs the broker's libraries
        refuse(InvalidSetting("LOG_LEVEL", "expected DEBUG, INFO, WARNING, ERROR or CRITICAL"))
    return logging.Filter()
