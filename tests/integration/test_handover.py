"""Hand-over lists against the real database server (``PrintStore`` in-process).

* a jemput-bola manifest of 50 applications, printed concurrently, goes back
  to its kelurahan as one ``batch_ready_for_kelurahan``; its officer records
  the hand-over per citizen (``document_collected``, how = kelurahan), and
  another kelurahan's officer cannot;
* a kecamatan's next-day jobs make one ``kecamatan_handover_ready`` when the
  last of them is printed; its officer records each hand-over only then, from
  their day at the Dinas (``document_collected``, how = kecamatan), another
  kecamatan's officer never;
* a member that will not be printed holds none of the others: a manifest
  goes back without its rejected or withdrawn member (which follows on its
  own if printed after all), a manifest or a kecamatan's list without a job
  an operator gave up;
* a member rejected and verified again before its manifest went is a member
  again, whichever of the two events printing handles first: the manifest
  waits for it and goes back as one;
* an operator's choice of Pos and the last print, in either order or at
  once: printing calls the officer and refuses Pos, or confirms Pos and
  calls nobody - never both;
* a member of a manifest that went by Pos is printed again into its parcel
  (no officer called) until Pos takes the parcel; a reprint not printed by
  then is withdrawn, and none is asked for from then on.
"""

from __future__ import annotations

import datetime
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from services.printing.exceptions import DocumentNotFound, LeaseLost, NotAtOffice, WithPos
from shared.auth import Officer
from shared.clock import today_wib, utcnow
from shared.events import build_event
from shared.offices import DINAS
from tests.helpers import at_once, random_nik
from tests.integration.test_pickup_windows import rules as pickup_rules
from tests.integration.test_stations import queue_jobs, station_rules, store  # noqa: F401

MANIFEST = "JB-3673041010-20250605-ABCDEF"


def officers_day(rules) -> dict:
    """The slot of a list completed today: the Dinas, open hours, next working day."""
    day = rules.calendar.next_working_day(today_wib())
    return {"place": DINAS.name, "address": DINAS.address, "date": day.isoformat(),
            "start": f"{DINAS.opens:02d}:00", "end": f"{DINAS.closes:02d}:00"}


def payloads(store, event_type: str) -> list[dict]:
    return [row["payload"] for row in store.db.outbox.find({"event_type": event_type})]


def print_all(store, count: int) -> None:
    """A Dinas station claims in batches and prints, four at a time."""
    rules = station_rules()
    station = rules.station("dinas-1")

    def print_one(job):
        store.mark_printed(job["_id"], "dinas-1", job["lease_token"], pickup_rules(40), rules)

    printed = 0
    with ThreadPoolExecutor(max_workers=4) as pool:
        while printed < count:
            batch = store.claim(station, rules, 8, manifest=True) or store.claim(station, rules, 8)
            assert batch, "jobs left unclaimed"
            list(pool.map(print_one, batch))
            printed += len(batch)


def test_a_manifest_of_50_comes_back_as_one_handover(store):
    jobs = queue_jobs(store, 50, pickup_place_id="disdukcapil-serang", print_kind="certificate",
                      document_type="akta_kelahiran", delivery_method="pickup",
                      manifest_id=MANIFEST)
    # printing learns the members; half are printed before, half after
    accepted = build_event("batch_accepted", manifest_id=MANIFEST, batch_id="RT03-RW02",
                           kelurahan_code="3673041010",
                           application_ids=[job["application_id"] for job in jobs])
    print_all(store, 0)
    rules = pickup_rules(40)
    assert store.learn_manifest(accepted, rules)["application_ids"] == \
        accepted["application_ids"]
    assert store.learn_manifest(accepted, rules) is None  # redelivered: handled once
    print_all(store, 50)

    [ready] = payloads(store, "batch_ready_for_kelurahan")
    assert (ready["manifest_id"], ready["kelurahan_code"]) == (MANIFEST, "3673041010")
    # its officer collects it at the Dinas, all the next working day
    assert ready["slot"] == officers_day(rules)
    assert [item["application_id"] for item in ready["items"]] == accepted["application_ids"]
    assert all("nik" not in item for item in ready["items"])
    assert payloads(store, "document_ready_for_pickup") == []  # no citizen windows

    sukajaya = Officer("officer-sukajaya", "3673041010")
    elsewhere = Officer("officer-sukalaksana", "3673041011")
    first, day = jobs[0], datetime.date.fromisoformat(ready["day"])
    with pytest.raises(DocumentNotFound):
        store.hand_over(first["tracking_code"], first["nik"], elsewhere, "kelurahan", day)
    with pytest.raises(DocumentNotFound):
        store.hand_over(first["tracking_code"], "3673045207909999", sukajaya, "kelurahan", day)
    with pytest.raises(NotAtOffice):  # the officer has not collected it at the Dinas yet
        store.hand_over(first["tracking_code"], first["nik"], sukajaya, "kelurahan")
    assert store.hand_over(first["tracking_code"], first["nik"], sukajaya, "kelurahan",
                           day)["status"] == "collected"
    store.hand_over(first["tracking_code"], first["nik"], sukajaya, "kelurahan",
                    day)  # again: nothing new
    [collected] = payloads(store, "document_collected")
    assert (collected["how"], collected["collected_by"]) == (
        "kelurahan", "officer-sukajaya@3673041010")


