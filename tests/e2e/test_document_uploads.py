"""Supporting documents through the real intake service and database.

A citizen uploads photos and scans to their application (tracking code +
NIK); the type is read from the content; refused uploads leave nothing in
GridFS; the same file sent again, even several at once, is stored once; an
operator, and nobody else, fetches a file byte for byte.
"""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import urllib3

from shared.clock import today_wib
from tests.document_bodies import kia_body, nik_born, years_before
from tests.documents import jpeg, pdf, png
from tests.helpers import OPERATOR, STATION, personal_data_in_logs, valid_body

MIB = 1024 * 1024
FILE_LIMIT = 2 * MIB  # UPLOAD_MAX_FILE_BYTES in services/intake/config.yaml
MAX_FILES = 20  # UPLOAD_MAX_FILES


@pytest.fixture
def application(system) -> dict:
    """A new KTP-el application: its id, tracking code and NIK."""
    body = valid_body()
    response = requests.post(f"{system.url('intake')}/api/v1/applications", json=body, timeout=10)
    assert response.status_code == 202, response.text
    return {**response.json(), "nik": body["applicant"]["nik"],
            "phone": body["applicant"]["phone"], "kk": body["applicant"]["kk_number"]}


@pytest.fixture
def stored(mongo):
    """What GridFS holds: (files, chunks) of one application, or in all."""
    db = mongo["intake"]

    def counts(application_id: str | None = None) -> tuple[int, int]:
        query = {} if application_id is None else {"metadata.application_id": application_id}
        ids = [row["_id"] for row in db["documents.files"].find(query, {"_id": 1})]
        chunks = db["documents.chunks"].count_documents(
            {} if application_id is None else {"files_id": {"$in": ids}})
        return len(ids), chunks
    return counts


def upload(system, application: dict, content: bytes, name: str = "kk.jpg",
           declared: str = "image/jpeg", kind: str = "kartu_keluarga", nik: str | None = None,
           **headers) -> requests.Response:
    return requests.post(
        f"{system.url('intake')}/api/v1/applications/documents", timeout=30, headers=headers,
        data={"tracking_code": application["tracking_code"], "nik": nik or application["nik"],
              "kind": kind},
        files={"file": (name, content, declared)})


def documents_url(system, application: dict, document_id: str = "") -> str:
    url = f"{system.url('intake')}/api/v1/applications/{application['application_id']}/documents"
    return f"{url}/{document_id}" if document_id else url


@pytest.mark.parametrize("lang", ["id", "en"])
def test_a_text_file_named_jpg_is_refused_and_nothing_is_stored(system, application, stored, lang):
    before = stored()
    response = upload(system, application, b"bukan foto, hanya teks\n" * 20, name="ktp.jpg",
                      declared="image/jpeg", **{"Accept-Language": lang})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert list(error["fields"]) == ["file"]
    expected = {"en": "The file must be a JPEG/PNG photo", "id": "Berkas harus berupa foto JPEG"}
    assert error["fields"]["file"][0].startswith(expected[lang])
    assert stored() == before


def jpeg_without_a_scan() -> bytes:
    """A JPEG with its frame header and end marker, and no scan between them."""
    whole = jpeg()
    return whole[:whole.index(b"\xff\xda")] + b"\xff\xd9"


@pytest.mark.parametrize("lang", ["id", "en"])
@pytest.mark.parametrize("photo", [png(4, 4, idat=False), jpeg_without_a_scan()],
                         ids=["png_without_image_data", "jpeg_without_a_scan"])
def test_a_photo_that_does_not_decode_is_refused_and_nothing_is_stored(system, application,
                                                                      stored, photo, lang):
    """The card prints the photo: refused while the citizen can send another,
    not held at the printer once the application is verified (outside audit,
    D13: 45 bytes of IHDR and IEND passed upload and verify). The same file
    as a scan of a document (never printed) is taken as before."""
    before = stored()
    response = upload(system, application, photo, name="foto.png", kind="foto",
                      **{"Accept-Language": lang})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["fields"] == {"file": [{
        "id": "Pas foto tidak dapat dibaca sebagai gambar (berkas rusak atau tidak lengkap): "
              "kirim foto lain.",
        "en": "The photo cannot be read as an image (the file is damaged or incomplete): "
              "please send another photo."}[lang]]}
    assert stored() == before
    assert upload(system, application, photo, kind="kartu_keluarga").status_code == 201


