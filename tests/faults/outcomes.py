"""What the citizens of a fault test got, counted where a citizen would see
it: the SMS at the gateway sandbox, the e-mail in the SMTP server's Maildir,
the timeline through the status API; and what the system kept: print jobs
(printing's database), dead letters, outbox rows, logs."""

from __future__ import annotations

import datetime
import mailbox
from collections import Counter

import requests
from pymongo import MongoClient

from deploy.dlq import all_handler_queues, connect, depth, describe
from deploy.local.stack import Stack
from services.courier.store import CourierStore
from services.intake.store import ApplicationStore
from services.notification.domain import RECEIPTS
from services.notification.store import NotificationStore
from services.printing.store import PrintStore
from shared.outbox import pending_events
from tests.faults.journeys import Citizen, Journeys
from tests.helpers import personal_data_in_logs

# every step of a KTP-el journey to pickup, each once (three notifications: "received"
# by SMS, the preferred channel; "ready for pickup" by SMS and e-mail)
TIMELINE = sorted(["submitted", "verified", "print_queued", "printed", "ready_for_pickup",
                   "notified", "notified", "notified"])
PICKUP_SMS = "siap diambil"  # the ready-for-pickup SMS (the e-mail goes for pickup only)
DATABASES = ("intake", "printing", "notification", "courier")
# the collections whose documents carry their own events, per database
CARRIERS = {"intake": ApplicationStore.CARRIERS, "printing": PrintStore.CARRIERS,
            "notification": NotificationStore.CARRIERS, "courier": CourierStore.CARRIERS}


def e164(phone: str) -> str:
    return "62" + phone[1:]


def sms_counts(stack: Stack) -> Counter:
    messages = requests.get(stack.url("sms") + "/sandbox/messages", timeout=10).json()
    return Counter(message["to"] for message in messages if PICKUP_SMS in message["message"])


def email_counts(stack: Stack) -> tuple[Counter, int]:
    """E-mails per address, one per Message-ID, and how many copies repeated
    a Message-ID already delivered: a resend after a crash between "sent"
    and "recorded" (SMTP has no idempotency) carries the message's own
    Message-ID, which a mail client shows once (services/notification/
    gateways.py). A second notice is a second Message-ID and counts."""
    copies = [(message["To"], message["Message-ID"])
              for message in mailbox.Maildir(str(stack.maildir), create=False)]
    distinct = set(copies)
    return Counter(to for to, _ in distinct), len(copies) - len(distinct)


def print_job_counts(client: MongoClient) -> Counter:
    rows = client.printing.print_jobs.aggregate(
        [{"$group": {"_id": "$application_id", "jobs": {"$sum": 1}}}])
    return Counter({row["_id"]: row["jobs"] for row in rows})


def unprinted_jobs(client: MongoClient, journeys: Journeys) -> Counter:
    """The print jobs of verified applications the station never got printed,
    by what state they are in (say why a drain did not finish)."""
    waiting = [c.application_id for c in journeys.accepted()
               if c.verified and c.application_id not in journeys.printed]
    now = datetime.datetime.now(datetime.timezone.utc)
    states = Counter()
    for job in client.printing.print_jobs.find({"application_id": {"$in": waiting}}):
        lease = job.get("lease_until")
        expired = "" if lease is None else (" lease expired" if lease < now else " lease live")
        states[f"{job['status']}, {job.get('attempts')} attempt(s){expired}"
               f"{', ' + job['last_failure'] if job.get('last_failure') else ''}"] += 1
    found = sum(states.values())
    if found < len(waiting):
        states["no print job yet"] = len(waiting) - found
    return states


def timeline(stack: Stack, citizen: Citizen) -> list[str] | None:
    response = requests.post(stack.url("intake") + "/api/v1/applications/status", timeout=10,
                             json={"tracking_code": citizen.tracking_code, "nik": citizen.nik})
    if response.status_code != 200:
        return None
    return sorted(step["status"] for step in response.json()["timeline"])


