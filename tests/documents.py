"""Real (tiny) JPEG, PNG and PDF files for the upload tests, built here so the
tests need no image library and no binary fixtures; and photos as a camera
or phone saves them (``photo``), encoded by Pillow, the decoder under test."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

# upright, a portrait photo reads red on top, blue below
TOP, BOTTOM = (200, 30, 30), (20, 20, 120)


def jpeg(padding: int = 0) -> bytes:
    """An 8x8 grey baseline JPEG: every segment a decoder needs (quantisation
    and Huffman tables, frame, scan), ``padding`` bytes more in comments."""
    def segment(marker: int, payload: bytes) -> bytes:
        return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload

    comments = b""
    while padding > 0:
        size = min(padding, 65000)
        comments += segment(0xFE, b"x" * size)
        padding -= size
    one_code = bytes([1] + [0] * 15) + b"\x00"  # one Huffman code of length 1: symbol 0
    return (b"\xff\xd8"
            + segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
            + comments
            + segment(0xDB, b"\x00" + b"\x01" * 64)
            + segment(0xC0, b"\x08\x00\x08\x00\x08\x01\x01\x11\x00")
            + segment(0xC4, b"\x00" + one_code)  # DC: difference 0
            + segment(0xC4, b"\x10" + one_code)  # AC: end of block
            + segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
            + b"\x3f"  # DC "0", EOB "0", padded with ones
            + b"\xff\xd9")


def png(width: int = 1, height: int = 1, pixels: bool = True, idat: bool = True) -> bytes:
    """A grey PNG of ``width`` x ``height`` (``pixels=False``: only its header
    says so, as in a crafted file; ``idat=False``: not even an empty IDAT,
    45 bytes of IHDR and IEND)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height)) if pixels else b""
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + (chunk(b"IDAT", zlib.compress(rows)) if idat else b"")
            + chunk(b"IEND", b""))


def pdf(text: str = "Kartu Keluarga") -> bytes:
    """A one-page PDF with a cross-reference table, as a scanner writes one."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
               b" /Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return out


def photo(width: int = 600, height: int = 800, mode: str = "RGB", format: str = "JPEG",
          orientation: int | None = None, **options) -> bytes:
    """A photo of ``width`` x ``height`` as the citizen sees it: ``TOP`` above,
    ``BOTTOM`` below, with grain that a JPEG's scan spends its bytes on (a cut
    one misses part of the picture). ``orientation`` 6 stores it as a phone
    does a portrait shot: turned a quarter to the left, the EXIF saying so;
    ``options`` go to Pillow's encoder (``progressive``, ``quality``, ...)."""
    grain = Image.effect_noise((width, height), 40).convert("RGB")
    image = Image.new("RGB", (width, height), BOTTOM)
    image.paste(TOP, (0, 0, width, height // 2))
    image = Image.blend(image, grain, 0.15).convert(mode)
    if orientation == 6:  # shown turned a quarter to the right
        image = image.transpose(Image.Transpose.ROTATE_90)
        exif = Image.Exif()
        exif[0x0112] = 6
        options["exif"] = exif
    buffer = io.BytesIO()
    image.save(buffer, format, **options)
    return buffer.getvalue()
