"""The reference station agent with a fake station API (the service's rules
in miniature) and a real folder and journal on disk."""

import json

import pytest

from clients.station import journal as journal_module
from clients.station.agent import StationAgent
from clients.station.journal import Journal
from clients.station.printers import FolderPrinter, PrinterFault
from clients.station.station_api import Answer
from services.printing.stations import FAILURE_REASONS


class FakeStationApi:
    """Jobs and leases as the printing service keeps them; counts the reports."""

    def __init__(self, job_ids):
        self.jobs = {job_id: {"status": "queued", "lease": None} for job_id in job_ids}
        self.printed_reports, self.failed_reports, self.leases = {}, {}, 0
        self.unreachable_reports = 0  # this many report calls get no answer

    def expire_leases(self):
        for job in self.jobs.values():
            if job["status"] == "leased":
                job["status"] = "queued"  # claimable again, the lease token kept until then

    def claim(self, key=None):
        for job_id, job in self.jobs.items():
            if job["status"] == "queued":
                self.leases += 1
                job.update(status="leased", lease=f"lease-{self.leases:04d}")
                return Answer(200, {"print_job_id": job_id, "lease_token": job["lease"],
                                    "tracking_code": "SDK" + job_id, "document_type": "ktp_el",
                                    "nik": "3673045207900001", "full_name": "Siti Aminah"})
        return Answer(204)

    def download(self, job_id, lease):
        if self.jobs[job_id]["lease"] != lease:
            return Answer(409, {"error": {"code": "conflict", "fields": {"lease_token": ["x"]}}})
        return Answer(200, content=b"%PDF-1.3 " + job_id.encode())

    def printed(self, job_id, lease):
        if self.unreachable_reports:
            self.unreachable_reports -= 1
            return Answer(0)
        job = self.jobs[job_id]
        if job["lease"] != lease:
            return Answer(409, {"error": {"code": "conflict", "fields": {"lease_token": ["x"]}}})
        if job["status"] != "printed":
            self.printed_reports[job_id] = self.printed_reports.get(job_id, 0) + 1
        job["status"] = "printed"
        return Answer(200, {"slot": None})

    def reprint(self, job_id):
        """An operator's reprint: a printed job back in the queue, its id
        kept, its lease gone (a report under it: 409, as the service's)."""
        assert self.jobs[job_id]["status"] == "printed"
        self.jobs[job_id].update(status="queued", lease=None)

    def failed(self, job_id, lease, reason, note=None):
        if reason not in FAILURE_REASONS:  # what the service takes (docs/station-api.md)
            return Answer(400, {"error": {"code": "validation_failed",
                                          "fields": {"reason": ["x"]}}})
        self.failed_reports[job_id] = (reason, note)
        self.jobs[job_id].update(status="queued")
        return Answer(200)


class Crash(BaseException):
    """kill -9, as far as the agent can tell: nothing after it runs."""


def crash_at(victim):
    def hook(job_id):
        if job_id == victim:
            raise Crash()
    return hook


def files(folder):
    return sorted(path.name for path in folder.iterdir())


def run_to_idle(agent):
    agent.sleep = lambda seconds: None
    agent.run(poll_seconds=0, until_idle=True)


def test_every_job_printed_once_and_reported_once(tmp_path):
    api = FakeStationApi(["a", "b", "c"])
    run_to_idle(StationAgent(api, FolderPrinter(tmp_path / "out"), Journal(tmp_path / "j")))
    assert files(tmp_path / "out") == ["a.pdf", "b.pdf", "c.pdf"]
    assert api.printed_reports == {"a": 1, "b": 1, "c": 1}


@pytest.mark.parametrize("lease_expired_meanwhile", [False, True])
def test_a_crash_after_the_hand_over_is_reported_not_reprinted(tmp_path, lease_expired_meanwhile):
    api = FakeStationApi(["a", "b", "c"])
    with pytest.raises(Crash):
        run_to_idle(StationAgent(api, FolderPrinter(tmp_path / "out"), Journal(tmp_path / "j"),
                                 after_hand_over=crash_at("b")))
    assert files(tmp_path / "out") == ["a.pdf", "b.pdf"] and "b" not in api.printed_reports
    if lease_expired_meanwhile:
        # the restarted agent's first reports get no answer, and meanwhile
        # the lease ran out ("b" first in the queue again, nobody took it
        # over): the agent claims nothing until its report is heard
        api.expire_leases()
        api.jobs = {"b": api.jobs.pop("b"), **api.jobs}
        api.unreachable_reports = 5
    run_to_idle(StationAgent(api, FolderPrinter(tmp_path / "out"), Journal(tmp_path / "j")))
    assert files(tmp_path / "out") == ["a.pdf", "b.pdf", "c.pdf"]
    assert api.printed_reports == {"a": 1, "b": 1, "c": 1}


