"""Open a rendered PDF as a reader would: its pages, its text, and the QR on
it decoded from the page's pixels (PDFium renders, ZXing decodes)."""

from __future__ import annotations

import pypdfium2
import zxingcpp


def pdf_pages(content: bytes) -> list[tuple[float, float]]:
    """Each page's size in mm."""
    document = pypdfium2.PdfDocument(content)
    return [(round(page.get_width() * 25.4 / 72, 1), round(page.get_height() * 25.4 / 72, 1))
            for page in document]


def pdf_text(content: bytes) -> str:
    document = pypdfium2.PdfDocument(content)
    return "\n".join(page.get_textpage().get_text_range() for page in document)


def pdf_qr_codes(content: bytes, dpi: int = 300) -> list[str]:
    """The text of every QR code on the first page, as a scanner reads the print."""
    page = pypdfium2.PdfDocument(content)[0]
    pixels = page.render(scale=dpi / 72, grayscale=True).to_numpy()
    return [barcode.text for barcode in zxingcpp.read_barcodes(pixels)
            if barcode.format == zxingcpp.BarcodeFormat.QRCode]