def test_an_oversized_file_answers_413_and_nothing_is_stored(system, application, stored):
    before = stored()
    over_file_limit = upload(system, application, jpeg(padding=FILE_LIMIT))  # a real JPEG
    assert over_file_limit.status_code == 413, over_file_limit.text
    assert over_file_limit.json()["error"]["code"] == "payload_too_large"
    assert list(over_file_limit.json()["error"]["fields"]) == ["file"]

    over_body_limit = upload(system, application, jpeg(padding=3 * MIB))  # refused unread
    assert over_body_limit.status_code == 413
    assert over_body_limit.json()["error"]["code"] == "payload_too_large"
    assert stored() == before


def test_photos_and_scans_are_stored_listed_and_fetched_by_an_operator(system, application,
                                                                       stored):
    files = {"kartu_keluarga": (jpeg(padding=300_000), "image/jpeg"),  # more than one chunk
             "foto": (png(40, 60), "image/png"),
             "ktp_el": (pdf("KTP-el"), "application/pdf")}
    for kind, (content, content_type) in files.items():
        # the name and declared type say JPEG; the content decides
        response = upload(system, application, content, name="IMG_0001.jpg", kind=kind)
        assert response.status_code == 201, response.text
        document = response.json()["document"]
        assert (document["kind"], document["content_type"], document["size"]) == \
            (kind, content_type, len(content))
    assert stored(application["application_id"])[0] == 3
    assert [d["kind"] for d in response.json()["documents"]] == list(files)

    listing = requests.get(documents_url(system, application), headers=OPERATOR, timeout=10)
    assert listing.status_code == 200, listing.text
    documents = listing.json()["documents"]
    assert documents == response.json()["documents"]
    assert {d["kind"]: d["content_type"] for d in documents} == \
        {kind: content_type for kind, (_, content_type) in files.items()}
    assert documents[1]["width"] == 40 and documents[1]["height"] == 60
    for document in documents:
        fetched = requests.get(documents_url(system, application, document["document_id"]),
                               headers=OPERATOR, timeout=10)
        assert fetched.status_code == 200
        assert fetched.content == files[document["kind"]][0]
        assert fetched.headers["Content-Type"] == document["content_type"]
        assert fetched.headers["X-Content-Type-Options"] == "nosniff"
        assert fetched.headers["Content-Disposition"].startswith("attachment;")


def test_only_an_operator_can_list_or_fetch_a_document(system, application):
    response = upload(system, application, png())
    assert response.status_code == 201, response.text
    urls = [documents_url(system, application),
            documents_url(system, application, response.json()["document"]["document_id"])]
    # wrong tokens count against the client: from a loopback address of our own
    # (see tests/e2e/test_secrets_and_limits.py), so no other test is held back
    own = urllib3.PoolManager(source_address=(
        f"127.{random.randint(1, 254)}.{random.randint(0, 255)}.{random.randint(1, 254)}", 0))
    for url in urls:
        for headers in ({}, STATION, {"Authorization": "Bearer not-a-token"}):
            refused = own.request("GET", url, headers=headers, timeout=10)
            assert refused.status == 401, refused.data
            assert b"\x89PNG" not in refused.data
        assert requests.get(url, headers=OPERATOR, timeout=10).status_code == 200
    own.clear()


def test_a_wrong_nik_is_the_same_404_as_an_unknown_code(system, application, stored):
    before = stored()
    wrong_nik = upload(system, application, jpeg(), nik=valid_body()["applicant"]["nik"])
    unknown_code = upload(system, {**application, "tracking_code": "SDKZZZZZZZZ"}, jpeg())
    assert wrong_nik.status_code == unknown_code.status_code == 404
    assert wrong_nik.json() == unknown_code.json()
    assert stored() == before


def test_the_same_file_again_is_stored_once(system, application, stored):
    first = upload(system, application, pdf("SPTJM"), kind="sptjm_kelahiran")
    again = upload(system, application, pdf("SPTJM"), kind="sptjm_kelahiran")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["document"] == first.json()["document"]
    assert stored(application["application_id"])[0] == 1


