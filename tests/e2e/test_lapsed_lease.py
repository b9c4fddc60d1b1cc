"""A station that vanishes on a job's last attempt, end to end through the
real stack (lease ``PRINT_LEASE_SECONDS`` 3 s, ``tests/helpers.SYSTEM_ENV``):
printing's timer holds the job and says so once (``print_job_held``,
``lease_expired``), the citizen reads ``print_held`` rather than "queued" for
ever, and the operator's held list tells a station gone quiet from a broken
printer. The station, back, may still report the card printed (outside audit:
the job was held only as a query, no event, and listed with no reason).
"""

from __future__ import annotations

import requests

from tests.e2e.test_ktp_journey import ktp_application
from tests.e2e.test_office_handovers import lookup, verify
from tests.e2e.test_printed_document import held_jobs
from tests.helpers import (STATION, BrokerProbe, claim_job_for, eventually, random_mobile,
                           random_nik)

MAX_PRINT_ATTEMPTS = 3  # the services' default


def test_a_lease_run_out_on_the_last_attempt_holds_the_job_for_the_citizen_to_see(system):
    intake, printing = system.url("intake"), system.url("printing")
    nik = random_nik()
    submitted = requests.post(f"{intake}/api/v1/applications",
                              json=ktp_application(nik, random_mobile(), None), timeout=10)
    assert submitted.status_code == 202, submitted.text
    application_id, code = submitted.json()["application_id"], submitted.json()["tracking_code"]
    probe = BrokerProbe(system.amqp_uri, "printing.events", "print_job_held")
    try:
        verify(system, application_id)
        for _ in range(MAX_PRINT_ATTEMPTS):  # claimed, never reported: each lease runs out
            job = claim_job_for(printing, application_id)
        assert job["attempts"] == MAX_PRINT_ATTEMPTS

        found = eventually(lambda: (status := lookup(system, code, nik))["status"] == "print_held"
                           and status, what="intake: print_held")
        assert found["status_label"] == "Cetak tertunda, menunggu pemeriksaan petugas"
        listed = eventually(lambda: (held := held_jobs(system).get(application_id))
                            and held["last_failure"] == "lease_expired" and held,
                            what="held list: lease_expired")
        assert (listed["station_id"], listed["attempts"]) == ("station-test-1",
                                                              MAX_PRINT_ATTEMPTS)

        # the station comes back: the card it printed under that lease counts
        printed = requests.post(f"{printing}/api/v1/station/jobs/{job['print_job_id']}/printed",
                                json={"lease_token": job["lease_token"]}, headers=STATION,
                                timeout=10)
        assert printed.status_code == 200 and printed.json()["status"] == "printed", printed.text
        moved = eventually(lambda: (status := lookup(system, code, nik))["status"]
                           not in ("print_queued", "print_held") and status,
                           what="intake: printed")
        assert [step["status"] for step in moved["timeline"]].count("print_held") == 1
        said = [body for _, body in probe.drain() if body["application_id"] == application_id]
        assert [body["reason"] for body in said] == ["lease_expired"]  # once
    finally:
        probe.close()
