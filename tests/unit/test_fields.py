"""Unit tests for shared.fields: NIK, No. KK and mobile-phone marshmallow fields."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from marshmallow import Schema, ValidationError, fields, validate

import services
import shared
from services.intake.schemas import ApplicationRequestSchema, KtpElDetailsSchema
from services.printing.schemas import PrintedBatchSchema
from shared.errors import Msg, localize
from shared.fields import (CitizenLookupSchema, DeliverableEmail, ItemCount, JsonBoolean,
                           KkNumber, MobilePhone, Nik, RegionCode, Text, TypedTrackingCode)
from shared.masking import mask_phone
from shared.paging import Cursor


class Person(Schema):
    nik = Nik()
    kk_number = KkNumber()
    phone = MobilePhone()


def error(field: str, value) -> Msg:
    with pytest.raises(ValidationError) as excinfo:
        Person().load({field: value})
    assert list(excinfo.value.messages) == [field]
    [message] = excinfo.value.messages[field]
    return message


def test_valid_values_are_normalized():
    loaded = Person().load({"nik": " 3673045207900001 ", "kk_number": "3673041201100003\n",
                            "phone": "0812-3456-7890"})
    assert loaded == {"nik": "3673045207900001", "kk_number": "3673041201100003",
                      "phone": "+6281234567890"}


@pytest.mark.parametrize("phone", ["081234567890", "6281234567890", "+6281234567890",
                                   "+62 812 3456 7890"])
def test_mobile_phone_forms_to_e164(phone):
    assert Person().load({"phone": phone}) == {"phone": "+6281234567890"}


@pytest.mark.parametrize(("value", "code_hint"), [
    ("3673041207900000", "0000"),        # serial 0000
    ("3673049907900001", "tanggal"),     # day 99
    ("367304120790001", "16 digit"),     # 15 digits
    ("36730412079000AB", "angka"),
    ("9973041207900001", "provinsi"),  # names "99", never the whole NIK
])
def test_invalid_nik_messages_are_bilingual_and_never_echo_value(value, code_hint):
    message = error("nik", value)
    assert isinstance(message, Msg) and message.en
    assert code_hint in message
    assert value not in message and value not in message.en
    assert value[6:12] not in message + message.en  # not even the birth date digits


@pytest.mark.parametrize("value", ["3673043201100003", "3673041201100000", "9973041201100003",
                                   "36730412011000"])
def test_invalid_kk_never_echoes_value(value):
    message = error("kk_number", value)
    assert isinstance(message, Msg)
    assert message.startswith("No. KK") and message.en.startswith("KK number")
    assert value not in message and value not in message.en


@pytest.mark.parametrize("phone", ["(0812) 3456.7890", " 0812-3456-7890 ", "+62 (812) 3456-7890"])
def test_mobile_phone_takes_the_usual_separators(phone):
    assert Person().load({"phone": phone}) == {"phone": "+6281234567890"}


@pytest.mark.parametrize("value", ["0254123456", "+62215551234", "+14155552671", "hello",
                                   "0812", "", "08123456789012345",
                                   # phonenumbers reads letters as keypad digits: another
                                   # number ("abc" -> 222), and a full-width digit as a digit
                                   "08123abc7890", "0812 FAST CALL", "O81234567890",
                                   "\uff10\uff18\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff19\uff10",
                                   "0812\u00a03456\u00a07890", "+62+81234567890",
                                   "0812/3456/7890"])
def test_invalid_phone_has_fixed_message(value):
    message = error("phone", value)
    assert message == "Nomor HP tidak valid (contoh: 081234567890)."
    assert message.en == "Invalid mobile number (example: 081234567890)."


def test_non_string_rejected():
    assert error("nik", 3673045207900001) == "Not a valid string."


def test_mask_phone():
    assert mask_phone("+6281234567890") == "+6281******890"
    assert mask_phone("+62812345678") == "+6281****678"
    assert mask_phone(None) == "" and mask_phone("") == ""


@pytest.mark.parametrize("value", ["+6281234", "0812345"])
def test_mask_phone_masks_short_values(value):
    masked = mask_phone(value)
    assert "*" in masked
    assert value not in masked


class Names(Schema):
    name = Text(min=2, max=120)
    reference = Text(max=64, load_default=None)


@pytest.mark.parametrize("value", ["", "   ", "\u00a0\u3000", "\u200b\u200b\u200b",
                                   "\ufeff \u2060", "\u3164\u3164", "--", ". .", "\u0301\u0301"])
def test_text_with_nothing_to_read_is_refused_in_both_languages(value):
    with pytest.raises(ValidationError) as excinfo:
        Names().load({"name": value})
    [message] = excinfo.value.messages["name"]
    assert (localize(message, "id"), localize(message, "en")) == (
        "Tidak boleh kosong: harus memuat huruf atau angka.",
        "Must not be blank: must contain a letter or digit.")


@pytest.mark.parametrize(("value", "kept"), [
    ("Siti Aminah", "Siti Aminah"), ("  Siti  Aminah \u200b", "Siti  Aminah"),
    ("\u00a0Budi\u3000", "Budi"), ("Jl. 17", "Jl. 17"), ("\u00c9lise", "\u00c9lise"),
    ("12", "12")])
def test_text_is_kept_without_what_surrounds_it(value, kept):
    assert Names().load({"name": value})["name"] == kept


@pytest.mark.parametrize(("value", "kept"), [
    ("Jose\u0301", "Jos\u00e9"), ("Ma'ruf Amin", "Ma'ruf Amin"), ("Nur\u2019aini", "Nur\u2019aini"),
    ("Ma\u02bcruf", "Ma\u02bcruf"), ("Siti-Aminah", "Siti-Aminah"), ("Abd. Rahman", "Abd. Rahman"),
    ("Ng\u1ee5y V\u0103n Thi\u1ec7u", "Ng\u1ee5y V\u0103n Thi\u1ec7u"),
    *[(name, name) for name in (
        "\u0418\u0432\u0430\u043d \u041f\u0435\u0442\u0440\u043e\u0432",  # Cyrillic
        "\u0645\u062d\u0645\u062f",  # Arabic
        "\u5c71\u7530\u305f\u308d\u3046")],  # kanji and hiragana
    ("\u0e01\u0e35\u0e49", "\u0e01\u0e35\u0e49"), ("Ba\u0323\u0302", "B\u1ead"),
    # vocalised Arabic (lam + shadda, fatha, dagger alif; NFC puts the fatha
    # first) and Aksara Jawa ("kro": cakra, taling, tarung): three marks on a
    # letter, as written
    ("\u0671\u0644\u0644\u0651\u064e\u0670\u0647\u0650",
     "\u0671\u0644\u0644\u064e\u0651\u0670\u0647\u0650"),
    ("\ua98f\ua9bf\ua9ba\ua9b4", "\ua98f\ua9bf\ua9ba\ua9b4"),
    ("Jl. Jend. Sudirman No. 5 \u2014 RT 01/RW 02", "Jl. Jend. Sudirman No. 5 \u2014 RT 01/RW 02"),
    ("\u200bSiti Aminah\u200b", "Siti Aminah")])
def test_text_takes_what_real_names_hold_in_nfc(value, kept):
    assert Names().load({"name": value})["name"] == kept


def test_text_counts_characters_in_nfc():
    """An "e" + combining accent is one character, "\u00e9", however it was typed."""
    assert Names().load({"reference": "e\u0301" * 64})["reference"] == "\u00e9" * 64
    with pytest.raises(ValidationError):
        Names().load({"name": "\u00a0e\u0301 "})


INVISIBLE = "Contains an invisible or invalid character"


@pytest.mark.parametrize(("value", "hint"), [
    ("Si\u200bti Ami\u200dnah", INVISIBLE), ("Siti \u202eHANIMA", INVISIBLE),
    ("Siti\ufeffAminah", INVISIBLE), ("Siti \uffff", INVISIBLE), ("Siti \ue000", INVISIBLE),
    ("Siti \U000f0000", INVISIBLE), ("Siti\U000e0041 Aminah", INVISIBLE),  # plane 15, a tag
    ("Siti \u0378", INVISIBLE),  # unassigned
    ("Siti\u00adAminah", INVISIBLE),  # soft hyphen
    ("Siti \u2067Aminah\u2069", INVISIBLE),  # the isolate's end is not trimmed away
    ("Siti \ud800", INVISIBLE),
    ("Ab" + "\u0301" * 60, "More than 4 accent marks on one letter."),
    ("Abq\u0301\u0302\u0303\u0304\u0306", "More than 4 accent marks on one letter."),
    ("\u0405iti \u0410minah", "A word mixes letters of different scripts"),
    ("Siti Amin\u0430h", "A word mixes letters of different scripts"),
    ("S\u03b9ti", "A word mixes letters of different scripts")])
def test_text_that_prints_as_something_else_is_refused_in_both_languages(value, hint):
    with pytest.raises(ValidationError) as excinfo:
        Names().load({"name": value})
    [message] = excinfo.value.messages["name"]
    assert message.en.startswith(hint)
    assert localize(message, "id") != message.en


def test_text_counts_the_characters_kept():
    with pytest.raises(ValidationError) as excinfo:
        Names().load({"name": "  A  "})  # one character once the spaces are off
    [message] = excinfo.value.messages["name"]
    assert localize(message, "id") == "Panjang harus antara 2 dan 120 karakter."
    assert Names().load({"reference": "x" * 64})["reference"] == "x" * 64
    with pytest.raises(ValidationError) as excinfo:
        Names().load({"reference": "x" * 65})
    assert list(excinfo.value.messages) == ["reference"]
    assert Names().load({})["reference"] is None


class Contact(Schema):
    email = DeliverableEmail()


@pytest.mark.parametrize("address", ["siti.aminah@example.id", "a+b@mail.example.co.id",
                                     "x" * 64 + "@example.id"])
def test_deliverable_email_accepted(address):
    assert Contact().load({"email": address}) == {"email": address}
    assert Contact().load({"email": f" {address}\t"}) == {"email": address}  # pasted


@pytest.mark.parametrize(("address", "hint"), [
    ("s\u00eeti@example.id", "ASCII"), ("siti@b\u00fccher.example", "ASCII"),
    ("x" * 65 + "@example.id", "64"), ("x@" + "d" * 250 + ".id", "254"),
    ("not an address", "Not a valid email address."),
    ("a@localhost", "internet domain"), ("a@[127.0.0.1]", "internet domain"),
    ("a@123.45.67.89", "internet domain")])
def test_undeliverable_email_refused(address, hint):
    with pytest.raises(ValidationError) as excinfo:
        Contact().load({"email": address})
    [message] = excinfo.value.messages["email"]
    assert hint in getattr(message, "en", message)


class Flags(Schema):
    flag = JsonBoolean()


@pytest.mark.parametrize("value", ["yes", "on", "true", "1", 1, 0, None, [], {}])
def test_a_boolean_is_a_json_true_or_false_only(value):
    with pytest.raises(ValidationError) as excinfo:
        Flags().load({"flag": value})
    [message] = excinfo.value.messages["flag"]
    if value is not None:  # (None: "may not be null")
        assert message == "Harus true atau false (boolean JSON, tanpa tanda kutip)."
        assert message.en == "Must be true or false (a JSON boolean, without quotes)."


def test_true_and_false_load_and_dump_as_themselves():
    assert Flags().load({"flag": True}) == {"flag": True}
    assert Flags().load({"flag": False}) == {"flag": False}
    assert Flags().dump({"flag": True}) == {"flag": True}


@pytest.mark.parametrize(("body", "field"), [
    ({"reason": "damaged", "old_card_surrendered": "yes"}, "old_card_surrendered"),
    ({"reason": "damaged", "old_card_surrendered": 1}, "old_card_surrendered")])
def test_the_api_booleans_refuse_strings_and_numbers(body, field):
    with pytest.raises(ValidationError) as excinfo:
        KtpElDetailsSchema().load(body)
    assert list(excinfo.value.messages) == [field]


@pytest.mark.parametrize(("validator", "value", "indonesian", "english"), [
    (ItemCount(min=1, max=100), [], "Jumlah isian harus antara 1 dan 100.",
     "Number of entries must be between 1 and 100."),
    (ItemCount(min=1), [], "Minimal 1 isian.", "Number of entries must be at least 1."),
    (ItemCount(max=2), [1, 2, 3], "Maksimal 2 isian.", "Number of entries must be at most 2."),
    (ItemCount(equal=2), [1], "Jumlah isian harus tepat 2.",
     "Number of entries must be exactly 2.")])
def test_a_list_count_speaks_of_entries_in_both_languages(validator, value, indonesian, english):
    with pytest.raises(ValidationError) as excinfo:
        validator(value)
    [message] = excinfo.value.messages
    assert (localize(message, "id"), localize(message, "en")) == (indonesian, english)


def test_a_station_batch_report_with_no_jobs_speaks_of_entries():
    with pytest.raises(ValidationError) as excinfo:
        PrintedBatchSchema().load({"jobs": []})
    [message] = excinfo.value.messages["jobs"]
    assert localize(message, "id") == "Jumlah isian harus antara 1 dan 100."


def test_a_msg_template_keeps_both_languages_when_formatted():
    formatted = Msg("Paling banyak {max}.", "At most {max}.").format(max=3)
    assert isinstance(formatted, Msg) and (formatted, formatted.en) == (
        "Paling banyak 3.", "At most 3.")


def project_fields():
    """(schema, name, field) of every schema the project declares, lists' items too."""
    for package in (services, shared):
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            importlib.import_module(module.name)
    seen = set()
    pending = list(Schema.__subclasses__())
    while pending:
        schema = pending.pop()
        pending += schema.__subclasses__()
        if schema in seen or not schema.__module__.startswith(("services.", "shared.")):
            continue
        seen.add(schema)
        for name, field in schema().declared_fields.items():
            while field is not None:
                yield schema, name, field
                field = getattr(field, "inner", None)


