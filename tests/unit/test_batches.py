"""Jemput-bola batches and kecamatan next-day requests, without I/O:
CSV parsing (with its row and line numbers), each row checked with the single
submission's rules, the officer's scope, the applications they become, and
the officers' scoped tokens (services/intake/batches.py, shared/auth.py)."""

from __future__ import annotations

import datetime
from types import SimpleNamespace

import pytest

from services.intake.api_batches import batch_reply, rejected_row, render_reply
from services.intake.batches import (MAX_ROWS, OutOfScope, Row, batch_application,
                                     check_batch_id, check_batch_row, check_next_day,
                                     csv_rows, nest, new_batch, next_day_application,
                                     same_rows)
from services.intake.exceptions import BatchIdReused
from services.intake.domain import resubmit
from services.intake.request_fields import corrected_request
from services.intake.schemas import KtpElDetailsSchema
from services.intake.screening import Screening
from shared.auth import Officer, ScopedBearerTokens, hash_token
from shared.errors import ValidationFailed
from shared.settings import InvalidSetting

TODAY = datetime.date(2025, 6, 2)
SUKAJAYA, TINGGAR, CURUG = "3673041010", "3673041002", "367304"
OFFICER = Officer("officer-sukajaya", SUKAJAYA)
HEADER = ("document_type,applicant.nik,applicant.kk_number,applicant.full_name,"
          "applicant.phone,details.reason,address.street,address.rt,address.rw,"
          "address.kelurahan_code")


class NoRegister:
    """A register that knows nobody (the rules flag, never refuse, for that)."""

    def person(self, nik):
        return None

    def family(self, kk_number):
        return None


# the checks of every application, with a register that knows nobody and no card issued
SCREENING = Screening(NoRegister(), lambda nik: False, lambda nik: False)


def csv_line(nik="3673041207900001", name="Budi Santoso", reason="first_issue",
             kelurahan=SUKAJAYA) -> str:
    return (f"ktp_el,{nik},3673041201100003,{name},081234567890,{reason},"
            f"Jl. Melati No. 3,003,005,{kelurahan}")


def row_body(**overrides) -> dict:
    [row] = csv_rows(f"{HEADER}\n{csv_line(**overrides)}\n".encode())
    return row.body


def refused_fields(call) -> dict:
    with pytest.raises((ValidationFailed, OutOfScope)) as refused:
        call()
    return refused.value.fields


def test_csv_rows_become_nested_requests_with_their_numbers():
    text = f"\ufeff{HEADER}\r\n{csv_line()}\r\n\r\n{csv_line(nik='3673045207900002')}\r\n"
    first, second = csv_rows(text.encode())
    assert (first.number, first.line, second.number, second.line) == (1, 2, 2, 4)
    assert first.body == {
        "document_type": "ktp_el",
        "applicant": {"nik": "3673041207900001", "kk_number": "3673041201100003",
                      "full_name": "Budi Santoso", "phone": "081234567890"},
        "details": {"reason": "first_issue"},
        "address": {"street": "Jl. Melati No. 3", "rt": "003", "rw": "005",
                    "kelurahan_code": SUKAJAYA}}


def test_semicolons_quoted_cells_empty_cells_and_lists():
    text = ('document_type;applicant.full_name;details.reason;details.police_report_number;'
            'details.witnesses.1.nik;details.witnesses.0.nik\n'
            'ktp_el;"Sari; Dewi";lost;;3673045207900002;3673041207900001\n')
    [row] = csv_rows(text.encode())
    assert row.body == {"document_type": "ktp_el", "applicant": {"full_name": "Sari; Dewi"},
                        "details": {"reason": "lost",
                                    "witnesses": [{"nik": "3673041207900001"},
                                                  {"nik": "3673045207900002"}]}}
    assert nest({"a.0": "x", "a.b": "y"}) == {"a": {"0": "x", "b": "y"}}


