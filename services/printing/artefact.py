"""The print-ready PDF of a document. Plain Python: bytes in, bytes out, no I/O.

Two layouts, by what the station prints on:
* cards (KTP-el, KIA): the card front at ID-1 size (85.6 x 54 mm), one page
  the card printer takes as is. A KTP-el's photo comes from the national
  register at the card printer: the layout only marks where it goes. A KIA's
  photo is the one uploaded at intake; a KIA without one (a child under 5)
  has no photo area. Whether a KIA must carry one is intake's to say
  (``api_documents.IntakeDocuments``): a photo that cannot be decoded is
  ``PhotoUnreadable`` (``shared.photos``, which intake's upload also
  checks), never a card with an empty box. The photo is embedded as the card
  prints it, scaled to its area (``card_photo``): not the upload's megapixels.
* certificates (Akta Kelahiran, Akta Kematian, SKPWNI): A4 portrait.
Each carries the QR with the signed token (``tokens``) and the document
number; the NIK is printed on the cards only, as on the real card, and never
goes into the QR.

Each document's data are rows of a label and a value (``draw_rows``), every
value printed in full in its block: on a card left of the photo and above
the QR, on a certificate above the signature. A value too long for its line
is wrapped (on a card, set smaller first); rows too many for the block are
all set smaller - never cut off at the card's edge or printed over the photo.

fpdf2's core fonts speak Windows-1252: what they print for a character
outside it (a letter's base form, ``?`` where there is none) is
``shared.printable``, by which intake refuses a name that would print a ``?``.
The QR is drawn as vector squares from segno's matrix, so it prints sharp at
any printer resolution.
"""

from __future__ import annotations

import datetime
import io
from dataclasses import dataclass, field

import segno
from fpdf import FPDF

from shared.photos import card_photo
from shared.printable import FONT_ENCODING, as_printed

from .printed_details import day

CARDS = ("ktp_el", "kia")
TITLES = {
    "ktp_el": "KARTU TANDA PENDUDUK ELEKTRONIK",
    "kia": "KARTU IDENTITAS ANAK",
    "akta_kelahiran": "KUTIPAN AKTA KELAHIRAN",
    "akta_kematian": "KUTIPAN AKTA KEMATIAN",
    "skpwni": "SURAT KETERANGAN PINDAH WARGA NEGARA INDONESIA",
}
CARD_SIZE = (85.6, 54.0)  # ISO/IEC 7810 ID-1, mm
CARD_DETAIL_LINES = 4  # details a card shows at most (a KIA has 3)
CARD_PHOTO = (CARD_SIZE[0] - 24, 10.0, 21.0, 28.0)  # x, y, width, height: right side, 3 x 4
CARD_QR = (3.0, CARD_SIZE[1] - 17, 15.5)  # x, y, size
PRINT_DPI = 600  # the most a card printer resolves (dye sublimation prints at 300)
# the photo's long side, in pixels, at most: what its area takes at PRINT_DPI
CARD_PHOTO_PIXELS = round(max(CARD_PHOTO[2:]) / 25.4 * PRINT_DPI)
LINE = 0.45  # mm of line per pt of font size
ISSUER = ("PEMERINTAH KOTA SERANG", "DINAS KEPENDUDUKAN DAN PENCATATAN SIPIL")
QUIET_ZONE = 4  # modules of white around the QR, as ISO 18004 asks


@dataclass(frozen=True)
class Block:
    """Where a document's rows (label, colon, value) go, and at what sizes."""

    box: tuple[float, float, float, float]  # left, top, right, bottom (mm)
    colon_x: float
    value_x: float
    size: float  # pt
    smallest: float  # a value too long for its line shrinks down to this, then wraps
    last_resort: float  # all rows, when the wrapped ones make the block too tall
    gap: float  # mm between rows per pt of size


# left of the photo, above the QR; 3.6 mm from row to row at 5.5 pt
CARD_BLOCK = Block((3.0, 11.0, CARD_PHOTO[0] - 1, CARD_QR[1] - 0.5), 19.0, 20.2, 5.5, 4.5,
                   3.5, 0.2045)
# between the number and the signature; a long value wraps at the full size
CERTIFICATE_BLOCK = Block((30.0, 72.0, 185.0, 197.0), 80.0, 82.5, 11, 11, 7, 3 / 11)


@dataclass(frozen=True)
class PrintedDocument:
    """What goes on the paper (or card) for one issuance."""

    document_type: str
    document_number: str
    holder_name: str
    issue_date: datetime.date
    token: str  # what the QR holds
    nik: str | None = None  # printed on cards only
    details: dict = field(default_factory=dict)  # label -> value lines, when the job has them
    holder_label: str = "Nama"  # what the holder's line is called (``printed_details``)
    statement: str | None = None  # a certificate's opening sentence (``printed_details``)
    photo: bytes | None = None  # a KIA photo (JPEG/PNG) from intake


