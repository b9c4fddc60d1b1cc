"""The printed document and its QR, through the real stack.

A verified application's job is claimed; the station downloads the print-ready
PDF under its lease; the QR decoded from the rendered page verifies offline
with the published key and at the public endpoint. An altered token, one
signed with another key and a revoked issuance (the job printed again, or
the card replaced under a new application, once printed - a card reported
lost as soon as its replacement is verified; a replacement whose print
failed and was cancelled, which leaves the old card valid) fail; the
NIK is in neither the QR nor the verification answer. Each document prints
what intake knows of its subject: a KIA is the child's card, a certificate
shows its birth, death or move.
"""

from __future__ import annotations

import datetime
import random

import pytest
import requests
import urllib3

from services.printing import tokens
from shared.clock import today_wib
from shared.nik import parse_nik
from tests.document_bodies import (birth_body, death_body, kia_body, nik_born,
                                   skpwni_keluar_body, years_before)
from tests.documents import png
from tests.helpers import (OPERATOR, PRINTING_SERVICE_TOKEN, RETIRED_KEY, STATION, claim_job_for,
                           eventually, personal_data_in_logs, random_kk, random_nik, valid_body)
from tests.e2e.test_documents import register_answers, register_restored  # noqa: F401
from tests.e2e.test_office_handovers import lookup, reject
from tests.pdf_checks import pdf_qr_codes, pdf_text


def verified_job(system, body: dict | None = None, photo: bytes | None = None) -> dict:
    """Submit (and upload ``photo``), verify, claim: the claimed job + the NIK."""
    intake = system.url("intake")
    body = body or valid_body()
    submitted = requests.post(f"{intake}/api/v1/applications", json=body, timeout=10)
    assert submitted.status_code == 202, submitted.text
    application = submitted.json()
    if photo is not None:
        uploaded = requests.post(
            f"{intake}/api/v1/applications/documents", timeout=30,
            data={"tracking_code": application["tracking_code"],
                  "nik": body["applicant"]["nik"], "kind": "foto"},
            files={"file": ("foto.png", photo, "image/png")})
        assert uploaded.status_code == 201, uploaded.text
    verified = requests.post(f"{intake}/api/v1/applications/{application['application_id']}"
                             "/verify", headers=OPERATOR, timeout=10)
    assert verified.status_code == 200, verified.text
    job = claim_job_for(system.url("printing"), application["application_id"])
    return {**job, "nik": body["applicant"]["nik"]}


def download(system, job: dict, headers: dict = STATION, **params) -> requests.Response:
    return requests.get(f"{system.url('printing')}/api/v1/station/jobs/{job['print_job_id']}"
                        "/document.pdf", params={"lease_token": job["lease_token"], **params},
                        headers=headers, timeout=30)


def verify(system, token: str, session=requests) -> requests.Response:
    return session.get(f"{system.url('printing')}/api/v1/verify", params={"token": token},
                       timeout=10)


def own_client() -> urllib3.PoolManager:
    """A client from a loopback address of its own: what it trips (wrong tokens,
    the verification limit) holds back no other test (see test_secrets_and_limits)."""
    return urllib3.PoolManager(source_address=(
        f"127.{random.randint(1, 254)}.{random.randint(0, 255)}.{random.randint(1, 254)}", 0))


def published_keys(system) -> dict:
    response = requests.get(f"{system.url('printing')}/api/v1/verify/keys", timeout=10)
    assert response.status_code == 200, response.text
    return tokens.parse_public_keys(",".join(f"{key['kid']}:{key['x']}"
                                             for key in response.json()["keys"]))


def test_the_printed_qr_verifies_offline_and_at_the_endpoint(system):
    job = verified_job(system)
    response = download(system, job)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    assert "KARTU TANDA PENDUDUK ELEKTRONIK" in text and job["nik"] in text  # on the card
    assert "Ahmad Fauzi" in text
    [token] = pdf_qr_codes(response.content)  # scanned from the rendered page
    assert job["nik"] not in token and job["nik"] not in tokens.b64decode(
        token.split(".")[2]).decode()

    # offline: the published key set and nothing else
    keys = published_keys(system)
    assert {"test-now", "test-old"} <= set(keys)
    kid, claims = tokens.verify(token, keys)
    assert kid == "test-now"
    assert claims["document_type"] == "ktp_el" and claims["holder_name"] == "Ahmad Fauzi"
    assert claims["issue_date"] == today_wib().isoformat()
    assert claims["document_number"].startswith(f"3673-KTP-{today_wib().year}-")

    # at the endpoint: the same claims, and nothing else
    answer = verify(system, token)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"status": "valid", "kid": "test-now", "claims": claims}
    assert job["nik"] not in answer.text

    # the same lease downloads the same issuance, byte for byte
    assert download(system, job).content == response.content


