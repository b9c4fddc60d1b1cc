"""The PRR backlog, end to end: an operator uploads the Dinas' PRR export
twice (overlapping rows within the first file and across the two); each NIK
becomes one application at intake and exactly one print job; the aging
report counts the backlog by kecamatan and age band. A record without a
phone is recorded at once (no recording booking) and handed on when a later
export brings its phone. A record of a child or of someone recorded as
deceased is not printed: the operator sees why, per row."""

from __future__ import annotations

import datetime

import requests

from deploy.dlq import peek, replay
from shared.clock import today_wib
from shared.messaging import handler_queue_name
from tests.document_bodies import death_body, nik_born, years_before
from tests.e2e.test_appointments import book, booking, on_register, working_day
from tests.e2e.test_documents import register_restored  # noqa: F401 (a fixture)
from tests.helpers import OPERATOR, BrokerProbe, eventually, random_mobile, random_nik, resident_name

HEADER = "nik,full_name,kecamatan_code,recorded_on,street,rt,rw,kelurahan_code,postal_code,phone"


def row(nik: str, days_ago: int, phone: str | None) -> str:
    day = (today_wib() - datetime.timedelta(days=days_ago)).isoformat()
    return (f"{nik},{resident_name(nik[-4:])},367304,{day},Jl. Raya Curug No. 7,001,002,3673041010,"
            f"42171,{phone or ''}")


def upload(printing: str, lines: list[str], **headers) -> dict:
    """The file as an export ends it: each line with its line break (a last
    row without one is refused: the file may be cut inside it)."""
    response = requests.post(f"{printing}/api/v1/operator/prr-imports",
                             data="".join(f"{line}\n" for line in [HEADER, *lines]).encode(),
                             timeout=60,
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
        "NIK harus 16 digit angka (diterima 4 digit).",
        "Panjang harus antara 3 dan 200 karakter.", "Harus 1-3 angka (contoh: 003).", "Harus 10 angka."]
    english = upload(printing, lines, **{"Accept-Language": "en"})
    assert english["rows"] == 3
    assert [b["message"] for b in english["bad_rows"]] == [
        "NIK must be 16 digits (got 4).", "Length must be between 3 and 200.",
        "Must be 1-3 digits (e.g. 003).", "Must be 10 digits."]


def test_a_record_waiting_for_its_phone_is_recorded_and_handed_on_when_the_phone_comes(
        system, mongo):
    printing, nik, phone = system.url("printing"), random_nik(year=1985), random_mobile()
    first = upload(printing, [row(nik, 30, None)])
    assert (first["imported"], first["waiting_for_phone"]) == (0, 1)
    # recorded all the same: no recording appointment for it
    eventually(lambda: mongo["intake"].recorded_niks.find_one({"_id": nik}),
               what="the NIK recorded at intake")
    # (the register, lagging, does not say so yet: intake's own record refuses it)
    refused = book(system, booking(nik, "kec-curug", working_day(2, 20),
                                   on_register(system, nik)))
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


def sms_to(system, phone: str) -> list[str]:
    return [message["message"] for message in requests.get(
        f"{system.url('sms')}/sandbox/messages", params={"to": "62" + phone[1:]},
        timeout=5).json()]


def refusals(printing: str, import_id: str, **headers) -> list[dict]:
    answer = requests.get(f"{printing}/api/v1/operator/prr-imports/{import_id}", timeout=10,
                          headers={**OPERATOR, **headers})
    assert answer.status_code == 200, answer.text
    return answer.json()["refused"]


def test_a_record_of_the_dead_or_of_a_child_is_not_printed_and_the_operator_sees_why(
        system, mongo):
    """Printed and posted before, with "perekaman Anda sudah selesai" by SMS:
    a NIK whose death certificate the Dinas verified, one the register
    records as deceased (Sarmili, of its fixtures), a child of 11. All are
    refused by intake, which knows the deaths and asks the register for the
    birth dates (a NIK alone cannot tell a child of 11 from a citizen of
    111): listed under the import."""
    intake, printing = system.url("intake"), system.url("printing")
    deceased = random_nik(year=1945)
    death = requests.post(f"{intake}/api/v1/applications", timeout=15, json=death_body(
        today_wib() - datetime.timedelta(days=3), deceased_nik=deceased))
    assert death.status_code == 202, death.text
    verified = requests.post(f"{intake}/api/v1/applications/{death.json()['application_id']}"
                             "/verify", headers=OPERATOR, timeout=15)
    assert verified.status_code == 200, verified.text
    sarmili, child = "3673020101450001", nik_born(years_before(today_wib(), 11))
    alive = random_nik(year=1988)
    phones = {nik: random_mobile() for nik in (deceased, sarmili, child, alive)}
    answer = upload(printing, [row(deceased, 40, phones[deceased]),
                               row(sarmili, 40, phones[sarmili]).replace(
                                   ",367304,", ",367302,").replace(",3673041010,",
                                                                   ",3673021001,"),
                               row(child, 40, phones[child]), row(alive, 40, phones[alive])])
    assert (answer["imported"], answer["bad_rows"]) == (4, [])

    refused = eventually(lambda: (lambda found: found if len(found) == 3 else None)(
        refusals(printing, answer["import_id"], **{"Accept-Language": "en"})),
        what="intake's refusals listed under the import")
    assert sorted((item["row"], item["nik"], item["reason"]) for item in refused) == [
        (2, deceased[:4] + "********" + deceased[-4:], "deceased"),
        (3, "3673********0001", "deceased"),
        (4, child[:4] + "********" + child[-4:], "under_age")]
    assert refused[0]["message"] == ("Recorded as deceased (a verified death certificate or the "
                                     "population register): no KTP-el is printed.")
    # intake decided before it made anything: no application, no print, no SMS
    jobs = mongo["printing"].print_jobs
    eventually(lambda: jobs.find_one({"nik": alive}), what="the living citizen's print job")
    assert mongo["intake"].applications.count_documents(
        {"applicant.nik": {"$in": [deceased, sarmili, child]}}) == 0
    assert jobs.count_documents({"nik": {"$in": [deceased, sarmili, child]}}) == 0
    assert [sms_to(system, phones[nik]) for nik in (deceased, sarmili, child)] == [[], [], []]
    backlog = {record["_id"] for record in mongo["printing"].prr_records.find(
        {"refused": None, "_id": {"$in": list(phones)}})}
    assert backlog == {alive}

    unknown = requests.get(f"{printing}/api/v1/operator/prr-imports/no-such-import",
                           headers=OPERATOR, timeout=10)
    assert unknown.status_code == 404, unknown.text
    assert requests.get(f"{printing}/api/v1/operator/prr-imports/{answer['import_id']}",
                        timeout=10).status_code == 401


