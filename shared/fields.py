"""marshmallow fields for Indonesian identity data, shared by every HTTP API.

Each validates and normalizes, and raises bilingual messages (``Msg``) that
never echo the value back: NIK, KK and phone numbers are personal data.
"""

from __future__ import annotations

import functools
import re
import unicodedata

import phonenumbers
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from .clock import today_wib
from .errors import Msg
from .nik import InvalidIdentityNumber, parse_nik, validate_kk
from .printable import is_printable, names_a_person, reads_as_formula, spells_a_name
from .wilayah import load_wilayah, normalize_code


@functools.lru_cache(maxsize=128)
def schema(cls: type[Schema], **options) -> Schema:
    """One instance of schema ``cls`` per set of ``options`` (a request's
    language, a channel), built once and used for every request: building
    one deep-copies its declared fields, and its nested schemas' on their
    first use - ~0.1 ms of a submit's ~0.3 ms of loading, and ~0.27 ms of
    each submit in all (its request, its details loaded and dumped, twice
    more normalised; bench/README.md, fiftieth session). Our schemas keep
    nothing of a load or dump on the instance (their options only), and a
    load runs without yielding to another green thread."""
    return cls(**options)


# how the OpenAPI documents show a NIK and a No. KK (apispec reads a field's
# metadata): generated validators had no rule for them (outside audit S3)
# spaces around a value as a pattern takes them: the server strips them
# (``str.strip``); a control character or line break it refuses (``\s``
# would take them: outside audit R2)
AROUND = "[ \u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]*"
# 16 digits, spaces around them ignored as the server does (``parse_nik``
# strips them: outside audit R, the anchored pattern refused what it took)
IDENTITY_NUMBER = {"pattern": f"^{AROUND}[0-9]{{16}}{AROUND}$",
                   "description": "16 digits (spaces around them are ignored)"}

# a tracking code: "SDK" and 8 of these (intake's ``domain.new_tracking_code``)
TRACKING_PREFIX, TRACKING_ALPHABET = "SDK", "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
TRACKING_CODE = {"pattern": f"^{TRACKING_PREFIX}[{TRACKING_ALPHABET}]{{8}}$",
                 "minLength": 11, "maxLength": 11, "example": "SDK7KQ2M9XA"}
# an issued code, in either case (an application's id is 32 hex digits,
# never shaped so)
ISSUED_CODE = re.compile(TRACKING_CODE["pattern"], re.IGNORECASE)


# a tracking code as a citizen may type it, as ``TypedTrackingCode`` takes
# it: ASCII letters and digits, in either case, spaces around it ignored.
# Not the issued form (``TRACKING_CODE``): a code of these characters in
# another form is no 400, it names no application (404, a failed attempt).
# The document once said the issued form, and that anything else was a 400
# (outside audit F3)
TYPED_CHARACTERS, TYPED_LENGTH = "0-9A-Za-z", (6, 20)
TRACKING_CODE_TYPED = {
    "pattern": f"^{AROUND}[{TYPED_CHARACTERS}]{{{TYPED_LENGTH[0]},{TYPED_LENGTH[1]}}}{AROUND}$",
    "example": "SDK7KQ2M9XA",
    "description": f"{TYPED_LENGTH[0]}-{TYPED_LENGTH[1]} ASCII letters and digits, in either "
                   "case (spaces around it are ignored; any other character, or a length "
                   "outside these, is a 400 naming the field). An issued code is SDK and 8 of "
                   f"{TRACKING_ALPHABET}: one that matches no application, or not with this "
                   "NIK, is a 404, counted as a failed attempt."}


_TYPED_CODE = re.compile(f"[{TYPED_CHARACTERS}]+")


class TypedTrackingCode(fields.String):
    """A tracking code as a citizen types it: spaces around it dropped, and
    nothing but ASCII letters and digits - one with a hidden character
    (``U+200B`` pasted along) or a dash is a 400 naming the field, as a NIK
    with one is (outside audit S3: answered 404 and counted as a failed
    lookup). Its case is the store's to fold."""

    default_error_messages = {"typed": Msg(
        "Kode lacak hanya berisi huruf dan angka (contoh: SDK7KQ2M9XA), tanpa karakter lain.",
        "A tracking code holds letters and digits only (e.g. SDK7KQ2M9XA), nothing else.")}

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if not _TYPED_CODE.fullmatch(text):
            raise self.make_error("typed")
        # counted without the spaces around it: a length in the served
        # document would count them (outside audit R2)
        validate.Length(min=TYPED_LENGTH[0], max=TYPED_LENGTH[1])(text)
        return text