def test_altered_foreign_and_unknown_tokens_fail(system):
    job = verified_job(system)
    [token] = pdf_qr_codes(download(system, job).content)
    claims = tokens.verify(token, published_keys(system))[1]
    prefix, kid, payload, signature = token.split(".")
    renamed = tokens.b64encode(tokens.b64decode(payload).replace(b"Ahmad", b"Ahmed"))
    forger = tokens.generate("test-now")  # our kid, not our key
    cases = {
        "altered": (".".join([prefix, kid, renamed, signature]), "bad_signature"),
        "foreign key": (tokens.sign(claims, forger), "bad_signature"),
        "unknown kid": (tokens.sign(claims, tokens.generate("elsewhere")), "unknown_key"),
        # a published retired key, yet this issuance was never signed with it
        "not as issued": (tokens.sign(claims, RETIRED_KEY), "unknown_issuance"),
        "garbage": ("hello", "malformed"),
    }
    for case, (bad, reason) in cases.items():
        answer = verify(system, bad)
        assert answer.status_code == 200, (case, answer.text)
        assert answer.json() == {"status": "invalid", "reason": reason}, case


def test_a_reprint_revokes_the_earlier_print(system):
    # the misprint's QR is never valid; the reprint's is the citizen's
    first_lease = verified_job(system)
    [first] = pdf_qr_codes(download(system, first_lease).content)
    failed = requests.post(f"{system.url('printing')}/api/v1/station/jobs/"
                           f"{first_lease['print_job_id']}/failed", headers=STATION, timeout=10,
                           json={"lease_token": first_lease["lease_token"], "reason": "misprint"})
    assert failed.status_code == 200, failed.text
    second_lease = claim_job_for(system.url("printing"), first_lease["application_id"])
    [second] = pdf_qr_codes(download(system, second_lease).content)

    old, new = verify(system, first).json(), verify(system, second).json()
    assert old["status"] == "revoked" and new["status"] == "valid"
    assert old["reason"] == "not_issued"
    assert old["claims"]["issuance_id"] != new["claims"]["issuance_id"]
    # the document keeps its number across the reprint
    assert old["claims"]["document_number"] == new["claims"]["document_number"]


def test_only_the_lease_holder_downloads(system):
    job = verified_job(system)
    assert download(system, job, lease_token="x" * 22).status_code == 409
    missing = requests.get(f"{system.url('printing')}/api/v1/station/jobs/"
                           f"{job['print_job_id']}/document.pdf", headers=STATION, timeout=10)
    assert missing.status_code == 400 and "lease_token" in missing.json()["error"]["fields"]
    unknown = download(system, {**job, "print_job_id": "no-such-job"})
    assert unknown.status_code == 404
    # no station token: 401, from an address of our own (failures count per client)
    own = own_client()
    url = (f"{system.url('printing')}/api/v1/station/jobs/{job['print_job_id']}/document.pdf"
           f"?lease_token={job['lease_token']}")
    assert own.request("GET", url, timeout=10).status == 401
    assert own.request("GET", url, headers=OPERATOR, timeout=10).status == 401
    own.clear()
    assert download(system, job).status_code == 200


def test_the_verification_endpoint_is_rate_limited(system):
    job = verified_job(system)
    [token] = pdf_qr_codes(download(system, job).content)
    own = own_client()
    url = f"{system.url('printing')}/api/v1/verify?token={token}"
    for _ in range(60):  # VERIFY_REQUESTS_PER_CLIENT
        assert own.request("GET", url, timeout=10).status == 200
    # retries=False: urllib3 would otherwise wait out the Retry-After and ask again
    limited = own.request("GET", url, timeout=10, retries=False)
    assert limited.status == 429 and int(limited.headers["Retry-After"]) > 0
    own.clear()
    assert verify(system, token).json()["status"] == "valid"  # other clients go on


