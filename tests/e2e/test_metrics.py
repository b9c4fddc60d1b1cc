"""Every service exposes Prometheus metrics and its probes on its own HTTP
port: after a submit and its events, intake's and printing's counters have
moved (requests by endpoint and status, events handled per handler, the
outbox backlog, database commands), each service under one ``service``
label value."""

from __future__ import annotations

import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import OPERATOR, eventually, valid_body


def samples(base_url: str) -> dict[tuple, float]:
    """(sample name, sorted labels) -> value, from one scrape."""
    response = requests.get(f"{base_url}/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.text)
            for sample in family.samples}


def value(scrape: dict, name: str, **labels) -> float:
    return scrape.get((name, tuple(sorted(labels.items()))), 0.0)


def total(scrape: dict, name: str, **labels) -> float:
    """The sum over the samples that carry ``labels`` whatever their other labels."""
    return sum(v for (sample, sample_labels), v in scrape.items()
               if sample == name and set(labels.items()) <= set(sample_labels))


def test_a_submit_and_its_events_move_the_counters(system):
    intake, printing = system.url("intake"), system.url("printing")
    submitted = dict(name="smartdukcapil_http_requests_total", service="intake",
                     container="intake_api", endpoint="/api/v1/applications", method="POST", status="202")
    handled = dict(name="smartdukcapil_events_total", service="printing",
                   handler="on_application_verified", outcome="handled")
    timeline = dict(name="smartdukcapil_events_total", service="intake",
                    handler="on_print_job_queued", outcome="handled")
    before_intake, before_printing = samples(intake), samples(printing)

    answer = requests.post(f"{intake}/api/v1/applications", json=valid_body(), timeout=10)
    assert answer.status_code == 202, answer.text
    verified = requests.post(f"{intake}/api/v1/applications/{answer.json()['application_id']}"
                             "/verify", headers=OPERATOR, timeout=10)
    assert verified.status_code == 200, verified.text

    after = samples(intake)
    assert value(after, **submitted) == value(before_intake, **submitted) + 1
    latency = {k: v for k, v in submitted.items() if k != "name"}
    assert value(after, "smartdukcapil_http_request_seconds_count", **latency) >= 1
    eventually(lambda: value(samples(printing), **handled) > value(before_printing, **handled),
               what="printing handled application_verified")
    eventually(lambda: value(samples(intake), **timeline) > value(before_intake, **timeline),
               what="intake recorded print_job_queued")
    assert value(samples(intake), "smartdukcapil_outbox_backlog", service="intake") >= 0
    # every database round trip is counted: the submit's insert and the
    # verification's update of the application at least
    inserts = dict(name="smartdukcapil_db_commands_total", service="intake", command="insert",
                   collection="applications")
    updates = dict(inserts, command="update")
    assert total(samples(intake), **inserts) > total(before_intake, **inserts)
    assert total(samples(intake), **updates) > total(before_intake, **updates)
    # and the time they took
    insert_seconds = dict(inserts, name="smartdukcapil_db_command_seconds_total")
    assert total(samples(intake), **insert_seconds) > total(before_intake, **insert_seconds)


def test_every_service_answers_its_probes(system):
    for name in ("intake", "printing", "notification", "courier"):
        live = requests.get(f"{system.url(name)}/health/live", timeout=10)
        assert live.status_code == 200, (name, live.text)
        ready = requests.get(f"{system.url(name)}/health/ready", timeout=10)
        assert ready.status_code == 200, (name, ready.text)
        assert ready.json()["database"] == ready.json()["broker"] == "ok"
        assert "smartdukcapil_http_requests_total" in requests.get(
            f"{system.url(name)}/metrics", timeout=10).text


def test_every_metric_of_a_service_carries_one_service_label(system):
    """A dashboard joins a service's 5xx rate with its outbox backlog or its
    events on ``service``: intake's HTTP answers said ``intake_api``, its
    broker channel's and pipeline watch's ``intake_channel``, its events,
    outbox and database commands ``intake``. One value per service now, the
    container in a label of its own."""
    intake = system.url("intake")
    answer = requests.post(f"{intake}/api/v1/applications", json=valid_body(), timeout=10)
    assert answer.status_code == 202, answer.text
    verified = requests.post(f"{intake}/api/v1/applications/{answer.json()['application_id']}"
                             "/verify", headers=OPERATOR, timeout=10)
    assert verified.status_code == 200, verified.text
    eventually(lambda: total(samples(intake), "smartdukcapil_events_total",
                             handler="on_print_job_queued") > 0,
               what="intake handled print_job_queued")

    for name in ("intake", "printing", "notification", "courier"):
        assert requests.get(f"{system.url(name)}/health/live", timeout=10).status_code == 200
        scrape = samples(system.url(name))
        services = {dict(labels).get("service") for sample, labels in scrape
                    if sample.startswith("smartdukcapil_")}
        assert services == {name}, (name, services)
    families = {sample for sample, labels in samples(intake)}
    assert {"smartdukcapil_http_requests_total", "smartdukcapil_events_total",
            "smartdukcapil_outbox_backlog", "smartdukcapil_pipeline_backlog",
            "smartdukcapil_db_commands_total"} <= families
    assert value(samples(intake), "smartdukcapil_http_requests_total", service="intake",
                 container="intake_api", endpoint="/health/live", method="GET",
                 status="200") >= 1
