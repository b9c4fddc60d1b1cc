"""The officers' channels through the real stack: a kelurahan officer's
jemput-bola batch (CSV or JSON) - each row checked on its own, the good ones
stored under one manifest that printing is told about, the same batch id
answered once - and a kecamatan officer's next-day KTP-el requests; each
officer only within their own region, and only on their own endpoint.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import random
import uuid

import requests

from shared.clock import today_wib
from tests.document_bodies import birth_body, nik_born, skpwni_keluar_body, years_before
from tests.openapi_answers import assert_answer_matches, served_document
from tests.helpers import (KECAMATAN_CODE, KECAMATAN_OFFICER, KELURAHAN_CODE, KELURAHAN_OFFICER,
                           OPERATOR, BrokerProbe, eventually, personal_data_in_logs, random_kk,
                           random_mobile, random_nik, valid_body)

TINGGAR = "3673041002"  # another kelurahan of Kecamatan Curug
COLUMNS = ["document_type", "applicant.nik", "applicant.kk_number", "applicant.full_name",
           "applicant.phone", "details.reason", "details.child.full_name", "details.child.sex",
           "details.child.birth_date", "details.child.birth_place_code", "details.mother_nik",
           "details.mother_full_name",
           "details.parents_married", "details.father_nik", "details.kk_number",
           "details.documents.0", "details.documents.1", "details.documents.2",
           "address.street", "address.rt", "address.rw", "address.kelurahan_code"]


def address(kelurahan: str = KELURAHAN_CODE) -> dict:
    return {"street": "Jl. Raya Sukajaya No. 7", "rt": "003", "rw": "005",
            "kelurahan_code": kelurahan}


def batch_url(system, batch_id: str) -> str:
    return f"{system.url('intake')}/api/v1/jemput-bola/batches/{batch_id}"


def new_batch_id() -> str:
    return f"RW05-{random.randint(10**8, 10**9)}"


def ktp_row(nik: str | None = None) -> dict:
    row = valid_body()
    del row["channel"]
    if nik:
        row["applicant"]["nik"] = nik
    return {**row, "address": address()}


def birth_row(born: datetime.date, **kwargs) -> dict:
    row = birth_body(born, **kwargs)
    del row["channel"]
    return {**row, "address": address()}


def flat(row: dict, prefix: str = "") -> dict:
    """A request as CSV cells: ``{"applicant.nik": ...}``, lists by index."""
    cells = {}
    items = enumerate(row) if isinstance(row, list) else row.items()
    for key, value in items:
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, (dict, list)):
            cells.update(flat(value, path))
        elif value is not None:
            cells[path] = str(value).lower() if isinstance(value, bool) else str(value)
    return cells


def as_csv(rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS)
    writer.writeheader()
    for row in rows:
        writer.writerow(flat(row))
    return out.getvalue().encode()


# each fault: (what it does to a valid KTP-el row, the field the reply must name)
FAULTS = [
    (lambda row: row["applicant"].update(nik="36730412"), "applicant.nik"),
    (lambda row: row["applicant"].pop("full_name"), "applicant.full_name"),
    (lambda row: row["address"].update(kelurahan_code=TINGGAR), "address.kelurahan_code"),
    (lambda row: row["address"].update(kelurahan_code="3673049999"), "address.kelurahan_code"),
    (lambda row: row["details"].update(reason="lost"), "details.police_report_number"),
    (lambda row: row["applicant"].update(nik=nik_born(years_before(today_wib(), 15))),
     "applicant.nik"),  # a first KTP-el at 15
    (lambda row: row["applicant"].update(full_name="Budi\u0007Santoso"), "applicant.full_name"),
    (lambda row: row["applicant"].update(phone="12345"), "applicant.phone"),
]


def mixed_rows(count: int) -> tuple[list[dict], dict[int, str]]:
    """``count`` rows, one in ten faulty (row number -> the field it must be
    refused on), one in ten a birth certificate, one row a NIK repeated."""
    rows, faulty = [], {}
    born = today_wib() - datetime.timedelta(days=10)
    for number in range(1, count + 1):
        if number % 10 == 5:
            rows.append(birth_row(born))
            continue
        row = ktp_row()
        if number % 10 == 0:
            fault, field = FAULTS[(number // 10) % len(FAULTS)]
            fault(row)
            faulty[number] = field
        rows.append(row)
    rows[-2] = ktp_row(nik=rows[-3]["applicant"]["nik"])  # the same citizen twice: 409
    faulty[count - 1] = "applicant.nik"
    return rows, faulty


def test_a_500_row_csv_stores_exactly_its_valid_rows_once(system, mongo):
    probe = BrokerProbe(system.amqp_uri, "intake.events", "batch_accepted")
    rows, faulty = mixed_rows(500)
    batch_id = new_batch_id()
    try:
        answer = requests.put(batch_url(system, batch_id), data=as_csv(rows), timeout=600,
                              headers={**KELURAHAN_OFFICER, "Content-Type": "text/csv"})
        assert answer.status_code == 200, answer.text[:2000]
        reply = answer.json()
        assert (reply["rows"], reply["kelurahan_code"]) == (500, KELURAHAN_CODE)
        assert [row["row"] for row in reply["accepted"]] == \
            [n for n in range(1, 501) if n not in faulty]
        assert {row["row"]: row["field"] for row in reply["rejected"]} == faulty
        for refused in reply["rejected"]:
            assert refused["line"] == refused["row"] + 1  # the header is line 1
            assert refused["reason"] == refused["fields"][refused["field"]][0]
        # an accepted row too (outside audit H), and where each stands now
        assert all(row["line"] == row["row"] + 1 for row in reply["accepted"])
        members = requests.get(f"{batch_url(system, batch_id)}/applications", timeout=60,
                               headers=KELURAHAN_OFFICER).json()["applications"]
        assert [(m["row"], m["line"]) for m in members] == \
            [(row["row"], row["line"]) for row in reply["accepted"]]
        out_of_scope = [r for r in reply["rejected"] if r["code"] == "out_of_scope"]
        assert out_of_scope and all(r["field"] == "address.kelurahan_code" for r in out_of_scope)
        stored = list(mongo["intake"].applications.find({"manifest_id": reply["manifest_id"]}))
        assert sorted(app["_id"] for app in stored) == \
            sorted(row["application_id"] for row in reply["accepted"])
        assert {(app["channel"], app["kecamatan_code"], app["area"]["kelurahan_code"])
                for app in stored} == {("kelurahan", KECAMATAN_CODE, KELURAHAN_CODE)}
        assert {app["document_type"] for app in stored} == {"ktp_el", "akta_kelahiran"}
        told = eventually(probe.drain, what="batch_accepted")
        assert [(event["manifest_id"], sorted(event["application_ids"])) for _, event in told] \
            == [(reply["manifest_id"], sorted(app["_id"] for app in stored))]

        # the same batch id again with the same rows: the first reply, nothing
        # new; with other rows, 409 naming the batch id, nothing new either
        before = mongo["intake"].applications.count_documents({})
        repeat = requests.put(batch_url(system, batch_id), data=as_csv(rows), timeout=600,
                              headers={**KELURAHAN_OFFICER, "Content-Type": "text/csv"})
        assert repeat.status_code == 200 and repeat.json() == reply
        other = requests.put(batch_url(system, batch_id), json={"applications": [ktp_row()]},
                             headers=KELURAHAN_OFFICER, timeout=60)
        assert other.status_code == 409, other.text
        assert (other.json()["error"]["code"], list(other.json()["error"]["fields"])) == (
            "batch_id_reused", ["batch_id"])
        again = requests.get(batch_url(system, batch_id), headers=KELURAHAN_OFFICER, timeout=60)
        assert again.status_code == 200 and again.json() == reply
        assert mongo["intake"].applications.count_documents({}) == before
        # events leave in order: a later batch's arrives, the repeat sent none before it
        later = requests.put(batch_url(system, new_batch_id()), headers=KELURAHAN_OFFICER,
                             json={"applications": [ktp_row()]}, timeout=60)
        assert later.status_code == 200, later.text
        told = eventually(probe.drain, what="the later batch_accepted")
        assert [event["manifest_id"] for _, event in told] == [later.json()["manifest_id"]]
    finally:
        probe.close()
    identities = [value for row in rows for value in (row["applicant"].get("nik"),
                                                      row["applicant"].get("phone"))]
    assert personal_data_in_logs(system, *identities) == []


def test_a_csv_cut_short_on_its_way_then_sent_whole_is_not_answered_as_stored(system):
    """Outside audit I (MEDIUM): a CSV that reached intake cut short in its
    third row was stored as such; the whole file sent again under its batch
    id was answered 200 with the first reply - the officer believed every
    row stored, the missing ones never were. Now 409 naming the batch id;
    the whole file under a new batch id stores the rest, each row stored
    before refused naming the batch and row that holds it."""
    rows, batch_id = [ktp_row() for _ in range(4)], new_batch_id()
    lines = as_csv(rows).split(b"\r\n")
    cut = b"\r\n".join(lines[:3]) + b"\r\n" + lines[3][:30]
    csv_headers = {**KELURAHAN_OFFICER, "Content-Type": "text/csv"}
    first = requests.put(batch_url(system, batch_id), data=cut, headers=csv_headers, timeout=60)
    assert first.status_code == 200, first.text
    assert (first.json()["rows"], len(first.json()["accepted"])) == (3, 2)
    whole = requests.put(batch_url(system, batch_id), data=as_csv(rows), timeout=60,
                         headers={**csv_headers, "Accept-Language": "en"})
    assert whole.status_code == 409, whole.text
    error = whole.json()["error"]
    assert (error["code"], list(error["fields"])) == ("batch_id_reused", ["batch_id"])
    assert "(3 rows)" in error["message"], error
    assert requests.get(batch_url(system, batch_id), headers=KELURAHAN_OFFICER,
                        timeout=60).json() == first.json()  # unchanged
    rest = requests.put(batch_url(system, new_batch_id()), data=as_csv(rows),
                        headers=csv_headers, timeout=60)
    assert rest.status_code == 200, rest.text
    assert [row["row"] for row in rest.json()["accepted"]] == [3, 4]
    assert [(row["row"], row["code"], row["field"]) for row in rest.json()["rejected"]] == [
        (1, "conflict", "applicant.nik"), (2, "conflict", "applicant.nik")]
    for refused in rest.json()["rejected"]:
        assert f"(batch {batch_id} baris {refused['row']})" in refused["reason"], refused


def test_a_batch_cut_short_at_intake_goes_on_with_its_own_rows_only(system, mongo):
    """A batch intake stopped storing (a crash, a 503 - as if before its
    reply) is sent again: its own rows finish it, the ones stored before
    kept, nothing stored twice; other rows under its id are refused and
    store nothing."""
    rows, batch_id = [ktp_row() for _ in range(3)], new_batch_id()
    first = requests.put(batch_url(system, batch_id), json={"applications": rows},
                         headers=KELURAHAN_OFFICER, timeout=60)
    assert first.status_code == 200, first.text
    mongo["intake"].batches.update_one({"batch_id": batch_id},
                                       {"$set": {"status": "processing"}, "$unset": {"reply": ""}})
    other = requests.put(batch_url(system, batch_id), json={"applications": [ktp_row()]},
                         headers=KELURAHAN_OFFICER, timeout=60)
    assert other.status_code == 409 and other.json()["error"]["code"] == "batch_id_reused"
    again = requests.put(batch_url(system, batch_id), json={"applications": rows},
                         headers=KELURAHAN_OFFICER, timeout=60)
    assert again.status_code == 200, again.text
    assert again.json()["accepted"] == first.json()["accepted"]
    assert mongo["intake"].applications.count_documents(
        {"manifest_id": first.json()["manifest_id"]}) == 3


def test_twins_are_both_accepted_and_another_kelurahan_refused_inside_a_batch(system):
    born = today_wib() - datetime.timedelta(days=3)
    mother, father, kk = random_nik(female=True), random_nik(), random_kk()
    twins = [birth_row(born, mother_nik=mother, father_nik=father, kk=kk, child_name=name)
             for name in ("Hasan Basri", "Husein Basri")]
    elsewhere = {**ktp_row(), "address": address(TINGGAR)}
    answer = requests.put(batch_url(system, new_batch_id()), headers={
        **KELURAHAN_OFFICER, "Accept-Language": "en"},
        json={"applications": [*twins, elsewhere, ktp_row()]}, timeout=60)
    assert answer.status_code == 200, answer.text
    reply = answer.json()
    assert [row["row"] for row in reply["accepted"]] == [1, 2, 4]
    [refused] = reply["rejected"]
    assert (refused["row"], refused["code"], refused["field"]) == (
        3, "out_of_scope", "address.kelurahan_code")
    assert refused["reason"].startswith("Address outside your kelurahan")
    assert "line" not in refused


def test_a_second_row_for_one_subject_names_the_row_of_the_batch_it_repeats(system):
    """Outside audit C: the officer read "an application is already in
    progress", as for one made elsewhere, and could not tell it was row 2."""
    for lang, names in (("id", "baris 2 batch ini"), ("en", "row 2 of this batch")):
        again = ktp_row()
        answer = requests.put(batch_url(system, new_batch_id()), timeout=60,
                              headers={**KELURAHAN_OFFICER, "Accept-Language": lang},
                              json={"applications": [ktp_row(), again, again]})
        assert answer.status_code == 200, answer.text
        [refused] = answer.json()["rejected"]
        assert (refused["row"], refused["code"], refused["field"]) == (
            3, "conflict", "applicant.nik")
        assert names in refused["reason"], refused
    # one made elsewhere (the citizen's own, over the web): no row to name
    body = valid_body()
    own = requests.post(f"{system.url('intake')}/api/v1/applications", json=body, timeout=10)
    assert own.status_code == 202, own.text
    row = ktp_row(body["applicant"]["nik"])
    answer = requests.put(batch_url(system, new_batch_id()), headers=KELURAHAN_OFFICER,
                          json={"applications": [row]}, timeout=60)
    [refused] = answer.json()["rejected"]
    assert refused["code"] == "conflict" and "baris" not in refused["reason"], refused


