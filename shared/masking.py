"""Masking of personal data for logs and anything a person other than the
citizen reads. The one home for the rule: keep the first and last four
characters of an identity number (area prefix and serial, which staff use to
tell records apart), the country/operator prefix and last three digits of a
phone number, and the first letter and domain of an e-mail address.

``mask_text`` masks anything shaped like a NIK, KK or phone number inside free
text; the logging filter (last line of defence) uses it.
"""

from __future__ import annotations

import re
import unicodedata

# 16-digit identity numbers, as typed: in one run, or grouped as people group
# them - four fours ("3673-0412-0110-0003"), region / birth date / serial
# ("367304 120110 0003", "367304-1201100003"), or dotted like the card
# ("36.73.04.120110.0003"), one separator (space, dash, dot, slash or
# underscore: "3673/0412/0110/0003" and "3673_0412_0110_0003" went out whole
# in an operator's note, outside audit S3) throughout - but not any 16
# digits with separators between them: "01.12.2026 08.00-15.00" is a date
# and a time. Bounded by anything but a letter or digit, so hex ids are not
# taken for one.
# a separator: spaces (a run of them, non-breaking too), or one of - . / _
# and the en and em dashes with spaces around it or not (outside audit R2:
# "3673\u00a00412...", "3673 - 0412 - ...", "3673–0412–..." went out whole)
_ID_SEP = r"(?:[ \u00a0]+|[ \u00a0]*[\-./_\u2013\u2014][ \u00a0]*)"


def _grouped(*sizes: int) -> str:
    """16 digits in groups of ``sizes``, one separator throughout."""
    name = "g" + "".join(map(str, sizes))
    rest = "".join(rf"(?P={name})\d{{{size}}}" for size in sizes[2:])
    return rf"\d{{{sizes[0]}}}(?P<{name}>{_ID_SEP})\d{{{sizes[1]}}}" + rest


# ... and as the NIK's parts fall - region, kecamatan, birth date, serial:
# "3673 04 120110 0003", "36.73.04.120110.0003", "3673_04_12_01_10_0003"
# (outside audit R)
_GROUPINGS = (r"\d{16}", _grouped(4, 4, 4, 4), _grouped(6, 6, 4), rf"\d{{6}}{_ID_SEP}\d{{10}}",
              _grouped(2, 2, 2, 6, 4), _grouped(4, 2, 6, 4), _grouped(4, 2, 2, 2, 2, 4))
# not inside a hex id (our ids are lower-case hex), but glued to a word
# ("NIK3673...", "nik:3673...": outside audit R2)
_IDENTITY = re.compile(r"(?<![0-9a-f])(?:" + "|".join(_GROUPINGS) + r")(?![0-9a-f])")


# Indonesian phone numbers as people write them. Counted in digits after the
# trunk 0 or the country code 62: a mobile is 8, an operator digit (1-9), one
# more, then 6-9 digits ("0812-3456-7890"); a landline an area code (2 or 3
# digits, not starting 0, 1 or 8: 021, 0254) and its subscriber number, 8-10
# digits in all ("0254 200123", "021 1234 5678"). Written with 0, +62 or
# (+62), "+62 (0)"; a mobile also as 62 without the +, the way SMS gateways
# write it - not a landline: a 10-digit kelurahan code of province 62
# (Kalimantan Tengah, "6271011001") would read as one. The prefix may stand
# in brackets ("(0812) 3456-7890", "(0254) 123456"); between digits one
# space, dash, en/em dash or dot ("0812.3456.7891", "0812 – 3456 – 7890").
# The prefix's own digits stand together, so a date or a time ("02.12.2026",
# "09.00-15.00") does not start one; a dotted amount never starts with 0.
# A number written in national form (0..., (0...), 62...) is not one that
# continues a longer token: not after a digit and "-" or "." (a date
# "2026-12-01", a document number "3673-KTP-2026-0000042", an IP address, a
# decimal) or a letter and a dash (a UUID's group), nor before a dash and a
# letter or digit. One with "+62" is a phone wherever it stands (notification
# keeps "phone:+62...:2026-12-01T10" as a key, which pymongo logs). None runs
# on into a letter or digit. A slash or an underscore stands between a
# number's groups only without spaces around it ("0812/3456/7805": outside
# audit R2): "0812... / 0813..." are two numbers, "003/004" is an RT/RW and
# holds no phone's prefix. The operator's digit after 08x may stand apart
# too ("081 234 567 805"). A mobile may also be spelt out digit by
# digit, one space, dash or dot between each ("0 8 1 2 3 4 5 6 7 8 9 0",
# "0-8-1-2-...", "+ 6 2 8 1 2 ...": outside audits S3, R): its prefix's
# digits then stand apart too. Digits of other scripts (full-width
# "０８１２...") are read as the ASCII ones first: the SMS transliterates
# them after masking (outside audit R).
_SPACE = r"[ \u00a0]"
_SEP = rf"(?:{_SPACE}?[\-.\u2013\u2014]{_SPACE}?|[/_]|{_SPACE})"


