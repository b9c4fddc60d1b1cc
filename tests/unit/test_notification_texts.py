"""Every notice's templates, rendered with realistic data: one GSM-7 SMS part
with the longest real place names, no NIK/KK/phone, Bahasa Indonesia or
English, a valid e-mail; and the GSM-7 rules themselves."""

from __future__ import annotations

import email.policy
import re
from email.headerregistry import HeaderRegistry

import pytest

from services.notification.domain import (CHANNEL_NOTICES, DELIVERY_NOTICES,
                                          KELURAHAN_PARCEL_NOTICES, NOTICES, REASON_NOTICES,
                                          notice_for)
from services.notification.gateways import MailClient, message_id_header
from services.notification.gsm7 import fits_one_part, septets, transliterate
from services.notification.messages import render
from shared.events import DOCUMENT_TYPES
from shared.offices import PLACES
from shared.wilayah import load_wilayah

NIK, KK, PHONE = "3673045207900001", "3673041201100003", "+6281234567890"
CITIZEN_KINDS = sorted(n.kind for n in (*NOTICES.values(), *CHANNEL_NOTICES.values(),
                                        *DELIVERY_NOTICES.values(), *REASON_NOTICES.values(),
                                        *KELURAHAN_PARCEL_NOTICES.values())
                       if n.audience == "citizen")
# a Wednesday in September: the longest Indonesian day and month names
LONG_DATE = "2026-09-30"


def longest_region_names(count: int = 3) -> list[str]:
    """The longest kelurahan/desa names of the region list, title-cased as
    a place name is written, and one with a ’ (transliterated to ')."""
    names = load_wilayah()._names.values()
    longest = sorted(names, key=len, reverse=True)[:count]
    apostrophe = max((n for n in names if "’" in n or "'" in n), key=len)
    return [name.title() for name in (*longest, apostrophe)]


def slots():
    """Every real pickup place, and places named after the longest regions."""
    for place in PLACES.values():
        yield {"place": place.name, "address": place.address}
    for name in longest_region_names():
        yield {"place": f"Kantor Kelurahan {name}", "address": f"Jl. Raya {name} No. 123, {name}"}


def event_for(kind: str, slot: dict, document_type: str) -> dict:
    # "nik"/"kk_number"/"contact" are extra keys on purpose: texts must not use them
    return {"document_type": document_type, "tracking_code": "SDK7H3KQ9MX",
            "full_name": "Siti Aminah Nurhasanah Binti Abdurrahman", "nik": NIK, "kk_number": KK,
            "contact": {"phone": PHONE}, "slot": {**slot, "date": LONG_DATE, "start": "09:00",
                                                  "end": "10:00"},
            "reasons": ["Foto KK tidak terbaca; unggah ulang hasil pindai yang jelas",
                        "Nama ibu kandung tidak sesuai dengan KK"],
            "note": "Mohon unggah ulang", "barcode": "P2609301234567", "reason": "alamat tidak ditemukan",
            "place_name": slot["place"], "place_address": slot["address"], "day": LONG_DATE,
            "opens": "08:00", "closes": "15:00", "booking_code": "REK7H3KQ9M"}


@pytest.mark.parametrize("lang", ["id", "en"])
@pytest.mark.parametrize("kind", CITIZEN_KINDS)
def test_every_sms_is_one_gsm7_part_with_the_longest_place_names(kind, lang):
    for slot in slots():
        for document_type in DOCUMENT_TYPES:
            texts = render(kind, event_for(kind, slot, document_type), lang)
            assert septets(texts.sms) <= 160, (len(texts.sms), texts.sms)
            assert "SDK7H3KQ9MX" in texts.sms or "REK7H3KQ9M" in texts.sms
            for secret in (NIK, KK, PHONE, PHONE[1:], "0" + PHONE[3:]):
                for text in (texts.sms, texts.subject, texts.text, texts.html, *texts.whatsapp):
                    assert secret not in text


