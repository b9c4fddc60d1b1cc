"""What a citizen reads where an outside audit (T3) found the notices
wrong or odd:

* a notice of a document to collect asks for what the counter (or the
  office) records a collection by - the tracking code and the NIK read
  from the citizen's KTP-el or KK - never for an "application receipt"
  the system never issues; and a phone-only citizen's "ready" SMS gives
  the place's address wherever one part has room for it (every real
  place of ``shared.offices``, every document);
* the "ready" e-mail of a document Pos brought back says it is back at the
  Disdukcapil and waiting at the counter, not that it "has been printed";
* an English e-mail names the document and its tracking code without two
  brackets side by side ("Your KTP-el (ID card), tracking code SDK...,");
* a notice that sends the citizen to the Disdukcapil says how: its
  counter, address and opening hours (``shared.offices.DINAS``), and the
  status site - never "by phone", with no number configured; in English
  "Disdukcapil", not "the Dinas", which its readers do not know;
* Pos' note of a failed delivery and an officer's note on a rejection
  are Bahasa free text: an English notice quotes them as written, never
  as if they were English; a failed delivery says where to go if the
  address is wrong;
* a day in a Bahasa SMS has its full name ("Jumat", not "Jum"), a time
  is written the Indonesian way ("08.00-09.00 WIB"; English keeps 08:00),
  and an e-mail's Date header is in WIB (+0700), the citizens' time.
"""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import pytest

from services.notification.gateways import MailClient
from services.notification.gsm7 import septets
from services.notification.messages import render
from shared.events import DOCUMENT_TYPES
from shared.offices import PLACES
from tests.unit.test_notification_texts import CITIZEN_KINDS, event_for, ready_email, slots

# a Friday: "Jum" was the audit's case
FRIDAY = "2026-12-04"
MAIL = MailClient("127.0.0.1", 25, "Smartdukcapil <noreply@smartdukcapil.local>", 1,
                  "smartdukcapil.local")


def on(day: str, event: dict, start: str = "08:00", end: str = "09:00") -> dict:
    return {**event, "slot": {**event["slot"], "date": day, "start": start, "end": end}}


@pytest.mark.parametrize("kind", ["ready", "pickup_moved"])
def test_a_bahasa_sms_names_the_day_in_full_and_the_time_with_a_dot(kind):
    for slot in slots():
        texts = render(kind, on(FRIDAY, event_for(kind, slot, "ktp_el")), "id")
        assert "Jumat, 4 Des 2026 08.00-09.00" in texts.sms, texts.sms
        assert septets(texts.sms) <= 160
        assert "Hari: Jumat, 4 Desember 2026" in texts.text
        assert "Pukul: 08.00-09.00 WIB" in texts.text
        assert texts.whatsapp[4:] == ("Jumat, 4 Desember 2026", "08.00-09.00")


@pytest.mark.parametrize("kind", ["ready", "pickup_moved"])
def test_an_english_sms_keeps_its_short_day_and_the_colon(kind):
    texts = render(kind, on(FRIDAY, event_for(kind, next(slots()), "ktp_el")), "en")
    assert "Fri, 4 Dec 2026 08:00-09:00 WIB" in texts.sms, texts.sms
    assert "Time: 08:00-09:00 WIB" in texts.text


def test_an_e_mails_date_is_in_wib():
    message, _ = ready_email()
    date = MAIL.build(message)["Date"]
    assert date.endswith(" +0700"), date
    assert abs(date.datetime - datetime.datetime.now(datetime.timezone.utc)) < \
        datetime.timedelta(minutes=1)


COLLECT = {"id": "Mohon tunjukkan kode lacak ini dan bawa KTP-el atau Kartu Keluarga (KK) Anda.",
           "en": "Please show this tracking code and bring your KTP-el or family card (KK)."}
OFFICE = {"office": "kelurahan", "office_code": "3673041010", "day": "2026-11-30",
          "at_office_from": "2026-12-01"}


@pytest.mark.parametrize("lang", ["id", "en"])
@pytest.mark.parametrize("kind", ["ready", "pickup_moved", "office_pickup"])
def test_a_document_to_collect_asks_for_the_tracking_code_and_a_card_not_a_receipt(kind, lang):
    event = {**event_for(kind, next(slots()), "ktp_el"), **OFFICE}
    texts = render(kind, event, lang)
    assert COLLECT[lang] in texts.text and COLLECT[lang] in texts.html
    for text in (texts.sms, texts.text):
        assert "receipt" not in text and "bukti pendaftaran" not in text, text


