"""Hostile input at intake: a 400 naming the field, in the client's language;
nothing stored; nothing published on any exchange.

The cases of issue 6, item 8: a body nested thousands of levels deep and a
lone surrogate (valid JSON, but no UTF-8 or BSON can carry it) answered 500;
control characters and line breaks in a name were accepted on their way to
the printed card and the e-mail; the Idempotency-Key, stored and indexed,
had no bound; an address the mail relay cannot take was accepted, to fail
later; an unknown field's name, however long, was echoed whole.

And (outside audit, F3) names that print as something else: zero-width and
bidi characters, a byte-order mark inside, private-use and unassigned code
points, sixty accents stacked on one letter, a word of Latin with Cyrillic
look-alikes - all were stored as sent, for the KTP-el, the certificate and
the SMS; a name given decomposed (e + accent) is stored composed (NFC).

And (outside audit, D3) names the document cannot print: ``محمد علي`` was
accepted, verified and printed as ``Nama : ???? ???``, ``李金福`` as ``???``.
Whatever a document prints (names, streets, the place of death) takes only
what its font shows (``shared.printable``): Latin letters, accented ones
printed by their base letter (``Nguyễn`` as ``Nguyen``). Text no document
prints (the reject note) keeps other scripts, vocalised Arabic included (D4).

And (outside audit G1) a requested path cannot write a line of its own into
a service's log: its line breaks and NULs stay percent-encoded there.
"""

from __future__ import annotations

import json
import uuid

import pytest
import requests

from shared.clock import today_wib
from tests.document_bodies import (birth_body, death_body, kia_body, nik_born,
                                   skpwni_keluar_body, years_before)
from tests.helpers import (OPERATOR, STATION, BrokerProbe, claim_job_for, eventually,
                           random_nik, valid_body, with_value)
from tests.pdf_checks import pdf_text

EXCHANGES = ("intake.events", "printing.events", "notification.events", "courier.events")
CONTROL = ("Tidak boleh memuat karakter kontrol atau baris baru.",
           "Must not contain control characters or line breaks.")
TOO_DEEP = ("Isi permintaan bersarang lebih dari 32 tingkat.",
            "Request body is nested more than 32 levels deep.")
UNSEEN = ("Memuat karakter tak terlihat atau tidak sah (misalnya spasi lebar-nol, pengatur arah "
          "teks, BOM, karakter pribadi atau tak terdefinisi).",
          "Contains an invisible or invalid character (e.g. a zero-width space, a text-direction "
          "control, a byte-order mark, a private-use or unassigned character).")
NOT_PRINTABLE = (
    "Hanya huruf Latin, seperti tertulis di KK: dokumen tidak dapat mencetak aksara lain "
    "(misalnya Arab, Tionghoa, Sirilik, Jawa) atau simbol.",
    "Latin letters only, as written on the family card (KK): the document cannot print "
    "other scripts (e.g. Arabic, Chinese, Cyrillic, Javanese) or symbols.")
BAD_KEY = ("Harus 1-128 karakter ASCII yang dapat dicetak (misalnya UUID).",
           "Must be 1-128 printable ASCII characters (e.g. a UUID).")


def nested(depth: int) -> bytes:
    """A valid application whose ``details`` hold lists ``depth`` levels deep."""
    body = json.dumps(with_value(valid_body(), "details.note", "HERE"))
    return body.replace('"HERE"', "[" * depth + "]" * depth).encode()


def body_with(path: str, value) -> bytes:
    return json.dumps(with_value(valid_body(), path, value)).encode()


def plain_body() -> bytes:
    return json.dumps(valid_body()).encode()


