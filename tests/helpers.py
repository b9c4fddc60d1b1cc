"""Small helpers shared by the integration and end-to-end tests."""

from __future__ import annotations

import json
import random
import re
import socket
import threading
import time
import uuid

import pika
import requests
from requests.adapters import HTTPAdapter
from pymongo import MongoClient, monitoring

from deploy.dlq import connect
from deploy.local.stack import LOAD_TEST_SETTINGS, Ports, Stack
from services.printing.tokens import generate, public_key_setting, signing_key_setting
from shared.auth import hash_token
from shared.clock import today_wib

OPERATOR_TOKEN, STATION_TOKEN = "test-operator-token", "test-station-token"
OPERATOR = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
STATION = {"Authorization": f"Bearer {STATION_TOKEN}"}
# a card station at Kantor Kecamatan Curug: it prints the cards collected there
CURUG_STATION_TOKEN = "test-curug-station-token"
CURUG_STATION = {"Authorization": f"Bearer {CURUG_STATION_TOKEN}"}
KELURAHAN_OFFICER_TOKEN, KECAMATAN_OFFICER_TOKEN = "test-kelurahan-token", "test-kecamatan-token"
# officers of Kelurahan Sukajaya and of Kecamatan Curug (Kota Serang)
KELURAHAN_CODE, KECAMATAN_CODE = "3673041010", "367304"
KELURAHAN_OFFICER = {"Authorization": f"Bearer {KELURAHAN_OFFICER_TOKEN}"}
KECAMATAN_OFFICER = {"Authorization": f"Bearer {KECAMATAN_OFFICER_TOKEN}"}
# printing reads KIA photos from intake with a service token of its own
PRINTING_SERVICE_TOKEN = "test-printing-service-token"
# the QR signing key of this test session (made here, never committed), and
# an older key whose public half is still published (rotation)
SIGNING_KEY, RETIRED_KEY = generate("test-now"), generate("test-old")
# config keeps token hashes; the tests send the tokens
TOKENS = {"SERVICE_TOKENS": f"printing:{hash_token(PRINTING_SERVICE_TOKEN)}",
          "INTAKE_SERVICE_TOKEN": PRINTING_SERVICE_TOKEN,
          "VERIFY_SIGNING_KEY": signing_key_setting(SIGNING_KEY),
          "VERIFY_PUBLIC_KEYS": public_key_setting(RETIRED_KEY),
"OPERATOR_TOKENS": f"operator-test:{hash_token(OPERATOR_TOKEN)}",
          "STATION_TOKENS": f"station-test-1:{hash_token(STATION_TOKEN)},"
                            f"station-curug-test:{hash_token(CURUG_STATION_TOKEN)}",
          "KELURAHAN_OFFICER_TOKENS":
              f"officer-sukajaya@{KELURAHAN_CODE}:{hash_token(KELURAHAN_OFFICER_TOKEN)}",
          "KECAMATAN_OFFICER_TOKENS":
              f"officer-curug@{KECAMATAN_CODE}:{hash_token(KECAMATAN_OFFICER_TOKEN)}"}
# the services as the tests run them: a short print lease, so a job another
# test leased and left (it claims only its own) returns to the queue quickly.
# The failed-attempt limits keep their defaults: every test client is
# 127.0.0.1, so a test that trips a limit does it from a loopback address of
# its own (tests/e2e/test_secrets_and_limits.py).
SYSTEM_ENV = {**TOKENS, **LOAD_TEST_SETTINGS, "PRINT_LEASE_SECONDS": "3",
              # the tests' station at the Dinas, holding up to 100 jobs: a
              # test looking for its own job (claim_job_for) leases the older
              # jobs other tests left on its way, and must not hit the cap; and
              # a card station at Kecamatan Curug for the cards collected there
              # (its certificates, as every other place's jobs, the Dinas')
              "STATIONS": "station-test-1@disdukcapil-serang:card+certificate:100,"
                          "station-curug-test@kec-curug:card:100",
              # the Curug station claims only when a test asks it to: never
              # silent within a run (tests/integration/test_stations.py
              # shows a silent station's jobs going to the Dinas)
              "STATION_SILENT_SECONDS": "86400",
              # DEBUG: the logs the tests check for personal data say the most
              "LOG_LEVEL": "DEBUG",
              # a short retry schedule: few wait queues per handler (each is a
              # quorum queue on the one test broker), retries within seconds
              "RETRY_DELAYS": "0.5,1,2",
              # courier: a Pos outage in a test lasts a few refused calls
              # (tests/e2e/test_courier.py), not minutes; polling every
              # second for shipments quiet for 4
              "COURIER_RETRY_DELAYS": "0.5,1,2,4,8",
              "COURIER_POLL_INTERVAL_SECONDS": "1", "COURIER_POLL_QUIET_SECONDS": "4",
              "POS_TIMEOUT_SECONDS": "2",
              # one test citizen hears every notice within a minute (production: 5 an
              # hour); the limit itself is tested with its own setting
              "SMS_PER_PHONE_PER_HOUR": "20"}


