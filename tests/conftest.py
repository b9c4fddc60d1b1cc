"""Session fixtures: the real stack, started by the project's own launcher.

* ``backing``: RabbitMQ (a virtual host of this session's own), a fresh
  in-memory MongoDB-wire server, SMTP, the SMS and Pos sandboxes.
* ``system``: ``backing`` plus the four services as real ``nameko run``
  processes, in another virtual host, so in-process test containers never
  compete with them for messages.
Nothing here skips: if the broker or database cannot be had, the tests error.
"""

from __future__ import annotations

import datetime
import subprocess
import uuid

import pytest
import requests
from pymongo import MongoClient

from deploy.local.stack import Ports, Stack, ensure_file_handles, ensure_rabbitmq, ensure_vhost
from shared.outbox import DUE, HANDOFF_CLAIM_SECONDS
from tests.helpers import SYSTEM_ENV, FromAddress, loopback_address

@pytest.fixture(autouse=True)
def a_client_address_per_test(monkeypatch):
    """Each test's plain ``requests`` calls come from a loopback address of
    the test's own, not all from 127.0.0.1: intake counts refusals per client
    (an hour's window: ``REGISTER_REFUSALS_PER_CLIENT``, 30), and the whole
    suite's 409s and register refusals from one address would add up to a
    429 for every later test. Within a test, one client, as before; a new
    connection per call, as ``requests.api`` makes."""
    address = loopback_address()

    def request(method, url, **kwargs):
        with requests.Session() as session:
            session.mount("http://", FromAddress(address))
            return session.request(method=method, url=url, **kwargs)
    monkeypatch.setattr(requests.api, "request", request)


def make_vhost(tag: str) -> str:
    vhost = f"smartdukcapil_{tag}_{uuid.uuid4().hex[:8]}"
    if not ensure_vhost(vhost):
        raise RuntimeError("could not create a RabbitMQ virtual host (rabbitmqctl)")
    return vhost


# the most file handles the suite's stacks need at once, with room to spare
# (~360 counted per stack, up to four stacks)
SUITE_FILE_HANDLES = 4_096


def drop_vhost(vhost: str) -> None:
    """Delete a test's virtual host; a broker that cannot within two minutes
    is told once, and the suite goes on (the vhost stays, unused)."""
    try:
        subprocess.run(["rabbitmqctl", "delete_vhost", vhost], capture_output=True, timeout=120)
    except subprocess.TimeoutExpired:
        print(f"RabbitMQ did not delete the virtual host {vhost} within 120 s; left behind")


@pytest.fixture(scope="session")
def backing(tmp_path_factory):
    ensure_rabbitmq()
    ensure_file_handles(SUITE_FILE_HANDLES)
    vhost = make_vhost("it")
    stack = Stack(tmp_path_factory.mktemp("stack"), ports=Ports.free(),
                  amqp_uri=f"pyamqp://guest:guest@127.0.0.1:5672/{vhost}",
                  mongo_in_memory=True, extra_env=SYSTEM_ENV)
    try:
        stack.start_backing()
        yield stack
    finally:
        stack.stop()
        drop_vhost(vhost)


@pytest.fixture(scope="session")
def system(backing, tmp_path_factory):
    vhost = make_vhost("e2e")
    # same database server, SMTP and sandboxes as ``backing``; own vhost
    stack = Stack(tmp_path_factory.mktemp("system"), ports=backing.ports,
                  amqp_uri=f"pyamqp://guest:guest@127.0.0.1:5672/{vhost}",
                  mongo_uri=backing.mongo_uri, extra_env=SYSTEM_ENV)
    try:
        stack.declare_topology()
        stack.start_services()
        yield stack
    finally:
        stack.stop()
        drop_vhost(vhost)


@pytest.fixture(scope="session")
def mongo(backing):
    client = MongoClient(backing.mongo_uri, tz_aware=True)
    yield client
    client.close()


@pytest.fixture
def intake_state(system, mongo):
    """What intake has stored: (applications, outbox rows written since the
    test began, applications carrying events written since the test began),
    read when called. Earlier tests' events are left out: a relay clears
    what it published together, seconds later, so they may leave while a
    test runs."""
    db = mongo["intake"]
    began = datetime.datetime.now(datetime.timezone.utc)
    # a carried event is due for the sweep this long after it was written
    carried_since = began + datetime.timedelta(seconds=HANDOFF_CLAIM_SECONDS)

    def counts():
        return (db.applications.count_documents({}),
                db.outbox.count_documents({"created_at": {"$gte": began}}),
                db.applications.count_documents({DUE: {"$gte": carried_since}}))
    return counts