def test_a_kia_carries_the_photo_uploaded_at_intake(system):
    child = nik_born(years_before(today_wib(), 7))
    job = verified_job(system, kia_body(child), photo=png(40, 60))
    response = download(system, job)
    assert response.status_code == 200, response.text
    assert b"/Subtype /Image" in response.content
    text = " ".join(pdf_text(response.content).split())
    assert "KARTU IDENTITAS ANAK" in text
    # the child's card: the child's NIK and name, not the applying parent's
    assert f"NIK : {child}" in text and "Nama : Rizki Ramadhan" in text
    assert job["nik"] not in text and "Ahmad Fauzi" not in text
    assert "No. Akta Lahir : 3673-LU-08052015-0002" in text
    assert f"Tanggal Lahir : {years_before(today_wib(), 7).day} " in text
    [token] = pdf_qr_codes(response.content)
    assert tokens.verify(token, published_keys(system))[1]["holder_name"] == "Rizki Ramadhan"
    assert job["holder_name"] == "Rizki Ramadhan" and job["holder_nik"] == child
    # printing's service token reads documents at intake, and does nothing else there
    service = {"Authorization": f"Bearer {PRINTING_SERVICE_TOKEN}"}
    intake = system.url("intake")
    assert requests.get(f"{intake}/api/v1/applications/{job['application_id']}/documents",
                        headers=service, timeout=10).status_code == 200
    own = own_client()
    assert own.request("POST", f"{intake}/api/v1/applications/{job['application_id']}/verify",
                       headers=service, timeout=10).status == 401
    own.clear()


def report_printed(system, job: dict) -> dict:
    printed = requests.post(f"{system.url('printing')}/api/v1/station/jobs/"
                            f"{job['print_job_id']}/printed", headers=STATION, timeout=10,
                            json={"lease_token": job["lease_token"]})
    assert printed.status_code == 200, printed.text
    return printed.json()


def collected_at_counter(system, job: dict) -> None:
    """The citizen collects the printed card; intake frees the NIK."""
    body = {"tracking_code": job["tracking_code"], "nik": job["nik"]}
    collected = requests.post(f"{system.url('printing')}/api/v1/counter/collections",
                              headers=OPERATOR, json=body, timeout=10)
    assert collected.status_code == 200, collected.text

    def status():
        return requests.post(f"{system.url('intake')}/api/v1/applications/status", json=body,
                             timeout=10).json()["status"] == "collected"
    eventually(status, what="intake: collected")


def first_card(system) -> tuple[dict, str]:
    """A first KTP-el printed and collected: (its application body, its QR token)."""
    first_body = valid_body()
    first = verified_job(system, first_body)
    [old] = pdf_qr_codes(download(system, first).content)
    report_printed(system, first)
    collected_at_counter(system, first)
    assert verify(system, old).json()["status"] == "valid"
    return first_body, old


def test_a_replacement_card_revokes_the_card_it_replaces_once_printed(system):
    first_body, old = first_card(system)

    # the card was damaged: a replacement, another application for the same NIK
    replacement = {**first_body, "details": {"reason": "damaged", "old_card_surrendered": True}}
    second = verified_job(system, replacement)
    assert second["nik"] == first_body["applicant"]["nik"]
    [new] = pdf_qr_codes(download(system, second).content)
    # downloaded, not printed yet: the card the citizen holds is still theirs
    assert verify(system, old).json()["status"] == "valid"
    report_printed(system, second)

    old_answer, new_answer = verify(system, old).json(), verify(system, new).json()
    assert old_answer["status"] == "revoked" and new_answer["status"] == "valid"
    assert old_answer["reason"] == "replaced"
    assert old_answer["claims"]["holder_name"] == new_answer["claims"]["holder_name"]
    # a new application: a new document number
    assert old_answer["claims"]["document_number"] != new_answer["claims"]["document_number"]
    # another citizen's card is not touched
    other = verified_job(system)
    [others] = pdf_qr_codes(download(system, other).content)
    report_printed(system, other)
    assert verify(system, others).json()["status"] == "valid"
    assert verify(system, new).json()["status"] == "valid"