def test_skpwni_rows_sharing_a_member_name_the_row_they_repeat(system):
    """A review (forty-fifth session): an SKPWNI's subject is its members, a
    list - kept as a dict key it answered the whole batch 500 after its rows
    were stored, and the batch stayed 'processing' for ever."""
    kk = random_kk()
    head, child = random_nik(), random_nik()
    move = skpwni_keluar_body("3171011001", nik=head, kk=kk, members=[head, child])
    again = skpwni_keluar_body("3171011001", nik=child, kk=kk, members=[child])
    rows = [{**{k: v for k, v in request.items() if k != "channel"}, "address": address()}
            for request in (move, again)]
    batch_id = new_batch_id()
    answer = requests.put(batch_url(system, batch_id), headers=KELURAHAN_OFFICER,
                          json={"applications": rows}, timeout=60)
    assert answer.status_code == 200, answer.text
    [stored], [refused] = answer.json()["accepted"], answer.json()["rejected"]
    assert stored["row"] == 1 and (refused["row"], refused["code"], refused["field"]) == (
        2, "conflict", "details.members.0"), refused
    assert "baris 1 batch ini" in refused["reason"], refused
    looked_up = requests.get(batch_url(system, batch_id), headers=KELURAHAN_OFFICER, timeout=10)
    assert looked_up.status_code == 200, looked_up.text


