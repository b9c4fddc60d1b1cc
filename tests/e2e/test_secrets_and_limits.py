"""No default secrets, and guessing contained, against the real processes.

Every other test is client 127.0.0.1; the tests here that trip a limit ask
from loopback addresses of their own (127.x.y.z: Linux routes all of
127.0.0.0/8 to lo), so the limits they trip hold back no other test.
"""

from __future__ import annotations

import datetime
import random
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests

from deploy.local.stack import free_port
from deploy.registry import SERVICES, config_path
from shared.clock import today_wib
from tests.document_bodies import death_body, kia_body
from tests.e2e.test_documents import seed_family
from tests.helpers import (OPERATOR, OPERATOR_TOKEN, STATION, new_client,  # noqa: F401 (imported from here)
                           random_kk, random_mobile, random_nik)

SECRETS = ("AMQP_URI", "MONGO_URI", "OPERATOR_TOKENS", "STATION_TOKENS", "SMS_USERKEY",
           "SMS_PASSKEY", "POS_CLIENT_ID", "POS_CLIENT_SECRET", "POS_WEBHOOK_SECRET",
           "WHATSAPP_TOKEN", "WHATSAPP_PHONE_NUMBER_ID", "WHATSAPP_APP_SECRET",
           "WHATSAPP_VERIFY_TOKEN", "SERVICE_TOKENS", "INTAKE_SERVICE_TOKEN", "VERIFY_SIGNING_KEY")
# the partners' addresses have no default either (the local sandboxes' ports are none)
PARTNERS = ("REGISTER_URL", "INTAKE_URL", "SMS_GATEWAY_URL", "SMTP_HOST", "SMTP_PORT",
            "POS_API_URL")
REQUIRED = {"intake": {"AMQP_URI", "MONGO_URI", "OPERATOR_TOKENS", "SERVICE_TOKENS",
                       "REGISTER_URL"},
            "printing": {"AMQP_URI", "MONGO_URI", "STATION_TOKENS", "OPERATOR_TOKENS",
                         "INTAKE_SERVICE_TOKEN", "VERIFY_SIGNING_KEY", "INTAKE_URL"},
            "notification": {"AMQP_URI", "MONGO_URI", "SMS_USERKEY", "SMS_PASSKEY",
                             "WHATSAPP_TOKEN", "WHATSAPP_PHONE_NUMBER_ID", "OPERATOR_TOKENS",
                             "WHATSAPP_APP_SECRET", "WHATSAPP_VERIFY_TOKEN",
                             "SMS_GATEWAY_URL", "SMTP_HOST", "SMTP_PORT"},
            "courier": {"AMQP_URI", "MONGO_URI", "OPERATOR_TOKENS", "POS_CLIENT_ID",
                        "POS_CLIENT_SECRET", "POS_WEBHOOK_SECRET", "POS_API_URL"}}


DAY = datetime.timedelta(days=1)


def submit(intake: str) -> tuple[str, str, str]:
    nik = random_nik()
    response = requests.post(f"{intake}/api/v1/applications", timeout=10, json={
        "document_type": "ktp_el", "channel": "web",
        "applicant": {"nik": nik, "kk_number": random_kk(), "full_name": "Dewi Lestari",
                      "phone": random_mobile()},
        "details": {"reason": "first_issue"}})
    assert response.status_code == 202, response.text
    return response.json()["application_id"], response.json()["tracking_code"], nik


def lookup(client, intake: str, tracking_code: str, nik: str, **headers):
    return client.post(f"{intake}/api/v1/applications/status", timeout=10, headers=headers,
                       json={"tracking_code": tracking_code, "nik": nik})


def assert_limited(response, window: int) -> None:
    assert response.status_code == 429, response.text
    assert 0 < int(response.headers["Retry-After"]) <= window
    assert response.json()["error"]["code"] == "too_many_attempts"


@pytest.mark.parametrize(("service", "path", "right"), [
    ("intake", "/api/v1/applications/{id}/verify", OPERATOR),
    ("printing", "/api/v1/station/jobs/no-such-job/failed", STATION)])
