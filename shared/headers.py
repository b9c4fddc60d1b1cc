"""HTTP header blocks read without the e-mail parser, where it would read
them the same way.

The standard library reads every HTTP header block - a request's, in
``http.server`` (eventlet's server under nameko), and a response's, in
``http.client`` (urllib3, requests: the population register, the SMS
gateway) - with ``email.parser``, a general MIME parser: ~31 us a block of
eight headers here, on every request a service answers and every answer
it reads (bench/README.md, fifty-first session: 3-6 % of intake's CPU at
saturation, the register's answers besides). ``parse_headers`` below
builds the same ``HTTPMessage`` directly (~8 us) when every line is a
plain ``name: value`` line; for anything else it hands the block to the
e-mail parser as before, so no block is read another way than it was:

* a name that is not the e-mail parser's header name (printable ASCII but
  the colon; a space before the colon, a folded line, a line with no colon:
  the parser reads those its own way, and ``shared.http.ApiProtocol``
  refuses such a request anyway);
* a carriage return anywhere but at the line's end (the parser splits
  lines there);
* a ``Content-Type`` the parser reads a body for (``multipart/``,
  ``message/``): its defects and payload are its own.

Installed by ``install`` (``shared.http`` does, on import, in every
service); ``http.client``'s own reading of the lines - the limits on a
line's length and on the number of headers - is unchanged.
"""

from __future__ import annotations

import email.parser
import http.client
import re

# what the e-mail parser takes as a header's name (``email.feedparser.headerRE``)
HEADER_NAME = re.compile(r"[\041-\071\073-\176]+")
# the Content-Types the e-mail parser reads a body for
PARSED_BODIES = ("multipart/", "message/")
BLANK = ("\r\n", "\n", "")


def parse_headers(fp, _class=http.client.HTTPMessage):
    """``http.client.parse_headers``, the same answer, faster for plain lines."""
    lines = http.client._read_headers(fp)
    return read_block(lines, _class)


def read_block(lines: list[bytes], _class=http.client.HTTPMessage):
    """The header block ``lines`` (as read, the blank line last) as the
    e-mail parser reads it."""
    message = _class()
    for raw in lines:
        line = raw.decode("iso-8859-1")
        if line in BLANK:
            break
        text = line[:-2] if line.endswith("\r\n") else line[:-1] if line.endswith("\n") else line
        name, colon, value = text.partition(":")
        value = value.lstrip(" \t")
        if not colon or "\r" in text or not HEADER_NAME.fullmatch(name) or (
                name.lower() == "content-type" and value.lower().startswith(PARSED_BODIES)):
            return parsed(lines, _class)
        message[name] = value
    message.set_payload("")  # what the parser leaves: an empty body
    return message


def parsed(lines: list[bytes], _class=http.client.HTTPMessage):
    """The e-mail parser's reading, as ``http.client`` does it."""
    return email.parser.Parser(_class=_class).parsestr(b"".join(lines).decode("iso-8859-1"))


def install() -> None:
    """Read header blocks with ``parse_headers`` in this process: the
    standard library's HTTP server and client look it up on each call."""
    http.client.parse_headers = parse_headers
