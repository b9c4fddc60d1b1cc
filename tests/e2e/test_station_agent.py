"""The reference station agent against the running stack, killed mid-print.

Three verified applications; the agent (a real subprocess, writing to a
folder) is killed with SIGKILL right after it handed a document to the
"printer" and before it could journal or report it; restarted, it reports
that job printed without printing it again, and prints the rest. Every job
it touched is one file in the folder and one ``document_printed``. A job an
operator sends again after its report (a reprint) is printed again.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import requests

from clients.station.__main__ import PAUSE_HOOK
from deploy.registry import ROOT
from tests.helpers import (OPERATOR, STATION_TOKEN, BrokerProbe, eventually,
                           personal_data_in_logs, valid_body)
from tests.pdf_checks import pdf_qr_codes


def verified_applications(system, mongo, count: int) -> tuple[list[str], list[str]]:
    """(application ids, NIKs) of ``count`` verified applications whose print jobs are queued."""
    intake, ids, niks = system.url("intake"), [], []
    for _ in range(count):
        body = valid_body()
        submitted = requests.post(f"{intake}/api/v1/applications", json=body, timeout=10)
        assert submitted.status_code == 202, submitted.text
        application_id = submitted.json()["application_id"]
        verified = requests.post(f"{intake}/api/v1/applications/{application_id}/verify",
                                 headers=OPERATOR, timeout=10)
        assert verified.status_code == 200, verified.text
        ids.append(application_id)
        niks.append(body["applicant"]["nik"])
    jobs = mongo["printing"].print_jobs
    eventually(lambda: jobs.count_documents({"application_id": {"$in": ids}}) == count,
               what="the print jobs queued")
    return ids, niks


def start_agent(system, tmp_path: Path, **env) -> subprocess.Popen:
    log = open(tmp_path / "agent.log", "ab")
    return subprocess.Popen(
        [sys.executable, "-m", "clients.station", "--url", system.url("printing"),
         "--out-dir", str(tmp_path / "printed"), "--journal", str(tmp_path / "journal.jsonl"),
         "--poll-seconds", "0.2", "--until-idle"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        env={"PATH": "/usr/bin:/bin", "STATION_TOKEN": STATION_TOKEN, "PYTHONPATH": str(ROOT),
             **env})


def run_agent_until(system, tmp_path: Path, done, runs: int = 5) -> None:
    """The agent run to idle until ``done()``: a job queued by printing's
    events container is seen by its API's claims up to a second late
    (docs/station-api.md), and an agent run ``--until-idle`` ends at its first
    empty claim."""
    for _ in range(runs):
        assert start_agent(system, tmp_path).wait(timeout=180) == 0, \
            (tmp_path / "agent.log").read_text()[-3000:]
        if done():
            return
        time.sleep(1)
    raise AssertionError((tmp_path / "agent.log").read_text()[-3000:])


def test_killed_mid_print_and_restarted_prints_each_job_once(system, mongo, tmp_path):
    ids, niks = verified_applications(system, mongo, 3)
    probe = BrokerProbe(system.amqp_uri, "printing.events", "document_printed")
    marker = tmp_path / "handed-over"
    first = start_agent(system, tmp_path, **{PAUSE_HOOK: str(marker)})
    try:
        victim = eventually(lambda: marker.exists() and marker.read_text(),
                            what="the agent to hand a job to the printer")
        first.kill()  # SIGKILL: no cleanup, no report
    finally:
        first.wait(timeout=30)
    journal = [json.loads(line) for line in (tmp_path / "journal.jsonl").read_text().splitlines()]
    assert journal[-1] == {**journal[-1], "job": victim, "state": "printing"}
    assert (tmp_path / "printed" / f"{victim}.pdf").exists()

    second = start_agent(system, tmp_path)
    assert second.wait(timeout=180) == 0, (tmp_path / "agent.log").read_text()[-3000:]

    jobs = {job["_id"]: job for job in mongo["printing"].print_jobs.find(
        {"application_id": {"$in": ids}})}
    entries = [json.loads(line) for line in (tmp_path / "journal.jsonl").read_text().splitlines()]
    touched = {entry["job"] for entry in entries}
    # the victim went to the printer once, and was reported after the restart
    assert [entry["state"] for entry in entries if entry["job"] == victim] == [
        "printing", "reported"]
    assert set(jobs) <= touched and victim in touched
    files = sorted(path.name for path in (tmp_path / "printed").iterdir())
    # one file per job, never a second copy (the folder printer would write <id>.2.pdf)
    assert files == sorted(f"{job_id}.pdf" for job_id in touched)
    published: list[str] = []

    def every_job_announced():
        published.extend(event["print_job_id"] for _, event in probe.drain())
        return touched <= set(published)
    eventually(every_job_announced, what="document_printed for every job")
    probe.close()
    # once each (an earlier test's late events may pass by too: not ours)
    assert sorted(job_id for job_id in published if job_id in touched) == sorted(touched)
    assert all(job["status"] == "printed" for job in jobs.values())
    log_text = (tmp_path / "agent.log").read_text()
    assert not any(nik in log_text for nik in niks)
    assert personal_data_in_logs(system, *niks) == []


def test_a_reprint_an_operator_asks_for_is_printed_again_with_a_qr_of_its_own(
        system, mongo, tmp_path):
    """A printed document gone missing or spoiled: the operator's reprint
    brings the job back to the station whose journal says ``reported``, and
    the agent prints it again (a reviewer's reprint was reported printed
    with no card made): a second file, whose QR verifies, the first's
    revoked."""
    [application_id], _ = verified_applications(system, mongo, 1)
    jobs = mongo["printing"].print_jobs
    run_agent_until(system, tmp_path, lambda: jobs.find_one(
        {"application_id": application_id})["status"] == "printed")
    job = jobs.find_one({"application_id": application_id})
    first_print = tmp_path / "printed" / f"{job['_id']}.pdf"
    [first_token] = pdf_qr_codes(first_print.read_bytes())

    reprint = requests.post(f"{system.url('printing')}/api/v1/operator/print-jobs/"
                            f"{job['_id']}/reprint", json={"reason": "Tidak ada kartu keluar"},
                            headers=OPERATOR, timeout=10)
    assert reprint.status_code == 200 and reprint.json()["status"] == "queued", reprint.text
    run_agent_until(system, tmp_path, lambda: jobs.find_one({"_id": job["_id"]})["status"]
                    == "printed")

    second_print = tmp_path / "printed" / f"{job['_id']}.2.pdf"
    assert second_print.exists(), (tmp_path / "agent.log").read_text()[-3000:]
    [second_token] = pdf_qr_codes(second_print.read_bytes())
    assert second_token != first_token
    assert mongo["printing"].print_jobs.find_one({"_id": job["_id"]})["status"] == "printed"
    verdicts = [requests.get(f"{system.url('printing')}/api/v1/verify", params={"token": token},
                             timeout=10).json() for token in (first_token, second_token)]
    assert [verdict["status"] for verdict in verdicts] == ["revoked", "valid"], verdicts
    states = [json.loads(line)["state"] for line in
              (tmp_path / "journal.jsonl").read_text().splitlines()
              if json.loads(line)["job"] == job["_id"]]
    assert states == ["printing", "printed", "reported"] * 2
