"""Unit tests for shared.fields: NIK, No. KK and mobile-phone marshmallow fields."""

from __future__ import annotations

import pytest
from marshmallow import Schema, ValidationError

from shared.errors import Msg
from shared.fields import DeliverableEmail, KkNumber, MobilePhone, Nik
from shared.masking import mask_phone


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
    assert message.startswith("No. KK") and message.en.startswith("No. KK")
    assert value not in message and value not in message.en


@pytest.mark.parametrize("value", ["0254123456", "+62215551234", "+14155552671", "hello",
                                   "0812", "", "08123456789012345"])
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


class Contact(Schema):
    email = DeliverableEmail()


@pytest.mark.parametrize("address", ["siti.aminah@example.id", "a+b@mail.example.co.id",
                                     "x" * 64 + "@example.id"])
def test_deliverable_email_accepted(address):
    assert Contact().load({"email": address}) == {"email": address}


@pytest.mark.parametrize(("address", "hint"), [
    ("s\u00eeti@example.id", "ASCII"), ("siti@b\u00fccher.example", "ASCII"),
    ("x" * 65 + "@example.id", "64"), ("x@" + "d" * 250 + ".id", "254"),
    ("not an address", "Not a valid email address.")])
def test_undeliverable_email_refused(address, hint):
    with pytest.raises(ValidationError) as excinfo:
        Contact().load({"email": address})
    [message] = excinfo.value.messages["email"]
    assert hint in getattr(message, "en", message)
