"""Which messages an event causes, on which channels, and how they are
delivered. Plain Python, no nameko.

One message per (event, channel), with the id ``<event_id>.<channel>`` (a
hand-over list's event tells each citizen on it too, ``office_pickups``:
``<event_id>.<application_id>.<channel>``): a redelivered event yields the
same ids, so the store finds a message already sent, and the gateway gets
the same reference (the e-mail the same Message-ID) on a resend after a
crash between "sent" and "recorded".

Channels: an important notice (ready for pickup, pickup moved, rejected,
delivery failed, returned) goes on every channel the citizen gave (their
phone, by WhatsApp if they prefer it, else SMS; and their e-mail); a routine
one on the preferred channel only. A channel that fails for good (every
attempt of the event's retry schedule used) is given up — the store records
it and emits ``notification_failed`` — and the next channel the citizen gave
takes the message (``take_over``). So does a WhatsApp message the Cloud API
took and then reported failed (``callbacks.py``): it keeps its notice for that.

Failures in between are the broker's business: ``deliver`` returns the
channels that failed, the handler raises, and the shared delayed-retry
mechanism brings the whole event back later; messages already sent are
skipped. Cost and courtesy guards (quiet hours, per-phone limit, daily SMS
budget) hold a phone message back with a due time; a sweeper sends it then.
"""

from __future__ import annotations

import datetime
import logging
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import Iterable, Protocol

from shared.clock import WIB
from shared.masking import mask_address

from .exceptions import DeliveryFailed
from .messages import Texts, parcel_kelurahan, render

log = logging.getLogger(__name__)

CHANNELS = ("sms", "whatsapp", "email")
# the provider's reference of a message a partner accepted (HTTP 200) with a
# reply that could not be read (``gateways``): sent, its id unknown
UNREADABLE_REPLY = "accepted (reply unreadable)"
PHONE_CHANNELS = ("sms", "whatsapp")


@dataclass(frozen=True)
class NoticeType:
    kind: str  # the template name
    important: bool = False
    audience: str = "citizen"  # or "kelurahan", "kecamatan", "operators" (by e-mail)
    # what its messages are filed under (``OutgoingMessage.application_id``):
    # an application, or something else (a booking, an officer's list) that
    # intake keeps no timeline for: no notification_sent / _failed then
    regarding: str = "application"


NOTICES: dict[str, NoticeType] = {
    "application_submitted": NoticeType("received"),
    "application_rejected": NoticeType("rejected", important=True),
    "application_cancelled": NoticeType("cancelled"),
    "recording_appointment_booked": NoticeType("appointment", regarding="appointment"),
    # its contact may not be whoever moved or cancelled it: told on every channel
    "recording_appointment_cancelled": NoticeType("appointment_cancelled", important=True,
                                                  regarding="appointment"),
    "document_ready_for_pickup": NoticeType("ready", important=True),
    "print_job_cancelled": NoticeType("print_cancelled", important=True),
    "pickup_rescheduled": NoticeType("pickup_moved", important=True),
    "parcel_dispatched": NoticeType("dispatched"),
    "parcel_delivered": NoticeType("delivered"),
    "parcel_delivery_failed": NoticeType("delivery_failed", important=True),
    # none for ``parcel_returned``: printing tells it, with the window it
    # gives the document at the counter (``document_ready_for_pickup``,
    # ``returned``) - one notice, not "returned, the day follows" and then the
    # day; and for a card whose holder died since, nothing (printing lists
    # it for an operator to cancel, the family hears the condolences; outside
    # audit A: they were told to collect it, a window to follow)
    "tracking_code_resend_requested": NoticeType("tracking_code"),
    "batch_ready_for_kelurahan": NoticeType("batch_ready", audience="kelurahan",
                                            regarding="manifest"),
    "kecamatan_handover_ready": NoticeType("handover_ready", audience="kecamatan",
                                           regarding="kecamatan_day"),
    "blanko_low": NoticeType("blanko_low", audience="operators", regarding="station"),
}
# an application made from a PRR record is verified as it is made (the
# citizen recorded long ago, the Dinas verified centrally): its citizen hears
# that the card is being printed and comes by Pos, not that an officer checks it.
# A kecamatan's next-day request is printed for its officer to bring back:
# its citizen hears that it is collected at the kecamatan office, not the
# usual receipt (a jemput-bola row keeps "received", or "pos_received" when
# its document comes by Pos to the door)
CHANNEL_NOTICES: dict[tuple[str, str], NoticeType] = {
    ("application_submitted", "prr"): NoticeType("prr_received"),
    ("application_submitted", "kecamatan"): NoticeType("kecamatan_received"),
}
# a document Pos Indonesia brings to the door (a WhatsApp application by
# default): "we tell you when and where to collect it" would send its citizen
# looking for a counter. Older events do not say: they keep "received"
DELIVERY_NOTICES: dict[tuple[str, str], NoticeType] = {
    ("application_submitted", "pos"): NoticeType("pos_received"),
}
# a print job given up because its card's holder died (their Akta Kematian
# verified): "contact the Dinas or apply again" would tell the family to
# apply for the dead (a new application of the NIK is refused); a short
# notice of its own closes the application instead, on the preferred channel
REASON_NOTICES: dict[tuple[str, str], NoticeType] = {
    ("print_job_cancelled", "holder_deceased"): NoticeType("print_cancelled_deceased"),
}


