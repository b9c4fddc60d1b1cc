"""The PRR backlog, end to end: an operator uploads the Dinas' PRR export
twice (overlapping rows within the first file and across the two); each NIK
becomes one application at intake and exactly one print job; the aging
report counts the backlog by kecamatan and age band. A record without a
phone is recorded at once (no recording booking) and handed on when a later
export brings its phone."""

from __future__ import annotations

import datetime

import requests

from shared.clock import today_wib
from tests.e2e.test_appointments import book, booking, working_day
from tests.helpers import OPERATOR, eventually, random_mobile, random_nik

HEADER = "nik,full_name,kecamatan_code,recorded_on,street,rt,rw,kelurahan_code,postal_code,phone"


def row(nik: str, days_ago: int, phone: str | None) -> str:
    day = (today_wib() - datetime.timedelta(days=days_ago)).isoformat()
    return (f"{nik},Warga {nik[-4:]},367304,{day},Jl. Raya Curug No. 7,001,002,3673041010,"
            f"42171,{phone or ''}")


def upload(printing: str, lines: list[str], **headers) -> dict:
    response = requests.post(f"{printing}/api/v1/operator/prr-imports",
                             data="\n".join([HEADER, *lines]).encode(), timeout=60,
                             headers={**OPERATOR, "Content-Type": "text/csv", **headers})
    assert response.status_code == 200, response.text
    return response.json()


def test_overlapping_prr_imports_make_one_job_per_nik(system, mongo):
    printing = system.url("printing")
    a, b, c, d, e = (random_nik(year=1990 + n) for n in range(5))
    first = upload(printing, [row(a, 10, random_mobile()), row(b, 60, random_mobile()),
                              row(c, 200, random_mobile()), row(d, 400, None),
                              row(a, 10, random_mobile()),  # the backlog overlaps
                              row("3673", 5, random_mobile())])
    assert (first["rows"], first["imported"], first["waiting_for_phone"],
            first["already_known"]) == (6, 3, 1, 0)
    assert first["repeated_in_file"] == [{"row": 6, "same_as_row": 2}]
    assert [(bad["row"], bad["field"]) for bad in first["bad_rows"]] == [(7, "nik")]

    second = upload(printing, [row(b, 60, random_mobile()), row(c, 200, random_mobile()),
                               row(e, 400, random_mobile())])
    assert (second["imported"], second["already_known"]) == (1, 2)

    jobs = mongo["printing"].print_jobs

    def one_job_each():
        counts = {nik: jobs.count_documents({"nik": nik}) for nik in (a, b, c, e)}
        return counts if all(counts.values()) else None
    assert eventually(one_job_each, what="print jobs for the PRR NIKs") == {
        a: 1, b: 1, c: 1, e: 1}
    job = jobs.find_one({"nik": a})
    assert (job["delivery_method"], job["document_type"], job["status"]) == (
        "pos", "ktp_el", "queued")
    assert jobs.count_documents({"nik": d}) == 0  # no phone yet: not announced

    report = requests.get(f"{printing}/api/v1/operator/prr-backlog/aging", headers=OPERATOR,
                          timeout=10)
    assert report.status_code == 200, report.text
    [curug] = [k for k in report.json()["kecamatan"] if k["kecamatan_code"] == "367304"]
    assert curug["bands"] == {"0-30": 1, "31-90": 1, "91-365": 1, ">365": 2}
    assert requests.get(f"{printing}/api/v1/operator/prr-backlog/aging",
                        timeout=10).status_code == 401


def test_the_answer_counts_rows_and_numbers_them_as_a_spreadsheet(system):
    """A row with three bad fields is one row; a blank line keeps its number;
    the reasons are Bahasa Indonesia unless the operator asks for English."""
    printing = system.url("printing")
    bad = row(random_nik(), 5, None).replace("Jl. Raya Curug No. 7,001,", "Jl,1234,").replace(
        ",3673041010,", ",36.73.04.1010,")
    lines = ["", row(random_nik(), 5, None), row("3673", 5, None), bad]
    answer = upload(printing, lines)
    assert (answer["rows"], answer["waiting_for_phone"]) == (3, 1)
    assert [(b["row"], b["field"]) for b in answer["bad_rows"]] == [
        (4, "nik"), (5, "street"), (5, "rt"), (5, "kelurahan_code")]
    assert [b["message"] for b in answer["bad_rows"]] == [
        "NIK harus 16 digit angka (diterima 4 digit)",
        "Panjang harus antara 3 dan 200 karakter.", "Harus 1-3 angka (contoh: 003).", "Harus 10 angka."]
    english = upload(printing, lines, **{"Accept-Language": "en"})
    assert english["rows"] == 3
    assert [b["message"] for b in english["bad_rows"]] == [
        "NIK must be 16 digits (got 4)", "Length must be between 3 and 200.",
        "Must be 1-3 digits (e.g. 003).", "Must be 10 digits."]


def test_a_record_waiting_for_its_phone_is_recorded_and_handed_on_when_the_phone_comes(
        system, mongo):
    printing, nik, phone = system.url("printing"), random_nik(year=1985), random_mobile()
    first = upload(printing, [row(nik, 30, None)])
    assert (first["imported"], first["waiting_for_phone"]) == (0, 1)
    # recorded all the same: no recording appointment for it
    eventually(lambda: mongo["intake"].recorded_niks.find_one({"_id": nik}),
               what="the NIK recorded at intake")
    refused = book(system, booking(nik, "kec-curug", working_day(2, 20)))
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "already_recorded"

    second = upload(printing, [row(nik, 30, phone)])
    assert (second["imported"], second["phone_added"], second["already_known"]) == (0, 1, 0)
    again = upload(printing, [row(nik, 30, phone), row(nik, 30, random_mobile())])
    assert (again["phone_added"], again["already_known"]) == (0, 1)

    jobs = mongo["printing"].print_jobs
    eventually(lambda: jobs.find_one({"nik": nik}), what="the print job of the PRR record")
    [application] = mongo["intake"].applications.find({"applicant.nik": nik})
    assert (application["channel"], application["delivery"]["method"]) == ("prr", "pos")
    e164 = "62" + phone[1:]
    texts = eventually(lambda: [m["message"] for m in requests.get(
        f"{system.url('sms')}/sandbox/messages", params={"to": e164}, timeout=5).json()],
        what="the SMS to the citizen")
    assert len(texts) == 1 and application["tracking_code"] in texts[0]
    # verified already: the card is being printed and comes by Pos, nothing to check
    assert "sedang dicetak" in texts[0] and "Pos Indonesia" in texts[0]
    assert "hari kerja" not in texts[0]
    assert jobs.count_documents({"nik": nik}) == 1