@pytest.mark.parametrize("lang", ["id", "en"])
def test_a_phone_number_in_pos_note_reaches_the_citizen_masked(lang):
    """Pos' note of a failed attempt goes into the citizen's SMS and e-mail
    (the event's ``reason``): courier masks it as it comes in."""
    from services.courier.domain import new_shipment, tracking_news
    carried = {"application_id": "a1", "tracking_code": "SDK6GR3TSVZ", "document_type": "kia"}
    shipment = {**new_shipment("SDK-j1", "application", [carried], {}, None),
                "status": "dispatched", "barcode": "P2611290001"}
    _, _, [_, failed] = tracking_news(shipment, [{
        "status": "FAILED", "at": "2026-11-29T10:00:00+07:00",
        "note": "Rumah kosong, hubungi 081234567805"}], "webhook", None)
    texts = render("delivery_failed", failed.payload, lang)
    assert {"id": "(Rumah kosong, hubungi 08123****805)",
            "en": '(Pos\' note, in Indonesian: "Rumah kosong, hubungi 08123****805")'}[lang] \
        in texts.sms, texts.sms
    for text in (texts.sms, texts.text, texts.html):
        assert "081234567805" not in text and "81234567805" not in text


@pytest.mark.parametrize("kind", CITIZEN_KINDS)
def test_english_when_the_citizen_chose_it(kind):
    slot = next(slots())
    indonesian = render(kind, event_for(kind, slot, "ktp_el"), "id")
    english = render(kind, event_for(kind, slot, "ktp_el"), "en")
    assert indonesian.sms != english.sms and indonesian.subject != english.subject
    assert english.text.startswith("Dear ") and indonesian.text.startswith("Yth. ")
    assert '<html lang="en">' in english.html


def test_pickup_texts_say_place_day_and_time():
    slot = {"place": "Kantor Kecamatan Curug", "address": "Jl. Raya Curug No. 1, Kota Serang"}
    event = {**event_for("ready", slot, "ktp_el"), "slot": {**slot, "date": "2026-11-30",
                                                            "start": "09:00", "end": "10:00"}}
    texts = render("ready", event, "id")
    # the reminder needs a second part: the e-mail carries it, the SMS the address
    assert texts.sms == ("Smartdukcapil: KTP-el SDK7H3KQ9MX siap diambil di Kantor Kecamatan Curug, "
                         "Jl. Raya Curug No. 1, Kota Serang, Senin, 30 Nov 2026 09.00-10.00 WIB.")
    assert "Hari: Senin, 30 November 2026\nPukul: 09.00-10.00 WIB" in texts.text
    assert texts.whatsapp == ("KTP-el", "SDK7H3KQ9MX", "Kantor Kecamatan Curug",
                              "Jl. Raya Curug No. 1, Kota Serang", "Senin, 30 November 2026",
                              "09.00-10.00")


CURUG = {"place_id": "kec-curug", "place_name": "Kantor Kecamatan Curug",
         "place_address": "Jl. Raya Curug No. 1, Kota Serang", "day": "2027-01-04",
         "booking_code": "REK8MW8TFZG", "opens": "08:00", "closes": "15:00"}


