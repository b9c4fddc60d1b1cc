"""Notification's delivery against the real broker, database server, SMTP
server and sandboxes, with settings of its own per test: the events
container runs in-process (``container_factory``) so a test can give it a
retry schedule, limits, or (quiet hours) a clock it moves.

* the SMS gateway down for 30 s: other citizens' e-mails keep going, the SMS
  arrives after it returns, nothing is dead-lettered;
* down for good: one ``notification_failed`` for SMS, the e-mail takes over;
  two copies of one event (at-least-once) do not give up before the end of
  the retry schedule;
* a copy published again from kept events (a broker lost its state) is
  sent if it is the first this consumer sees, and only once;
* a gateway that hangs holds up nobody else's message;
* per-number limit and daily budget under a burst;
* an SMS due at 22:00 WIB waits and leaves at 06:00;
* SMS held by the per-number limit are not sent when the hour turns if the
  citizen moved the pickup window again since (only the latest window goes)
  or the document was collected meanwhile (none goes);
* a rejection with every reason and a 2,000-character note of many lines
  goes by WhatsApp in parameters the Cloud API (its sandbox, enforcing
  Meta's rules) takes: one line each, cut short saying where to read it all.
"""

from __future__ import annotations

import datetime
import threading
import time
import uuid

import requests
from nameko.testing.services import replace_dependencies
from prometheus_client import REGISTRY

from deploy.dlq import connect, depth
from deploy.local.stack import DEV_SETTINGS
from services.intake.reasons import CATALOGUE, reason_texts
from services.notification.service import NotificationEvents
from services.notification.settings import settings_from_config
from shared.clock import WIB
from shared.events import build_event
from shared.messaging import handler_queue_name, wait_queue_name
from shared.outbox import REPUBLISHED_HEADER
from tests.helpers import BrokerProbe, eventually, publish, random_mobile, service_config

SLOT = {"place": "Kantor Kecamatan Curug", "address": "Jl. Raya Curug No. 1, Kota Serang",
        "date": "2026-12-01", "start": "09:00", "end": "10:00"}
READY_QUEUE = handler_queue_name("printing", "document_ready_for_pickup", "notification",
                                 "on_document_ready_for_pickup")


class FakeClock:
    def __init__(self, now: datetime.datetime):
        self.now = now

    def __call__(self) -> datetime.datetime:
        return self.now


def start_notification(backing, container_factory, clock=None, **settings) -> str:
    database = f"notification_{uuid.uuid4().hex[:8]}"
    config = service_config(backing, database, **{
        "WHATSAPP_API_URL": backing.url("whatsapp"), "WHATSAPP_TOKEN": "sandbox-whatsapp-token",
        "WHATSAPP_PHONE_NUMBER_ID": "100200300", "QUIET_HOURS": "off",
        "MAIL_FROM": DEV_SETTINGS["MAIL_FROM"], "MAIL_DOMAIN": DEV_SETTINGS["MAIL_DOMAIN"],
        **settings})
    container = container_factory(NotificationEvents, config)
    if clock is not None:
        replace_dependencies(container, settings=settings_from_config(config, clock))
    container.start()
    return database


def citizen(phone: bool = True, email: bool = True, preferred: str | None = None) -> dict:
    return {"phone": "+62" + random_mobile()[1:] if phone else None,
            "email": f"warga.{uuid.uuid4().hex[:10]}@example.id" if email else None,
            "language": "id", "preferred_channel": preferred}


def ready(backing, contact: dict, **extra) -> dict:
    event = build_event("document_ready_for_pickup", application_id=uuid.uuid4().hex,
                        tracking_code="SDK" + uuid.uuid4().hex[:8].upper(),
                        document_type="ktp_el", print_job_id="job-1", full_name="Siti",
                        contact=contact, slot=SLOT, **extra)
    publish(backing.amqp_uri, "printing.events", "document_ready_for_pickup", event)
    return event