@pytest.mark.parametrize("lang", ["id", "en"])
def test_the_office_pickup_sms_says_what_to_show(lang):
    texts = render("office_pickup", {**event_for("office_pickup", next(slots()), "ktp_el"),
                                     **OFFICE}, lang)
    assert texts.sms.endswith({"id": "Tunjukkan kode lacak ini & KTP-el/KK.",
                               "en": "Show this tracking code & KTP-el/KK."}[lang]), texts.sms


@pytest.mark.parametrize("lang", ["id", "en"])
def test_a_ready_sms_gives_every_real_places_address(lang):
    """The audit's case: at the Dinas counter the full form was ~179
    characters, so a citizen told only by SMS never had the address."""
    for place in PLACES.values():
        for document_type in DOCUMENT_TYPES:
            for day in ("2026-09-29", "2026-09-30"):  # Selasa: the longest day name
                event = on(day, event_for("ready", {"place": place.name,
                                                    "address": place.address}, document_type))
                sms = render("ready", event, lang).sms
                assert place.address in sms and "SDK7H3KQ9MX" in sms, sms
                assert septets(sms) <= 160, (len(sms), sms)


def test_the_reminder_goes_first_then_the_year_and_zone_then_the_address():
    dinas = PLACES["disdukcapil-serang"]
    event = on("2026-09-29", event_for("ready", {"place": dinas.name, "address": dinas.address},
                                       "akta_kelahiran"), "09:00", "10:00")
    assert render("ready", event, "id").sms == (
        "Smartdukcapil: Akta Kelahiran SDK7H3KQ9MX siap diambil di Loket Disdukcapil Kota "
        "Serang, Jl. Jenderal Sudirman No. 5, Kota Serang, Selasa, 29 Sep 09.00-10.00.")
    short = on("2026-09-29", event_for("ready", {"place": "Loket", "address": "Jl. A"}, "kia"))
    assert render("ready", short, "id").sms == (
        "Smartdukcapil: KIA SDK7H3KQ9MX siap diambil di Loket, Jl. A, Selasa, 29 Sep 2026 "
        "08.00-09.00 WIB. Tunjukkan kode lacak ini & KTP-el/KK.")
    assert render("ready", short, "en").sms == (
        "Smartdukcapil: KIA SDK7H3KQ9MX is ready at Loket, Jl. A, Tue, 29 Sep 2026 "
        "08:00-09:00 WIB. Show this tracking code & KTP-el/KK.")


@pytest.mark.parametrize("kind", CITIZEN_KINDS)
def test_no_english_e_mail_puts_two_brackets_side_by_side(kind):
    """"Your KTP-el (ID card) (tracking code SDK...) has been printed."""
    for document_type in DOCUMENT_TYPES:
        event = {**event_for(kind, next(slots()), document_type), **OFFICE}
        texts = render(kind, event, "en")
        for text in (texts.subject, texts.text):
            assert ") (" not in text, text
    texts = render("ready", event_for("ready", next(slots()), "ktp_el"), "en")
    assert "Your KTP-el (ID card), tracking code SDK7H3KQ9MX, has been printed." in texts.text


COUNTER = {"id": ("Loket Disdukcapil Kota Serang\nJl. Jenderal Sudirman No. 5, Kota Serang\n"
                  "Buka: Senin-Jumat 08.00-15.00 WIB, kecuali hari libur\n"),
           "en": ("Loket Disdukcapil Kota Serang\nJl. Jenderal Sudirman No. 5, Kota Serang\n"
                  "Open: Monday-Friday 08:00-15:00 WIB, except public holidays\n")}


@pytest.mark.parametrize("lang", ["id", "en"])
@pytest.mark.parametrize("kind", ["print_cancelled", "print_cancelled_deceased"])
def test_a_notice_sending_the_citizen_to_the_disdukcapil_says_where_and_when(kind, lang):
    for document_type in DOCUMENT_TYPES:
        texts = render(kind, event_for(kind, next(slots()), document_type), lang)
        assert COUNTER[lang] in texts.text, texts.text
        for text in (texts.sms, texts.text):
            assert "phone" not in text and "telepon" not in text and "Dinas " not in text
    texts = render("print_cancelled", event_for(kind, next(slots()), "ktp_el"), lang)
    assert "smartdukcapil.serangkota.go.id" in texts.text