def test_a_recording_booking_says_the_day_and_the_hours_to_come():
    """A citizen told only the day cannot tell whether to come at 07:00 or
    16:00: the SMS, the e-mail and WhatsApp's day give the place's hours."""
    texts = render("appointment", CURUG, "id")
    # with the address it would need a second part: the e-mail carries the address
    assert texts.sms == ("Smartdukcapil: perekaman KTP-el Senin, 4 Jan 2027 pukul 08.00-15.00 WIB "
                         "di Kantor Kecamatan Curug. Kode booking REK8MW8TFZG. Bawa KK asli.")
    assert "Hari: Senin, 4 Januari 2027\nPukul: 08.00-15.00 WIB\n" in texts.text
    assert texts.whatsapp == ("Senin, 4 Januari 2027 pukul 08.00-15.00 WIB",
                              "Kantor Kecamatan Curug", "REK8MW8TFZG")
    english = render("appointment", CURUG, "en")
    assert "Mon, 4 Jan 2027 at 08:00-15:00 WIB" in english.sms
    assert "Day: Monday, 4 January 2027\nTime: 08:00-15:00 WIB\n" in english.text
    cancelled = render("appointment_cancelled", {**CURUG, "reason": "cancelled"}, "id")
    assert "Pukul: 08.00-15.00 WIB" in cancelled.text
    # the subject's day is the booking that ended (outside audit D: "recording
    # moved: <day>" read as the new day)
    replaced = render("appointment_cancelled", {**CURUG, "reason": "replaced"}, "en")
    assert replaced.subject == ("KTP-el recording on Monday, 4 January 2027 replaced by a new "
                                "booking (REK8MW8TFZG)")
    assert cancelled.subject == "Jadwal perekaman KTP-el Senin, 4 Januari 2027 dibatalkan " \
        "(REK8MW8TFZG)"


@pytest.mark.parametrize("kind", ["appointment", "appointment_cancelled"])
def test_a_recording_event_from_before_the_hours_still_reads(kind):
    """Older events carry no ``opens``/``closes``: the place's hours
    (shared.offices), or none for a place no longer listed."""
    older = {key: value for key, value in CURUG.items() if key not in ("opens", "closes")}
    assert "Pukul: 08.00-15.00 WIB" in render(kind, older, "id").text
    unlisted = render(kind, {**older, "place_id": "kec-gone"}, "id")
    assert "Pukul" not in unlisted.text and "pukul" not in unlisted.sms
    assert "Senin, 4 Januari 2027" in unlisted.text


def test_officers_hand_over_notices_say_where_and_when_to_collect():
    """Printing's hand-over events name the officer's day at the Dinas
    (``printing.handovers.handover_slot``); the e-mail says place, day and hours."""
    slot = {"place": "Loket Disdukcapil Kota Serang",
            "address": "Jl. Jenderal Sudirman No. 5, Kota Serang", "date": "2026-11-30",
            "start": "08:00", "end": "15:00"}
    items = [{"application_id": "a", "tracking_code": "SDK7H3KQ9MX", "full_name": "Siti Aminah",
              "document_type": "akta_kelahiran"}]
    batch = render("batch_ready", {"manifest_id": "JB-3673041010-20261127-ABCDEF",
                                   "kelurahan_code": "3673041010", "items": items,
                                   "slot": slot}, "id", sms=False)
    kecamatan = render("handover_ready", {"kecamatan_code": "367304", "day": "2026-11-30",
                                          "items": items, "slot": slot}, "id", sms=False)
    for texts in (batch, kecamatan):
        assert "Tempat: Loket Disdukcapil Kota Serang" in texts.text
        assert "Senin, 30 November 2026" in texts.text and "08.00-15.00 WIB" in texts.text
        assert "SDK7H3KQ9MX - Siti Aminah - Akta Kelahiran" in texts.text
    # an older event without a slot still reads
    older = render("handover_ready", {"kecamatan_code": "367304", "day": "2026-11-30",
                                      "items": items, "slot": None}, "id", sms=False)
    assert "Senin, 30 November 2026" in older.text and "Tempat:" not in older.text


def test_a_region_name_with_a_typographic_apostrophe_stays_gsm7():
    slot = {"place": "Kantor Desa Ma’rang", "address": "Jl. Ma’rang No. 1"}
    texts = render("ready", event_for("ready", slot, "ktp_el"), "id")
    assert "Ma'rang" in texts.sms and fits_one_part(texts.sms)
    assert "Ma’rang" in texts.text  # the e-mail keeps the real spelling


