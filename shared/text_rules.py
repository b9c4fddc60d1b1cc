"""What no string of a request may hold, wherever it comes from: a JSON body
(``shared.http.body_problems``), a query string, a CSV import, a partner's
webhook (``services/notification/callbacks.py``). Plain Python, no I/O, so
the pure modules that read partners' payloads use the same rule.
"""

from __future__ import annotations

import re
import unicodedata

from .errors import Msg

# C0 and C1 control characters, DEL, and the Unicode line and paragraph
# separators: no field of these APIs is multi-line, and what a citizen types
# ends up on a printed card, in an SMS and in an e-mail header
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# half of a UTF-16 pair: JSON's "\ud800" parses, but no UTF-8 (BSON, the
# response, an SMS, a log line) can carry it
_SURROGATE = re.compile("[\ud800-\udfff]")

CONTROL_CHARACTER = Msg("Tidak boleh memuat karakter kontrol atau baris baru.",
                        "Must not contain control characters or line breaks.")
LONE_SURROGATE = Msg("Memuat karakter Unicode yang tidak sah (surrogate tanpa pasangan).",
                     "Contains an invalid Unicode character (an unpaired surrogate).")


def text_problem(text: str) -> Msg | None:
    """Why ``text`` cannot be taken (a lone surrogate, a control character or
    line break), or None."""
    if _SURROGATE.search(text):
        return LONE_SURROGATE
    if _CONTROL.search(text):
        return CONTROL_CHARACTER
    return None


def one_line(text: str) -> str:
    """A partner's free text as one line: control characters, line breaks
    and lone surrogates become spaces, Unicode format characters (bidi
    overrides, zero-width marks) go. For what a partner sends and does not
    send again when refused (a Pos courier's note of two lines: outside
    audit R2), where a citizen's own field is refused instead."""
    text = _SURROGATE.sub(" ", _CONTROL.sub(" ", text))
    return " ".join("".join(c for c in text if unicodedata.category(c) != "Cf").split())
