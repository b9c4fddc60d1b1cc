"""docs/api.md tells an applicant choosing `preferred_channel` which channel
takes a notice over when one is given up, and what a resent tracking code
does when the phone's hourly limit holds its SMS back. What it says is what
notification does (outside audit: it said a WhatsApp message fell back to
SMS, then e-mail - a routine one goes to the e-mail first - and that a held
code's e-mail went at once, where no e-mail goes for an applicant who
prefers SMS)."""

from __future__ import annotations

import re

from deploy.registry import ROOT
from services.notification.domain import NOTICES, channels_given, notice_for
from shared.events import build_event

API = (ROOT / "docs" / "api.md").read_text()
CONTACT = {"phone": "+6281234567890", "email": "siti.aminah@example.id",
           "preferred_channel": "whatsapp", "language": "id"}
WORDS = {"sms": "SMS", "email": "the e-mail"}


def fallbacks_of_whatsapp(event_type: str, **fields) -> tuple[str, ...]:
    event = build_event(event_type, application_id="app-1", tracking_code="SDK7H3KQ9MX",
                        document_type="ktp_el", contact=dict(CONTACT), **fields)
    return notice_for(event_type, event, CONTACT).fallbacks("whatsapp")


def preferred_channel_row() -> str:
    [row] = [line for line in API.splitlines() if line.startswith("| `applicant.preferred_")]
    return row


def test_a_routine_whatsapp_message_given_up_goes_to_the_email_then_sms_as_documented():
    routine = fallbacks_of_whatsapp("application_submitted", channel="web")
    assert routine == ("email", "sms") == tuple(channels_given(CONTACT)[1:])
    said = "a routine WhatsApp message to {}, then {}".format(*(WORDS[c] for c in routine))
    assert said in preferred_channel_row()


def test_an_important_whatsapp_message_given_up_goes_to_sms_its_email_went_beside_it():
    important = fallbacks_of_whatsapp("application_rejected", reasons=["x"], reason_codes=[])
    assert important == ("sms",)
    assert "(an important one's e-mail went beside it: to SMS)" in preferred_channel_row()


def test_a_resent_code_held_by_the_phone_limit_is_not_promised_by_email_at_once():
    assert not NOTICES["tracking_code_resend_requested"].important
    resend = API.split("## POST /api/v1/tracking-code/resend", 1)[1].split("\n## ", 1)[0]
    text = re.sub(r"\s+", " ", resend)
    assert "an e-mail given with the application goes at once" not in text
    assert "The code goes on the preferred channel only, as every routine notice" in text