def sms_to(backing, phone: str) -> list[dict]:
    return requests.get(backing.url("sms") + "/sandbox/messages", params={"to": phone[1:]},
                        timeout=5).json()


def mails_to(backing, address: str) -> list:
    import mailbox
    return [m for m in mailbox.Maildir(str(backing.maildir), create=False) if m["To"] == address]


def sms_faults(backing, **spec) -> None:
    spec = {"fail_next": 0, "status": 503, "delay_ms": 0, "only_to": None, **spec}
    assert requests.post(backing.url("sms") + "/sandbox/faults", json=spec, timeout=5).ok


def dead_letters(backing, queue: str) -> int:
    connection = connect(backing.amqp_uri)
    try:
        return depth(connection.channel(), queue + ".dlq")
    finally:
        connection.close()


def message_row(mongo, database: str, event: dict, channel: str) -> dict | None:
    return mongo[database].messages.find_one({"_id": f"{event['event_id']}.{channel}"})


def test_sms_gateway_down_30_seconds(backing, container_factory, mongo):
    # growing delays, short enough for a test: retries at 3, 9, 21 and 45 s. Five
    # deliveries in all: within the handler queue's DELIVERY_LIMIT (5), which a
    # longer schedule ran into here (the 6th delivery never reached the handler)
    start_notification(backing, container_factory, RETRY_DELAYS="3,6,12,24")
    dead_before = dead_letters(backing, READY_QUEUE)
    sms_faults(backing, fail_next=10**6)
    back_at = time.monotonic() + 30
    down = [True]

    def sms_after_the_outage():
        if down[0] and time.monotonic() >= back_at:  # 30 s on: the gateway is back
            sms_faults(backing)
            down[0] = False
        return sms_to(backing, first["phone"])
    try:
        first = citizen()
        first_event = ready(backing, first)
        eventually(lambda: mails_to(backing, first["email"]), what="the first citizen's e-mail")
        # while the gateway is down, another citizen's e-mail goes out
        other = citizen(phone=False)
        ready(backing, other)
        eventually(lambda: mails_to(backing, other["email"]), what="another citizen's e-mail")
        assert down[0] and sms_to(backing, first["phone"]) == []

        try:
            texts = eventually(sms_after_the_outage, timeout=90,
                               what="the SMS after the gateway is back")
        except AssertionError:
            connection = connect(backing.amqp_uri)
            waiting = {delay: depth(connection.channel(), wait_queue_name(delay))
                       for delay in (3, 6, 12, 24)}
            waiting["dlq"] = dead_letters(backing, READY_QUEUE)
            connection.close()
            raise AssertionError(f"SMS never retried after the outage; wait queues: {waiting}")
        assert not down[0] and len(texts) == 1
        # the gateway has it; the row says so a moment later
        row = eventually(lambda: (lambda r: r if r and r["status"] == "sent" else None)(
            message_row(mongo, database_of(mongo, first_event), first_event, "sms")),
            what="the SMS row recorded sent")
        assert len(row["attempts"]) >= 3
        assert dead_letters(backing, READY_QUEUE) == dead_before
    finally:
        sms_faults(backing)


def database_of(mongo, event: dict) -> str:
    """The test database holding the event's messages."""
    for name in mongo.list_database_names():
        if name.startswith("notification_") and mongo[name].messages.find_one(
                {"_id": f"{event['event_id']}.sms"}):
            return name
    raise AssertionError("no database holds the message")


