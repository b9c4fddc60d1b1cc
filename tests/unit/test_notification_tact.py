"""Notices an outside audit found tactless or wrong for whom they reach:

* a print job given up because its card's holder died tells the family the
  application is closed, with condolences - never "apply again" (a new
  application of the NIK is refused) - and greets nobody by name (the name
  may be the deceased's own); held back by quiet hours, it still goes;
* a kecamatan's next-day request is received as one collected at the
  kecamatan office, not one "checked within 3 working days" (a jemput-bola
  row keeps the usual notice, unless Pos brings it to the door);
* an application whose document Pos Indonesia delivers (a WhatsApp one by
  default) is received as one that comes to the address given, not one whose
  "when and where to collect" is told later;
* a document someone applied for another person - an Akta Kelahiran or a
  KIA for a child, an Akta Kematian - is "the one you applied for", not
  "yours": "Akta Kematian Anda siap diambil" to whoever reported the death.
"""

from __future__ import annotations

import datetime

import pytest

from services.notification.messages import DOCUMENT_NAMES, render
from services.notification.domain import (KINDS, Delivery, Guards, Senders, finished_by,
                                          notice_type_of, notices_for, outdated, parse_quiet_hours,
                                          send_due, deliver)
from shared.clock import WIB
from shared.events import build_event
from tests.unit.test_notification_domain import FakeMessageStore, FakeSender, filed
from tests.unit.test_notification_texts import event_for, slots

PHONE = "+6281234567890"
EMAIL = "keluarga@example.id"


def cancelled(reason: str | None, lang: str = "id", document_type: str = "ktp_el",
              email: str | None = EMAIL) -> dict:
    """A ``print_job_cancelled`` as printing emits it: the applicant's name and contact."""
    return build_event("print_job_cancelled", application_id="app-1",
                       tracking_code="SDK7H3KQ9MX", document_type=document_type,
                       print_job_id="job-1", reason=reason, full_name="Hendra Gunawan",
                       contact={"phone": PHONE, "email": email, "language": lang})


def notice_of(event: dict):
    [notice] = notices_for("print_job_cancelled", event, {}.get, lambda *_: None)
    return notice


@pytest.mark.parametrize(("lang", "says", "never"), [
    ("id", "ditutup karena pemiliknya tercatat meninggal dunia. Turut berduka cita.",
     ("ajukan", "Hubungi Disdukcapil untuk")),
    ("en", "is closed as its holder is recorded as deceased. Our deepest condolences.",
     ("apply again", "find out why"))])
@pytest.mark.parametrize("document_type", ["ktp_el", "kia"])
def test_a_job_cancelled_for_its_deceased_holder_closes_with_condolences(lang, says, never,
                                                                         document_type):
    notice = notice_of(cancelled("holder_deceased", lang, document_type))
    assert notice.kind == "print_cancelled_deceased"
    # a routine notice: the preferred channel, the others only if it fails
    [sms] = notice.messages()
    assert sms.channel == "sms" and says in sms.text and "SDK7H3KQ9MX" in sms.text, sms.text
    email = notice.message("email")
    for text in (sms.text, email.text, email.subject):
        assert not any(words in text for words in never), text
    # the applicant of a KTP-el is its holder: the dead man is not greeted
    assert "Hendra" not in email.text and "Hendra" not in email.html
    assert email.text.startswith("Yth. Bapak/Ibu,\n" if lang == "id" else "Dear Sir or Madam,\n")
    assert ("turut berduka cita" if lang == "id" else "condolences") in email.text
    assert email.subject == {"id": "Permohonan {} ditutup (SDK7H3KQ9MX)",
                             "en": "Application closed (SDK7H3KQ9MX): {}"}[lang].format(
        {"ktp_el": "KTP-el", "kia": "KIA"}[document_type] if lang == "id"
        else {"ktp_el": "KTP-el (ID card)", "kia": "KIA (child ID card)"}[document_type])
    whatsapp = notice.message("whatsapp")
    assert whatsapp.params == (whatsapp.params[0], "SDK7H3KQ9MX")