def test_the_same_file_sent_at_once_is_stored_once(system, mongo, stored):
    """A client retrying on a timeout may send its photo again while the first
    is still on its way (outside audit: 8 at once were 8 entries and 8 GridFS
    files, counted against the application's limits)."""
    body = kia_body(nik_born(years_before(today_wib(), 8)))  # foto declared
    response = requests.post(f"{system.url('intake')}/api/v1/applications", json=body, timeout=10)
    assert response.status_code == 202, response.text
    application = {**response.json(), "nik": body["applicant"]["nik"]}
    photo, at_once = png(30, 40), 8
    together = threading.Barrier(at_once)

    def send(_):
        together.wait(timeout=30)
        return upload(system, application, photo, "foto.png", "image/png", kind="foto")

    before = stored()
    with ThreadPoolExecutor(at_once) as pool:
        answers = list(pool.map(send, range(at_once)))
    assert sorted(answer.status_code for answer in answers) == [200] * (at_once - 1) + [201], \
        [answer.text for answer in answers]
    assert len({answer.json()["document"]["document_id"] for answer in answers}) == 1
    listed = mongo["intake"].applications.find_one({"_id": application["application_id"]})
    assert [entry["kind"] for entry in listed["documents"]] == ["foto"]
    assert (listed["documents_count"], listed["documents_bytes"]) == (1, len(photo))
    # the files of the uploads that lost are deleted again, chunks and all
    assert stored() == (before[0] + 1, before[1] + 1)


def test_documents_only_while_the_application_waits_for_the_dinas(system, application, stored):
    intake = system.url("intake")
    rejected = requests.post(f"{intake}/api/v1/applications/{application['application_id']}/reject",
                             json={"reasons": ["kk_unreadable"]}, headers=OPERATOR,
                             timeout=10)
    assert rejected.status_code == 200, rejected.text
    assert upload(system, application, jpeg()).status_code == 201  # the corrected photo

    body = valid_body()
    verified = requests.post(f"{intake}/api/v1/applications", json=body, timeout=10).json()
    assert requests.post(f"{intake}/api/v1/applications/{verified['application_id']}/verify",
                         headers=OPERATOR, timeout=10).status_code == 200
    before = stored()
    closed = upload(system, verified, jpeg(), nik=body["applicant"]["nik"])
    assert closed.status_code == 409, closed.text
    assert stored() == before


def test_an_application_takes_at_most_max_files(system, application, stored):
    for n in range(MAX_FILES):
        assert upload(system, application, png(n + 1, 1), kind="foto").status_code == 201
    before = stored()
    full = upload(system, application, png(MAX_FILES + 1, 1), kind="foto")
    assert full.status_code == 409, full.text
    assert full.json()["error"]["code"] == "document_limit_reached"
    assert list(full.json()["error"]["fields"]) == ["file"]
    assert stored() == before


