"""One active SKPWNI per moving person, against the real database server
(outside audit i6: Joko moved [Joko, Lina] to Jakarta while Lina moved
[Lina, Joko] to Bandung, both verified). Each member is a subject of its
own in the one-active index, so two submissions at once cannot both win,
and every way into the slot - a submission, an operator's verify, a
citizen's resubmission - names the first member another holds."""

from __future__ import annotations

import pytest

from services.intake import domain
from services.intake.exceptions import ActiveApplicationExists
from services.intake.request_fields import request_of
from services.intake.schemas import ApplicationRequestSchema
from services.intake.store import ApplicationStore
from services.intake.submission import submit_application
from shared.clock import today_wib
from tests.document_bodies import skpwni_keluar_body
from tests.helpers import at_once, random_kk, random_nik, store_on_a_database_of_its_own
from tests.unit.test_batches import SCREENING

JAKARTA, BANDUNG = "3171011001", "3273011001"


@pytest.fixture
def store(backing):
    for store in store_on_a_database_of_its_own(backing, ApplicationStore, "intake_moves"):
        ApplicationStore.ensure_indexes(store.db)
        yield store


def moving(applicant: str, members: list[str], destination: str, kk: str) -> dict:
    return ApplicationRequestSchema().load(
        skpwni_keluar_body(destination, nik=applicant, kk=kk, members=members))


def submitted(store, request: dict) -> dict:
    return submit_application(store, SCREENING, request, None)


def refused_field(attempt) -> str:
    with pytest.raises(ActiveApplicationExists) as refused:
        attempt()
    [field] = refused.value.fields
    return field


def test_two_relatives_moving_the_same_people_at_once_exactly_one_wins(store):
    for _ in range(5):
        joko, lina, kk = random_nik(), random_nik(female=True), random_kk()
        requests = [moving(joko, [joko, lina], JAKARTA, kk),
                    moving(lina, [lina, joko], BANDUNG, kk)]

        answers = at_once(2, lambda n: submitted(store, requests[n]))

        [won] = [answer for answer in answers if isinstance(answer, dict)]
        [lost] = [answer for answer in answers if isinstance(answer, ActiveApplicationExists)]
        [field] = lost.fields
        loser = requests[answers.index(lost)]["details"]["members"]
        assert field == "details.members.0"  # both its members are held: the first named
        assert loser[0] in won["details"]["members"]
        assert store.db.applications.count_documents({"subject_key": f"nik:{joko}"}) == 1


def test_the_second_names_the_first_member_another_moves_others_may_move(store):
    joko, lina, kk = random_nik(), random_nik(female=True), random_kk()
    son, daughter = random_nik(), random_nik(female=True)
    submitted(store, moving(joko, [joko, lina], JAKARTA, kk))
    assert refused_field(lambda: submitted(store, moving(lina, [son, lina, joko], BANDUNG, kk))) \
        == "details.members.1"
    # the applicant is no subject: Joko moves his children elsewhere, each once
    submitted(store, moving(joko, [son], BANDUNG, kk))
    submitted(store, moving(joko, [daughter], BANDUNG, kk))
    assert refused_field(lambda: submitted(store, moving(lina, [daughter], JAKARTA, kk))) == \
        "details.members.0"


def test_a_verify_or_a_resubmission_into_a_held_slot_names_the_member(store):
    """An application holding no slot (accepted without asking the register,
    ``register_withheld``) takes it at verify; a rejected one, when
    resubmitted: each refused 409 naming the member another moves by then."""
    joko, lina, kk = random_nik(), random_nik(female=True), random_kk()
    request = moving(joko, [joko, lina], JAKARTA, kk)
    checked = SCREENING.check(request, today_wib())
    withheld = store.submit(domain.new_application(request, checked.details, None, {
        **checked.stored(), "flags": ["register_withheld"]}))
    rejected = submitted(store, moving(lina, [lina], BANDUNG, kk))
    store.reject(rejected["_id"], "operator-test", ["kk_unreadable"], None)
    submitted(store, moving(random_nik(), [lina, random_nik()], JAKARTA, kk))

    assert refused_field(lambda: store.verify(withheld["_id"], "operator-test")) == \
        "details.members.1"
    found = store.get(rejected["_id"])
    assert refused_field(lambda: store.resubmit(found, lambda current: domain.resubmit(
        current, request_of(current), current["details"]))) == "details.members.0"


def test_an_earlier_versions_skpwnis_are_about_their_members_after_a_start(backing):
    """Stored when an SKPWNI's subject was its applicant: a start makes its
    members its subjects. Two in progress that move the same people (the
    audit's) cannot both: they keep their applicants' (the start goes on)."""
    joko, lina, budi = random_nik(), random_nik(female=True), random_nik()
    old = [("active", joko, [joko, lina]), ("active", lina, [lina, joko]),
           ("active", budi, [budi]), ("old-3", budi, [budi, lina])]  # the last one finished
    for store in store_on_a_database_of_its_own(backing, ApplicationStore, "intake_old_moves"):
        for n, (slot, applicant, members) in enumerate(old):
            store.db.applications.insert_one({
                "_id": f"old-{n}", "tracking_code": f"SDKOLD000{n}", "document_type": "skpwni",
                "applicant": {"nik": applicant}, "details": {"members": members},
                "subject_key": f"nik:{applicant}", "active": slot == "active",
                "active_slot": slot})
        ApplicationStore.ensure_indexes(store.db)
        assert [row["subject_key"] for row in store.db.applications.find().sort("_id")] == [
            f"nik:{joko}", f"nik:{lina}", [f"nik:{budi}"], [f"nik:{budi}", f"nik:{lina}"]]