@pytest.mark.parametrize("restarted", [False, True])
def test_a_job_an_operator_sends_again_after_its_report_is_printed_again(tmp_path, restarted):
    """A reprint (the printed document went missing or was spoiled) brings a
    job the journal says ``reported`` back: the printer gets it again - a
    reviewer's came back and was reported printed with no card made."""
    api = FakeStationApi(["a", "b"])
    agent = StationAgent(api, FolderPrinter(tmp_path / "out"), Journal(tmp_path / "j"))
    run_to_idle(agent)
    api.reprint("a")
    if restarted:
        agent.journal.close()
        agent = StationAgent(api, FolderPrinter(tmp_path / "out"), Journal(tmp_path / "j"))
    run_to_idle(agent)
    assert files(tmp_path / "out") == ["a.2.pdf", "a.pdf", "b.pdf"]
    assert api.printed_reports == {"a": 2, "b": 1}
    assert agent.journal.state("a") == "reported"


def test_a_crash_after_a_reprints_hand_over_is_reported_not_printed_a_third_time(tmp_path):
    api = FakeStationApi(["a"])
    run_to_idle(StationAgent(api, FolderPrinter(tmp_path / "out"), Journal(tmp_path / "j")))
    api.reprint("a")
    with pytest.raises(Crash):
        run_to_idle(StationAgent(api, FolderPrinter(tmp_path / "out"), Journal(tmp_path / "j"),
                                 after_hand_over=crash_at("a")))
    api.expire_leases()  # and the lease ran out while the station was down
    run_to_idle(StationAgent(api, FolderPrinter(tmp_path / "out"), Journal(tmp_path / "j")))
    assert files(tmp_path / "out") == ["a.2.pdf", "a.pdf"] and api.printed_reports == {"a": 2}


def test_a_torn_last_line_is_ignored_and_the_next_entry_stays_readable(tmp_path):
    journal = Journal(tmp_path / "j")
    journal.record("a", "printing", lease_token="l1")
    journal.close()
    with open(tmp_path / "j", "a") as torn:
        torn.write('{"job": "b", "sta')
    again = Journal(tmp_path / "j")
    assert again.state("a") == "printing" and again.state("b") is None
    again.record("c", "printed", lease_token="l3")
    again.close()
    assert Journal(tmp_path / "j").state("c") == "printed"
    lines = (tmp_path / "j").read_text().splitlines()
    assert json.loads(lines[-1])["job"] == "c"


def test_the_journal_keeps_a_bounded_number_of_settled_jobs(tmp_path, monkeypatch):
    """A station runs for months: the journal forgets the oldest settled jobs
    beyond its bound, in memory and in the file, and never a job the printer
    may have."""
    monkeypatch.setattr(journal_module, "KEEP_SETTLED", 20, raising=False)
    journal = Journal(tmp_path / "j")
    journal.record("never-reported", "printed", lease_token="l0")  # the printer has it
    for n in range(150):
        for state in ("printing", "printed", ("reported", "failed", "lost")[n % 3]):
            journal.record(f"job-{n:03d}", state, lease_token=f"l{n}", tracking_code="SDKX")
    assert len(journal.entries) <= 20 + 1  # was 151: one per job ever printed
    assert len((tmp_path / "j").read_text().splitlines()) <= 2 * 21
    assert journal.state("job-147") == "reported" and journal.state("job-000") is None
    journal.close()
    again = Journal(tmp_path / "j")
    assert [entry["job"] for entry in again.unreported()] == ["never-reported"]
    assert again.state("job-147") == "reported" and len(again.entries) <= 21


def test_a_printer_fault_is_reported_failed_and_the_job_printed_later(tmp_path):
    api = FakeStationApi(["a"])

    class JammedOnce(FolderPrinter):
        jammed = False

        def hand_over(self, job_id, document):
            if not self.jammed:
                self.jammed = True
                raise PrinterFault("paper jam")
            return super().hand_over(job_id, document)

    agent = StationAgent(api, JammedOnce(tmp_path / "out"), Journal(tmp_path / "j"),
                         fault_pause_seconds=45)
    slept, claims = [], []
    claim = api.claim
    api.claim = lambda key=None: claims.append(len(slept)) or claim(key)
    agent.sleep = slept.append
    agent.run(poll_seconds=0, until_idle=True)
    assert api.failed_reports == {"a": ("printer_fault", "paper jam")}
    assert files(tmp_path / "out") == ["a.pdf"] and api.printed_reports == {"a": 1}
    # the claim after the fault came only after the pause: a printer left
    # broken would otherwise fail job after job at once, each using an attempt
    assert slept[0] == 45 and claims[1] == 1