def test_true_and_false_cells_are_booleans_the_rest_text():
    # the yes/no fields take JSON booleans only (shared.fields.JsonBoolean): a
    # CSV's text true/false, in any case (Excel writes TRUE), becomes one
    text = ("document_type,details.reason,details.old_card_surrendered\n"
            "ktp_el,damaged,TRUE\nktp_el,damaged,false\nktp_el,damaged,yes\n")
    first, second, third = (row.body["details"]["old_card_surrendered"]
                            for row in csv_rows(text.encode()))
    assert (first, second, third) == (True, False, "yes")
    assert KtpElDetailsSchema().load(csv_rows(text.encode())[0].body["details"]) == {
        "reason": "damaged", "police_report_number": None, "old_card_surrendered": True}


def test_a_row_with_too_many_cells_is_kept_with_its_problem():
    rows = csv_rows(f"{HEADER}\n{csv_line()},extra\n{csv_line()}\n".encode())
    assert rows[0].body is None and list(rows[0].problems) == ["_row"]
    assert rows[1].problems == {}


@pytest.mark.parametrize("data, field", [
    (b"\xff\xfe not utf-8", "_body"),
    (f"{HEADER}\n".encode(), "_body"),  # no rows
    (b"", "_body"),
    (f"{HEADER},hobby\n{csv_line()},x\n".encode(), "hobby"),
    (f"{HEADER},channel\n{csv_line()},web\n".encode(), "channel"),
    (f"{HEADER},applicant.nik\n{csv_line()},1\n".encode(), "applicant.nik"),
    (f"{HEADER},details\n{csv_line()},x\n".encode(), "details"),
    (f"{HEADER},document_type.x\n{csv_line()},x\n".encode(), "document_type.x"),
    (("a,b\n" + "x,y\n").encode(), "a"),
])
def test_a_file_that_cannot_be_read_names_what(data, field):
    assert field in refused_fields(lambda: csv_rows(data))


@pytest.mark.parametrize("extra, message", [
    ("details.child.full_name", "Column given twice."),
    ("details.child", "This column is also the parent of another (details.child.full_name): "
                      "give only the columns below it."),
])
def test_a_column_twice_and_a_parent_column_are_told_apart(extra, message):
    data = (f"document_type,details.child.full_name,{extra}\n"
            "akta_kelahiran,Hasan Basri,x\n").encode()
    fields = refused_fields(lambda: csv_rows(data))
    assert [text.en for text in fields[extra]] == [message]


def test_at_most_the_row_limit():
    lines = "\n".join(csv_line() for _ in range(MAX_ROWS))
    assert len(csv_rows(f"{HEADER}\n{lines}\n".encode())) == MAX_ROWS
    assert "_body" in refused_fields(lambda: csv_rows(f"{HEADER}\n{lines}\n{csv_line()}".encode()))


def test_batch_ids_are_short_and_plain():
    assert check_batch_id("RW05-2020.07_a") == "RW05-2020.07_a"
    for bad in ("", "a/b", "x" * 65, "é"):
        assert "batch_id" in refused_fields(lambda: check_batch_id(bad))


def test_a_valid_row_passes_the_single_submissions_rules():
    checked = check_batch_row(Row(1, row_body()), SUKAJAYA, TODAY, SCREENING)
    assert checked.request["channel"] == "kelurahan"
    assert checked.address["kelurahan_code"] == SUKAJAYA
    assert checked.checked.details["reason"] == "first_issue"
    assert "register_unknown_nik" in checked.checked.flags


