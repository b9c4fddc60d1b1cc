"""Notification's own settings, read once in ``setup()``: the guards (quiet
hours, SMS limits), how many attempts a message gets, who the officers are,
and the clock (injectable: tests hand the provider another one); and how
long personal data is kept (``retention``: the store's, at its start)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Callable

from nameko.extensions import DependencyProvider

from shared.clock import utcnow
from shared.messaging import retry_delays
from shared.settings import InvalidSetting, integer, whole_days
from shared.store import INBOX_RETENTION

from .domain import Guards, parse_quiet_hours


DEFAULT_RETENTION_DAYS = 365
# a message must outlive every redelivery of its event (its id is what stops
# a second send): the services forget an event's id after INBOX_RETENTION,
# and Meta repeats a WhatsApp status for 7 days
MIN_RETENTION_DAYS = INBOX_RETENTION.days


def retention(config: dict) -> datetime.timedelta:
    """``RETENTION_DAYS``: how long a message is kept once final, a contact
    after its last update, an application's end after it happened."""
    return whole_days(config, "RETENTION_DAYS", DEFAULT_RETENTION_DAYS, MIN_RETENTION_DAYS,
                      "an event can come back that long")


def parse_mailboxes(spec: str | None) -> dict[str, str]:
    """``"3673041010=lurah@x.go.id,367304=camat@x.go.id"`` -> {code: e-mail}."""
    mailboxes = {}
    for part in filter(None, (p.strip() for p in str(spec or "").split(","))):
        code, _, email = part.partition("=")
        if not code.strip() or "@" not in email:
            raise InvalidSetting("OFFICER_EMAILS", "each entry is <region code>=<e-mail>")
        mailboxes[code.strip()] = email.strip()
    return mailboxes


@dataclass(frozen=True)
class Settings:
    guards: Guards
    max_attempts: int
    officer_emails: dict[str, str] = field(default_factory=dict)
    operators_email: str | None = None
    clock: Callable[[], datetime.datetime] = utcnow

    def now(self) -> datetime.datetime:
        return self.clock()

    def officer_contact(self, audience: str, event: dict) -> dict | None:
        """The mailbox an officer notice goes to (kelurahan, kecamatan, operators)."""
        if audience == "operators":
            email = self.operators_email
        else:
            email = self.officer_emails.get(event[f"{audience}_code"])
        return {"email": email, "language": "id", "preferred_channel": "email"} if email else None


def settings_from_config(config: dict, clock: Callable[[], datetime.datetime] = utcnow) -> Settings:
    try:
        start, end = parse_quiet_hours(config.get("QUIET_HOURS"))
    except ValueError:
        raise InvalidSetting("QUIET_HOURS", "expected HH:MM-HH:MM or off") from None
    guards = Guards(start, end, integer(config, "SMS_PER_PHONE_PER_HOUR", 5),
                    integer(config, "SMS_DAILY_BUDGET", 10_000),
                    integer(config, "EMAIL_PER_ADDRESS_PER_HOUR", 10))
    # the last attempt a message gets: the end of the retry schedule (the
    # handler queue's delivery limit counts only redeliveries of one wait:
    # a consumer that died, not the delayed retries, which are new messages)
    return Settings(guards, len(retry_delays(config)) + 1,
                    parse_mailboxes(config.get("OFFICER_EMAILS")),
                    str(config.get("OPERATORS_EMAIL") or "").strip() or None, clock)


class NotificationSettings(DependencyProvider):
    def setup(self):
        self.settings = settings_from_config(self.container.config)

    def get_dependency(self, worker_ctx):
        return self.settings