def test_a_card_reported_lost_answers_revoked_from_its_replacements_verification(system):
    """The holder does not have a lost card - whoever does is not them: its
    QR answers revoked (``reported_lost``) as soon as the replacement is
    verified, not days later when the replacement is printed; it keeps that
    reason once the replacement is printed, and another holder's card is
    not touched."""
    first_body, old = first_card(system)
    others_body, others = first_card(system)
    assert verify(system, old).json()["status"] == "valid"

    lost = {**first_body, "details": {"reason": "lost", "police_report_number": "LP/123/XI/2026"}}
    second = verified_job(system, lost)  # claimable: its verification reached printing
    answer = verify(system, old).json()
    assert (answer["status"], answer["reason"]) == ("revoked", "reported_lost")
    assert answer["claims"]["holder_name"] == first_body["applicant"]["full_name"]
    assert verify(system, others).json()["status"] == "valid"

    [new] = pdf_qr_codes(download(system, second).content)
    report_printed(system, second)
    assert verify(system, new).json()["status"] == "valid"
    answer = verify(system, old).json()
    assert (answer["status"], answer["reason"]) == ("revoked", "reported_lost")
    assert verify(system, others).json()["status"] == "valid"


@pytest.mark.parametrize("details", [{"reason": "damaged", "old_card_surrendered": True},
                                     {"reason": "data_change"}], ids=["damaged", "data_change"])
def test_a_replacement_whose_print_fails_and_is_cancelled_leaves_the_old_card_valid(
        system, details):
    """The auditor's case: a replacement's PDF (wrong data, perhaps printed,
    never issued) is reported failed, held and cancelled by an operator: its
    QR is never valid, and the card the citizen still has stays valid."""
    printing = system.url("printing")
    first_body, old = first_card(system)
    second = verified_job(system, {**first_body, "details": details})
    [new] = pdf_qr_codes(download(system, second).content)
    assert verify(system, old).json()["status"] == "valid"

    failed = requests.post(f"{printing}/api/v1/station/jobs/{second['print_job_id']}/failed",
                           json={"lease_token": second["lease_token"], "reason": "data_error"},
                           headers=STATION, timeout=10)
    assert failed.status_code == 200 and failed.json()["status"] == "held", failed.text
    held = held_jobs(system)[second["application_id"]]
    assert (held["last_failure"], held["failure_note"]) == ("data_error", None)
    answer = verify(system, new).json()
    assert (answer["status"], answer["reason"]) == ("revoked", "not_issued")
    assert verify(system, old).json()["status"] == "valid"

    cancelled = requests.post(f"{printing}/api/v1/operator/print-jobs/"
                              f"{second['print_job_id']}/cancel", headers=OPERATOR, timeout=10)
    assert cancelled.status_code == 200, cancelled.text
    eventually(lambda: lookup(system, second["tracking_code"], second["nik"])["status"]
               == "print_cancelled", what="intake: print_cancelled")
    answer = verify(system, new).json()
    assert (answer["status"], answer["reason"]) == ("revoked", "not_issued")
    assert verify(system, old).json()["status"] == "valid"


def days_ago(days: int) -> datetime.date:
    return today_wib() - datetime.timedelta(days=days)


def spoken_date(day: datetime.date) -> str:
    months = ("Januari Februari Maret April Mei Juni Juli Agustus September Oktober November "
              "Desember").split()
    return f"{day.day} {months[day.month - 1]} {day.year}"


def born_ten_days_ago() -> tuple[dict, list[str]]:
    born = days_ago(10)
    return (birth_body(born, child_name="Nur Aini", mother_name="Siti Rahmawati"),
            ["Nama Anak : Nur Aini", "Jenis Kelamin : Perempuan", "Tempat Lahir : Kota Serang",
             f"Tanggal Lahir : {spoken_date(born)}",
             "Anak dari Ibu : Siti Rahmawati dan Ayah : Ahmad Fauzi"])


def died_three_days_ago() -> tuple[dict, list[str]]:
    died = days_ago(3)
    return (death_body(died, deceased_name="Sarmili bin Jaka"),
            ["Nama : Sarmili bin Jaka", f"Tanggal Kematian : {spoken_date(died)}",
             "Tempat Kematian : RSUD dr. Dradjat Prawiranegara, Kota Serang",
             "Hubungan Pelapor : Anak"])


def moving_out() -> tuple[dict, list[str]]:
    return (skpwni_keluar_body(members=None),
            ["Nama : Ahmad Fauzi", "Jenis Kepindahan : Pindah keluar",
             "Klasifikasi : Antar provinsi", "Alasan Pindah : Pekerjaan",
             "Alamat Tujuan : Jl. Tanah Abang II No. 5", "Kelurahan/Desa : Gambir",
             "Kabupaten/Kota : Kota Administrasi Jakarta Pusat",
             "Provinsi : Daerah Khusus Ibukota Jakarta",
             "Anggota yang Pindah : 1 orang: Ahmad Fauzi"])