@pytest.mark.parametrize("change, field", [
    (lambda body: body.pop("address"), "address"),
    (lambda body: body.update(address=None), "address"),
    (lambda body: body["address"].update(kelurahan_code="3673049999"), "address.kelurahan_code"),
    (lambda body: body["address"].pop("street"), "address.street"),
    (lambda body: body["applicant"].update(nik="36730412"), "applicant.nik"),
    (lambda body: body["applicant"].pop("full_name"), "applicant.full_name"),
    # a JSON row keeps its spaces (a CSV cell of spaces is left out: missing)
    (lambda body: body["applicant"].update(full_name="   "), "applicant.full_name"),
    (lambda body: body["address"].update(street="\u200b\u200b\u200b"), "address.street"),
    (lambda body: body["address"].update(rt="0" * 30000), "address.rt"),
    (lambda body: body["applicant"].update(phone="08123abc7890"), "applicant.phone"),
    (lambda body: body["details"].update(reason="lost"), "details.police_report_number"),
    (lambda body: body["applicant"].update(nik="3673045503100002"), "applicant.nik"),  # aged 15
    (lambda body: body.update(channel="web"), "channel"),
    (lambda body: body["applicant"].update(hobby="x"), "applicant.hobby"),
    # the manifest goes back to its kelurahan: no office to choose (outside audit T1)
    (lambda body: body.update(delivery={"place_id": "kec-curug"}), "delivery.place_id"),
])
def test_a_bad_row_is_refused_naming_its_field(change, field):
    body = row_body()
    change(body)
    assert field in refused_fields(lambda: check_batch_row(Row(3, body), SUKAJAYA, TODAY, SCREENING))


def test_a_row_whose_address_is_in_another_kelurahan_is_out_of_scope():
    with pytest.raises(OutOfScope) as refused:
        check_batch_row(Row(1, row_body(kelurahan=TINGGAR)), SUKAJAYA, TODAY, SCREENING)
    assert refused.value.status == 403
    assert list(refused.value.fields) == ["address.kelurahan_code"]


def test_problems_found_while_parsing_refuse_the_row():
    row = Row(2, None, 3, {"_row": ["x"]})
    assert refused_fields(lambda: check_batch_row(row, SUKAJAYA, TODAY, SCREENING)) == {"_row": ["x"]}
    assert "_row" in refused_fields(lambda: check_batch_row(Row(1, ["x"]), SUKAJAYA, TODAY, SCREENING))


def test_a_batch_row_becomes_an_application_of_the_manifest():
    batch = new_batch(OFFICER, "RW05-1", rows=[Row(1, row_body())], today=TODAY)
    assert batch["manifest_id"].startswith(f"JB-{SUKAJAYA}-20250602-")
    row = Row(7, row_body())
    application = batch_application(check_batch_row(row, SUKAJAYA, TODAY, SCREENING), OFFICER,
                                    batch, row)
    assert application["manifest_id"] == batch["manifest_id"]
    assert (application["kecamatan_code"], application["next_day"]) == (CURUG, False)
    assert application["area"]["kelurahan_code"] == SUKAJAYA
    assert application["channel"] == "kelurahan"
    assert application["submitted_by"] == "officer-sukajaya@3673041010"
    assert application["pickup_place_id"] is None  # the manifest's way back, not a counter
    # not a key an HTTP client can send: a resumed batch finds its rows by it
    assert application["idempotency_key"] == "\u00a7batch:officer-sukajaya@3673041010/RW05-1#7"


def test_a_resubmitted_batch_row_keeps_the_place_its_round_set():
    """Outside audit T1: a citizen's request sets where it is collected; an
    officer's application keeps the place its round set, and its citizen
    cannot name another on resubmission (400 on ``delivery.place_id``)."""
    batch = new_batch(OFFICER, "RW05-1", rows=[Row(1, row_body())], today=TODAY)
    row = Row(7, row_body())
    checked = check_batch_row(row, SUKAJAYA, TODAY, SCREENING)
    application = batch_application(checked, OFFICER, batch, row)
    refused = refused_fields(lambda: corrected_request(
        application, {"delivery": {"method": "pickup", "place_id": "kec-curug"}}))
    assert list(refused) == ["delivery.place_id"]
    application["status"] = "rejected"
    request = corrected_request(application, {"applicant": {"full_name": "Budi Santosa"}})
    moved = resubmit(application, request, checked.checked.details)
    assert "pickup_place_id" not in moved.changes  # None stays: not the Dinas'