@pytest.mark.parametrize("reason", ["data_error", "already_printed", None])
def test_a_job_cancelled_for_any_other_reason_keeps_the_print_cancelled_notice(reason):
    notice = notice_of(cancelled(reason))
    assert notice.kind == "print_cancelled"
    assert "ajukan permohonan baru" in notice.message("sms").text
    assert notice.message("email").text.startswith("Yth. Hendra Gunawan,\n")
    assert notice_type_of("parcel_delivery_failed", {"reason": "holder_deceased"}).kind == \
        "delivery_failed"  # only a print job's reason chooses


def test_the_deceased_notice_held_by_quiet_hours_goes_when_they_end():
    """Its own event ends the application (``FINISHING``): the held notice of
    that event is not withdrawn by it, and goes when the quiet hours end."""
    store, sms = FakeMessageStore(), FakeSender("sms")
    night = datetime.datetime(2026, 11, 29, 22, 0, tzinfo=WIB)
    guards = Guards(*parse_quiet_hours("21:00-06:00"))
    event = {**cancelled("holder_deceased", email=None), "occurred_at": night.isoformat()}
    messages = notice_of(event).messages()
    senders = Senders(sms=sms, email=FakeSender("email"))
    assert deliver(messages, Delivery(store, senders, guards, 4, night)) == []
    assert store.messages[messages[0].message_id]["status"] == "held" and not sms.sent

    morning = night + datetime.timedelta(hours=8, minutes=5)
    due = store.claim_due(morning)
    assert [m.kind for m in due] == ["print_cancelled_deceased"]
    assert due[0].about_an_application and KINDS["print_cancelled_deceased"].regarding == \
        "application"
    end = finished_by("print_job_cancelled", event)
    assert outdated(due, filed(due), {"app-1": end}) == {}
    assert send_due(due, Delivery(store, senders, guards, 4, morning)) == 1
    assert "meninggal dunia" in sms.sent[0].text


def submitted(channel: str, lang: str, **delivery_method) -> dict:
    return build_event("application_submitted", application_id="app-1",
                       tracking_code="SDK7H3KQ9MX", document_type="ktp_el", channel=channel,
                       full_name="Siti Aminah",
                       contact={"phone": PHONE, "email": EMAIL, "language": lang},
                       **delivery_method)


@pytest.mark.parametrize(("lang", "says", "mails", "three_days"), [
    ("id", "permintaan cetak KTP-el dari kecamatan diterima, kode lacak SDK7H3KQ9MX. "
           "Ambil di kantor kecamatan", "Ambil di sana, bukan di Disdukcapil", "3 hari kerja"),
    ("en", "KTP-el print request from the kecamatan received, tracking code SDK7H3KQ9MX. "
           "Collect it at the kecamatan office", "Collect it there, not at the Disdukcapil",
     "3 working days")])
def test_a_kecamatan_next_day_request_is_received_as_one_collected_at_the_kecamatan(
        lang, says, mails, three_days):
    [notice] = notices_for("application_submitted", submitted("kecamatan", lang), {}.get,
                           lambda *_: None)
    assert notice.kind == "kecamatan_received"
    sms, email = notice.message("sms"), notice.message("email")
    assert says in sms.text and three_days not in sms.text, sms.text
    assert mails in email.text and three_days not in email.text
    assert notice.message("whatsapp").params == ("KTP-el" if lang == "id" else "KTP-el (ID card)",
                                                 "SDK7H3KQ9MX")
    # the other channels keep theirs
    for channel, kind in (("web", "received"), ("kelurahan", "received"),
                          ("prr", "prr_received")):
        assert notice_type_of("application_submitted",
                              submitted(channel, lang)).kind == kind, channel


@pytest.mark.parametrize(("lang", "says", "mails", "collect"), [
    ("id", "kode lacak SDK7H3KQ9MX. Kami kabari bila ditolak & saat dikirim Pos.",
     "saat KTP-el dikirim, dengan nomor resi Pos. Pos Indonesia mengantarnya ke alamat yang "
     "Anda berikan: Anda tidak perlu mengambilnya", ("di mana", "diambil")),
    ("en", "tracking code SDK7H3KQ9MX. We tell you if refused & when Pos sends it.",
     "when the KTP-el (ID card) is sent, with its Pos tracking number. Pos Indonesia delivers "
     "it to the address you gave: there is no need to collect it",
     ("where to collect", "when and where"))])