def test_rows_with_a_blank_name_or_street_a_long_rt_or_a_lettered_phone_are_refused(system,
                                                                                    mongo):
    """Such a row was accepted: a blank KTP-el printed, a posting Pos refused,
    an SMS to whoever "08123abc7890" dials."""
    rows = [ktp_row() for _ in range(5)]
    rows[0]["applicant"]["full_name"] = "   "
    rows[1]["address"]["street"] = "\u200b\u200b\u200b"
    rows[2]["address"]["rt"] = "0" * 30000
    rows[3]["applicant"]["phone"] = "08123abc7890"
    answer = requests.put(batch_url(system, new_batch_id()), headers=KELURAHAN_OFFICER,
                          json={"applications": rows}, timeout=60)
    assert answer.status_code == 200, answer.text
    reply = answer.json()
    assert [row["row"] for row in reply["accepted"]] == [5]
    assert [(row["row"], row["field"]) for row in reply["rejected"]] == [
        (1, "applicant.full_name"), (2, "address.street"), (3, "address.rt"),
        (4, "applicant.phone")]
    assert reply["rejected"][0]["reason"] == "Tidak boleh kosong: harus memuat huruf atau angka."
    refused_niks = [row["applicant"]["nik"] for row in rows[:4]]
    assert mongo["intake"].applications.count_documents(
        {"applicant.nik": {"$in": refused_niks}}) == 0


