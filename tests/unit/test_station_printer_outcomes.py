"""What the station agent reports after a hand-over, with CUPS faked by
``lp``, ``lpstat`` and ``cancel`` executables on PATH (no CUPS here) and a
fake station API that checks a failure report as the service does."""

import json
import os
import stat
import sys
import textwrap

import pytest

from clients.station.agent import StationAgent
from clients.station.journal import Journal
from clients.station.printers import CupsPrinter, FolderPrinter, PrinterFault, PrinterInDoubt
from clients.station.station_api import Answer, StationApi
from services.printing.schemas import FailedSchema
from shared.errors import ValidationFailed
from shared.http import load_checked
from tests.unit.test_station_agent import FakeStationApi, Scripted

QUEUE = "KARTU_1"

# one program for lp, lpstat and cancel: CUPS' jobs and queue in state.json
FAKE_CUPS = textwrap.dedent('''\
    import json, os, sys, time
    state_file = os.path.join(os.environ["FAKE_CUPS"], "state.json")
    state = json.load(open(state_file))
    command, args = sys.argv[1], sys.argv[2:]
    def save():
        json.dump(state, open(state_file, "w"))
    if command == "lp":
        sys.stdin.buffer.read()
        if state.get("lp_hangs"):
            time.sleep(60)
        if state.get("lp_exit"):
            sys.stderr.write(state["lp_stderr"])
            sys.exit(state["lp_exit"])
        request = "%s-%d" % (args[1], len(state["jobs"]) + 1)
        state["jobs"][request] = {"state": "pending", "reasons": "job-incoming"}
        save()
        print("request id is %s (1 file(s))" % request)
    elif command == "cancel":
        state["jobs"][args[0]] = {"state": "canceled", "reasons": "job-canceled-by-user"}
        save()
    elif "-p" in args:
        if state.get("stopped"):
            print("printer %s disabled since Mon 01 Jan 2026 -" % args[-1])
            print("\\t%s" % state.get("message", "reason unknown"))
            print("\\tDescription: card printer")
            print("\\tAlerts: %s" % state.get("printer_alerts", "none"))
        else:
            print("printer %s is idle.  enabled since Mon 01 Jan 2026" % args[-1])
    else:
        which = args[args.index("-W") + 1]
        for request, job in state["jobs"].items():
            if which == "not-completed" and job["state"] == "pending" \\
                    and state.get("done_after_polls") is not None:
                if state["done_after_polls"] == 0:
                    job.update(state="completed", reasons="job-completed-successfully")
                state["done_after_polls"] -= 1
                save()
            if (job["state"] == "pending") == (which == "not-completed") \\
                    and not job.get("forgotten"):
                print("%-23s station  1024   Mon 01 Jan 2026" % request)
                if "-l" in args:
                    print("\\tAlerts: %s" % job["reasons"])
                    print("\\tqueued for %s" % args[-1])
''')


@pytest.fixture
def cups(tmp_path, monkeypatch):
    """The fake CUPS' state: change it, then ``save()``."""
    folder = tmp_path / "cups"
    folder.mkdir()
    program = folder / "fake_cups.py"
    program.write_text(FAKE_CUPS)
    for name in ("lp", "lpstat", "cancel"):
        script = folder / name
        script.write_text(f"#!/bin/sh\nexec {sys.executable} {program} {name} \"$@\"\n")
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_CUPS", str(folder))

    class State(dict):
        def save(self):
            (folder / "state.json").write_text(json.dumps(self))

        def load(self):
            self.clear()
            self.update(json.loads((folder / "state.json").read_text()))
            return self

    state = State(jobs={})
    state.save()
    return state


def printer(wait_seconds=30):
    return CupsPrinter(QUEUE, timeout=10, wait_seconds=wait_seconds, poll_seconds=0,
                       sleep=lambda seconds: None)


def test_a_job_is_printed_once_cups_says_it_completed(cups):
    cups.update(done_after_polls=2)
    cups.save()
    assert printer().hand_over("job-1", b"%PDF") == f"{QUEUE}-1"
    assert cups.load()["jobs"][f"{QUEUE}-1"]["state"] == "completed"


@pytest.mark.parametrize(("alerts", "reason"), [
    ("media-empty-error", "out_of_blanko"), ("media-jam-error", "printer_fault")])
def test_a_stopped_queue_is_a_fault_and_the_job_is_cancelled_before_it_is_reported(
        cups, alerts, reason):
    """CUPS' stop-printer policy: lp exits 0, the queue stops; the card
    must not come out when someone restarts the queue later."""
    cups.update(stopped=True, printer_alerts=alerts, message="Out of cards")
    cups.save()
    with pytest.raises(PrinterFault) as fault:
        printer().hand_over("job-1", b"%PDF")
    assert fault.value.reason == reason and "Out of cards" in str(fault.value)
    assert cups.load()["jobs"][f"{QUEUE}-1"]["state"] == "canceled"


def test_a_job_cups_aborted_is_a_fault(cups):
    cups.update(jobs={})
    cups.save()
    real = printer()
    request = real._submit("job-1", b"%PDF")
    cups.load()["jobs"][request] = {"state": "aborted", "reasons": "aborted-by-system"}
    cups.save()
    with pytest.raises(PrinterFault):
        real._ended(request)