def test_sms_down_for_good_falls_back_to_email_with_one_notification_failed(
        backing, container_factory, mongo):
    database = start_notification(backing, container_factory, RETRY_DELAYS="0.2,0.4")
    probe = BrokerProbe(backing.amqp_uri, "notification.events", "notification_failed")
    sms_faults(backing, fail_next=10**6)
    try:
        contact = citizen(preferred="sms")  # a routine notice: the preferred channel first
        event = build_event("tracking_code_resend_requested", application_id=uuid.uuid4().hex,
                            tracking_code="SDK" + uuid.uuid4().hex[:8].upper(),
                            document_type="ktp_el", contact=contact)
        publish(backing.amqp_uri, "intake.events", "tracking_code_resend_requested", event)
        [mail] = eventually(lambda: mails_to(backing, contact["email"]), what="e-mail fallback")
        plain = next(part for part in mail.walk() if part.get_content_type() == "text/plain")
        assert event["tracking_code"] in plain.get_payload(decode=True).decode()
        failed = eventually(lambda: [body for _, body in probe.drain()
                                     if body["application_id"] == event["application_id"]],
                            what="notification_failed")
        assert [(f["channel"], f["reason"]) for f in failed] == [
            ("sms", "sms gateway answered 503")]
        row = message_row(mongo, database, event, "sms")
        assert row["status"] == "failed" and row["last_error"] == "sms gateway answered 503"
        assert len(row["attempts"]) == 3  # the whole retry schedule, then given up
        queue = handler_queue_name("intake", "tracking_code_resend_requested", "notification",
                                   "on_tracking_code_resend_requested")
        assert dead_letters(backing, queue) == 0
    finally:
        sms_faults(backing)
        probe.close()


def test_two_copies_of_an_event_give_up_only_at_the_end_of_its_retry_schedule(
        backing, container_factory, mongo):
    # each copy's failed attempts are recorded on the one message; counting
    # them gave up after 3 of them - the second delivery of the first copy,
    # ~1 s in - instead of the schedule's last delivery, 3 s in
    database = start_notification(backing, container_factory, RETRY_DELAYS="1,2",
                                  SMS_PER_PHONE_PER_HOUR="100")
    sms_faults(backing, fail_next=10**6)
    try:
        contact = citizen(preferred="sms")
        event = build_event("tracking_code_resend_requested", application_id=uuid.uuid4().hex,
                            tracking_code="SDK" + uuid.uuid4().hex[:8].upper(),
                            document_type="ktp_el", contact=contact)
        for _ in range(2):
            publish(backing.amqp_uri, "intake.events", "tracking_code_resend_requested", event)
        eventually(lambda: mails_to(backing, contact["email"]), what="e-mail fallback")
        row = message_row(mongo, database, event, "sms")
        assert row["status"] == "failed"
        assert (row["failed_at"] - row["created_at"]).total_seconds() >= 2.9, row["attempts"]
        assert len(mails_to(backing, contact["email"])) == 1
    finally:
        sms_faults(backing)


def test_a_copy_published_again_is_sent_if_first_seen_and_then_only_looked_up(
        backing, container_factory, mongo):
    """A copy marked as published again (shared.messaging.Republished) may be
    the first this consumer sees - the broker lost the original before it
    came: it is sent all the same. Once its messages are sent, another copy
    only reads them: no claim, no insert refused (bench/README.md,
    "Publishing kept events again": notification was the consumer the
    others waited for)."""
    database = start_notification(backing, container_factory)
    contact = citizen()
    event = build_event("document_ready_for_pickup", application_id=uuid.uuid4().hex,
                        tracking_code="SDK" + uuid.uuid4().hex[:8].upper(),
                        document_type="ktp_el", print_job_id="job-1", full_name="Siti",
                        contact=contact, slot=SLOT)
    handled = handled_count("on_document_ready_for_pickup")
    for copy in (1, 2):
        inserts = message_inserts()
        publish(backing.amqp_uri, "printing.events", "document_ready_for_pickup", event,
                headers={REPUBLISHED_HEADER: 1})
        eventually(lambda: handled_count("on_document_ready_for_pickup") == handled + copy,
                   what=f"copy {copy} handled")
        assert all(message_row(mongo, database, event, channel)["status"] == "sent"
                   for channel in ("sms", "email"))
    assert message_inserts() == inserts  # the second copy: its two messages read, none inserted
    assert len(sms_to(backing, contact["phone"])) == 1
    assert len(mails_to(backing, contact["email"])) == 1


