"""Session fixtures: the real stack, started by the project's own launcher.

* ``backing``: RabbitMQ (a virtual host of this session's own), a fresh
  in-memory MongoDB-wire server, SMTP, the SMS and Pos sandboxes.
* ``system``: ``backing`` plus the four services as real ``nameko run``
  processes, in another virtual host, so in-process test containers never
  compete with them for messages.
Nothing here skips: if the broker or database cannot be had, the tests error.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest
from pymongo import MongoClient

from deploy.local.stack import Ports, Stack, ensure_rabbitmq, ensure_vhost

TOKENS = {"OPERATOR_TOKENS": "operator-test:test-operator-token",
          "STATION_TOKENS": "station-test-1:test-station-token"}


def make_vhost(tag: str) -> str:
    vhost = f"smartdukcapil_{tag}_{uuid.uuid4().hex[:8]}"
    if not ensure_vhost(vhost):
        raise RuntimeError("could not create a RabbitMQ virtual host (rabbitmqctl)")
    return vhost


def drop_vhost(vhost: str) -> None:
    subprocess.run(["rabbitmqctl", "delete_vhost", vhost], capture_output=True)


@pytest.fixture(scope="session")
def backing(tmp_path_factory):
    ensure_rabbitmq()
    vhost = make_vhost("it")
    stack = Stack(tmp_path_factory.mktemp("stack"), ports=Ports.free(),
                  amqp_uri=f"pyamqp://guest:guest@127.0.0.1:5672/{vhost}",
                  mongo_in_memory=True, extra_env=TOKENS)
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
                  mongo_uri=backing.mongo_uri, extra_env=TOKENS)
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


def service_config(stack: Stack, database: str, **extra) -> dict:
    """Config for an in-process test container against the real backing stack."""
    env = stack.env()
    return {"AMQP_URI": stack.amqp_uri, "MONGO_URI": stack.mongo_uri, "DATABASE": database,
            "WEB_SERVER_ADDRESS": f"127.0.0.1:{Ports.free().intake}",
            "SMS_GATEWAY_URL": env["SMS_GATEWAY_URL"], "SMS_USERKEY": "sandbox-user",
            "SMS_PASSKEY": "sandbox-pass", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": env["SMTP_PORT"],
            "max_workers": 8, **TOKENS, **extra}
