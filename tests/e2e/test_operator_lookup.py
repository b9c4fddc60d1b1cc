"""The front desk's "where is my KTP?" through the real stack: an operator
finds a citizen's applications by tracking code (in either case) or by NIK
(every one of them, ended ones too, newest first, page by page), in the
queue rows' shape with the NIK masked, and opens one by its tracking code.
Outside review: ``?tracking_code=`` and ``?nik=`` were 400 "unknown field",
a code where the id goes 404, and a queue row carried no NIK at all."""

from __future__ import annotations

import requests

from tests.e2e.test_operator_flow import KECAMATAN, application_body, citizen, ids, submit
from tests.helpers import OPERATOR, eventually, personal_data_in_logs, random_mobile, random_nik
from tests.openapi_answers import assert_answer_matches, served_document

LIST = "/api/v1/operator/applications"


def listed(intake: str, **params) -> requests.Response:
    return requests.get(f"{intake}{LIST}", headers={**OPERATOR, "Accept-Language": "en"},
                        params=params, timeout=10)


def every_row(intake: str, **params) -> list[dict]:
    """Every row of the list for ``params``, a page of one row at a time."""
    rows, cursor = [], None
    for _ in range(20):
        page = listed(intake, **params, limit=1, **({"cursor": cursor} if cursor else {}))
        assert page.status_code == 200, page.text
        rows += page.json()["applications"]
        if (cursor := page.json()["next_cursor"]) is None:
            return rows
    raise AssertionError("the list did not end")


def test_an_operator_finds_a_citizens_applications_by_nik_and_tracking_code(system):
    intake = system.url("intake")
    nik, phone = random_nik(kecamatan=KECAMATAN), random_mobile()
    masked = nik[:4] + "********" + nik[-4:]
    first = submit(intake, application_body(nik, phone))
    assert citizen(intake, "cancel", first["tracking_code"], nik).status_code == 200
    second = submit(intake, application_body(nik, phone))  # the KTP-el asked for again
    someone_else = submit(intake, application_body(random_nik(kecamatan=KECAMATAN),
                                                   random_mobile()))

    # by NIK: both, the cancelled one too, newest first, one page each
    rows = every_row(intake, nik=nik)
    assert ids(rows) == [second["application_id"], first["application_id"]]
    assert [row["status"] for row in rows] == ["submitted", "cancelled"]
    assert {row["nik_masked"] for row in rows} == {masked}
    assert [row["tracking_code"] for row in rows] == [second["tracking_code"],
                                                      first["tracking_code"]]
    # the queue's own filters narrow it; a status given is kept
    assert ids(every_row(intake, nik=nik, status="cancelled")) == [first["application_id"]]
    assert every_row(intake, nik=nik, document_type="kia") == []

    # by tracking code, as the citizen reads it out (either case, spaces around)
    found = listed(intake, tracking_code=f" {first['tracking_code'].lower()} ")
    assert found.status_code == 200, found.text
    assert ids(found.json()["applications"]) == [first["application_id"]]
    assert found.json()["next_cursor"] is None
    assert_answer_matches(served_document(intake), "get", LIST, 200, found.json())
    assert listed(intake, tracking_code="SDK22222222").json()["applications"] == []

    # the queue itself is as it was: one status, oldest first - its rows masked too
    queue = every_row(intake, kecamatan=KECAMATAN)
    assert second["application_id"] in ids(queue) and first["application_id"] not in ids(queue)
    assert someone_else["application_id"] in ids(queue)
    assert {row["status"] for row in queue} == {"submitted"}
    assert next(row for row in queue
                if row["application_id"] == second["application_id"])["nik_masked"] == masked

    # the detail opened with the tracking code where the id goes
    detail = requests.get(f"{intake}{LIST}/{second['tracking_code'].lower()}",
                          headers=OPERATOR, timeout=10)
    assert detail.status_code == 200, detail.text
    assert detail.json()["application_id"] == second["application_id"]
    assert detail.json()["applicant"]["nik"] == nik
    assert requests.get(f"{intake}{LIST}/SDK22222222", headers=OPERATOR,
                        timeout=10).status_code == 404

    # the access log writes the request line: the NIK asked for is not in it
    def logged() -> bool:
        text = "".join(path.read_text(errors="replace")
                       for path in (system.run_dir / "logs").glob("*.log"))
        return "nik=***" in text and "tracking_code=***" in text
    eventually(logged, what="the lookups in the access log")
    assert personal_data_in_logs(system, nik, phone) == []


def test_a_bad_nik_or_tracking_code_is_a_400_naming_it(system):
    intake = system.url("intake")
    for params, field in (({"nik": "3673"}, "nik"), ({"nik": "36730452079000O1"}, "nik"),
                          ({"tracking_code": "SDK-7KQ2M9XA"}, "tracking_code"),
                          ({"tracking_code": "SDK"}, "tracking_code")):
        answer = listed(intake, **params)
        assert answer.status_code == 400, answer.text
        assert list(answer.json()["error"]["fields"]) == [field], answer.text
