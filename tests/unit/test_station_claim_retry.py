"""The reference agent sends its claims under an ``Idempotency-Key`` and,
when a claim's answer is lost, sends it again under the same key - with a
fake service that answers a repeated key as the printing service does."""

from clients.station.agent import StationAgent
from clients.station.journal import Journal
from clients.station.printers import FolderPrinter
from clients.station.station_api import Answer
from tests.unit.test_station_agent import FakeStationApi, files, run_to_idle

BUSY = Answer(503, {"error": {"code": "unavailable"}}, retry_after=1.0)


class KeyedService(FakeStationApi):
    """The service's claims with keys: a claim repeating the key of a job
    still on its lease is answered that job again; ``lost`` answers (the
    claims it did, answered nothing or a 503) come first."""

    def __init__(self, job_ids, lost):
        super().__init__(job_ids)
        self.lost, self.keys, self.by_key = list(lost), [], {}

    def claim(self, key=None):
        self.keys.append(key)
        job_id = self.by_key.get(key)
        if job_id is not None and self.jobs[job_id]["status"] == "leased":
            answer = self.answer(job_id)
        else:
            answer = FakeStationApi.claim(self, key)
            if answer.status == 200 and key is not None:
                self.by_key[key] = answer.body["print_job_id"]
        return self.lost.pop(0) if self.lost else answer

    def answer(self, job_id):
        return Answer(200, {"print_job_id": job_id, "lease_token": self.jobs[job_id]["lease"],
                            "tracking_code": "SDK" + job_id, "document_type": "ktp_el"})


def agent_for(api, tmp_path):
    return StationAgent(api, FolderPrinter(tmp_path / "out"), Journal(tmp_path / "j"),
                        sleep=lambda seconds: None)


def test_a_claim_whose_answer_was_lost_is_sent_again_under_its_key(tmp_path):
    """An outside review: a claim answer lost on the network left its job
    leased to the station unknown for the whole lease (600 s), and the next
    claim leased another. Now the agent sends the claim again with the same
    key and prints the job the service leased, once."""
    api = KeyedService(["a", "b"], lost=[Answer(0), BUSY])
    run_to_idle(agent_for(api, tmp_path))

    assert api.keys[0] is not None and api.keys[:3] == [api.keys[0]] * 3
    assert api.leases == 2  # a, then b: nothing leased twice, nothing left on lease
    assert api.printed_reports == {"a": 1, "b": 1}
    assert files(tmp_path / "out") == ["a.pdf", "b.pdf"]


def test_each_claim_round_that_leased_gets_a_fresh_key(tmp_path):
    api = KeyedService(["a", "b"], lost=[])
    run_to_idle(agent_for(api, tmp_path))
    assert len(api.keys) == 3 and len(set(api.keys)) == 3  # a, b, then 204


def test_an_idle_station_polls_under_one_key(tmp_path):
    """A 204 leased nothing under its key: the next poll sends it again,
    and no key is written to disk a poll."""
    api = KeyedService([], lost=[])
    agent = agent_for(api, tmp_path)
    for _ in range(3):
        assert not agent.step()
    api.jobs["a"] = {"status": "queued", "lease": None}
    assert agent.step()
    assert len(api.keys) == 4 and len(set(api.keys)) == 1
    assert api.printed_reports == {"a": 1}


def test_a_job_claimed_just_before_a_crash_comes_back_to_the_restarted_station(tmp_path):
    """(Outside audit) killed after a claim was answered and before the job
    was journalled ``printing`` (its download under way), the agent lost the
    claim's key with its memory: the job stayed leased to the station,
    unknown to it, for its whole lease, an attempt used. The key is kept
    beside the journal now; the restarted agent's first claim sends it
    again and gets that job, printed once."""
    api = KeyedService(["a", "b"], lost=[])
    first = agent_for(api, tmp_path)
    assert first.claim().status == 200  # leased "a"; the process dies here
    first.journal.close()

    run_to_idle(agent_for(api, tmp_path))
    assert api.keys[1] == api.keys[0]  # the restart's first claim: the same round
    assert api.leases == 2  # a once, then b: nothing leased twice
    assert api.printed_reports == {"a": 1, "b": 1}
    assert files(tmp_path / "out") == ["a.pdf", "b.pdf"]
    # the journal keeps one line per job: the key is in a file of its own
    assert (tmp_path / "j.claim").read_text().strip() == api.keys[-1]


def test_a_claim_still_unanswered_keeps_its_key_for_the_next_step(tmp_path):
    """The service down for longer than the agent's tries: the claim after
    the pause is still the same round's, under the same key."""
    api = KeyedService(["a"], lost=[Answer(0)] * 7)
    agent = agent_for(api, tmp_path)
    assert agent.step()  # five tries, none answered
    assert len(api.keys) == 5
    run_to_idle(agent)
    assert set(api.keys[:8]) == {api.keys[0]} and api.leases == 1
    assert api.printed_reports == {"a": 1}


def test_a_refused_claim_is_not_sent_again(tmp_path):
    api = KeyedService([], lost=[Answer(400, {"error": {"code": "validation_failed"}})])
    agent = agent_for(api, tmp_path)
    assert agent.step()
    assert len(api.keys) == 1 and agent.claim_key is None