def next_day_body(nik="3673041207900001", **extra) -> dict:
    return {"applicant": {"nik": nik, "kk_number": "3673041201100003",
                          "full_name": "Budi Santoso", "phone": "081234567890"},
            "details": {"reason": "first_issue"}, **extra}


def test_a_next_day_request_from_its_own_kecamatan():
    checked = check_next_day(next_day_body(), CURUG, TODAY, SCREENING)
    officer = Officer("officer-curug", CURUG)
    application = next_day_application(checked, officer, None)
    assert (application["next_day"], application["pickup_place_id"],
            application["kecamatan_code"], application["channel"]) == (
        True, "disdukcapil-serang", CURUG, "kecamatan")
    # a NIK issued elsewhere, living in the kecamatan now
    address = {"street": "Jl. Raya Curug", "kelurahan_code": SUKAJAYA}
    check_next_day(next_day_body(nik="3673021207900001", address=address), CURUG, TODAY, SCREENING)


@pytest.mark.parametrize("body, field", [
    (next_day_body(nik="3673021207900001"), "applicant.nik"),  # Kasemen, no address
    (next_day_body(nik="3673021207900001",
                   address={"street": "Jl. Banten", "kelurahan_code": "3673021001"}),
     "applicant.nik"),
    ({**next_day_body(), "details": {"reason": "lost", "police_report_number": "LP/1"}},
     "details.reason"),
    ({**next_day_body(), "document_type": "kia"}, "document_type"),
    (next_day_body(delivery={"method": "pos"}), "delivery"),
    # a null is no address left out: it was taken as none and the request stored
    (next_day_body(address=None), "address"),
])
def test_a_next_day_request_is_refused_naming_the_field(body, field):
    assert field in refused_fields(lambda: check_next_day(body, CURUG, TODAY, SCREENING))


def refusal(call) -> tuple[str, str, str]:
    """The one field ``call`` refuses, with its message in both languages."""
    [(field, [message])] = refused_fields(call).items()
    return field, str(message), message.en


@pytest.mark.parametrize("corrections, as_requested", [
    ({"delivery": {"method": "pos", "address": {"street": "Jl. Raya Curug", "rt": "001",
                                                "kelurahan_code": SUKAJAYA,
                                                "postal_code": "42171"}}},
     next_day_body(delivery={"method": "pos"})),
    ({"details": {"reason": "lost", "police_report_number": "LP/1"}},
     {**next_day_body(), "details": {"reason": "lost", "police_report_number": "LP/1"}}),
], ids=["delivery", "details.reason"])
def test_a_resubmitted_next_day_request_keeps_the_next_day_rules(corrections, as_requested):
    """Outside review: a rejected next-day request resubmitted for Pos (or as
    a lost card's replacement) was verified with ``next_day`` true - on the
    kecamatan's hand-over list and posted too. A resubmission is refused as
    the next-day endpoint refuses the request, naming the same field."""
    application = next_day_application(check_next_day(next_day_body(), CURUG, TODAY, SCREENING),
                                       Officer("officer-curug", CURUG), None)
    application["status"] = "rejected"
    assert refusal(lambda: corrected_request(application, corrections)) == refusal(
        lambda: check_next_day(as_requested, CURUG, TODAY, SCREENING))
    request = corrected_request(application, {"applicant": {"full_name": "Budi Santosa"}})
    moved = resubmit(application, request, request["details"])
    assert moved.changes["delivery"] == {"method": "pickup"}


def test_a_resubmitted_batch_row_keeps_its_address_and_kelurahan():
    """Outside review: a batch row resubmitted (even as it was) lost its
    kelurahan - the queue's ``?kelurahan=`` no longer listed it. The address
    the officer sent stays, and so does the area it sets."""
    batch = new_batch(OFFICER, "RW05-1", rows=[Row(1, row_body())], today=TODAY)
    row = Row(1, row_body())
    checked = check_batch_row(row, SUKAJAYA, TODAY, SCREENING)
    application = {**batch_application(checked, OFFICER, batch, row), "status": "rejected"}
    for corrections in ({}, {"applicant": {"full_name": "Budi Santosa"}}):
        request = corrected_request(application, corrections)
        moved = resubmit(application, request, checked.checked.details)
        assert moved.changes["area"] == {"kecamatan_code": CURUG, "kelurahan_code": SUKAJAYA}
        assert "address" not in moved.step["detail"]["corrected"]
        assert request["address"] == application["address"]


