"""Every service's served GETs against docs/api.md's promise: an
operator's, officer's, station's or document reader's GET refuses a query
parameter it does not take, and any GET refuses one of its parameters given
twice - 400 ``validation_failed`` naming it, never ignored, never read as
its first value. The operations are taken from each service's served
OpenAPI document, called with each token it lists; a path parameter is a
probe value no resource has, so a 404 would say the store was read before
the query. Each 400 is one the operation's document lists, in its shape."""

from __future__ import annotations

import pytest
import requests

from tests.openapi_answers import refused_naming, served_document
from tests.openapi_requests import VALUES, credentials

SERVICES = ("intake", "printing", "notification", "courier")
PROBE = "openapi_probe"
# Public GETs the promise leaves out (it is the staff's and the stations'):
# a parameter they do not take may be ignored; one of theirs given twice is
# refused all the same (below).
TOLERANT = {
    # probes, scrapers and tooling: their query is theirs to add
    "/health", "/health/live", "/health/ready", "/metrics", "/api/v1/openapi.json",
    # any verifier's app: docs/verification.md lists the 400s it answers
    "/api/v1/verify", "/api/v1/verify/keys",
    # Meta's handshake: only its hub.* parameters are read (docs/whatsapp-webhook.md)
    "/api/v1/whatsapp/webhook",
}


def get_operations(document: dict):
    """(path, operation) of every GET in ``document``."""
    return [(path, item["get"]) for path, item in document["paths"].items() if "get" in item]


def refusal(system, service: str, document: dict, path: str, query: list, headers: dict,
            name: str, method: str = "GET") -> str | None:
    """What is wrong with the answer to ``method`` ``path`` with ``query``;
    None if it is the 400 naming ``name`` its document lists."""
    response = requests.request(method, system.url(service) + path.format(**VALUES),
                                params=query, headers=headers, timeout=10)
    what = f"{service} {method} {path}?{query}: {response.status_code} {response.text[:200]}"
    return None if refused_naming(document, method, path, response,
                                  lambda key: key == name) else what


@pytest.mark.parametrize("service", SERVICES)
def test_a_parameter_a_get_does_not_take_is_refused(system, service):
    document = served_document(system.url(service))
    failures, probed = [], 0
    for path, operation in get_operations(document):
        if path in TOLERANT:
            continue
        for alternative in range(len(operation.get("security") or [{}])):
            headers = credentials(system, operation, alternative=alternative)
            failures.append(refusal(system, service, document, path, [(PROBE, "1")],
                                    headers, PROBE))
            probed += 1
    assert [failure for failure in failures if failure] == []
    assert probed >= 3


@pytest.mark.parametrize("service", SERVICES)
def test_a_parameter_given_twice_is_refused(system, service):
    document = served_document(system.url(service))
    failures, probed = [], 0
    for path, operation in get_operations(document):
        for parameter in operation.get("parameters", []):
            if parameter["in"] != "query":
                continue
            name = parameter["name"]
            query = [(name, "openapi-probe"), (name, "openapi-probe")]
            failures.append(refusal(system, service, document, path, query,
                                    credentials(system, operation), name))
            probed += 1
    assert [failure for failure in failures if failure] == []
    assert probed >= 2


def test_the_tolerant_gets_are_public(system):
    """A GET left out above is one anybody may call: none with a token."""
    for service in SERVICES:
        for path, operation in get_operations(served_document(system.url(service))):
            assert path not in TOLERANT or not operation.get("security"), (service, path)


def test_the_resend_refuses_a_parameter_too(system):
    """The one write whose docs promise it (docs/api.md, notification: "the
    delivery log, the resend and the counters"); no other POST, PUT or DELETE
    says what a query parameter gets."""
    document = served_document(system.url("notification"))
    path = "/api/v1/notifications/messages/{notification_id}/resend"
    headers = credentials(system, document["paths"][path]["post"])
    assert refusal(system, "notification", document, path, [(PROBE, "1")], headers, PROBE,
                   "POST") is None