@pytest.mark.parametrize("lang", ["id", "en"])
def test_the_print_cancelled_sms_gives_the_counters_address_where_it_fits(lang):
    for document_type in DOCUMENT_TYPES:
        sms = render("print_cancelled", event_for("print_cancelled", next(slots()), document_type),
                     lang).sms
        assert "Disdukcapil" in sms and "Dinas" not in sms.replace("Disdukcapil", "")
        assert "Jl. Jenderal Sudirman No. 5, Kota Serang" in sms, sms
        assert septets(sms) <= 160


def test_the_timeline_says_disdukcapil_in_english_too():
    from services.intake.domain import STATUSES
    assert STATUSES["print_cancelled"].label("en") == "Printing stopped; contact the Disdukcapil"
    assert STATUSES["print_cancelled"].label("id") == "Pencetakan dihentikan; hubungi Disdukcapil"


# a hand-over list's citizen, by an event with the day at the office and
# by an older one without (``office_pickup``: "once the officer brings it")
OFFICE_PICKUPS = [{**OFFICE, "document_type": "ktp_el", "tracking_code": "SDK7H3KQ9MX",
                   "office": office, "office_code": code, "at_office_from": from_day}
                  for office, code in (("kelurahan", "3673041010"), ("kecamatan", "367304"))
                  for from_day in (OFFICE["at_office_from"], None)]


def test_no_english_text_a_citizen_reads_says_the_dinas():
    """Outside audit: "came back to the Dinas", "is back at the Dinas",
    "brought it from the Dinas", the timeline's "Parcel returned to the
    Dinas" - an English reader does not know the word; "Disdukcapil" it
    is, as the ready e-mail already said."""
    from services.intake.domain import STATUSES
    texts = [render(kind, {**event_for(kind, slot, document_type), **OFFICE}, "en")
             for kind in CITIZEN_KINDS for slot in slots() for document_type in DOCUMENT_TYPES]
    texts += [render("office_pickup", event, "en") for event in OFFICE_PICKUPS]
    for text in texts:
        for part in (text.sms, text.subject, text.text, *text.whatsapp):
            assert not re.search(r"\bDinas\b", part), part
    for status in STATUSES.values():
        assert not re.search(r"\bDinas\b", status.label("en")), status.label("en")
    returned = render("ready", {**event_for("ready", next(slots()), "ktp_el"), "returned": True},
                      "en")
    assert "is back at the Disdukcapil: Pos Indonesia could not deliver it." in returned.text
    assert "came back undelivered; collect it at Loket Disdukcapil" in returned.sms
    [_, older] = (render("office_pickup", event, "en").sms for event in OFFICE_PICKUPS[:2])
    assert "once the kelurahan officer brings it from the Disdukcapil." in older, older
    assert STATUSES["returned_to_dinas"].label("en") == "Parcel returned to the Disdukcapil"


def test_the_longest_english_office_pickup_without_its_day_keeps_to_one_part():
    """"from the Disdukcapil" is longer than "from the Dinas": an older
    event's notice (no day at the office) for the longest kelurahan name of
    Kota Serang and the longest document name still fits one part."""
    from shared.offices import KECAMATAN_OFFICES
    from shared.wilayah import load_wilayah
    for code, _ in (kelurahan for office in KECAMATAN_OFFICES
                    for kelurahan in load_wilayah().kelurahan_in(office.kecamatan_code)):
        for document_type in DOCUMENT_TYPES:
            event = {**OFFICE_PICKUPS[1], "office_code": code, "document_type": document_type}
            for lang in ("en", "id"):
                sms = render("office_pickup", event, lang).sms
                assert septets(sms) <= 160, (len(sms), sms)


NOT_FOUND = "Alamat tidak ditemukan"


def failed(lang: str, document_type: str = "ktp_el") -> dict:
    return {**event_for("delivery_failed", next(slots()), document_type), "reason": NOT_FOUND}