def test_html_part_escapes_what_it_shows():
    slot = {"place": "Kantor <b>Curug</b> & Co", "address": "Jl. A"}
    html = render("ready", event_for("ready", slot, "ktp_el"), "id").html
    assert "&lt;b&gt;Curug&lt;/b&gt; &amp; Co" in html and "<b>Curug" not in html


@pytest.mark.parametrize(("text", "count"), [("abc", 3), ("€10", 4), ("[x]", 5), ("é", 1)])
def test_extension_characters_count_two_septets(text, count):
    assert septets(text) == count


def test_transliteration():
    assert transliterate("Ma’rang – “Kota” ā ñ 😀") == "Ma'rang - \"Kota\" a ñ ?"
    with pytest.raises(ValueError):
        septets("’")


def test_message_id_is_stable_and_valid():
    header = message_id_header("0123abcd.email", "smartdukcapil.local")
    assert header == "<0123abcd.email@smartdukcapil.local>"
    parsed = HeaderRegistry()("Message-ID", header)
    assert str(parsed) == header and ":" not in header.split("@")[0]


def ready_email():
    """A "ready" notice's e-mail message, and its event."""
    from services.notification.domain import notice_for
    from shared.events import build_event
    event = build_event("document_ready_for_pickup", application_id="app-1",
                        tracking_code="SDK7H3KQ9MX", document_type="ktp_el", print_job_id="j",
                        full_name="Siti", contact={"email": "siti@example.id"},
                        slot={"place": "Kantor Kecamatan Curug", "address": "Jl. A",
                              "date": "2026-11-30", "start": "09:00", "end": "10:00"})
    [message] = notice_for("document_ready_for_pickup", event, event["contact"]).messages()
    return message, event


MAIL = MailClient("127.0.0.1", 25, "Smartdukcapil <noreply@smartdukcapil.local>", 1,
                  "smartdukcapil.local")


def test_email_has_plain_text_and_html_parts():
    message, event = ready_email()
    built = MAIL.build(message)
    assert built.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in built.iter_parts()] == ["text/plain", "text/html"]
    assert built["Message-ID"] == f"<{event['event_id']}.email@smartdukcapil.local>"
    assert built.as_bytes(policy=email.policy.SMTP)


@pytest.mark.parametrize("language", ["id", "en"])
@pytest.mark.parametrize("html", [True, False])
def test_an_email_says_its_language_in_content_language(language, html):
    """Outside review: set before set_content(), which clears every Content-*
    header, Content-Language never left the service."""
    from dataclasses import replace
    message, _ = ready_email()
    message = replace(message, language=language, html=message.html if html else None)
    sent = MAIL.build(message).as_bytes(policy=email.policy.SMTP)
    read = email.message_from_bytes(sent, policy=email.policy.default)
    assert read.get_all("Content-Language") == [language]


@pytest.mark.parametrize("subject", [
    # 70-77 characters: folded right after "Subject:" at 78
    "Dokumen jemput bola siap diambil: JB-3673041010-20261127-ABCDEF (12 dokumen)",
    "Dokumen jemput bola susulan siap diambil: JB-3673041010-20261127-ABCDEF (12 dokumen)",
    # a non-ASCII character: folded still (RFC 2047), read back but for spaces
    "Dokumen jemput bola Kelurahan Sukajaya Kecamatan Curug siap diambil – 12 dokumen",
    "Jadwal perekaman KTP-el Anda – Kantor Kelurahan Cibeber, Café Sélasa – "
    "Rabu, 30 September 2026 pukul 08:00-15:00 WIB"])