# a document Pos brought back waits at the counter (``document_ready_for_pickup``
# with ``returned``): the citizen's one notice of the return. Its SMS and
# e-mail say so in ``ready``'s words; on WhatsApp, whose template is fixed
# text, it has a template of its own (``smartdukcapil_returned``: the plain
# "ready" said nothing of the return - outside audit D)
RETURNED = NoticeType("returned", important=True)


# a jemput-bola manifest's parcel goes to the kelurahan office, where its
# citizens collect their documents: no "be at home to sign for it"
KELURAHAN_PARCEL_NOTICES: dict[str, NoticeType] = {
    "parcel_dispatched": NoticeType("dispatched_kelurahan"),
    "parcel_delivered": NoticeType("delivered_kelurahan"),
    "parcel_delivery_failed": NoticeType("delivery_failed_kelurahan", important=True),
}


# a hand-over list an officer collects at the Dinas (``LIST_OFFICES``) also
# tells each citizen on it that the document is printed and from when it
# waits at the office (contacts from the book: the list carries none)
OFFICE_PICKUP = NoticeType("office_pickup", important=True)
LIST_OFFICES = {"batch_ready_for_kelurahan": ("kelurahan", "kelurahan_code"),
                "kecamatan_handover_ready": ("kecamatan", "kecamatan_code")}
# every notice type by its kind (the template), the one a message is filed under
KINDS: dict[str, NoticeType] = {notice.kind: notice for notice in (
    *NOTICES.values(), *CHANNEL_NOTICES.values(), *DELIVERY_NOTICES.values(),
    *REASON_NOTICES.values(),
    *KELURAHAN_PARCEL_NOTICES.values(), OFFICE_PICKUP, RETURNED)}


def notice_type_of(event_type: str, event: dict) -> NoticeType:
    if event_type in KELURAHAN_PARCEL_NOTICES and parcel_kelurahan(event) is not None:
        return KELURAHAN_PARCEL_NOTICES[event_type]
    if event_type == "document_ready_for_pickup" and event.get("returned"):
        return RETURNED
    return REASON_NOTICES.get((event_type, event.get("reason"))) \
        or CHANNEL_NOTICES.get((event_type, event.get("channel"))) \
        or DELIVERY_NOTICES.get((event_type, event.get("delivery_method")), NOTICES[event_type])


def channels_given(contact: dict) -> list[str]:
    """The channels a contact can be reached on, preferred first, then the
    phone, then e-mail; SMS last as the fallback of a WhatsApp-preferring phone."""
    phone, email = contact.get("phone"), contact.get("email")
    preferred = contact.get("preferred_channel") or ("sms" if phone else "email")
    phone_channel = "whatsapp" if preferred == "whatsapp" else "sms"
    order = [preferred, phone_channel, "email", "sms"]
    given = []
    for channel in order:
        if channel not in given and (email if channel == "email" else phone):
            given.append(channel)
    return given


def first_channels(contact: dict, important: bool) -> list[str]:
    """Where a notice goes first: every channel given (one per address) if
    important, else the preferred one."""
    given = channels_given(contact)
    if not important:
        return given[:1]
    return [c for c in given if not (c == "sms" and "whatsapp" in given)]


@dataclass(frozen=True)
class OutgoingMessage:
    message_id: str  # <event_id>.<channel> (or <event_id>.<application_id>.<channel>)
    about: str  # the event type that caused it
    kind: str  # its template
    application_id: str
    tracking_code: str
    channel: str  # "sms", "whatsapp" or "email"
    address: str  # E.164 phone number or e-mail address
    language: str
    text: str  # SMS: the text; email: the plain-text part
    subject: str | None = None  # email only
    html: str | None = None  # email only
    params: tuple[str, ...] = ()  # WhatsApp template parameters
    fallbacks: tuple[str, ...] = ()  # channels that take over if this one fails for good
    occurred_at: datetime.datetime | None = None  # when its event happened
    # the notice it renders, kept where a message may fail after it was sent
    # (WhatsApp's status callback: ``callbacks.py``): what builds its stand-in
    notice: Notice | None = field(default=None, compare=False, repr=False)
    takes_over: str | None = None  # the message id of the one it stands in for
    # how often an operator had it sent again (``store.resend``)
    resends: int = 0

    @property
    def sending(self) -> str:
        """This sending of it, as ``SentMemory`` knows it: a re-send is a new
        one (outside audit R: a WhatsApp message the Cloud API took, then
        reported failed, was "sent before" by the memory, and its re-send
        recorded sent with nothing sent)."""
        return self.message_id if not self.resends else f"{self.message_id}#{self.resends}"

    @property
    def reference(self) -> str:
        """What the gateway / Message-ID carries: the message id."""
        return self.message_id

    @property
    def named(self) -> str:
        """What a log line names it by: its tracking code, or for a notice of
        no application (an officer's list, a station's blanko) what it is
        about and its id (outside audit H: "email sent for  to k***@...")."""
        return self.tracking_code or f"{self.about} {self.application_id}"

    @property
    def about_an_application(self) -> bool:
        """Whether ``application_id`` is one (its outcome is an event for
        intake's timeline), not a booking, manifest, station or kecamatan day
        (by its kind: a list's event tells its officer and its citizens; a
        kind no longer known, by its event)."""
        return self.regarding == "application"

    @property
    def regarding(self) -> str:
        """What ``application_id`` names (``NoticeType.regarding``)."""
        return (KINDS.get(self.kind) or NOTICES[self.about]).regarding

    @property
    def may_go_stale(self) -> bool:
        """Whether a later notice or an end of what it is about can make it
        old news (``outdated``): an application's, or a recording booking's."""
        return self.regarding in STORIES


