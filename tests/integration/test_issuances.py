"""QR issuances against the real database server (``IssuingPrintStore``
in-process): which print of a card answers ``valid`` (docs/verification.md,
"Issuances and reprints").

* a replacement card's download revokes nothing; its print reported failed
  and its job cancelled leave it never valid and the card it would have
  replaced valid;
* printed, it revokes the holder's earlier card; a reprint under a new lease
  revokes the earlier lease's download of the same application;
* a station's batch report revokes what each of its cards replaces in one
  read and one write of the issuances, whatever its size;
* a print reported under a lease with no download of its own (the journal
  pattern: printed under an earlier lease, crashed, claimed back) keeps the
  download it printed valid - its own, not another station's download under
  a lease taken over meanwhile;
* a download and an operator's cancel of its job at the same moment never
  leave a valid download of the cancelled job.
"""

from __future__ import annotations

import datetime

import pytest

from services.printing import tokens, verification
from services.printing.exceptions import LeaseLost
from services.printing.issuance_store import IssuingPrintStore
from services.printing.stations import StationRules, parse_stations
from shared.offices import PLACES
from tests.helpers import random_nik
from tests.integration.test_pickup_windows import rules as pickup_rules
from tests.integration.test_stations import counted_store, queue_jobs

KEY = tokens.generate("test-issuances")
STATION_ID = "station-serang-1"
RULES = StationRules(parse_stations(f"{STATION_ID}@disdukcapil-serang:card+certificate:100",
                                    PLACES), tuple(PLACES), datetime.timedelta(minutes=10), 3)


@pytest.fixture
def counted(backing):
    """An ``IssuingPrintStore`` whose commands are counted, and the counter."""
    yield from counted_store(backing, IssuingPrintStore, "printing_issuances")


@pytest.fixture
def store(counted):
    return counted[0]


def card_job(store, nik: str, **fields) -> dict:
    """A KTP-el job for ``nik``, queued at the Dinas and claimed by the station."""
    [job] = queue_jobs(store, 1, nik=nik, print_kind="card", document_type="ktp_el",
                       pickup_place_id="disdukcapil-serang", **fields)
    return claimed(store, job["_id"])


def claimed(store, job_id: str) -> dict:
    leased = {job["_id"]: job for job in store.claim(RULES.station(STATION_ID), RULES, 100)}
    return leased[job_id]


def download(store, job: dict) -> str:
    """The token on the PDF the station downloads under the job's lease."""
    return store.issue(job["_id"], STATION_ID, job["lease_token"], KEY)[1]["token"]


def verdict(store, token: str) -> dict:
    answer = verification.verdict(token, {KEY.kid: KEY.public}, store.find_issuance)
    return {key: answer[key] for key in ("status", "reason") if key in answer}


VALID = {"status": "valid"}
REPLACED = {"status": "revoked", "reason": "replaced"}
NOT_ISSUED = {"status": "revoked", "reason": "not_issued"}


def printed_card(store, nik: str) -> str:
    """The holder's first card, printed: its token."""
    job = card_job(store, nik)
    token = download(store, job)
    store.mark_printed(job["_id"], STATION_ID, job["lease_token"], pickup_rules(40), RULES)
    return token


def replacement_downloaded(store) -> tuple[str, dict, str]:
    """A holder's printed card, and its replacement claimed and downloaded:
    (the old card's token, the replacement's job, its token)."""
    nik = random_nik()
    old = printed_card(store, nik)
    replacement = card_job(store, nik, replacement=True, priority=0)
    return old, replacement, download(store, replacement)


def lease_ran_out(store, job: dict, **more) -> None:
    store.db.print_jobs.update_one({"_id": job["_id"]}, {"$set": {
        "lease_until": datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc), **more}})
    # the claims see a lease run out within READ_AHEAD_SECONDS: here at once
    store.groups.forget_reads_ahead()


def test_a_replacement_that_fails_and_is_cancelled_never_revokes_the_card_it_would_replace(
        store):
    old, replacement, new = replacement_downloaded(store)
    assert verdict(store, old) == VALID  # nothing printed yet: the citizen's card stands
    assert download(store, replacement) == new  # the same lease: the same issuance

    failed = store.mark_failed(replacement["_id"], STATION_ID, replacement["lease_token"],
                               "data_error", None, RULES)
    assert failed["status"] == "held"
    assert verdict(store, new) == NOT_ISSUED and verdict(store, old) == VALID
    store.cancel_held(replacement["_id"], "op-1", RULES, pickup_rules(40))
    assert verdict(store, new) == NOT_ISSUED and verdict(store, old) == VALID


def test_a_cancelled_job_leaves_no_download_of_it_valid(store):
    # a lease that ran out on its last attempt (never reported): held, then cancelled
    old, replacement, new = replacement_downloaded(store)
    lease_ran_out(store, replacement, attempts=RULES.max_attempts)
    store.cancel_held(replacement["_id"], "op-1", RULES, pickup_rules(40))
    assert verdict(store, new) == NOT_ISSUED and verdict(store, old) == VALID