# case -> (body, extra headers, field, (message in Bahasa Indonesia, in English))
CASES = {
    "nested_beyond_the_parser": (lambda: nested(20_000), {}, "_body", TOO_DEEP),
    "nested_beyond_the_limit": (lambda: nested(40), {}, "_body", TOO_DEEP),
    "lone_surrogate_in_name": (
        lambda: body_with("applicant.full_name", "Siti \ud800 Aminah"), {},
        "applicant.full_name",
        ("Memuat karakter Unicode yang tidak sah (surrogate tanpa pasangan).",
         "Contains an invalid Unicode character (an unpaired surrogate).")),
    "lone_surrogate_in_field_name": (
        lambda: body_with("applicant.\udc00x", "y"), {}, "applicant.?x",
        ("Nama kolom memuat karakter yang tidak diizinkan.",
         "Field name contains characters that are not allowed.")),
    **{f"{what}_in_name": (lambda text=text: body_with("applicant.full_name", text), {},
                           "applicant.full_name", CONTROL)
       for what, text in {"newline": "Siti\nAminah", "nul": "Siti\x00Aminah",
                          "header_injection": "Siti Aminah\r\nBcc: x@example.id",
                          "escape_sequence": "Siti \x1b[2JAminah", "c1_next_line": "Siti\x85Aminah",
                          "line_separator": "Siti\u2028Aminah"}.items()},
    **{f"{what}_in_name": (lambda text=text: body_with("applicant.full_name", text), {},
                           "applicant.full_name", UNSEEN)
       for what, text in {"zero_width": "Si\u200bti Ami\u200dnah",
                          "right_to_left_override": "Siti \u202eHANIMA",
                          "byte_order_mark": "Siti\ufeffAminah", "noncharacter": "Siti \uffff",
                          "private_use": "Siti \ue000",
                          "isolate_closed_at_the_end": "Siti \u2067Aminah\u2069"}.items()},
    "stacked_accents_in_name": (
        lambda: body_with("applicant.full_name", "Ab" + "\u0301" * 60), {}, "applicant.full_name",
        ("Lebih dari 4 tanda diakritik pada satu huruf.",
         "More than 4 accent marks on one letter.")),
    "look_alike_letters_in_name": (
        lambda: body_with("applicant.full_name", "\u0405iti \u0410minah"), {},
        "applicant.full_name",
        ("Satu kata mencampur huruf dari aksara yang berbeda (misalnya huruf Latin dengan huruf "
         "Sirilik atau Yunani yang mirip).",
         "A word mixes letters of different scripts (e.g. Latin letters with look-alike "
         "Cyrillic or Greek ones).")),
    **{f"{what}_name": (lambda text=text: body_with("applicant.full_name", text), {},
                        "applicant.full_name", NOT_PRINTABLE)
       for what, text in {"arabic": "\u0645\u062d\u0645\u062f \u0639\u0644\u064a",
                          "chinese": "\u674e\u91d1\u798f",
                          "latin_with_chinese": "Lie Kim Hok (\u674e\u91d1\u798f)",
                          "cyrillic": "\u0418\u0432\u0430\u043d \u041f\u0435\u0442\u0440"
                                      "\u043e\u0432",
                          "vocalised_arabic": "\u0671\u0644\u0644\u0651\u064e\u0670\u0647\u0650",
                          "javanese_script": "\ua98f\ua9bf\ua9ba\ua9b4"}.items()},
    "thai_street_for_pos": (
        lambda: body_with("delivery", {"method": "pos", "address": {
            "street": "\u0e16\u0e19\u0e19\u0e2a\u0e38\u0e02\u0e38\u0e21\u0e27\u0e34\u0e17 5",
            "kelurahan_code": "3673041001", "postal_code": "42111"}}), {},
        "delivery.address.street", NOT_PRINTABLE),
    "tab_in_detail": (lambda: body_with("details.police_report_number", "LP/12\t/2025"), {},
                      "details.police_report_number", CONTROL),
    **{f"idempotency_key_{what}": (plain_body, {"Idempotency-Key": key}, "Idempotency-Key",
                                   BAD_KEY)
       for what, key in {"too_long": "k" * 129, "of_kilobytes": "k" * 6000,
                         "not_ascii": "kunci-\u00e9", "empty": ""}.items()},
    "email_local_part_not_ascii": (
        lambda: body_with("applicant.email", "s\u00eeti@example.id"), {}, "applicant.email",
        ("Alamat email dengan huruf di luar ASCII (misalnya beraksen) tidak dapat kami kirimi; "
         "gunakan alamat lain.",
         "We cannot deliver to an e-mail address with non-ASCII characters (e.g. accented "
         "letters); please use another address.")),
    "email_too_long": (
        lambda: body_with("applicant.email", "s" * 65 + "@example.id"), {}, "applicant.email",
        ("Alamat email terlalu panjang (maksimal 254 karakter, 64 sebelum @).",
         "E-mail address too long (at most 254 characters, 64 before the @).")),
    "unknown_field_name_of_60k": (
        lambda: body_with("applicant." + "x" * 60_000, 1), {}, "applicant." + "x" * 40 + "...",
        ("Kolom tidak dikenal.", "Unknown field.")),
}


