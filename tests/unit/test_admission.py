"""Admission budgets and the refusal that costs nothing (shared/http.py),
with fakes for the container's admission state."""

from __future__ import annotations

import json
import logging
from types import SimpleNamespace

import eventlet
import pytest
from prometheus_client import REGISTRY
from werkzeug.routing import Map, Rule
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from shared.errors import DatabaseUnavailable, ServiceBusy
import shared.http
from shared.http import LOOKUPS, WRITES, AccessLog, Admission, ApiHandler, RefuseAtOnce


BEHIND = "the pipeline is behind"


class FakeAdmission:
    def __init__(self, full: set):
        self.full_budgets, self.max_body_bytes, self.retry_after = full, 100, "2"

    def full(self, budget, new_work=False):
        return budget in self.full_budgets or (new_work and BEHIND in self.full_budgets)

    def busy_body(self, lang):
        return json.dumps({"lang": lang}).encode()


def handler(method: str, url: str, admission: FakeAdmission, **kwargs) -> ApiHandler:
    entrypoint = ApiHandler(method, url, **kwargs)
    entrypoint.admission = admission
    entrypoint.container = SimpleNamespace(service_name="unit")
    return entrypoint


def app_for(*handlers: ApiHandler):
    url_map = Map([Rule(h.url, methods=[h.method], endpoint=h) for h in handlers])
    return RefuseAtOnce(lambda environ, start_response: [b"admitted"], url_map,
                        AccessLog(logging.getLogger("unit.access")))


def call(app, method: str, path: str, **environ) -> tuple[str, dict, bytes]:
    answer = {}
    body = app({"REQUEST_METHOD": method, "PATH_INFO": path, **environ},
               lambda status, headers: answer.update(status=status, headers=dict(headers)))
    return answer.get("status", "passed on"), answer.get("headers", {}), b"".join(body)


def test_gets_are_lookups_and_the_rest_writes_unless_declared():
    admission = FakeAdmission(set())
    assert handler("GET", "/a", admission).budget == LOOKUPS
    assert handler("POST", "/a", admission).budget == WRITES
    assert handler("POST", "/a", admission, budget=LOOKUPS).budget == LOOKUPS
    assert handler("GET", "/health", admission, budget=None).budget is None


def test_a_full_budget_is_refused_before_nameko_sees_the_request():
    admission = FakeAdmission({WRITES})
    app = app_for(handler("POST", "/submit", admission),
                  handler("POST", "/status", admission, budget=LOOKUPS),
                  handler("GET", "/metrics", admission, budget=None))
    before = REGISTRY.get_sample_value("smartdukcapil_http_requests_total", {
        "service": "unit", "container": "unit", "endpoint": "/submit", "method": "POST", "status": "503"}) or 0

    status, headers, body = call(app, "POST", "/submit", HTTP_ACCEPT_LANGUAGE="en",
                                 CONTENT_LENGTH="50")
    assert status.startswith("503") and headers["Retry-After"] == "2"
    assert json.loads(body) == {"lang": "en"}
    assert REGISTRY.get_sample_value("smartdukcapil_http_requests_total", {
        "service": "unit", "container": "unit", "endpoint": "/submit", "method": "POST", "status": "503"}) == before + 1

    assert call(app, "POST", "/status")[2] == b"admitted"   # its own budget
    assert call(app, "GET", "/metrics")[2] == b"admitted"   # never refused
    # over the body limit: 413 comes first, from the full path
    assert call(app, "POST", "/submit", CONTENT_LENGTH="101")[2] == b"admitted"


def test_paths_with_an_id_are_left_to_the_full_path():
    admission = FakeAdmission({WRITES})
    app = app_for(handler("POST", "/applications/<string:application_id>/verify", admission))
    assert call(app, "POST", "/applications/x/verify")[2] == b"admitted"


def test_new_work_is_refused_at_once_while_the_pipeline_is_behind():
    admission = FakeAdmission({BEHIND})
    app = app_for(handler("POST", "/submit", admission, new_work=True),
                  handler("POST", "/verify", admission))
    assert call(app, "POST", "/submit")[0].startswith("503")
    assert call(app, "POST", "/verify")[2] == b"admitted"  # a write, but not new work


def test_admission_refuses_new_work_only_while_the_watch_says_behind():
    admission = Admission()
    admission.capacity, admission.in_flight = {WRITES: 2}, {WRITES: 0}
    admission.pipeline = SimpleNamespace(behind=lambda: True)
    assert admission.full(WRITES, new_work=True)
    assert not admission.full(WRITES)
    admission.pipeline = SimpleNamespace(behind=lambda: False)
    assert not admission.full(WRITES, new_work=True)
    admission.pipeline = SimpleNamespace(behind=lambda: False)  # no queues watched
    assert not admission.full(WRITES, new_work=True)
    admission.in_flight[WRITES] = 2
    assert admission.full(WRITES, new_work=True) and admission.full(WRITES)


class DatabaseDown(FakeAdmission):
    """Room in every budget, the database known to be down."""

    def __init__(self):
        super().__init__(set())

    def database_down(self):
        return True


def answered(entrypoint: ApiHandler, error: Exception, lang: str) -> tuple[int, str, dict]:
    response = entrypoint.error_response(error, lang)
    return response.status_code, response.headers.get("Retry-After"), \
        json.loads(response.get_data())["error"]


