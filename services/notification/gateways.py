"""Outbound channels: the SMS gateway's HTTP API, the SMTP relay and the
WhatsApp Cloud API.

Each sits behind a DependencyProvider that reads its config in ``setup()``
and hands workers a narrow client with one ``send(message)``. One
``requests.Session`` per HTTP partner, a timeout on every call. A failure
raises ``DeliveryFailed`` naming the cause, never the message or address.

Every send carries the message id, so a resend after a crash between "sent"
and "recorded" is recognisable: the SMS gateway drops a reused
``reference``; WhatsApp gets it as ``biz_opaque_callback_data``; an e-mail's
Message-ID is derived from it (``<event_id>.<channel>@domain``), so a
resend has the same Message-ID, which a mail store or client that
deduplicates on Message-ID shows once. SMTP itself has no idempotency: the
relay delivers both copies, which is why the claim comes first.

A reply the partner accepted (HTTP 200) whose body cannot be read is taken
as sent: resending would risk a second message, which the citizen sees.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

import requests
from nameko.extensions import DependencyProvider

from shared.clock import WIB, utcnow
from shared.partners import partner_session
from shared.settings import flag, integer, require, seconds

from .domain import UNREADABLE_REPLY, OutgoingMessage, SentMemory
from .exceptions import DeliveryFailed

log = logging.getLogger(__name__)


def refused_for_good(status: int, passing: tuple[int, ...] = ()) -> bool:
    """A partner's answer that the same request would get again: a 4xx (the
    number, the text, a template or a parameter refused), not a timeout
    (408) or a rate limit (429), which pass - nor ``passing``, a partner's
    4xx that is fixed on our side (``ACCOUNT_REFUSED``), after which the
    same request goes."""
    return 400 <= status < 500 and status not in (408, 429, *passing)


# the gateway refusing our side, not the message: credentials (401, 403),
# credit (402), or the address (404, 405: SMS_GATEWAY_URL's path wrong)
ACCOUNT_REFUSED = (401, 402, 403, 404, 405)


class SmsClient:
    """The gateway's ``POST /api/sendsms/``. A 4xx refusing the message (a
    number it cannot route, a text it rejects: 400) gives it up at once, to
    the operators' failed list and the next channel; a refusal of our
    account or our address (``ACCOUNT_REFUSED``) is retried as an outage
    is: it would give up every SMS until the Dinas fixes the credentials,
    the credit or the URL, and most have no channel after them (an e-mail
    only if the citizen gave one) - retried, they go once it is fixed,
    without an operator re-sending each."""

    def __init__(self, session: requests.Session, url: str, userkey: str, passkey: str,
                 timeout: float):
        self.session, self.url, self.timeout = session, url, timeout
        self.userkey, self.passkey = userkey, passkey

    def send(self, message: OutgoingMessage) -> str:
        """Send one SMS; the message id as ``reference`` makes a resend a no-op at the gateway."""
        try:
            response = self.session.post(self.url, timeout=self.timeout, data={
                "userkey": self.userkey, "passkey": self.passkey, "to": message.address,
                "message": message.text, "reference": message.reference})
        except requests.RequestException as exc:
            raise DeliveryFailed(f"sms gateway unreachable: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise DeliveryFailed(f"sms gateway answered {response.status_code}",
                                 permanent=refused_for_good(response.status_code,
                                                            ACCOUNT_REFUSED))
        try:
            reply = response.json()
        except ValueError:
            log.warning("sms gateway accepted %s with an unreadable reply", message.message_id)
            return UNREADABLE_REPLY
        if not isinstance(reply, dict):
            return UNREADABLE_REPLY
        if reply.get("status") != "1":
            raise DeliveryFailed(f"sms gateway refused: status {reply.get('status')!r}")
        return str(reply.get("messageId") or UNREADABLE_REPLY)


class SmsGateway(DependencyProvider):
    required_settings = ("SMS_GATEWAY_URL", "SMS_USERKEY", "SMS_PASSKEY")

    def setup(self):
        config = self.container.config
        url, userkey, passkey = require(self)
        self.session = partner_session(config)
        self.client = SmsClient(self.session, url.rstrip("/") + "/api/sendsms/",
                                userkey, passkey, seconds(config, "SMS_TIMEOUT_SECONDS", 10))

    def stop(self):
        self.session.close()

    def get_dependency(self, worker_ctx):
        return self.client


def message_id_header(reference: str, domain: str) -> str:
    """A stable, valid Message-ID for a message id: ``<event_id.channel@domain>``
    (RFC 5322 dot-atom: no ``:`` in the left part)."""
    left = "".join(c if c.isalnum() or c in ".-_" else "." for c in reference)
    return f"<{left}@{domain}>"


# what an e-mail is written with. Bodies are 7-bit (quoted-printable, or
# base64, where not ASCII): the relay is not asked for 8BITMIME. An ASCII
# subject is not folded below RFC 5322's 998 characters a line: folded at
# 78, one of 70-77 characters went out as "Subject:\r\n Dokumen jemput bola
# ...", which clients (and Python's own parser) read with a leading space.
# A subject with a non-ASCII character is folded at 78 still: unfolded, its
# encoded words would outgrow RFC 2047's 75 characters, which strict
# clients do not decode (Python may read a space doubled at the fold)
MAIL_POLICY = SMTP.clone(cte_type="7bit")
ASCII_SUBJECT_POLICY = MAIL_POLICY.clone(max_line_length=998)


class MailClient:
    def __init__(self, host: str, port: int, sender: str, timeout: float, domain: str,
                 starttls: bool = False, user: str = "", password: str = ""):
        self.host, self.port, self.sender, self.timeout = host, port, sender, timeout
        self.domain, self.starttls, self.user, self.password = domain, starttls, user, password

    def build(self, message: OutgoingMessage) -> EmailMessage:
        email = EmailMessage(policy=ASCII_SUBJECT_POLICY if message.subject.isascii()
                             else MAIL_POLICY)
        email["From"] = self.sender
        email["To"] = message.address
        email["Subject"] = message.subject
        # in the citizens' own time (+0700): a client showing the header as
        # written would otherwise show the hour in UTC ("-0000")
        email["Date"] = format_datetime(utcnow().astimezone(WIB))
        email["Message-ID"] = message_id_header(message.reference, self.domain)
        email.set_content(message.text)
        if message.html:
            email.add_alternative(message.html, subtype="html")
        # on the finished message: set_content() clears every Content-*
        # header first, and add_alternative() moves them into the first part
        email["Content-Language"] = message.language
        return email

    def send(self, message: OutgoingMessage) -> str:
        email = self.build(message)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.user:
                    smtp.login(self.user, self.password)
                smtp.send_message(email)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryFailed(f"smtp failed: {type(exc).__name__}") from None
        return email["Message-ID"]


class Mailer(DependencyProvider):
    """SMTP: ``SMTP_STARTTLS`` and ``SMTP_USER``/``SMTP_PASSWORD`` for the Dinas
    relay; the local stand-in runs without either. The sender (``MAIL_FROM``)
    and the Message-IDs' domain (``MAIL_DOMAIN``) are required as the relay
    is: a default sent from a domain SPF and DMARC fail."""

    required_settings = ("SMTP_HOST", "SMTP_PORT", "MAIL_FROM", "MAIL_DOMAIN")

    def setup(self):
        config = self.container.config
        host, _, sender, domain = require(self)
        self.client = MailClient(host, integer(config, "SMTP_PORT", None), sender,
                                 seconds(config, "SMTP_TIMEOUT_SECONDS", 10), domain,
                                 flag(config, "SMTP_STARTTLS"),
                                 str(config.get("SMTP_USER") or ""),
                                 str(config.get("SMTP_PASSWORD") or ""))

    def get_dependency(self, worker_ctx):
        return self.client


def graph_error_code(response: requests.Response) -> str:
    """``" (error 132018)"``: the Graph API's error code of a refusal, which
    says why (docs/whatsapp-webhook.md); ``""`` for a body without one.
    Only the code: its details may quote what was sent."""
    try:
        code = response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return ""
    return f" (error {code})" if isinstance(code, int) else ""


class WhatsAppClient:
    """The Cloud API's ``POST /{phone_number_id}/messages`` with a pre-approved template."""

    def __init__(self, session: requests.Session, url: str, token: str, timeout: float):
        self.session, self.url, self.token, self.timeout = session, url, token, timeout

    def payload(self, message: OutgoingMessage) -> dict:
        return {"messaging_product": "whatsapp", "to": message.address.lstrip("+"),
                "type": "template", "biz_opaque_callback_data": message.reference,
                "template": {"name": f"smartdukcapil_{message.kind}",
                             "language": {"code": message.language},
                             "components": [{"type": "body", "parameters": [
                                 {"type": "text", "text": value} for value in message.params]}]}}

    def send(self, message: OutgoingMessage) -> str:
        try:
            response = self.session.post(self.url, json=self.payload(message),
                                         timeout=self.timeout,
                                         headers={"Authorization": f"Bearer {self.token}"})
        except requests.RequestException as exc:
            raise DeliveryFailed(f"whatsapp unreachable: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise DeliveryFailed(f"whatsapp answered {response.status_code}"
                                 + graph_error_code(response),
                                 # a token refused too: the SMS takes the notice at once
                                 permanent=refused_for_good(response.status_code))
        try:
            return str(response.json()["messages"][0]["id"])
        except (ValueError, KeyError, IndexError, TypeError):
            return UNREADABLE_REPLY


class WhatsApp(DependencyProvider):
    # the address too, though it has a default: checked as every partner's
    # (outside audit D: "ftp://..." started, and every WhatsApp notice waited
    # out its retries, ~42 minutes, before the SMS went instead)
    required_settings = ("WHATSAPP_API_URL", "WHATSAPP_TOKEN", "WHATSAPP_PHONE_NUMBER_ID")

    def setup(self):
        config = self.container.config
        api_url, token, phone_number_id = require(self)
        self.session = partner_session(config)
        url = f"{api_url.rstrip('/')}/{phone_number_id}/messages"
        self.client = WhatsAppClient(self.session, url, token,
                                     seconds(config, "WHATSAPP_TIMEOUT_SECONDS", 10))

    def stop(self):
        self.session.close()

    def get_dependency(self, worker_ctx):
        return self.client


class RecentSends(DependencyProvider):
    """The container's ``SentMemory``, shared by its workers (one process)."""

    def setup(self):
        self.memory = SentMemory()

    def get_dependency(self, worker_ctx):
        return self.memory
