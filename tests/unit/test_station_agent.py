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

    def claim(self):
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
        """An operator's reprint: a printed job back in the queue, its id kept."""
        assert self.jobs[job_id]["status"] == "printed"
        self.jobs[job_id]["status"] = "queued"

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
        # the lease ran out: the service hands "b" back to us, a new lease
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
    api.claim = lambda: claims.append(len(slept)) or claim()
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

        def claim(self):
            self.claims += 1
            return Answer(401, {"error": {"code": "unauthorized"}})

    api = Refusing([])
    agent = StationAgent(api, FolderPrinter(tmp_path / "out"), Journal(tmp_path / "j.jsonl"))
    with pytest.raises(TokenRefused):
        run_to_idle(agent)
    assert api.claims == 1