def qr_matrix(token: str) -> tuple:
    """The QR's modules (rows of 0/1), without the quiet zone."""
    return segno.make_qr(token, error="m", boost_error=False).matrix


def draw_qr(pdf: FPDF, token: str, x: float, y: float, size: float) -> None:
    """The QR, quiet zone included, in a ``size`` mm square at (x, y)."""
    matrix = qr_matrix(token)
    modules = len(matrix) + 2 * QUIET_ZONE
    unit = size / modules
    pdf.set_fill_color(255, 255, 255)
    pdf.rect(x, y, size, size, style="F")
    pdf.set_fill_color(0, 0, 0)
    for row_index, row in enumerate(matrix):
        column = 0
        while column < len(row):
            if not row[column]:
                column += 1
                continue
            start = column
            while column < len(row) and row[column]:
                column += 1
            # one rectangle per run of dark modules: fewer objects, no hairline gaps
            pdf.rect(x + (QUIET_ZONE + start) * unit, y + (QUIET_ZONE + row_index) * unit,
                     (column - start) * unit, unit, style="F")


def new_pdf(document: PrintedDocument, size) -> FPDF:
    pdf = FPDF(unit="mm", format=size)
    # the font is declared WinAnsiEncoding; fpdf2 would encode its text as
    # Latin-1 and fail on the Windows-1252 letters Latin-1 lacks (Š, Œ, ž)
    pdf.core_fonts_encoding = FONT_ENCODING
    pdf.set_auto_page_break(False)
    pdf.set_margins(0, 0, 0)
    pdf.set_title(as_printed(f"{TITLES[document.document_type]} {document.document_number}"))
    pdf.set_creator("Smartdukcapil printing")
    # the same issuance renders to the same bytes, whenever it is downloaded
    pdf.set_creation_date(datetime.datetime.combine(document.issue_date, datetime.time(),
                                                    datetime.timezone.utc))
    pdf.add_page()
    return pdf


def text_at(pdf: FPDF, x: float, y: float, text: str, size: float, style: str = "",
            width: float = 0, align: str = "L") -> None:
    pdf.set_font("Helvetica", style, size)
    pdf.set_xy(x, y)
    pdf.cell(width, size * LINE, as_printed(text), align=align)


def sizes(largest: float, smallest: float) -> list[float]:
    """Font sizes from ``largest`` down to ``smallest``, a quarter point apart."""
    return [largest - step / 4 for step in range(int((largest - smallest) * 4) + 1)]


def fitted(pdf: FPDF, text: str, style: str, width: float, largest: float,
           smallest: float) -> tuple[float, list[str]]:
    """The size and lines ``text`` prints in within ``width`` mm: one line at
    the largest size from ``largest`` down to ``smallest`` that fits, else
    lines wrapped at ``smallest`` (a word longer than a line is broken)."""
    for size in sizes(largest, smallest):
        pdf.set_font("Helvetica", style, size)
        if pdf.get_string_width(text) + 2 * pdf.c_margin <= width:
            return size, [text]
    # fpdf2 hands the lines back as it writes them, in the font's bytes read
    # as Latin-1: Š, Œ and ’ would come back as C1 controls and print ``?``
    lines = pdf.multi_cell(width, 1, text, dry_run=True, output="LINES")
    return smallest, [line.encode("latin-1").decode(FONT_ENCODING) for line in lines]


class DoesNotFit(ValueError):
    """A document's rows that do not fit its page at the smallest size."""


@dataclass(frozen=True)
class Row:
    """One row of a document's data, as printed: a label and a value, each
    over one or more lines at the size it fits in."""

    label_size: float
    label: list[str]
    value_size: float
    value: list[str]
    style: str

    @property
    def height(self) -> float:
        return max(self.label_size * len(self.label), self.value_size * len(self.value)) * LINE


def laid_out(pdf: FPDF, block: Block,
             lines: list[tuple[str, str, str]]) -> tuple[float, list[Row]]:
    """The rows of (label, value, style) ``lines`` at the largest size at
    which all of them fit in ``block``: a value too long for its line shrinks
    to the block's smallest size, then wraps; when the rows are still too
    tall, all of them get smaller. What does not fit even then is an error,
    never a document with a line cut off or printed over (the longest values
    intake takes fit: tests/unit/test_document_layout.py)."""
    left, top, right, bottom = block.box
    for size in sizes(block.size, block.last_resort):
        smallest = min(size, block.smallest)
        rows = [Row(*fitted(pdf, label, "", block.colon_x - left, size, smallest),
                    *fitted(pdf, value, style, right - block.value_x, size, smallest), style)
                for label, value, style in lines]
        if sum(row.height for row in rows) + (len(rows) - 1) * size * block.gap <= bottom - top:
            return size, rows
    raise DoesNotFit(f"the text of {pdf.title!r} does not fit on its page")