def test_a_batch_that_cannot_be_read_stores_nothing(system, mongo, intake_state):
    # the outbox drained first: what is left of earlier tests cannot move the count
    before = eventually(lambda: (state := intake_state())[1] == 0 and state, what="empty outbox")
    batches = mongo["intake"].batches.count_documents({})
    url = batch_url(system, new_batch_id())
    csv_headers = {**KELURAHAN_OFFICER, "Content-Type": "text/csv"}
    cases = [
        (dict(data="x", headers={**KELURAHAN_OFFICER, "Content-Type": "text/plain"}), 415,
         "Content-Type"),
        (dict(data=b"document_type,hobby\nktp_el,x\n", headers=csv_headers), 400, "hobby"),
        (dict(data=b"\xff\xfe", headers=csv_headers), 400, "_body"),
        (dict(json={"applications": []}, headers=KELURAHAN_OFFICER), 400, "applications"),
        (dict(json={"applications": [{}] * 1001}, headers=KELURAHAN_OFFICER), 400,
         "applications"),
        (dict(json={"applications": [ktp_row()], "rt": "003"}, headers=KELURAHAN_OFFICER), 400,
         "rt"),
        (dict(data=b"x" * (1024 * 1024 + 1), headers=csv_headers), 413, None),
        (dict(json={"applications": [ktp_row()]}), 401, None),
        (dict(json={"applications": [ktp_row()]}, headers=OPERATOR), 401, None),
    ]
    for kwargs, status, field in cases:
        answer = requests.put(url, timeout=60, **kwargs)
        assert answer.status_code == status, (kwargs.get("headers"), answer.text)
        if field:
            assert field in answer.json()["error"]["fields"], answer.text
    bad_id = requests.put(batch_url(system, "RW05 no 1"), headers=KELURAHAN_OFFICER,
                          json={"applications": [ktp_row()]}, timeout=60)
    assert list(bad_id.json()["error"]["fields"]) == ["batch_id"]
    unknown = requests.get(batch_url(system, new_batch_id()), headers=KELURAHAN_OFFICER,
                           timeout=10)
    assert unknown.status_code == 404
    assert intake_state() == before
    assert mongo["intake"].batches.count_documents({}) == batches


