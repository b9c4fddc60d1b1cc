"""Unit tests for services.notification.domain: which messages an event
causes on which channels, how a failing channel is retried, given up and
replaced, and what the guards hold back. Fakes, not mocks: the senders
record what they were asked to send, the message store is a dict; no
broker, no database.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import replace

import pytest
from nameko.testing.services import worker_factory

from services.notification.domain import (BookEntry, Delivery, Filed, Finished, Guards,
                                           OutgoingMessage, Senders, SentMemory, channels_given,
                                           deliver, ended_before, finished_by, first_channels,
                                           kinds_replacing, notice_for, notices_for, outdated,
                                           parse_quiet_hours, send_due, told_from_the_book)
from services.notification.exceptions import DeliveryFailed
from services.notification.service import NotificationEvents
from services.notification.settings import Settings
from shared.clock import WIB
from shared.events import build_event

PHONE = "+6281234567890"
EMAIL = "siti.aminah@example.id"
SLOT = {"place": "Kantor Kecamatan Curug", "address": "Jl. Raya Curug No. 1, Kota Serang",
        "date": "2026-11-30", "start": "09:00", "end": "10:00"}
NOON = datetime.datetime(2026, 11, 29, 12, 0, tzinfo=WIB)
QUIET = Guards(*parse_quiet_hours("21:00-06:00"))


class FakeSender:
    """Records each message; ``failing = True`` makes it fail like an unreachable gateway."""

    def __init__(self, channel: str):
        self.channel, self.sent, self.failing = channel, [], False

    def send(self, message) -> str:
        if self.failing:
            raise DeliveryFailed(f"{self.channel} answered 503")
        self.sent.append(message)
        return f"{self.channel}-{len(self.sent)}"


class FakeMessageStore:
    """NotificationStore's delivery methods over dicts; ``emitted`` stands for the outbox."""

    def __init__(self):
        self.messages: dict[str, dict] = {}
        self.emitted: list[dict] = []
        self.sms_count: dict[str, int] = {}
        self.email_count: dict[str, int] = {}
        self.contacts: dict[str, BookEntry] = {}
        self.ended: dict[str, Finished] = {}

    def note_finished(self, end):
        self.ended.setdefault(end.application_id, end)  # the first end counts

    def finished(self, application_id):
        return self.ended.get(application_id)

    def save_contact(self, entry):
        kept = self.contacts.get(entry.application_id)
        if kept is None or kept.as_of <= entry.as_of:  # the newest entry stays
            self.contacts[entry.application_id] = entry

    def contact_for(self, application_id):
        entry = self.contacts.get(application_id)
        if entry is None:
            return None
        return {**entry.contact, "full_name": entry.full_name} if entry.full_name \
            else entry.contact

    def open_message(self, message, handled_before=False) -> str:
        row = self.messages.setdefault(message.message_id, {
            "status": "pending", "attempts": [], "claimed": False, "message": message})
        if row["status"] in ("sent", "failed", "held"):
            return row["status"]
        if row["claimed"]:
            return "in_flight"
        row["claimed"] = True
        return "pending"

    def let_go(self, message_id):
        """This process's claim, no longer used, is free to take again (the
        store's claim by the process; one made by ``open_message`` without
        ``let_go`` stands for another's)."""
        if message_id in self.messages:
            self.messages[message_id]["claimed"] = False

    def take_sms_allowance(self, phone, now, guards):
        key = f"{phone}:{now.astimezone(WIB):%Y%m%d%H}"
        if self.sms_count.get(key, 0) >= guards.per_phone_per_hour:
            return "phone_limit", now + datetime.timedelta(hours=1)
        self.sms_count[key] = self.sms_count.get(key, 0) + 1
        return None

    def take_email_allowance(self, address, now, guards):
        key = f"{address}:{now.astimezone(WIB):%Y%m%d%H}"
        self.email_count[key] = self.email_count.get(key, 0) + 1
        if self.email_count[key] > guards.per_email_per_hour:
            return "email_limit", now + datetime.timedelta(hours=1)
        return None

    def hold(self, message_id, reason, until, message=None):
        self.messages[message_id].update(status="held", reason=reason, due_at=until, claimed=False)

    def record_failure(self, message_id, reason) -> int:
        row = self.messages[message_id]
        row["attempts"].append({"ok": False, "reason": reason})
        row["claimed"] = False
        return len(row["attempts"])

    def record_sent(self, message, provider_ref):
        row = self.messages[message.message_id]
        if row["status"] == "pending":
            row.update(status="sent", provider_ref=provider_ref, claimed=False)
            self.emitted.append({"event": "notification_sent", "channel": message.channel})

    def give_up(self, message, reason):
        self.messages[message.message_id].update(status="failed", claimed=False)
        self.emitted.append({"event": "notification_failed", "channel": message.channel,
                             "reason": reason})

    def claim_due(self, now):
        due = [row for row in self.messages.values()
               if row["status"] == "held" and row["due_at"] <= now]
        for row in due:
            row.update(status="pending", claimed=True)
        return [row["message"] for row in due]