def draw_rows(pdf: FPDF, block: Block, lines: list[tuple[str, str, str]]) -> None:
    """(label, value, style) ``lines`` in ``block``, as ``laid_out``."""
    size, rows = laid_out(pdf, block, [(as_printed(label), as_printed(value), style)
                                       for label, value, style in lines])
    y = block.box[1]
    for row in rows:
        first = max(row.label_size, row.value_size) * LINE  # each centred on the first line
        for x, text_size, texts, style in ((block.box[0], row.label_size, row.label, ""),
                                           (block.colon_x, row.label_size, [":"], ""),
                                           (block.value_x, row.value_size, row.value, row.style)):
            line = text_size * LINE
            for index, text in enumerate(texts):
                text_at(pdf, x, y + (first - line) / 2 + index * line, text, text_size, style)
        y += row.height + size * block.gap


def render_card(document: PrintedDocument) -> bytes:
    width, height = CARD_SIZE
    pdf = new_pdf(document, CARD_SIZE)
    text_at(pdf, 0, 2.5, "PROVINSI BANTEN - KOTA SERANG", 6.5, "B", width, "C")
    text_at(pdf, 0, 6.0, TITLES[document.document_type], 6, "B", width, "C")
    details = list(document.details.items())[:CARD_DETAIL_LINES]
    lines = [("NIK", document.nik or "-", "B"), (document.holder_label, document.holder_name, "B"),
             *((label, value, "") for label, value in details),
             ("No. Dokumen", document.document_number, ""),
             ("Diterbitkan", day(document.issue_date.isoformat()), "")]
    draw_rows(pdf, CARD_BLOCK, lines)
    photo_x, photo_y, photo_w, photo_h = CARD_PHOTO
    if document.photo is not None:
        # prepared off the hub by a download (``api_documents``): then only
        # checked here, a small decode
        pdf.image(io.BytesIO(card_photo(document.photo, CARD_PHOTO_PIXELS)), photo_x, photo_y,
                  photo_w, photo_h, keep_aspect_ratio=True)
    elif document.document_type == "ktp_el":  # a KIA without a photo has no photo area
        pdf.set_draw_color(120, 120, 120)
        pdf.set_dash_pattern(dash=1, gap=0.8)
        pdf.rect(photo_x, photo_y, photo_w, photo_h)
        pdf.set_dash_pattern()
        pdf.set_font("Helvetica", "", 4.5)
        pdf.set_xy(photo_x + 1, photo_y + photo_h / 2 - 3)
        pdf.multi_cell(photo_w - 2, 2.2, "FOTO dari register nasional", align="C")
    draw_qr(pdf, document.token, *CARD_QR)
    text_at(pdf, 20, height - 5, "Verifikasi: pindai kode QR", 4.5)
    return bytes(pdf.output())


def render_certificate(document: PrintedDocument) -> bytes:
    pdf = new_pdf(document, "A4")
    page_width = 210
    text_at(pdf, 0, 20, ISSUER[0], 11, "B", page_width, "C")
    text_at(pdf, 0, 26, ISSUER[1], 11, "B", page_width, "C")
    pdf.set_line_width(0.6)
    pdf.line(25, 34, page_width - 25, 34)
    text_at(pdf, 0, 45, TITLES[document.document_type], 15, "B", page_width, "C")
    text_at(pdf, 0, 54, f"Nomor: {document.document_number}", 11, "", page_width, "C")
    if document.statement:  # between the number and the rows
        text_at(pdf, CERTIFICATE_BLOCK.box[0], 63, document.statement, 11)
    draw_rows(pdf, CERTIFICATE_BLOCK, [(document.holder_label, document.holder_name, "B"),
                                       *((label, value, "") for label, value in
                                         document.details.items())])
    text_at(pdf, 120, 200, f"Kota Serang, {day(document.issue_date.isoformat())}", 11)
    text_at(pdf, 120, 207, "Kepala Dinas Kependudukan", 11)
    text_at(pdf, 120, 213, "dan Pencatatan Sipil", 11)
    draw_qr(pdf, document.token, 25, 235, 38)
    text_at(pdf, 68, 250, "Keaslian dokumen ini dapat diverifikasi", 9)
    text_at(pdf, 68, 255, "dengan memindai kode QR (tanda tangan elektronik Dinas).", 9)
    return bytes(pdf.output())


def render(document: PrintedDocument) -> bytes:
    """The PDF for ``document`` in its document type's layout."""
    if document.document_type not in TITLES:
        raise ValueError(f"no layout for {document.document_type!r}")
    if document.document_type in CARDS:
        return render_card(document)
    return render_certificate(document)
