"""What every service's HTTP server (``shared.http``) answers before an
endpoint's own checks, on a small service of ``api`` entrypoints run
in-process: a path no endpoint serves, a method a path does not take, and a
body that is not JSON on a JSON endpoint - each with the documented JSON
error body, in Bahasa Indonesia unless the client asks for English.
"""

from __future__ import annotations

import pytest
import requests
from prometheus_client import REGISTRY

from deploy.local.stack import free_port
from services.intake.api_batches import AnyObject
from shared.http import api, json_response, read_json
from tests.helpers import pipelined


class SmallApi:
    name = "small_api"

    @api("POST", "/api/v1/applications")
    def submit(self, request):
        return json_response(202, read_json(request, AnyObject()))

    @api("GET", "/api/v1/applications/<string:application_id>")
    def application(self, request, application_id):
        return json_response(200, {"application_id": application_id})

    @api("POST", "/api/v1/applications/<string:application_id>/verify")
    def verify(self, request, application_id):  # takes no body
        return json_response(200, {"verified": application_id})

    @api("POST", "/api/v1/applications/<string:application_id>/withdraw")
    def withdraw(self, request, application_id):  # nameko's own form of an answer
        return 204, ""


@pytest.fixture
def address(container_factory):
    port = free_port()
    container_factory(SmallApi, {"WEB_SERVER_ADDRESS": f"127.0.0.1:{port}"}).start()
    return "127.0.0.1", port


@pytest.fixture
def url(address):
    return "http://{}:{}".format(*address)


def test_an_unknown_path_is_a_json_404_in_bahasa_indonesia_or_english(url):
    for path in ("/api/v1/nothing", "/", "/api/v1/applications/a1/nothing"):
        answer = requests.get(url + path, timeout=10)
        assert answer.status_code == 404
        assert answer.headers["Content-Type"] == "application/json"
        assert answer.json() == {"error": {"code": "unknown_path",
                                           "message": "Alamat ini tidak ada di API ini."}}
    english = requests.post(f"{url}/api/v1/nothing", json={}, timeout=10,
                            headers={"Accept-Language": "en-US,en;q=0.9"})
    assert (english.status_code, english.json()["error"]["message"]) == (
        404, "No such path in this API.")


def test_a_path_with_an_empty_segment_is_no_other_path(url):
    """Outside audit: ``POST /api/v1/station/jobs//printed`` (an empty job
    id) was routed, slashes merged, to the batch report's
    ``/api/v1/station/jobs/printed``. An empty segment is a path no endpoint
    serves."""
    # (leading slashes http.server itself makes one, before any of ours)
    for method, path in (("POST", "/api/v1//applications"), ("POST", "/api/v1/applications/"),
                         ("POST", "/api/v1/applications//verify"),
                         ("GET", "/api/v1/applications//a1"), ("GET", "/api/v1/applications/a1/")):
        answer = requests.request(method, url + path, json={"a": 1}, timeout=10)
        assert answer.status_code == 404, (path, answer.status_code, answer.text)
        assert answer.json()["error"]["code"] == "unknown_path"


def test_a_method_the_path_does_not_take_is_a_json_405_with_allow(url):
    answer = requests.get(f"{url}/api/v1/applications", timeout=10)
    assert answer.status_code == 405
    assert answer.headers["Allow"] == "POST"
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.json() == {"error": {
        "code": "method_not_allowed",
        "message": "Metode ini tidak diterima di sini; gunakan POST."}}
    english = requests.delete(f"{url}/api/v1/applications/a1", timeout=10,
                              headers={"Accept-Language": "en"})
    assert english.status_code == 405
    assert english.headers["Allow"] == "GET, HEAD"
    assert english.json()["error"]["message"] == "This method is not accepted here; use GET, HEAD."


@pytest.mark.parametrize(("headers", "named"), [
    ({"Content-Type": "text/plain"}, "text/plain"),
    ({"Content-Type": "application/x-www-form-urlencoded"}, "application/x-www-form-urlencoded"),
    # none sent: eventlet put the standard library's default, and the
    # answer said "dikirim: text/plain" to a client that sent none (outside audit)
    ({}, "tanpa Content-Type")])
