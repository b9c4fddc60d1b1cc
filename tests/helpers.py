"""Small helpers shared by the integration and end-to-end tests."""

from __future__ import annotations

import json
import random
import time
import uuid

import pika

from deploy.dlq import connect
from deploy.local.stack import Ports, Stack

OPERATOR_TOKEN, STATION_TOKEN = "test-operator-token", "test-station-token"
OPERATOR = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
STATION = {"Authorization": f"Bearer {STATION_TOKEN}"}
TOKENS = {"OPERATOR_TOKENS": f"operator-test:{OPERATOR_TOKEN}",
          "STATION_TOKENS": f"station-test-1:{STATION_TOKEN}"}
# the services as the tests run them: a short print lease, so a job another
# test leased and left (it claims only its own) returns to the queue quickly
SYSTEM_ENV = {**TOKENS, "PRINT_LEASE_SECONDS": "3",
              # DEBUG: the logs the tests check for personal data say the most
              "LOG_LEVEL": "DEBUG"}


def random_nik(female: bool = False, kecamatan: str = "367304", year: int = 1990) -> str:
    """A valid NIK from Kota Serang (Curug by default), unique enough per test."""
    day = random.randint(1, 28) + (40 if female else 0)
    month = random.randint(1, 12)
    return f"{kecamatan}{day:02d}{month:02d}{year % 100:02d}{random.randint(1, 9999):04d}"


def random_kk(kecamatan: str = "367304") -> str:
    return f"{kecamatan}{random.randint(1, 28):02d}{random.randint(1, 12):02d}10{random.randint(1, 9999):04d}"


def random_mobile() -> str:
    return "0812" + "".join(random.choice("0123456789") for _ in range(8))


def eventually(check, timeout: float = 30.0, interval: float = 0.1, what: str = "condition"):
    """Poll ``check`` until it returns a truthy value (no fixed sleeps)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"{what} not reached within {timeout}s (last: {last!r})")


class BrokerProbe:
    """A test-owned queue bound to an exchange, to see what was published."""

    def __init__(self, amqp_uri: str, exchange: str, routing_key: str = "#"):
        self.connection = connect(amqp_uri)
        self.channel = self.connection.channel()
        self.channel.exchange_declare(exchange, "topic", durable=True)
        self.queue = f"probe-{uuid.uuid4().hex[:10]}"
        self.channel.queue_declare(self.queue, exclusive=True)
        self.channel.queue_bind(self.queue, exchange, routing_key)

    def drain(self) -> list[tuple[str, dict]]:
        messages = []
        while True:
            method, _, body = self.channel.basic_get(self.queue, auto_ack=True)
            if method is None:
                return messages
            messages.append((method.routing_key, json.loads(body)))

    def close(self):
        self.connection.close()


def publish(amqp_uri: str, exchange: str, routing_key: str, payload: dict) -> None:
    """Publish like a nameko service would (JSON, persistent), with a confirm."""
    connection = connect(amqp_uri)
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        channel.basic_publish(exchange, routing_key, json.dumps(payload).encode(),
                              pika.BasicProperties(content_type="application/json",
                                                   delivery_mode=2), mandatory=True)
    finally:
        connection.close()


def service_config(stack: Stack, database: str, **extra) -> dict:
    """Config for an in-process test container against the real backing stack."""
    env = stack.env()
    return {"AMQP_URI": stack.amqp_uri, "MONGO_URI": stack.mongo_uri, "DATABASE": database,
            "WEB_SERVER_ADDRESS": f"127.0.0.1:{Ports.free().intake}",
            "SMS_GATEWAY_URL": env["SMS_GATEWAY_URL"], "SMS_USERKEY": "sandbox-user",
            "SMS_PASSKEY": "sandbox-pass", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": env["SMTP_PORT"],
            "max_workers": 8, **TOKENS, **extra}


def personal_data_in_logs(stack: Stack, *values: str) -> list[str]:
    """Which of ``values`` (NIKs, KKs, phone numbers in any of their forms:
    08..., 628..., +628...) appear anywhere in the stack's log files."""
    logs = "".join(path.read_text(errors="replace") for path in (stack.run_dir / "logs").glob("*.log"))
    forms = set()
    for value in filter(None, values):
        forms.add(value)
        if value.startswith("08"):
            forms |= {"62" + value[1:], "+62" + value[1:]}
    return sorted(form for form in forms if form in logs)