def test_a_replacement_printed_revokes_the_old_card_and_a_reprint_the_earlier_lease(store):
    # the card was lost: its replacement misprints once, then prints
    old, replacement, misprinted = replacement_downloaded(store)
    store.mark_failed(replacement["_id"], STATION_ID, replacement["lease_token"], "misprint",
                      None, RULES)
    again = claimed(store, replacement["_id"])
    reprint = download(store, again)
    assert verdict(store, old) == VALID and verdict(store, reprint) == VALID
    store.mark_printed(again["_id"], STATION_ID, again["lease_token"], pickup_rules(40), RULES)
    assert verdict(store, reprint) == VALID
    assert verdict(store, old) == REPLACED and verdict(store, misprinted) == NOT_ISSUED

    # a lease taken over: the earlier lease's download is replaced when the new one prints
    other = card_job(store, random_nik())
    first_lease = download(store, other)
    lease_ran_out(store, other)
    taken_over = claimed(store, other["_id"])
    second_lease = download(store, taken_over)
    assert verdict(store, first_lease) == VALID  # not printed yet
    store.mark_printed(other["_id"], STATION_ID, taken_over["lease_token"], pickup_rules(40),
                       RULES)
    assert verdict(store, first_lease) == REPLACED and verdict(store, second_lease) == VALID


def test_a_print_reported_under_a_lease_with_no_download_keeps_the_one_printed(store):
    job = card_job(store, random_nik())
    printed = download(store, job)
    lease_ran_out(store, job)
    back = claimed(store, job["_id"])  # the station's own crash, its journal says printed
    store.mark_printed(job["_id"], STATION_ID, back["lease_token"], pickup_rules(40), RULES)
    assert verdict(store, printed) == VALID
    assert store.db.issuances.find_one({"print_job_id": job["_id"]})["printed_at"] is not None


def test_a_station_reporting_its_own_earlier_print_keeps_that_one_not_a_later_takeovers(store):
    """X printed under its lease and crashed; Y took the job over and
    downloaded, and its lease ran out too; X claims the job back and reports
    it printed with no download (its journal says printed): the card X
    printed is the valid one, Y's download is replaced."""
    other = "station-serang-2"
    rules = StationRules(parse_stations(
        f"{STATION_ID}@disdukcapil-serang:card+certificate:100,"
        f"{other}@disdukcapil-serang:card+certificate:100", PLACES), tuple(PLACES),
        datetime.timedelta(minutes=10), 3)
    job = card_job(store, random_nik())
    printed = download(store, job)
    lease_ran_out(store, job)
    taken = {leased["_id"]: leased for leased in store.claim(rules.station(other), rules, 100)}[
        job["_id"]]
    takeover = store.issue(job["_id"], other, taken["lease_token"], KEY)[1]["token"]
    lease_ran_out(store, taken)
    back = {leased["_id"]: leased for leased in store.claim(rules.station(STATION_ID), rules,
                                                             100)}[job["_id"]]
    store.mark_printed(job["_id"], STATION_ID, back["lease_token"], pickup_rules(40), rules)
    assert verdict(store, printed) == VALID
    assert verdict(store, takeover) == REPLACED


@pytest.mark.parametrize("size", [2, 30])
def test_a_batch_report_revokes_what_its_cards_replace_in_one_read_and_one_write(counted,
                                                                                 size):
    store, counter = counted
    niks = [random_nik() for _ in range(size)]
    olds = [printed_card(store, nik) for nik in niks]
    replacements = [card_job(store, nik, replacement=True, priority=0) for nik in niks]
    news = [download(store, job) for job in replacements]
    assert {verdict(store, token)["status"] for token in olds + news} == {"valid"}

    counter.commands.clear()
    counter.collections.clear()
    results = store.mark_printed_batch(
        [{"print_job_id": job["_id"], "lease_token": job["lease_token"]}
         for job in replacements], STATION_ID, pickup_rules(40), RULES)
    assert [result["status"] for result in results] == ["printed"] * size
    on_issuances = [name for name, collection in zip(counter.commands, counter.collections)
                    if collection == "issuances"]
    assert on_issuances == ["find", "update"]
    assert all(verdict(store, token) == REPLACED for token in olds)
    assert all(verdict(store, token) == VALID for token in news)


def given_up_while_downloading(store, monkeypatch, job: dict, give_up) -> None:
    """The station downloads under the job's lease, and ``give_up()`` (a
    cancel, a death recorded) runs to its commit between the download's read
    of the job and its insert of the issuance - the moment a real race hits
    (outside review): the download is refused, and nothing of the job is valid."""
    new_issuance = verification.new_issuance

    def meanwhile(*args):
        monkeypatch.setattr(verification, "new_issuance", new_issuance)  # once
        give_up()
        return new_issuance(*args)
    monkeypatch.setattr(verification, "new_issuance", meanwhile)
    with pytest.raises(LeaseLost):  # its transaction conflicted, ran again, saw the job
        download(store, job)
    assert store.db.issuances.count_documents({"print_job_id": job["_id"],
                                               "revoked": False}) == 0


def test_a_download_as_its_job_is_cancelled_leaves_nothing_of_it_valid(store, monkeypatch):
    """The download's transaction inserted an issuance the cancel's could not
    see, and both committed: a valid card of a cancelled job. The download
    writes the job now, so the two conflict."""
    job = card_job(store, random_nik())
    lease_ran_out(store, job, attempts=RULES.max_attempts)  # held: an operator's to cancel
    given_up_while_downloading(store, monkeypatch, job, lambda: store.cancel_held(
        job["_id"], "op-1", RULES, pickup_rules(40)))
    assert store.db.print_jobs.find_one({"_id": job["_id"]})["status"] == "cancelled"
