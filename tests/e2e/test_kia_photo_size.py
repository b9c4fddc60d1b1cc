"""A KIA photo at intake's cap is printed at what the card's photo area takes,
through the real intake and printing (outside audit: a 5000 x 5000 JPEG was
embedded in the PDF as uploaded, decoded in full on printing's hub for each
download, and printing's memory grew with each download at once)."""

from __future__ import annotations

import io

from PIL import Image

from services.printing.artefact import CARD_PHOTO, CARD_PHOTO_PIXELS
from shared.clock import today_wib
from shared.photos import MAX_PHOTO_PIXELS
from tests.document_bodies import kia_body, nik_born, years_before
from tests.documents import BOTTOM, TOP
from tests.e2e.test_kia_photo import download, submit, upload_photo, verify
from tests.helpers import claim_job_for
from tests.pdf_checks import pdf_colour_at
from tests.unit.test_printing_artefact import pdf_image_pixels


def photo_at_the_cap() -> bytes:
    """A 25-megapixel JPEG, TOP above BOTTOM, small enough a file to upload."""
    side = int(MAX_PHOTO_PIXELS ** 0.5)
    image = Image.new("RGB", (side, side), BOTTOM)
    image.paste(TOP, (0, 0, side, side // 2))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def test_a_kia_photo_at_the_cap_is_printed_at_its_areas_print_resolution(system):
    body = kia_body(nik_born(years_before(today_wib(), 7)))
    application = submit(system, body)
    upload_photo(system, application, body, photo_at_the_cap())
    assert verify(system, application).status_code == 200
    printed = download(system, claim_job_for(system.url("printing"),
                                             application["application_id"]))
    assert printed.status_code == 200, printed.text
    assert pdf_image_pixels(printed.content) == [(CARD_PHOTO_PIXELS, CARD_PHOTO_PIXELS)]
    x, y, width, height = CARD_PHOTO
    # square, fitted to the area's width and centred in its height
    for at, colour in ((y + height / 2 - width / 4, TOP), (y + height / 2 + width / 4, BOTTOM)):
        assert all(abs(a - b) < 60 for a, b in zip(
            pdf_colour_at(printed.content, x + width / 2, at), colour))
