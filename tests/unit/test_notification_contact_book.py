"""Notification's contact book follows the citizen's corrections: after a
resubmission with a new phone, e-mail, language or name, every later notice
that reads the book (a parcel's, a hand-over list's) reaches the new contact
in the new language and greets the new name - whatever order the events
come in. The service's handlers with the fake store and senders of
``test_notification_domain``: no broker, no database (the real store's
guard: tests/integration/test_notification_store.py)."""

from __future__ import annotations

import datetime

import pytest
from nameko.testing.services import worker_factory

from services.notification.domain import Guards, SentMemory, book_entry
from services.notification.service import NotificationEvents
from services.notification.settings import Settings
from shared.events import build_event
from tests.unit.test_notification_domain import NOON, FakeMessageStore, FakeSender, Senders

OLD = {"phone": "+6281200000002", "email": None, "language": "id", "preferred_channel": "sms"}
NEW = {"phone": "+6281200000003", "email": "new@example.id", "language": "en",
       "preferred_channel": "sms"}
REF = {"application_id": "app-1", "tracking_code": "SDKWW8S55ZR", "document_type": "ktp_el"}
T0 = datetime.datetime(2026, 11, 27, 3, 0, tzinfo=datetime.timezone.utc)


def at(minutes: int) -> str:
    return (T0 + datetime.timedelta(minutes=minutes)).isoformat()


def submitted(minutes: int = 0) -> dict:
    return build_event("application_submitted", channel="kelurahan", contact=OLD,
                       full_name="Siti Aminah", occurred_at=at(minutes), **REF)


def resubmitted(minutes: int = 10) -> dict:
    return build_event("application_resubmitted", corrected=["applicant.phone",
                                                             "applicant.email",
                                                             "applicant.language"],
                       contact=NEW, full_name="Siti Aminah Putri", occurred_at=at(minutes), **REF)


def manifest_ready() -> dict:
    return build_event("batch_ready_for_kelurahan", manifest_id="JB-3673041010-20261127-ABCDEF",
                       kelurahan_code="3673041010", day="2026-11-30", at_office_from="2026-12-01",
                       items=[{**REF, "full_name": "Siti Aminah Putri"}])


def dispatched() -> dict:
    return build_event("parcel_dispatched", shipment_id="SDK-job-1", barcode="P2611290001", **REF)


@pytest.fixture
def senders():
    return Senders(sms=FakeSender("sms"), email=FakeSender("email"),
                   whatsapp=FakeSender("whatsapp"))


@pytest.fixture
def service(senders):
    settings = Settings(Guards(), max_attempts=4, clock=lambda: NOON,
                        officer_emails={"3673041010": "lurah@serangkota.go.id"})
    return worker_factory(NotificationEvents, store=FakeMessageStore(), sms=senders.sms,
                          mail=senders.email, whatsapp=senders.whatsapp, settings=settings,
                          sent=SentMemory(), last_delivery=False)


def citizens(sender: FakeSender, kind: str) -> list:
    return [m for m in sender.sent if m.kind == kind]


def test_after_a_resubmission_the_office_pickup_notice_goes_to_the_new_contact_in_english(
        service, senders):
    """The auditor's case: the office_pickup notice (important: every
    channel) went to the old phone in Bahasa Indonesia; the new phone and
    e-mail got nothing."""
    service.on_application_submitted(submitted())
    service.on_application_resubmitted(resubmitted())
    service.on_batch_ready_for_kelurahan(manifest_ready())

    [sms] = citizens(senders.sms, "office_pickup")
    [mail] = citizens(senders.email, "office_pickup")
    assert (sms.address, sms.language) == (NEW["phone"], "en")
    assert sms.text.startswith("Smartdukcapil: KTP-el SDKWW8S55ZR is printed."), sms.text
    assert (mail.address, mail.language) == (NEW["email"], "en")
    assert mail.text.startswith("Dear Siti Aminah Putri,\n")
    assert all(m.address != OLD["phone"] for m in senders.sms.sent if m.kind != "received")


def test_after_a_resubmission_a_parcel_notice_uses_the_new_contact_and_name(service, senders):
    service.on_application_submitted(submitted())
    service.on_application_resubmitted(resubmitted())
    service.on_parcel_dispatched(dispatched())
    [sms] = citizens(senders.sms, "dispatched")
    assert (sms.address, sms.language) == (NEW["phone"], "en")
    assert "is on its way" in sms.text


def test_a_submission_coming_after_the_resubmission_does_not_bring_the_old_contact_back(
        service, senders):
    """Each event has its own queue: a redelivered (or late) submission may
    be handled after the resubmission. The newer entry stays."""
    service.on_application_resubmitted(resubmitted(10))
    service.on_application_submitted(submitted(0))
    service.on_application_resubmitted(resubmitted(10))  # redelivered: no change
    service.on_parcel_dispatched(dispatched())
    [sms] = citizens(senders.sms, "dispatched")
    assert sms.address == NEW["phone"]


def test_a_second_resubmission_wins_over_the_first_whatever_the_order(service, senders):
    later = build_event("application_resubmitted", corrected=["applicant.phone"],
                        contact={**NEW, "phone": "+6281200000004"},
                        full_name="Siti Aminah Putri", occurred_at=at(20), **REF)
    service.on_application_submitted(submitted())
    service.on_application_resubmitted(later)
    service.on_application_resubmitted(resubmitted(10))
    service.on_parcel_dispatched(dispatched())
    [sms] = citizens(senders.sms, "dispatched")
    assert sms.address == "+6281200000004"


def test_a_resubmission_sends_nothing_itself(service, senders):
    service.on_application_resubmitted(resubmitted())
    assert senders.sms.sent == senders.email.sent == senders.whatsapp.sent == []


def test_only_the_applicants_own_events_fill_the_book():
    assert book_entry("application_submitted", submitted()).contact == OLD
    entry = book_entry("application_resubmitted", resubmitted())
    assert (entry.contact, entry.full_name, entry.as_of) == (NEW, "Siti Aminah Putri",
                                                            T0 + datetime.timedelta(minutes=10))
    older = build_event("application_submitted", channel="web", contact=None, **REF)
    assert book_entry("application_submitted", older) is None
    rejection = build_event("application_rejected", reasons=["x"], contact=NEW, **REF)
    assert book_entry("application_rejected", rejection) is None
