"""An SMS the gateway refuses for good is given up at its first refusal
(a review: a 400 - a number it cannot route, a text it rejects - went
through the whole retry schedule, ~42 minutes, before it reached the
operators' failed list and the citizen's e-mail took the notice).

Through the real broker, database server, SMTP server and SMS sandbox:

* a 400 gives the SMS up after one attempt, logged masked "refused for
  good", and the e-mail goes at once;
* a 503 (the gateway out) and a 401 (our credentials refused: every SMS
  would be, until the Dinas fixes them) are retried, and the SMS goes.
"""

from __future__ import annotations

import logging
import uuid

import pytest

from shared.events import build_event
from shared.masking import mask_phone
from tests.helpers import eventually, publish
from tests.integration.test_notification_delivery import (citizen, mails_to, message_row,
                                                           sms_faults, sms_to,
                                                           start_notification)


def tracking_code_resent(backing, contact: dict) -> dict:
    """A routine notice: the preferred channel (SMS) only, the e-mail if it is given up."""
    event = build_event("tracking_code_resend_requested", application_id=uuid.uuid4().hex,
                        tracking_code="SDK" + uuid.uuid4().hex[:8].upper(),
                        document_type="ktp_el", contact=contact)
    publish(backing.amqp_uri, "intake.events", "tracking_code_resend_requested", event)
    return event


def test_an_sms_refused_400_is_given_up_at_once_and_the_e_mail_goes(
        backing, container_factory, mongo, caplog):
    caplog.set_level(logging.INFO)
    # retried instead, the SMS would go at the event's retry, 30 s on (the
    # sandbox refuses once), and no e-mail at all
    database = start_notification(backing, container_factory, RETRY_DELAYS="30,120")
    contact = citizen(preferred="sms")
    sms_faults(backing, fail_next=1, status=400, only_to=contact["phone"].lstrip("+"))
    try:
        event = tracking_code_resent(backing, contact)
        eventually(lambda: mails_to(backing, contact["email"]), timeout=25,
                   what="e-mail after the SMS gateway's refusal")
        row = message_row(mongo, database, event, "sms")
        assert row["status"] == "failed" and row["failed_at"] is not None, row
        assert len(row["attempts"]) == 1 and row["last_error"] == "sms gateway answered 400"
        assert sms_to(backing, contact["phone"]) == []
    finally:
        sms_faults(backing)
    [logged] = [line for line in caplog.text.splitlines()
                if event["tracking_code"] in line and "given up" in line]
    assert "refused for good" in logged and mask_phone(contact["phone"]) in logged
    assert contact["phone"][3:] not in caplog.text


@pytest.mark.parametrize("status", [503, 401])
def test_an_sms_the_gateway_cannot_take_now_is_retried_and_sent(
        backing, container_factory, mongo, status):
    database = start_notification(backing, container_factory, RETRY_DELAYS="0.5,1")
    contact = citizen(preferred="sms")
    sms_faults(backing, fail_next=1, status=status, only_to=contact["phone"].lstrip("+"))
    try:
        event = tracking_code_resent(backing, contact)
        eventually(lambda: sms_to(backing, contact["phone"]), what="the SMS, retried")
        row = eventually(lambda: (lambda r: r if r and r["status"] == "sent" else None)(
            message_row(mongo, database, event, "sms")), what="the SMS recorded sent")
        assert [attempt["ok"] for attempt in row["attempts"]] == [False, True]
        assert row["last_error"] == f"sms gateway answered {status}"
        assert mails_to(backing, contact["email"]) == []
    finally:
        sms_faults(backing)