def listed(system, application: dict) -> list[dict]:
    answer = requests.get(documents_url(system, application), headers=OPERATOR, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()["documents"]


def test_a_rejected_application_at_its_limits_takes_the_document_asked_for_again(
        system, application, stored):
    """Outside audit I (MEDIUM): rejected "KK unreadable - upload a clear
    one", an application holding 10 MiB of documents (or 20 files) answered
    the new KK 409 ``document_limit_reached``: a dead end but to cancel and
    apply again. An upload of a kind the rejection came after takes the
    place of that kind's documents from before it - listed still, with
    ``replaced_by`` - and more of the kind after it are more pages."""
    intake = system.url("intake")
    first_kk = upload(system, application, pdf("KK buram"), "kk.pdf", "application/pdf")
    assert first_kk.status_code == 201, first_kk.text
    for n in range(MAX_FILES - 1):
        assert upload(system, application, png(n + 1, 1), kind="foto").status_code == 201
    assert upload(system, application, pdf("KK lagi"), "kk.pdf",
                  "application/pdf").status_code == 409  # full while it waits for the Dinas
    rejected = requests.post(f"{intake}/api/v1/applications/{application['application_id']}/reject",
                             json={"reasons": ["kk_unreadable"]}, headers=OPERATOR, timeout=10)
    assert rejected.status_code == 200, rejected.text
    clear = upload(system, application, pdf("KK jelas"), "kk.pdf", "application/pdf")
    assert clear.status_code == 201, clear.text
    new_id, old_id = clear.json()["document"]["document_id"], \
        first_kk.json()["document"]["document_id"]
    documents = {entry["document_id"]: entry for entry in listed(system, application)}
    assert documents[old_id]["replaced_by"] == new_id  # still listed, for the operator
    assert documents[new_id]["replaced_by"] is None
    assert len(documents) == MAX_FILES + 1
    # a second page of the new KK counts as one more: the application is full again
    page_two = upload(system, application, pdf("KK jelas hal 2"), "kk.pdf", "application/pdf")
    assert page_two.status_code == 409, page_two.text
    assert page_two.json()["error"]["code"] == "document_limit_reached"
    view = requests.get(f"{intake}/api/v1/operator/applications/"
                        f"{application['application_id']}", headers=OPERATOR, timeout=10).json()
    assert [entry["replaced_by"] for entry in view["documents"]][:1] == [new_id]
    assert "documents_replaced" not in view
    assert stored(application["application_id"])[0] == MAX_FILES + 1


@pytest.mark.parametrize(("form", "field"), [
    ({"kind": "rapor_sekolah"}, "kind"),
    ({"nik": "12345"}, "nik"),
    ({"kind": None}, "kind"),
    ({"hobby": "x"}, "hobby"),
    ({"kind": "foto\nX"}, "kind"),
])
def test_bad_form_fields_are_named(system, application, stored, form, field):
    before = stored()
    data = {"tracking_code": application["tracking_code"], "nik": application["nik"],
            "kind": "foto", **form}
    response = requests.post(f"{system.url('intake')}/api/v1/applications/documents",
                             data={k: v for k, v in data.items() if v is not None},
                             files={"file": ("a.png", png(), "image/png")}, timeout=10)
    assert response.status_code == 400, response.text
    assert field in response.json()["error"]["fields"]
    assert stored() == before


def test_an_upload_must_be_multipart_with_one_file(system, application, stored):
    url = f"{system.url('intake')}/api/v1/applications/documents"
    before = stored()
    # another type: 415 naming Content-Type, as the served OpenAPI and api.md say
    as_json = requests.post(url, json={"tracking_code": application["tracking_code"]}, timeout=10)
    assert as_json.status_code == 415, as_json.text
    assert list(as_json.json()["error"]["fields"]) == ["Content-Type"]
    assert "multipart/form-data" in as_json.json()["error"]["message"]
    # no readable multipart (outside audit: read as all four fields missing)
    good = requests.Request("POST", url, files={"tracking_code": (None, "SDK7KQ2M9XA"),
                                                "file": ("a.png", png(), "image/png")}).prepare()
    boundary = good.headers["Content-Type"].split("boundary=")[1]
    for content_type, body in (("multipart/form-data", good.body),  # no boundary
                               ("multipart/form-data; boundary=another", good.body),
                               (good.headers["Content-Type"], good.body[:-40]),  # cut short
                               (good.headers["Content-Type"], b""),
                               ("multipart/form-data", b"--x\r\n")):
        broken = requests.post(url, data=body, headers={"Content-Type": content_type},
                               timeout=10)
        assert broken.status_code == 400, (content_type, broken.text)
        assert list(broken.json()["error"]["fields"]) == ["_body"], boundary
        assert "multipart" in broken.json()["error"]["fields"]["_body"][0]
    no_file = requests.post(url, files={"tracking_code": (None, application["tracking_code"]),
                                        "nik": (None, application["nik"]),
                                        "kind": (None, "foto")}, timeout=10)
    assert no_file.status_code == 400
    assert list(no_file.json()["error"]["fields"]) == ["file"]
    assert stored() == before


def test_an_upload_of_too_many_parts_is_a_400_not_too_large(system, application, stored):
    """Outside audit S3: a 57 KB body of ~1,000 parts was answered 413 "over
    2,162,688 bytes" (Werkzeug's part limit, taken for the size limit)."""
    before = stored()
    parts = {"tracking_code": (None, application["tracking_code"]),
             "nik": (None, application["nik"]), "kind": (None, "foto"),
             "file": ("a.png", png(), "image/png")}
    parts.update({f"x{n}": (None, "x") for n in range(1000)})
    response = requests.post(f"{system.url('intake')}/api/v1/applications/documents",
                             files=parts, headers={"Accept-Language": "en"}, timeout=30)
    assert response.status_code == 400, response.text
    [message] = response.json()["error"]["fields"]["_body"]
    assert message.startswith("Too many multipart parts: at most 1000")
    assert stored() == before


def test_no_personal_data_in_the_logs(system, application):
    assert upload(system, application, jpeg(), name=f"{application['nik']}.jpg").status_code == 201
    assert upload(system, application, b"teks", nik=application["nik"]).status_code == 400
    assert personal_data_in_logs(system, application["nik"], application["kk"],
                                 application["phone"]) == []
