"""The print-ready PDF: the right size, the right text, a QR that decodes
from the rendered page to a token that verifies, a KIA's photo upright and
at what its area takes (outside audit: a 25-megapixel photo was embedded as
it came, decoded on printing's hub for each download)."""

import datetime
import io

import pypdfium2
import pypdfium2.raw as pdfium_c
import pytest
from PIL import Image

from services.printing import artefact, tokens
from services.printing.artefact import PrintedDocument
from shared.printable import as_printed
from tests.documents import BOTTOM, TOP, photo
from tests.pdf_checks import pdf_colour_at, pdf_image_boxes, pdf_pages, pdf_qr_codes, pdf_text

KEY = tokens.generate("test")
NIK = "3673045207900001"


def document(document_type: str, **extra) -> PrintedDocument:
    claims = tokens.claims_for(document_type, "KTP-EL/2026/0000042", "Siti Aminah",
                               datetime.date(2026, 11, 30), "k3Jd9sPq2LmZ0aBc")
    return PrintedDocument(document_type=document_type, document_number=claims["document_number"],
                           holder_name="Siti Aminah", issue_date=datetime.date(2026, 11, 30),
                           token=tokens.sign(claims, KEY), **extra)


@pytest.mark.parametrize("document_type", ["ktp_el", "kia"])
def test_a_card_is_id1_size_with_its_data_and_a_qr_that_verifies(document_type):
    doc = document(document_type, nik=NIK)
    content = artefact.render(doc)
    assert pdf_pages(content) == [(85.6, 54.0)]
    text = pdf_text(content)
    assert "Siti Aminah" in text and NIK in text and "KTP-EL/2026/0000042" in text
    assert artefact.TITLES[document_type] in text
    assert "30 November 2026" in text and "2026-11-30" not in text  # dates as people write them
    [scanned] = pdf_qr_codes(content)
    assert scanned == doc.token
    assert tokens.verify(scanned, tokens.parse_public_keys(tokens.public_key_setting(KEY)))[1][
        "holder_name"] == "Siti Aminah"


def test_a_ktp_el_marks_where_the_register_photo_goes():
    text = " ".join(pdf_text(artefact.render(document("ktp_el", nik=NIK))).split())
    assert "FOTO dari register nasional" in text


def test_a_kia_carries_the_uploaded_photo():
    buffer = io.BytesIO()
    Image.new("RGB", (300, 400), (200, 30, 30)).save(buffer, "JPEG")
    with_photo = artefact.render(document("kia", nik=NIK, photo=buffer.getvalue()))
    without = artefact.render(document("kia", nik=NIK))
    assert b"/Subtype /Image" in with_photo and b"/Subtype /Image" not in without
    assert "FOTO" not in pdf_text(with_photo)


def pdf_image_pixels(content: bytes) -> list[tuple[int, int]]:
    """The width and height in pixels of each image on the first page, as embedded."""
    page = pypdfium2.PdfDocument(content)[0]
    return [tuple(image.get_px_size())
            for image in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE])]


@pytest.mark.parametrize("size", [(600, 800), (2400, 3200)])
def test_a_kia_prints_a_phone_portrait_upright(size):
    # stored turned a quarter with EXIF orientation 6, as a phone saves a portrait shot
    content = artefact.render(document("kia", nik=NIK, photo=photo(*size, orientation=6)))
    x, y, width, height = artefact.CARD_PHOTO
    assert pdf_image_boxes(content) == [pytest.approx((x, y, x + width, y + height), abs=0.01)]
    for at, colour in ((y + height / 8, TOP), (y + height * 7 / 8, BOTTOM)):
        assert all(abs(a - b) < 60 for a, b in zip(pdf_colour_at(content, x + width / 2, at),
                                                   colour))
    [(embedded_width, embedded_height)] = pdf_image_pixels(content)
    assert embedded_width < embedded_height <= artefact.CARD_PHOTO_PIXELS


@pytest.mark.parametrize("kind", ["JPEG", "PNG"])
def test_a_kia_photo_is_embedded_at_what_its_area_takes_at_print_resolution(kind):
    # 3 megapixels: 9 times the pixels its area takes at PRINT_DPI
    content = artefact.render(document("kia", nik=NIK, photo=photo(1500, 2000, format=kind)))
    assert pdf_image_pixels(content) == [(496, artefact.CARD_PHOTO_PIXELS)]
    assert artefact.CARD_PHOTO_PIXELS == 661  # 28 mm at 600 dpi


@pytest.mark.parametrize("document_type", ["akta_kelahiran", "akta_kematian", "skpwni"])
def test_a_certificate_is_a4_without_the_nik(document_type):
    doc = document(document_type, details={"Tempat lahir": "Kota Serang"})
    content = artefact.render(doc)
    assert pdf_pages(content) == [(210.0, 297.0)]
    text = pdf_text(content)
    assert artefact.TITLES[document_type] in text and "Nomor: KTP-EL/2026/0000042" in text
    assert "Tempat lahir" in text and NIK not in text
    assert "Kota Serang, 30 November 2026" in text and "2026-11-30" not in text
    assert pdf_qr_codes(content) == [doc.token]


def test_the_same_issuance_renders_the_same_bytes():
    doc = document("ktp_el", nik=NIK)
    assert artefact.render(doc) == artefact.render(doc)


def test_a_name_outside_the_font_prints_its_base_letters():
    assert as_printed("Şiti Ağustina") == "Siti Agustina"
    content = artefact.render(PrintedDocument("akta_kelahiran", "AKL/1", "Şiti Ağustina",
                                              datetime.date(2026, 1, 2), "SDK1.x"))
    assert "Siti Agustina" in pdf_text(content)
