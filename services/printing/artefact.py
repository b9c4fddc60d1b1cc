"""The print-ready PDF of a document. Plain Python: bytes in, bytes out, no I/O.

Two layouts, by what the station prints on:
* cards (KTP-el, KIA): the card front at ID-1 size (85.6 x 54 mm), one page
  the card printer takes as is. A KTP-el's photo comes from the national
  register at the card printer: the layout only marks where it goes. A KIA's
  photo is the one uploaded at intake; a KIA without one (a child under 5)
  has no photo area. Whether a KIA must carry one is intake's to say
  (``api_documents.IntakeDocuments``): a photo that cannot be decoded is
  ``PhotoUnreadable`` (``shared.photos``, which intake's upload also
  checks), never a card with an empty box.
* certificates (Akta Kelahiran, Akta Kematian, SKPWNI): A4 portrait.
Each carries the QR with the signed token (``tokens``) and the document
number; the NIK is printed on the cards only, as on the real card, and never
goes into the QR.

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

from shared.photos import decoded_photo
from shared.printable import FONT_ENCODING, as_printed

CARDS = ("ktp_el", "kia")
TITLES = {
    "ktp_el": "KARTU TANDA PENDUDUK ELEKTRONIK",
    "kia": "KARTU IDENTITAS ANAK",
    "akta_kelahiran": "KUTIPAN AKTA KELAHIRAN",
    "akta_kematian": "KUTIPAN AKTA KEMATIAN",
    "skpwni": "SURAT KETERANGAN PINDAH WARGA NEGARA INDONESIA",
}
CARD_SIZE = (85.6, 54.0)  # ISO/IEC 7810 ID-1, mm
CARD_DETAIL_LINES = 4  # what fits between the name and the document number
CERTIFICATE_VALUE_WIDTH = 105  # mm, from the value column to the right margin
ISSUER = ("PEMERINTAH KOTA SERANG", "DINAS KEPENDUDUKAN DAN PENCATATAN SIPIL")
QUIET_ZONE = 4  # modules of white around the QR, as ISO 18004 asks


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
    pdf.cell(width, size * 0.45, as_printed(text), align=align)


def render_card(document: PrintedDocument) -> bytes:
    width, height = CARD_SIZE
    pdf = new_pdf(document, CARD_SIZE)
    text_at(pdf, 0, 2.5, "PROVINSI BANTEN - KOTA SERANG", 6.5, "B", width, "C")
    text_at(pdf, 0, 6.0, TITLES[document.document_type], 6, "B", width, "C")
    details = list(document.details.items())[:CARD_DETAIL_LINES]
    lines = [("NIK", document.nik or "-"), (document.holder_label, document.holder_name),
             *details, ("No. Dokumen", document.document_number),
             ("Diterbitkan", document.issue_date.isoformat())]
    y = 11.0
    for index, (label, value) in enumerate(lines):
        text_at(pdf, 3, y, label, 5.5)
        text_at(pdf, 19, y, f": {value}", 5.5, "B" if index < 2 else "")
        y += 3.6
    # the photo: right side, 3 x 4 proportion
    photo_x, photo_y, photo_w, photo_h = width - 24, 10.0, 21.0, 28.0
    if document.photo is not None:
        pdf.image(io.BytesIO(decoded_photo(document.photo)), photo_x, photo_y, photo_w,
                  photo_h, keep_aspect_ratio=True)
    elif document.document_type == "ktp_el":  # a KIA without a photo has no photo area
        pdf.set_draw_color(120, 120, 120)
        pdf.set_dash_pattern(dash=1, gap=0.8)
        pdf.rect(photo_x, photo_y, photo_w, photo_h)
        pdf.set_dash_pattern()
        pdf.set_font("Helvetica", "", 4.5)
        pdf.set_xy(photo_x + 1, photo_y + photo_h / 2 - 3)
        pdf.multi_cell(photo_w - 2, 2.2, "FOTO dari register nasional", align="C")
    draw_qr(pdf, document.token, 3, height - 17, 15.5)
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
    lines = [(document.holder_label, document.holder_name), *document.details.items()]
    y = 72.0
    for index, (label, value) in enumerate(lines):
        text_at(pdf, 30, y, label, 11)
        # a long value (a street, a place of death) wraps in its column
        pdf.set_font("Helvetica", "B" if index == 0 else "", 11)
        pdf.set_xy(80, y)
        pdf.multi_cell(CERTIFICATE_VALUE_WIDTH, 5, as_printed(f": {value}"), align="L")
        y = max(y + 8, pdf.get_y() + 3)
    text_at(pdf, 120, 200, f"Kota Serang, {document.issue_date.isoformat()}", 11)
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