@pytest.fixture
def senders():
    return Senders(sms=FakeSender("sms"), email=FakeSender("email"),
                   whatsapp=FakeSender("whatsapp"))


@pytest.fixture
def store():
    return FakeMessageStore()


def delivery(store, senders, now=NOON, guards=Guards(), max_attempts=4) -> Delivery:
    return Delivery(store, senders, guards, max_attempts, now)


def contact(phone=PHONE, email=EMAIL, preferred=None, language="id") -> dict:
    return {"phone": phone, "email": email, "preferred_channel": preferred, "language": language}


def pickup_event(**contact_fields) -> dict:
    return build_event("document_ready_for_pickup", application_id="app-1",
                       tracking_code="SDK7H3KQ9MX", document_type="ktp_el",
                       print_job_id="job-1", full_name="Siti Aminah",
                       contact=contact(**contact_fields), slot=dict(SLOT))


def dispatched_event() -> dict:
    return build_event("parcel_dispatched", application_id="app-1", tracking_code="SDK7H3KQ9MX",
                       document_type="ktp_el", shipment_id="shp-1", barcode="P123")


def pickup_messages(**contact_fields):
    event = pickup_event(**contact_fields)
    notice = notice_for("document_ready_for_pickup", event, event["contact"])
    return notice, notice.messages()


@pytest.mark.parametrize(("given", "important", "channels"), [
    (contact(), True, ["sms", "email"]),
    (contact(), False, ["sms"]),
    (contact(preferred="email"), False, ["email"]),
    (contact(preferred="email"), True, ["email", "sms"]),
    (contact(preferred="whatsapp"), True, ["whatsapp", "email"]),
    (contact(preferred="whatsapp"), False, ["whatsapp"]),
    (contact(email=None), True, ["sms"]),
    (contact(phone=None), False, ["email"]),
])
def test_important_on_every_channel_given_routine_on_the_preferred(given, important, channels):
    assert first_channels(given, important) == channels


def test_a_whatsapp_phone_falls_back_to_sms_then_email():
    assert channels_given(contact(preferred="whatsapp")) == ["whatsapp", "email", "sms"]


def test_pickup_event_causes_one_sms_and_one_email():
    notice, (sms, email) = pickup_messages()
    assert (sms.channel, sms.address, sms.subject) == ("sms", PHONE, None)
    assert (email.channel, email.address) == ("email", EMAIL)
    assert sms.message_id == f"{notice.event_id}.sms" == sms.reference
    assert email.subject == "KTP-el Anda siap diambil (SDK7H3KQ9MX)" and email.html
    for message in (sms, email):
        assert (message.about, message.kind) == ("document_ready_for_pickup", "ready")


