"""A photo's pixels are bounded before it is decoded, through the real intake
service and database: a file of a few KB may declare a bitmap of hundreds of
MB, which intake would decode in full (a ``foto``) or an operator's viewer
would (a scan). Over the cap it is refused from its header, nothing stored."""

from __future__ import annotations

import io
import struct

import pytest
from PIL import Image

from tests.e2e import test_document_uploads
from tests.e2e.test_document_uploads import upload

# the fixtures of the upload tests: a new application, what GridFS holds
application, stored = test_document_uploads.application, test_document_uploads.stored

TOO_LARGE = {"id": "Gambar terlalu besar: lebih dari 25 megapiksel",
             "en": "The image is too large: over 25 megapixels"}


def encoded(image: Image.Image, kind: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, kind)
    return buffer.getvalue()


def jpeg_with_a_second_frame(width: int, height: int) -> bytes:
    """An 8 x 8 JPEG whose first frame header says so and a second one says
    ``width`` x ``height``: the upload's own reading of the header takes the
    first, Pillow the last (the size it would allocate)."""
    small = encoded(Image.new("RGB", (8, 8), "red"), "JPEG")
    start = small.index(b"\xff\xc0")
    frame = small[start:start + 2 + int.from_bytes(small[start + 2:start + 4], "big")]
    large = bytearray(frame)
    large[5:9] = struct.pack(">HH", height, width)
    return small[:start + len(frame)] + bytes(large) + small[start + len(frame):]


@pytest.mark.parametrize(("kind", "lang"), [("foto", "id"), ("kartu_keluarga", "en")])
def test_an_image_over_the_cap_is_refused_and_nothing_is_stored(system, application, stored,
                                                                  kind, lang):
    # one pixel row over the cap (uploads.MAX_IMAGE_PIXELS): a whole,
    # decodable PNG of 25 KB
    photo = encoded(Image.new("L", (5000, 5001)), "PNG")
    before = stored()
    response = upload(system, application, photo, name="foto.png", declared="image/png",
                      kind=kind, **{"Accept-Language": lang})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert list(error["fields"]) == ["file"]
    assert error["fields"]["file"][0].startswith(TOO_LARGE[lang])
    assert stored() == before
    # at the cap it is taken
    photo = encoded(Image.new("L", (5000, 5000)), "PNG")
    assert upload(system, application, photo, name="foto.png", declared="image/png",
                  kind=kind).status_code == 201


def test_a_photo_whose_decoder_would_read_it_larger_is_refused(system, application, stored):
    photo = jpeg_with_a_second_frame(6000, 6000)
    assert Image.open(io.BytesIO(photo)).size == (6000, 6000)
    before = stored()
    response = upload(system, application, photo, name="foto.jpg", kind="foto",
                      **{"Accept-Language": "en"})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["fields"]["file"][0].startswith(TOO_LARGE["en"])
    assert stored() == before
    # the citizen sends another photo, and it is taken
    photo = encoded(Image.new("RGB", (400, 600), "white"), "JPEG")
    assert upload(system, application, photo, name="foto.jpg", kind="foto").status_code == 201