def queue_next_day(store, count: int, code: str) -> None:
    """``count`` of Curug's next-day requests verified now (tracking codes
    ``<code>0``, ``<code>1`` ...)."""
    event = {"document_type": "ktp_el", "full_name": "Rudi Hartono",
             "contact": {"phone": None, "email": None, "language": "id"},
             "delivery_method": "pickup", "delivery_address": None, "verified_by": "op-1",
             "print_kind": "card", "pickup_place_id": "disdukcapil-serang", "next_day": True}
    for n in range(count):
        store.queue_job({**event, "event_id": uuid.uuid4().hex,
                         "nik": f"36730412070{uuid.uuid4().int % 10 ** 5:05d}",
                         "application_id": uuid.uuid4().hex, "tracking_code": f"{code}{n}"})


def test_a_kecamatan_list_is_handed_over_when_its_last_next_day_job_is_printed(store):
    queue_next_day(store, 3, "SDKNEXT")
    rules = station_rules()
    station = rules.station("dinas-1")
    jobs = store.claim(station, rules, 3)
    curug, kasemen = Officer("officer-curug", "367304"), Officer("officer-kasemen", "367302")
    for n, job in enumerate(jobs):
        assert payloads(store, "kecamatan_handover_ready") == []  # not complete yet
        with pytest.raises(NotAtOffice):  # at the Dinas (printed or not)
            store.hand_over(jobs[0]["tracking_code"], jobs[0]["nik"], curug, "kecamatan",
                            datetime.date(2099, 1, 1))
        store.mark_printed(job["_id"], "dinas-1", job["lease_token"], pickup_rules(40), rules)
    [handover] = payloads(store, "kecamatan_handover_ready")
    assert handover["kecamatan_code"] == "367304"
    assert handover["slot"] == officers_day(pickup_rules(40))
    assert handover["day"] == handover["slot"]["date"]
    assert sorted(item["tracking_code"] for item in handover["items"]) == [
        "SDKNEXT0", "SDKNEXT1", "SDKNEXT2"]
    assert payloads(store, "document_ready_for_pickup") == []
    assert handover["at_office_from"] == pickup_rules(40).calendar.next_working_day(
        datetime.date.fromisoformat(handover["day"])).isoformat()

    first, day = jobs[0], datetime.date.fromisoformat(handover["day"])
    with pytest.raises(DocumentNotFound):
        store.hand_over(first["tracking_code"], first["nik"], kasemen, "kecamatan", day)
    with pytest.raises(DocumentNotFound):  # not a jemput-bola document
        store.hand_over(first["tracking_code"], first["nik"],
                        Officer("officer-sukajaya", "3673041010"), "kelurahan", day)
    with pytest.raises(NotAtOffice):  # the day before the officer's at the Dinas
        store.hand_over(first["tracking_code"], first["nik"], curug, "kecamatan",
                        day - datetime.timedelta(days=1))
    assert store.hand_over(first["tracking_code"], first["nik"], curug,
                           "kecamatan", day)["status"] == "collected"
    store.hand_over(first["tracking_code"], first["nik"], curug, "kecamatan", day)  # nothing new
    [collected] = payloads(store, "document_collected")
    assert (collected["how"], collected["collected_by"]) == ("kecamatan", "officer-curug@367304")


def claim_all(store) -> dict[str, dict]:
    """The Dinas station claims every job queued: each by its id."""
    rules = station_rules()
    return {job["_id"]: job for job in store.claim(rules.station("dinas-1"), rules, 8)}


