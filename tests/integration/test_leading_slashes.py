"""A path that begins with an empty segment (``//api/v1/...``) is a path no
endpoint serves, as an empty segment anywhere else is (``shared.http``):
the standard library's request parser made it ``/api/v1/...`` before the
router saw it, so the endpoint ran."""

from __future__ import annotations

import http.client
import json

import pytest

from deploy.local.stack import free_port
from tests.integration.test_routing_and_media_types import SmallApi


@pytest.fixture
def port(container_factory):
    port = free_port()
    container_factory(SmallApi, {"WEB_SERVER_ADDRESS": f"127.0.0.1:{port}"}).start()
    return port


def sent_as_is(port: int, method: str, target: str, body: bytes | None = None):
    """The answer to ``target`` as written (requests may rewrite a URL)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, target, body=body,
                           headers={"Content-Type": "application/json"} if body else {})
        answer = connection.getresponse()
        return answer.status, json.loads(answer.read())
    finally:
        connection.close()


def test_leading_empty_segments_are_no_path_of_the_api(port):
    for method, target, body in (("POST", "//api/v1/applications", b'{"a": 1}'),
                                 ("POST", "///api/v1/applications", b'{"a": 1}'),
                                 ("GET", "//api/v1/applications/a1", None),
                                 ("GET", "//api/v1/applications/a1?x=1", None)):
        status, answer = sent_as_is(port, method, target, body)
        assert status == 404, (target, status, answer)  # was the endpoint's answer
        assert answer["error"]["code"] == "unknown_path", (target, answer)


def test_the_paths_themselves_still_answer(port):
    """The check above can fail: the same targets with one slash reach the endpoints."""
    assert sent_as_is(port, "POST", "/api/v1/applications", b'{"a": 1}') == (202, {"a": 1})
    assert sent_as_is(port, "GET", "/api/v1/applications/a1?x=1") == \
        (200, {"application_id": "a1"})
