"""A death recorded here stops what printing holds of the deceased, against
the real database server (``IssuingPrintStore`` in-process; docs/verification.md,
"A holder's death", and docs/station-api.md, "Operators: held jobs"):

* an Akta Kematian's ``application_verified`` revokes the deceased's cards
  still valid (reason ``deceased``) and holds every job of theirs not
  printed yet - queued, on lease, held - for an operator
  (``holder_deceased``): none is claimable, a station printing one loses
  its lease; in the transaction that queues the certificate, once;
* their document waiting at the counter is not handed over (409
  ``holder_deceased``); a job of theirs queued after (an event late) is
  held at once; nobody else's card or job is touched;
* a card of their own Pos parcel re-queued for a reprint, which Pos takes
  after all (the reprint withdrawn), answers ``deceased``, never ``valid``
  (and one reported lost ``reported_lost``); a download at the moment of
  the death is never valid.
"""

from __future__ import annotations

import datetime
import uuid

import pytest

from services.printing.exceptions import HolderDeceased, LeaseLost
from shared.events import build_event
from tests.helpers import at_once, random_nik
from shared.clock import utcnow
from tests.integration.test_issuances import (REPLACED, RULES, STATION_ID, VALID, card_job,
                                              claimed, counted, download,
                                              given_up_while_downloading, printed_card, store,
                                              verdict)
from tests.integration.test_pickup_windows import rules as pickup_rules
from tests.integration.test_stations import queue_jobs

__all__ = ["counted", "store"]  # the fixtures, shared with test_issuances

DECEASED = {"status": "revoked", "reason": "deceased"}
HELD = ("held", "holder_deceased")
MILLISECOND = datetime.timedelta(milliseconds=1)


def verified(document_type: str, nik: str, **fields) -> dict:
    """An ``application_verified`` as intake sends it."""
    return build_event(
        "application_verified", application_id=uuid.uuid4().hex,
        tracking_code=f"SDK{uuid.uuid4().hex[:8].upper()}", document_type=document_type,
        nik=nik, full_name="Wati Susanti",
        contact={"phone": "+6281234567890", "email": None, "language": "id"},
        delivery_method="pickup", delivery_address=None, verified_by="op-1",
        pickup_place_id="disdukcapil-serang", **fields)


def death_verified(deceased: str) -> dict:
    return verified("akta_kematian", random_nik(female=True), print_kind="certificate",
                    holder_name="Hendra Gunawan", holder_nik=None, document_details={
                        "deceased_nik": deceased, "date_of_death": "2026-11-25",
                        "place_of_death": "RSUD Kota Serang", "reporter_relation": "istri"})


def held_events(store) -> list[tuple]:
    """The ``print_job_held`` events printing emitted, oldest first: (application, reason)."""
    return [(row["payload"]["application_id"], row["payload"]["reason"])
            for row in store.db.outbox.find({"event_type": "print_job_held"}).sort("created_at", 1)]


def state(store, job: dict) -> tuple:
    found = store.db.print_jobs.find_one({"_id": job["_id"]})
    return found["status"], found.get("last_failure")


def test_a_verified_death_revokes_the_deceased_cards_and_holds_their_jobs_once(store):
    hendra, child, parent = random_nik(), random_nik(year=2020), random_nik()
    # a card printed for Hendra, its replacement printed and waiting at the counter
    first = printed_card(store, hendra)
    at_counter = card_job(store, hendra, replacement=True, priority=0,
                          delivery_method="pickup")
    waiting = download(store, at_counter)
    store.mark_printed(at_counter["_id"], STATION_ID, at_counter["lease_token"],
                       pickup_rules(40), RULES)
    # his child's KIA (the parent applies) on a station's lease, downloaded
    [kia] = queue_jobs(store, 1, nik=parent, holder_nik=child, document_type="kia",
                       print_kind="card", pickup_place_id="disdukcapil-serang")
    kia = claimed(store, kia["_id"])
    being_printed = download(store, kia)
    someone_else = printed_card(store, random_nik())
    # another replacement of his, queued (claimed by nobody yet)
    [queued] = queue_jobs(store, 1, nik=hendra, print_kind="card",
                          pickup_place_id="disdukcapil-serang")
    assert verdict(store, waiting) == VALID and verdict(store, being_printed) == VALID

    death = store.queue_job(death_verified(hendra))
    assert death["status"] == "queued"  # the certificate itself prints
    assert verdict(store, waiting) == DECEASED
    assert verdict(store, first) == {"status": "revoked", "reason": "replaced"}
    assert verdict(store, being_printed) == VALID  # the child is alive
    assert verdict(store, someone_else) == VALID
    assert state(store, queued) == HELD and state(store, kia) == ("leased", None)
    # intake hears of the hold (the citizen reads print_held, not print_queued)
    assert held_events(store) == [(queued["application_id"], "holder_deceased")]
    # listed for an operator: the queued one held, and the printed one
    # waiting at the counter (handed over to nobody: cancel it), in queue order
    assert [(job["_id"], job["status"]) for job in store.held_jobs(RULES)] == [
        (at_counter["_id"], "printed"), (queued["_id"], "held")]
    assert queued["_id"] not in {job["_id"] for job in store.claim(
        RULES.station(STATION_ID), RULES, 100)}
    with pytest.raises(HolderDeceased) as refused:
        store.collect(at_counter["tracking_code"], hendra, "op-1", "counter")
    assert refused.value.code == "holder_deceased"
    assert store.db.print_jobs.find_one({"_id": at_counter["_id"]})["status"] == "printed"

    # delivered again: nothing twice
    revoked = store.db.issuances.find_one({"token": waiting})
    assert store.queue_job({**death_verified(hendra), "application_id": death["application_id"],
                            "tracking_code": death["tracking_code"]}) is None
    assert store.db.issuances.find_one({"token": waiting}) == revoked
    assert store.db.print_jobs.count_documents({"document_type": "akta_kematian"}) == 1
    assert len(held_events(store)) == 1

    # the child dies too: the KIA on lease is held, its download revoked, the
    # station's report refused
    store.queue_job(death_verified(child))
    assert state(store, kia) == HELD and verdict(store, being_printed) == DECEASED
    assert held_events(store)[1:] == [(kia["application_id"], "holder_deceased")]
    with pytest.raises(LeaseLost):
        store.mark_printed(kia["_id"], STATION_ID, kia["lease_token"], pickup_rules(40), RULES)


