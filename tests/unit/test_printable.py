"""What a document can print, one definition for intake and printing
(outside audit, D3: ``محمد علي`` was accepted, verified and printed as
``Nama : ???? ???``; ``李金福`` as ``???``).

``shared.printable`` says what the card's font shows for each character;
``PrintedText`` refuses at intake a name, street or place it would print a
``?`` for, in both languages; printing's artefact prints by the same
definition, so what intake takes is what the PDF shows. Decided here: an
accented Latin letter outside the font is printable, as its base letter
(``Nguyễn`` prints ``Nguyen``, ``Đức`` prints ``Duc``): the name as the KK
writes it in Latin letters; another script is not.
"""

from __future__ import annotations

import datetime

import pytest
from marshmallow import Schema, ValidationError

from services.courier.schemas import KelurahanOfficeSchema
from services.intake.detail_schemas import (AktaKematianDetailsSchema, ChildSchema,
                                            DestinationSchema, KiaDetailsSchema)
from services.intake.schemas import (AddressSchema, ApplicantSchema, KtpElDetailsSchema,
                                     RejectSchema)
from services.printing import artefact
from services.printing.artefact import PrintedDocument
from services.printing import prr
from services.printing.prr import PrrRowSchema
from shared.errors import localize
from shared.fields import PersonName, PrintedText, Text
from shared.printable import as_printed, is_printable
from shared.text_rules import text_problem
from tests.pdf_checks import pdf_text

NOT_PRINTABLE = (
    "Hanya huruf Latin, seperti tertulis di KK: dokumen tidak dapat mencetak aksara lain "
    "(misalnya Arab, Tionghoa, Sirilik, Jawa) atau simbol.",
    "Latin letters only, as written on the family card (KK): the document cannot print "
    "other scripts (e.g. Arabic, Chinese, Cyrillic, Javanese) or symbols.")

# as typed -> as the card prints it
PRINTABLE = {
    "Siti Aminah": "Siti Aminah",
    "Ma'ruf Amin": "Ma'ruf Amin",
    "Nur\u2019aini": "Nur\u2019aini",
    "Ma\u02bcruf": "Ma\u2019ruf",  # modifier letter apostrophe: the font's own
    "Nur\u02bfaini": "Nur\u2018aini",  # ayin
    "Siti-Aminah": "Siti-Aminah",
    "Al\u2010Amin": "Al-Amin",  # U+2010 HYPHEN
    "Abd. Rahman": "Abd. Rahman",
    "Drs. H. Abdul Muis, M.Si.": "Drs. H. Abdul Muis, M.Si.",
    "I Gusti Ngurah Rai": "I Gusti Ngurah Rai",
    "Lie Kim Hok": "Lie Kim Hok",
    "D\u00e9sir\u00e9e": "D\u00e9sir\u00e9e",  # in the font as is
    "\u0160ar\u016bnas \u0152uvre \u017dak": "\u0160arunas \u0152uvre \u017dak",
    "Nguy\u1ec5n V\u0103n \u0110\u1ee9c": "Nguyen Van Duc",  # ễ is printable: as e
    "Thi\u1ec7u": "Thieu",
    "\u015eiti A\u011fustina": "Siti Agustina",
    "\u0141ukasz": "Lukasz",
    "Jl. Jend. Sudirman No. 5 \u2014 RT 01/RW 02": "Jl. Jend. Sudirman No. 5 \u2014 RT 01/RW 02",
    "RSUD dr. Dradjat Prawiranegara, Kota Serang": "RSUD dr. Dradjat Prawiranegara, Kota Serang",
}
# no glyph in the font: would print as ?
UNPRINTABLE = {
    "\u0645\u062d\u0645\u062f \u0639\u0644\u064a": "???? ???",  # Arabic
    "\u674e\u91d1\u798f": "???",  # CJK
    "Lie Kim Hok (\u674e\u91d1\u798f)": "Lie Kim Hok (???)",
    "\u0418\u0432\u0430\u043d \u041f\u0435\u0442\u0440\u043e\u0432": "???? ??????",  # Cyrillic
    "\u0e2a\u0e21\u0e0a\u0e32\u0e22": "?????",  # Thai
    "\ua98f\ua9bf\ua9ba\ua9b4": "?",  # Aksara Jawa: its marks print nothing
    "Siti \U0001f600": "Siti ?",  # an emoji
    "\u018fli": "?li",  # schwa
}


@pytest.mark.parametrize(("text", "printed"), PRINTABLE.items())
def test_latin_names_are_printable_as_the_card_shows_them(text, printed):
    assert is_printable(text)
    assert as_printed(text) == printed


@pytest.mark.parametrize(("text", "printed"), UNPRINTABLE.items())
def test_other_scripts_are_not_printable(text, printed):
    assert not is_printable(text)
    assert as_printed(text) == printed


class Names(Schema):
    name = PrintedText(min=2, max=120)
    note = Text(max=300)


