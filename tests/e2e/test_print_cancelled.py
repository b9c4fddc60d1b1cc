"""A print job a station cannot print because the record itself is wrong,
end to end through the real stack: held for an operator, the citizen's
status says so (not "retrying"); the operator gives it up
(``print_job_cancelled``): intake ends the application - the NIK may apply
again - and the citizen is told printing was stopped and what to do.
"""

from __future__ import annotations

import requests

from tests.e2e.test_ktp_journey import ktp_application
from tests.e2e.test_office_handovers import lookup, sms_to, verify
from tests.helpers import OPERATOR, STATION, claim_job_for, eventually, random_mobile, random_nik


def test_a_held_job_the_operator_cancels_ends_the_application_and_tells_the_citizen(system):
    intake, printing = system.url("intake"), system.url("printing")
    nik, mobile = random_nik(female=True), random_mobile()
    submitted = requests.post(f"{intake}/api/v1/applications",
                              json=ktp_application(nik, mobile, None), timeout=10)
    assert submitted.status_code == 202, submitted.text
    application_id, code = submitted.json()["application_id"], submitted.json()["tracking_code"]
    verify(system, application_id)

    job = claim_job_for(printing, application_id)
    failed = requests.post(f"{printing}/api/v1/station/jobs/{job['print_job_id']}/failed",
                           json={"lease_token": job["lease_token"], "reason": "data_error"},
                           headers=STATION, timeout=10)
    assert failed.status_code == 200 and failed.json()["status"] == "held", failed.text
    # held for an operator: the citizen is not told it is being retried
    held = eventually(lambda: (found := lookup(system, code, nik))["status"] == "print_held"
                      and found, what="intake: print_held")
    assert held["status_label"] == "Cetak tertunda, menunggu pemeriksaan petugas"
    assert not any(step["status"] == "print_failed" for step in held["timeline"])

    cancelled = requests.post(f"{printing}/api/v1/operator/print-jobs/{job['print_job_id']}"
                              "/cancel", headers=OPERATOR, timeout=10)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled", \
        cancelled.text
    ended = eventually(lambda: (found := lookup(system, code, nik))["status"] == "print_cancelled"
                       and found, what="intake: print_cancelled")
    assert ended["status_label"].startswith("Pencetakan dihentikan")

    def stopped_sms():
        return [m["message"] for m in sms_to(system, mobile)
                if code in m["message"] and "dihentikan" in m["message"]]
    [text] = eventually(stopped_sms, what="the citizen's SMS: printing stopped")
    assert "ajukan permohonan baru" in text
    assert nik not in text and mobile[1:] not in text

    # final: the NIK may apply again (no card was printed: a first issue still)
    again = requests.post(f"{intake}/api/v1/applications",
                          json=ktp_application(nik, random_mobile(), None), timeout=10)
    assert again.status_code == 202, again.text
