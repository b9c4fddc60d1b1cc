"""Who did what to a print, as the operator's detail shows it, through the
real stack: a station fails a card with a data error (held), an operator
releases it, it is printed, an operator re-queues it for a reprint. Each
print step shows its job (``print_job_id``: the job printing's
release/reprint/cancel take), the station and reason of the hold, and the
operator of the release and the reprint (``by``). Outside review: they
read ``print_held {}``, ``print_queued {}`` - a reprint as the first
queueing. A cancel names its operator too (``by``: it named nobody), and
printing's history keeps the reason the operator gave. The citizen's status
view shows none of it."""

from __future__ import annotations

import requests

from tests.e2e.test_office_handovers import lookup
from tests.e2e.test_print_cancelled import held_job
from tests.e2e.test_printed_document import report_printed
from tests.e2e.test_reprint import reprint
from tests.helpers import OPERATOR, claim_job_for, eventually, random_mobile, random_nik

OPERATOR_ID = "operator-test"  # OPERATOR's token, at intake and printing
OPERATORS_ONLY = {"by", "print_reason", "station_id", "print_job_id"}


def operator_steps(system, application_id: str) -> list[dict]:
    detail = requests.get(f"{system.url('intake')}/api/v1/operator/applications/"
                          f"{application_id}", headers=OPERATOR, timeout=10)
    assert detail.status_code == 200, detail.text
    return [step for step in detail.json()["timeline"]
            if step["status"] not in ("notified", "notification_failed")]


def steps_until(system, application_id: str, count: int, status: str) -> list[dict]:
    """The operator's steps once there are ``count`` of ``status``."""
    def enough():
        steps = operator_steps(system, application_id)
        return steps if sum(step["status"] == status for step in steps) >= count else None
    return eventually(enough, what=f"{count} {status} step(s) on the operator's detail")


def test_the_operator_sees_who_released_and_reprinted_a_print_and_why_it_was_held(system):
    printing, nik = system.url("printing"), random_nik()
    application_id, code, job = held_job(system, nik, random_mobile())
    job_id = job["print_job_id"]
    steps_until(system, application_id, 1, "print_held")
    released = requests.post(f"{printing}/api/v1/operator/print-jobs/{job_id}/release",
                             headers=OPERATOR, timeout=10)
    assert released.status_code == 200, released.text
    steps_until(system, application_id, 2, "print_queued")
    report_printed(system, claim_job_for(printing, application_id))
    steps_until(system, application_id, 1, "ready_for_pickup")
    assert reprint(system, job_id).status_code == 200
    steps = steps_until(system, application_id, 3, "print_queued")

    def details(status: str) -> list[dict]:
        return [step["detail"] for step in steps if step["status"] == status]
    [held] = details("print_held")
    assert held["print_job_id"] == job_id and held["print_reason"] == "data_error"
    assert held["station_id"]  # the station that reported it
    queued, released_step, reprinted = details("print_queued")
    assert queued == {"print_job_id": job_id}  # printing's first queueing: nobody acted
    assert released_step == {"print_job_id": job_id, "by": OPERATOR_ID}
    assert reprinted == {"print_job_id": job_id, "by": OPERATOR_ID}
    [printed] = details("printed")
    assert printed == {"print_job_id": job_id, "station_id": held["station_id"]}

    # the citizen reads the same steps, without who, why, where or which job
    citizens = lookup(system, code, nik)
    assert [step["status"] for step in citizens["timeline"]
            if step["status"] not in ("notified", "notification_failed")] == \
        [step["status"] for step in steps]
    for step in citizens["timeline"]:
        assert not OPERATORS_ONLY & set(step["detail"]), step
    text = str(citizens)
    assert "data_error" not in text and OPERATOR_ID not in text and job_id not in text


def test_the_operator_sees_who_cancelled_a_print_and_printing_why(system):
    printing, nik = system.url("printing"), random_nik()
    application_id, code, job = held_job(system, nik, random_mobile())
    job_id, said = job["print_job_id"], "Data KK salah, perbaiki di SIAK dulu"
    cancelled = requests.post(f"{printing}/api/v1/operator/print-jobs/{job_id}/cancel",
                              json={"reason": said}, headers=OPERATOR, timeout=10)
    assert cancelled.status_code == 200, cancelled.text
    [step] = [step["detail"] for step in steps_until(system, application_id, 1,
                                                     "print_cancelled")
              if step["status"] == "print_cancelled"]
    assert step == {"print_job_id": job_id, "print_reason": "data_error", "by": OPERATOR_ID}
    history = requests.get(f"{printing}/api/v1/operator/print-jobs/{job_id}",
                           headers=OPERATOR, timeout=10).json()["actions"]
    assert (history[-1]["action"], history[-1]["by"], history[-1]["operator_reason"]) == (
        "cancelled", OPERATOR_ID, said)
    citizens = lookup(system, code, nik)
    assert not any(OPERATORS_ONLY & set(step["detail"]) for step in citizens["timeline"])
    assert OPERATOR_ID not in str(citizens) and said not in str(citizens)