def test_a_csv_declared_in_another_charset_is_refused_naming_it_and_stores_nothing(system,
                                                                                  mongo):
    """It was read as UTF-8 whatever it said: ``charset=iso-8859-1`` stored
    (garbled, had it held an accent), ``charset=utf-16`` too (outside audit
    S3). Refused with JSON's 415; UTF-8 and US-ASCII are taken."""
    for charset in ("iso-8859-1", "utf-16", '"Windows-1252"'):
        row = ktp_row()
        answer = requests.put(batch_url(system, new_batch_id()), data=as_csv([row]), timeout=60,
                              headers={**KELURAHAN_OFFICER, "Accept-Language": "en",
                                       "Content-Type": f"text/csv; charset={charset}"})
        assert answer.status_code == 415, answer.text
        error = answer.json()["error"]
        assert (error["code"], list(error["fields"])) == ("unsupported_media_type",
                                                          ["Content-Type"])
        assert error["message"] == \
            f"Send the body as text/csv in UTF-8 (got: charset={charset.strip(chr(34))})."
        assert mongo["intake"].applications.count_documents(
            {"applicant.nik": row["applicant"]["nik"]}) == 0
    for charset in ("UTF-8", '"us-ascii"'):
        answer = requests.put(batch_url(system, new_batch_id()), data=as_csv([ktp_row()]),
                              headers={**KELURAHAN_OFFICER,
                                       "Content-Type": f"text/csv; charset={charset}"},
                              timeout=60)
        assert answer.status_code == 200 and len(answer.json()["accepted"]) == 1, answer.text


