"""The last line of defence for personal data in logs.

Every service's logging config attaches ``PersonalDataFilter`` to its
handlers: whatever a log call, a library (pymongo's command log at DEBUG
writes whole documents) or a traceback says, anything shaped like a NIK, KK
or phone number leaves masked. Expected errors (``EXPECTED``: bad input, a
conflict, a partner or the database out of reach for now) are logged as one
line, without the traceback and its chained database error, whose text can
carry an index's key values. A request line's query-string secrets (a station's
``lease_token``, a checked card's QR ``token``, whose payload names its
holder) leave as ``***``: the web server's access log writes whole URLs.

``error_line`` says why something failed in one short line (a log line, a
dead letter's header): where an outage is expected - a broker or database
connection lost - its traceback says nothing more, dozens of times.
"""

from __future__ import annotations

import logging
import re

from pymongo.errors import ConnectionFailure

from .errors import DomainError, PartnerUnavailable
from .masking import mask_text

# errors logged in one line, their traceback dropped: a client's bad input or
# conflict, a partner or the database out of reach for now - each expected,
# each retried (an event handler's attempt, logged by nameko with its
# traceback, then by the retry's own line naming the cause: a partner's
# outage wrote ~30 lines per message per attempt)
EXPECTED = (DomainError, PartnerUnavailable, ConnectionFailure)


# a query parameter whose value is a capability or names a person
_QUERY_SECRET = re.compile(r"([?&](?:lease_token|token)=)[^&\s\"']+")


def redact_query_secrets(text: str) -> str:
    return _QUERY_SECRET.sub(r"\1***", text)


def error_line(error: BaseException, limit: int = 200) -> str:
    """``Type: message``, the message's first line, masked, at most ``limit``
    characters (a driver's message can run to kilobytes)."""
    lines = str(error).strip().splitlines()
    text = f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__
    text = redact_query_secrets(mask_text(text))
    return text if len(text) <= limit else text[:limit - 3] + "..."


class PersonalDataFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, EXPECTED):
            record.exc_info, record.exc_text = None, None
        elif record.exc_info:
            record.exc_text = mask_text(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        record.msg, record.args = redact_query_secrets(mask_text(record.getMessage())), ()
        return True