def test_an_english_delivery_failed_notice_quotes_pos_note_as_indonesian():
    texts = render("delivery_failed", failed("en"), "en")
    assert 'Pos\' note (in Indonesian): "Alamat tidak ditemukan"' in texts.text
    # the SMS quotes it as Pos' (its label cut short to leave room for the pointer)
    assert '(Pos: "Alamat tidak ditemukan")' in texts.sms, texts.sms
    assert ": Alamat tidak ditemukan" not in texts.text
    kelurahan = render("delivery_failed_kelurahan", {**failed("en"), "shipment_id": "SDK-j1"}, "en")
    assert 'Pos\' note (in Indonesian): "Alamat tidak ditemukan"' in kelurahan.text
    short = render("delivery_failed_kelurahan", {**failed("en"), "shipment_id": "SDK-j1",
                                                  "reason": "Tutup"}, "en")
    assert '(Pos\' note, in Indonesian: "Tutup")' in short.sms, short.sms


@pytest.mark.parametrize(("lang", "pointer", "mail"), [
    ("id", "Alamat salah: hubungi loket Disdukcapil.", "Bila alamat pengiriman salah"),
    ("en", "Wrong address: tell the Disdukcapil counter.", "If the delivery address is wrong")])
def test_a_failed_delivery_says_where_to_go_if_the_address_is_wrong(lang, pointer, mail):
    texts = render("delivery_failed", {**failed(lang), "reason": None}, lang)
    assert texts.sms.endswith(pointer), texts.sms
    assert mail in texts.text and COUNTER[lang] in texts.text
    for document_type in DOCUMENT_TYPES:  # the note where there is room, else the pointer
        sms = render("delivery_failed", failed(lang, document_type), lang).sms
        assert septets(sms) <= 160 and (NOT_FOUND in sms or sms.endswith(pointer)), sms


@pytest.mark.parametrize(("lang", "note", "pointer"), [
    ("en", '(Pos: "Alamat tidak ditemukan")', "Wrong address: tell the Disdukcapil counter."),
    ("id", "(Alamat tidak ditemukan)", "Alamat salah: hubungi loket Disdukcapil.")])
def test_a_short_pos_note_leaves_room_for_where_to_go(lang, note, pointer):
    """Outside audit B: the English SMS gave the note and dropped the
    pointer to the counter (its briefer form now drops "be at home")."""
    for document_type in DOCUMENT_TYPES:
        sms = render("delivery_failed", failed(lang, document_type), lang).sms
        assert septets(sms) <= 160 and note in sms and sms.endswith(pointer), sms


def test_an_english_failed_delivery_ends_pos_note_with_a_full_stop_and_one_blank_line():
    """Outside audit: 'Pos' note (in Indonesian): "..."' had no closing full
    stop, and the template a double blank line after it."""
    from services.notification.messages import TEMPLATES
    for kind in ("delivery_failed", "delivery_failed_kelurahan"):
        texts = render(kind, {**failed("en"), "shipment_id": "SDK-j1"}, "en")
        assert '(in Indonesian): "Alamat tidak ditemukan".\n\nThe courier will try again.' \
            in texts.text, texts.text
        without = render(kind, {**failed("en"), "shipment_id": "SDK-j1", "reason": None}, "en")
        assert "SDK7H3KQ9MX" in without.text and ".\n\nThe courier will try again." in without.text
        assert "\n\n\n" not in (Path(TEMPLATES) / "email" / f"{kind}.j2").read_text()


@pytest.mark.parametrize("lang", ["en", "id"])
def test_a_pos_note_typed_with_its_own_full_stop_gets_no_second_one(lang):
    """Outside audit A2: '(in Indonesian): "Alamat tidak ditemukan.".' - and
    in Bahasa ': Alamat tidak ditemukan..'; the SMS '(Alamat tidak ditemukan.)'."""
    for kind in ("delivery_failed", "delivery_failed_kelurahan"):
        typed = {**failed(lang), "shipment_id": "SDK-j1", "reason": " Alamat tidak  ditemukan. "}
        texts = render(kind, typed, lang)
        assert "Alamat tidak ditemukan" in texts.text, texts.text  # the SMS: where it fits
        for text in (texts.text, texts.sms):
            assert not any(twice in text for twice in ('ditemukan..', 'ditemukan.".',
                                                       'ditemukan.)', 'ditemukan.")')), text
        assert render(kind, {**typed, "reason": " . "}, lang).text == render(
            kind, {**typed, "reason": None}, lang).text  # nothing left of it: no note