# every NIK handed out in this test session: ~3.4 million NIKs per birth year
# and ~1,500 KTP-el applications left active per session made a repeat (409,
# "an application is active") a one-in-three chance per run
_HANDED_OUT: set[str] = set()


def resident_name(number) -> str:
    """``Warga`` and ``number``'s digits spelled as letters (``Warga BCD``
    for 123): a name for each of many rows, as a name may hold no digit."""
    return "Warga " + "".join("ABCDEFGHIJ"[int(digit)] for digit in str(number))


def random_nik(female: bool = False, kecamatan: str = "367304", year: int = 1990) -> str:
    """A valid NIK from Kota Serang (Curug by default), never the same twice
    in a test session."""
    day = random.randint(1, 28) + (40 if female else 0)
    return unused_nik(f"{kecamatan}{day:02d}{random.randint(1, 12):02d}{year % 100:02d}")


def unused_nik(born: str) -> str:
    """A NIK starting with ``born`` (kecamatan code and birth date, 12
    digits) and a random serial, never the same twice in a test session
    (nor in a benchmark: the same child's second KIA application is a 409)."""
    while True:
        nik = f"{born}{random.randint(1, 9999):04d}"
        if nik not in _HANDED_OUT:
            _HANDED_OUT.add(nik)
            return nik


def random_kk(kecamatan: str = "367304") -> str:
    return f"{kecamatan}{random.randint(1, 28):02d}{random.randint(1, 12):02d}10{random.randint(1, 9999):04d}"


def random_mobile() -> str:
    return "0812" + "".join(random.choice("0123456789") for _ in range(8))


def valid_body() -> dict:
    """A valid first-KTP-el application, with fresh random NIK, KK and phone."""
    return {"document_type": "ktp_el", "channel": "web",
            "applicant": {"nik": random_nik(), "kk_number": random_kk(),
                          "full_name": "Ahmad Fauzi", "phone": random_mobile()},
            "details": {"reason": "first_issue"}}


def with_value(body: dict, path: str, value) -> dict:
    """Set the dotted ``path`` (e.g. ``applicant.full_name``) in ``body``; returns it."""
    parent, _, key = path.rpartition(".")
    target = body
    for part in filter(None, parent.split(".")):
        target = target[part]
    target[key] = value
    return body


def trickling_post(address: tuple[str, int], chunked: bool = False) -> socket.socket:
    """A connection that declares a 60,000-byte application body and sends one
    byte of it (``chunked``: sends a first one-byte chunk)."""
    sock = socket.create_connection(address, timeout=10)
    body = (b"Transfer-Encoding: chunked\r\n\r\n1\r\n{\r\n" if chunked
            else b"Content-Length: 60000\r\n\r\n{")
    sock.sendall(b"POST /api/v1/applications HTTP/1.1\r\nHost: intake\r\n"
                 b"Content-Type: application/json\r\n" + body)
    return sock


def read_until_closed(sock: socket.socket, within: float) -> bytes:
    """Everything the server sends until it closes the connection."""
    sock.settimeout(within)
    received = b""
    while chunk := sock.recv(4096):
        received += chunk
    return received


def pipelined(address: tuple[str, int], *requests: bytes) -> bytes:
    """Send raw HTTP/1.1 ``requests`` on one connection at once (the last one
    should say ``Connection: close``), and everything the server answers: a
    byte too many after one answer shows where the next should begin."""
    with socket.create_connection(address, timeout=10) as sock:
        sock.sendall(b"".join(requests))
        return read_until_closed(sock, 10)


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


def claim_job_for(printing_url: str, application_id: str, headers: dict = STATION) -> dict:
    """Claim until this application's job comes up. Another test's job claimed
    on the way is left alone: its short lease (``SYSTEM_ENV``) hands it back."""
    def claim():
        response = requests.post(f"{printing_url}/api/v1/station/jobs/claim", headers=headers,
                                 timeout=10)
        assert response.status_code in (200, 204), response.text
        if response.status_code == 200 and response.json()["application_id"] == application_id:
            return response.json()
        return None
    return eventually(claim, what="print job available to the station")


def officers_day_came(printing_db, application_id: str) -> None:
    """Move printing's clock for one hand-over list: the day its officer
    collects the application's document at the Dinas (its list's ``days``;
    a kecamatan's list or a jemput-bola manifest) becomes today, WIB, so
    the office may record its hand-over now. The services read the real
    clock: the list's day is what moves."""
    day = {f"days.{application_id}": today_wib().isoformat()}
    for lists in ("handover_lists", "manifests"):
        printing_db[lists].update_one({f"days.{application_id}": {"$exists": True}},
                                      {"$set": day})


class BrokerProbe:
    """A test-owned queue bound to an exchange, to see what was published."""

    def __init__(self, amqp_uri: str, exchange: str, routing_key: str = "#"):
        self.connection = connect(amqp_uri)
        self.channel = self.connection.channel()
        self.channel.exchange_declare(exchange, "topic", durable=True)
        self.queue = f"probe-{uuid.uuid4().hex[:10]}"
        self.channel.queue_declare(self.queue, exclusive=True)
        self.channel.queue_bind(self.queue, exchange, routing_key)
        self.headers: list[dict] = []  # of every message drained, in order

    def drain(self) -> list[tuple[str, dict]]:
        messages = []
        while True:
            method, properties, body = self.channel.basic_get(self.queue, auto_ack=True)
            if method is None:
                return messages
            messages.append((method.routing_key, json.loads(body)))
            self.headers.append(properties.headers or {})

    def close(self):
        self.connection.close()


