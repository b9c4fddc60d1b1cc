"""Print jobs and their leases. Plain Python: no nameko, no pymongo.

A job moves queued -> leased -> printed. A station that cannot print sends it
back to queued, for any station. A lease is a claim on the queue, not a
deadline for the report: when it runs out, another station may take the job
over, and the new lease token is what shuts the old holder out.

The store loads a job, asks these functions what follows, and writes the
answer (the job's changed fields and the events they cause) in one
transaction.
"""

from __future__ import annotations

import datetime
import secrets
import uuid
from dataclasses import dataclass
from typing import Callable

from shared.clock import today_wib

from .exceptions import JobNotFound, LeaseLost


@dataclass(frozen=True)
class Event:
    """A fact to emit together with the change that caused it."""

    type: str
    payload: dict


Decision = tuple[dict, list[Event]]  # (fields of the job to set, events to emit)


def job_ref(job: dict) -> dict:
    """What every printing event says about its job."""
    return {"application_id": job["application_id"], "tracking_code": job["tracking_code"],
            "document_type": job["document_type"], "print_job_id": job["_id"]}


def new_job(event: dict, now: datetime.datetime) -> tuple[dict, list[Event]]:
    """The print job for a verified application (an ``application_verified`` event)."""
    job = {
        "_id": uuid.uuid4().hex,
        "application_id": event["application_id"],
        "tracking_code": event["tracking_code"],
        "document_type": event["document_type"],
        "nik": event["nik"],
        "full_name": event["full_name"],
        "contact": event["contact"],
        "delivery_method": event["delivery_method"],
        "delivery_address": event["delivery_address"],
        "status": "queued",
        "attempts": 0,
        "queued_at": now,
        "lease_until": None,
    }
    return job, [Event("print_job_queued", job_ref(job))]


def is_claimable(job: dict, now: datetime.datetime) -> bool:
    """Waiting in the queue, or leased to a station that went quiet past its lease."""
    return job["status"] == "queued" or (
        job["status"] == "leased" and job["lease_until"] is not None and job["lease_until"] < now)


def new_lease(station_id: str, now: datetime.datetime, lease: datetime.timedelta) -> dict:
    """The fields a claim sets. Each claim also counts one more attempt."""
    return {"status": "leased", "station_id": station_id,
            "lease_token": secrets.token_urlsafe(16), "lease_until": now + lease}


def check_report(job: dict | None, station_id: str, lease_token: str) -> dict:
    """The job a station reports on, if that station still holds its lease.

    The clock is not consulted: a report after ``lease_until`` with nobody
    else holding the job is still the truth about the card. Only a takeover
    (a new token) or a requeue (no token) refuses it.
    """
    if job is None:
        raise JobNotFound()
    if job.get("station_id") != station_id or job.get("lease_token") != lease_token:
        raise LeaseLost()
    return job


def print_outcome(job: dict, now: datetime.datetime,
                  reserve_slot: Callable[[datetime.date], dict]) -> Decision:
    """A station printed the document: what changes and who hears of it.

    ``reserve_slot(printed_on)`` books a pickup window from the day after
    ``printed_on`` (a WIB date) and returns the slot; it is called only for
    documents collected at the counter. A repeated report changes nothing,
    so the station is answered with the slot it already has.
    """
    if job["status"] == "printed":
        return {}, []
    update = {"status": "printed", "printed_at": now, "lease_until": None}
    events = [Event("document_printed", {"station_id": job["station_id"], **job_ref(job)})]
    if job["delivery_method"] == "pickup":
        update["slot"] = reserve_slot(today_wib(now))
        events.append(Event("document_ready_for_pickup", {
            "full_name": job["full_name"], "contact": job["contact"], "slot": update["slot"],
            **job_ref(job)}))
    return update, events


def requeue_after_failure(job: dict, reason: str) -> Decision:
    """A station could not print: back to the queue for any station.

    Only a leased job can fail; a printed one stays printed.
    """
    if job["status"] != "leased":
        raise LeaseLost()
    update = {"status": "queued", "lease_until": None, "lease_token": None,
              "last_failure": reason}
    return update, [Event("print_job_failed", {"station_id": job["station_id"], "reason": reason,
                                               "requeued": True, **job_ref(job)})]