@pytest.mark.parametrize(("lang", "says", "not_said"), [
    ("id", "sedang dicetak", "Kami kabari bila ditolak"),
    ("en", "being printed", "We tell you if refused")])
def test_a_prr_application_is_announced_as_a_card_in_print_not_one_to_check(lang, says,
                                                                             not_said):
    """A PRR application is verified as it is made: no "we check it within
    3 working days" for its citizen; other channels keep the usual notice."""
    def submitted(channel: str) -> dict:
        return build_event("application_submitted", application_id="app-1",
                           tracking_code="SDK7H3KQ9MX", document_type="ktp_el", channel=channel,
                           contact=contact(email=None, language=lang))
    [sms] = notice_for("application_submitted", submitted("prr"), contact(
        email=None, language=lang)).messages()
    assert sms.kind == "prr_received" and says in sms.text and "Pos Indonesia" in sms.text
    assert not_said not in sms.text and "SDK7H3KQ9MX" in sms.text
    [web] = notice_for("application_submitted", submitted("web"), contact(
        email=None, language=lang)).messages()
    assert web.kind == "received" and not_said in web.text


def test_a_notice_without_any_contact_is_nobody_to_tell():
    assert notice_for("parcel_dispatched", dispatched_event(), None) is None
    assert notice_for("parcel_dispatched", dispatched_event(), contact(None, None)) is None


def test_both_channels_delivered_once(store, senders):
    _, messages = pickup_messages()
    for _ in range(3):  # the same event delivered again and again
        assert deliver(messages, delivery(store, senders)) == []
    assert len(senders.sms.sent) == 1 and len(senders.email.sent) == 1
    assert sorted(e["channel"] for e in store.emitted) == ["email", "sms"]


def test_a_copy_in_flight_elsewhere_is_not_sent_but_looked_at_again(store, senders):
    _, messages = pickup_messages()
    store.open_message(messages[0])  # another worker claimed the SMS
    # the retry's log line says it was not tried (not a gateway's failure)
    assert deliver(messages, delivery(store, senders)) == [
        "sms (claimed by another delivery: not tried now)"]
    assert senders.sms.sent == [] and len(senders.email.sent) == 1


def test_gateway_failure_means_retry_while_the_email_still_goes(store, senders):
    senders.sms.failing = True
    _, messages = pickup_messages()
    assert deliver(messages, delivery(store, senders)) == ["sms"]
    assert len(senders.email.sent) == 1
    senders.sms.failing = False  # back: the event is redelivered
    assert deliver(messages, delivery(store, senders)) == []
    assert len(senders.sms.sent) == 1 and len(senders.email.sent) == 1


def test_a_channel_down_for_good_is_given_up_and_the_next_one_takes_over(store, senders):
    senders.sms.failing = True
    event = dispatched_event()  # routine: the preferred channel (SMS) only
    notice = notice_for("parcel_dispatched", event, contact())
    for _ in range(3):
        assert deliver(notice.messages(), delivery(store, senders), notice.message) == ["sms"]
    assert senders.email.sent == []
    # the last attempt of the retry schedule: give up, fall back to e-mail
    assert deliver(notice.messages(), delivery(store, senders), notice.message) == []
    assert [m.channel for m in senders.email.sent] == ["email"]
    assert [e["event"] for e in store.emitted] == ["notification_failed", "notification_sent"]
    assert store.emitted[0]["reason"] == "sms answered 503"


def test_copies_of_an_event_do_not_use_up_its_retry_schedule(store, senders):
    # delivery is at-least-once: two copies of one event, each failing at
    # each of its first deliveries, record twice the failed attempts. The
    # channel is given up on the event's last delivery, not on the count
    senders.sms.failing = True
    notice = notice_for("parcel_dispatched", dispatched_event(), contact())
    for _ in range(2):  # the first 2 deliveries of each copy: 4 failed attempts of 3
        for _copy in range(2):
            assert deliver(notice.messages(), replace(delivery(store, senders, max_attempts=3),
                                                      last_delivery=False),
                           notice.message) == ["sms"]
    assert senders.email.sent == [] and store.emitted == []
    # the last delivery of the retry schedule: give up, fall back to e-mail
    assert deliver(notice.messages(), replace(delivery(store, senders, max_attempts=3),
                                              last_delivery=True), notice.message) == []
    assert [m.channel for m in senders.email.sent] == ["email"]
    assert [e["event"] for e in store.emitted] == ["notification_failed", "notification_sent"]