@dataclass(frozen=True)
class Notice:
    """One event's notice to one recipient, rendered; ``message(channel)`` is
    its message on a channel."""

    event_id: str
    about: str
    kind: str
    application_id: str
    tracking_code: str
    contact: dict
    texts: Texts
    first: tuple[str, ...]
    given: tuple[str, ...] = field(default=())
    occurred_at: datetime.datetime | None = None

    def message(self, channel: str) -> OutgoingMessage:
        address = self.contact["email"] if channel == "email" else self.contact["phone"]
        t = self.texts
        base = dict(message_id=f"{self.event_id}.{channel}", about=self.about, kind=self.kind,
                    application_id=self.application_id, tracking_code=self.tracking_code,
                    channel=channel, address=address, language=self.contact.get("language", "id"),
                    occurred_at=self.occurred_at,
                    fallbacks=self.fallbacks(channel))
        # a message another channel may take over from keeps its notice, to
        # make the stand-in from: the Cloud API takes a WhatsApp message and
        # may report it failed later; one held back (quiet hours, a limit)
        # may fail when the sweeper sends it, without its event
        base["notice"] = self if base["fallbacks"] else None
        if channel == "email":
            return OutgoingMessage(**base, text=t.text, subject=t.subject, html=t.html)
        if channel == "whatsapp":
            return OutgoingMessage(**base, text=t.sms, params=t.whatsapp)
        return OutgoingMessage(**base, text=t.sms)

    def messages(self) -> list[OutgoingMessage]:
        return [self.message(channel) for channel in self.first]

    def fallbacks(self, channel: str) -> tuple[str, ...]:
        """The channels that take over, in turn, from ``channel`` given up:
        those given and not sent to first - but an e-mail sent beside the
        phone's channel does not go to the phone (that channel's own
        fallback does, if it fails: an e-mail given up sent an SMS to a
        phone WhatsApp had reached - a review)."""
        beside_the_phone = channel == "email" and any(c in PHONE_CHANNELS for c in self.first)
        return tuple(c for c in self.given if c != channel and c not in self.first
                     and not (beside_the_phone and c in PHONE_CHANNELS))


def notice_for(event_type: str, event: dict, contact: dict | None,
               notice_type: NoticeType | None = None) -> Notice | None:
    """The notice an event causes for ``contact`` (the event's own, the
    contact book's, or an officer's mailbox); None when there is nobody to
    tell. It greets the citizen by the event's ``full_name``, else the one the
    contact carries from the book."""
    notice_type = notice_type or notice_type_of(event_type, event)
    if not contact or not (contact.get("phone") or contact.get("email")):
        return None
    lang = contact.get("language") or "id"
    given = channels_given(contact)
    first = first_channels(contact, notice_type.important)
    named = event if event.get("full_name") or not contact.get("full_name") \
        else {**event, "full_name": contact["full_name"]}
    texts = render(notice_type.kind, named, lang, sms=any(c in PHONE_CHANNELS for c in given),
                   email="email" in given)
    reference = (event.get("application_id") or event.get("appointment_id")
                 or event.get("manifest_id") or event.get("station_id")
                 or f"{event.get('kecamatan_code')}:{event.get('day')}")
    return Notice(event["event_id"], event_type, notice_type.kind, reference,
                  event.get("tracking_code") or event.get("booking_code") or "",
                  contact, texts, tuple(first), tuple(given), event_time(event))


def awaited_contacts(event_type: str, event: dict, book) -> list[str]:
    """The applications among an event's citizen notices that carry no
    contact and whose contact the book (``book(application_id)``) has no
    entry for yet: the event overtook the application's
    ``application_submitted`` (its queue behind, the SMS gateway stalled
    say), which every application sends with its contact. Their notices
    wait: the event is retried (``ContactNotYetKnown``), never dropped."""
    waiting = [citizen["application_id"] for citizen in office_pickups(event_type, event)]
    if told_from_the_book(event_type, event):
        waiting.insert(0, event["application_id"])
    return [application_id for application_id in waiting if book(application_id) is None]