def test_an_outage_answers_503_as_load_does_but_says_it_is_an_outage():
    """Outside audit F4: with the database down every endpoint answered
    "Layanan sedang sibuk" - the capacity 503's text - so citizens and
    front-ends could not tell an outage from a peak. Same status, code and
    Retry-After (a client retries both alike); each its own message."""
    entrypoint = handler("POST", "/submit", DatabaseDown())
    refusal = entrypoint.admission_refusal(
        Request(EnvironBuilder(method="POST", path="/submit").get_environ()))
    assert isinstance(refusal, DatabaseUnavailable)
    assert answered(entrypoint, refusal, "id") == (503, "2", {
        "code": "unavailable",
        "message": "Layanan sedang mengalami gangguan, silakan coba lagi beberapa saat lagi."})
    assert answered(entrypoint, refusal, "en")[2]["message"] == \
        "The service is temporarily unavailable, please try again shortly."
    # the overload 503 keeps its own words
    assert answered(entrypoint, ServiceBusy(), "id") == (503, "2", {
        "code": "unavailable", "message": "Layanan sedang sibuk, silakan coba lagi."})
    assert answered(entrypoint, ServiceBusy(), "en")[2]["message"] == \
        "Service busy, please retry."


def test_a_worker_waiting_for_the_pipeline_gives_its_message_back_in_time():
    """A review (forty-fifth session): a channel request waited for the
    pipeline with no end; unacked past the broker's consumer timeout (30
    min), its channel was closed and every request in hand redelivered while
    their workers still waited. After ``most`` it is given back (requeued)."""
    from shared.pipeline import MOST_WAIT_SECONDS, Pipeline, StoppedWaiting
    pipeline = Pipeline()
    pipeline.stopping = False
    pipeline.watches = [SimpleNamespace(behind=lambda: True, poll_seconds=0.01)]
    with pytest.raises(StoppedWaiting):
        pipeline.wait_until_caught_up(most=0.05)
    assert MOST_WAIT_SECONDS < 30 * 60
    pipeline.watches = [SimpleNamespace(behind=lambda: False, poll_seconds=0.01)]
    pipeline.wait_until_caught_up(most=0)  # caught up: no wait at all


class Lines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines: list[tuple[str, str]] = []

    def emit(self, record):
        self.lines.append((record.levelname, record.getMessage()))


def test_the_access_log_counts_refusals_and_writes_them_once_a_period(monkeypatch):
    monkeypatch.setattr(shared.http, "REFUSALS_LINE_SECONDS", 0.2)
    logger = logging.getLogger(f"unit.access.{id(monkeypatch)}")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    lines = Lines()
    logger.addHandler(lines)
    access = AccessLog(logger)

    access.begin()
    access.info('"POST /submit HTTP/1.1" 202')  # taken: its line, as eventlet wrote it
    for path in ("/submit", "/submit", "/other"):
        access.begin()
        access.refused("POST", path)
        access.info(f'"POST {path} HTTP/1.1" 503')
    access.refused("POST", "/submit")
    access.begin()  # a mark left by a request that wrote no line goes with the next request
    access.info('"GET /health HTTP/1.1" 200')
    assert lines.lines == [("INFO", '"POST /submit HTTP/1.1" 202'),
                           ("INFO", '"GET /health HTTP/1.1" 200')]

    eventlet.sleep(0.4)  # the period over: one line for the three
    assert lines.lines[2:] == [("WARNING", "refused 3 request(s) with 503 (busy, answered at "
                                "once) in the last 0.2s or less: POST /other 1, POST /submit 2")]
    access.write_refusals()  # nothing counted since: no line
    access.begin()
    access.refused("POST", "/submit")
    access.info('"POST /submit HTTP/1.1" 503')
    access.write_refusals()  # at the stop: written at once, and the timer's line is not doubled
    eventlet.sleep(0.4)
    assert lines.lines[3:] == [("WARNING", "refused 1 request(s) with 503 (busy, answered at "
                                "once) in the last 0.2s or less: POST /submit 1")]


def test_a_routes_call_shape_is_checked_once_and_a_wrong_one_every_time(monkeypatch):
    """nameko checks each call against the endpoint's signature with
    ``inspect.getcallargs``: an ``ApiHandler`` checks a shape (the number of
    arguments, the path values' names) once, and one that does not fit is
    refused on every call."""
    import inspect

    from nameko.exceptions import IncorrectSignature

    class Service:
        def item(self, request, item_id):
            pass

    calls = []
    real = inspect.getcallargs
    monkeypatch.setattr(inspect, "getcallargs",
                        lambda *args, **kwargs: calls.append(kwargs) or real(*args, **kwargs))
    entrypoint = ApiHandler("GET", "/items/<item_id>")
    entrypoint.container = SimpleNamespace(service_cls=Service)
    entrypoint.method_name = "item"
    for item_id in ("a", "b", "c"):
        entrypoint.check_signature(("request",), {"item_id": item_id})
    assert calls == [{"item_id": "a"}]
    for _ in range(2):
        with pytest.raises(IncorrectSignature):
            entrypoint.check_signature(("request",), {"other": "x"})
    assert len(calls) == 3
