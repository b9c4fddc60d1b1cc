"""New applications over HTTP are limited per client (``SUBMITS_PER_CLIENT``
within ``SUBMITS_WINDOW_SECONDS``): each costs an SMS or e-mail and a place
in the operators' queue, and made-up, well-formed NIKs are accepted (flagged
for the operator). Before this limit only refused submissions were counted:
one address got 35 x 202 in a row. A retry answered from what is stored and
a refused submission are not counted here; past the limit, 429 with
Retry-After before the body is read, nothing stored. Real intake container,
database and broker; the register is the stack's sandbox."""

from __future__ import annotations

import uuid

import pytest

from services.intake.service import IntakeApi
from tests.helpers import at_once, loopback_address, new_client, service_config, valid_body

LIMIT = 3


@pytest.fixture
def intake(backing, container_factory, mongo):
    """An intake with a limit of 3 new applications per client, its
    database, and the address of the one proxy it trusts."""
    database, proxy = f"intake_submits_{uuid.uuid4().hex[:6]}", loopback_address()
    config = service_config(backing, database, SUBMITS_PER_CLIENT=LIMIT, TRUSTED_PROXIES=proxy,
                            PIPELINE_QUEUES="", ADMISSION_WRITES=12,
                            max_workers=40)
    container_factory(IntakeApi, config).start()
    return f"http://{config['WEB_SERVER_ADDRESS']}/api/v1/applications", mongo[database], proxy


def stored(db, body: dict) -> int:
    return db.applications.count_documents({"applicant.nik": body["applicant"]["nik"]})


def test_a_client_gets_so_many_new_applications_and_retries_and_refusals_do_not_count(intake):
    url, db, _ = intake
    client = new_client()
    first = valid_body()
    accepted = client.post(url, json=first, headers={"Idempotency-Key": "sub-1"}, timeout=30)
    assert accepted.status_code == 202, accepted.text
    # a retry answered from what is stored, three times: the same answer, not counted
    for _ in range(3):
        again = client.post(url, json=first, headers={"Idempotency-Key": "sub-1"}, timeout=30)
        assert again.status_code == 202 and again.json() == accepted.json(), again.text
    # refused submissions count where the failure limits say, not here
    assert client.post(url, json={}, timeout=30).status_code == 400
    assert client.post(url, json=first, timeout=30).status_code == 409  # one active per NIK
    bad_name = valid_body()
    bad_name["applicant"]["full_name"] = "1.5"
    assert client.post(url, json=bad_name, timeout=30).status_code == 400
    more = [valid_body(), valid_body()]
    for body in more:
        answer = client.post(url, json=body, timeout=30)
        assert answer.status_code == 202, answer.text

    # the fourth new one: 429 before the body is read, nothing stored
    past = valid_body()
    refused = client.post(url, json=past, timeout=30, headers={"Accept-Language": "en"})
    assert refused.status_code == 429, refused.text
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    assert refused.json()["error"]["code"] == "too_many_attempts"
    assert refused.json()["error"]["message"].startswith(
        "Too many new applications from this connection. Retry in ")
    assert stored(db, past) == 0
    in_bahasa = client.post(url, json={}, timeout=30)  # not even read: no 400
    assert in_bahasa.status_code == 429
    assert in_bahasa.json()["error"]["message"].startswith(
        "Terlalu banyak permohonan baru dari sambungan ini. Coba lagi dalam ")
    # its earlier one is still answered, the status lookup too; another client submits
    assert client.post(url, json=first, headers={"Idempotency-Key": "sub-1"},
                       timeout=30).status_code == 429  # decided before the key is read
    lookup = client.post(f"{url}/status", timeout=30, json={
        "tracking_code": accepted.json()["tracking_code"], "nik": first["applicant"]["nik"]})
    assert lookup.status_code == 200, lookup.text
    assert new_client().post(url, json=past, timeout=30).status_code == 202
    assert stored(db, past) == 1


def test_a_burst_from_one_client_gets_no_more_than_the_limit(intake):
    url, db, _ = intake
    client_address = loopback_address()
    bodies = [valid_body() for _ in range(10)]
    answers = at_once(len(bodies), lambda n: new_client(client_address).post(
        url, json=bodies[n], timeout=30).status_code)
    assert sorted(answers) == [202] * LIMIT + [429] * (len(bodies) - LIMIT)
    assert sum(stored(db, body) for body in bodies) == LIMIT


def test_behind_a_trusted_proxy_each_citizen_is_a_client_of_their_own(intake):
    """A portal back-end that submits for citizens over HTTP is a trusted
    proxy passing the citizen's address in X-Forwarded-For."""
    url, _, proxy = intake
    portal = new_client(proxy)

    def submit(citizen: str) -> int:
        return portal.post(url, json=valid_body(), headers={"X-Forwarded-For": citizen},
                           timeout=30).status_code
    assert [submit("203.0.113.7") for _ in range(LIMIT + 1)] == [202] * LIMIT + [429]
    assert [submit("203.0.113.8") for _ in range(LIMIT)] == [202] * LIMIT