def told_from_the_book(event_type: str, event: dict) -> bool:
    """Whether an event's citizen notice takes its contact from the book: it
    is about an application and carries none (a parcel's events)."""
    return NOTICES[event_type].audience == "citizen" and not event.get("contact") \
        and bool(event.get("application_id"))


def ended_before(event: dict, end: Finished | None) -> bool:
    """Whether an application's story ended (``end``: ``FINISHING``) after
    ``event`` happened, so the event's notice no longer applies - the rule
    ``outdated`` applies to held messages, for one that comes late: a
    parcel's "dispatched" retried until its contact was on file, or on a
    queue behind, that arrives after "delivered" was sent."""
    happened = event_time(event)
    return end is not None and happened is not None and happened < end.occurred_at


def notices_for(event_type: str, event: dict, book, officers) -> list[Notice]:
    """Every notice an event causes: its own (``contact_for``) and, for a
    hand-over list, each of its citizens' (``office_pickups``). Someone with
    no contact on file is left out (and logged, unless the book has no entry
    for them yet: ``awaited_contacts``); so is an officer whose mailbox is
    not configured, logged as an error naming the setting. None for a
    reprint's window the citizen was told already (``window_told``: the
    window of the print it replaced - outside audit E, the same "ready" SMS
    came twice)."""
    if event_type == "document_ready_for_pickup" and event.get("window_told"):
        return []
    # (what it is, its application, the notice or None)
    notices = [(event_type, event.get("application_id"),
                notice_for(event_type, event, contact_for(event_type, event, book, officers)))]
    notices += [(f"{event_type} {citizen['application_id']}", citizen["application_id"],
                 notice_for(event_type, citizen, book(citizen["application_id"]), OFFICE_PICKUP))
                for citizen in office_pickups(event_type, event)]
    audience = NOTICES[event_type].audience
    if notices[0][2] is None and audience != "citizen":
        log.error("%s %s: not sent, %s", event_type, event["event_id"],
                  unset_mailbox(audience, event))
        notices = notices[1:]
    awaited = set(awaited_contacts(event_type, event, book))
    for what, application_id, notice in notices:
        if notice is None and application_id not in awaited:
            log.warning("%s %s: nobody to tell (no contact on file)", what, event["event_id"])
    return [notice for *_, notice in notices if notice is not None]


def unset_mailbox(audience: str, event: dict) -> str:
    """Which setting lacks an officer notice's mailbox: the officers' and the
    operators' mailboxes are configured (empty by default), not data."""
    if audience == "operators":
        return "OPERATORS_EMAIL is not set"
    return f"no mailbox for {audience} {event[f'{audience}_code']} in OFFICER_EMAILS"


def office_pickups(event_type: str, event: dict) -> list[dict]:
    """A hand-over list's event as one event per citizen on it (each with an
    id of its own: ``<event_id>.<application_id>``, so each message's id is
    stable): the document, the office, the officer's ``day`` at the Dinas
    (an older manifest's event has none: its ``slot``'s date) and
    ``at_office_from`` (none in older events). Nothing for any other event."""
    if event_type not in LIST_OFFICES:
        return []
    office, code_field = LIST_OFFICES[event_type]
    return [{**item, "event_id": f"{event['event_id']}.{item['application_id']}",
             "occurred_at": event["occurred_at"], "office": office,
             "office_code": event[code_field],
             "day": event.get("day") or (event.get("slot") or {}).get("date"),
             "at_office_from": event.get("at_office_from")} for item in event["items"]]


def event_time(event: dict) -> datetime.datetime | None:
    """When the event happened (its ``occurred_at``, UTC if it names no
    zone); None if it cannot be read: then the message's own time counts."""
    try:
        when = datetime.datetime.fromisoformat(event["occurred_at"])
    except (KeyError, TypeError, ValueError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=datetime.timezone.utc)


# ---- guards ---------------------------------------------------------------


@dataclass(frozen=True)
class Guards:
    """Quiet hours (WIB, ``None`` = off), SMS per phone number an hour, SMS a
    day, e-mails per address an hour."""

    quiet_start: datetime.time | None = None
    quiet_end: datetime.time | None = None
    per_phone_per_hour: int = 5
    daily_budget: int = 10_000
    per_email_per_hour: int = 10

    def quiet_until(self, now: datetime.datetime) -> datetime.datetime | None:
        """When the quiet hours around ``now`` end (UTC), or None if not quiet."""
        if self.quiet_start is None or self.quiet_end is None:
            return None
        local = now.astimezone(WIB)
        start, end = self.quiet_start, self.quiet_end
        t = local.time()
        quiet = (start <= t or t < end) if start > end else (start <= t < end)
        if not quiet:
            return None
        day = local.date() if t < end else local.date() + datetime.timedelta(days=1)
        return datetime.datetime.combine(day, end, tzinfo=WIB).astimezone(datetime.timezone.utc)


