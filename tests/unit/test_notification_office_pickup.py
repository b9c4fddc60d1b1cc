"""A hand-over list an officer collects at the Dinas - a kecamatan's next-day
requests, a kelurahan's jemput-bola manifest - tells its officer (by e-mail)
and each citizen on it (``office_pickup``): printed, at which office, from
which day; one GSM-7 SMS part, no NIK or phone number, their own language."""

from __future__ import annotations

import logging

import pytest

from services.notification.domain import notices_for
from services.notification.settings import settings_from_config
from services.notification.gsm7 import septets
from shared.events import DOCUMENT_TYPES, build_event

PHONE = "+6281234567890"
# the longest kelurahan and kecamatan names of the region list
LONGEST_KELURAHAN, LONGEST_KECAMATAN = "1305162006", "160912"


def item(n: int, document_type: str = "ktp_el") -> dict:
    return {"application_id": f"app-{n}", "tracking_code": f"SDK7H3KQ9M{n}",
            "full_name": "Siti Aminah Nurhasanah Binti Abdurrahman",
            "document_type": document_type}


def kecamatan_list(code: str = "367304", items: list | None = None, **when) -> dict:
    return build_event("kecamatan_handover_ready", kecamatan_code=code, day="2026-11-30",
                       items=items or [item(1), item(2)],
                       **{"at_office_from": "2026-12-01", **when})


def manifest(code: str = "3673041010", items: list | None = None, **extra) -> dict:
    return build_event("batch_ready_for_kelurahan", manifest_id=f"JB-{code}-20261127-ABCDEF",
                       kelurahan_code=code, items=items or [item(1)], day="2026-11-30",
                       at_office_from="2026-12-01",
                       slot={"place": "Loket Disdukcapil Kota Serang", "address": "Jl. Sudirman",
                             "date": "2026-11-30", "start": "08:00", "end": "15:00"}, **extra)


def book(lang: str = "id", email: bool = True):
    contacts = {"app-1": {"phone": PHONE, "email": "siti@example.id" if email else None,
                          "language": lang}}
    return contacts.get


def officers(audience, event):
    return {"email": f"{audience}@serangkota.go.id", "language": "id"}


def test_the_officer_and_each_citizen_with_a_contact_are_told():
    event = kecamatan_list()
    officer, citizen = notices_for("kecamatan_handover_ready", event, book(), officers)
    assert (officer.kind, officer.application_id) == ("handover_ready", "367304:2026-11-30")
    # app-2 has no contact on file: left out; app-1 on every channel (important)
    assert (citizen.kind, citizen.application_id) == ("office_pickup", "app-1")
    messages = citizen.messages()
    assert [m.channel for m in messages] == ["sms", "email"]
    # ids of their own, the same on a redelivery; filed under the application
    assert [m.message_id for m in messages] == [f"{event['event_id']}.app-1.sms",
                                                f"{event['event_id']}.app-1.email"]
    assert all(m.about_an_application for m in messages)
    assert not any(m.about_an_application for m in officer.messages())
    again = notices_for("kecamatan_handover_ready", event, book(), officers)[1]
    assert [m.message_id for m in again.messages()] == [m.message_id for m in messages]


@pytest.mark.parametrize(("lang", "office", "from_day", "officer_day"), [
    ("id", "Kantor Kecamatan Curug", "mulai Selasa, 1 Des 2026", "pada Senin, 30 November 2026"),
    ("en", "Kecamatan Curug office", "from Tue, 1 Dec 2026", "on Monday, 30 November 2026")])
def test_a_next_day_citizen_hears_where_and_from_when(lang, office, from_day, officer_day):
    [_, citizen] = notices_for("kecamatan_handover_ready", kecamatan_list(), book(lang),
                               officers)
    sms, mail = (citizen.message(channel) for channel in ("sms", "email"))
    assert sms.text.startswith("Smartdukcapil: KTP-el SDK7H3KQ9M1 ")
    assert office in sms.text and from_day in sms.text, sms.text
    assert office in mail.subject and officer_day in mail.text, mail.text
    for text in (sms.text, mail.text, mail.html, mail.subject):
        assert PHONE not in text and PHONE[1:] not in text


def test_a_manifest_citizen_hears_of_the_kelurahan_office():
    [_, citizen] = notices_for("batch_ready_for_kelurahan", manifest(), book(), officers)
    sms = citizen.message("sms")
    assert sms.text == ("Smartdukcapil: KTP-el SDK7H3KQ9M1 sudah dicetak. Ambil di Kantor "
                        "Kelurahan Sukajaya mulai Selasa, 1 Des 2026. Tunjukkan kode lacak ini "
                        "& KTP-el/KK.")
    assert "Petugas kelurahan mengambilnya di Disdukcapil pada Senin, 30 November 2026" in \
        citizen.message("email").text


def officer_mail(event: dict):
    officer = notices_for("batch_ready_for_kelurahan", event, book(), officers)[0]
    return officer.message("email")