@pytest.mark.parametrize("channel", ["whatsapp", "web", "kelurahan"])
def test_an_application_pos_delivers_is_received_without_a_place_to_collect(
        channel, lang, says, mails, collect):
    [notice] = notices_for("application_submitted",
                           submitted(channel, lang, delivery_method="pos"), {}.get,
                           lambda *_: None)
    assert notice.kind == "pos_received"
    sms, email = notice.message("sms"), notice.message("email")
    assert says in sms.text, sms.text
    assert mails in email.text and not any(words in email.text for words in collect), email.text
    assert notice.message("whatsapp").params == ("KTP-el" if lang == "id" else "KTP-el (ID card)",
                                                 "SDK7H3KQ9MX")


@pytest.mark.parametrize("lang", ["id", "en"])
def test_a_pickup_an_older_event_or_a_channel_of_its_own_keeps_its_received_notice(lang):
    for channel, delivery, kind in (("web", {"delivery_method": "pickup"}, "received"),
                                    ("whatsapp", {}, "received"),  # older: no delivery_method
                                    ("kelurahan", {"delivery_method": None}, "received"),
                                    ("prr", {"delivery_method": "pos"}, "prr_received"),
                                    ("kecamatan", {"delivery_method": "pickup"},
                                     "kecamatan_received")):
        event = submitted(channel, lang, **delivery)
        assert notice_type_of("application_submitted", event).kind == kind, (channel, delivery)
    [notice] = notices_for("application_submitted", submitted("web", lang), {}.get,
                           lambda *_: None)
    assert ("siap diambil: kapan dan di mana" if lang == "id" else "when and where to collect it") \
        in notice.message("email").text


# the e-mails that speak of the document itself, not of the application
OF_THE_DOCUMENT = ("ready", "pickup_moved", "dispatched", "dispatched_kelurahan", "delivered",
                   "delivered_kelurahan", "delivery_failed", "delivery_failed_kelurahan",
                   "office_pickup", "print_cancelled")


def document_email(kind: str, document_type: str, lang: str) -> str:
    event = {**event_for(kind, next(slots()), document_type), "office": "kelurahan",
             "office_code": "3673041010", "at_office_from": "2026-10-01",
             "shipment_id": "SDK-JB-3673041010-20260930-7KQ2MX"}
    texts = render(kind, event, lang)
    return f"{texts.subject}\n{texts.text}"


@pytest.mark.parametrize("kind", OF_THE_DOCUMENT)
@pytest.mark.parametrize("document_type", ["akta_kematian", "akta_kelahiran", "kia"])
@pytest.mark.parametrize(("lang", "applied_for", "owned"), [
    ("id", "{} yang Anda ajukan", ("{} Anda",)), ("en", "the {} you applied for",
                                                  ("your {}", "Your {}"))])
def test_a_document_applied_for_someone_else_is_not_called_the_applicants(
        kind, document_type, lang, applied_for, owned):
    doc = DOCUMENT_NAMES[document_type][1 if lang == "en" else 0]
    text = document_email(kind, document_type, lang)
    assert applied_for.format(doc) in text.replace("The ", "the "), text
    assert not any(words.format(doc) in text for words in owned), text


@pytest.mark.parametrize("kind", OF_THE_DOCUMENT)
@pytest.mark.parametrize("document_type", ["ktp_el", "skpwni"])
@pytest.mark.parametrize(("lang", "owned"), [("id", "{} Anda"), ("en", "our {}")])
def test_an_applicants_own_card_or_move_certificate_stays_theirs(kind, document_type, lang,
                                                                 owned):
    doc = DOCUMENT_NAMES[document_type][1 if lang == "en" else 0]
    text = document_email(kind, document_type, lang)
    assert owned.format(doc) in text, text
    assert "you applied for" not in text and "yang Anda ajukan" not in text, text
