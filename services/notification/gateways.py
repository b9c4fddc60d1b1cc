"""Outbound channels: the SMS gateway's HTTP API and the SMTP relay.

Each sits behind a DependencyProvider that reads its config in ``setup()``
and hands workers a narrow client. One ``requests.Session`` for the gateway,
a timeout on every call. A failure raises ``DeliveryFailed``; the handler
lets the broker retry.
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

import requests
from nameko.extensions import DependencyProvider

from shared.settings import require

from .exceptions import DeliveryFailed


class SmsClient:
    def __init__(self, session: requests.Session, url: str, userkey: str, passkey: str,
                 timeout: float):
        self.session, self.url, self.timeout = session, url, timeout
        self.userkey, self.passkey = userkey, passkey

    def send(self, to: str, text: str, reference: str) -> str:
        """Send one SMS; ``reference`` makes a retry idempotent at the gateway."""
        try:
            response = self.session.post(self.url, timeout=self.timeout, data={
                "userkey": self.userkey, "passkey": self.passkey, "to": to,
                "message": text, "reference": reference})
        except requests.RequestException as exc:
            raise DeliveryFailed(f"sms gateway unreachable: {type(exc).__name__}") from None
        if response.status_code != 200 or response.json().get("status") != "1":
            raise DeliveryFailed(f"sms gateway answered {response.status_code}")
        return response.json()["messageId"]


class SmsGateway(DependencyProvider):
    required_settings = ("SMS_USERKEY", "SMS_PASSKEY")

    def setup(self):
        config = self.container.config
        userkey, passkey = require(self)
        self.session = requests.Session()
        self.client = SmsClient(self.session, config["SMS_GATEWAY_URL"].rstrip("/") + "/api/sendsms/",
                                userkey, passkey, float(config.get("SMS_TIMEOUT_SECONDS", 10)))

    def stop(self):
        self.session.close()

    def get_dependency(self, worker_ctx):
        return self.client


class MailClient:
    def __init__(self, host: str, port: int, sender: str, timeout: float):
        self.host, self.port, self.sender, self.timeout = host, port, sender, timeout

    def send(self, to: str, subject: str, body: str, reference: str) -> str:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        # a stable Message-ID lets the relay and mail clients spot a resend
        message["Message-ID"] = f"<{reference}@smartdukcapil.local>"
        message.set_content(body)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryFailed(f"smtp failed: {type(exc).__name__}") from None
        return message["Message-ID"]


class Mailer(DependencyProvider):
    def setup(self):
        config = self.container.config
        self.client = MailClient(config["SMTP_HOST"], int(config["SMTP_PORT"]),
                                 config.get("MAIL_FROM", "Smartdukcapil <noreply@smartdukcapil.local>"),
                                 float(config.get("SMTP_TIMEOUT_SECONDS", 10)))

    def get_dependency(self, worker_ctx):
        return self.client