def test_a_second_hand_over_of_one_job_never_overwrites_the_first(tmp_path):
    printer = FolderPrinter(tmp_path)
    printer.hand_over("a", b"1")
    printer.hand_over("a", b"2")
    assert files(tmp_path) == ["a.2.pdf", "a.pdf"]


def test_the_agent_logs_no_nik_or_name(tmp_path, caplog):
    caplog.set_level("INFO")
    run_to_idle(StationAgent(FakeStationApi(["a"]), FolderPrinter(tmp_path / "o"),
                             Journal(tmp_path / "j")))
    assert "3673045207900001" not in caplog.text and "Siti" not in caplog.text
    assert "3673045207900001" not in (tmp_path / "j").read_text()


def test_a_refused_token_stops_the_agent_after_one_claim(tmp_path):
    """Outside audit T1: the agent took a 401 for a passing fault and claimed
    again every 2 s - each a failed attempt of its address, which locked
    every station behind it out (429) for minutes. It stops at once now."""
    from clients.station.agent import TokenRefused

    class Refusing(FakeStationApi):
        claims = 0

        def claim(self, key=None):
            self.claims += 1
            return Answer(401, {"error": {"code": "unauthorized"}})

    api = Refusing([])
    agent = StationAgent(api, FolderPrinter(tmp_path / "out"), Journal(tmp_path / "j.jsonl"))
    with pytest.raises(TokenRefused):
        run_to_idle(agent)
    assert api.claims == 1


class Scripted(FakeStationApi):
    """The fake service, with the answers of some calls given in advance
    (what the service did is done all the same: a report whose answer is
    lost is recorded)."""

    def __init__(self, job_ids, **scripts):
        super().__init__(job_ids)
        self.scripts = {call: list(answers) for call, answers in scripts.items()}
        self.calls = []

    def _scripted(self, call, real):
        self.calls.append(call)
        done = real()
        script = self.scripts.get(call)
        return script.pop(0) if script else done

    def printed(self, job_id, lease):
        return self._scripted("printed", lambda: FakeStationApi.printed(self, job_id, lease))

    def download(self, job_id, lease):
        return self._scripted("download", lambda: FakeStationApi.download(self, job_id, lease))

    def failed(self, job_id, lease, reason, note=None):
        return self._scripted("failed",
                              lambda: FakeStationApi.failed(self, job_id, lease, reason, note))

    def claim(self, key=None):
        return self._scripted("claim", lambda: FakeStationApi.claim(self, key))


BUSY = Answer(503, {"error": {"code": "unavailable"}}, retry_after=1.0)


def quiet_agent(api, tmp_path, printer=None):
    return StationAgent(api, printer or FolderPrinter(tmp_path / "out"), Journal(tmp_path / "j"),
                        sleep=lambda seconds: None)


def test_an_unheard_report_is_settled_before_anything_more_is_claimed(tmp_path):
    """A station review: a report whose answer was lost, then 503s, was not
    tried again while the queue kept giving work - its lease would run out
    and another station print the card again. Now the agent claims nothing
    more until the service heard it (docs: until 200 or a 4xx)."""
    api = Scripted(["j0", "j1", "j2"], printed=[Answer(0)] + [BUSY] * 9)
    agent = quiet_agent(api, tmp_path)
    assert agent.step() and agent.journal.state("j0") == "printed"
    assert agent.step() and api.calls.count("claim") == 1  # only the report, again
    run_to_idle(agent)
    assert api.printed_reports == {"j0": 1, "j1": 1, "j2": 1}
    assert files(tmp_path / "out") == ["j0.pdf", "j1.pdf", "j2.pdf"]


def test_a_reprint_of_a_job_whose_report_answer_was_lost_is_printed_again(tmp_path):
    """The report reached the service but its answer did not reach the
    agent; the operator sends the spoiled card again: it is printed again,
    not reported printed under the new lease with no card made."""
    api = Scripted(["a"], printed=[Answer(0)] + [BUSY] * 4)
    agent = quiet_agent(api, tmp_path)
    agent.step()
    api.reprint("a")  # the service had it printed
    agent.step()  # the running agent's next step
    assert files(tmp_path / "out") == ["a.2.pdf", "a.pdf"]
    assert api.printed_reports == {"a": 2}


