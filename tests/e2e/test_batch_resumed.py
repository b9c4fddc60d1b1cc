"""A jemput-bola batch cut short at intake and sent again - the same rows
under the same batch id, as docs/api.md advises - takes the rows it stored
as they are: one verified and printed meanwhile, or an Akta Kelahiran
verified meanwhile, is not refused for its own application's card or birth
(outside review: 58 of 60 answered, rows 1 and 2 card_already_issued; the
officer's hand-over e-mail then said "Semua dokumen (60)")."""

from __future__ import annotations

import datetime

import requests

from services.intake.batches import batch_content, json_rows
from shared.clock import today_wib
from tests.e2e.test_batches import batch_url, birth_row, ktp_row, new_batch_id
from tests.e2e.test_office_handovers import verify
from tests.helpers import KELURAHAN_OFFICER, STATION, BrokerProbe, eventually


def printed(system, application_ids: set[str]) -> list[dict]:
    """The applications' print jobs claimed and printed, as a station claims a
    manifest's (another test's claimed on the way is printed too): the
    stations' answers."""
    printing, done, answers = system.url("printing"), set(), []

    def claim_and_print():
        claim = requests.post(f"{printing}/api/v1/station/jobs/claim", headers=STATION,
                              json={"manifest": True, "max": 10}, timeout=30)
        assert claim.status_code in (200, 204), claim.text
        for job in claim.json()["jobs"] if claim.status_code == 200 else []:
            answer = requests.post(f"{printing}/api/v1/station/jobs/{job['print_job_id']}"
                                   "/printed", json={"lease_token": job["lease_token"]},
                                   headers=STATION, timeout=30)
            assert answer.status_code == 200, answer.text
            done.add(job["application_id"])
            answers.append(answer.json())
        return application_ids <= done
    eventually(claim_and_print, timeout=120, what="the applications printed")
    return answers


def test_a_batch_sent_again_takes_the_rows_it_stored_as_they_are(system, mongo):
    born = today_wib() - datetime.timedelta(days=5)
    rows = [ktp_row(), birth_row(born), ktp_row(), ktp_row()]
    batch_id, probe = new_batch_id(), BrokerProbe(system.amqp_uri, "intake.events",
                                                  "batch_accepted")
    try:
        # the state of the four-row batch cut short after three rows: those
        # three stored under its id, the batch still processing
        first = requests.put(batch_url(system, batch_id), json={"applications": rows[:3]},
                             headers=KELURAHAN_OFFICER, timeout=60)
        assert first.status_code == 200, first.text
        stored = {row["row"]: row["application_id"] for row in first.json()["accepted"]}
        assert sorted(stored) == [1, 2, 3]
        mongo["intake"].batches.update_one(
            {"batch_id": batch_id},
            {"$set": {"status": "processing", "rows": 4,
                      "content": batch_content(json_rows(rows))}, "$unset": {"reply": ""}})
        seen = []

        def told():  # once per event id: a copy published again is the same event
            seen.extend(event for _, event in probe.drain())
            return list({event["event_id"]: event for event in seen
                         if event["batch_id"] == batch_id}.values())
        [answered] = eventually(told, what="the first three rows' batch_accepted")
        # meanwhile row 1's card is printed and row 2's birth verified
        verify(system, stored[1])
        verify(system, stored[2])
        printed(system, {stored[1]})
        eventually(lambda: mongo["intake"].applications.find_one(
            {"_id": stored[1]})["status"] in ("printed", "ready_for_pickup"),
            what="intake: row 1 printed")

        again = requests.put(batch_url(system, batch_id), json={"applications": rows},
                             headers=KELURAHAN_OFFICER, timeout=60)
        assert again.status_code == 200, again.text
        reply = again.json()
        assert reply["rejected"] == [], reply["rejected"]
        assert [row["row"] for row in reply["accepted"]] == [1, 2, 3, 4]
        assert {row["row"]: row["application_id"] for row in reply["accepted"][:3]} == stored
        members = requests.get(f"{batch_url(system, batch_id)}/applications",
                               headers=KELURAHAN_OFFICER, timeout=10).json()["applications"]
        assert [member["row"] for member in members] == [1, 2, 3, 4]
        [_, event] = eventually(lambda: len(told()) == 2 and told(),
                                what="the finished batch's batch_accepted")
        assert len(answered["application_ids"]) == 3
        assert sorted(event["application_ids"]) == sorted(
            row["application_id"] for row in reply["accepted"])
    finally:
        probe.close()