PRR_AT_INTAKE = handler_queue_name("printing", "prr_record_imported", "intake",
                                   "on_prr_record_imported")


def test_while_the_register_cannot_answer_a_record_waits_and_nothing_is_printed(
        system, mongo, register_restored):
    """A PRR application is verified at once: accepted unchecked, it would
    be printed and posted (and announced) before anyone could look. The
    event is retried, then dead-lettered; replayed once the register is back,
    it becomes its application."""
    faults = requests.post(f"{register_restored.url('register')}/sandbox/faults",
                           json={"fail_next": 1000, "status": 503}, timeout=5)
    assert faults.status_code == 200, faults.text
    nik, phone = random_nik(year=1979), random_mobile()
    probe = BrokerProbe(system.amqp_uri, "printing.events", "prr_record_imported")
    try:
        assert upload(system.url("printing"), [row(nik, 20, phone)])["imported"] == 1
        [event] = eventually(lambda: [body for _, body in probe.drain()
                                      if body["nik"] == nik] or None, what="the announcement")
    finally:
        probe.close()
    eventually(lambda: event["event_id"] in {dead["event_id"] for dead in peek(
        system.amqp_uri, PRR_AT_INTAKE, limit=100)}, interval=0.5,
        what="the record dead-lettered after its retries")
    assert mongo["intake"].applications.count_documents({"applicant.nik": nik}) == 0
    assert mongo["intake"].recorded_niks.find_one({"prr_events": event["event_id"]}) is None
    assert sms_to(system, phone) == []

    requests.post(f"{register_restored.url('register')}/sandbox/faults",
                  json={"fail_next": 0}, timeout=5)

    def replayed():
        """Replayed (again, while intake's client still pauses after the
        failures) until it is an application."""
        application = mongo["intake"].applications.find_one(
            {"applicant.nik": nik, "status": {"$ne": "submitted"}})
        if application is None:
            replay(system.amqp_uri, PRR_AT_INTAKE)
        return application
    application = eventually(replayed, timeout=60, interval=1.0,
                             what="the application once the register answers")
    assert application["channel"] == "prr"
    eventually(lambda: mongo["printing"].print_jobs.find_one({"nik": nik}),
               what="its print job")


def test_the_upload_is_csv_with_each_column_once_and_no_control_characters(system):
    """Any Content-Type was read as CSV; a repeated column let the last one
    win; a line break in a name was told "Latin letters only"."""
    url = f"{system.url('printing')}/api/v1/operator/prr-imports"
    csv = "\n".join([HEADER, row(random_nik(), 5, None)]).encode()
    for sent in ("application/json", "text/plain"):
        answer = requests.post(url, data=csv, timeout=10,
                               headers={**OPERATOR, "Content-Type": sent})
        assert answer.status_code == 415, answer.text
        assert answer.json()["error"]["fields"] == {"Content-Type": [
            f"Kirim isi permintaan sebagai text/csv (dikirim: {sent})."]}
    # a file declared in another charset was read as UTF-8 (outside audit S3)
    for charset in ("iso-8859-1", "utf-16"):
        answer = requests.post(url, data=csv, timeout=10, headers={
            **OPERATOR, "Content-Type": f"text/csv; charset={charset}"})
        assert answer.status_code == 415, answer.text
        assert f"charset={charset}" in answer.json()["error"]["fields"]["Content-Type"][0]
    twice = requests.post(url, data=("nik," + HEADER + "\n").encode(), timeout=10,
                          headers={**OPERATOR, "Content-Type": "text/csv"})
    assert twice.status_code == 400, twice.text
    assert twice.json()["error"]["fields"] == {"nik": ["Kolom ganda."]}
    broken = row(random_nik(), 5, None).replace("Warga", '"Warga\nBaru')
    broken = broken.replace(",367304,", '",367304,', 1)
    answer = upload(system.url("printing"), [broken])
    # the quote opened on row 2 is not closed there; row 3 leaves one open too
    assert [(bad["row"], bad["field"]) for bad in answer["bad_rows"]] == [(2, "full_name"),
                                                                         (3, "nik")]
    assert answer["bad_rows"][0]["message"].startswith('Tanda kutip (") dibuka')