def test_quiet_hours_hold_sms_and_whatsapp_but_not_email(store, senders):
    at_22 = datetime.datetime(2026, 11, 29, 22, 0, tzinfo=WIB)
    _, messages = pickup_messages()
    assert deliver(messages, delivery(store, senders, at_22, QUIET)) == []
    assert senders.sms.sent == [] and len(senders.email.sent) == 1
    held = store.messages[messages[0].message_id]
    assert held["status"] == "held" and held["reason"] == "quiet_hours"
    assert held["due_at"] == datetime.datetime(2026, 11, 30, 6, 0, tzinfo=WIB)

    before_six = datetime.datetime(2026, 11, 30, 5, 59, tzinfo=WIB)
    assert send_due(store.claim_due(before_six), delivery(store, senders, before_six, QUIET)) == 0
    six = datetime.datetime(2026, 11, 30, 6, 0, tzinfo=WIB)
    assert send_due(store.claim_due(six), delivery(store, senders, six, QUIET)) == 1
    assert len(senders.sms.sent) == 1


def test_a_citizens_e_mails_count_against_their_address_an_officers_list_does_not(store,
                                                                                  senders):
    """E-mails to an address a submission named wait past
    ``per_email_per_hour`` (outside audit N1); a hand-over list to an
    officer's configured mailbox is not counted - its citizens' are."""
    guards = Guards(per_email_per_hour=0)
    event = build_event("kecamatan_handover_ready", kecamatan_code="367304", day="2026-11-30",
                        at_office_from="2026-12-01", items=[{
                            "application_id": "app-1", "tracking_code": "SDK7H3KQ9M1",
                            "full_name": "Siti Aminah", "document_type": "ktp_el"}])
    store.contacts["app-1"] = BookEntry("app-1", contact(phone=None), "Siti Aminah", NOON)
    officer, citizen = notices_for("kecamatan_handover_ready", event, store.contact_for,
                                   lambda audience, _: {"email": "camat@serangkota.go.id",
                                                        "language": "id"})
    for notice in (officer, citizen):
        assert deliver(notice.messages(), delivery(store, senders, guards=guards)) == []
    assert [m.address for m in senders.email.sent] == ["camat@serangkota.go.id"]
    [held] = [row for row in store.messages.values() if row["status"] == "held"]
    assert (held["message"].address, held["reason"]) == (EMAIL, "email_limit")


@pytest.mark.parametrize(("hour", "minute", "quiet"), [
    (20, 59, False), (21, 0, True), (23, 30, True), (0, 0, True), (5, 59, True), (6, 0, False)])
def test_quiet_hours_span_midnight(hour, minute, quiet):
    at = datetime.datetime(2026, 11, 29, hour, minute, tzinfo=WIB)
    assert (QUIET.quiet_until(at) is not None) == quiet
    assert Guards().quiet_until(at) is None  # off


def test_per_phone_limit_holds_the_sixth_sms_of_the_hour(store, senders):
    for _ in range(7):
        notice = notice_for("parcel_dispatched", dispatched_event(), contact())
        deliver(notice.messages(), delivery(store, senders))
    assert len(senders.sms.sent) == 5
    assert [row["reason"] for row in store.messages.values() if row["status"] == "held"] \
        == ["phone_limit", "phone_limit"]