def _then(least: int, most: int) -> str:
    """``least``..``most`` more digits, a separator allowed before each."""
    return rf"(?:{_SEP}?\d){{{least},{most}}}"


def _bracketed(prefix: str, least: int, most: int) -> str:
    """``(prefix) 1234...``: ``least``..``most`` digits after the bracket."""
    return rf"\({prefix}\){_SPACE}?\d" + _then(least - 1, most - 1)


_MOBILE, _AREA, _AREA3 = rf"8[1-9]{_SEP}?\d", r"[2-79]\d", r"[2-79]\d\d"
_COUNTRY = rf"(?:\+62|\(\+62\)){_SEP}?(?:\(0\){_SPACE}?)?"
_NATIONAL = (
    rf"(?:0|62[ \u00a0\-]?){_MOBILE}" + _then(6, 9), f"0{_AREA}" + _then(6, 8),
    rf"0(?P<spelt>{_SPACE}|[\-.])8(?P=spelt)[1-9](?:(?P=spelt)\d){{7,10}}",
    _bracketed("0" + _MOBILE, 6, 9), _bracketed("0" + _AREA, 6, 8), _bracketed("0" + _AREA3, 5, 7),
)
_INTERNATIONAL = (
    _COUNTRY + _MOBILE + _then(6, 9), _COUNTRY + _AREA + _then(6, 8),
    rf"\+(?P<spelt62>{_SPACE}|[\-.])?6(?P=spelt62)2(?P=spelt62)8(?P=spelt62)[1-9]"
    rf"(?:(?P=spelt62)\d){{7,10}}",
    _COUNTRY + _bracketed(_MOBILE, 6, 9), _COUNTRY + _bracketed(_AREA, 6, 8),
    _COUNTRY + _bracketed(_AREA3, 5, 7),
)
_PHONE = re.compile(r"(?<![0-9A-Za-z+])(?:"
                    r"(?<![0-9A-Za-z][\-\u2013\u2014])(?<![0-9]\.)"
                    "(?:" + "|".join(_NATIONAL) + r")(?![\-\u2013\u2014]?[0-9A-Za-z])"
                    "|(?:" + "|".join(_INTERNATIONAL) + r")(?![0-9A-Za-z]))")


def mask_identity(value: str | None) -> str:
    """``"3673041207900001"`` -> ``"3673********0001"``; under 8 characters all masked."""
    if value is None:
        return ""
    text = str(value).strip()
    if len(text) < 8:
        return "*" * len(text)
    return text[:4] + "*" * (len(text) - 8) + text[-4:]


def mask_phone(phone: str | None) -> str:
    """``+6281234567890`` -> ``+6281******890``; at least three digits hidden
    (a landline's ``0254123456`` -> ``0254***456``); 8 characters or fewer
    all masked."""
    if not phone:
        return ""
    if len(phone) <= 8:
        return "*" * len(phone)
    kept = min(5, len(phone) - 6)
    return phone[:kept] + "*" * (len(phone) - kept - 3) + phone[-3:]


def mask_email(address: str | None) -> str:
    """``siti.aminah@example.id`` -> ``s***@example.id``."""
    if not address:
        return ""
    name, _, domain = address.partition("@")
    return f"{name[:1]}***@{domain}" if domain else "***"


# an e-mail address in free text (a courier's "hubungi siti@example.id")
_EMAIL_IN_TEXT = re.compile(r"[^\s@<>()\[\],;:\"]+@[^\s@<>()\[\],;:\"]+\.[A-Za-z]{2,}")


def mask_emails(text: str) -> str:
    """Every e-mail address in free text as ``mask_email`` shows it."""
    return _EMAIL_IN_TEXT.sub(lambda m: mask_email(m.group()), text)


def mask_address(channel: str, address: str | None) -> str:
    """Mask a contact address by its channel (sms/whatsapp: phone, email: e-mail)."""
    return mask_email(address) if channel == "email" else mask_phone(address)


# a decimal digit of another script (full-width, Arabic-Indic, ...)
_OTHER_DIGIT = re.compile(r"(?![0-9])\d")


def mask_text(text):
    """Mask every NIK/KK-shaped and phone-shaped run of digits in free text;
    anything but text (an optional note's None) comes back as it is."""
    if not isinstance(text, str):
        return text
    if not text.isascii():
        text = _OTHER_DIGIT.sub(lambda m: str(unicodedata.decimal(m.group())), text)
    # identity numbers first: a KK typed "3673 0812 3456 7890" holds a
    # phone-shaped tail; masked as a phone it would keep 12 of its 16 digits
    text = _IDENTITY.sub(lambda m: mask_identity(re.sub(_ID_SEP, "", m.group())), text)
    return _PHONE.sub(lambda m: mask_phone(re.sub(r"\(0\)|[^0-9+]", "", m.group())), text)
