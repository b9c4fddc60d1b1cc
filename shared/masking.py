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

# 16-digit identity numbers, as typed: in one run, or grouped as people group
# them - four fours ("3673-0412-0110-0003"), region / birth date / serial
# ("367304 120110 0003", "367304-1201100003"), or dotted like the card
# ("36.73.04.120110.0003"), one separator (space, dash or dot) throughout -
# but not any 16 digits with separators between them: "01.12.2026
# 08.00-15.00" is a date and a time; and Indonesian phone numbers in their
# usual forms (08..., 628..., +628..., with optional spaces or dashes
# inside). Bounded by anything but a letter or digit, so hex ids are not
# taken for one.
_GROUPINGS = (r"\d{16}", r"\d{4}(?P<a>[\- .])\d{4}(?P=a)\d{4}(?P=a)\d{4}",
              r"\d{6}(?P<b>[\- .])\d{6}(?P=b)\d{4}", r"\d{6}[\- .]\d{10}",
              r"\d{2}\.\d{2}\.\d{2}\.\d{6}\.\d{4}")
_IDENTITY = re.compile(r"(?<![0-9A-Za-z])(?:" + "|".join(_GROUPINGS) + r")(?![0-9A-Za-z])")
_PHONE = re.compile(r"(?<![0-9A-Za-z+])(?:\+62|62|0)[\- ]?8\d{1,2}(?:[\- ]?\d{2,4}){2,4}(?![0-9A-Za-z])")


def mask_identity(value: str | None) -> str:
    """``"3673041207900001"`` -> ``"3673********0001"``; under 8 characters all masked."""
    if value is None:
        return ""
    text = str(value).strip()
    if len(text) < 8:
        return "*" * len(text)
    return text[:4] + "*" * (len(text) - 8) + text[-4:]


def mask_phone(phone: str | None) -> str:
    """``+6281234567890`` -> ``+6281******890``; 8 characters or fewer all masked."""
    if not phone:
        return ""
    if len(phone) <= 8:
        return "*" * len(phone)
    return phone[:5] + "*" * (len(phone) - 8) + phone[-3:]


def mask_email(address: str | None) -> str:
    """``siti.aminah@example.id`` -> ``s***@example.id``."""
    if not address:
        return ""
    name, _, domain = address.partition("@")
    return f"{name[:1]}***@{domain}" if domain else "***"


def mask_address(channel: str, address: str | None) -> str:
    """Mask a contact address by its channel (sms/whatsapp: phone, email: e-mail)."""
    return mask_email(address) if channel == "email" else mask_phone(address)


def mask_text(text):
    """Mask every NIK/KK-shaped and phone-shaped run of digits in free text;
    anything but text (an optional note's None) comes back as it is."""
    if not isinstance(text, str):
        return text
    text = _IDENTITY.sub(lambda m: mask_identity(re.sub(r"[\- .]", "", m.group())), text)
    return _PHONE.sub(lambda m: mask_phone(re.sub(r"[\- ]", "", m.group())), text)