@pytest.mark.parametrize("text", PRINTABLE)
def test_a_printable_name_is_taken_as_typed(text):
    assert Names().load({"name": text})["name"] == text  # stored as sent, printed as above


@pytest.mark.parametrize(("sent", "kept"), [
    ("\uff33\uff49\uff54\uff49 Aminah", "Siti Aminah"),  # full-width
    ("\U0001d412\U0001d422\U0001d42d\U0001d422 Aminah", "Siti Aminah"),  # mathematical bold
    ("Siti" + " " * 100 + "Aminah", "Siti Aminah"), ("Siti \u00a0 Aminah", "Siti Aminah"),
    ("D\u00e9d\u00e9 Ma\u2019ruf", "D\u00e9d\u00e9 Ma\u2019ruf"),
])
def test_a_persons_name_is_kept_in_the_letters_the_document_prints(sent, kept):
    """Outside audit S3: look-alike letters and runs of spaces were stored as
    sent - printed "Siti Aminah", found by no operator searching for it."""
    class Person(Schema):
        name = PersonName(min=2, max=120)
    assert Person().load({"name": sent})["name"] == kept


@pytest.mark.parametrize("text", UNPRINTABLE)
def test_a_name_the_card_cannot_print_is_refused_in_both_languages(text):
    with pytest.raises(ValidationError) as excinfo:
        Names().load({"name": text})
    [message] = excinfo.value.messages["name"]
    assert (localize(message, "id"), localize(message, "en")) == NOT_PRINTABLE


def test_text_no_document_prints_keeps_other_scripts():
    """A reject note goes by SMS only: any script, vocalised Arabic and
    Aksara Jawa with their marks (D4)."""
    for text in (*UNPRINTABLE, "\u0671\u0644\u0644\u064e\u0651\u0670\u0647\u0650"):
        assert Names().load({"note": text})["note"] == text


def test_the_look_alike_refusal_comes_before_the_latin_one():
    with pytest.raises(ValidationError) as excinfo:
        Names().load({"name": "\u0405iti"})  # Cyrillic DZE in a Latin word
    assert excinfo.value.messages["name"][0].en.startswith("A word mixes letters")


# every field that reaches a printed document or a Pos label: PrintedText;
# what none prints keeps Text
PRINTED_FIELDS = [(ApplicantSchema, "full_name"), (ChildSchema, "full_name"),
                  (KiaDetailsSchema, "child_full_name"),
                  (AktaKematianDetailsSchema, "place_of_death"), (AddressSchema, "street"),
                  (DestinationSchema, "street"), (PrrRowSchema, "full_name"),
                  (PrrRowSchema, "street"), (KelurahanOfficeSchema, "name"),
                  (KelurahanOfficeSchema, "street")]
UNPRINTED_FIELDS = [(KtpElDetailsSchema, "police_report_number"), (RejectSchema, "note")]


def test_printed_fields_take_only_what_the_document_prints():
    assert [(schema.__name__, name) for schema, name in PRINTED_FIELDS
            if not isinstance(schema().fields[name], PrintedText)] == []
    assert [(schema.__name__, name) for schema, name in UNPRINTED_FIELDS
            if isinstance(schema().fields[name], PrintedText)] == []


NAME_FIELDS = [(ApplicantSchema, "full_name"), (ChildSchema, "full_name"),
               (KiaDetailsSchema, "child_full_name"), (AktaKematianDetailsSchema,
                                                      "deceased_full_name"),
               (PrrRowSchema, "full_name")]
FORMULA = ("Tidak boleh diawali =, +, - atau @ (lembar kerja membacanya sebagai rumus).",
           "Must not start with =, +, - or @ (a spreadsheet reads it as a formula).")
NO_LETTER = ("Nama harus memuat huruf, bukan hanya angka atau tanda baca.",
             "A name must contain a letter, not only digits or punctuation.")
NAME_CHARACTERS = ("Nama hanya boleh berisi huruf, spasi dan tanda . , ' ’ - seperti "
                   "tertulis di KK (tanpa angka, alamat web atau simbol lain).",
                   "A name may hold only letters, spaces and . , ' ’ - as written on the "
                   "family card (KK) (no digits, web addresses or other symbols).")


def refusal(schema, field: str, text: str) -> tuple[str, str]:
    with pytest.raises(ValidationError) as excinfo:
        schema().fields[field].deserialize(text)
    [message] = excinfo.value.messages
    return localize(message, "id"), localize(message, "en")


@pytest.mark.parametrize(("schema", "field"), PRINTED_FIELDS)
@pytest.mark.parametrize("text", ['=HYPERLINK("http://x","Siti")', "+62 Siti", "-Siti Aminah",
                                  "@SUM(A1)", '  =1+1', "\u200b=cmd"])
def test_printed_text_that_starts_like_a_formula_is_refused(schema, field, text):
    """Outside audit: ``=HYPERLINK(...)`` was taken as a name or street, for
    the operators' lists and exports opened in a spreadsheet."""
    assert refusal(schema, field, text) == FORMULA


