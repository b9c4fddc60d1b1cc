"""How often an application's tracking code is re-sent is counted on the
application itself, against the real database server - not only per intake
process (outside scaling audit: two intake instances behind a load balancer
sent a citizen's phone 6 SMS in an hour instead of ``RESEND_PER_NIK``'s 3).

* six re-send requests at once, through two stores with clients of their own
  (as two intake instances): the code goes out three times;
* an hour later it may go out again; a request past the count still answers
  the same (the caller is never told), and emits nothing.
"""

from __future__ import annotations

import datetime

import pytest
from pymongo import MongoClient

from services.intake.store import ApplicationStore
from services.intake.submission import submit_application
from services.intake.schemas import ApplicationRequestSchema
from shared.clock import utcnow
from shared.outbox import PENDING
from tests.helpers import NoRelay, at_once, store_on_a_database_of_its_own, valid_body
from tests.unit.test_batches import SCREENING

RESENT = "tracking_code_resend_requested"
HOUR = datetime.timedelta(hours=1)


@pytest.fixture
def stores(backing):
    """Two stores on one fresh database, each with a client of its own."""
    for first in store_on_a_database_of_its_own(backing, ApplicationStore, "intake_resends"):
        ApplicationStore.ensure_indexes(first.db)
        client = MongoClient(backing.mongo_uri, tz_aware=True)
        try:
            yield first, ApplicationStore(client[first.db.name], client, NoRelay())
        finally:
            client.close()


def resends_emitted(store) -> int:
    """The re-send events written: each carried by its application (no relay
    here takes them)."""
    return sum(row["event_type"] == RESENT
               for application in store.db.applications.find({}, {PENDING: 1})
               for row in application.get(PENDING, ()))


def test_six_requests_through_two_instances_send_the_code_three_times(stores):
    body = valid_body()
    submit_application(stores[0], SCREENING, ApplicationRequestSchema().load(body), None)
    nik = body["applicant"]["nik"]

    answers = at_once(6, lambda n: stores[n % 2].request_resend(nik, "ktp_el", sends=3,
                                                                window=HOUR))

    assert not [answer for answer in answers if isinstance(answer, Exception)], answers
    assert sorted(answers) == [0, 0, 0, 1, 1, 1]
    assert resends_emitted(stores[0]) == 3


def test_the_count_is_of_the_window_past_it_the_code_goes_out_again(stores):
    body = valid_body()
    submit_application(stores[0], SCREENING, ApplicationRequestSchema().load(body), None)
    nik, now = body["applicant"]["nik"], utcnow()
    for _ in range(3):
        assert stores[0].request_resend(nik, "ktp_el", sends=3, window=HOUR, now=now) == 1
    assert stores[1].request_resend(nik, "ktp_el", sends=3, window=HOUR, now=now) == 0
    assert resends_emitted(stores[0]) == 3

    later = now + HOUR + datetime.timedelta(seconds=1)
    assert stores[1].request_resend(nik, "ktp_el", sends=3, window=HOUR, now=later) == 1
    assert resends_emitted(stores[0]) == 4
    # only the window's sends are kept on the application
    [application] = stores[0].db.applications.find({"applicant.nik": nik})
    assert len(application["resent_at"]) == 1