# digits -> (level in Bahasa Indonesia, in English, an example code)
REGION_LEVELS = {4: ("kabupaten/kota", "regency/city", "3673"),
                 6: ("kecamatan", "district", "367304"),
                 10: ("kelurahan/desa", "village", "3673041001")}


class RegionCode(fields.String):
    """A region code of one level (``digits``: 4 kab/kota, 6 kecamatan, 10
    kelurahan/desa), dotted (``36.73.04.1001``) or bare; loads as bare
    digits. ``listed`` (the default): also in the region list - off where
    the list is not the judge (a filter on the kecamatan of a NIK issued
    before a split, a courier correction answered by courier's own list)."""

    def __init__(self, digits: int, listed: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.digits, self.listed = digits, listed

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        level_id, level_en, example = REGION_LEVELS[self.digits]
        code = normalize_code(text)
        if code is None or len(code) != self.digits:
            raise ValidationError(Msg(
                f"Harus kode {level_id} {self.digits} digit (contoh {example}).",
                f"Must be a {self.digits}-digit {level_en} code (e.g. {example})."))
        if self.listed and code not in load_wilayah():
            raise ValidationError(Msg(f"Kode {level_id} tidak ada dalam daftar wilayah.",
                                      f"No {level_en} has this code in the region list."))
        return code


class IdentityNumber(fields.String):
    """A NIK or No. KK: 16 digits in the OpenAPI documents (``IDENTITY_NUMBER``)."""

    def __init__(self, **kwargs):
        super().__init__(**{**kwargs, "metadata": {**IDENTITY_NUMBER,
                                                    **kwargs.get("metadata", {})}})


class Nik(IdentityNumber):
    """A valid NIK (born by today, in WIB); deserializes to the normalized
    16-digit string."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return parse_nik(text, field=attr or "nik", today=today_wib()).nik
        except InvalidIdentityNumber as exc:
            raise ValidationError(Msg(exc.message_id, exc.message_en)) from None


# a date as the APIs document it (ASCII digits only)
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class IsoDate(fields.Date):
    """A date written ``YYYY-MM-DD``, every API's one form. marshmallow's
    ``Date`` reads with ``date.fromisoformat``, which since Python 3.11
    takes every ISO 8601 form: ``20260920`` or a mistyped week date
    ``2026-W38-7`` would be read as a day the client never wrote in our
    layout. Any other form, or no such day, is refused naming the layout
    (``shared.errors`` has it in Bahasa Indonesia)."""

    default_error_messages = {"invalid": "Not a valid date (format YYYY-MM-DD)."}

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and not _ISO_DATE.fullmatch(value):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class KkNumber(IdentityNumber):
    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return validate_kk(text, field=attr or "kk_number")
        except InvalidIdentityNumber as exc:
            raise ValidationError(Msg(exc.message_id, exc.message_en)) from None


# Hangul fillers: letters to Unicode that print nothing
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0")


def _invisible(char: str) -> bool:
    """A space of any width, a format character (zero-width space, joiners,
    the byte-order mark) or a filler: nothing shows on paper."""
    return char.isspace() or unicodedata.category(char) == "Cf" or char in _BLANK_LETTERS


def _trimmed(text: str) -> str:
    """``text`` without the invisible characters around it."""
    start, end = 0, len(text)
    while start < end and _invisible(text[start]):
        start += 1
    while end > start and _invisible(text[end - 1]):
        end -= 1
    return text[start:end]


def has_text(text: str | None) -> bool:
    """Whether ``text`` shows something to read: a letter or a digit."""
    return any(unicodedata.category(char)[0] in "LN" and char not in _BLANK_LETTERS
               for char in text or "")


# what a letter's Unicode name starts with -> the script it is written in,
# where one word of a real name mixes them (a Japanese name: kanji and kana)
_SAME_SCRIPT = {"HIRAGANA": "CJK", "KATAKANA": "CJK"}
# combining marks on one letter after NFC: writing stacks a few (a Thai
# vowel and tone; vocalised Arabic's shadda, vowel and dagger alif on one
# lam; Aksara Jawa's cakra, taling and tarung with a cecak); sixty stack
# into a smear over the line above
MAX_MARKS_PER_LETTER = 4
# letters that belong to a script (modifier letters - the ʼ of Maʼruf, the
# Japanese ー - do not)
_SCRIPT_LETTERS = frozenset({"Lu", "Ll", "Lt", "Lo"})

UNSEEN_CHARACTER = Msg(
    "Memuat karakter tak terlihat atau tidak sah (misalnya spasi lebar-nol, pengatur arah "
    "teks, BOM, karakter pribadi atau tak terdefinisi).",
    "Contains an invisible or invalid character (e.g. a zero-width space, a text-direction "
    "control, a byte-order mark, a private-use or unassigned character).")
STACKED_MARKS = Msg(
    f"Lebih dari {MAX_MARKS_PER_LETTER} tanda diakritik pada satu huruf.",
    f"More than {MAX_MARKS_PER_LETTER} accent marks on one letter.")
MIXED_SCRIPTS = Msg(
    "Satu kata mencampur huruf dari aksara yang berbeda (misalnya huruf Latin dengan huruf "
    "Sirilik atau Yunani yang mirip).",
    "A word mixes letters of different scripts (e.g. Latin letters with look-alike Cyrillic "
    "or Greek ones).")


def _script(letter: str) -> str:
    """The script of a letter, by the first word of its Unicode name
    ("LATIN SMALL LETTER A", "CYRILLIC CAPITAL LETTER DZE", "CJK UNIFIED ...")."""
    word = unicodedata.name(letter, "").partition(" ")[0]
    return _SAME_SCRIPT.get(word, word)


def text_refusal(text: str) -> Msg | None:
    """Why ``text`` (NFC, trimmed) would not show as the person meant it,
    or None: a format character (zero-width, bidi control, BOM), a private-use,
    unassigned or surrogate code point anywhere; more than
    ``MAX_MARKS_PER_LETTER`` combining marks on one letter; or a word whose
    letters come from two scripts ("Ѕiti" with a Cyrillic Ѕ). Spaces,
    digits, punctuation and modifier letters belong to no script."""
    marks = 0
    for char in text:
        category = unicodedata.category(char)
        if category in ("Cf", "Co", "Cn", "Cs"):
            return UNSEEN_CHARACTER
        marks = marks + 1 if category[0] == "M" else 0
        if marks > MAX_MARKS_PER_LETTER:
            return STACKED_MARKS
    for word in text.split():
        scripts = {_script(char) for char in word
                   if unicodedata.category(char) in _SCRIPT_LETTERS}
        if len(scripts) > 1:
            return MIXED_SCRIPTS
    return None


class Text(fields.String):
    """One line a person reads (a reject note, a police report number; a
    name, a street or a place is ``PrintedText``): loaded in NFC (``é`` one
    character, as typed or as ``e`` + accent), without the spaces and
    invisible characters around it, and refused unless it holds a letter or
    a digit - a name of spaces would be blank on paper and Pos refuses a
    blank address - or when it holds what would show as something else
    (``text_refusal``). Text no document prints takes any script.
    ``min``/``max`` count the characters kept (a ``validate.Length``, so the
    OpenAPI document shows them)."""

    default_error_messages = {"blank": Msg(
        "Tidak boleh kosong: harus memuat huruf atau angka.",
        "Must not be blank: must contain a letter or digit.")}
    rule = ""  # what a subclass adds to the description
    normal_form = "NFC"

    def __init__(self, *, max: int, min: int | None = None, **kwargs):
        metadata = {"description": "NFC; spaces around it are removed; it must hold a letter "
                                   "or digit, and no format, private-use or unassigned "
                                   f"character, no more than {MAX_MARKS_PER_LETTER} marks on "
                                   "a letter, no word of two scripts." + self.rule,
                    **kwargs.pop("metadata", {})}
        super().__init__(validate=validate.Length(min=min, max=max), metadata=metadata,
                         **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        text = self.normalized(_trimmed(unicodedata.normalize(self.normal_form, text)))
        if refusal := text_refusal(text):
            raise ValidationError(refusal)
        if not has_text(text):
            raise self.make_error("blank")
        return text

    @staticmethod
    def normalized(text: str) -> str:
        """What a subclass does to the text besides its normal form."""
        return text


NOT_PRINTABLE = Msg(
    "Hanya huruf Latin, seperti tertulis di KK: dokumen tidak dapat mencetak aksara lain "
    "(misalnya Arab, Tionghoa, Sirilik, Jawa) atau simbol.",
    "Latin letters only, as written on the family card (KK): the document cannot print "
    "other scripts (e.g. Arabic, Chinese, Cyrillic, Javanese) or symbols.")


FORMULA_START = Msg(
    "Tidak boleh diawali =, +, - atau @ (lembar kerja membacanya sebagai rumus).",
    "Must not start with =, +, - or @ (a spreadsheet reads it as a formula).")
NAME_CHARACTERS = Msg(
    "Nama hanya boleh berisi huruf, spasi dan tanda . , ' ’ - seperti tertulis di KK "
    "(tanpa angka, alamat web atau simbol lain).",
    "A name may hold only letters, spaces and . , ' ’ - as written on the family card "
    "(KK) (no digits, web addresses or other symbols).")
NAME_WITHOUT_LETTER = Msg(
    "Nama harus memuat huruf, bukan hanya angka atau tanda baca.",
    "A name must contain a letter, not only digits or punctuation.")


class PrintedText(Text):
    """``Text`` that a document prints (a holder's name, a street, a place of
    death) or a label carries: also refused when the document's font would
    print a ``?`` for a character of it (``shared.printable``, the
    definition printing's artefact prints by). Civil documents are in Latin
    letters: an accented one prints (``ễ`` as ``e``), another script does not."""

    rule = (" Latin letters only: every character must be printable on the document;"
            " must not start with =, +, - or @.")

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if not is_printable(text):
            raise ValidationError(NOT_PRINTABLE)
        if reads_as_formula(text):
            raise ValidationError(FORMULA_START)
        return text


class PersonName(PrintedText):
    """A person's name a document prints (``applicant.full_name``, a child's,
    a parent's, the PRR import's): ``PrintedText`` that also holds a letter -
    ``-1``, ``1.5`` or a NIK typed as the name is no name, and would be
    printed on the card and sent in an SMS unmasked."""

    rule = PrintedText.rule + (" A person's name: must contain a letter; letters, spaces"
                               " and . , ' ’ - only, no web address. Kept in NFKC, runs of"
                               " spaces as one.")
    # full-width, bold or italic letters ("Ｓｉｔｉ", "𝐒𝐢𝐭𝐢") as the plain ones
    # the document prints, and runs of spaces as one: an operator searching
    # "Siti Aminah" finds her (outside audit S3: stored as sent, found by
    # nobody, printed "Siti Aminah")
    normal_form = "NFKC"

    @staticmethod
    def normalized(text: str) -> str:
        return " ".join(text.split())

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if not names_a_person(text):
            raise ValidationError(NAME_WITHOUT_LETTER)
        if not spells_a_name(text):
            raise ValidationError(NAME_CHARACTERS)
        return text


def kept_name(name: str) -> str:
    """A person's name as ``PersonName`` keeps one: what a name from
    elsewhere (the population register's) is stored and printed as."""
    return PersonName.normalized(unicodedata.normalize(PersonName.normal_form, name).strip())


# RT and RW as Pos prints them ("RT 003/RW 005"): 1-3 digits, wherever an
# address is taken (intake's, the PRR import's, the courier's kelurahan office)
RT_RW = validate.Regexp(r"^[0-9]{1,3}$", error=Msg("Harus 1-3 angka (contoh: 003).",
                                                   "Must be 1-3 digits (e.g. 003)."))


# a postal code, wherever one is taken (intake's address, courier's corrections)
POSTAL_CODE = validate.Regexp(r"^[0-9]{5}$", error=Msg(
    "Kode pos 5 angka (contoh: 42171).", "A postal code of 5 digits (e.g. 42171)."))


# what a person types in a phone number besides its digits (ASCII only: a
# letter would be read as its keypad digit, a full-width digit as a digit)
_PHONE_TEXT = re.compile(r"\+?[0-9 ().-]+", re.ASCII)


def indonesian_number(text: str | None) -> phonenumbers.PhoneNumber | None:
    """A valid number in Indonesia's plan (mobile or landline) as typed
    (``0812...``, ``+62 812-...``, ``(0254) 123456``), or None. Digits,
    spaces, ``-``, ``(``, ``)``, ``.`` and a leading ``+`` only: phonenumbers
    would read "08123abc7890" as keypad digits, another number."""
    text = (text or "").strip()
    if not _PHONE_TEXT.fullmatch(text):
        return None
    try:
        number = phonenumbers.parse(text, "ID")
    except phonenumbers.NumberParseException:
        return None
    if number.country_code != 62 or not phonenumbers.is_valid_number(number):
        return None
    return number


def e164(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class MobilePhone(fields.String):
    """An Indonesian mobile number (08..., 628..., +628...) -> E.164 ``+628...``
    (``indonesian_number``: no letters)."""

    def _deserialize(self, value, attr, data, **kwargs):
        number = indonesian_number(super()._deserialize(value, attr, data, **kwargs))
        if number is None or \
                phonenumbers.number_type(number) != phonenumbers.PhoneNumberType.MOBILE:
            raise ValidationError(Msg("Nomor HP tidak valid (contoh: 081234567890).",
                                      "Invalid mobile number (example: 081234567890)."))
        return e164(number)


class DeliverableEmail(fields.Email):
    """An e-mail address the mail relay can take: ASCII only (a non-ASCII
    address needs SMTPUTF8 on every hop, which the relay does not offer: the
    message would fail after the citizen was told it is on its way), at most
    64 characters before the ``@`` and 254 in all (RFC 5321), at a domain
    on the internet (marshmallow also takes ``a@localhost``, ``a@[127.0.0.1]``
    and ``a@123.45.67.89`` - no top-level domain is all digits - which would
    reach no citizen)."""

    def _deserialize(self, value, attr, data, **kwargs):
        # spaces around it (a pasted address) are taken off, as from a name
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        local, at, domain = text.rpartition("@")
        if at and local and ("." not in domain or domain.startswith("[")
                             or not any(c.isalpha() for c in domain.rpartition(".")[2])):
            raise ValidationError(Msg(
                "Alamat email harus memakai domain internet (contoh: nama@contoh.id).",
                "The e-mail address needs an internet domain (e.g. name@example.id)."))
        if not text.isascii():
            raise ValidationError(Msg(
                "Alamat email dengan huruf di luar ASCII (misalnya beraksen) tidak dapat "
                "kami kirimi; gunakan alamat lain.",
                "We cannot deliver to an e-mail address with non-ASCII characters "
                "(e.g. accented letters); please use another address."))
        if len(text) > 254 or len(text.rpartition("@")[0]) > 64:
            raise ValidationError(Msg(
                "Alamat email terlalu panjang (maksimal 254 karakter, 64 sebelum @).",
                "E-mail address too long (at most 254 characters, 64 before the @)."))
        return text


class JsonBoolean(fields.Boolean):
    """A JSON ``true`` or ``false``, nothing else. marshmallow's ``Boolean``
    also reads "yes", "on", "0", 1 and more as booleans: a client's mistaken
    string would pass as a choice it never made. (A CSV's cells are text: the
    jemput-bola reader turns its ``true``/``false`` into booleans first.)"""

    default_error_messages = {"invalid": Msg(
        "Harus true atau false (boolean JSON, tanpa tanda kutip).",
        "Must be true or false (a JSON boolean, without quotes).")}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class ItemCount(validate.Length):
    """``validate.Length`` for a list: its messages count entries (marshmallow's
    speak of a length, which for text means characters)."""

    message_min = Msg("Minimal {min} isian.", "Number of entries must be at least {min}.")
    message_max = Msg("Maksimal {max} isian.", "Number of entries must be at most {max}.")
    message_all = Msg("Jumlah isian harus antara {min} dan {max}.",
                      "Number of entries must be between {min} and {max}.")
    message_equal = Msg("Jumlah isian harus tepat {equal}.",
                        "Number of entries must be exactly {equal}.")


class CitizenLookupSchema(Schema):
    """A citizen names their application or document: tracking code + NIK
    (intake's status lookup and cancel; printing's pickup windows, reschedule,
    collections and hand-overs). A field not listed is refused (400 naming it),
    as everywhere."""

    class Meta:
        unknown = RAISE

    tracking_code = TypedTrackingCode(required=True, metadata=TRACKING_CODE_TYPED)
    nik = Nik(required=True)