def test_a_long_subject_is_read_back_as_it_was_written(subject):
    """Outside audit S1: a batch e-mail went out as "Subject: \\n Dokumen
    jemput bola ...", which clients show with a leading space."""
    from dataclasses import replace
    from email.generator import BytesGenerator
    from io import BytesIO

    message, _ = ready_email()
    sent = BytesIO()  # as smtplib's send_message writes it
    BytesGenerator(sent).flatten(MAIL.build(replace(message, subject=subject)), linesep="\r\n")
    read = email.message_from_bytes(sent.getvalue(), policy=email.policy.default)
    if subject.isascii():
        assert read["Subject"] == subject
    else:  # folded, each encoded word within RFC 2047's 75 characters
        assert " ".join(read["Subject"].split()) == subject
        assert max(map(len, re.findall(rb"=\?[^?]+\?[bqBQ]\?[^?]*\?=", sent.getvalue()))) <= 75
    assert read.get_body(("plain",)).get_content().replace("\r\n", "\n") == message.text
    assert max(len(line) for line in sent.getvalue().split(b"\r\n")) <= 998
    assert all(ord(char) < 128 for char in sent.getvalue().decode("latin-1"))  # 7-bit


class FakeResponse:
    def __init__(self, status_code: int, body: str):
        self.status_code, self.body = status_code, body

    def json(self):
        import json
        return json.loads(self.body)


class FakeSession:
    def __init__(self, response):
        self.response, self.calls = response, []

    def post(self, url, **kwargs):
        self.calls.append(kwargs)
        return self.response


def test_an_accepted_sms_with_an_unreadable_reply_counts_as_sent():
    from services.notification.domain import notice_for
    from services.notification.exceptions import DeliveryFailed
    from services.notification.gateways import UNREADABLE_REPLY, SmsClient
    from shared.events import build_event
    event = build_event("tracking_code_resend_requested", application_id="app-1",
                        tracking_code="SDK7H3KQ9MX", document_type="ktp_el",
                        contact={"phone": PHONE})
    [message] = notice_for("tracking_code_resend_requested", event, event["contact"]).messages()
    accepted = FakeSession(FakeResponse(200, "<html>OK</html>"))
    assert SmsClient(accepted, "http://gw", "u", "p", 1).send(message) == UNREADABLE_REPLY
    assert accepted.calls[0]["data"]["reference"] == f"{event['event_id']}.sms"
    with pytest.raises(DeliveryFailed, match="answered 502"):
        SmsClient(FakeSession(FakeResponse(502, "")), "http://gw", "u", "p", 1).send(message)
    with pytest.raises(DeliveryFailed, match="refused"):
        SmsClient(FakeSession(FakeResponse(200, '{"status": "0"}')), "http://gw", "u", "p",
                  1).send(message)


def longest_kelurahan_codes(count: int = 3) -> list[str]:
    codes = {code: name for code, name in load_wilayah()._names.items() if len(code) == 10}
    return sorted(codes, key=lambda code: len(codes[code]), reverse=True)[:count]


@pytest.mark.parametrize("lang", ["id", "en"])
@pytest.mark.parametrize("kind", sorted(n.kind for n in KELURAHAN_PARCEL_NOTICES.values()))
def test_a_jemput_bola_parcel_sms_names_the_kelurahan_office_in_one_part(kind, lang):
    """The longest kelurahan names of the region list still fit one part
    (the brief form leaves the Pos number and reason to the e-mail)."""
    for code in longest_kelurahan_codes():
        name = load_wilayah().kelurahan(code).title()
        for document_type in DOCUMENT_TYPES:
            event = {**event_for(kind, next(slots()), document_type),
                     "shipment_id": f"SDK-JB-{code}-20260930-7KQ2MX"}
            texts = render(kind, event, lang)
            assert septets(texts.sms) <= 160, (len(texts.sms), texts.sms)
            assert "SDK7H3KQ9MX" in texts.sms and transliterate(name) in texts.sms
            assert name in texts.text and name in texts.subject


PARCEL = {"application_id": "a1", "tracking_code": "SDK7H3KQ9MX", "document_type": "ktp_el",
          "barcode": "P2612010001", "event_id": "e1", "occurred_at": "2026-12-01T03:00:00+00:00"}