def test_every_schema_declares_strict_booleans_and_counts_lists_in_entries():
    found = list(project_fields())
    assert any(schema is ApplicationRequestSchema for schema, _, _ in found)
    loose = [(schema.__name__, name) for schema, name, field in found
             if isinstance(field, fields.Boolean) and not isinstance(field, JsonBoolean)]
    by_length = [(schema.__name__, name) for schema, name, field in found
                 if isinstance(field, fields.List) and any(
                     isinstance(v, validate.Length) and not isinstance(v, ItemCount)
                     for v in field.validators)]
    assert (loose, by_length) == ([], [])


def test_every_text_intake_takes_has_a_bound():
    """A request field with no maximum took 30,000 characters of RT, which Pos
    refused long after the citizen was told all was well: each text field of
    intake's request schemas has a maximum length, a pattern or a list of
    values (or parses a fixed form: NIK, KK, phone, e-mail, region code, a
    tracking code as typed, a page's cursor).
    ``services.intake.openapi`` declares the answers, which intake writes."""
    fixed_forms = (Nik, KkNumber, MobilePhone, fields.Email, RegionCode, TypedTrackingCode,
                   Cursor)
    unbounded = [(schema.__name__, name) for schema, name, field in project_fields()
                 if schema.__module__.startswith("services.intake.")
                 and schema.__module__ != "services.intake.openapi"
                 and isinstance(field, fields.String) and not isinstance(field, fixed_forms)
                 and not any(isinstance(v, (validate.OneOf, validate.Regexp))
                             or (isinstance(v, validate.Length) and v.max is not None)
                             for v in field.validators)]
    assert unbounded == []