def publish(amqp_uri: str, exchange: str, routing_key: str, payload: dict,
            headers: dict | None = None) -> None:
    """Publish like a nameko service would (JSON, persistent), with a confirm."""
    connection = connect(amqp_uri)
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        channel.basic_publish(exchange, routing_key, json.dumps(payload).encode(),
                              pika.BasicProperties(content_type="application/json",
                                                   delivery_mode=2, headers=headers),
                              mandatory=True)
    finally:
        connection.close()


def service_config(stack: Stack, database: str, **extra) -> dict:
    """Config for an in-process test container against the real backing stack."""
    env = stack.env()
    return {"AMQP_URI": stack.amqp_uri, "MONGO_URI": stack.mongo_uri, "DATABASE": database,
            "WEB_SERVER_ADDRESS": f"127.0.0.1:{Ports.free().intake}",
            "SMS_GATEWAY_URL": env["SMS_GATEWAY_URL"], "SMS_USERKEY": "sandbox-user",
            "SMS_PASSKEY": "sandbox-pass", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": env["SMTP_PORT"],
            "REGISTER_URL": env["REGISTER_URL"], "INTAKE_URL": env["INTAKE_URL"],
            "POS_API_URL": env["POS_API_URL"], "max_workers": 8,
            "SUBMITS_PER_CLIENT": env["INTAKE_SUBMITS_PER_CLIENT"],
            "RETRY_DELAYS": SYSTEM_ENV["RETRY_DELAYS"], **TOKENS, **extra}


def personal_data_in_logs(stack: Stack, *values: str) -> list[str]:
    """Which of ``values`` (NIKs, KKs, phone numbers in any of their forms:
    08..., 628..., +628...) appear anywhere in the stack's log files."""
    logs = "".join(path.read_text(errors="replace") for path in (stack.run_dir / "logs").glob("*.log"))
    forms = set()
    # a NIK or KK has 16 digits, a mobile number 10 or more: shorter values
    # (postal codes, RT/RW) are not what this looks for and occur by chance
    for value in (value for value in values if value and len(value) >= 10):
        forms.add(value)
        if value.startswith("08"):
            forms |= {"62" + value[1:], "+62" + value[1:]}
    if not forms:
        return []
    # a form can only appear inside one of the logs' numbers (with its "+"):
    # collect those once, so hundreds of values cost one pass over the logs
    shortest = min(len(form.lstrip("+")) for form in forms)
    numbers = set(re.findall(r"\+?\d{%d,}" % shortest, logs))
    return sorted(form for form in forms if any(form in number for number in numbers))


class NoRelay:
    """A store's relay for in-process store tests: nothing is published, the
    outbox rows (and the events documents carry) stay in the database, where
    the test reads them."""

    instance = "in-process-test"

    def hand_over(self, rows, carrier=None):
        pass


def store_on_a_database_of_its_own(backing, store_class, prefix: str, *listeners):
    """A fixture's body: ``store_class`` on a fresh database of the test
    server (no relay), dropped afterwards; ``listeners``: the client's
    command listeners (a ``CommandCounter``)."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    client = MongoClient(backing.mongo_uri, tz_aware=True, event_listeners=list(listeners))
    try:
        yield store_class(client[name], client, NoRelay())
    finally:
        client.drop_database(name)
        client.close()


class CommandCounter(monitoring.CommandListener):
    """The names of the commands a client sent, in order (every round trip),
    and the collection each named (empty for none)."""

    def __init__(self):
        self.commands: list[str] = []
        self.collections: list[str] = []
        self.lock = threading.Lock()

    def started(self, event):
        target = event.command.get(event.command_name)
        with self.lock:
            self.commands.append(event.command_name)
            self.collections.append(target if isinstance(target, str) else "")

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


def at_once(count: int, write) -> list:
    """``write(n)`` from ``count`` workers started together; what each got
    (its answer, or the error it raised)."""
    answers: list = [None] * count
    start = threading.Event()

    def worker(n):
        start.wait()
        try:
            answers[n] = write(n)
        except Exception as error:  # the test looks at it
            answers[n] = error
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    start.set()
    for thread in threads:
        thread.join(30)
    return answers


class FromAddress(HTTPAdapter):
    """Connect from a given local address, so the service sees that client."""

    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def loopback_address() -> str:
    """A loopback address of its own (Linux routes all of 127.0.0.0/8 to lo)."""
    return f"127.{random.randint(1, 254)}.{random.randint(0, 255)}.{random.randint(1, 254)}"


def new_client(address: str | None = None) -> requests.Session:
    """A client the services see at an address of its own."""
    session = requests.Session()
    session.mount("http://", FromAddress(address or loopback_address()))
    return session
