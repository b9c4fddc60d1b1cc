"""SMS texts in one GSM-7 part. Plain Python, no I/O.

A text with a single character outside the GSM 03.38 alphabet is sent as
UCS-2, where a part holds 70 characters instead of 160: one ’ in a region
name would make a 120-character SMS two billed parts. So every SMS text is
transliterated to GSM-7 first (’ -> ', é stays, ā -> a), then measured in
septets: a character of the extension table (``€ [ ] { } ~ ^ | \\``) takes
two, everything else one.
"""

from __future__ import annotations

import unicodedata

ONE_PART_SEPTETS = 160

BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
EXTENSION = set("\f^{}\\[~]|€")

# what NFKD decomposition does not turn into GSM-7 on its own
REPLACEMENTS = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "`": "'", "\u00b4": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2013": "-", "\u2014": "-", "\u2212": "-",
    "\u2026": "...", "\u00a0": " ", "\t": " ", "\u2022": "-", "\u00b7": "-",
}


def transliterate(text: str) -> str:
    """``text`` in the GSM-7 alphabet: kept where it is, else its closest
    spelling (typographic quotes and dashes, letters without their accent),
    else ``?``."""
    out = []
    for char in text:
        if char in BASIC or char in EXTENSION:
            out.append(char)
        elif char in REPLACEMENTS:
            out.append(REPLACEMENTS[char])
        else:
            base = "".join(c for c in unicodedata.normalize("NFKD", char)
                           if c in BASIC or c in EXTENSION)
            out.append(base or "?")
    return "".join(out)


def spelled_in_gsm7(text: str) -> bool:
    """Whether ``transliterate`` spells every character of ``text`` (no
    character of it becomes ``?``)."""
    return "?" not in transliterate(text.replace("?", ""))


def septets(text: str) -> int:
    """Length in GSM-7 septets; ``ValueError`` for a character outside GSM-7."""
    count = 0
    for char in text:
        if char in BASIC:
            count += 1
        elif char in EXTENSION:
            count += 2
        else:
            raise ValueError(f"not GSM-7: U+{ord(char):04X}")
    return count


def fits_one_part(text: str) -> bool:
    return septets(text) <= ONE_PART_SEPTETS