def manifest_jobs(store, count: int) -> list[dict]:
    """``count`` jemput-bola jobs queued at the Dinas, their manifest known
    (its ``batch_accepted``), in the order of its members."""
    jobs = queue_jobs(store, count, pickup_place_id="disdukcapil-serang", print_kind="card",
                      delivery_method="pickup", delivery_address=None, manifest_id=MANIFEST)
    store.learn_manifest(build_event(
        "batch_accepted", manifest_id=MANIFEST, batch_id="RT03-RW02", kelurahan_code="3673041010",
        application_ids=[job["application_id"] for job in jobs]), pickup_rules(40))
    return jobs


def test_a_manifest_goes_back_without_a_member_that_will_not_be_printed_with_it(store):
    """One member printed, one rejected at verification (then withdrawn), one
    whose held print job an operator cancels: the printed one goes back; the
    rejected one, resubmitted and printed after all, follows on its own."""
    printed, rejected, held = manifest_jobs(store, 3)
    rules, stations = pickup_rules(40), station_rules()
    store.db.print_jobs.delete_one({"_id": rejected["_id"]})  # rejected: never verified
    claimed = claim_all(store)
    job = claimed[printed["_id"]]
    store.mark_printed(job["_id"], "dinas-1", job["lease_token"], rules, stations)
    store.manifest_member_dropped(MANIFEST, rejected["application_id"], rules, utcnow())
    store.manifest_member_dropped(MANIFEST, rejected["application_id"], rules,
                                  utcnow())  # cancelled too
    assert payloads(store, "batch_ready_for_kelurahan") == []  # the held one is still to print

    job = claimed[held["_id"]]
    store.mark_failed(job["_id"], "dinas-1", job["lease_token"], "data_error", None, stations)
    store.cancel_held(held["_id"], "operator-1", stations, rules)
    [ready] = payloads(store, "batch_ready_for_kelurahan")
    assert [item["application_id"] for item in ready["items"]] == [printed["application_id"]]
    assert (ready["members"], ready["follow_up"]) == (3, False)  # 2 left out: the e-mail says
    sukajaya = Officer("officer-sukajaya", "3673041010")
    day = datetime.date.fromisoformat(ready["day"])
    assert store.hand_over(printed["tracking_code"], printed["nik"], sukajaya, "kelurahan",
                           day)["status"] == "collected"

    # the rejected member resubmitted, verified and printed after all: a list of its own
    [late] = queue_jobs(store, 1, pickup_place_id="disdukcapil-serang", print_kind="card",
                        delivery_method="pickup", delivery_address=None, manifest_id=MANIFEST,
                        application_id=rejected["application_id"],
                        tracking_code=rejected["tracking_code"])
    job = claim_all(store)[late["_id"]]
    store.mark_printed(job["_id"], "dinas-1", job["lease_token"], rules, stations)
    first, follow_up = payloads(store, "batch_ready_for_kelurahan")
    assert [item["application_id"] for item in follow_up["items"]] == [
        rejected["application_id"]]
    assert follow_up["manifest_id"] == MANIFEST
    assert (first["follow_up"], follow_up["follow_up"]) == (False, True)
    with pytest.raises(NotAtOffice):
        store.hand_over(late["tracking_code"], late["nik"], sukajaya, "kelurahan",
                        datetime.date.fromisoformat(follow_up["day"]) - datetime.timedelta(1))
    assert store.hand_over(late["tracking_code"], late["nik"], sukajaya, "kelurahan",
                           datetime.date.fromisoformat(follow_up["day"]))["status"] == \
        "collected"


def test_a_manifest_counts_the_members_pos_takes_to_the_door_and_names_each_holder(store):
    """Outside audit S1: a member whose citizen asked for Pos to their door
    went uncounted - the officer's e-mail called it rejected or cancelled -
    and each line named the applicant, not whose document it is."""
    at_the_office, to_the_door, kia = manifest_jobs(store, 3)
    store.db.print_jobs.update_one({"_id": to_the_door["_id"]},
                                   {"$set": {"delivery_method": "pos"}})
    store.db.print_jobs.update_one({"_id": kia["_id"]}, {"$set": {
        "document_type": "kia", "full_name": "Ahmad Fauzi", "holder_name": "Aisyah Putri"}})
    rules, stations = pickup_rules(40), station_rules()
    for job in claim_all(store).values():
        store.mark_printed(job["_id"], "dinas-1", job["lease_token"], rules, stations)
    [ready] = payloads(store, "batch_ready_for_kelurahan")
    assert (ready["members"], ready["to_the_door"], len(ready["items"])) == (3, 1, 2)
    assert [(item["application_id"], item["full_name"], item["holder_name"])
            for item in ready["items"]] == [
        (at_the_office["application_id"], "Siti Aminah", "Siti Aminah"),
        (kia["application_id"], "Ahmad Fauzi", "Aisyah Putri")]