def handled_count(handler: str) -> float:
    return REGISTRY.get_sample_value("smartdukcapil_events_total", {
        "service": "notification", "handler": handler, "outcome": "handled"}) or 0


def message_inserts() -> float:
    return REGISTRY.get_sample_value("smartdukcapil_db_commands_total", {
        "service": "notification", "command": "insert", "collection": "messages"}) or 0


def test_a_hanging_gateway_holds_up_nobody_else(backing, container_factory, mongo):
    database = start_notification(backing, container_factory, SMS_TIMEOUT_SECONDS=3,
                                  RETRY_DELAYS="0.5,1,2")
    sms_faults(backing, delay_ms=15_000)  # answers, but only after 15 s
    try:
        slow = citizen(email=False)
        slow_event = ready(backing, slow)
        eventually(lambda: message_row(mongo, database, slow_event, "sms"), what="SMS claimed")
        others = [citizen(phone=False) for _ in range(3)]
        for contact in others:
            ready(backing, contact)
        for contact in others:
            eventually(lambda: mails_to(backing, contact["email"]), what="others' e-mails")
        # they went while the first SMS was still waiting on the gateway
        assert message_row(mongo, database, slow_event, "sms")["attempts"] == []
        sms_faults(backing)
        eventually(lambda: (message_row(mongo, database, slow_event, "sms") or {}).get(
            "status") == "sent", what="the SMS sent once the gateway answers")
        # the timed-out request did reach the gateway: the retry's reference was a duplicate
        assert len(sms_to(backing, slow["phone"])) == 1
    finally:
        sms_faults(backing)