def test_a_job_of_the_deceased_queued_after_the_death_is_held(store):
    hendra = random_nik()
    store.queue_job(death_verified(hendra))
    late = store.queue_job(verified("ktp_el", hendra, print_kind="card", holder_nik=hendra))
    assert (late["status"], late["last_failure"]) == HELD
    assert held_events(store) == [(late["application_id"], "holder_deceased")]
    others = store.queue_job(verified("ktp_el", random_nik(), print_kind="card"))
    assert others["status"] == "queued"
    assert claimed(store, others["_id"])["status"] == "leased"


def test_what_the_deceased_applied_for_others_is_still_printed_and_handed_over(store):
    """A father applied for his newborn's birth certificate and her KIA, then
    died: both are the family's - printed, handed over; only his own card
    is held."""
    hendra, daughter = random_nik(), random_nik(year=2020)
    [birth] = queue_jobs(store, 1, nik=hendra, holder_nik=None, document_type="akta_kelahiran",
                         print_kind="certificate", pickup_place_id="disdukcapil-serang")
    [kia] = queue_jobs(store, 1, nik=hendra, holder_nik=daughter, document_type="kia",
                       print_kind="card", pickup_place_id="disdukcapil-serang",
                       delivery_method="pickup", delivery_address=None)
    [own] = queue_jobs(store, 1, nik=hendra, holder_nik=hendra, print_kind="card",
                       pickup_place_id="disdukcapil-serang")
    store.queue_job(death_verified(hendra))
    assert (state(store, birth), state(store, kia), state(store, own)) == (
        ("queued", None), ("queued", None), HELD)
    kia = claimed(store, kia["_id"])
    store.mark_printed(kia["_id"], STATION_ID, kia["lease_token"], pickup_rules(40), RULES)
    assert store.collect(kia["tracking_code"], hendra, "op-1", "counter")["status"] == "collected"


def test_a_printed_card_of_a_holder_who_died_since_is_cancelled_by_an_operator(store):
    """Outside audit T1: the counter refused a printed card whose holder died
    since ("refer to a Dinas operator"), but the operator's cancel answered
    409 not_held - the application stayed ready for pickup, and its citizen
    could still move the window (an SMS for a card nobody may collect). Its
    job is given up now, its seat freed; a living holder's printed card is
    not an operator's to cancel."""
    from shared.clock import today_wib, utcnow
    from services.printing.exceptions import NotHeld
    hendra = random_nik()
    job = card_job(store, hendra, delivery_method="pickup")
    printed = store.mark_printed(job["_id"], STATION_ID, job["lease_token"], pickup_rules(40),
                                 RULES)
    seat = printed["slot"]["key"]
    alive = card_job(store, random_nik(), delivery_method="pickup")
    store.mark_printed(alive["_id"], STATION_ID, alive["lease_token"], pickup_rules(40), RULES)
    store.queue_job(death_verified(hendra))

    with pytest.raises(HolderDeceased):  # no window offered for it
        store.open_windows(job["tracking_code"], hendra, pickup_rules(40), today_wib(utcnow()))
    with pytest.raises(NotHeld):
        store.cancel_held(alive["_id"], "op-1", RULES, pickup_rules(40))
    seats = store.db.pickup_windows.find_one({"_id": seat})["count"]
    cancelled = store.cancel_held(job["_id"], "op-1", RULES, pickup_rules(40))
    assert cancelled["status"] == "cancelled"
    [event] = store.db.outbox.find({"event_type": "print_job_cancelled"})
    assert (event["payload"]["application_id"], event["payload"]["reason"]) == (
        job["application_id"], "holder_deceased")
    assert store.db.pickup_windows.find_one({"_id": seat})["count"] == seats - 1