def next_day(system, body: dict, headers=KECAMATAN_OFFICER) -> requests.Response:
    return requests.post(f"{system.url('intake')}/api/v1/kecamatan/next-day-requests",
                         json=body, headers=headers, timeout=30)


def first_ktp(nik: str) -> dict:
    return {"applicant": {"nik": nik, "kk_number": random_kk(), "full_name": "Siti Rohmah",
                          "phone": random_mobile()}, "details": {"reason": "first_issue"}}


def test_a_kecamatan_requests_next_day_prints_for_its_own_citizens_only(system, mongo):
    own = next_day(system, first_ktp(random_nik(kecamatan=KECAMATAN_CODE)))
    assert own.status_code == 202, own.text
    assert own.json()["next_day"] is True
    assert own.json()["pickup_place"]["place_id"] == "disdukcapil-serang"
    stored = mongo["intake"].applications.find_one({"_id": own.json()["application_id"]})
    assert (stored["channel"], stored["next_day"], stored["pickup_place_id"],
            stored["kecamatan_code"], stored["submitted_by"]) == (
        "kecamatan", True, "disdukcapil-serang", KECAMATAN_CODE, f"officer-curug@{KECAMATAN_CODE}")
    # moved here: a NIK from Kasemen, an address in Curug
    moved = next_day(system, {**first_ktp(random_nik(kecamatan="367302")),
                              "address": address()})
    assert moved.status_code == 202, moved.text

    elsewhere = next_day(system, first_ktp(random_nik(kecamatan="367302")))
    assert elsewhere.status_code == 403, elsewhere.text
    error = elsewhere.json()["error"]
    assert error["code"] == "out_of_scope" and list(error["fields"]) == ["applicant.nik"]
    replacement = first_ktp(random_nik())
    replacement["details"] = {"reason": "damaged", "old_card_surrendered": True}
    assert list(next_day(system, replacement).json()["error"]["fields"]) == ["details.reason"]
    # named on the reason, before what that reason itself would need
    for details in ({"reason": "lost"}, {"reason": "damaged", "old_card_surrendered": False}):
        refused = next_day(system, {**first_ktp(random_nik()), "details": details})
        assert refused.json()["error"]["fields"] == {"details.reason": [
            "Permintaan H+1 hanya untuk KTP-el pertama (first_issue)."]}, refused.text