def test_a_client_guessing_bearer_tokens_is_refused_for_a_while(system, service, path, right):
    application_id, _, _ = submit(system.url("intake"))
    url = system.url(service) + path.format(id=application_id)
    # verify takes no body (a field would be a 400): a station's failure report does
    body = None if service == "intake" else {"lease_token": "q3Zr8V1cS0yXbP2mT7wK4A",
                                             "reason": "blanko macet"}
    guesser = new_client()
    for n in range(10):  # AUTH_FAILURES_PER_CLIENT
        wrong = guesser.post(url, json=body, timeout=10,
                             headers={"Authorization": f"Bearer {OPERATOR_TOKEN}-{n}"})
        assert wrong.status_code == 401, wrong.text
    wrong = {"Authorization": f"Bearer {OPERATOR_TOKEN}-x"}
    refused = guesser.post(url, json=body, headers={**wrong, "Accept-Language": "en"}, timeout=10)
    assert_limited(refused, 300)
    assert refused.json()["error"]["message"].startswith("Too many failed attempts.")
    assert guesser.post(url, json=body, headers=wrong, timeout=10).json()["error"]["message"] \
        .startswith("Terlalu banyak percobaan yang gagal.")
    # a right token from the same address is served (a station behind one NAT
    # with a misconfigured neighbour: its report must get in before its lease
    # runs out); tokens are random 256-bit secrets, no oracle to fear
    answered = guesser.post(url, json=body, headers=right, timeout=10)
    assert answered.status_code not in (401, 429), answered.text
    if service == "intake":
        assert answered.status_code == 200 and answered.json()["status"] == "verified"


def test_wrong_niks_for_one_tracking_code_lock_that_code_whoever_asks(system):
    intake = system.url("intake")
    _, code, nik = submit(intake)
    _, other_code, other_nik = submit(intake)
    for n in range(5):  # LOOKUP_FAILURES_PER_CODE, each guess from another address
        guess = lookup(new_client(), intake, code if n % 2 else code.lower(), random_nik())
        assert guess.status_code == 404, guess.text
    owner = new_client()
    assert_limited(lookup(owner, intake, code, nik), 900)
    assert_limited(lookup(requests, intake, code, nik), 900)
    # the same clients still look up other codes
    answered = lookup(owner, intake, other_code, other_nik)
    assert answered.status_code == 200 and answered.json()["tracking_code"] == other_code
    assert lookup(requests, intake, other_code, other_nik).status_code == 200


def test_a_client_probing_many_tracking_codes_is_refused(system):
    intake = system.url("intake")
    _, code, nik = submit(intake)
    prober = new_client()
    for _ in range(20):  # LOOKUP_FAILURES_PER_CLIENT
        probe = lookup(prober, intake, f"SDK{random.randint(10**7, 10**8 - 1)}", nik)
        assert probe.status_code == 404, probe.text
    assert_limited(lookup(prober, intake, code, nik, **{"Accept-Language": "en"}), 900)
    assert lookup(new_client(), intake, code, nik).status_code == 200


def nameko_run(env: dict, service: str, *classes: str) -> tuple[int, str]:
    """Start a service as the stack does; (exit code, output) once it gives up.

    On an address of its own: the system's copy holds the usual one, and a
    start that found it taken would refuse for that, not for what a test
    set (which of the two a start checks first is not fixed)."""
    env = {**env, f"{service.upper()}_ADDRESS": f"127.0.0.1:{free_port()}"}
    nameko = str(Path(sys.executable).parent / "nameko")
    done = subprocess.run([nameko, "run", "--config", str(config_path(service)),
                           *(classes or SERVICES[service])],
                          env=env, capture_output=True, text=True, timeout=60)
    return done.returncode, done.stdout + done.stderr


def one_refusal(output: str) -> str:
    """The one line a refused start ends with: no traceback, and said once
    (the system's DEBUG log may come before it)."""
    lines = output.strip().splitlines()
    refusals = [line for line in lines if " to start: " in line]
    assert "Traceback" not in output and len(refusals) == 1, output[-3000:]
    return lines[-1]


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_a_service_without_its_secrets_refuses_to_start_and_says_which(system, service):
    env = {key: value for key, value in system.env().items() if key not in SECRETS + PARTNERS}
    code, output = nameko_run(env, service)
    assert code == 1
    # one line, naming all that every container of the service lacks
    refusal = one_refusal(output)
    assert refusal.startswith("shared.settings.MissingSettings: ")
    named = set(refusal.split("not configured: ")[1].split(" (")[0].split(", "))
    assert named == REQUIRED[service]


