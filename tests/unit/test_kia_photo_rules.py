"""A KIA from age 5 carries the photo uploaded at intake: the rule that
decides it is the requirements table's, read from what the application
stored at submission (outside audit: a KIA verified and printed with an
empty photo box)."""

import io

import pytest
from PIL import Image

from services.intake import domain
from services.intake.exceptions import PhotoNotUploaded
from services.intake.requirements import photos_not_uploaded, required_photos
from shared.photos import PhotoUnreadable, decoded_photo
from tests.documents import jpeg, png


def kia(required: list[str], uploaded: list[str] = (), status: str = "submitted") -> dict:
    return {"_id": "app-1", "document_type": "kia", "status": status,
            "details": {"child_nik": "3673040805150002"}, "required_documents": required,
            "documents": [{"kind": kind, "document_id": kind} for kind in uploaded]}


FROM_5 = ["akta_kelahiran", "kartu_keluarga", "ktp_el", "foto"]


def test_a_photo_declared_but_not_uploaded_is_missing():
    assert [req.name for req in photos_not_uploaded(kia(FROM_5))] == ["foto"]
    # scans declared and not uploaded (KK, akta) are the operator's to judge
    assert photos_not_uploaded(kia(FROM_5, ["foto"])) == []


def test_under_5_and_other_documents_need_no_photo():
    assert required_photos(kia(FROM_5[:3])) == []
    assert required_photos({"document_type": "ktp_el", "required_documents": []}) == []
    assert photos_not_uploaded({"document_type": "akta_kematian",
                                "required_documents": ["surat_kematian", "kartu_keluarga"]}) == []


def test_verify_refuses_a_kia_without_its_photo_naming_the_kind():
    with pytest.raises(PhotoNotUploaded) as refused:
        domain.verify(kia(FROM_5), "op-1")
    assert refused.value.code == "photo_not_uploaded" and refused.value.status == 409
    [message] = refused.value.fields["documents.foto"]
    assert (message, message.en) == ("Belum diunggah: Pas foto anak berwarna.",
                                     "Not uploaded: A colour photo of the child.")


def test_a_wrong_status_is_said_before_a_missing_photo():
    with pytest.raises(domain.WrongStatus):
        domain.verify(kia(FROM_5, status="verified"), "op-1")


def test_a_photo_that_does_not_decode_is_unreadable():
    buffer = io.BytesIO()
    Image.new("RGB", (30, 40), (200, 30, 30)).save(buffer, "JPEG")
    assert decoded_photo(buffer.getvalue()) == buffer.getvalue()
    assert decoded_photo(png(30, 40)) == png(30, 40)
    for bad in (png(30, 40, pixels=False), jpeg()[:40] + b"\xff\xd9", b"not an image"):
        with pytest.raises(PhotoUnreadable):
            decoded_photo(bad)