def test_a_kecamatan_list_of_requests_verified_after_the_days_list_went_is_a_follow_up(store):
    rules, stations = pickup_rules(40), station_rules()
    for code in ("SDKFIRST", "SDKLATER"):
        queue_next_day(store, 1, code)
        for job in claim_all(store).values():
            store.mark_printed(job["_id"], "dinas-1", job["lease_token"], rules, stations)
    first, later = payloads(store, "kecamatan_handover_ready")
    assert [item["tracking_code"] for item in later["items"]] == ["SDKLATER0"]
    assert (first["follow_up"], later["follow_up"]) == (False, True)


@pytest.mark.parametrize("verified_first", [False, True])
def test_a_member_verified_again_before_its_manifest_went_goes_back_with_it(
        store, verified_first):
    """The auditor's case: ``late`` rejected, resubmitted and verified again;
    then the station prints the three, ``late`` last. One hand-over of all
    three, not the other two with "1 not coming" and ``late`` as a follow-up
    at the same moment. The rejection may reach printing after the
    verification (its queue's own, retried): the same answer."""
    first, late, last = manifest_jobs(store, 3)
    rules, stations = pickup_rules(40), station_rules()
    rejected_at = utcnow() - datetime.timedelta(minutes=5)
    verified_at = rejected_at + datetime.timedelta(minutes=4)
    steps = [lambda: store.manifest_member_dropped(MANIFEST, late["application_id"], rules,
                                                   rejected_at),
             lambda: store.manifest_member_verified(MANIFEST, late["application_id"],
                                                    verified_at)]
    for step in reversed(steps) if verified_first else steps:
        step()
    store.manifest_member_verified(MANIFEST, late["application_id"], verified_at)  # redelivered
    claimed = claim_all(store)
    for job in (first, last):
        store.mark_printed(job["_id"], "dinas-1", claimed[job["_id"]]["lease_token"], rules,
                           stations)
    assert payloads(store, "batch_ready_for_kelurahan") == []  # waits for late
    store.mark_printed(late["_id"], "dinas-1", claimed[late["_id"]]["lease_token"], rules,
                       stations)
    [ready] = payloads(store, "batch_ready_for_kelurahan")
    assert [item["application_id"] for item in ready["items"]] == [
        job["application_id"] for job in (first, late, last)]
    assert (ready["members"], ready["follow_up"]) == (3, False)


def test_a_member_rejected_again_after_its_verification_is_not_waited_for(store):
    """Verified again, then its held print job given up: dropped again, the
    latest news wins; the others go back without it."""
    first, late = manifest_jobs(store, 2)
    rules, stations = pickup_rules(40), station_rules()
    earlier = utcnow() - datetime.timedelta(minutes=5)
    store.manifest_member_dropped(MANIFEST, late["application_id"], rules, earlier)
    store.manifest_member_verified(MANIFEST, late["application_id"],
                                   earlier + datetime.timedelta(minutes=1))
    claimed = claim_all(store)
    store.mark_printed(first["_id"], "dinas-1", claimed[first["_id"]]["lease_token"], rules,
                       stations)
    assert payloads(store, "batch_ready_for_kelurahan") == []  # waits for late
    store.mark_failed(late["_id"], "dinas-1", claimed[late["_id"]]["lease_token"],
                      "data_error", None, stations)
    store.cancel_held(late["_id"], "operator-1", stations, rules)
    [ready] = payloads(store, "batch_ready_for_kelurahan")
    assert [item["application_id"] for item in ready["items"]] == [first["application_id"]]