# the register knows neither the mother nor the deceased: the citizen's names.
# Each case dates its body and its lines from one reading of today, when the
# test runs (read at collection, the lines were a day behind a body made after
# midnight WIB: CI failed so once)
@pytest.mark.parametrize("case", [born_ten_days_ago, died_three_days_ago, moving_out],
                         ids=["akta_kelahiran", "akta_kematian", "skpwni"])
def test_a_certificate_prints_what_intake_knows_of_its_subject(system, case):
    request, lines = case()
    job = verified_job(system, request)
    response = download(system, job)
    assert response.status_code == 200, response.text
    text = " ".join(pdf_text(response.content).split())
    for line in lines:
        assert line in text, line
    # no NIK on a certificate but the deceased's
    assert job["nik"] not in text and job["holder_nik"] is None
    [token] = pdf_qr_codes(response.content)
    assert tokens.verify(token, published_keys(system))[1]["holder_name"] == \
        lines[0].split(" : ")[1]


def test_an_over_long_token_is_a_malformed_verdict_that_does_not_echo_it(system):
    token = "SDK1.dinas." + "Q" * 5000
    answer = verify(system, token)
    assert answer.status_code == 200, answer.text[:300]
    assert answer.json() == {"status": "invalid", "reason": "malformed"}
    assert "QQQQ" not in answer.text


@pytest.mark.parametrize("missing", [{}, {"token": ""}])
def test_a_verification_without_a_token_names_the_parameter(system, missing):
    answer = requests.get(f"{system.url('printing')}/api/v1/verify", params=missing, timeout=10,
                          headers={"Accept-Language": "en"})
    assert answer.status_code == 400 and "token" in answer.json()["error"]["fields"]


def test_no_nik_in_the_logs(system):
    job = verified_job(system)
    download(system, job)
    assert personal_data_in_logs(system, job["nik"]) == []


def registered(system, *people: tuple[str, str, str]) -> str:
    """A family on the register sandbox: (nik, full name, relation) each; its KK."""
    kk = random_kk()
    family = {"kk_number": kk, "kelurahan_code": "3673041010", "members": [
        {"nik": nik, "full_name": name, "sex": "F" if int(nik[6:8]) > 40 else "M",
         "birth_date": nik_birth(nik).isoformat(), "relation": relation,
         "ktp_el_recorded": True, "deceased": False} for nik, name, relation in people]}
    response = requests.post(f"{system.url('register')}/sandbox/families", json=family, timeout=5)
    assert response.status_code == 201, response.text
    return kk


def nik_birth(nik: str) -> datetime.date:
    return parse_nik(nik, today=today_wib()).birth_date


def certificate_text(system, body: dict) -> tuple[dict, str]:
    job = verified_job(system, body)
    response = download(system, job)
    assert response.status_code == 200, response.text
    return job, " ".join(pdf_text(response.content).split())


def test_a_death_certificate_names_the_deceased_as_the_register_knows_them(system):
    deceased, reporter = random_nik(year=1948), random_nik()
    kk = registered(system, (deceased, "SARMILI BIN SALIM", "kepala_keluarga"),
                    (reporter, "AHMAD FAUZI", "anak"))
    # the citizen gives no name (or another spelling): the register's is printed
    job, text = certificate_text(system, death_body(days_ago(2), deceased_nik=deceased,
                                                    nik=reporter, kk=kk, deceased_name=None))
    assert ("Menerangkan bahwa telah meninggal dunia: Nama : SARMILI BIN SALIM "
            f"NIK : {deceased} Tanggal Kematian : {spoken_date(days_ago(2))}") in text
    assert "Pemohon" not in text and "Ahmad Fauzi" not in text  # the reporter is not the holder
    [token] = pdf_qr_codes(download(system, job).content)
    assert tokens.verify(token, published_keys(system))[1]["holder_name"] == "SARMILI BIN SALIM"