def test_a_download_the_service_cannot_answer_yet_is_asked_again_under_the_same_lease(tmp_path):
    """A KIA whose photo is being fetched answers 503 + Retry-After: the
    lease is kept and the download asked again, not given up for the next
    job (the KIA would wait out its lease and use up an attempt)."""
    api = Scripted(["kia", "x"], download=[BUSY, Answer(0)])
    slept = []
    agent = quiet_agent(api, tmp_path)
    agent.sleep = slept.append
    agent.step()
    assert files(tmp_path / "out") == ["kia.pdf"] and api.printed_reports == {"kia": 1}
    assert slept == [1.0, agent.retry_seconds]


def test_a_download_refused_for_good_moves_on_without_journalling(tmp_path):
    photo_missing = Answer(409, {"error": {"code": "photo_missing", "fields": {"foto": ["x"]}}})
    api = Scripted(["kia", "x"], download=[photo_missing])
    agent = quiet_agent(api, tmp_path)
    agent.step()
    assert api.calls == ["claim", "download"] and agent.journal.state("kia") is None
    run_to_idle(agent)
    assert files(tmp_path / "out") == ["x.pdf"]


def test_a_failure_report_the_service_cannot_take_yet_is_sent_again(tmp_path):
    class Jammed(FolderPrinter):
        def hand_over(self, job_id, document):
            raise PrinterFault("paper jam")

    api = Scripted(["a"], failed=[BUSY, Answer(0)])
    quiet_agent(api, tmp_path, Jammed(tmp_path / "out")).step()
    assert api.calls.count("failed") == 3 and api.failed_reports == {"a": ("printer_fault",
                                                                          "paper jam")}
    assert api.jobs["a"]["status"] == "queued"  # back in the queue now, not in 600 s


def test_a_folder_that_cannot_take_the_file_is_a_printer_fault_not_a_print(tmp_path,
                                                                          monkeypatch):
    """A full disk while writing: the job is reported failed, no empty file
    is left and nothing is reported printed (before: an OSError crashed the
    agent after "printing", and each restart reported a 0-byte file printed)."""
    import errno
    import os

    from clients.station import printers

    real_fdopen = os.fdopen

    class Full:
        def __init__(self, handle):
            self.handle = handle

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(printers.os, "fdopen", lambda fd, mode: Full(real_fdopen(fd, mode)))
    api = FakeStationApi(["a"])
    quiet_agent(api, tmp_path).step()
    assert files(tmp_path / "out") == [] and api.printed_reports == {}
    assert api.failed_reports == {"a": ("printer_fault", "folder: No space left on device")}


def test_a_refused_token_stops_the_agent_at_its_first_refusal_whatever_the_call(tmp_path):
    """Reports left in the journal are sent first: a refused token stops the
    agent there, not after one wrong-token request per report (each counts
    against the address: 429 for every station behind it)."""
    from clients.station.agent import TokenRefused

    journal = Journal(tmp_path / "j")
    for n in range(3):
        journal.record(f"job{n}", "printed", lease_token=f"lease{n}", tracking_code=f"SDK{n}")
    api = Scripted(["job0"], printed=[Answer(401, {"error": {"code": "unauthorized"}})])
    with pytest.raises(TokenRefused):
        StationAgent(api, FolderPrinter(tmp_path / "out"), journal,
                     sleep=lambda seconds: None).run(0)
    assert api.calls == ["printed"]


def test_a_report_refused_for_good_does_not_keep_an_idle_agent_running(tmp_path):
    journal = Journal(tmp_path / "j")
    journal.record("old", "printed", lease_token="lease-x", tracking_code="SDKold")
    api = Scripted(["old", "a"], printed=[Answer(400, {"error": {"code": "validation_failed",
                                                                 "fields": {"x": ["x"]}}})])
    api.jobs["old"].update(status="leased", lease="lease-x")
    agent = StationAgent(api, FolderPrinter(tmp_path / "out"), journal)
    run_to_idle(agent)  # returns: the refused one waits for the next start and an operator
    assert agent.journal.state("old") == "printed" and agent.journal.state("a") == "reported"
    assert api.calls.count("printed") == 2  # the refused one once, not at every poll
