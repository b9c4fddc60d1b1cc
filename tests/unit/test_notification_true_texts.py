"""What a citizen reads where an outside audit (T3) found the notices
wrong or odd:

* a day in a Bahasa SMS has its full name ("Jumat", not "Jum"), a time
  is written the Indonesian way ("08.00-09.00 WIB"; English keeps 08:00),
  and an e-mail's Date header is in WIB (+0700), the citizens' time.
"""

from __future__ import annotations

import datetime

import pytest

from services.notification.gateways import MailClient
from services.notification.gsm7 import septets
from services.notification.messages import render
from tests.unit.test_notification_texts import event_for, ready_email, slots

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
        assert texts.whatsapp[3:] == ("Jumat, 4 Desember 2026", "08.00-09.00")


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