def parse_quiet_hours(value: str | None) -> tuple[datetime.time | None, datetime.time | None]:
    """``"21:00-06:00"`` -> (21:00, 06:00); blank or ``off`` -> no quiet hours."""
    text = str(value or "").strip().lower()
    if text in ("", "off", "none"):
        return None, None
    start, _, end = text.partition("-")
    return datetime.time.fromisoformat(start.strip()), datetime.time.fromisoformat(end.strip())


def hour_bucket(now: datetime.datetime) -> tuple[str, datetime.datetime]:
    """The WIB hour ``now`` is in (a counter key) and when it ends (UTC)."""
    local = now.astimezone(WIB).replace(minute=0, second=0, microsecond=0)
    return local.strftime("%Y-%m-%dT%H"), (local + datetime.timedelta(hours=1)).astimezone(
        datetime.timezone.utc)


def day_bucket(now: datetime.datetime) -> tuple[str, datetime.datetime]:
    """The WIB day ``now`` is in and when it ends (UTC)."""
    day = now.astimezone(WIB).date()
    end = datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time(),
                                    tzinfo=WIB)
    return day.isoformat(), end.astimezone(datetime.timezone.utc)


# ---- delivery -------------------------------------------------------------


class MessageStore(Protocol):
    """What delivery needs of the store (``NotificationStore``)."""

    def open_message(self, message: OutgoingMessage, handled_before: bool = False) -> str:
        """Record the message if new and claim it; return ``"pending"`` (claimed
        here), ``"sent"``, ``"failed"``, ``"held"``, ``"superseded"`` /
        ``"withdrawn"`` (dropped as old news) or ``"in_flight"``.
        ``handled_before``: most likely on file and settled (a cheaper look
        first), the same answers."""

    def take_sms_allowance(self, phone: str, now: datetime.datetime,
                           guards: Guards) -> tuple[str, datetime.datetime] | None:
        """Count one SMS; (reason, until) if a limit holds it back instead."""

    def hold(self, message_id: str, reason: str, until: datetime.datetime,
             message: OutgoingMessage | None = None) -> None:
        """Hold the message until ``until``; ``message``: keep its notice
        (the sweeper makes its stand-in from it if it fails then)."""

    def record_failure(self, message_id: str, reason: str) -> int:
        """Log the failed attempt, release the claim; return the failed attempts so far."""

    def record_sent(self, message: OutgoingMessage, provider_ref: str) -> None: ...

    def let_go(self, message_id: str) -> None:
        """This process no longer uses its claim: one it made and left (its
        sending raised) is its to take again at once."""

    def give_up(self, message: OutgoingMessage, reason: str) -> None:
        """Mark failed for good and emit ``notification_failed``."""

    def hold_new(self, message: OutgoingMessage, reason: str, until: datetime.datetime) -> None:
        """Record a message not on file yet, held until ``until`` (a stand-in:
        the sweeper sends it); one on file already is left as it is."""


class Sender(Protocol):
    def send(self, message: OutgoingMessage) -> str: ...


@dataclass(frozen=True)
class Senders:
    """One sender per channel; each raises ``DeliveryFailed`` or returns the
    provider's reference (gateway message id, Message-ID)."""

    sms: Sender
    email: Sender
    whatsapp: Sender | None = None

    def send(self, message: OutgoingMessage) -> str:
        sender = getattr(self, message.channel)
        if sender is None:
            raise DeliveryFailed(f"{message.channel} is not configured")
        return sender.send(message)


class SentMemory:
    """What this process sent lately: message id -> the provider's reference.

    The gap it closes: a partner accepted a message, then recording it failed
    (the database down or frozen). The retry finds the message unrecorded;
    without this memory it would send it again — an e-mail relay cannot tell
    (SMTP has no idempotency key). With it, the retry records what was sent
    instead. Bounded, oldest forgotten first; lost with the process, where
    the stable gateway reference / Message-ID is what is left.
    """

    def __init__(self, size: int = 10_000):
        self.size, self._sent = size, OrderedDict()

    def get(self, message_id: str) -> str | None:
        return self._sent.get(message_id)

    def remember(self, message_id: str, provider_ref: str) -> None:
        self._sent[message_id] = provider_ref
        while len(self._sent) > self.size:
            self._sent.popitem(last=False)


@dataclass(frozen=True)
class Delivery:
    """Everything ``deliver`` needs beside the messages."""

    store: MessageStore
    senders: Senders
    guards: Guards
    max_attempts: int  # the event's retry schedule + 1: the last attempt gives up
    now: datetime.datetime
    sent: SentMemory = field(default_factory=SentMemory)
    # sending for an event: whether this delivery of it is the last its retry
    # schedule gives (``shared.messaging.DeliveryAttempt``); a failure gives
    # up then, and only then. Counting the message's failed attempts instead
    # let duplicate copies of one event (delivery is at-least-once) use up
    # the schedule early: an SMS outage of 60 s gave up after ~35 s. None
    # (the sweeper): give up after ``max_attempts`` failed attempts.
    last_delivery: bool | None = None
    # the event is a copy published again from kept events: most likely
    # handled, each message looked up before it is claimed
    republished: bool = False

    def gives_up(self, failed_attempts: int) -> bool:
        if self.last_delivery is None:
            return failed_attempts >= self.max_attempts
        return self.last_delivery