def test_the_kelurahan_officer_reads_how_many_documents_and_whether_it_is_a_follow_up():
    """Members left out (rejected, withdrawn, printing stopped) are counted,
    never "all"; a later hand-over of the same manifest says it follows."""
    partial = officer_mail(manifest(members=5))
    assert partial.subject == ("Dokumen jemput bola siap diambil: "
                               "JB-3673041010-20261127-ABCDEF (1 dokumen)")
    assert "Semua" not in partial.text and "Seluruh" not in partial.text
    assert "memuat 1 dari 5 permohonan manifes" in partial.text
    assert "4 permohonan lainnya tidak ikut" in partial.text
    assert "menyusul dengan e-mail tersendiri" in partial.text

    follow_up = officer_mail(manifest(members=5, follow_up=True))
    assert follow_up.subject == ("Dokumen jemput bola susulan siap diambil: "
                                 "JB-3673041010-20261127-ABCDEF (1 dokumen)")
    assert follow_up.subject != partial.subject
    assert "Susulan untuk manifes" in follow_up.text and "bukan pengulangan" in follow_up.text
    assert "tidak ikut" not in follow_up.text and "Seluruh" not in follow_up.text

    whole = officer_mail(manifest(items=[item(1), item(2)], members=2))
    assert "Semua dokumen (2) dalam manifes" in whole.text and "tidak ikut" not in whole.text
    older = officer_mail(manifest())  # before the event counted its members
    assert "Seluruh" not in older.text and "Semua" not in older.text
    assert "1 dokumen jemput bola manifes" in older.text


def test_members_pos_takes_to_the_door_are_neither_on_the_list_nor_left_out():
    """Outside audit S1: a member whose citizen asked for Pos to their door
    was counted as "tidak ikut (ditolak ..., dibatalkan ...)" - the officer
    chased a document its citizen already had."""
    door = officer_mail(manifest(items=[item(1), item(2), item(3)], members=4, to_the_door=1))
    assert "memuat 3 dari 4 permohonan" in door.text
    assert "1 dokumen lainnya dikirim Pos langsung ke alamat pemohonnya" in door.text
    assert "tidak ikut" not in door.text and "menyusul" not in door.text
    both = officer_mail(manifest(items=[item(1), item(2)], members=5, to_the_door=1))
    assert "1 dokumen lainnya dikirim Pos" in both.text
    assert "2 permohonan sisanya tidak ikut" in both.text


def test_each_line_names_the_document_by_its_holder_and_whom_to_hand_it_to():
    """Outside audit S1: the lists named the applicant alone - "Ahmad Fauzi -
    KIA" for Aisyah Putri's card - and the officer could not find the
    document in the pile by it."""
    kia = {**item(1, "kia"), "full_name": "Ahmad Fauzi", "holder_name": "Aisyah Putri"}
    own = {**item(2), "full_name": "Siti Aminah", "holder_name": "Siti Aminah"}
    older = {**item(3), "full_name": "Dedi Kurniawan"}  # before items named the holder
    text = officer_mail(manifest(items=[kia, own, older], members=3)).text
    assert "SDK7H3KQ9M1 - Aisyah Putri - KIA (pemohon: Ahmad Fauzi)" in text
    assert "SDK7H3KQ9M2 - Siti Aminah - KTP-el\n" in text
    assert "SDK7H3KQ9M3 - Dedi Kurniawan - KTP-el" in text and "pemohon: Dedi" not in text


def test_a_kecamatan_follow_up_list_says_it_follows_and_does_not_repeat():
    """Outside audit S1: a list of requests verified after the day's list
    went read like that list again, with fewer documents."""
    first, follow_up = (notices_for("kecamatan_handover_ready", kecamatan_list(**extra), book(),
                                    officers)[0].message("email")
                        for extra in ({}, {"follow_up": True}))
    assert first.subject.startswith("Serah terima Kecamatan") and "usulan" not in first.text
    assert follow_up.subject.startswith("Serah terima susulan Kecamatan")
    assert "bukan pengulangan" in follow_up.text


def test_an_older_list_without_the_office_day_still_reads():
    older = kecamatan_list(at_office_from=None)
    [_, citizen] = notices_for("kecamatan_handover_ready", older, book(), officers)
    assert "setelah dibawa petugas kecamatan dari Dinas" in citizen.message("sms").text


@pytest.mark.parametrize("lang", ["id", "en"])
@pytest.mark.parametrize("document_type", DOCUMENT_TYPES)
def test_one_sms_part_with_the_longest_office_names(lang, document_type):
    for event_type, event in (
            ("kecamatan_handover_ready", kecamatan_list(LONGEST_KECAMATAN,
                                                        [item(1, document_type)])),
            ("batch_ready_for_kelurahan", manifest(LONGEST_KELURAHAN, [item(1, document_type)]))):
        [citizen] = notices_for(event_type, event, book(lang, email=False), lambda *_: None)
        [sms] = citizen.messages()
        assert septets(sms.text) <= 160, (len(sms.text), sms.text)
        assert "SDK7H3KQ9M1" in sms.text


@pytest.mark.parametrize(("event_type", "event", "named"), [
    ("kecamatan_handover_ready", kecamatan_list("367305"), "kecamatan 367305 in OFFICER_EMAILS"),
    ("batch_ready_for_kelurahan", manifest("3673051001"), "kelurahan 3673051001 in OFFICER_EMAILS"),
    ("blanko_low", build_event("blanko_low", station_id="station-serang-1",
                               place_id="disdukcapil-serang", stock_left=50, threshold=50),
     "OPERATORS_EMAIL is not set")])
def test_an_officer_notice_without_a_mailbox_logs_the_setting_to_fill(caplog, event_type, event,
                                                                      named):
    """The officers' and operators' mailboxes are settings, empty by default:
    the log says which one lacks the region, not that the data has no contact."""
    caplog.set_level(logging.INFO, logger="services.notification")
    settings = settings_from_config({"OFFICER_EMAILS": "367304=camat@serangkota.go.id",
                                     "OPERATORS_EMAIL": ""})
    notices = notices_for(event_type, event, {}.get, settings.officer_contact)
    assert all(notice.kind == "office_pickup" for notice in notices)  # the officer's is not sent
    [error] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert named in error.getMessage() and event["event_id"] in error.getMessage()
    assert "no contact on file" not in error.getMessage()
