"""A jemput-bola batch whose request died - intake killed mid-batch - is
finished with the rows it stored (outside review: it stayed "processing" for
good - GET 404, no ``batch_accepted``, so printing never handed the stored
rows over, the citizens stuck ``printed``, their NIKs held). Before the
bound (``batches.abandoned_after``) the officer sees what is stored so far;
past it a GET (or PUT) finishes it at once, and intake's timer does without
anyone asking: the reply lists the rows not stored as such, and
``batch_accepted`` names the stored ones, so the hand-over goes on."""

from __future__ import annotations

import signal
import threading

import requests

from services.intake.batches import abandoned_after, batch_content, json_rows, row_key
from tests.e2e.test_batch_resumed import printed
from tests.e2e.test_batches import batch_url, ktp_row, new_batch_id
from tests.e2e.test_office_handovers import verify
from tests.helpers import KELURAHAN_OFFICER, BrokerProbe, eventually, officers_day_came

# intake's own MONGO_TIMEOUT_MS in the stack (its default): past this the
# batch is abandoned
PAST_THE_BOUND = abandoned_after(5.0) * 1.1


def put_batch(system, batch_id: str, rows: list[dict], **headers) -> requests.Response:
    return requests.put(batch_url(system, batch_id), json={"applications": rows},
                        headers={**KELURAHAN_OFFICER, **headers}, timeout=120)


def stored_rows(mongo, batch_id: str) -> dict[int, str]:
    """The batch's rows stored so far, by row: its row keys, as intake finds them."""
    batch = mongo["intake"].batches.find_one({"batch_id": batch_id})
    if batch is None:
        return {}
    keys = [row_key(batch["_id"], number) for number in range(1, batch["rows"] + 1)]
    return {app["batch"]["row"]: app["_id"] for app in mongo["intake"].applications.find(
        {"idempotency_key": {"$in": keys}}, {"batch": 1})}


def aged(mongo, batch_id: str) -> None:
    """The batch started longer ago than any request storing it can take."""
    batch = mongo["intake"].batches.find_one({"batch_id": batch_id})
    mongo["intake"].batches.update_one({"_id": batch["_id"]}, {"$set": {
        "created_at": batch["created_at"] - PAST_THE_BOUND}})


def intake_up(system) -> bool:
    try:
        return requests.get(f"{system.url('intake')}/health", timeout=2).ok
    except requests.RequestException:
        return False


def sent_while_intake_is_killed(system, mongo, batch_id: str, rows: list[dict]) -> dict:
    """``rows`` sent as one batch, intake killed (-9) once a few are stored,
    then started again: the rows stored, by row."""
    def send():
        try:
            put_batch(system, batch_id, rows)
        except requests.RequestException:
            pass  # its connection dies with intake
    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    eventually(lambda: len(stored_rows(mongo, batch_id)) >= 5, timeout=120, interval=0.02,
               what="the batch's first rows stored")
    system.send_signal("intake", signal.SIGKILL)
    system.procs["intake"].wait()
    sender.join(timeout=30)
    system.respawn("intake")
    eventually(lambda: intake_up(system), timeout=90, what="intake back")
    stored = stored_rows(mongo, batch_id)
    assert 5 <= len(stored) < len(rows), f"{len(stored)} of {len(rows)} stored: not cut short"
    return stored


def told(probe: BrokerProbe, seen: list, batch_id: str, before: tuple = ()) -> list[dict]:
    """The batch's ``batch_accepted`` events, one per event id (a copy the
    outbox publishes again after intake's kill is the same event), but those
    ``before``."""
    seen.extend(event for _, event in probe.drain())
    return list({event["event_id"]: event for event in seen if event["batch_id"] == batch_id
                 and event["event_id"] not in before}.values())