class Tally:
    """Per application that got a 202: its print jobs, SMS, e-mails, timeline."""

    def __init__(self, stack: Stack, journeys: Journeys, client: MongoClient):
        self.stack, self.journeys, self.client = stack, journeys, client
        self.jobs, self.sms, self.emails = Counter(), Counter(), Counter()
        self.email_resends = 0
        self.timelines: dict[str, list[str] | None] = {}
        self.expectations: dict[str, list[str]] = {}  # read while the client is open

    def refresh(self) -> bool:
        """Count again; True once every application has at least all it should
        (the counts then say whether anything came twice)."""
        self.jobs, self.sms = print_job_counts(self.client), sms_counts(self.stack)
        self.emails, self.email_resends = email_counts(self.stack)
        accepted = self.journeys.accepted()
        for citizen in accepted:
            self.expectations[citizen.application_id] = self.expected(citizen)
            if not self._arrived(citizen):
                self.timelines[citizen.application_id] = timeline(self.stack, citizen)
        return all(self.jobs[c.application_id] and self.sms[e164(c.phone)]
                   and self.emails[c.email] and self._arrived(c) for c in accepted)

    def _arrived(self, citizen: Citizen) -> bool:
        steps = self.timelines.get(citizen.application_id) or []
        expected = self.expectations.get(citizen.application_id, TIMELINE)
        return set(expected) <= set(steps) and len(steps) >= len(expected)

    def expected(self, citizen: Citizen) -> list[str]:
        """``TIMELINE``, but for a receipt ("received") that a fault held
        until the application's "ready" notice went: dropped as old news
        (``superseded``, notification's ``domain.RECEIPTS``), it is not
        notified - one "notified" fewer."""
        superseded = self.client.notification.messages.count_documents(
            {"application_id": citizen.application_id, "kind": {"$in": sorted(RECEIPTS)},
             "status": "superseded"})
        if not superseded:
            return TIMELINE
        fewer = list(TIMELINE)
        fewer.remove("notified")
        return fewer

    def exactly_one(self, citizens: list[Citizen]) -> dict[str, int]:
        """How many of ``citizens`` got exactly one of each (and the exact timeline)."""
        return {
            "print job": sum(self.jobs[c.application_id] == 1 for c in citizens),
            "SMS": sum(self.sms[e164(c.phone)] == 1 for c in citizens),
            "e-mail": sum(self.emails[c.email] == 1 for c in citizens),
            "timeline": sum(self.timelines.get(c.application_id)
                            == self.expectations.get(c.application_id, TIMELINE)
                            for c in citizens),
        }

    def more_than_one(self, citizens: list[Citizen]) -> dict[str, list[str]]:
        """Tracking codes of those who got something twice, by what."""
        counts = {"print job": (self.jobs, lambda c: c.application_id),
                  "SMS": (self.sms, lambda c: e164(c.phone)),
                  "e-mail": (self.emails, lambda c: c.email)}
        return {what: [c.tracking_code for c in citizens if count[key(c)] > 1]
                for what, (count, key) in counts.items()}


def dead_letters(broker_uri: str) -> dict[str, int]:
    """Messages in each handler's dead-letter queue, keyed by the queue and
    why the first one got there (the broker's x-death reason, the retry
    attempts it had used), so a failing run says where to look."""
    connection = connect(broker_uri)
    try:
        channel = connection.channel()
        found = {}
        for queue in all_handler_queues():
            if count := depth(channel, queue + ".dlq"):
                found[f"{queue} ({why_dead_lettered(channel, queue + '.dlq')})"] = count
        return found
    finally:
        connection.close()


def why_dead_lettered(channel, dlq: str) -> str:
    method, properties, body = channel.basic_get(dlq, auto_ack=False)
    if method is None:
        return "gone"
    channel.basic_nack(method.delivery_tag, requeue=True)
    described = describe(properties, body)
    return (f"reason {described['reason']} ({described['last_error']}), "
            f"retry attempts used {described['attempts'] - 1}")


def pending_outbox(client: MongoClient) -> dict[str, int]:
    """Events not yet published (or not yet cleared), per database: outbox
    rows and documents still carrying events."""
    return {name: pending_events(client[name], CARRIERS[name]) for name in DATABASES}


def leaked_personal_data(stack: Stack, citizens: list[Citizen]) -> list[str]:
    """The citizens' NIKs, KKs and phone numbers (in each form) found in any
    log of the stack, shown masked."""
    found = personal_data_in_logs(stack, *(value for c in citizens
                                           for value in (c.nik, c.kk, c.phone)))
    return [f"{form[:5]}…{form[-4:]}" for form in found]


def logs_mention(stack: Stack, words: list[str]) -> int:
    logs = "".join(path.read_text(errors="replace")
                   for path in (stack.run_dir / "logs").glob("*.log"))
    return sum(word in logs for word in words)