def to_an_officer(message: OutgoingMessage) -> bool:
    """Whether ``message`` goes to a configured mailbox (an officer's list,
    the operators'), not to a contact a citizen gave: its event's own notice
    where that notice is not a citizen's (a hand-over list's citizens get
    ``OFFICE_PICKUP``)."""
    notice = NOTICES[message.about]
    return notice.audience != "citizen" and message.kind == notice.kind


def held_back(message: OutgoingMessage, d: Delivery) -> tuple[str, datetime.datetime] | None:
    """Why and until when a message must wait, or None to send it now."""
    if message.channel == "email":  # at any hour; a citizen's within the address's hour
        return None if to_an_officer(message) else \
            d.store.take_email_allowance(message.address, d.now, d.guards)
    if message.channel not in PHONE_CHANNELS:
        return None
    until = d.guards.quiet_until(d.now)
    if until is not None:
        return "quiet_hours", until
    if message.channel == "sms":
        return d.store.take_sms_allowance(message.address, d.now, d.guards)
    return None


def deliver(messages: Iterable[OutgoingMessage], d: Delivery,
            fallback=None) -> list[str]:
    """Send every message not sent yet; return the channels that failed for
    now (non-empty: the caller has the event retried), one claimed by
    another delivery named so - its retry's log says nothing was tried
    (outside audit R2: "DeliveryFailed: sms" read as a gateway failure).
    ``fallback(channel)`` builds the message for a channel that takes over
    one given up - given up now, or by an earlier delivery of the event
    (its stand-in failed for now: this retry sends it)."""
    queue, failed = list(messages), []
    while queue:
        message = queue.pop(0)
        status = d.store.open_message(message, d.republished)
        if status == "failed" and (stand_in := take_over(message, fallback)) is not None:
            # given up by an earlier delivery of this event, whose stand-in
            # then failed for now (the event came back for it): the stand-in
            # is this retry's to send - it was left pending for good (CI:
            # WhatsApp refused, the e-mail's SMTP out a moment, no e-mail)
            queue.append(stand_in)
            continue
        if status not in ("pending", "in_flight"):
            continue  # done earlier, waiting for its due time (the sweeper sends it), or old news
        if status == "in_flight":
            # another copy of this event is sending it right now: look again
            # later (then it is sent, or its claim has lapsed and we send)
            failed.append(f"{message.channel} (claimed by another delivery: not tried now)")
            continue
        try:
            result = send_one(message, d)
        finally:  # sent, settled or raised: its claim is this process's to take again
            d.store.let_go(message.message_id)
        if result == "retry":
            failed.append(message.channel)
        elif result == "given_up" and (stand_in := take_over(message, fallback)) is not None:
            queue.append(stand_in)
    return failed


def take_over(message: OutgoingMessage, fallback=None) -> OutgoingMessage | None:
    """The message that stands in for one given up: the same notice on its
    first fallback channel (``fallback(channel)`` builds it, else the notice
    the message keeps), which falls back on the others in turn; None when
    there is no other channel."""
    build = fallback or (message.notice.message if message.notice is not None else None)
    if not message.fallbacks or build is None:
        return None
    return replace(build(message.fallbacks[0]), fallbacks=message.fallbacks[1:],
                   notice=message.notice, takes_over=message.message_id)


def send_one(message: OutgoingMessage, d: Delivery) -> str:
    """Send a claimed message: ``"sent"``, ``"held"``, ``"retry"`` or ``"given_up"``."""
    masked = mask_address(message.channel, message.address)
    # sent before, recording it failed: record it now - before the guards,
    # which would count it against its limits again, or hold it (a review)
    provider_ref = d.sent.get(message.sending)
    if provider_ref is not None:
        d.store.record_sent(message, provider_ref)
        log.info("%s for %s was sent before: recorded now", message.channel,
                 message.tracking_code)
        return "sent"
    wait = held_back(message, d)
    if wait is not None:
        reason, until = wait
        d.store.hold(message.message_id, reason, until, message)
        log.info("%s for %s to %s held (%s) until %s", message.channel, message.tracking_code,
                 masked, reason, until.isoformat())
        return "held"
    try:
        provider_ref = d.senders.send(message)
    except DeliveryFailed as exc:
        attempts = d.store.record_failure(message.message_id, str(exc))
        if not exc.permanent and d.last_delivery and message.takes_over is not None \
                and attempts < d.max_attempts:
            # a stand-in made late in its event's schedule has had none of
            # its own: one failure on the last delivery gave it up (a
            # review). The sweeper retries it, up to ``max_attempts``
            until = retried_by_the_sweeper(message, d, keep=message)
            log.warning("%s for %s to %s failed (attempt %d of %d), retried at %s: %s",
                        message.channel, message.named, masked, attempts, d.max_attempts,
                        until.isoformat(), exc)
            return "held"
        # a re-send, failing again, is given up again at once: one attempt
        # each (docs/api.md; it had what its first attempts left - a review)
        if exc.permanent or message.resends or d.gives_up(attempts):
            d.store.give_up(message, str(exc))
            log.error("%s for %s to %s given up after %d attempts%s: %s", message.channel,
                      message.named, masked, attempts,
                      " (refused for good)" if exc.permanent else "", exc)
            return "given_up"
        log.warning("%s for %s to %s failed (attempt %d of %d): %s", message.channel,
                    message.named, masked, attempts, d.max_attempts, exc)
        return "retry"
    d.sent.remember(message.sending, provider_ref)
    d.store.record_sent(message, provider_ref)
    log.info("%s sent for %s to %s", message.channel, message.named, masked)
    return "sent"