@pytest.mark.parametrize("case", ["lp_times_out", "still_waiting", "no_history"])
def test_a_job_the_spooler_may_still_print_is_in_doubt(cups, case):
    wait = 30
    if case == "lp_times_out":
        cups.update(lp_hangs=True)
    elif case == "still_waiting":
        wait = 0  # enabled queue, the job still pending when the wait ends
    else:
        cups.update(done_after_polls=0)
    cups.save()
    if case == "no_history":  # the job ended and CUPS keeps no job history
        real = printer()
        request = real._submit("job-1", b"%PDF")
        cups.load()["jobs"][request] = {"state": "completed", "forgotten": True, "reasons": ""}
        cups.save()
        with pytest.raises(PrinterInDoubt):
            real._ended(request)
        return
    cups_printer = printer(wait)
    if case == "lp_times_out":
        cups_printer.timeout = 0.5
    with pytest.raises(PrinterInDoubt):
        cups_printer.hand_over("job-1", b"%PDF")


class ThroughTheClient(FakeStationApi):
    """The fake service, a failure report reaching it as ``StationApi.failed``
    sends it and checked as the service checks it (``FailedSchema`` through
    the body checks)."""

    def failed(self, job_id, lease, reason, note=None):
        sent = {}
        client = StationApi("http://printing.invalid", "t")
        client._call = lambda method, path, json=None, **kw: sent.update(json) or Answer(200)
        client.failed(job_id, lease, reason, note)
        try:
            load_checked(FailedSchema(), sent)
        except ValidationFailed as refused:
            return Answer(400, {"error": {"code": "validation_failed",
                                          "fields": refused.fields}})
        return FakeStationApi.failed(self, job_id, lease, sent["reason"], sent.get("note"))


def agent(api, tmp_path, cups_printer):
    return StationAgent(api, cups_printer, Journal(tmp_path / "j"), sleep=lambda seconds: None)


def test_a_stopped_queue_is_reported_failed_not_printed(cups, tmp_path):
    """Before: lp exited 0 and the agent reported printed - the citizen was
    told the card was ready, with none made."""
    cups.update(stopped=True, printer_alerts="media-empty-error")
    cups.save()
    api = ThroughTheClient(["a"])
    station = agent(api, tmp_path, printer())
    station.step()
    assert api.printed_reports == {} and api.failed_reports["a"][0] == "out_of_blanko"
    assert station.journal.state("a") == "failed" and api.jobs["a"]["status"] == "queued"


def test_a_failure_note_of_several_lines_is_sent_as_one_line_within_the_limit(cups, tmp_path):
    """lp's stderr of several lines: refused 400 on ``note`` for good, the job
    stayed leased until its lease ran out (outside review)."""
    cups.update(lp_exit=1, lp_stderr="lp: Error - scheduler not responding.\n"
                + "lp: retry later\r\n" * 40)
    cups.save()
    api = ThroughTheClient(["a"])
    agent(api, tmp_path, printer()).step()
    reason, note = api.failed_reports["a"]
    assert reason == "printer_fault" and api.jobs["a"]["status"] == "queued"
    assert "\n" not in note and len(note) <= 300
    assert note.startswith("lp exited 1: lp: Error - scheduler not responding. lp: retry later")


def test_a_job_in_doubt_is_not_reported_failed_and_never_printed_again(cups, tmp_path):
    cups.update(lp_hangs=True)
    cups.save()
    api = ThroughTheClient(["a", "b"])
    cups_printer = printer()
    cups_printer.timeout = 0.5
    station = agent(api, tmp_path, cups_printer)
    station.step()
    assert api.failed_reports == {} and station.journal.state("a") == "printing"
    # the journal pattern: the printer may have it - reported printed before the next claim
    cups.load().update(lp_hangs=False, done_after_polls=0)
    cups.save()
    station.printer.timeout = 10
    station.step()
    assert api.printed_reports == {"a": 1, "b": 1} and len(cups.load()["jobs"]) == 1


def printed_refused(code):
    return Answer(404, {"error": {"code": code}} if code else None)


@pytest.mark.parametrize("code", ["unknown_path", None])
def test_a_404_that_is_not_the_services_word_on_the_job_keeps_the_card_and_asks_again(
        tmp_path, code):
    """A misrouted proxy, a balancer mid-redeploy: before, the journal said
    ``lost`` and the log "destroy this card"."""
    api = Scripted(["a"], printed=[printed_refused(code)] * 2)
    station = StationAgent(api, FolderPrinter(tmp_path / "out"), Journal(tmp_path / "j"),
                           sleep=lambda seconds: None)
    station.step()
    assert station.journal.state("a") == "reported" and api.calls.count("printed") == 3


def test_the_services_404_on_a_printed_report_is_left_to_an_operator_not_destroyed(tmp_path):
    api = Scripted(["a"], printed=[printed_refused("not_found")])
    station = StationAgent(api, FolderPrinter(tmp_path / "out"), Journal(tmp_path / "j"),
                           sleep=lambda seconds: None)
    station.step()
    assert station.journal.state("a") == "printed" and "a" in station.refused