def test_a_birth_certificate_names_both_parents_as_the_register_knows_them(system):
    father, mother = random_nik(year=1988), random_nik(female=True, year=1990)
    kk = registered(system, (father, "AHMAD FAUZI", "kepala_keluarga"),
                    (mother, "SITI AMINAH", "istri"))
    _, text = certificate_text(system, birth_body(days_ago(5), mother_nik=mother,
                                                  father_nik=father, kk=kk, mother_name=None,
                                                  child_name="Nur Aini"))
    assert ("Menerangkan bahwa telah lahir: Nama Anak : Nur Aini" in text
            and "Anak dari Ibu : SITI AMINAH dan Ayah : AHMAD FAUZI" in text), text


def test_an_skpwni_made_while_the_register_was_silent_names_its_members_once_verified(
        system, register_restored):
    """Outside audit R: a pindah keluar accepted while the population
    register did not answer printed "Anggota yang Pindah : 2 orang" - no
    names, the destination's Dinas could not tell who moves. Its
    verification asks the register again: silent still, 503 - verify
    later; a member not on the KK, 409."""
    head, wife = random_nik(year=1980), random_nik(female=True, year=1982)
    kk = registered(system, (head, "YUSUF MAULANA", "kepala_keluarga"),
                    (wife, "NUR  FITRIANI", "istri"))
    faults = f"{register_restored.url('register')}/sandbox/faults"
    requests.post(faults, json={"fail_next": 1000, "status": 503}, timeout=5)
    intake = system.url("intake")
    submitted, stranger = (requests.post(
        f"{intake}/api/v1/applications", timeout=10,
        json=skpwni_keluar_body(nik=head, kk=kk, members=[head, wife, *more]))
        for more in ([], [random_nik(year=2015)]))
    assert submitted.status_code == stranger.status_code == 202, submitted.text
    application_id = submitted.json()["application_id"]

    def verify_it(application: requests.Response) -> requests.Response:
        return requests.post(f"{intake}/api/v1/applications/"
                             f"{application.json()['application_id']}/verify",
                             headers=OPERATOR, timeout=10)
    silent = verify_it(submitted)  # the register still silent: not named yet, try later
    assert silent.status_code == 503 and silent.headers["Retry-After"], silent.text
    assert silent.json()["error"]["code"] == "register_unavailable"
    # one rejected meanwhile: 409 conflict at once, the register asked for
    # nothing (it was 503 "verify later", a review: forty-fifth session)
    rejected = requests.post(f"{intake}/api/v1/applications", timeout=10,
                             json=skpwni_keluar_body(kk=random_kk()))
    assert rejected.status_code == 202, rejected.text
    reject(system, rejected.json()["application_id"])
    again = verify_it(rejected)
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict", again.text
    requests.post(faults, json={"fail_next": 0}, timeout=5)
    eventually(lambda: register_answers(system), what="intake checking the register again")
    # a member the register has on no KK of theirs: refused as a submission would be
    # (outside audit R2: it was verified, and the move issued)
    not_on_kk = verify_it(stranger)
    assert not_on_kk.status_code == 409, not_on_kk.text
    assert list(not_on_kk.json()["error"]["fields"]) == ["details.members.2"]
    assert verify_it(submitted).status_code == 200
    job = claim_job_for(system.url("printing"), application_id)
    text = " ".join(pdf_text(download(system, job).content).split())
    assert "Anggota yang Pindah : 2 orang: YUSUF MAULANA, NUR FITRIANI" in text, text


def test_a_death_certificate_nobody_named_is_not_verified_until_the_citizen_names_them(system):
    intake = system.url("intake")
    body = death_body(days_ago(2), deceased_name=None)  # the register knows no random NIK
    submitted = requests.post(f"{intake}/api/v1/applications", json=body, timeout=10)
    assert submitted.status_code == 202, submitted.text
    application = submitted.json()
    url = f"{intake}/api/v1/applications/{application['application_id']}"
    refused = requests.post(f"{url}/verify", headers=OPERATOR, timeout=10)
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert error["code"] == "printed_name_missing"
    assert list(error["fields"]) == ["details.deceased_full_name"]
    # the operator asks for it; the citizen gives it; the certificate names them
    rejected = requests.post(f"{url}/reject", headers=OPERATOR, timeout=10,
                             json={"reasons": ["deceased_name_missing"]})
    assert rejected.status_code == 200, rejected.text
    resubmitted = requests.post(f"{intake}/api/v1/applications/resubmit", timeout=10, json={
        "tracking_code": application["tracking_code"], "nik": body["applicant"]["nik"],
        "details": {**body["details"], "deceased_full_name": "Sarmili bin Jaka"}})
    assert resubmitted.status_code == 200, resubmitted.text
    verified = requests.post(f"{url}/verify", headers=OPERATOR, timeout=10)
    assert verified.status_code == 200, verified.text
    job = claim_job_for(system.url("printing"), application["application_id"])
    text = " ".join(pdf_text(download(system, job).content).split())
    assert f"Nama : Sarmili bin Jaka NIK : {body['details']['deceased_nik']}" in text


