"""The reference station agent against the running stack, killed mid-print.

Three verified applications; the agent (a real subprocess, writing to a
folder) is killed with SIGKILL right after it handed a document to the
"printer" and before it could journal or report it; restarted, it reports
that job printed without printing it again, and prints the rest. Every job
it touched is one file in the folder and one ``document_printed``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import requests

from clients.station.__main__ import PAUSE_HOOK
from deploy.registry import ROOT
from tests.helpers import (OPERATOR, STATION_TOKEN, BrokerProbe, eventually,
                           personal_data_in_logs, valid_body)


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