def test_logs_show_masked_addresses_only(store, senders, caplog):
    caplog.set_level(logging.INFO, logger="services.notification")
    senders.email.failing = True
    _, messages = pickup_messages()
    deliver(messages, delivery(store, senders))
    assert "sms sent for SDK7H3KQ9MX to +6281******890" in caplog.text
    # a failure names the application as a success does (the operator's question)
    assert "email for SDK7H3KQ9MX to s***@example.id failed (attempt 1 of " in caplog.text
    assert PHONE not in caplog.text and EMAIL not in caplog.text


def test_a_log_line_names_a_notice_of_no_application_by_what_it_is_about():
    """Outside audit H: an officer's list e-mail was logged "email sent for  to k***"."""
    message = OutgoingMessage(message_id="e1.email", about="batch_ready_for_kelurahan",
                              kind="batch_ready", application_id="JB-3673041010-20261204-AB12CD",
                              tracking_code="", channel="email", address="k@serangkota.go.id",
                              language="id", text="...")
    assert message.named == "batch_ready_for_kelurahan JB-3673041010-20261204-AB12CD"
    assert replace(message, tracking_code="SDK7H3KQ9MX").named == "SDK7H3KQ9MX"


def test_the_handler_raises_so_the_broker_redelivers(store, senders):
    settings = Settings(Guards(), max_attempts=4, clock=lambda: NOON)
    service = worker_factory(NotificationEvents, store=store, sms=senders.sms,
                             mail=senders.email, whatsapp=senders.whatsapp, settings=settings,
                             sent=SentMemory(), last_delivery=False)
    senders.sms.failing = True
    with pytest.raises(DeliveryFailed, match="^sms$"):
        service.on_document_ready_for_pickup(pickup_event())
    assert len(senders.email.sent) == 1


def test_a_parcel_notice_goes_to_the_contact_book_entry(store, senders):
    settings = Settings(Guards(), max_attempts=4, clock=lambda: NOON)
    service = worker_factory(NotificationEvents, store=store, sms=senders.sms,
                             mail=senders.email, whatsapp=senders.whatsapp, settings=settings,
                             sent=SentMemory(), last_delivery=False)
    submitted = build_event("application_submitted", application_id="app-1",
                            tracking_code="SDK7H3KQ9MX", document_type="ktp_el", channel="web",
                            contact=contact(preferred="email"))
    service.on_application_submitted(submitted)
    service.on_parcel_dispatched(dispatched_event())
    assert [m.kind for m in senders.email.sent] == ["received", "dispatched"]
    assert senders.sms.sent == []


def test_sent_but_not_recorded_is_recorded_on_the_retry_not_sent_again(store, senders):
    """The database failed right after the partner accepted the message."""
    from services.notification.domain import SentMemory
    from shared.errors import DatabaseUnavailable
    memory = SentMemory()
    record_sent = store.record_sent
    store.record_sent = lambda message, ref: (_ for _ in ()).throw(DatabaseUnavailable())
    _, messages = pickup_messages(phone=None)
    with pytest.raises(DatabaseUnavailable):
        deliver(messages, Delivery(store, senders, Guards(), 4, NOON, memory))
    store.record_sent = record_sent
    store.messages[messages[0].message_id]["claimed"] = False  # the claim lapsed
    assert deliver(messages, Delivery(store, senders, Guards(), 4, NOON, memory)) == []
    assert len(senders.email.sent) == 1
    assert store.messages[messages[0].message_id]["provider_ref"] == "email-1"


