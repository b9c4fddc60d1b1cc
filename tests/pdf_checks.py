"""Open a rendered PDF as a reader would: its pages, its text (and where each
run of it is), its images, and the QR on it decoded from the page's pixels
(PDFium renders, ZXing decodes)."""

from __future__ import annotations

from itertools import combinations

import pypdfium2
import pypdfium2.raw as pdfium_c
import zxingcpp

MM = 25.4 / 72  # mm per PDF point


def pdf_pages(content: bytes) -> list[tuple[float, float]]:
    """Each page's size in mm."""
    document = pypdfium2.PdfDocument(content)
    return [(round(page.get_width() * 25.4 / 72, 1), round(page.get_height() * 25.4 / 72, 1))
            for page in document]


def pdf_text(content: bytes) -> str:
    document = pypdfium2.PdfDocument(content)
    return "\n".join(page.get_textpage().get_text_range() for page in document)


def on_page(page, left: float, bottom: float, right: float, top: float) -> tuple:
    """A PDF rectangle (points, origin bottom left) as (left, top, right,
    bottom) in mm from the page's top left corner."""
    height = page.get_height()
    return tuple(round(value * MM, 2) for value in (left, height - top, right, height - bottom))


def pdf_text_boxes(content: bytes) -> list[tuple[str, tuple]]:
    """Each run of text on the first page and its box (``on_page``), as
    PDFium places the glyphs: text drawn past the page's edge keeps its
    place off the page."""
    page = pypdfium2.PdfDocument(content)[0]
    text_page = page.get_textpage()
    boxes = []
    for index in range(text_page.count_rects()):
        rect = text_page.get_rect(index)
        boxes.append((text_page.get_text_bounded(*rect), on_page(page, *rect)))
    return boxes


def pdf_image_boxes(content: bytes) -> list[tuple]:
    """The box (``on_page``) of each image on the first page."""
    page = pypdfium2.PdfDocument(content)[0]
    return [on_page(page, *image.get_bounds())
            for image in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE])]


def overlap(a: tuple, b: tuple, slack: float = 0.05) -> bool:
    """Whether boxes (left, top, right, bottom) share more than ``slack`` mm each way."""
    return (a[0] < b[2] - slack and b[0] < a[2] - slack
            and a[1] < b[3] - slack and b[1] < a[3] - slack)


def layout_problems(content: bytes, values: list[str], page: tuple, clear: dict,
                    within: tuple = ()) -> list[str]:
    """What is wrong with where the text of ``content``'s first page is: a
    value of ``values`` not all there (line breaks aside), a run of text
    outside ``page`` (a box), over a box of ``clear`` (name -> box) or over
    another run. ``within``: texts meant to be inside a ``clear`` box."""
    squeezed = "".join(pdf_text(content).split())
    problems = [f"not printed in full: {value!r}" for value in values
                if "".join(value.split()) not in squeezed]
    runs = [(text.strip(), where) for text, where in pdf_text_boxes(content)
            if text.strip() and not any(text.strip() in meant for meant in within)]
    for text, where in runs:
        if not (page[0] <= where[0] and page[1] <= where[1]
                and where[2] <= page[2] and where[3] <= page[3]):
            problems.append(f"{text!r} at {where} leaves the page {page}")
        problems += [f"{text!r} at {where} is over the {name} at {keep_clear}"
                     for name, keep_clear in clear.items() if overlap(where, keep_clear)]
    problems += [f"{one!r} at {a} is over {other!r} at {b}"
                 for (one, a), (other, b) in combinations(runs, 2) if overlap(a, b)]
    return problems


def pdf_colour_at(content: bytes, x: float, y: float, dpi: int = 150) -> tuple:
    """The RGB colour the first page prints at (x, y) mm from its top left."""
    page = pypdfium2.PdfDocument(content)[0]
    pixels = page.render(scale=dpi / 72).to_pil().convert("RGB")
    return pixels.getpixel((round(x / 25.4 * dpi), round(y / 25.4 * dpi)))


def pdf_qr_codes(content: bytes, dpi: int = 300) -> list[str]:
    """The text of every QR code on the first page, as a scanner reads the print."""
    page = pypdfium2.PdfDocument(content)[0]
    pixels = page.render(scale=dpi / 72, grayscale=True).to_numpy()
    return [barcode.text for barcode in zxingcpp.read_barcodes(pixels)
            if barcode.format == zxingcpp.BarcodeFormat.QRCode]