def test_a_batch_whose_request_died_is_finished_with_the_rows_it_stored(system, mongo,
                                                                      intake_state):
    probe, seen = BrokerProbe(system.amqp_uri, "intake.events", "batch_accepted"), []
    printing_events, handovers = BrokerProbe(system.amqp_uri, "printing.events",
                                             "batch_ready_for_kelurahan"), []
    try:
        # a batch left by its request before this intake started, long ago:
        # three of its five rows stored
        left_id, left_rows = new_batch_id(), [ktp_row() for _ in range(5)]
        assert put_batch(system, left_id, left_rows[:3]).status_code == 200
        [answered] = eventually(lambda: told(probe, seen, left_id), what="its batch_accepted")
        mongo["intake"].batches.update_one({"batch_id": left_id}, {
            "$set": {"status": "processing", "rows": 5,
                     "content": batch_content(json_rows(left_rows))},
            "$unset": {"reply": ""}})
        aged(mongo, left_id)

        batch_id, rows = new_batch_id(), [ktp_row() for _ in range(300)]
        stored = sent_while_intake_is_killed(system, mongo, batch_id, rows)

        # intake's timer (at start, then every minute) finished the one left long ago
        [event] = eventually(lambda: told(probe, seen, left_id, (answered["event_id"],)),
                             timeout=90, what="batch_accepted of the batch left processing")
        left = mongo["intake"].batches.find_one({"batch_id": left_id})
        assert left["status"] == "done"
        assert sorted(event["application_ids"]) == sorted(
            row["application_id"] for row in left["reply"]["accepted"])
        assert [row["row"] for row in left["reply"]["accepted"]] == [1, 2, 3]
        assert [(row["row"], row["code"]) for row in left["reply"]["rejected"]] == [
            (4, "not_stored"), (5, "not_stored")]

        # before the bound: what is stored so far, not 404; the batch not finished
        now = requests.get(batch_url(system, batch_id), headers=KELURAHAN_OFFICER, timeout=10)
        assert now.status_code == 200, now.text
        assert (now.json()["status"], now.json()["rows"], now.json()["rejected"]) == (
            "processing", 300, [])
        assert {row["row"]: row["application_id"] for row in now.json()["accepted"]} == stored
        members = requests.get(f"{batch_url(system, batch_id)}/applications",
                               headers=KELURAHAN_OFFICER, timeout=10)
        assert members.status_code == 200, members.text
        assert [m["row"] for m in members.json()["applications"]] == sorted(stored)
        # one name corrected: other rows under this batch id
        corrected = [dict(row) for row in rows]
        corrected[7] = {**rows[7], "applicant": {**rows[7]["applicant"],
                                                 "full_name": "Siti Aminah Binti Ahmad"}}
        refused = put_batch(system, batch_id, corrected)
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"]["code"] == "batch_id_reused"
        assert "(300 baris)" in refused.json()["error"]["message"]
        assert told(probe, seen, batch_id) == []

        # past the bound: the officer's GET finishes it with the rows it stored
        aged(mongo, batch_id)
        finished = requests.get(batch_url(system, batch_id), headers=KELURAHAN_OFFICER,
                                timeout=10)
        assert finished.status_code == 200, finished.text
        reply = finished.json()
        assert reply["status"] == "done"
        assert {row["row"]: row["application_id"] for row in reply["accepted"]} == stored
        assert [row["row"] for row in reply["rejected"]] == [
            number for number in range(1, 301) if number not in stored]
        assert {(row["code"], row["field"]) for row in reply["rejected"]} == {
            ("not_stored", "_row")}
        assert "batch id baru" in reply["rejected"][0]["reason"], reply["rejected"][0]
        assert (reply["accepted_count"], reply["rejected_count"]) == (len(stored),
                                                                      300 - len(stored))
        [event] = eventually(lambda: told(probe, seen, batch_id), what="batch_accepted")
        assert (event["manifest_id"], sorted(event["application_ids"])) == (
            reply["manifest_id"], sorted(stored.values()))
        # asked again, the same reply and no second event
        assert put_batch(system, batch_id, rows).json() == reply
        assert len(told(probe, seen, batch_id)) == 1

        # the stored rows go on to the officer's hand-over
        for application_id in stored.values():
            verify(system, application_id)
        printed(system, set(stored.values()))

        def ready():
            handovers.extend(body for _, body in printing_events.drain())
            return [body for body in handovers if body["manifest_id"] == reply["manifest_id"]]
        [handover] = eventually(ready, timeout=60, what="batch_ready_for_kelurahan")
        assert sorted(item["application_id"] for item in handover["items"]) == sorted(
            stored.values())
        first = min(stored)
        officers_day_came(mongo["printing"], stored[first])
        handed = requests.post(f"{system.url('printing')}/api/v1/kelurahan/handovers",
                               headers=KELURAHAN_OFFICER, timeout=10, json={
                                   "tracking_code": next(row["tracking_code"] for row in
                                                         reply["accepted"]
                                                         if row["row"] == first),
                                   "nik": rows[first - 1]["applicant"]["nik"]})
        assert handed.status_code == 200 and handed.json()["status"] == "collected", handed.text
        # what the killed intake had claimed is published again once its claim
        # runs out: out before the next test, whose probes count events
        eventually(lambda: intake_state()[1:] == (0, 0), timeout=120,
                   what="intake's events of this test all out")
    finally:
        probe.close()
        printing_events.close()