def test_the_delivery_log_sends_null_for_what_a_message_has_not_had():
    """A message waiting for its first try has no send time, gateway id,
    error or hold yet: each is null in the operators' log (docs/api.md), not
    left out."""
    from services.notification.schemas import DeliveryLogSchema, FailedMessagesSchema
    pending = {"_id": "e1.sms", "about": "document_ready_for_pickup", "kind": "ready",
               "channel": "sms", "status": "pending", "created_at": NOON, "attempts": []}
    [logged] = DeliveryLogSchema().dump({"application_id": "app-1", "messages": [pending]})["messages"]
    not_yet = ("sent_at", "gateway_id", "last_error", "held_reason", "due_at", "dropped_at",
               "dropped_because")
    assert {key: logged[key] for key in not_yet} == dict.fromkeys(not_yet)
    failed = {**pending, "status": "failed", "last_error": "gateway answered 502",
              "application_id": "app-1", "tracking_code": "SDK7H3KQ9MX"}
    [listed] = FailedMessagesSchema().dump({"messages": [failed]})["messages"]
    assert listed["last_error"] == "gateway answered 502" and listed["due_at"] is None


def moved_event(day: str, minute: int) -> dict:
    return {**build_event("pickup_rescheduled", application_id="app-1",
                          tracking_code="SDK7H3KQ9MX", document_type="ktp_el",
                          print_job_id="job-1", slot={**SLOT, "date": day},
                          contact=contact(email=None)),
            "occurred_at": (NOON + datetime.timedelta(minutes=minute)).isoformat()}


def held_windows() -> list:
    """The report's citizen: the window moved five times within the hour."""
    return [notice_for("pickup_rescheduled", event, event["contact"]).messages()[0]
            for event in (moved_event(day, minute) for minute, day in enumerate(
                ("2026-12-03", "2026-12-24", "2027-06-03", "9999-12-31", "2026-12-04")))]


def filed(messages) -> list:
    return [Filed(m.message_id, m.application_id, m.kind, m.occurred_at) for m in messages]


def test_a_held_window_a_later_one_replaced_is_superseded_only_the_latest_goes():
    windows = held_windows()
    due = windows[1:]  # the first went out; four were held by the hour's limit
    assert outdated(due, filed(windows), {}) == {
        m.message_id: ("superseded", windows[-1].message_id) for m in windows[1:-1]}
    # a "ready" notice is a pickup window too; another kind is not replaced by it
    ready = replace(notice_for("document_ready_for_pickup", pickup_event(),
                               contact()).messages()[0],
                    occurred_at=NOON - datetime.timedelta(minutes=1))
    dispatched = notice_for("parcel_dispatched", dispatched_event(), contact()).messages()[0]
    dispatched = replace(dispatched, occurred_at=NOON - datetime.timedelta(minutes=1))
    assert outdated([ready, dispatched], filed([ready, dispatched, *windows]), {}) == {
        ready.message_id: ("superseded", windows[-1].message_id)}


def receipt_and_ready(minutes_between: int = 1) -> tuple:
    """An application's "received" SMS and, ``minutes_between`` later, its "ready" SMS."""
    submitted = build_event("application_submitted", application_id="app-1",
                            tracking_code="SDK7H3KQ9MX", document_type="ktp_el", channel="web",
                            contact=contact(email=None))
    [receipt] = notice_for("application_submitted", submitted, contact(email=None)).messages()
    [ready] = notice_for("document_ready_for_pickup", pickup_event(email=None),
                         contact(email=None)).messages()
    return (replace(receipt, occurred_at=NOON),
            replace(ready, occurred_at=NOON + datetime.timedelta(minutes=minutes_between)))


def test_a_receipt_held_past_a_later_notice_is_superseded_by_it():
    """Outside audit S2: "received, we check it within 3 working days" -
    held as a fallback, or retried past an SMS outage - reached the citizen
    after their "ready". Any later notice of the application replaces a
    receipt; a receipt replaces nothing, and an earlier notice does not."""
    receipt, ready = receipt_and_ready()
    assert kinds_replacing(["received"]) is None and kinds_replacing(["ready"]) == {
        "ready", "returned", "pickup_moved"}
    assert outdated([receipt], filed([receipt, ready]), {}) == {
        receipt.message_id: ("superseded", ready.message_id)}
    assert outdated([ready], filed([receipt, ready]), {}) == {}
    receipt, before = receipt_and_ready(-1)  # a notice that happened before it
    assert outdated([receipt], filed([receipt, before]), {}) == {}