def test_per_number_limit_and_daily_budget_hold_under_a_burst(backing, container_factory, mongo):
    database = start_notification(backing, container_factory, SMS_PER_PHONE_PER_HOUR=3,
                                  SMS_DAILY_BUDGET=5)
    busy = citizen(email=False)
    others = [citizen(email=False) for _ in range(4)]
    contacts = [busy] * 6 + others
    threads = [threading.Thread(target=ready, args=(backing, contact)) for contact in contacts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    def settled():
        rows = list(mongo[database].messages.find({}, {"status": 1, "held_reason": 1}))
        return rows if len(rows) == 10 and all(r["status"] in ("sent", "held") for r in rows) \
            else None
    rows = eventually(settled, what="every SMS sent or held")
    sent = [r for r in rows if r["status"] == "sent"]
    held = [r for r in rows if r["status"] == "held"]
    assert len(sent) == 5 and len(held) == 5  # the day's budget
    at_gateway = {c["phone"]: len(sms_to(backing, c["phone"])) for c in [busy] + others}
    assert sum(at_gateway.values()) == 5 and at_gateway[busy["phone"]] <= 3
    assert {r["held_reason"] for r in held} <= {"phone_limit", "daily_budget"}
    assert sum(r["held_reason"] == "phone_limit" for r in held) >= 6 - 3 - (
        sum(r["held_reason"] == "daily_budget" for r in held))
    [day] = mongo[database].sms_counters.find({"_id": {"$regex": "^day:"}})
    assert day["sent"] == 5


def test_e_mails_to_one_address_are_limited_an_hour(backing, container_factory, mongo):
    """Outside audit N1: a submission names any e-mail address, and each sent
    the Dinas' e-mail there (8 submissions, 8 e-mails to a stranger's box).
    Past EMAIL_PER_ADDRESS_PER_HOUR a citizen's e-mail waits for the next
    hour (held, email_limit), whoever submitted."""
    database = start_notification(backing, container_factory, EMAIL_PER_ADDRESS_PER_HOUR=2)
    victim = citizen(phone=False)
    for _ in range(4):
        ready(backing, victim)

    def settled():
        rows = list(mongo[database].messages.find({"address": victim["email"]},
                                                  {"status": 1, "held_reason": 1}))
        return rows if len(rows) == 4 and all(r["status"] in ("sent", "held") for r in rows) \
            else None
    rows = eventually(settled, what="every e-mail sent or held")
    assert sorted((r["status"], r.get("held_reason") or "") for r in rows) == [
        ("held", "email_limit"), ("held", "email_limit"), ("sent", ""), ("sent", "")]
    assert len(mails_to(backing, victim["email"])) == 2


def test_an_sms_due_at_22_wib_leaves_at_06(backing, container_factory, mongo):
    clock = FakeClock(datetime.datetime(2026, 11, 30, 22, 0, tzinfo=WIB))
    database = start_notification(backing, container_factory, clock=clock,
                                  QUIET_HOURS="21:00-06:00")
    contact = citizen()
    event = ready(backing, contact)
    eventually(lambda: mails_to(backing, contact["email"]), what="the e-mail, at once")
    row = eventually(lambda: message_row(mongo, database, event, "sms"), what="the SMS row")
    assert row["status"] == "held" and row["held_reason"] == "quiet_hours"
    assert row["due_at"] == datetime.datetime(2026, 12, 1, 6, 0, tzinfo=WIB)
    assert sms_to(backing, contact["phone"]) == []

    clock.now = datetime.datetime(2026, 12, 1, 6, 0, tzinfo=WIB)
    [text] = eventually(lambda: sms_to(backing, contact["phone"]), what="the SMS at 06:00")
    assert event["tracking_code"] in text["message"]
    eventually(lambda: message_row(mongo, database, event, "sms")["status"] == "sent",
               what="the SMS row recorded sent")



def moved(backing, application: dict, contact: dict, day: str, start: str = "09:00") -> dict:
    """The citizen moved the pickup window (``pickup_rescheduled``)."""
    slot = {**SLOT, "date": day, "start": start, "end": f"{int(start[:2]) + 1:02d}:00"}
    event = build_event("pickup_rescheduled", **application, print_job_id="job-1", slot=slot,
                        contact=contact)
    publish(backing.amqp_uri, "printing.events", "pickup_rescheduled", event)
    return event


def moved_five_times_in_an_hour(backing, mongo, database: str) -> tuple[dict, dict, list[dict]]:
    """One application whose window moved five times between 21:00 and 22:00
    WIB, one SMS a number an hour: the first SMS is sent, four are held until
    22:00 (the report's citizen: 3 Dec, 24 Dec, 3 Jun 2027, 31 Dec 9999, 4 Dec)."""
    contact = citizen(email=False)
    application = {"application_id": uuid.uuid4().hex, "document_type": "ktp_el",
                   "tracking_code": "SDK" + uuid.uuid4().hex[:8].upper()}
    moved(backing, application, contact, "2026-12-03")
    eventually(lambda: sms_to(backing, contact["phone"]), what="the first SMS")
    later = []
    for day, start in (("2026-12-24", "09:00"), ("2027-06-03", "09:00"),
                       ("9999-12-31", "09:00"), ("2026-12-04", "08:00")):
        # one at a time: each a newer window than the one before
        later.append(moved(backing, application, contact, day, start))
        eventually(lambda: (message_row(mongo, database, later[-1], "sms") or {}).get(
            "status") == "held", what="the SMS held by the hour's limit")
    return contact, application, later


def released(mongo, database: str, events: list[dict]) -> list[dict] | None:
    rows = [message_row(mongo, database, event, "sms") for event in events]
    return rows if all(row["status"] not in ("held", "pending") for row in rows) else None


def test_held_sms_of_a_window_moved_again_are_superseded_only_the_latest_goes(
        backing, container_factory, mongo):
    clock = FakeClock(datetime.datetime(2026, 11, 30, 21, 30, tzinfo=WIB))
    database = start_notification(backing, container_factory, clock=clock,
                                  SMS_PER_PHONE_PER_HOUR=1)
    contact, _, later = moved_five_times_in_an_hour(backing, mongo, database)

    clock.now = datetime.datetime(2026, 11, 30, 22, 0, 1, tzinfo=WIB)
    rows = eventually(lambda: released(mongo, database, later), what="the held SMS released")
    assert [row["status"] for row in rows] == ["superseded"] * 3 + ["sent"]
    assert {row["dropped_because"] for row in rows[:3]} == {f"{later[-1]['event_id']}.sms"}
    assert all(row["attempts"] == [] and "held_reason" not in row for row in rows[:3])
    [_, text] = sms_to(backing, contact["phone"])
    assert "Jumat, 4 Des 2026 08.00" in text["message"]


def test_held_sms_are_withdrawn_once_the_document_is_collected(backing, container_factory, mongo):
    clock = FakeClock(datetime.datetime(2026, 11, 30, 21, 30, tzinfo=WIB))
    database = start_notification(backing, container_factory, clock=clock,
                                  SMS_PER_PHONE_PER_HOUR=1)
    contact, application, later = moved_five_times_in_an_hour(backing, mongo, database)
    collected = build_event("document_collected", **application, print_job_id="job-1",
                            collected_by="counter-1")  # at 21:49
    publish(backing.amqp_uri, "printing.events", "document_collected", collected)
    eventually(lambda: mongo[database].finished.find_one({"_id": application["application_id"]}),
               what="the collection noted")

    clock.now = datetime.datetime(2026, 11, 30, 22, 0, 1, tzinfo=WIB)
    rows = eventually(lambda: released(mongo, database, later), what="the held SMS released")
    assert [(row["status"], row["dropped_because"]) for row in rows] == [
        ("withdrawn", "document_collected")] * 4
    assert len(sms_to(backing, contact["phone"])) == 1  # only the one sent before


def whatsapp_to(backing, phone: str) -> list[dict]:
    return requests.get(backing.url("whatsapp") + "/sandbox/messages", params={"to": phone[1:]},
                        timeout=5).json()


def test_a_parcel_pos_brought_back_is_told_on_whatsapp_by_a_template_of_its_own(
        backing, container_factory, mongo):
    """Outside audit D: the window of a document Pos brought back went on
    WhatsApp as the plain ``smartdukcapil_ready`` - "ready", not "came
    back" - while its SMS and e-mail said so. It has its own template now;
    the e-mail keeps ``ready``'s words, which say it came back."""
    start_notification(backing, container_factory, RETRY_DELAYS="0.2,0.4")
    contact = citizen(preferred="whatsapp")
    event = ready(backing, contact, returned=True)
    [sent] = eventually(lambda: whatsapp_to(backing, contact["phone"]), what="WhatsApp template")
    assert sent["template"]["name"] == "smartdukcapil_returned"
    params = [p["text"] for p in sent["template"]["components"][0]["parameters"]]
    assert params[:2] == ["KTP-el", event["tracking_code"]] and len(params) == 6
    assert params[2:4] == [SLOT["place"], SLOT["address"]]
    [mail] = eventually(lambda: mails_to(backing, contact["email"]), what="the e-mail")
    assert "gagal diantar Pos" in mail["Subject"]
    # a plain window keeps the plain template
    plain = citizen(preferred="whatsapp")
    ready(backing, plain)
    [sent] = eventually(lambda: whatsapp_to(backing, plain["phone"]), what="WhatsApp template")
    assert sent["template"]["name"] == "smartdukcapil_ready"


def test_a_rejection_with_every_reason_and_a_long_note_of_many_lines_goes_by_whatsapp(
        backing, container_factory, mongo):
    database = start_notification(backing, container_factory, RETRY_DELAYS="0.2,0.4")
    contact = citizen(preferred="whatsapp")
    codes = [reason.code for reason in CATALOGUE
             if reason.document_types is None or "ktp_el" in reason.document_types]
    note = ("Foto KK terpotong di bagian bawah.\n\tMohon foto ulang     seluruh halaman KK "
            "di tempat yang terang.\r\n" * 40)[:2000]
    event = build_event("application_rejected", application_id=uuid.uuid4().hex,
                        tracking_code="SDK" + uuid.uuid4().hex[:8].upper(),
                        document_type="ktp_el", reasons=reason_texts(codes, "id"),
                        reason_codes=codes, note=note, contact=contact)
    publish(backing.amqp_uri, "intake.events", "application_rejected", event)
    [sent] = eventually(lambda: whatsapp_to(backing, contact["phone"]), what="WhatsApp template")
    assert sent["template"]["name"] == "smartdukcapil_rejected"
    params = [p["text"] for p in sent["template"]["components"][0]["parameters"]]
    assert params[:2] == ["KTP-el", event["tracking_code"]]
    assert params[2].startswith(reason_texts(codes, "id")[0])
    assert params[2].endswith("\u2026 (selengkapnya: cek status di smartdukcapil.serangkota.go.id)")
    assert not any(c in text for text in params for c in "\n\r\t") \
        and not any("  " in text for text in params)
    assert sum(len(text) for text in params) <= 700  # 1,024 with the template's own words
    row = eventually(lambda: (lambda r: r if r and r["status"] == "sent" else None)(
        message_row(mongo, database, event, "whatsapp")), what="recorded sent")
    assert len(row["attempts"]) == 1  # taken at once: no refusal, no round trip


def test_a_whatsapp_refusal_falls_back_at_once_without_waiting_out_the_retries(
        backing, container_factory, mongo):
    """A 400 from the Cloud API (a template or parameter refused, a number
    not allowed) refuses the same message every time: it went through the
    whole retry schedule (minutes to ~42 in production) before the citizen's
    notice went by the next channel. A 4xx other than 408/429 gives the
    WhatsApp message up at its first refusal; a 503 is still retried."""
    database = start_notification(backing, container_factory, RETRY_DELAYS="30,120")
    faults = backing.url("whatsapp") + "/sandbox/faults"
    contact = citizen(preferred="whatsapp")
    # this citizen's message only: an unaimed fault can be taken by an
    # earlier test's event back from its retry delay to this test's consumer
    # (its WhatsApp refused, ours sent: CI waited 50 s for an e-mail)
    assert requests.post(faults, json={"fail_next": 1, "status": 400,
                                       "only_to": contact["phone"][1:]}, timeout=5).ok
    try:
        event = build_event("tracking_code_resend_requested", application_id=uuid.uuid4().hex,
                            tracking_code="SDK" + uuid.uuid4().hex[:8].upper(),
                            document_type="ktp_el", contact=contact)
        publish(backing.amqp_uri, "intake.events", "tracking_code_resend_requested", event)
        # a routine notice: e-mail next, at once. A WhatsApp message retried
        # instead would go at the event's retry (30 s: the sandbox fails only
        # once) and no e-mail at all; an e-mail out for a moment goes at that
        # retry too (CI, loaded by other stacks, waited 50 s for one that, its
        # WhatsApp given up, never went: test_notification_store.py)
        [mail] = eventually(lambda: mails_to(backing, contact["email"]), timeout=50,
                            what="e-mail after WhatsApp's refusal")
        row = message_row(mongo, database, event, "whatsapp")
        assert row["status"] == "failed" and len(row["attempts"]) == 1, row
        assert row["last_error"].startswith("whatsapp answered 400")
        assert whatsapp_to(backing, contact["phone"]) == []
    finally:
        requests.post(faults, json={"fail_next": 0, "status": 503, "only_to": None}, timeout=5)