@pytest.mark.parametrize("service, variable, key, value", [
    ("intake", "MONGO_TIMEOUT_MS", "MONGO_TIMEOUT_MS", "5s"),
    ("intake", "INTAKE_PIPELINE_BACKLOG_LIMIT", "PIPELINE_BACKLOG_LIMIT", "2rb"),
    ("notification", "RETRY_DELAYS", "RETRY_DELAYS", "1,5,x"),
    ("notification", "SMS_DAILY_BUDGET", "SMS_DAILY_BUDGET", "10rb"),
    # outside audit P3: these started, unusable or unsafe
    ("intake", "INTAKE_ADMISSION_STAFF", "ADMISSION_STAFF", "0"),
    ("printing", "PRINT_LEASE_SECONDS", "LEASE_SECONDS", "0"),
    ("notification", "SMTP_STARTTLS", "SMTP_STARTTLS", "maybe"),
    ("courier", "POS_API_URL", "POS_API_URL", "ftp//x"),
    ("courier", "POS_SENDER_ZIP", "POS_SENDER_ZIP", "abcde"),
    ("courier", "POS_SENDER_ZIP", "POS_SENDER_ZIP", "４２１７１"),  # full-width digits
    # outside audit R1: 0 ran the timer back to back, a core busy doing nothing
    ("printing", "PRINT_LAPSED_CHECK_SECONDS", "LAPSED_LEASE_CHECK_SECONDS", "0"),
    ("courier", "COURIER_POLL_INTERVAL_SECONDS", "POLL_INTERVAL_SECONDS", "0"),
    # outside audit D: these started, and a flow broke (WhatsApp notices ~42
    # minutes late, every counter print 503) or the start ended in tracebacks
    ("notification", "WHATSAPP_API_URL", "WHATSAPP_API_URL", "ftp://graph.facebook.com/v21.0"),
    ("printing", "PICKUP_SLOT_CAPACITY", "PICKUP_SLOT_CAPACITY", "0"),
    ("intake", "RESEND_PER_NIK", "RESEND_PER_NIK", "0"),
    ("intake", "LOOKUP_FAILURES_PER_CODE", "LOOKUP_FAILURES_PER_CODE", "0"),
    ("intake", "INTAKE_SUBMITS_PER_CLIENT", "SUBMITS_PER_CLIENT", "0"),
    ("printing", "AUTH_FAILURES_PER_CLIENT", "AUTH_FAILURES_PER_CLIENT", "0"),
    ("printing", "VERIFY_REQUESTS_PER_CLIENT", "VERIFY_REQUESTS_PER_CLIENT", "0"),
    ("courier", "WEBHOOK_FAILURE_WINDOW_SECONDS", "WEBHOOK_FAILURE_WINDOW_SECONDS", "0"),
    ("notification", "RETENTION_DAYS", "RETENTION_DAYS", "10"),
    # outside audit L: read on a reconnection to a broker that lost its state,
    # a bad value would have ended the consumer then; a kept-events TTL below
    # the TTL monitor's minute keeps nothing worth the name
    ("printing", "REPUBLISH_AFTER_SECONDS", "REPUBLISH_AFTER_SECONDS", "soon"),
    ("courier", "KEEP_PUBLISHED_SECONDS", "KEEP_PUBLISHED_SECONDS", "30"),
    ("notification", "REPUBLISH_PER_SECOND", "REPUBLISH_PER_SECOND", "fast"),
    # ended nameko's CLI in the logging config's traceback, before any service
    *((service, "LOG_LEVEL", "LOG_LEVEL", "LOUD") for service in sorted(SERVICES))])
def test_a_number_that_is_not_one_refuses_the_start_in_one_line_naming_it(
        system, service, variable, key, value):
    """A typo in a number ended in ValueError tracebacks (up to 24 of them,
    609 lines) that named neither the setting nor the service."""
    env = {**system.env(), variable: value,
           f"{service.upper()}_DATABASE": f"{service}_typo"}
    code, output = nameko_run(env, service)
    assert code == 1
    refusal = one_refusal(output)
    # the variable the operator set is named beside the key when they differ
    named = key if variable == key else f"{key} (environment variable {variable})"
    assert refusal.startswith(
        f"shared.settings.InvalidSetting: refusing to start: {named}: expected ")


