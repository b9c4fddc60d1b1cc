"""Unit tests for services.intake.uploads: the type read from the content, the limits."""

from __future__ import annotations

import datetime
import hashlib

import pytest

from services.intake import uploads
from services.intake.requirements import DOCUMENT_KINDS, REQUIRED_DOCUMENTS
from services.intake.uploads import (JPEG, PDF, PNG, DocumentLimitReached, DocumentsClosed,
                                     FileTooLarge, UploadLimits, admit, check_file, file_name,
                                     listing_view, new_document, same_document, sniff)
from shared.errors import ValidationFailed
from tests.documents import jpeg, pdf, png

LIMITS = UploadLimits(max_file_bytes=2 * 1024 * 1024, max_total_bytes=10 * 1024 * 1024,
                      max_files=3)
NOW = datetime.datetime(2025, 6, 2, 3, 4, 5, 678901, tzinfo=datetime.timezone.utc)


def refused_field(exc_info) -> dict:
    return exc_info.value.fields


@pytest.mark.parametrize(("data", "content_type", "size"), [
    (jpeg(), JPEG, (8, 8)),
    (jpeg(padding=70_000), JPEG, (8, 8)),  # segments longer than one 64 KiB comment
    (png(), PNG, (1, 1)),
    (png(640, 2), PNG, (640, 2)),
    (pdf(), PDF, None),
])
def test_real_files_are_recognised_by_their_content(data, content_type, size):
    assert sniff(data) == (content_type, size)


@pytest.mark.parametrize("data", [
    b"Ini bukan foto, hanya teks yang diberi nama ktp.jpg\n",
    b"\xff\xd8\xff" + b"not really a jpeg",  # JPEG's first bytes only
    jpeg()[:-2],  # truncated: no end of image
    jpeg()[:40],  # cut before the frame header
    b"\x89PNG\r\n\x1a\n" + b"\x00" * 30,  # PNG signature, no IHDR
    png()[:-12],  # no IEND
    b"%PDF-1.4\n1 0 obj\n<< >>\nendobj\n",  # no trailer
    b"GIF89a\x01\x00\x01\x00\x00\x00\x00;",
    b"<html><script>alert(1)</script></html>",
])
def test_anything_else_is_not_a_document(data):
    assert sniff(data) is None
    with pytest.raises(ValidationFailed) as refused:
        check_file(data, LIMITS)
    assert list(refused_field(refused)) == ["file"]


def test_the_checked_file_carries_type_size_and_digest():
    data = png(3, 2)
    checked = check_file(data, LIMITS)
    assert (checked.content_type, checked.size) == (PNG, len(data))
    assert (checked.width, checked.height) == (3, 2)
    assert checked.sha256 == hashlib.sha256(data).hexdigest()
    assert check_file(pdf(), LIMITS).width is None


def test_a_file_over_the_limit_is_too_large_and_at_the_limit_fits():
    limits = UploadLimits(len(jpeg(padding=1000)), max_total_bytes=10**7, max_files=3)
    assert check_file(jpeg(padding=1000), limits).size == limits.max_file_bytes
    with pytest.raises(FileTooLarge) as refused:
        check_file(jpeg(padding=1001), limits)
    assert refused.value.status == 413 and list(refused_field(refused)) == ["file"]


def test_a_photo_of_a_person_must_be_an_image_a_scan_may_be_a_pdf():
    assert DOCUMENT_KINDS["foto"].photo
    assert check_file(png(), LIMITS, "foto").content_type == PNG
    with pytest.raises(ValidationFailed) as refused:
        check_file(pdf(), LIMITS, "foto")
    assert list(refused_field(refused)) == ["file"]
    assert check_file(pdf(), LIMITS, "kartu_keluarga").content_type == PDF


def test_an_empty_file_is_refused():
    with pytest.raises(ValidationFailed) as refused:
        check_file(b"", LIMITS)
    assert list(refused_field(refused)) == ["file"]


def test_an_image_of_absurd_dimensions_is_refused():
    huge = png(65536, 65536, pixels=False)  # a tiny file claiming 4 gigapixels
    assert sniff(huge)[1] == (65536, 65536)
    with pytest.raises(ValidationFailed) as refused:
        check_file(huge, LIMITS)
    assert "megapi" in refused_field(refused)["file"][0]


def application(status: str = "submitted", documents=()) -> dict:
    return {"_id": "app-1", "status": status, "documents": list(documents),
            "documents_count": len(documents),
            "documents_bytes": sum(d["size"] for d in documents)}


@pytest.mark.parametrize("status", ["submitted", "rejected"])
def test_an_application_waiting_for_the_dinas_takes_documents(status):
    admit(application(status), check_file(jpeg(), LIMITS), LIMITS)
    admit({"_id": "old", "status": status}, check_file(jpeg(), LIMITS), LIMITS)  # none yet


@pytest.mark.parametrize("status", ["verified", "printed", "collected"])
def test_an_application_past_checking_takes_none(status):
    with pytest.raises(DocumentsClosed) as refused:
        admit(application(status), check_file(jpeg(), LIMITS), LIMITS)
    assert refused.value.status == 409