@pytest.mark.parametrize(("lang", "one", "more"), [
    ("en", "cannot be processed yet, for this reason:\n",
     "cannot be processed yet, for these reasons:\n"),
    ("id", "belum dapat diproses karena:\n", "belum dapat diproses karena:\n")])
def test_a_rejection_e_mail_with_one_reason_says_reason_not_reasons(lang, one, more):
    from tests.unit.test_notification_wording import rejected
    single = render("rejected", rejected(["kk_unreadable"], None, lang), lang).text
    assert one in single, single
    two = render("rejected", rejected(["kk_unreadable", "old_card_missing"], None, lang), lang).text
    assert more in two, two


def test_an_english_rejection_quotes_the_officers_note_as_written():
    from tests.unit.test_notification_wording import rejected
    texts = render("rejected", rejected(["kk_unreadable"], "Foto buram", "en"), "en")
    assert "Officer's note (as written): Foto buram" in texts.text
    assert texts.whatsapp[2].endswith("Officer's note (as written): Foto buram.")
    indonesian = render("rejected", rejected(["kk_unreadable"], "Foto buram", "id"), "id")
    assert "Catatan petugas: Foto buram" in indonesian.text


def test_every_english_reason_says_what_to_do_and_names_the_letters_as_they_are_known():
    from services.intake.reasons import REASONS
    for reason in REASONS.values():
        assert "letter" not in reason.text_en, reason.text_en
        assert re.search(r"\b(Upload|Correct|Fill|Choose|See|Book)\b", reason.text_en), reason.text_en
    assert "(surat keterangan lahir)" in REASONS["birth_letter_missing"].text_en
    assert "hospital or midwife" in REASONS["birth_letter_missing"].text_en
    assert "statement of death (surat keterangan kematian)" in \
        REASONS["death_letter_missing"].text_en
    assert REASONS["death_date_mismatch"].text_id.endswith("Perbaiki tanggal kematian.")


@pytest.mark.parametrize(("lang", "resubmit"), [("id", " Kirim ulang: "), ("en", " Resubmit: ")])
def test_the_brief_single_reason_rejection_sms_says_to_resubmit(lang, resubmit):
    from services.intake.reasons import reason_texts
    from tests.unit.test_notification_wording import rejected
    # a reason the full form has no room for beside "needs changes ... resubmit at"
    sms = render("rejected", rejected(["kk_unreadable"], None, lang), lang).sms
    assert reason_texts(["kk_unreadable"], lang)[0] in sms
    assert sms.endswith(resubmit + "smartdukcapil.serangkota.go.id"), sms
    assert "Info:" not in sms


@pytest.mark.parametrize(("lang", "back", "printed"), [
    ("id", "(kode lacak SDK7H3KQ9MX) kembali ke Disdukcapil karena Pos Indonesia tidak berhasil "
           "mengantarkannya, dan menunggu Anda di loket.", "sudah dicetak"),
    ("en", "is back at the Disdukcapil: Pos Indonesia could not deliver it. It is waiting for you "
           "at the counter.", "has been printed")])
def test_a_ready_notice_after_a_return_says_the_document_is_back(lang, back, printed):
    from shared.events import build_event, load_event
    event = build_event("document_ready_for_pickup", application_id="app-1",
                        tracking_code="SDK7H3KQ9MX", document_type="ktp_el", print_job_id="j",
                        full_name="Siti", contact={"email": "siti@example.id"}, returned=True,
                        slot={"place": "Loket Disdukcapil Kota Serang", "address": "Jl. A",
                              "date": "2026-11-30", "start": "09:00", "end": "10:00"})
    texts = render("ready", event, lang)
    assert back in texts.text and printed not in texts.text
    # the subject says so too (outside audit D: it read only "ready for collection")
    assert texts.subject == {"id": "KTP-el Anda gagal diantar Pos, siap diambil (SDK7H3KQ9MX)",
                             "en": "Your KTP-el (ID card) came back undelivered: ready for "
                                   "collection (SDK7H3KQ9MX)"}[lang]
    older = {key: value for key, value in event.items() if key != "returned"}
    assert load_event("document_ready_for_pickup", older)["returned"] is False
    assert printed in render("ready", older, lang).text
    assert "Pos" not in render("ready", older, lang).subject