def test_a_token_in_plain_text_is_refused_without_printing_it(system):
    env = {**system.env(), "OPERATOR_TOKENS": "operator-x:kata-sandi-rahasia",
           "INTAKE_DATABASE": "intake_refused_start"}
    # the HTTP container only: it has no consumer that could take the system's events
    code, output = nameko_run(env, "intake", SERVICES["intake"][0])
    assert code == 1
    assert "InvalidSetting: refusing to start: OPERATOR_TOKENS: entry 1 is not principal:sha256:" \
        "<64 hex digits> (config keeps token hashes: python -m shared.auth hash)" in output
    assert "kata-sandi-rahasia" not in output


@pytest.mark.parametrize("service, variable, what", [
    ("intake", "AMQP_URI", "the broker"), ("notification", "AMQP_URI", "the broker"),
    ("printing", "MONGO_URI", "the database"), ("courier", "MONGO_URI", "the database")])
def test_a_broker_or_database_not_answering_at_start_is_one_line_naming_it(
        system, service, variable, what):
    """Outside audit P3: a broker or a database that does not answer while a
    service starts ended it in a traceback of 60 to 175 lines."""
    nowhere = f"127.0.0.1:{free_port()}"  # nothing listens there
    value = (f"pyamqp://guest:guest@{nowhere}//" if variable == "AMQP_URI"
             else f"mongodb://{nowhere}/?directConnection=true")
    env = {**system.env(), variable: value, "MONGO_TIMEOUT_MS": "1000",
           f"{service.upper()}_DATABASE": f"{service}_unreachable"}
    code, output = nameko_run(env, service)
    assert code == 1
    assert f"refusing to start: {what} ({variable}) does not answer: " in one_refusal(output)


@pytest.mark.parametrize("credentials, said", [
    ("guest:guest@127.0.0.1:5672/no_such_vhost_{}", "NOT_ALLOWED"),
    ("guest:not-the-password-{}@127.0.0.1:5672//", "ACCESS_REFUSED")])
def test_a_broker_refusing_the_connection_at_start_is_one_line(system, credentials, said):
    """Outside review (forty-seventh session): a virtual host the broker does
    not have, or a wrong password, ended the start in amqp's traceback."""
    marker = uuid.uuid4().hex[:8]
    env = {**system.env(), "AMQP_URI": "pyamqp://" + credentials.format(marker),
           "INTAKE_DATABASE": "intake_refused_broker"}
    code, output = nameko_run(env, "intake", SERVICES["intake"][0])
    assert code == 1
    refusal = one_refusal(output)
    assert refusal.startswith("shared.settings.BrokerRefused: refusing to start: the broker "
                              "(AMQP_URI) refuses the connection: " + said), refusal
    assert f"not-the-password-{marker}" not in output


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_a_delivery_limit_the_queues_were_not_declared_with_is_one_line(system, service):
    """Outside audit R1: each handler queue's refusal escaped its set-up
    through eventlet's hub - 61 to 121 lines of tracebacks, not one."""
    declared = int(system.env().get("DELIVERY_LIMIT") or 5)
    env = {**system.env(), "DELIVERY_LIMIT": str(declared + 2),
           f"{service.upper()}_DATABASE": f"{service}_other_limit"}
    code, output = nameko_run(env, service)
    assert code == 1
    assert one_refusal(output).startswith(
        "shared.settings.InvalidSetting: refusing to start: DELIVERY_LIMIT: queue evt-")


def test_the_topology_with_a_delivery_limit_the_queues_were_not_declared_with_is_one_line(
        system):
    declared = int(system.env().get("DELIVERY_LIMIT") or 5)
    done = subprocess.run([sys.executable, "-m", "deploy.topology"], capture_output=True,
                          text=True, timeout=120,
                          env={**system.env(), "DELIVERY_LIMIT": str(declared + 2)})
    assert done.returncode == 1
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    assert done.stderr.strip().startswith("not declared: DELIVERY_LIMIT: queue evt-"), done.stderr


