"""A jemput-bola manifest of 50 applications, end to end: the kelurahan
officer sends the batch, an operator verifies it, a station claims it as
manifest batches and prints it; printing hands it back to the kelurahan as
one ``batch_ready_for_kelurahan``, and the officer records each hand-over
(``document_collected``, how = kelurahan) from the day they collect it at
the Dinas, which intake records too."""

from __future__ import annotations

import requests

from tests.e2e.test_batch_resumed import printed
from tests.e2e.test_batches import ktp_row
from tests.e2e.test_office_handovers import batch_sent
from tests.helpers import (KELURAHAN_CODE, KELURAHAN_OFFICER, OPERATOR, BrokerProbe, eventually,
                           officers_day_came)


def test_a_manifest_of_50_comes_back_as_one_handover(system, mongo):
    intake, printing = system.url("intake"), system.url("printing")
    probe, seen = BrokerProbe(system.amqp_uri, "printing.events"), []
    rows = [ktp_row() for _ in range(50)]
    try:
        batch = batch_sent(system, rows, timeout=120)
        accepted = batch["accepted"]
        assert len(accepted) == 50
        manifest = batch["manifest_id"]
        for application in accepted:
            verified = requests.post(f"{intake}/api/v1/applications/"
                                     f"{application['application_id']}/verify",
                                     headers=OPERATOR, timeout=10)
            assert verified.status_code == 200, verified.text

        # a manifest an earlier test left waiting is printed out of the way
        answers = printed(system, {application["application_id"] for application in accepted})
        assert all(answer["slot"] is None for answer in answers)

        def handovers():
            seen.extend(probe.drain())
            return [body for key, body in seen if key == "batch_ready_for_kelurahan"
                    and body["manifest_id"] == manifest]
        [ready] = eventually(handovers, what="batch_ready_for_kelurahan")
        assert ready["kelurahan_code"] == KELURAHAN_CODE
        assert sorted(item["application_id"] for item in ready["items"]) == sorted(
            application["application_id"] for application in accepted)
        assert not any(key == "document_ready_for_pickup" and body["tracking_code"] in
                       {a["tracking_code"] for a in accepted} for key, body in seen)

        first, row = accepted[0], rows[0]
        body = {"tracking_code": first["tracking_code"], "nik": row["applicant"]["nik"]}
        assert requests.post(f"{printing}/api/v1/kelurahan/handovers", json=body,
                             headers=OPERATOR, timeout=10).status_code == 401
        officers_day_came(mongo["printing"], first["application_id"])
        handed = requests.post(f"{printing}/api/v1/kelurahan/handovers", json=body,
                               headers=KELURAHAN_OFFICER, timeout=10)
        assert handed.status_code == 200 and handed.json()["status"] == "collected", handed.text

        def collected():
            seen.extend(probe.drain())
            return [b for key, b in seen if key == "document_collected"
                    and b["tracking_code"] == first["tracking_code"]]
        [event] = eventually(collected, what="document_collected")
        assert event["how"] == "kelurahan"
        eventually(lambda: requests.post(f"{intake}/api/v1/applications/status", json=body,
                                         timeout=10).json()["status"] == "collected",
                   what="intake: collected")
    finally:
        probe.close()