def test_the_refusal_names_the_status_by_its_label_as_other_conflicts_do():
    """Outside audit F6: the refusal named the raw status ('verified'),
    where every other 409 names its label (``WrongStatus``)."""
    with pytest.raises(DocumentsClosed) as refused:
        admit(application("verified"), check_file(jpeg(), LIMITS), LIMITS)
    assert refused.value.to_body("id")["error"] == {
        "code": "conflict",
        "message": 'Permohonan berstatus "Permohonan diverifikasi": dokumen hanya dapat '
                   "diunggah selama permohonan menunggu pemeriksaan atau perbaikan."}
    assert refused.value.to_body("en")["error"]["message"] == (
        'The application is "Application verified": documents can be uploaded only while '
        "the application awaits checking or correction.")


def test_per_application_limits_count_files_and_bytes():
    small = check_file(jpeg(), LIMITS)
    entries = [new_document("app-1", "foto", small, NOW) for _ in range(LIMITS.max_files)]
    with pytest.raises(DocumentLimitReached) as refused:
        admit(application(documents=entries), small, LIMITS)
    assert list(refused_field(refused)) == ["file"]

    two_pages = [new_document("app-1", "kartu_keluarga", check_file(pdf(), LIMITS), NOW)] * 2
    used = 2 * len(pdf())
    room_for_small = UploadLimits(LIMITS.max_file_bytes, used + small.size, 10)
    admit(application(documents=two_pages), small, room_for_small)
    no_room = UploadLimits(LIMITS.max_file_bytes, used + small.size - 1, 10)
    with pytest.raises(DocumentLimitReached):
        admit(application(documents=two_pages), small, no_room)


def test_the_same_file_of_the_same_kind_is_found_again():
    checked = check_file(pdf(), LIMITS)
    entry = new_document("app-1", "kartu_keluarga", checked, NOW)
    listed = application(documents=[entry])
    assert same_document(listed, "kartu_keluarga", checked) == entry
    assert same_document(listed, "buku_nikah", checked) is None
    assert same_document(listed, "kartu_keluarga", check_file(pdf("lain"), LIMITS)) is None


def test_the_listing_shows_no_content_nor_the_clients_file_name():
    entry = new_document("app-1", "kartu_keluarga", check_file(jpeg(), LIMITS), NOW)
    view = listing_view(entry, "en")
    assert view["kind_label"] == DOCUMENT_KINDS["kartu_keluarga"].label.en
    assert listing_view(entry, "id")["kind_label"] == str(DOCUMENT_KINDS["kartu_keluarga"].label)
    assert view["uploaded_at"] == "2025-06-02T03:04:05.678000+00:00"  # as BSON keeps it
    assert set(view) == {"document_id", "kind", "kind_label", "content_type", "size", "sha256",
                         "uploaded_at", "width", "height", "replaced_by"}
    assert file_name(entry) == f"kartu_keluarga-{entry['document_id'][:8]}.jpg"


def test_a_photo_is_labelled_as_a_photo_not_as_the_child_s():
    """A ``foto`` uploaded for a KTP-el was listed as "Pas foto anak
    berwarna" (outside audit S3); a KIA's missing photo still names the child."""
    entry = new_document("app-1", "foto", check_file(jpeg(), LIMITS), NOW)
    assert listing_view(entry, "id")["kind_label"] == "Pas foto berwarna"
    assert listing_view(entry, "en")["kind_label"] == "A colour photo"
    [photo] = [req for req in REQUIRED_DOCUMENTS["kia"] if req.name == "foto"]
    assert (str(photo.label), photo.label.en) == ("Pas foto anak berwarna",
                                                  "A colour photo of the child")


def test_an_upload_after_a_rejection_takes_the_place_of_that_kind_from_before_it():
    """Outside audit I: the document a rejection asks for again replaces its
    kind's documents from before the rejection (they count no more); one
    not rejected, or a kind uploaded since, replaces nothing."""
    before = datetime.datetime(2026, 12, 1, 9, tzinfo=datetime.timezone.utc)
    rejected_at = before + datetime.timedelta(hours=1)
    entries = [{"document_id": f"d{n}", "kind": kind, "size": 4 * 1024 * 1024,
                "uploaded_at": at} for n, (kind, at) in enumerate(
        [("kartu_keluarga", before), ("foto", before),
         ("kartu_keluarga", rejected_at + datetime.timedelta(minutes=5))])]
    application = {"status": "rejected", "documents": entries, "documents_count": 3,
                   "documents_bytes": 12 * 1024 * 1024,
                   "timeline": [{"status": "submitted", "at": before.isoformat()},
                                {"status": "rejected", "at": rejected_at.isoformat()}]}
    assert [e["document_id"] for e in uploads.replaced_by_upload(
        application, "kartu_keluarga")] == ["d0"]
    assert uploads.replaced_by_upload({**application, "documents_replaced": {"d0": "d2"}},
                                      "kartu_keluarga") == []
    assert uploads.replaced_by_upload({**application, "status": "submitted"},
                                      "kartu_keluarga") == []
    limits = uploads.UploadLimits(max_file_bytes=2 * 1024 * 1024,
                                  max_total_bytes=12 * 1024 * 1024, max_files=3)
    one = uploads.CheckedFile(b"x" * 10, "application/pdf", "0" * 64)
    with pytest.raises(uploads.DocumentLimitReached):
        uploads.admit(application, one, limits)
    uploads.admit(application, one, limits, uploads.replaced_by_upload(application,
                                                                       "kartu_keluarga"))