def test_a_second_copy_of_a_service_on_a_taken_address_refuses_to_start(system):
    """Outside audit P3: nameko listens with SO_REUSEPORT, so a second copy
    of a service (a second ``make run``, a stale process) bound the same
    address silently and took half of its requests. The HTTP container
    only: it takes none of the system's events."""
    env = {**system.env(), "INTAKE_DATABASE": "intake_second_copy"}
    nameko = str(Path(sys.executable).parent / "nameko")
    try:
        done = subprocess.run([nameko, "run", "--config", str(config_path("intake")),
                               SERVICES["intake"][0]], env=env, capture_output=True, text=True,
                              timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail("the second copy is running beside the first")
    assert done.returncode == 1
    address = env["INTAKE_ADDRESS"]
    assert one_refusal(done.stdout + done.stderr).startswith(
        "shared.settings.InvalidSetting: refusing to start: WEB_SERVER_ADDRESS (environment "
        f"variable INTAKE_ADDRESS): {address} is "
        "in use by another process (another copy of this service?)")
    assert requests.get(system.url("intake") + "/health/ready", timeout=5).json()["service"] \
        == "intake_api"


def seed_people(system, count: int) -> tuple[str, list[str]]:
    """A family of ``count`` adults on the register sandbox: (KK, NIKs)."""
    niks = [random_nik() for _ in range(count)]
    kk = seed_family(system, *[(nik, "anak", True) for nik in niks])
    return kk, niks


def first_card(client, intake: str, nik: str, kk: str, lang: str = "id"):
    return client.post(f"{intake}/api/v1/applications", timeout=10,
                       headers={"Accept-Language": lang}, json={
                           "document_type": "ktp_el", "channel": "web",
                           "applicant": {"nik": nik, "kk_number": kk, "full_name": "Dewi Lestari",
                                         "phone": random_mobile()},
                           "details": {"reason": "first_issue"}})


def assert_not_on_kk(response) -> None:
    assert response.status_code == 400, response.text
    assert response.json()["error"]["fields"] == {
        "applicant.kk_number": ["NIK pemohon tidak terdaftar pada No. KK ini."]}


def flags_of(mongo, response) -> list[str]:
    assert response.status_code == 202, response.text
    return mongo["intake"].applications.find_one({"_id": response.json()["application_id"]})[
        "flags"]


def test_probing_the_register_through_refused_submissions_is_limited_per_kk_and_per_nik(
        system, mongo):
    """Why a submission is refused tells what the register holds (this NIK is
    not on that KK): after REGISTER_REFUSALS_PER_KK (10) such refusals for one
    KK, whoever asks, the register is not asked about that KK for the window:
    a wrong guess and its own member are both accepted, flagged
    register_withheld for the operator - the same answer, so it tells
    nothing, and the family is not locked out; likewise per NIK."""
    intake = system.url("intake")
    kk, (member,) = seed_people(system, 1)
    _, strangers = seed_people(system, 11)
    for stranger in strangers[:10]:  # each from another address: the per-client limit stays far
        assert_not_on_kk(first_card(new_client(), intake, stranger, kk))
    wrong = first_card(new_client(), intake, strangers[10], kk)
    right = first_card(new_client(), intake, member, kk)
    assert flags_of(mongo, wrong) == flags_of(mongo, right) == ["register_withheld"]
    assert wrong.json().keys() == right.json().keys()
    # a NIK tried on 10 other KKs: the 11th is not checked against the register
    # either - and takes no slot from the NIK's owner until an operator verifies it
    own_kk, (probed,) = seed_people(system, 1)
    for _ in range(10):
        assert_not_on_kk(first_card(new_client(), intake, probed, seed_people(system, 1)[0]))
    stranger = first_card(new_client(), intake, probed, random_kk())
    assert flags_of(mongo, stranger) == ["register_withheld"]
    owner = first_card(new_client(), intake, probed, own_kk)
    assert flags_of(mongo, owner) == ["register_withheld"]
    verified = requests.post(
        f"{intake}/api/v1/applications/{owner.json()['application_id']}/verify",
        headers=OPERATOR, timeout=10)
    assert verified.status_code == 200, verified.text
    taken = requests.post(
        f"{intake}/api/v1/applications/{stranger.json()['application_id']}/verify",
        headers=OPERATOR, timeout=10)
    assert taken.status_code == 409 and list(taken.json()["error"]["fields"]) == [
        "applicant.nik"], taken.text
    # a third one, now that the owner's is verified, meets the slot at once
    assert first_card(new_client(), intake, probed, random_kk()).status_code == 409


def test_a_child_probed_through_kia_applications_is_protected_too(system, mongo):
    """The NIKs an application names in its details count as the applicant's
    do: a child's NIK tried against 10 families it is not on (each probe by
    another unknown parent, from another address, on another KK)."""
    intake = system.url("intake")
    child = random_nik(year=today_wib().year - 8)
    seed_family(system, (random_nik(female=True, year=1985), "istri", True), (child, "anak", False))
    for _ in range(10):
        kk, _ = seed_people(system, 1)
        probe = new_client().post(f"{intake}/api/v1/applications", timeout=10,
                                  json=kia_body(child, kk=kk))
        assert probe.status_code == 400, probe.text
    kk, _ = seed_people(system, 1)
    withheld = new_client().post(f"{intake}/api/v1/applications", timeout=10,
                                 json=kia_body(child, kk=kk))
    assert "register_withheld" in flags_of(mongo, withheld)


def test_a_client_probing_the_register_is_limited_and_other_refusals_are_not_counted(system):
    """REGISTER_REFUSALS_PER_CLIENT (30) refusals the register's answers took
    part in, over many KKs and NIKs, and the client is refused 429; refusals
    the register had no part in (a NIK and KK it does not know, too young for
    a KTP-el) are not counted."""
    intake = system.url("intake")
    prober = new_client()
    for _ in range(35):  # the register knows neither: the age rule refuses, not counted
        young = first_card(prober, intake, random_nik(year=today_wib().year - 10), random_kk())
        assert young.status_code == 400 and "applicant.nik" in young.json()["error"]["fields"], \
            young.text
    _, people = seed_people(system, 31)
    for person in people[:30]:
        assert_not_on_kk(first_card(prober, intake, person, random_kk()))
    kk, (member,) = seed_people(system, 1)
    limited = first_card(prober, intake, member, kk, "en")
    assert_limited(limited, 3600)
    assert limited.json()["error"]["message"].startswith(
        "Too many applications refused on the population register's data.")
    assert first_card(new_client(), intake, member, kk).status_code == 202


def test_a_resubmission_asks_the_register_within_the_same_limits(system, mongo):
    """A rejected application's resubmission is checked as a new one, limits
    included: past its NIK's limit the register is not asked about it either
    (a stranger's own rejected application was a way to ask freely)."""
    intake = system.url("intake")
    _, (probed,) = seed_people(system, 1)
    for _ in range(10):
        assert_not_on_kk(first_card(new_client(), intake, probed, seed_people(system, 1)[0]))
    withheld = first_card(new_client(), intake, probed, random_kk())
    assert flags_of(mongo, withheld) == ["register_withheld"]
    rejected = requests.post(
        f"{intake}/api/v1/applications/{withheld.json()['application_id']}/reject",
        json={"reasons": ["nik_not_on_kk"]}, headers=OPERATOR, timeout=10)
    assert rejected.status_code == 200, rejected.text
    again = new_client().post(f"{intake}/api/v1/applications/resubmit", timeout=10, json={
        "tracking_code": withheld.json()["tracking_code"], "nik": probed,
        "applicant": {"kk_number": seed_people(system, 1)[0]}})
    assert again.status_code == 200, again.text
    stored = mongo["intake"].applications.find_one({"_id": withheld.json()["application_id"]})
    assert (stored["status"], stored["flags"]) == ("submitted", ["register_withheld"])



def ktp_probe(nik: str, kk: str | None = None) -> dict:
    return {"document_type": "ktp_el", "channel": "web",
            "applicant": {"nik": nik, "kk_number": kk or random_kk(),
                          "full_name": "Dewi Lestari", "phone": random_mobile()},
            "details": {"reason": "first_issue"}}


def test_asking_whether_a_nik_has_an_application_in_progress_is_limited(system):
    """A 409 on POST /api/v1/applications tells whoever asks what intake
    holds of a NIK - an application in progress for it (the applicant's, a
    deceased's, a child's), a card issued - with any KK: 40 in a row from
    one client were all answered (outside audit). They count with the
    register's refusals now: past the client's 30, 429 before anything is
    asked. A NIK asked about from many addresses is still answered 409 - its
    owner, submitting twice by mistake, must be told why - and plainly."""
    intake = system.url("intake")
    niks, kks = [random_nik() for _ in range(3)], [random_kk() for _ in range(3)]
    deceased, child = random_nik(year=1950), random_nik(year=today_wib().year - 8)
    for body in (*map(ktp_probe, niks, kks), death_body(today_wib() - DAY, deceased_nik=deceased),
                 kia_body(child)):
        accepted = requests.post(f"{intake}/api/v1/applications", timeout=10, json=body)
        assert accepted.status_code == 202, accepted.text

    def probes():
        while True:
            for nik in niks:
                yield "applicant.nik", ktp_probe(nik)
            yield "details.deceased_nik", death_body(today_wib() - DAY, deceased_nik=deceased)
            yield "details.child_nik", kia_body(child)

    prober, asked = new_client(), probes()
    for _ in range(30):
        field, body = next(asked)
        refused = prober.post(f"{intake}/api/v1/applications", timeout=10, json=body)
        assert refused.status_code == 409 and list(refused.json()["error"]["fields"]) == [field], \
            refused.text
    limited = prober.post(f"{intake}/api/v1/applications", timeout=10, json=next(asked)[1],
                          headers={"Accept-Language": "en"})
    assert_limited(limited, 3600)
    assert limited.json()["error"]["message"].startswith(
        "Too many applications refused on the population register's data.")

    for _ in range(11):  # past the NIK's own count: still 409, to whoever asks once
        assert new_client().post(f"{intake}/api/v1/applications", timeout=10,
                                 json=ktp_probe(niks[0])).status_code == 409
    again = new_client().post(f"{intake}/api/v1/applications", timeout=10,
                              json=ktp_probe(niks[0], kks[0]))
    assert again.status_code == 409, again.text
    assert again.json()["error"]["message"] == \
        "Masih ada permohonan jenis dokumen ini yang aktif untuk NIK ini."


def test_a_resubmission_asking_about_another_subject_counts_in_the_same_limits(system,
                                                                               mongo):
    """A stranger's own rejected death application, resubmitted again and
    again naming another deceased NIK, answered 409 ("an application is in
    progress for this deceased") every time: whether a death is being
    registered, asked without limit (outside re-audit H1: 40 in a row). The
    409 counts as a submission's does: past the NIK's 10, intake no longer
    tells - the resubmission is taken flagged ``register_withheld``, holding
    no slot (the operator's verify answers 409 if another holds it)."""
    intake = system.url("intake")
    deceased = random_nik(year=1950)
    registered = requests.post(f"{intake}/api/v1/applications", timeout=10,
                               json=death_body(today_wib() - DAY, deceased_nik=deceased))
    assert registered.status_code == 202, registered.text
    own = death_body(today_wib() - DAY, deceased_nik=random_nik(year=1951))
    mine = requests.post(f"{intake}/api/v1/applications", timeout=10, json=own)
    assert mine.status_code == 202, mine.text
    rejected = requests.post(f"{intake}/api/v1/applications/{mine.json()['application_id']}/reject",
                             headers=OPERATOR, timeout=10,
                             json={"reasons": ["other"], "note": "Mohon periksa data almarhum."})
    assert rejected.status_code == 200, rejected.text
    probe = {"tracking_code": mine.json()["tracking_code"], "nik": own["applicant"]["nik"],
             "details": {**own["details"], "deceased_nik": deceased}}
    prober = new_client()
    for _ in range(10):  # REGISTER_REFUSALS_PER_NIK
        refused = prober.post(f"{intake}/api/v1/applications/resubmit", timeout=10, json=probe)
        assert refused.status_code == 409, refused.text
        assert list(refused.json()["error"]["fields"]) == ["details.deceased_nik"], refused.text
    taken = prober.post(f"{intake}/api/v1/applications/resubmit", timeout=10, json=probe)
    assert taken.status_code == 200, taken.text
    stored = requests.get(f"{intake}/api/v1/operator/applications/{mine.json()['application_id']}",
                          headers=OPERATOR, timeout=10).json()
    assert "register_withheld" in stored["flags"]
    # the one-active slot is the store's own (not in the operator's view)
    applications = mongo["intake"].applications
    assert applications.find_one({"_id": stored["application_id"]})["active_slot"] != "active"
    # the real one keeps the deceased's slot
    assert applications.find_one({"_id": registered.json()["application_id"]})[
        "active_slot"] == "active"