def test_a_next_day_retry_is_answered_as_its_first_try(system, mongo):
    body, key = first_ktp(random_nik(kecamatan=KECAMATAN_CODE)), f"h1-{uuid.uuid4().hex}"
    first = next_day(system, body, headers={**KECAMATAN_OFFICER, "Idempotency-Key": key})
    assert first.status_code == 202, first.text
    # the card printed since: a new request for this NIK would be refused
    mongo["intake"].applications.update_one({"_id": first.json()["application_id"]},
                                            {"$set": {"status": "collected"}})
    again = next_day(system, body, headers={**KECAMATAN_OFFICER, "Idempotency-Key": key})
    assert again.status_code == 202, again.text
    assert again.json()["application_id"] == first.json()["application_id"]
    assert mongo["intake"].applications.count_documents({"applicant.nik": body["applicant"]["nik"]}) == 1
    # outside audit A2: the key reused for other details (or with the
    # header's language only changed: the same request) as for a citizen's
    other = {**body, "details": {"reason": "first_issue"},
             "applicant": {**body["applicant"], "full_name": "Siti Rohimah"}}
    reused = next_day(system, other, headers={**KECAMATAN_OFFICER, "Idempotency-Key": key})
    assert reused.status_code == 409, reused.text
    assert reused.json()["error"]["code"] == "idempotency_key_reused"
    # an address added on the retry is another request too (outside audit A3)
    moved = {**body, "address": {"street": "Jl. Raya Curug No. 7",
                                 "kelurahan_code": KELURAHAN_CODE}}
    reused = next_day(system, moved, headers={**KECAMATAN_OFFICER, "Idempotency-Key": key})
    assert reused.status_code == 409, reused.text
    again = next_day(system, body, headers={**KECAMATAN_OFFICER, "Idempotency-Key": key,
                                            "Accept-Language": "en"})
    assert again.json()["application_id"] == first.json()["application_id"]


def test_a_citizens_submission_under_an_officers_next_day_key_is_another_request(system, mongo):
    """Outside audit B: answered 202 with the officer's application - the
    front-end told the citizen of a web application for the Dinas counter,
    the SMS of a next-day print collected at the kecamatan office."""
    body, key = first_ktp(random_nik(kecamatan=KECAMATAN_CODE)), f"h1-{uuid.uuid4().hex}"
    first = next_day(system, body, headers={**KECAMATAN_OFFICER, "Idempotency-Key": key})
    assert first.status_code == 202, first.text
    citizens = requests.post(f"{system.url('intake')}/api/v1/applications", timeout=10,
                             json={**body, "document_type": "ktp_el", "channel": "web"},
                             headers={"Idempotency-Key": key})
    assert citizens.status_code == 409, citizens.text
    assert citizens.json()["error"]["code"] == "idempotency_key_reused"
    assert mongo["intake"].applications.count_documents(
        {"applicant.nik": body["applicant"]["nik"]}) == 1


def test_a_next_day_request_s_notices_take_the_request_s_language(system):
    """Outside audit A2: answered in the header's language, the citizen was
    messaged in Bahasa (the fix for citizens' own requests had missed the
    kecamatan's); ``applicant.language`` given still wins."""
    english = first_ktp(random_nik(kecamatan=KECAMATAN_CODE))
    answer = next_day(system, english, headers={**KECAMATAN_OFFICER, "Accept-Language": "en"})
    assert answer.status_code == 202, answer.text
    phone = "62" + english["applicant"]["phone"][1:]
    [sms] = eventually(lambda: requests.get(system.url("sms") + "/sandbox/messages",
                                            params={"to": phone}, timeout=5).json(),
                       what="the 'received' SMS")
    assert "received" in sms["message"] and "diterima" not in sms["message"], sms["message"]


def test_each_officer_only_on_their_own_endpoint(system):
    # one wrong token each: the failed-attempt limit (10 per client) stays far away
    kelurahan_there = next_day(system, first_ktp(random_nik()), headers=KELURAHAN_OFFICER)
    assert kelurahan_there.status_code == 401
    kecamatan_there = requests.put(batch_url(system, new_batch_id()), headers=KECAMATAN_OFFICER,
                                   json={"applications": [ktp_row()]}, timeout=30)
    assert kecamatan_there.status_code == 401
    assert json.loads(kecamatan_there.text)["error"]["code"] == "unauthorized"


def test_a_row_that_is_no_object_is_refused_alone_null_as_any_other(system):
    """(Outside audit) ``[1, "a", null]``: the first two rows were refused
    one by one, ``_row``, while the null one failed the whole batch."""
    answer = requests.put(batch_url(system, new_batch_id()), headers={
        **KELURAHAN_OFFICER, "Accept-Language": "en"},
        json={"applications": [1, "a", None, ktp_row()]}, timeout=60)
    assert answer.status_code == 200, answer.text
    reply = answer.json()
    assert [row["row"] for row in reply["accepted"]] == [4]
    assert [(row["row"], row["field"], row["reason"]) for row in reply["rejected"]] == [
        (number, "_row", "Must be a JSON object.") for number in (1, 2, 3)]