@pytest.mark.parametrize(("schema", "field"), NAME_FIELDS)
@pytest.mark.parametrize("text", ["1.5", "3673041207900001", "12 34", "007", "(1)"])
def test_a_persons_name_must_hold_a_letter(schema, field, text):
    """Outside audit: ``1.5`` or a 16-digit NIK was taken as a name, then
    printed on the card and sent unmasked in the SMS."""
    assert isinstance(schema().fields[field], PersonName)
    assert refusal(schema, field, text) == NO_LETTER


@pytest.mark.parametrize("text", ["Siti Aminah", "I Gusti Ngurah Rai", "Siti-Aminah",
                                  "Ma'ruf Amin", "Nur’aini", "Moh. Ali", "Sri Rahayu, S.Pd.",
                                  "Zoë Ñúñez", "Dedi Kurnia, S.Kom", "Rina, A.Md.",
                                  "Ni Luh Putu Ayu", "H. Abdul Rahman, S.Ag., M.Si."])
def test_names_with_a_letter_are_still_taken(text):
    for schema, field in NAME_FIELDS:
        assert schema().fields[field].deserialize(text) == text


@pytest.mark.parametrize("text", ["Abdul Muis 2", "Budi http://evil.example/login",
                                  "Siti 3673041207900001", "siti@example.id", "Budi (Alm)",
                                  "Anda menang undian! Hubungi kami", "Budi evil.example",
                                  "Klik bit.ly", "Hubungi wa.me",
                                  "Menang undian klik hadiah-dukcapil.com", "HADIAH.COM",
                                  "Info Dukcapil.Id"])
def test_a_persons_name_holds_letters_spaces_and_name_punctuation_only(text):
    """Outside audit N1: a name is the greeting of the Dinas' e-mails and
    SMS, and anyone could make it carry a link, a NIK or a phone number."""
    for schema, field in NAME_FIELDS:
        assert refusal(schema, field, text) == NAME_CHARACTERS


def test_a_street_may_be_a_number_and_a_name_a_word_with_a_dash_inside():
    for street in ("12 Jl. Merdeka", "Jl. Raya - Serang", "Blok A-3 No. 7"):
        assert AddressSchema().fields["street"].deserialize(street) == street


def test_the_prr_import_refuses_a_formula_or_a_number_as_a_name_naming_the_row():
    header = ("nik,full_name,kecamatan_code,recorded_on,street,rt,rw,kelurahan_code,"
              "postal_code,phone\n")
    row = "3673041207900001,{name},367304,2026-11-01,{street},003,005,3673041001,42111,\n"
    text = header + row.format(name='"=HYPERLINK(""http://x"")"', street="Jl. Merdeka 1") + \
        row.format(name="1.5", street="Jl. Merdeka 1").replace("1207900001", "1207900002") + \
        row.format(name="Siti", street="@Jl. X").replace("1207900001", "1207900003")
    parsed = prr.parse(text, datetime.date(2026, 11, 30), "en", text_problem=text_problem)
    assert sorted((bad["row"], bad["field"]) for bad in parsed.bad_rows) == [
        (2, "full_name"), (3, "full_name"), (4, "street")]


def test_the_card_shows_what_as_printed_says():
    """Windows-1252 letters Latin-1 lacks (Š, Œ, ž) are in the font: fpdf2
    encoded Latin-1 and the download failed; a letter outside it prints its
    base letter."""
    for name in ("\u0160ar\u016bnas \u0152uvre \u017dak", "Nguy\u1ec5n V\u0103n \u0110\u1ee9c"):
        content = artefact.render(PrintedDocument("ktp_el", "3673-KTP-2026-0000001", name,
                                                  datetime.date(2026, 1, 2), "SDK1.x",
                                                  nik="3673045207900001"))
        assert f": {as_printed(name)}" in pdf_text(content)


@pytest.mark.parametrize("document_type", ["ktp_el", "akta_kematian"])
def test_a_wrapped_name_keeps_the_windows_1252_letters(document_type):
    """A value too long for its line is wrapped by fpdf2, which hands its lines
    back in the font's bytes read as Latin-1: Š, Œ and ’ came back as C1
    control characters and printed ``?`` - ``?arunas Ma?ruf`` (outside audit
    hK: a 120-character name on a KTP-el and a certificate)."""
    name = ("\u0160ar\u016bnas Ma\u02bcruf Nur\u02bfaini \u0152dipe \u017dak "
            "Raden Roro Ayu Kusumawardhani Sekar Ningrum Putri Kencana Wungu")
    content = artefact.render(PrintedDocument(document_type, "3673-KTP-2026-0000001", name,
                                              datetime.date(2026, 1, 2), "SDK1.x",
                                              nik="3673045207900001"))
    text = pdf_text(content)
    assert "?" not in text
    assert " ".join(text.split()).count(
        "\u0160arunas Ma\u2019ruf Nur\u2018aini \u0152dipe \u017dak Raden") == 1