@pytest.mark.parametrize("order", ["printed_first", "pos_first", "at_once"])
def test_printing_alone_decides_between_the_officer_and_pos(store, order):
    """The last member printed, and courier's ``manifest_sent_by_pos`` (an
    operator chose Pos) - in either order, or at the same moment: exactly
    one outcome. Either the officer is called to the Dinas
    (``batch_ready_for_kelurahan``) and Pos refused, naming the officer's
    day, or Pos confirmed and nobody called."""
    [member] = manifest_jobs(store, 1)
    rules, stations = pickup_rules(40), station_rules()
    job = claim_all(store)[member["_id"]]
    asked = build_event("manifest_sent_by_pos", manifest_id=MANIFEST, kelurahan_code="3673041010")
    steps = {"print": lambda: store.mark_printed(job["_id"], "dinas-1", job["lease_token"], rules,
                                                 stations),
             "pos": lambda: store.answer_pos_choice(asked)}
    if order == "at_once":
        answers = at_once(2, lambda n: steps[("print", "pos")[n]]())
        assert not [a for a in answers if isinstance(a, Exception)], answers
    else:
        for step in ("print", "pos") if order == "printed_first" else ("pos", "print"):
            steps[step]()
    assert store.answer_pos_choice(asked) is None  # redelivered: answered once
    released = payloads(store, "batch_ready_for_kelurahan")
    confirmed = payloads(store, "manifest_pos_confirmed")
    refused = payloads(store, "manifest_pos_refused")
    assert len(released + confirmed) == 1 and len(refused) == len(released)
    if refused:
        assert (refused[0]["reason"], refused[0]["day"]) == ("collected_at_dinas",
                                                             released[0]["day"])
    if order != "at_once":  # whichever came first decides
        assert bool(released) == (order == "printed_first")


def test_a_kecamatan_list_goes_without_a_next_day_job_an_operator_gave_up(store):
    queue_next_day(store, 2, "SDKGIVEUP")
    rules, stations = pickup_rules(40), station_rules()
    first, given_up = store.claim(stations.station("dinas-1"), stations, 2)
    store.mark_printed(first["_id"], "dinas-1", first["lease_token"], rules, stations)
    store.mark_failed(given_up["_id"], "dinas-1", given_up["lease_token"], "data_error", None,
                      stations)
    assert payloads(store, "kecamatan_handover_ready") == []  # the held one may be released
    store.cancel_held(given_up["_id"], "operator-1", stations, rules)
    [handover] = payloads(store, "kecamatan_handover_ready")
    assert [item["tracking_code"] for item in handover["items"]] == [first["tracking_code"]]
    curug = Officer("officer-curug", "367304")
    assert store.hand_over(first["tracking_code"], first["nik"], curug, "kecamatan",
                           datetime.date.fromisoformat(handover["day"]))["status"] == "collected"


def test_a_card_of_a_holder_who_died_cancelled_goes_back_on_no_list(store):
    """Outside audit A: a jemput-bola member printed, its holder's death
    verified, its card cancelled by an operator - then the manifest's last
    member printed: the officer's list named the dead holder's card, and the
    family was told to collect it at the kelurahan office. So for a
    kecamatan's next-day list."""
    from tests.integration.test_holder_deceased import death_verified
    rules, stations = pickup_rules(40), station_rules()
    dead, living = manifest_jobs(store, 2)
    died = random_nik()  # the two of one family, not one person
    store.db.print_jobs.update_one({"_id": dead["_id"]}, {"$set": {"nik": died}})
    claimed = claim_all(store)
    for member in (dead, living):
        if member is living:
            store.queue_job(death_verified(died))
            store.cancel_held(dead["_id"], "operator-1", stations, rules)
            assert payloads(store, "batch_ready_for_kelurahan") == []  # waits for the living
        job = claimed[member["_id"]]
        store.mark_printed(job["_id"], "dinas-1", job["lease_token"], rules, stations)
    [ready] = payloads(store, "batch_ready_for_kelurahan")
    assert [item["application_id"] for item in ready["items"]] == [living["application_id"]]

    queue_next_day(store, 2, "SDKDIED")
    dead, living = store.claim(stations.station("dinas-1"), stations, 2)
    store.mark_printed(dead["_id"], "dinas-1", dead["lease_token"], rules, stations)
    store.queue_job(death_verified(dead["nik"]))
    store.cancel_held(dead["_id"], "operator-1", stations, rules)
    assert payloads(store, "kecamatan_handover_ready") == []
    store.mark_printed(living["_id"], "dinas-1", living["lease_token"], rules, stations)
    [handover] = payloads(store, "kecamatan_handover_ready")
    assert [item["tracking_code"] for item in handover["items"]] == [living["tracking_code"]]