def send(system, case: str, lang: str = "id") -> requests.Response:
    body, headers = CASES[case][0](), CASES[case][1]
    return requests.post(f"{system.url('intake')}/api/v1/applications", data=body, timeout=30,
                         headers={"Content-Type": "application/json",
                                  "Accept-Language": lang, **headers})


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("lang", ["id", "en"])
def test_hostile_input_is_a_400_naming_the_field(system, intake_state, case, lang):
    *_, field, (message_id, message_en) = CASES[case]
    before = intake_state()
    response = send(system, case, lang)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_failed"
    assert error["fields"] == {field: [message_en if lang == "en" else message_id]}
    assert len(response.content) < 1000  # nothing of the body echoed back
    assert intake_state() == before


def test_a_name_sent_decomposed_is_stored_composed(system, mongo):
    """"Jose" + combining acute (NFD) is stored as "Jos\u00e9" (NFC): one
    spelling of a name for the card, the search and the SMS."""
    answer = requests.post(f"{system.url('intake')}/api/v1/applications", timeout=10,
                           json=with_value(valid_body(), "applicant.full_name", "Jose\u0301"))
    assert answer.status_code == 202, answer.text
    stored = mongo["intake"].applications.find_one({"_id": answer.json()["application_id"]})
    assert stored["applicant"]["full_name"] == "Jos\u00e9"


def test_hostile_input_publishes_nothing(system, mongo):
    """Probes bound with ``#`` to every exchange; the hostile requests, then a
    valid application whose event (published in order after anything earlier)
    marks the end."""
    probes = [BrokerProbe(system.amqp_uri, exchange) for exchange in EXCHANGES]
    known = set(mongo["intake"].applications.distinct("_id"))
    try:
        for case in CASES:
            assert send(system, case).status_code == 400
        good = requests.post(f"{system.url('intake')}/api/v1/applications", timeout=10,
                             json=valid_body(),
                             headers={"Idempotency-Key": f"hostile-end-{random_nik()}"})
        assert good.status_code == 202, good.text
        good_id, seen = good.json()["application_id"], []

        def the_end_marker():
            seen.extend(probes[0].drain())
            return any(payload.get("application_id") == good_id for _, payload in seen)
        eventually(the_end_marker, what="the valid application's event")
        others = [message for probe in probes[1:] for message in probe.drain()]
    finally:
        for probe in probes:
            probe.close()
    # earlier tests' applications (and their batches, hand-overs ...) may still
    # be moving: only an application nobody had before could come from here
    assert ("application_submitted", good_id) in [(key, payload.get("application_id"))
                                                  for key, payload in seen]
    new = [(key, payload.get("application_id")) for key, payload in seen + others
           if payload.get("application_id") not in known | {good_id, None}]
    assert new == []


def birth_date(years: int):
    return years_before(today_wib(), years)


# document type's body with a printed field in another script -> that field
PRINTED_ELSEWHERE = {
    "kia_child": (lambda: with_value(kia_body(nik_born(birth_date(3)), documents=(
        "akta_kelahiran", "kartu_keluarga", "ktp_el")), "details.child_full_name",
        "\u674e\u5c0f\u9f8d"), "details.child_full_name"),
    "birth_child": (lambda: with_value(birth_body(birth_date(0)), "details.child.full_name",
                                       "\u0646\u0648\u0631 \u0639\u064a\u0646\u064a"),
                    "details.child.full_name"),
    "place_of_death": (lambda: with_value(death_body(today_wib()), "details.place_of_death",
                                          "\u0645\u0633\u062a\u0634\u0641\u0649 "
                                          "\u0633\u064a\u0631\u0627\u0646\u062c"),
                       "details.place_of_death"),
    "skpwni_destination": (lambda: with_value(skpwni_keluar_body(), "details.destination.street",
                                              "\u0423\u043b\u0438\u0446\u0430 "
                                              "\u041b\u0435\u043d\u0438\u043d\u0430 5"),
                           "details.destination.street"),
}