@pytest.mark.parametrize("typed", ["SDK7KQ2M9XA\u200b", "\ufeffSDK7KQ2M9XA", "SDK-7KQ2M9XA",
                                   "SDK7KQ\u00a02M9XA"])
def test_a_tracking_code_with_anything_but_letters_and_digits_is_refused_naming_it(typed):
    """Outside audit S3: one with a zero-width space pasted along answered
    404 and counted as a failed lookup, while a NIK with one is a 400."""
    with pytest.raises(ValidationError) as refused:
        CitizenLookupSchema().load({"tracking_code": typed, "nik": "3673045207900001"})
    assert list(refused.value.messages) == ["tracking_code"]
    assert CitizenLookupSchema().load({"tracking_code": " sdk7kq2m9xa ",
                                       "nik": "3673045207900001"})["tracking_code"] == "sdk7kq2m9xa"


def test_a_tracking_codes_length_counts_without_the_spaces_around_it():
    """Outside audit R2: the served document's maxLength counted them."""
    loaded = CitizenLookupSchema().load({"tracking_code": " SDK7KQ2M9XA" + " " * 12,
                                         "nik": "3673045207900001"})
    assert loaded["tracking_code"] == "SDK7KQ2M9XA"
    for wrong in ("SDK7K", "SDK7KQ2M9XA" * 2):
        with pytest.raises(ValidationError) as refused:
            CitizenLookupSchema().load({"tracking_code": wrong, "nik": "3673045207900001"})
        assert list(refused.value.messages) == ["tracking_code"]


def test_a_schema_is_built_once_per_set_of_options_and_keeps_nothing_of_a_load():
    from services.intake.schemas import SubmitRequestSchema
    from shared.fields import schema
    from tests.helpers import valid_body

    english, bahasa = schema(SubmitRequestSchema, lang="en"), schema(SubmitRequestSchema, lang="id")
    assert english is schema(SubmitRequestSchema, lang="en") and english is not bahasa
    # a refused body, then a good one through the same instance: no error
    # or value of the first is left for the second
    wrong = valid_body()
    wrong["applicant"]["nik"] = "123"
    with pytest.raises(ValidationError) as refused:
        english.load(wrong)
    assert "nik" in refused.value.messages["applicant"]
    body = valid_body()  # no applicant.language: the request's
    assert english.load(body)["applicant"]["language"] == "en"
    assert bahasa.load(body)["applicant"]["language"] == "id"
    assert english.load(body)["applicant"]["nik"] == body["applicant"]["nik"]
