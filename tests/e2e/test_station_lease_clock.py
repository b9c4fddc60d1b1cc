"""What docs/station-api.md ("Clocks") tells a station to time its lease
by: the claim answer's lease_until less its Date header, both the printing
service's clock - never the station's own."""

from __future__ import annotations

import datetime
from email.utils import parsedate_to_datetime

import requests

from tests.e2e.test_station_agent import verified_applications
from tests.helpers import STATION, SYSTEM_ENV, eventually


def test_a_claim_answer_tells_the_lease_left_by_the_services_own_clock(system, mongo):
    printing = system.url("printing")
    [application_id], _ = verified_applications(system, mongo, 1)

    def claim():
        answer = requests.post(f"{printing}/api/v1/station/jobs/claim", headers=STATION,
                               timeout=10)
        assert answer.status_code in (200, 204), answer.text
        if answer.status_code == 200 and answer.json()["application_id"] == application_id:
            return answer
        return None

    answer = eventually(claim, what="the application's print job")
    lease_until = datetime.datetime.fromisoformat(answer.json()["lease_until"])
    left = (lease_until - parsedate_to_datetime(answer.headers["Date"])).total_seconds()
    lease = float(SYSTEM_ENV["PRINT_LEASE_SECONDS"])
    assert lease - 1 <= left <= lease + 1, (left, lease)  # Date is to the second