# what docs/station-api.md ("Operators: held jobs") lists for every held job
HELD_JOB_KEYS = {"print_job_id", "application_id", "tracking_code", "document_type",
                 "print_kind", "pickup_place_id", "station_id", "attempts", "last_failure",
                 "failure_note", "queued_at", "status"}


def held_jobs(system) -> dict:
    """The held jobs an operator sees, by application id; each has every key
    the documentation lists, whatever held it (outside audit: a job held
    ``holder_deceased`` had no ``station_id`` nor ``failure_note``)."""
    response = requests.get(f"{system.url('printing')}/api/v1/operator/print-jobs/held",
                            headers=OPERATOR, timeout=10)
    assert response.status_code == 200, response.text
    jobs = response.json()["jobs"]
    for job in jobs:
        assert set(job) == HELD_JOB_KEYS, job
    return {job["application_id"]: job for job in jobs}


def test_a_verified_death_revokes_the_deceased_card_and_holds_their_queued_print(system):
    """The auditor's case: Hendra's collected card answers valid, his damaged
    card's replacement is verified and queued, then his Akta Kematian is
    verified: the card answers revoked (deceased), and the replacement is
    held for an operator, never handed to a station; its citizen reads
    ``print_held``."""
    intake, printing = system.url("intake"), system.url("printing")
    first_body, card = first_card(system)
    hendra = first_body["applicant"]["nik"]
    replacement = requests.post(f"{intake}/api/v1/applications", timeout=10, json={
        **first_body, "details": {"reason": "damaged", "old_card_surrendered": True}})
    assert replacement.status_code == 202, replacement.text
    replacement_id = replacement.json()["application_id"]
    assert requests.post(f"{intake}/api/v1/applications/{replacement_id}/verify",
                         headers=OPERATOR, timeout=10).status_code == 200

    death = requests.post(f"{intake}/api/v1/applications", timeout=10,
                          json=death_body(days_ago(2), deceased_nik=hendra))
    assert death.status_code == 202, death.text
    verified = requests.post(f"{intake}/api/v1/applications/{death.json()['application_id']}"
                             "/verify", headers=OPERATOR, timeout=10)
    assert verified.status_code == 200, verified.text

    answer = eventually(lambda: (found := verify(system, card).json())["status"] == "revoked"
                        and found, interval=1.0,  # within the endpoint's rate limit
                        what="the deceased's card revoked")
    assert answer["reason"] == "deceased"
    held = eventually(lambda: held_jobs(system).get(replacement_id), what="replacement held")
    assert held["last_failure"] == "holder_deceased"
    # never leased: no station, no station's note (null, not missing)
    assert (held["station_id"], held["failure_note"]) == (None, None)
    # the citizen's status says so (printing's print_job_held), not print_queued
    eventually(lambda: lookup(system, replacement.json()["tracking_code"], hendra)["status"]
               == "print_held", what="intake: print_held")
    # an operator cannot send it back to print (outside audit N4: released,
    # it was printed and its QR answered valid): only cancel it
    kept = requests.post(f"{printing}/api/v1/operator/print-jobs/{held['print_job_id']}/release",
                         headers=OPERATOR, timeout=10)
    assert kept.status_code == 409 and kept.json()["error"]["code"] == "holder_deceased", kept.text
    # no station gets it: every claimable job is handed out, never this one
    def claimed_all() -> bool:
        response = requests.post(f"{printing}/api/v1/station/jobs/claim", headers=STATION,
                                 timeout=10)
        assert response.status_code in (200, 204), response.text
        assert response.status_code == 204 or response.json()["application_id"] != replacement_id
        return response.status_code == 204
    eventually(claimed_all, what="the queue claimed empty")
    assert held_jobs(system)[replacement_id]["last_failure"] == "holder_deceased"