def sent_by_pos(store, count: int) -> list[dict]:
    """A manifest of ``count`` an operator sends by Pos (printing confirmed
    it), every member printed: it went (``ready``), with nobody called."""
    members = manifest_jobs(store, count)
    store.answer_pos_choice(build_event("manifest_sent_by_pos", manifest_id=MANIFEST,
                                        kelurahan_code="3673041010"))
    claimed = claim_all(store)
    for job in members:
        store.mark_printed(job["_id"], "dinas-1", claimed[job["_id"]]["lease_token"],
                           pickup_rules(40), station_rules())
    assert store.db.manifests.find_one({"_id": MANIFEST})["ready"]
    return members


def printed_ids(store) -> list[str]:
    return sorted(store.db.manifests.find_one({"_id": MANIFEST})["printed_ids"])


def test_a_member_of_a_manifest_sent_by_pos_is_printed_again_into_its_parcel(store):
    """The earlier leftover "a member of a manifest going by Pos cannot be
    printed again" (409 ``with_pos`` while the parcel still waited at the
    Dinas): re-queued, its reprint goes in the parcel - no follow-up calls
    the officer to the Dinas for it; once Pos took the parcel, refused."""
    first, second = sent_by_pos(store, 2)
    rules, stations = pickup_rules(40), station_rules()
    store.reprint(first["_id"], "operator-1", stations)
    assert printed_ids(store) == [second["application_id"]]  # the manifest waits for it
    again = claim_all(store)[first["_id"]]
    store.mark_printed(first["_id"], "dinas-1", again["lease_token"], rules, stations)
    assert payloads(store, "batch_ready_for_kelurahan") == []  # nobody called: in the parcel
    assert printed_ids(store) == sorted([first["application_id"], second["application_id"]])
    assert store.db.manifests.find_one({"_id": MANIFEST})["items"] == []
    taken = utcnow().replace(microsecond=0) + datetime.timedelta(seconds=1)  # after the prints
    for member in (first, second, first):  # one event per member, one redelivered
        assert store.manifest_picked_up_by_pos(MANIFEST, member["application_id"], taken) is None
    assert store.db.manifests.find_one({"_id": MANIFEST})["pos_picked_up_at"] == taken
    with pytest.raises(WithPos):
        store.reprint(second["_id"], "operator-1", stations)
    reprinted = store.db.print_jobs.find_one({"_id": first["_id"]})
    assert reprinted["printed_at"] > reprinted["printed_before"]  # printed before Pos took it
    assert "reprint_withdrawn_at" not in reprinted


def test_a_member_s_reprint_pos_took_the_parcel_before_is_withdrawn(store):
    """Pos' courier took the manifest's parcel before a member's reprint was
    printed (or Pos' news came late): the parcel carries its print before -
    the job is that print's again, a station printing the reprint loses its
    lease, the manifest counts it printed; an earlier pickup time wins."""
    first, second = sent_by_pos(store, 2)
    stations = station_rules()
    printed_before = store.db.print_jobs.find_one({"_id": second["_id"]})["printed_at"]
    store.reprint(second["_id"], "operator-1", stations)
    lease = claim_all(store)[second["_id"]]
    taken = utcnow().replace(microsecond=0) + datetime.timedelta(seconds=1)  # after the print
    assert store.manifest_picked_up_by_pos(MANIFEST, first["application_id"], taken) is None
    withdrawn = store.manifest_picked_up_by_pos(MANIFEST, second["application_id"],
                                                taken + datetime.timedelta(seconds=5))
    assert (withdrawn["_id"], withdrawn["status"], withdrawn["lease_token"]) == (
        second["_id"], "printed", None)
    job = store.db.print_jobs.find_one({"_id": second["_id"]})
    assert (job["printed_at"], job["reprint_withdrawn_at"]) == (printed_before, taken)
    assert printed_ids(store) == sorted([first["application_id"], second["application_id"]])
    assert store.manifest_picked_up_by_pos(MANIFEST, second["application_id"], taken) is None
    with pytest.raises(LeaseLost):
        store.mark_printed(second["_id"], "dinas-1", lease["lease_token"], pickup_rules(40),
                           stations)
    assert payloads(store, "batch_ready_for_kelurahan") == []