def test_held_windows_from_before_the_document_was_collected_are_withdrawn():
    windows = held_windows()
    collected = build_event("document_collected", application_id="app-1",
                            tracking_code="SDK7H3KQ9MX", document_type="ktp_el",
                            print_job_id="job-1", collected_by="counter-1")
    collected["occurred_at"] = (NOON + datetime.timedelta(minutes=49)).isoformat()
    end = finished_by("document_collected", collected)
    assert end == Finished("app-1", "document_collected", NOON + datetime.timedelta(minutes=49))
    assert outdated(windows[1:], filed(windows), {"app-1": end}) == {
        m.message_id: ("withdrawn", "document_collected") for m in windows[1:]}
    # the notice of the finishing event itself (delivered, cancelled) still goes
    later = replace(windows[-1], occurred_at=end.occurred_at)
    assert outdated([later], filed([later]), {"app-1": end}) == {}
    assert finished_by("pickup_rescheduled", moved_event("2026-12-03", 0)) is None


def test_a_parcel_notice_from_before_the_parcel_was_delivered_no_longer_applies():
    dispatched = dispatched_event()
    dispatched["occurred_at"] = NOON.isoformat()
    delivered = Finished("app-1", "parcel_delivered", NOON + datetime.timedelta(hours=3))
    assert told_from_the_book("parcel_dispatched", dispatched)
    assert ended_before(dispatched, delivered)
    assert not ended_before(dispatched, None)
    assert not ended_before(dispatched, replace(delivered, occurred_at=NOON))  # its own end
    assert not ended_before({**dispatched, "occurred_at": "?"}, delivered)  # no time: sent
    # an event with its own contact is not read from the book
    assert not told_from_the_book("document_ready_for_pickup", pickup_event())


def test_only_notices_about_an_application_say_so_in_their_outcome():
    """notification_sent / _failed name an application: a booking's or an
    officer's notice is filed under something else and emits neither."""
    [citizen] = notice_for("parcel_dispatched", dispatched_event(), contact(email=None)).messages()
    booking = build_event("recording_appointment_booked", appointment_id="apt-1",
                          booking_code="REK123", place_id="kec-curug", place_name="Kantor",
                          place_address="Jl. Raya", day="2026-12-01", contact=contact())
    [appointment] = notice_for("recording_appointment_booked", booking,
                                  booking["contact"]).messages()
    station = build_event("blanko_low", station_id="station-serang-1", place_id="disdukcapil-serang",
                          stock_left=10, threshold=50)
    [officers] = notice_for("blanko_low", station, {"email": "ops@example.id"}).messages()
    assert citizen.about_an_application
    assert not appointment.about_an_application and not officers.about_an_application
    assert officers.application_id == "station-serang-1"  # still its delivery log's key


def test_a_reprint_s_window_the_citizen_was_told_already_tells_nothing():
    """Outside audit E: a reprint landing in the window announced for the
    print it replaced sent the same "ready" SMS again."""
    from shared.events import load_event
    told = load_event("document_ready_for_pickup", {**pickup_event(), "window_told": True})
    assert notices_for("document_ready_for_pickup", told, lambda _: None, None) == []
    fresh = load_event("document_ready_for_pickup", pickup_event())
    assert fresh["window_told"] is False  # absent in older events
    assert len(notices_for("document_ready_for_pickup", fresh, lambda _: None, None)) == 1


