"""What a printed document can show: one definition for intake, which refuses
a name the document could not print, and printing, which prints it
(``services/printing/artefact.py``). Plain Python, no I/O.

The documents are set in a PDF core font (Helvetica): Windows-1252, the Latin
letters of Western Europe and Indonesia (``é``, ``ñ``, ``Š``, ``Œ``). A
letter outside it that is a Latin letter with an accent or a stroke prints as
its base letter (``ễ`` -> ``e``, ``Ş`` -> ``S``, ``Đ`` -> ``D``): readable, the
name as the KK spells it in Latin letters. Anything else (Arabic, Cyrillic,
CJK, Javanese script, a Greek letter) has no glyph in the font and would
print as ``?``: Indonesian civil documents are written in Latin letters, so
intake refuses such a name before anything is printed.

What a document prints also goes into the operators' lists (hand-over
lists, PRR exports, reports opened in a spreadsheet) and SMS: a text that
starts like a formula (``=HYPERLINK(...)``, ``+``, ``-``, ``@``) is refused
(``reads_as_formula``), and a person's name must hold a letter
(``names_a_person``) and nothing but letters, spaces and ``. , ' -``
(``spells_a_name``): ``-1``, ``1.5`` or a NIK typed as the name would be
printed on the card and sent unmasked, a link would go out in the Dinas'
own e-mails.
"""

from __future__ import annotations

import re
import unicodedata

# the font's encoding: fpdf2's core fonts are declared WinAnsiEncoding
FONT_ENCODING = "cp1252"
# what the font prints for a character it has no glyph for
MISSING = "?"
# the apostrophes and hyphens of names the font has no glyph for, by the one
# it has (``Maʼruf`` -> ``Ma’ruf``, ``Al‐Amin`` with U+2010 -> ``Al-Amin``)
_STAND_INS = {"\u02bc": "\u2019", "\u02be": "\u2019", "\u02bb": "\u2018",
              "\u02bd": "\u2018", "\u02bf": "\u2018", "\u201b": "\u2018", "\u02b9": "'",
              "\u2032": "'", "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2015": "\u2014"}
# a Latin letter Unicode does not decompose (Đ, Ł, ħ, ı): its name gives the base
_LATIN_BASE = re.compile(r"LATIN (CAPITAL|SMALL) LETTER (?:DOTLESS )?([A-Z])(?: WITH .+)?")


def _in_font(text: str) -> bool:
    try:
        text.encode(FONT_ENCODING)
    except UnicodeEncodeError:
        return False
    return True


def printed_char(char: str) -> str | None:
    """What the font prints for ``char``: itself when the font has it; a
    letter by its base form (its compatibility decomposition without the
    accents: ``ễ`` -> ``e``, ``ǅ`` -> ``Dž`` -> ``Dz``, ``Ａ`` -> ``A``; or by its
    Unicode name: ``Đ`` -> ``D``); an apostrophe or hyphen by the font's
    own (``_STAND_INS``); nothing for an accent on its own (the
    letter before it prints bare, as ``ễ`` does); None when the font cannot
    show it (another script, a symbol, a control character)."""
    if unicodedata.category(char)[0] == "C":
        return None
    if _in_font(char):
        return char
    if char in _STAND_INS:
        return _STAND_INS[char]
    base = "".join(part for part in unicodedata.normalize("NFKD", char)
                   if unicodedata.category(part)[0] != "M")
    if _in_font(base) and (base or unicodedata.category(char)[0] == "M"):
        return base
    if named := _LATIN_BASE.fullmatch(unicodedata.name(char, "")):
        case, letter = named.groups()
        return letter if case == "CAPITAL" else letter.lower()
    return None


def as_printed(text: str) -> str:
    """``text`` as the document prints it: ``MISSING`` where the font has no
    glyph (intake refuses such a name; an older job may still carry one)."""
    return "".join(MISSING if (shown := printed_char(char)) is None else shown
                   for char in str(text))


def is_printable(text: str) -> bool:
    """Whether the document prints every character of ``text`` (``printed_char``)."""
    return all(printed_char(char) is not None for char in text)


# a spreadsheet reads a cell starting with one of these as a formula (OWASP's
# CSV injection list); no name, street or place starts with one
FORMULA_STARTS = ("=", "+", "-", "@")


def reads_as_formula(text: str) -> bool:
    """Whether ``text`` (trimmed) starts like a spreadsheet formula."""
    return text.startswith(FORMULA_STARTS)


# besides letters (and their accents) and spaces, what a name on a KK holds:
# ``Moh. Ali``, ``Siti Nur'aini``, ``Nur’aini``, ``Jean-Pierre``, ``Sri Rahayu, S.Pd.``
NAME_PUNCTUATION = frozenset(".,'’-")


# a web address without a scheme, as mail clients and phones make it a link:
# a dot between a letter and a lower-case one (``bit.ly``, ``evil.example``;
# a title is ``S.Pd.``, ``A.Md``), or a common top-level domain after a dot
_DOMAIN_DOT = re.compile(r"[^\W\d_]\.[a-z]")
_TOP_LEVEL = re.compile(r"\.(?:com|net|org|id|ly|me|io|co|xyz|info|biz|site|link|online|top|"
                        r"click|app|dev|in|us|cc)\b", re.IGNORECASE)


def spells_a_name(text: str) -> bool:
    """Whether ``text`` holds letters, spaces and ``NAME_PUNCTUATION``
    only, and reads as no web address: no digit (a NIK or phone number
    typed into the name would be printed and sent unmasked), no ``:``,
    ``/`` or ``@``, no ``bit.ly`` (a link or an address: the name is the
    greeting of the Dinas' e-mails and SMS)."""
    return all(unicodedata.category(char)[0] in "LM" or char == " "
               or char in NAME_PUNCTUATION for char in text) \
        and not _DOMAIN_DOT.search(text) and not _TOP_LEVEL.search(text)


def names_a_person(text: str) -> bool:
    """Whether ``text`` holds a letter (of any script: the font check is
    ``is_printable``'s): a name of digits and punctuation names nobody."""
    return any(unicodedata.category(char)[0] == "L" for char in text)
