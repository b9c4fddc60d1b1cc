"""A database server per service, as ``make run`` and the benchmark start them
(``Stack.database_per_service``): a KTP-el journey goes through end to end,
and each local server holds its own service's database and no other's.

The rest of the suite shares one server (``backing``); this stack has its own
servers, sandboxes, ports and virtual host.
"""

from __future__ import annotations

import pytest
import requests
from pymongo import MongoClient

from deploy.local.stack import Ports, Stack
from deploy.registry import SERVICES
from tests.conftest import drop_vhost, make_vhost
from tests.e2e.test_ktp_journey import ktp_application
from tests.helpers import (OPERATOR, STATION, SYSTEM_ENV, claim_job_for, eventually,
                           random_mobile, random_nik)


@pytest.fixture(scope="module")
def split(tmp_path_factory):
    vhost = make_vhost("split")
    stack = Stack(tmp_path_factory.mktemp("split"), ports=Ports.free(),
                  amqp_uri=f"pyamqp://guest:guest@127.0.0.1:5672/{vhost}",
                  mongo_in_memory=True, database_per_service=True, extra_env=SYSTEM_ENV)
    try:
        stack.start_backing()
        stack.start_services()
        yield stack
    finally:
        stack.stop()
        drop_vhost(vhost)


def test_each_service_has_its_own_database_server(split):
    servers = split.database_servers()
    assert len(set(servers.values())) == len(SERVICES) == len(servers)
    uris = {service: split.service_mongo_uris.get(service, split.mongo_uri)
            for service in SERVICES}
    assert len(set(uris.values())) == len(SERVICES)
    assert "MongoDB of courier" in split.describe()
    for service in SERVICES:  # each service's MONGO_URI is its own server's
        assert split.commands[service][1]["MONGO_URI"] == uris[service]

    intake, printing, sms = split.url("intake"), split.url("printing"), split.url("sms")
    nik, phone = random_nik(), random_mobile()
    submitted = requests.post(f"{intake}/api/v1/applications",
                              json=ktp_application(nik, phone, None), timeout=10)
    assert submitted.status_code == 202, submitted.text
    application_id = submitted.json()["application_id"]
    tracking_code = submitted.json()["tracking_code"]
    verified = requests.post(f"{intake}/api/v1/applications/{application_id}/verify",
                             headers=OPERATOR, timeout=10)
    assert verified.status_code == 200, verified.text
    job = claim_job_for(printing, application_id)
    printed = requests.post(f"{printing}/api/v1/station/jobs/{job['print_job_id']}/printed",
                            json={"lease_token": job["lease_token"]}, headers=STATION, timeout=10)
    assert printed.status_code == 200, printed.text
    e164 = "62" + phone[1:]
    eventually(lambda: [m for m in requests.get(f"{sms}/sandbox/messages", params={"to": e164},
                                                timeout=5).json()
                        if "siap diambil" in m["message"]], what="pickup SMS at the gateway")

    def ready_and_notified():
        status = requests.post(f"{intake}/api/v1/applications/status", timeout=10,
                               json={"tracking_code": tracking_code, "nik": nik}).json()
        steps = [step["status"] for step in status["timeline"]]
        return status["status"] == "ready_for_pickup" and steps.count("notified") == 2
    eventually(ready_and_notified, what="ready for pickup, both notices on the timeline")

    for service, uri in uris.items():
        with MongoClient(uri) as client:
            held = set(client.list_database_names()) & set(SERVICES)
        assert held <= {service}, (service, held)
        if service != "courier":  # courier has written nothing for a pickup
            assert held == {service}, (service, held)