def test_an_e_mail_beside_whatsapp_given_up_sends_no_sms_to_the_phone_whatsapp_reached(
        store, senders):
    """A review (forty-fifth session): an important notice went by WhatsApp
    and e-mail; the e-mail given up brought an SMS to the phone WhatsApp had
    reached. Only WhatsApp's failure brings the SMS - once."""
    senders.email.failing = True
    last = replace(delivery(store, senders), last_delivery=True)
    notice, messages = pickup_messages(preferred="whatsapp")
    assert [m.channel for m in messages] == ["whatsapp", "email"]
    assert deliver(messages, last, notice.message) == []
    assert [m.channel for m in senders.whatsapp.sent] == ["whatsapp"] and senders.sms.sent == []
    # both down for good: WhatsApp's SMS goes, the e-mail's brings no second
    other, both = FakeMessageStore(), Senders(sms=FakeSender("sms"), email=FakeSender("email"),
                                              whatsapp=FakeSender("whatsapp"))
    both.email.failing = both.whatsapp.failing = True
    last = replace(delivery(other, both), last_delivery=True)
    assert deliver(messages, last, notice.message) == []
    assert [m.message_id for m in both.sms.sent] == [f"{notice.event_id}.sms"]


def test_a_stand_in_failing_on_its_events_last_delivery_is_left_to_the_sweeper(store, senders):
    """A review (forty-fifth session): a stand-in made on its event's last
    delivery had one try - failing once (its gateway out a moment), it was
    given up too. It is held for the sweeper, which retries it."""
    senders.sms.failing = senders.email.failing = True
    notice = notice_for("parcel_dispatched", dispatched_event(), contact())  # SMS, then e-mail
    last = replace(delivery(store, senders), last_delivery=True)
    assert deliver(notice.messages(), last, notice.message) == []
    email = store.messages[f"{notice.event_id}.email"]
    assert (email["status"], email["reason"]) == ("held", "retry")
    assert [e["event"] for e in store.emitted] == ["notification_failed"]  # the SMS only
    senders.email.failing = False
    later = NOON + datetime.timedelta(minutes=1)
    assert send_due(store.claim_due(later), delivery(store, senders, later)) == 1
    assert [m.channel for m in senders.email.sent] == ["email"]


def test_sent_but_not_recorded_is_recorded_on_its_retry_in_quiet_hours_not_held(store, senders):
    """A review (forty-fifth session): sent at 20:59:58, its record failed;
    the retry at 21:00 held it for the quiet hours (and counted it against
    the phone's hour again) instead of recording what was sent."""
    from shared.errors import DatabaseUnavailable
    memory = SentMemory()
    record_sent = store.record_sent
    store.record_sent = lambda message, ref: (_ for _ in ()).throw(DatabaseUnavailable())
    notice = notice_for("parcel_dispatched", dispatched_event(), contact())  # SMS only
    before = datetime.datetime(2026, 11, 29, 20, 59, 58, tzinfo=WIB)
    with pytest.raises(DatabaseUnavailable):
        deliver(notice.messages(), Delivery(store, senders, QUIET, 4, before, memory))
    store.record_sent = record_sent
    store.let_go(notice.messages()[0].message_id)
    at_21 = datetime.datetime(2026, 11, 29, 21, 0, tzinfo=WIB)
    assert deliver(notice.messages(), Delivery(store, senders, QUIET, 4, at_21, memory)) == []
    row = store.messages[notice.messages()[0].message_id]
    assert (row["status"], row["provider_ref"]) == ("sent", "sms-1")
    assert len(senders.sms.sent) == 1 and sum(store.sms_count.values()) == 1


def test_a_re_send_failing_again_is_given_up_at_once(store, senders):
    """docs/api.md: one attempt per re-send. A message refused for good
    after one attempt had the rest of the sweeper's count (a review)."""
    senders.sms.failing = True
    notice = notice_for("parcel_dispatched", dispatched_event(), contact(email=None))
    resent = replace(notice.messages()[0], resends=1)
    store.open_message(resent)
    store.hold(resent.message_id, "resend", NOON)
    assert send_due(store.claim_due(NOON), delivery(store, senders)) == 0
    assert store.messages[resent.message_id]["status"] == "failed"
    assert [e["event"] for e in store.emitted] == ["notification_failed"]
