"""A citizen who corrects their contact on resubmission hears every later
notice there, end to end through the real stack (the outside auditor's
case): a jemput-bola member rejected at verification is resubmitted with a
new phone, an e-mail and English; verified and printed with its manifest,
its ``office_pickup`` notice (important: every channel) reaches the new
phone and the new e-mail, in English, greeting the citizen by name - not
the old phone in Bahasa Indonesia. The rejection before it, reason
``other``, told the operator's note by SMS."""

from __future__ import annotations

import uuid

import requests

from tests.e2e.test_batches import ktp_row
from tests.e2e.test_notification import mails_to, parts
from tests.e2e.test_office_handovers import batch_sent, print_it, sms_to, verify
from tests.e2e.test_operator_flow import citizen
from tests.helpers import OPERATOR, eventually, random_mobile


def test_after_a_resubmission_the_office_pickup_notice_reaches_the_new_contact_in_english(
        system, backing):
    intake = system.url("intake")
    rows = [ktp_row(), ktp_row()]
    old_phone, new_phone = rows[1]["applicant"]["phone"], random_mobile()
    new_email = f"new-{uuid.uuid4().hex[:12]}@example.id"
    name = rows[1]["applicant"]["full_name"]

    first, second = batch_sent(system, rows)["accepted"]
    verify(system, first["application_id"])
    refused = requests.post(f"{intake}/api/v1/applications/{second['application_id']}/reject",
                            json={"reasons": ["other"], "note": "Bagian bawah KK terpotong"},
                            headers=OPERATOR, timeout=10)
    assert refused.status_code == 200, refused.text
    # the rejection SMS carries the operator's note (it said "Lihat catatan petugas..")
    [rejection] = eventually(lambda: [m["message"] for m in sms_to(system, old_phone)
                                      if "perlu diperbaiki" in m["message"]],
                             what="the rejection SMS, old phone")
    assert rejection == (f"Smartdukcapil: permohonan KTP-el {second['tracking_code']} perlu "
                         "diperbaiki: Bagian bawah KK terpotong. Perbaiki dan kirim ulang di "
                         "smartdukcapil.serangkota.go.id"), rejection
    again = citizen(intake, "resubmit", second["tracking_code"], rows[1]["applicant"]["nik"],
                    applicant={"phone": new_phone, "email": new_email, "language": "en"})
    assert again.status_code == 200, again.text
    verify(system, second["application_id"])
    for member in (first, second):
        print_it(system, member["application_id"])

    code = second["tracking_code"]

    def office_sms(mobile: str) -> list[str]:
        return [m["message"] for m in sms_to(system, mobile)
                if code in m["message"] and "Kelurahan Sukajaya" in m["message"]]
    [text] = eventually(lambda: office_sms(new_phone), what="the office_pickup SMS, new phone")
    assert text.startswith(f"Smartdukcapil: KTP-el {code} is printed. Collect it at the "
                           "Kelurahan Sukajaya office"), text
    [mail] = eventually(lambda: [m for m in mails_to(backing, new_email)
                                 if code in m["Subject"] and "printed" in m["Subject"]],
                        what="the office_pickup e-mail, new address")
    assert parts(mail)["text/plain"].startswith(f"Dear {name},\n"), parts(mail)["text/plain"]
    # the old phone heard of the rejection, and nothing since
    assert office_sms(old_phone) == []