@pytest.mark.parametrize("case", sorted(PRINTED_ELSEWHERE))
@pytest.mark.parametrize("lang", ["id", "en"])
def test_every_printed_field_takes_only_what_the_document_prints(system, intake_state, case,
                                                                lang):
    body, field = PRINTED_ELSEWHERE[case]
    before = intake_state()
    answer = requests.post(f"{system.url('intake')}/api/v1/applications", json=body(),
                           headers={"Accept-Language": lang}, timeout=10)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["fields"] == {
        field: [NOT_PRINTABLE[1] if lang == "en" else NOT_PRINTABLE[0]]}
    assert intake_state() == before


def test_a_latin_name_with_accents_is_printed_as_its_letters(system, mongo):
    """Taken as typed (stored so, for the SMS), printed as the card's font
    shows it: Š in the font as is, ễ and Đ by their base letters - never a
    ``?``, never a failed download."""
    name = "\u0160ar\u016bnas Nguy\u1ec5n \u0110\u1ee9c"
    intake = system.url("intake")
    answer = requests.post(f"{intake}/api/v1/applications", timeout=10,
                           json=with_value(valid_body(), "applicant.full_name", name))
    assert answer.status_code == 202, answer.text
    application_id = answer.json()["application_id"]
    stored = mongo["intake"].applications.find_one({"_id": application_id})
    assert stored["applicant"]["full_name"] == name
    verified = requests.post(f"{intake}/api/v1/applications/{application_id}/verify",
                             headers=OPERATOR, timeout=10)
    assert verified.status_code == 200, verified.text
    job = claim_job_for(system.url("printing"), application_id)
    printed = requests.get(f"{system.url('printing')}/api/v1/station/jobs/"
                           f"{job['print_job_id']}/document.pdf",
                           params={"lease_token": job["lease_token"]}, headers=STATION,
                           timeout=30)
    assert printed.status_code == 200, printed.text
    text = " ".join(pdf_text(printed.content).split())
    assert "Nama : \u0160arunas Nguyen Duc" in text and "?" not in text


def test_a_reject_note_keeps_other_scripts(system):
    """The note goes to the citizen by SMS, never on a document: vocalised
    Arabic (three marks on one letter) is taken (D4)."""
    intake = system.url("intake")
    answer = requests.post(f"{intake}/api/v1/applications", json=valid_body(), timeout=10)
    assert answer.status_code == 202, answer.text
    note = "Mohon unggah KK yang jelas - \u0671\u0644\u0644\u0651\u064e\u0670\u0647\u0650"
    rejected = requests.post(
        f"{intake}/api/v1/applications/{answer.json()['application_id']}/reject",
        headers=OPERATOR, json={"reasons": ["kk_unreadable"], "note": note}, timeout=10)
    assert rejected.status_code == 200, rejected.text


def test_a_requested_path_cannot_write_a_line_of_its_own_into_a_log(system):
    """Outside audit G1: the access log's line, its target read
    percent-decoded, carried a line break and a NUL a client sent encoded -
    a forged line in the log, and a log ``grep`` read as binary."""
    marker = f"FORGED{uuid.uuid4().hex[:8]}"
    for service in ("intake", "courier"):
        answer = requests.get(f"{system.url(service)}/api/v1/nothing%0A2026-12-04%2015:33:00,000"
                              f"%20{service}%20ERROR%20{marker}%00", timeout=10)
        assert answer.status_code == 404

    def lines() -> list[str]:
        return [line for path in (system.run_dir / "logs").glob("*.log")
                for line in path.read_text(errors="replace").splitlines() if marker in line]
    found = eventually(lambda: (lambda seen: seen if len(seen) >= 2 else None)(lines()),
                       what="both requests in the access logs")
    for line in found:
        assert "/api/v1/nothing%0A2026-12-04 15:33:00,000" in line, line
        assert not line.startswith("2026-12-04 15:33:00") and "\x00" not in line, line