SWEEP_RETRY = datetime.timedelta(seconds=60)


def retried_by_the_sweeper(message: OutgoingMessage, d: Delivery,
                           keep: OutgoingMessage | None = None) -> datetime.datetime:
    """Hold a message that failed for now for the sweeper's next try,
    ``SWEEP_RETRY`` from now (``keep``: with its notice, ``MessageStore.hold``);
    when that is."""
    until = d.now + SWEEP_RETRY
    d.store.hold(message.message_id, "retry", until, keep)
    return until


# why a stand-in waits for the sweeper: it takes over a message given up
# outside an event's handling (the sweeper's, WhatsApp's status callback)
FALLBACK = "fallback"


def send_due(messages: Iterable[OutgoingMessage], d: Delivery) -> int:
    """The sweeper's work: send held messages whose time has come (claimed by
    the store). One that fails again waits ``SWEEP_RETRY``; one still held
    back (a limit) goes back with its new due time; one given up that keeps
    its notice (``take_over``) leaves its stand-in due now. Returns how many
    were sent."""
    sent, messages = 0, list(messages)
    try:
        for message in messages:
            result = send_one(message, d)
            if result == "retry":
                retried_by_the_sweeper(message, d)
            elif result == "given_up" and (stand_in := take_over(message)) is not None:
                d.store.hold_new(stand_in, FALLBACK, d.now)
            sent += result == "sent"
    finally:  # the claims it took: every one of them, whatever raised
        for message in messages:
            d.store.let_go(message.message_id)
    return sent


# ---- held messages that no longer apply ------------------------------------
#
# A message held back (quiet hours, limits) is sent later, without its event:
# by then a later notice may have replaced it (the citizen moved the pickup
# window again) or the application may be over (the document collected).
# The sweeper drops those instead of sending them, and records why.

# notices of kinds with one topic replace each other: each pickup window the
# one before it ("ready" included: a moved window says where and when too).
# Any other kind is its own topic: a newer notice of it replaces an older one
TOPICS = {"ready": "pickup_window", "returned": "pickup_window", "pickup_moved": "pickup_window"}
# events after which an application's earlier notices no longer apply: the
# document reached its holder (or, for a jemput-bola parcel, the kelurahan),
# the citizen withdrew the application, or the Dinas stopped printing it
FINISHING = ("document_collected", "parcel_delivered", "application_cancelled",
             "print_job_cancelled")


# a recording booking ends moved (``replaced``: a new booking with an id of
# its own) or cancelled, told by ``recording_appointment_cancelled``: its
# held "booked for <day>" is old news then (outside review: booked at 21:30,
# moved at 22:00, all three SMS left at 06:00 in any order - a stale "booked
# for A" could land last)
BOOKING_ENDINGS = ("recording_appointment_cancelled",)
# what a message is filed under that a later notice or its end can make old
# news: an application, a recording booking (a list's manifest, a station,
# a kecamatan's day are told once)
STORIES = frozenset({"application", "appointment"})


# an application's receipt ("received: we tell you if refused and when ready"):
# any later notice about the application makes it old news - held (quiet
# hours, a fallback) or retried past a gateway's outage, it reached the
# citizen after their "ready" (outside audit S2); it is dropped instead
RECEIPTS = frozenset({"received", "pos_received", "kecamatan_received", "prr_received"})
# notices any later notice of the same story replaces: the receipts, and a
# booking's "booked" (the only later notice of a booking is its end)
ANY_LATER = RECEIPTS | {"appointment"}
# what a notice handled late (its event behind others: a backlog) may be old
# news by then: a receipt, a pickup window, a booking (checked before it is sent)
REPLACEABLE = ANY_LATER | frozenset(TOPICS)


def topic(kind: str) -> str:
    return TOPICS.get(kind, kind)


