"""A jemput-bola CSV row refused names every field at fault: a text problem
in one cell (a quoted line break) no longer hides a bad phone in another
(outside review: only ``address.street`` was reported; docs/api.md says
``fields`` lists all the fields at fault)."""

from __future__ import annotations

from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from services.intake.api_batches import batch_rows
from services.intake.batches import check_batch_row
from tests.unit.test_batches import HEADER, SCREENING, SUKAJAYA, TODAY, refused_fields

STREET_BROKEN = f'"Jl. Melati\nNo. 3",003,005,{SUKAJAYA}'


def csv_request(line: str) -> Request:
    return Request(EnvironBuilder(method="PUT", data=f"{HEADER}\n{line}\n".encode(),
                                  content_type="text/csv").get_environ())


def row_refused_on(line: str) -> tuple[dict, dict]:
    """(the fields the row is refused on, what reading it found)."""
    [row] = batch_rows(csv_request(line))
    return refused_fields(lambda: check_batch_row(row, SUKAJAYA, TODAY, SCREENING)), row.problems


def test_a_line_break_in_the_street_and_a_bad_phone_are_both_reported():
    fields, _ = row_refused_on("ktp_el,3673041207900001,3673041201100003,Budi Santoso,12345,"
                               f"first_issue,{STREET_BROKEN}")
    assert {"address.street", "applicant.phone"} <= set(fields)


def test_a_text_problem_alone_is_reported_with_its_own_message():
    fields, found = row_refused_on("ktp_el,3673041207900001,3673041201100003,Budi Santoso,"
                                   f"081234567890,first_issue,{STREET_BROKEN}")
    assert fields == found and list(fields) == ["address.street"]