@pytest.mark.parametrize("death_first", [True, False])
def test_a_pos_card_back_at_the_counter_of_a_holder_who_died_is_listed(store, death_first):
    """Outside audit A3: a card Pos brought back after its holder died -
    whichever printing heard of first, the return or the death - is handed
    over to nobody and listed for an operator; no window, no "ready"."""
    nik = random_nik()
    job = card_job(store, nik, delivery_method="pos")
    store.mark_printed(job["_id"], STATION_ID, job["lease_token"], pickup_rules(40), RULES)
    returned = build_event("parcel_returned", application_id=job["application_id"],
                           tracking_code=job["tracking_code"], shipment_id="s1",
                           document_type=job["document_type"],
                           barcode="P1", reason="Kembali ke pengirim")
    if death_first:
        store.queue_job(death_verified(nik))
        assert [j["_id"] for j in store.held_jobs(RULES)] == []  # with Pos
        store.parcel_returned(returned, pickup_rules(40))
        assert store.db.print_jobs.find_one({"_id": job["_id"]}).get("slot") is None
    else:
        store.parcel_returned(returned, pickup_rules(40))
        store.queue_job(death_verified(nik))
    assert [(j["_id"], j["status"]) for j in store.held_jobs(RULES)] == [
        (job["_id"], "printed")]


def test_a_return_and_the_holder_s_death_at_the_same_moment_still_list_the_card(store):
    """The two transactions read what the other writes (the return the
    deceased, the death the card): each writes the card, so they conflict
    and one runs after the other - the card is listed every time."""
    for _ in range(6):
        nik = random_nik()
        job = card_job(store, nik, delivery_method="pos")
        store.mark_printed(job["_id"], STATION_ID, job["lease_token"], pickup_rules(40), RULES)
        returned = build_event("parcel_returned", application_id=job["application_id"],
                               tracking_code=job["tracking_code"], shipment_id="s1",
                               document_type=job["document_type"], barcode="P1",
                               reason="Kembali ke pengirim")
        at_once(2, lambda n: store.parcel_returned(returned, pickup_rules(40)) if n == 0
                else store.queue_job(death_verified(nik)))
        assert job["_id"] in {j["_id"] for j in store.held_jobs(RULES)}


@pytest.mark.parametrize("gone", ["deceased", "reported_lost"])
@pytest.mark.parametrize("reprint_printed", [False, True])
def test_a_reprint_withdrawn_never_makes_a_card_of_a_holder_gone_valid(store, gone,
                                                                      reprint_printed):
    """Outside review: a KTP-el printed for its citizen's own Pos parcel, Pos
    not there yet; an operator re-queues it (revoked ``replaced``); the
    holder's death is recorded - or a replacement for it as lost verified -
    which left that card ``replaced``; Pos takes the parcel before the
    reprint is printed: the reprint is withdrawn, and the card Pos carries
    answered ``valid`` again. It answers ``deceased`` (``reported_lost``),
    and a job held for the death stays so."""
    nik = random_nik()
    job = card_job(store, nik, delivery_method="pos")
    card = download(store, job)
    store.mark_printed(job["_id"], STATION_ID, job["lease_token"], pickup_rules(40), RULES)
    store.reprint(job["_id"], "op-1", RULES)
    assert verdict(store, card) == REPLACED
    taken = utcnow()  # Pos' courier takes the parcel; its news comes late
    if reprint_printed:  # just after Pos took the parcel
        again = claimed(store, job["_id"])
        reprint = download(store, again)
        taken = store.mark_printed(job["_id"], STATION_ID, again["lease_token"],
                                   pickup_rules(40), RULES)["printed_at"] - MILLISECOND
    if gone == "deceased":
        store.queue_job(death_verified(nik))
    else:
        store.queue_job(verified("ktp_el", nik, print_kind="card", holder_nik=nik,
                                 replacement=True, replacement_reason="lost"))
    assert verdict(store, card) == REPLACED  # revoked already: keeps its reason
    held = gone == "deceased" and not reprint_printed
    assert state(store, job) == (HELD if held else (
        "printed" if reprint_printed else "queued", None))

    assert store.picked_up_by_pos(job["application_id"], taken)[1]  # withdrawn
    gone_verdict = {"status": "revoked", "reason": gone}
    assert verdict(store, card) == gone_verdict
    if reprint_printed:
        assert verdict(store, reprint) == gone_verdict
    assert state(store, job) == ("printed", "holder_deceased" if held else None)


def test_a_download_as_its_holder_s_death_is_recorded_is_never_valid(store, monkeypatch):
    """The death's transaction revoked the downloads it could see, not the
    one a station's download was inserting: both committed, and the dead
    person's card being printed answered ``valid``."""
    nik = random_nik()
    job = card_job(store, nik)
    given_up_while_downloading(store, monkeypatch, job,
                               lambda: store.queue_job(death_verified(nik)))
    assert state(store, job) == HELD
