"""Whether a photo decodes: intake refuses an upload that does not (while the
citizen can still send another), printing checks again before a card is
drawn (``services/printing/artefact.py``). One decoder for both: Pillow, as
pinned in requirements.txt.

Pillow decodes a JPEG cut short and given its end marker back without a
word: libjpeg only warns when a marker ends a scan early, fills the rest of
the picture grey, and Pillow neither shows its warnings nor has a strict mode
(python-pillow/Pillow#9106).
What it does refuse is a scan whose data runs out: so a single-scan JPEG is
decoded a second time from its scan data alone, its end marker replaced by a
few zero bytes (room for libjpeg's read-ahead, decoded as nothing but a
corner's worth of blocks), and must still come out whole. A progressive JPEG
(several scans, the whole file read before any line comes out) cannot be
checked so: one cut short without its end marker is refused, one given the
marker back is not.
"""

from __future__ import annotations

import io
import re

from PIL import ExifTags, Image, ImageOps

# a marker in a scan's data: 0xFF not followed by a stuffed 0x00 or a restart
_MARKER_IN_SCAN = re.compile(rb"\xff[^\x00\xd0-\xd7]")
_SOI, _EOI, _SOS, _TEM = 0xD8, 0xD9, 0xDA, 0x01
# more than libjpeg-turbo reads ahead of the bit it decodes (57 bits)
_READ_AHEAD = b"\x00" * 16
TURNED = range(2, 9)  # EXIF orientations other than "as stored" (1)


class PhotoUnreadable(ValueError):
    """The photo's bytes do not decode as an image: the card cannot be printed."""


def single_scan_end(photo: bytes) -> int | None:
    """Where the one scan's data of a JPEG ends (the offset of the marker
    after it); None for a JPEG of several scans, one without a scan, or any
    other file."""
    if photo[:2] != b"\xff\xd8":
        return None
    position, scans, end = 2, 0, None
    while position + 1 < len(photo) and photo[position] == 0xFF:
        marker = photo[position + 1]
        if marker == 0xFF:  # a fill byte before the marker
            position += 1
            continue
        if marker == _EOI:
            break
        if marker == _SOI or marker == _TEM or 0xD0 <= marker <= 0xD7:  # no length
            position += 2
            continue
        position += 2 + int.from_bytes(photo[position + 2:position + 4], "big")
        if marker == _SOS:
            scans += 1
            found = _MARKER_IN_SCAN.search(photo, position)
            end = position = found.start() if found else len(photo)
    return end if scans == 1 else None


def loaded(photo: bytes) -> Image.Image:
    """The decoded photo, or ``PhotoUnreadable``."""
    try:
        image = Image.open(io.BytesIO(photo))
        image.load()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise PhotoUnreadable() from None
    return image


def whole_photo(photo: bytes) -> Image.Image:
    """``photo`` decoded in full (fpdf2 embeds a JPEG's data as it is,
    undecoded: a scan of garbage would reach the card printer; a PNG without
    image data has a frame and no pixels; a JPEG cut short prints grey), or
    ``PhotoUnreadable``."""
    image = loaded(photo)
    end = single_scan_end(photo)
    if end is not None:
        loaded(photo[:end] + _READ_AHEAD).close()
    return image


def decoded_photo(photo: bytes) -> bytes:
    """``photo`` once it decodes in full (``whole_photo``), or ``PhotoUnreadable``."""
    whole_photo(photo).close()
    return photo


def upright_photo(photo: bytes) -> bytes:
    """``photo`` as the citizen saw it on the phone, for printing: a phone
    stores a portrait shot as a landscape frame with an EXIF orientation,
    which fpdf2 ignores. Only a turned photo is encoded again (in its own
    format); the upload itself is stored and served as it came."""
    with whole_photo(photo) as image:
        if image.getexif().get(ExifTags.Base.Orientation) not in TURNED:
            return photo
        buffer = io.BytesIO()
        ImageOps.exif_transpose(image).save(
            buffer, "PNG" if image.format == "PNG" else "JPEG", quality=95,
            icc_profile=image.info.get("icc_profile"))
        return buffer.getvalue()