def test_the_reply_names_each_refused_row_in_the_requests_language():
    refused = ValidationFailed({"applicant.nik": ["Not a valid string."]})
    batch = new_batch(OFFICER, "B1", rows=[Row(1, {}), Row(2, {}, 3)], today=TODAY)
    stored = batch_reply(batch, [{"row": 1, "application_id": "a", "tracking_code": "SDK1"}],
                         [rejected_row(Row(2, {}, 3), refused)])
    assert stored["rejected"] == [{"row": 2, "line": 3, "code": "validation_failed",
                                   "fields": {"applicant.nik": ["Not a valid string."]}}]
    shown = render_reply(stored, "id")
    assert (shown["accepted_count"], shown["rejected_count"]) == (1, 1)
    assert shown["rejected"][0]["field"] == "applicant.nik"
    assert shown["rejected"][0]["reason"] == "Harus berupa teks."
    out_of_scope = refused_fields(lambda: check_batch_row(
        Row(1, row_body(kelurahan=TINGGAR)), SUKAJAYA, TODAY, SCREENING))
    english = render_reply(batch_reply(batch, [], [rejected_row(
        Row(1, {}), OutOfScope("x", out_of_scope))]), "en")
    assert english["rejected"][0]["reason"].startswith("Address outside your kelurahan")


def scoped(spec: str, digits: int) -> ScopedBearerTokens:
    provider = ScopedBearerTokens("KELURAHAN_OFFICER_TOKENS", scope_digits=digits)
    provider.container = SimpleNamespace(config={"KELURAHAN_OFFICER_TOKENS": spec},
                                         service_name="intake_api", extensions=[provider])
    provider.setup()
    return provider


def test_an_officers_token_names_the_officer_and_their_region():
    provider = scoped(f"officer-sukajaya@{SUKAJAYA}:{hash_token('tok')},"
                      f"officer-tinggar@{TINGGAR}:{hash_token('tok-2')}", 10)
    request = SimpleNamespace(headers={"Authorization": "Bearer tok-2"}, remote_addr="192.0.2.1")
    assert provider.checker.authenticate(request) == Officer("officer-tinggar", TINGGAR)


@pytest.mark.parametrize("principal", ["officer-curug@367304", "officer-x", "@3673041010"])
def test_an_officer_entry_without_its_region_stops_the_service(principal):
    with pytest.raises(InvalidSetting) as refused:
        scoped(f"{principal}:{hash_token('tok')}", 10)
    assert "10-digit region code" in str(refused.value)
    assert hash_token("tok")[7:] not in str(refused.value)


def test_a_batch_id_sent_again_must_carry_the_rows_stored_under_it():
    """Outside audit I: the same rows again (JSON whatever its spacing, a
    CSV whatever its blank lines) are the batch; other rows - fewer, more,
    one changed - are ``batch_id_reused``; a batch stored before digests
    were kept takes any."""
    rows = [Row(1, row_body()), Row(2, row_body(), 3)]
    batch = new_batch(OFFICER, "RW05-1", rows=rows, today=TODAY)
    same_rows(batch, [Row(1, row_body()), Row(2, row_body(), 4)])  # a blank line more
    changed = row_body()
    changed["applicant"]["full_name"] = "Siti Aminah Binti Ahmad"
    for other in (rows[:1], rows + [Row(3, row_body(), 5)], [rows[0], Row(2, changed, 3)]):
        with pytest.raises(BatchIdReused) as refused:
            same_rows(batch, other)
        assert list(refused.value.fields) == ["batch_id"] and "(2 baris)" in str(
            refused.value.message)
    same_rows({**batch, "content": None}, rows[:1])