@pytest.mark.parametrize(("lang", "home", "office"), [
    ("id", "Pastikan ada yang menerima di alamat", "ke Kantor Kelurahan Sukajaya"),
    ("en", "Someone at the address must sign", "to the Kelurahan Sukajaya office")])
def test_a_parcel_to_the_kelurahan_is_collected_there_not_awaited_at_home(lang, home, office):
    """A jemput-bola manifest sent by Pos goes to the kelurahan office
    (shipment ``SDK-<manifest id>``); a citizen's own parcel to their home."""
    contact = {"phone": PHONE, "email": "warga@example.id", "language": lang,
               "preferred_channel": "whatsapp"}
    manifest = {**PARCEL, "shipment_id": "SDK-JB-3673041010-20261127-7KQ2MX"}
    notice = notice_for("parcel_dispatched", manifest, contact)
    assert notice.kind == "dispatched_kelurahan"
    sms, mail, whatsapp = (notice.message(channel) for channel in ("sms", "email", "whatsapp"))
    place = office.split(" ", 1)[1]  # "Kantor Kelurahan Sukajaya", "the Kelurahan ... office"
    assert office in sms.text and home not in sms.text and place in mail.text
    assert place.removeprefix("the ") == whatsapp.params[-1]
    own = notice_for("parcel_dispatched", {**PARCEL, "shipment_id": "SDK-job-1"}, contact)
    assert own.kind == "dispatched" and home in own.message("sms").text
    for event_type, kind in (("parcel_delivered", "delivered_kelurahan"),
                             ("parcel_delivery_failed", "delivery_failed_kelurahan")):
        notice = notice_for(event_type, {**manifest, "reason": "FAILED"}, contact)
        assert notice.kind == kind and place in notice.message("sms").text
        assert "alamat Anda" not in notice.message("sms").text


def test_a_notice_renders_the_texts_of_the_channels_its_contact_has():
    # an SMS-only citizen's messages kept the e-mail's subject, text and HTML
    # (~1 KB a message) though no e-mail could ever go
    from services.notification.domain import notice_for
    from shared.events import build_event
    for contact, sms, mail in (({"phone": "+6281234567890"}, True, False),
                               ({"email": "siti@example.id"}, False, True),
                               ({"phone": "+6281234567890", "email": "siti@example.id"}, True,
                                True)):
        event = build_event("document_ready_for_pickup", application_id="app-1",
                            tracking_code="SDK7H3KQ9MX", document_type="ktp_el",
                            print_job_id="j", full_name="Siti", contact=contact,
                            slot={"place": "Kantor Kecamatan Curug", "address": "Jl. A",
                                  "date": "2026-11-30", "start": "09:00", "end": "10:00"})
        texts = notice_for("document_ready_for_pickup", event, contact).texts
        assert bool(texts.sms) is sms and "SDK7H3KQ9MX" in (texts.sms or texts.text)
        assert bool(texts.subject) is mail and bool(texts.text) is mail and bool(texts.html) is mail


@pytest.mark.parametrize("lang", ["id", "en"])
def test_an_officers_note_gsm7_cannot_spell_is_left_out_of_the_sms_not_sent_as_question_marks(
        lang):
    """A review (forty-fifth session): "Foto KK → buram ✓" reached the
    citizen as "Foto KK ? buram ?" - a briefer form GSM-7 spells is sent;
    the e-mail and WhatsApp keep the note as typed."""
    event = {"document_type": "ktp_el", "tracking_code": "SDK7H3KQ9MX",
             "reasons": ["Foto KK tidak terbaca"], "note": "Foto KK → buram ✓"}
    texts = render("rejected", event, lang)
    assert "?" not in texts.sms and "SDK7H3KQ9MX" in texts.sms, texts.sms
    assert "Foto KK → buram ✓" in texts.text
    plain = render("rejected", {**event, "note": "Foto KK buram"}, lang)
    assert "Foto KK buram" in plain.sms  # a note GSM-7 spells still goes where it fits