def test_a_body_that_is_not_json_is_a_415_naming_the_content_type(url, headers, named):
    answer = requests.post(f"{url}/api/v1/applications", data=b'{"n": 1}', headers=headers,
                           timeout=10)
    assert answer.status_code == 415
    error = answer.json()["error"]
    assert error["code"] == "unsupported_media_type"
    assert error["fields"] == {"Content-Type": [
        f"Kirim isi permintaan sebagai application/json (dikirim: {named})."]}


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8"])
def test_a_json_body_is_taken_with_or_without_charset(url, content_type):
    answer = requests.post(f"{url}/api/v1/applications", data=b'{"n": 1}', timeout=10,
                           headers={"Content-Type": content_type})
    assert (answer.status_code, answer.json()) == (202, {"n": 1})


def test_an_endpoint_that_takes_no_body_still_takes_none(url):
    answer = requests.post(f"{url}/api/v1/applications/a1/verify", timeout=10)
    assert (answer.status_code, answer.json()) == (200, {"verified": "a1"})


def test_the_misses_are_counted_under_one_endpoint(url):
    def misses(status: str) -> float:
        return REGISTRY.get_sample_value("smartdukcapil_http_requests_total", {
            "service": "small", "container": "small_api", "endpoint": "<unmatched>",
            "method": "GET",
            "status": status}) or 0.0

    before = misses("404"), misses("405")
    for path in ("/api/v1/nothing", "/api/v1/nothing/else", "/.env"):
        assert requests.get(url + path, timeout=10).status_code == 404
    assert requests.get(url + "/api/v1/applications", timeout=10).status_code == 405
    assert (misses("404") - before[0], misses("405") - before[1]) == (3, 1)


def test_a_204_ends_with_its_headers(address):
    """No Transfer-Encoding, no Content-Type, nothing after the blank line:
    the next answer on the connection starts right there (eventlet 0.33 sent
    a chunked empty body, ``0\\r\\n\\r\\n``, which Node.js clients refuse)."""
    post = b"POST /api/v1/applications/a1/withdraw HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
    received = pipelined(address, post + b"\r\n", post + b"Connection: close\r\n\r\n")
    first, after = received.split(b"\r\n\r\n", 1)
    assert first.startswith(b"HTTP/1.1 204 ")
    names = {line.split(b":", 1)[0].strip() for line in first.lower().split(b"\r\n")[1:]}
    assert b"transfer-encoding" not in names and b"content-type" not in names, names
    assert after.startswith(b"HTTP/1.1 204 ")
    assert after.endswith(b"\r\n\r\n")  # the second one too


def test_a_method_a_client_invents_is_counted_as_other(url):
    """The request metrics' ``method`` label is one of a fixed set: a client
    inventing methods (``M1``..``M50``, one of 3,000 characters) on a path
    that exists or not adds no series (each new label value was 17 series,
    kept for the life of the process)."""
    def methods() -> set[str]:
        return {sample.labels["method"] for family in REGISTRY.collect()
                if family.name == "smartdukcapil_http_requests"
                for sample in family.samples if sample.labels.get("container") == "small_api"}

    invented = [f"M{n}" for n in range(1, 51)] + ["X" * 3000]
    for n, method in enumerate(invented):
        path = "/api/v1/applications" if n % 2 else "/api/v1/nothing"
        assert requests.request(method, url + path, timeout=10).status_code in (404, 405, 414)
    assert requests.request("OPTIONS", url + "/api/v1/applications", timeout=10).status_code
    assert len(methods()) <= 8, sorted(methods(), key=len)[:12]
    assert "other" in methods() and not any(m.startswith("M") for m in methods())


@pytest.mark.parametrize(("raw", "status"), [
    (b"GET /api/v1/" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", b"414"),
    (b"GET /health HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 9000 + b"\r\n\r\n", b"431"),
    (b"POST /api/v1/applications HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
     b"Content-Length: 3\r\n\r\n{}", b"400"),
    (b"POST /api/v1/applications HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
     b"Content-Length: 4\r\n\r\n2\r\n{}\r\n0\r\n\r\n", b"400"),
    (b"GET /health HTTP/x.y\r\n\r\n", b"400"),
    (b"GET /health HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n", b"400"),
    (b"GET /health HTTP/2.0\r\nHost: x\r\n\r\n", b"505")])
def test_a_refusal_before_the_app_is_private_as_every_answer(address, raw, status):
    """The server's own refusals (framing, request line, header size, version)
    carry Cache-Control: no-store and nosniff, as docs/api.md promises of
    every answer; they lacked both."""
    head = pipelined(address, raw).partition(b"\r\n\r\n")[0].lower()
    assert head.startswith(b"http/1.1 " + status + b" "), head
    assert b"\r\ncache-control: no-store\r\n" in head + b"\r\n"
    assert b"\r\nx-content-type-options: nosniff\r\n" in head + b"\r\n"