def kinds_replacing(kinds: Iterable[str]) -> set[str] | None:
    """The kinds whose notices may replace one of ``kinds``; None: any kind
    (a receipt or a booking among them: ``ANY_LATER``)."""
    kinds = set(kinds)
    if kinds & ANY_LATER:
        return None
    topics = {topic(kind) for kind in kinds}
    return {kind for kind, shared in TOPICS.items() if shared in topics} | kinds


def superseding(message: OutgoingMessage, later: Filed | None) -> bool:
    """Whether ``later`` (the newest notice on file of the message's topic -
    of any kind, for a receipt) replaces the message: it happened after it."""
    return later is not None and message.occurred_at < later.occurred_at


@dataclass(frozen=True)
class Filed:
    """A message on file of an application or a booking, as far as
    ``outdated`` looks at it."""

    message_id: str
    application_id: str
    kind: str
    occurred_at: datetime.datetime


@dataclass(frozen=True)
class Finished:
    """An application's story is over (``FINISHING``), or a booking's
    (``BOOKING_ENDINGS``: ``application_id`` is its appointment id): by which
    event, when."""

    application_id: str
    by: str
    occurred_at: datetime.datetime


def finished_by(event_type: str, event: dict) -> Finished | None:
    if event_type in FINISHING:
        ended = event["application_id"]
    elif event_type in BOOKING_ENDINGS:
        ended = event["appointment_id"]
    else:
        return None
    return Finished(ended, event_type,
                    event_time(event) or datetime.datetime.now(datetime.timezone.utc))


def outdated(due: Iterable[OutgoingMessage], filed: Iterable[Filed],
             finished: dict[str, Finished]) -> dict[str, tuple[str, str]]:
    """Of the held messages now due, those not to send, by message id, with
    the status to record and why: ``("withdrawn", <event type>)`` when its
    application - or recording booking - finished after its event happened;
    ``("superseded", <notification id>)`` when a notice of the same topic
    for the same application happened after it (the newest one's id; of
    any kind for a receipt or a booking's "booked": ``ANY_LATER``).
    ``filed``: the messages on file of the due ones' applications and
    bookings; ``finished``: those of them that are over, by their id."""
    newest: dict[tuple[str, str | None], Filed] = {}
    for row in filed:  # by topic, and of any kind (None: what replaces a receipt)
        for key in ((row.application_id, topic(row.kind)), (row.application_id, None)):
            if key not in newest or row.occurred_at > newest[key].occurred_at:
                newest[key] = row
    drops = {}
    for message in due:
        if not message.may_go_stale or message.occurred_at is None:
            continue
        end = finished.get(message.application_id)
        latest = newest.get((message.application_id,
                             None if message.kind in ANY_LATER else topic(message.kind)))
        if end is not None and message.occurred_at < end.occurred_at:
            drops[message.message_id] = ("withdrawn", end.by)
        elif superseding(message, latest):
            drops[message.message_id] = ("superseded", latest.message_id)
    return drops


def contact_for(event_type: str, event: dict, book, officers) -> dict | None:
    """Whom an event's notice goes to: the contact the event carries, else
    the contact book's entry for its application (``book(application_id)``),
    or an officer's mailbox (``officers(audience, event)``). An event that
    carries a contact but names nobody (a rejection, a moved pickup window)
    takes the name to greet from the book.

    The event's own contact is never older than the book's: intake's events
    carry the application's contact as it is when they happen, and
    printing's the one of ``application_verified``, which comes after any
    resubmission (only a rejected application is resubmitted)."""
    audience = NOTICES[event_type].audience
    if audience != "citizen":
        return officers(audience, event)
    own = event.get("contact")
    if own and (event.get("full_name") or not event.get("application_id")):
        return own
    entry = book(event["application_id"])
    if not own:
        return entry
    return {**own, "full_name": entry["full_name"]} if (entry or {}).get("full_name") else own


# ---- the contact book -------------------------------------------------------
#
# Notices of events that carry no contact (a parcel's, a hand-over list's
# citizens) go to the contact book's entry of their application. Intake's
# events that carry what the citizen gave fill it: the submission and each
# resubmission, whose corrected phone, e-mail, language or name every later
# notice must use.
BOOK_EVENTS = ("application_submitted", "application_resubmitted")


@dataclass(frozen=True)
class BookEntry:
    """How to reach an application's citizen and whom to greet, as of when.

    ``as_of`` is the event's ``occurred_at``: the book keeps the entry of the
    latest event, whatever order the events come in (each has a queue of its
    own; a redelivered submission may come after the resubmission). Intake
    writes both events, a human step apart (the rejection in between), so
    their times order them; an entry is replaced by one as new or newer."""

    application_id: str
    contact: dict
    full_name: str | None
    as_of: datetime.datetime


def book_entry(event_type: str, event: dict) -> BookEntry | None:
    """The contact book's entry an event brings, or None."""
    if event_type not in BOOK_EVENTS or not event.get("contact"):
        return None
    return BookEntry(event["application_id"], event["contact"], event.get("full_name"),
                     event_time(event) or datetime.datetime.now(datetime.timezone.utc))
