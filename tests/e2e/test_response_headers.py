"""Every API answer says: keep no copy, read me as my declared type. The
operator's detail (NIK, KK, phone), a station's claim (NIK, name) and a
citizen's status lookup were sent without ``Cache-Control: no-store`` or
``X-Content-Type-Options: nosniff`` (outside audit F5): a shared proxy or the
browser's cache could keep them."""

from __future__ import annotations

import requests

from tests.helpers import OPERATOR, STATION, eventually, valid_body

PRIVATE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def assert_private(response: requests.Response) -> None:
    assert {name: response.headers.get(name) for name in PRIVATE} == PRIVATE, \
        (response.request.method, response.url, response.status_code, dict(response.headers))


def test_answers_with_personal_data_and_errors_are_not_kept(system):
    intake, printing = system.url("intake"), system.url("printing")
    body = valid_body()
    submitted = requests.post(f"{intake}/api/v1/applications", json=body, timeout=10)
    assert submitted.status_code == 202, submitted.text
    application_id = submitted.json()["application_id"]
    code = submitted.json()["tracking_code"]
    answers = [
        submitted,
        requests.get(f"{intake}/api/v1/operator/applications/{application_id}", headers=OPERATOR,
                     timeout=10),
        requests.post(f"{intake}/api/v1/applications/status", timeout=10,
                      json={"tracking_code": code, "nik": body["applicant"]["nik"]}),
        requests.post(f"{intake}/api/v1/applications/{application_id}/verify",
                      headers=OPERATOR, timeout=10),
        requests.get(f"{intake}/api/v1/operator/applications/nope", headers=OPERATOR, timeout=10),
        requests.post(f"{intake}/api/v1/applications", json={}, timeout=10),
    ]
    for service in ("intake", "printing", "notification", "courier"):
        answers.append(requests.get(f"{system.url(service)}/health", timeout=10))
        answers.append(requests.get(f"{system.url(service)}/api/v1/no-such-thing", timeout=10))
    for answer in answers:
        assert_private(answer)
    def claimed_ours():
        answer = requests.post(f"{printing}/api/v1/station/jobs/claim", headers=STATION,
                               timeout=10)
        assert answer.status_code in (200, 204), answer.text
        return answer if answer.status_code == 200 and \
            answer.json()["application_id"] == application_id else None
    assert_private(eventually(claimed_ours, what="the station's claim of the job"))


def test_a_bearer_token_missing_or_refused_is_answered_with_its_challenge(system):
    """RFC 6750: a 401 for a bearer token says ``WWW-Authenticate: Bearer``
    (outside audit D: client libraries look for it); a webhook's refused
    signature is no bearer token, and says nothing of one."""
    for service, path, method in (("intake", "/api/v1/operator/applications", "get"),
                                  ("printing", "/api/v1/station/jobs/claim", "post"),
                                  ("notification", "/api/v1/notifications/failed", "get"),
                                  ("courier", "/api/v1/shipments", "get")):
        for headers in ({}, {"Authorization": "Bearer not-a-token"}):
            answer = getattr(requests, method)(f"{system.url(service)}{path}", headers=headers,
                                               timeout=10)
            assert answer.status_code == 401, (service, answer.text)
            assert answer.headers.get("WWW-Authenticate") == "Bearer", service
    forged = requests.post(f"{system.url('courier')}/api/v1/pos/webhook", timeout=10,
                           data=b"{}", headers={"Content-Type": "application/json",
                                                "X-Pos-Signature": "t=1,v1=00"})
    assert forged.status_code == 401 and "WWW-Authenticate" not in forged.headers
