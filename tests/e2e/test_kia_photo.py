"""A KIA from age 5 carries the child's photo: never verified nor printed
without it (outside audit: the docs' KIA example, photo declared and never
uploaded, was verified and printed with an empty "FOTO" box).

The operator's verify refuses it (409 ``photo_not_uploaded``, nothing stored
or emitted) until the photo is uploaded; a child under 5 needs none. A photo
that does not decode is refused at upload (400 on ``file``), while the
citizen can still send another (outside audit, D13: it passed upload and
verify, and the job could only be held). At the station, a KIA whose photo
intake does not have (an application verified before this rule) or whose
stored photo does not decode (uploaded before the upload decoded it) is not
printed: the download answers 409 ``photo_missing`` and the job is held for
an operator.
"""

from __future__ import annotations

import requests

from shared.clock import today_wib
from tests.document_bodies import kia_body, nik_born, years_before
from tests.documents import png
from tests.helpers import OPERATOR, STATION, claim_job_for, eventually
from tests.pdf_checks import pdf_text


def submit(system, body: dict) -> dict:
    submitted = requests.post(f"{system.url('intake')}/api/v1/applications", json=body,
                              timeout=10)
    assert submitted.status_code == 202, submitted.text
    return submitted.json()


def send_photo(system, application: dict, body: dict, photo: bytes) -> requests.Response:
    return requests.post(
        f"{system.url('intake')}/api/v1/applications/documents", timeout=30,
        data={"tracking_code": application["tracking_code"], "nik": body["applicant"]["nik"],
              "kind": "foto"}, files={"file": ("foto.png", photo, "image/png")})


def upload_photo(system, application: dict, body: dict, photo: bytes) -> dict:
    uploaded = send_photo(system, application, body, photo)
    assert uploaded.status_code == 201, uploaded.text
    return uploaded.json()["document"]


def verify(system, application: dict, lang: str = "id") -> requests.Response:
    return requests.post(
        f"{system.url('intake')}/api/v1/applications/{application['application_id']}/verify",
        headers={**OPERATOR, "Accept-Language": lang}, timeout=10)


def download(system, job: dict) -> requests.Response:
    return requests.get(f"{system.url('printing')}/api/v1/station/jobs/{job['print_job_id']}"
                        "/document.pdf", params={"lease_token": job["lease_token"]},
                        headers=STATION, timeout=30)


def held_job(mongo, job: dict) -> dict:
    return eventually(lambda: (found := mongo["printing"].print_jobs.find_one(
        {"_id": job["print_job_id"], "status": "held"})) and found,
        what="the print job held for an operator")


def test_a_kia_from_age_5_is_not_verified_before_its_photo_is_uploaded(system, mongo,
                                                                      intake_state):
    body = kia_body(nik_born(years_before(today_wib(), 7)))  # foto declared, as docs/api.md
    application = submit(system, body)
    # the submission's own event handed on (outbox and carried), so what
    # follows sees only what the refusal might write
    before = eventually(lambda: (state := intake_state())[1:] == (0, 0) and state,
                        what="an empty outbox, no event carried")
    refused = verify(system, application)
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert error["code"] == "photo_not_uploaded"
    assert "belum diunggah" in error["message"] and "photo_missing" in error["message"]
    assert error["fields"] == {"documents.foto": ["Belum diunggah: Pas foto anak berwarna."]}
    english = verify(system, application, "en").json()["error"]
    assert english["fields"] == {"documents.foto": ["Not uploaded: A colour photo of the child."]}
    assert english["message"].startswith("The photo the card carries has not been uploaded")
    # nothing stored or emitted
    assert intake_state() == before
    stored = mongo["intake"].applications.find_one({"_id": application["application_id"]})
    # the "received" notice's step may land at any moment: the refusal added none of its own
    steps = [entry["status"] for entry in stored["timeline"]]
    assert stored["status"] == "submitted" and [s for s in steps if s != "notified"] == ["submitted"]

    upload_photo(system, application, body, png(30, 40))
    accepted = verify(system, application)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "verified"


def test_a_kia_under_5_is_verified_and_printed_without_a_photo(system):
    body = kia_body(nik_born(years_before(today_wib(), 3)),
                    documents=("akta_kelahiran", "kartu_keluarga", "ktp_el"))
    application = submit(system, body)
    assert verify(system, application).status_code == 200
    job = claim_job_for(system.url("printing"), application["application_id"])
    printed = download(system, job)
    assert printed.status_code == 200, printed.text
    assert b"/Subtype /Image" not in printed.content
    assert "FOTO" not in pdf_text(printed.content)  # no empty photo box: it carries none


def test_a_kia_whose_photo_intake_lacks_is_held_not_printed(system, mongo):
    # an application verified before the rule: under 5 then, required now
    body = kia_body(nik_born(years_before(today_wib(), 3)),
                    documents=("akta_kelahiran", "kartu_keluarga", "ktp_el"))
    application = submit(system, body)
    assert verify(system, application).status_code == 200
    mongo["intake"].applications.update_one({"_id": application["application_id"]},
                                            {"$push": {"required_documents": "foto"}})
    listing = requests.get(f"{system.url('intake')}/api/v1/applications/"
                           f"{application['application_id']}/documents", headers=OPERATOR,
                           timeout=10)
    assert listing.json() == {"documents": [], "photo_required": True}
    job = claim_job_for(system.url("printing"), application["application_id"])
    refused = download(system, job)
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "photo_missing"
    assert held_job(mongo, job)["last_failure"] == "data_error"
    assert download(system, job).status_code == 409  # the lease ended: no PDF, ever


def test_a_kia_photo_that_does_not_decode_is_refused_at_upload(system, mongo):
    body = kia_body(nik_born(years_before(today_wib(), 7)))
    application = submit(system, body)
    # a PNG whose header intake reads, with no pixels behind it
    refused = send_photo(system, application, body, png(30, 40, pixels=False))
    assert refused.status_code == 400, refused.text
    assert list(refused.json()["error"]["fields"]) == ["file"]
    stored = mongo["intake"].applications.find_one({"_id": application["application_id"]})
    assert stored.get("documents", []) == []
    assert verify(system, application).json()["error"]["code"] == "photo_not_uploaded"
    # the citizen sends another: verified and printed with it
    upload_photo(system, application, body, png(30, 40))
    assert verify(system, application).status_code == 200
    job = claim_job_for(system.url("printing"), application["application_id"])
    printed = download(system, job)
    assert printed.status_code == 200, printed.text
    assert b"/Subtype /Image" in printed.content


def test_a_stored_kia_photo_that_does_not_decode_is_held_not_printed(system, mongo):
    body = kia_body(nik_born(years_before(today_wib(), 7)))
    application = submit(system, body)
    photo = png(30, 40)
    document = upload_photo(system, application, body, photo)
    assert verify(system, application).status_code == 200
    # a photo uploaded before the upload decoded it: its image data broken,
    # its length (which GridFS checks) the same
    damaged = bytearray(photo)
    damaged[45] ^= 0xFF  # inside the IDAT's compressed pixels
    mongo["intake"]["documents.chunks"].update_one(
        {"files_id": document["document_id"], "n": 0}, {"$set": {"data": bytes(damaged)}})
    job = claim_job_for(system.url("printing"), application["application_id"])
    refused = download(system, job)
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "photo_missing"
    assert held_job(mongo, job)["status"] == "held"