def test_a_batch_whose_every_row_is_refused_names_no_manifest(system):
    """Nothing was stored under its manifest, and nothing ever will be: the
    reply said a manifest id all the same, which courier answers 503 "retry"
    for (docs/courier-api.md) and which never came to exist. Now null."""
    row = ktp_row()
    row["applicant"]["full_name"] = "   "
    batch_id = new_batch_id()
    answer = requests.put(batch_url(system, batch_id), headers=KELURAHAN_OFFICER,
                          json={"applications": [row]}, timeout=60)
    assert answer.status_code == 200, answer.text
    reply = answer.json()
    assert (reply["accepted_count"], reply["rejected_count"]) == (0, 1)
    assert reply["manifest_id"] is None
    assert_answer_matches(served_document(system.url("intake")), "PUT",
                          "/api/v1/jemput-bola/batches/{batch_id}", 200, reply)
    again = requests.get(batch_url(system, batch_id), headers=KELURAHAN_OFFICER, timeout=10)
    assert again.json()["manifest_id"] is None


def test_the_officer_follows_each_member_of_a_batch_once_sent(system):
    """Outside audit C: the batch's reply stays as it was answered, and the
    officer had no way to see which members an operator rejected or
    verified since."""
    rows = [ktp_row(), ktp_row(), ktp_row()]
    batch_id = new_batch_id()
    sent = requests.put(batch_url(system, batch_id), headers=KELURAHAN_OFFICER,
                        json={"applications": rows}, timeout=60)
    assert sent.status_code == 200, sent.text
    first, second, third = sent.json()["accepted"]
    intake = system.url("intake")
    verified = requests.post(f"{intake}/api/v1/applications/{first['application_id']}/verify",
                             headers=OPERATOR, timeout=10)
    assert verified.status_code == 200, verified.text
    rejected = requests.post(f"{intake}/api/v1/applications/{second['application_id']}/reject",
                             headers=OPERATOR, timeout=10,
                             json={"reasons": ["kk_unreadable", "other"],
                                   "note": "Hubungi 081234567890"})
    assert rejected.status_code == 200, rejected.text

    for lang, label in (("id", "Permohonan ditolak"), ("en", "Application rejected")):
        answer = requests.get(f"{batch_url(system, batch_id)}/applications", timeout=10,
                              headers={**KELURAHAN_OFFICER, "Accept-Language": lang})
        assert answer.status_code == 200, answer.text
        members = answer.json()
        assert_answer_matches(served_document(intake), "GET",
                              "/api/v1/jemput-bola/batches/{batch_id}/applications", 200, members)
        assert (members["batch_id"], members["manifest_id"]) == (
            batch_id, sent.json()["manifest_id"])
        assert [(m["row"], m["tracking_code"]) for m in members["applications"]] == [
            (row["row"], row["tracking_code"]) for row in (first, second, third)]
        assert members["applications"][0]["status"] in ("verified", "print_queued")
        assert members["applications"][0]["reasons"] is None
        refused = members["applications"][1]
        assert (refused["status"], refused["status_label"]) == ("rejected", label)
        assert len(refused["reasons"]) == 2 and "0812" not in answer.text  # the note: not here
        assert members["applications"][2]["status"] == "submitted"
        assert not {nik for row in rows for nik in (row["applicant"]["nik"],)
                    if nik in answer.text}
    # the reply of the PUT is kept as answered
    assert requests.get(batch_url(system, batch_id), headers=KELURAHAN_OFFICER,
                        timeout=10).json() == sent.json()
    unknown = requests.get(f"{batch_url(system, new_batch_id())}/applications",
                           headers=KELURAHAN_OFFICER, timeout=10)
    assert unknown.status_code == 404, unknown.text
    assert requests.get(f"{batch_url(system, batch_id)}/applications", headers=OPERATOR,
                        timeout=10).status_code == 401
