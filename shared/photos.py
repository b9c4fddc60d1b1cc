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

A decoded photo is its whole bitmap in memory (up to 4 bytes a pixel: 100 MB
at 25 megapixels), and Pillow takes about 1 s per 40 megapixels of it here,
in C, holding no lock Python needs. So a caller can bound it in pixels, read
from the header Pillow parses before it decodes a byte (``max_pixels``), and
a service run by an eventlet hub decodes ``off_the_hub``: in a native thread
while the hub answers other requests, a few at once.

A card prints its photo in an area of a few centimetres (``card_photo``): a
photo at intake's cap, embedded as it came, made each download decode 25
megapixels on printing's hub and carry them in the PDF.
"""

from __future__ import annotations

import io
import logging
import re

from eventlet import tpool
from eventlet.semaphore import Semaphore
from PIL import ExifTags, Image, ImageOps

# a marker in a scan's data: 0xFF not followed by a stuffed 0x00 or a restart
_MARKER_IN_SCAN = re.compile(rb"\xff[^\x00\xd0-\xd7]")
_SOI, _EOI, _SOS, _TEM = 0xD8, 0xD9, 0xDA, 0x01
# more than libjpeg-turbo reads ahead of the bit it decodes (57 bits)
_READ_AHEAD = b"\x00" * 16
TURNED = range(2, 9)  # EXIF orientations other than "as stored" (1)
# the most pixels a photo may have: intake refuses an upload over it, and a
# card prints none over it (one stored before the cap holds its print job)
MAX_PHOTO_PIXELS = 25_000_000
CARD_PHOTO_QUALITY = 90  # a photo scaled for a card is encoded once, as a JPEG
# decodes at once in a process (off_the_hub): each holds one bitmap; more
# only share the same cores (2 here) and hold more memory meanwhile
DECODES_AT_ONCE = 2
_decoding = Semaphore(DECODES_AT_ONCE)
# and as many threads in eventlet's pool, which only off_the_hub uses: glibc
# gives each thread a malloc arena of its own and keeps a freed bitmap there,
# so each thread that ever decoded holds ~100 MB (with the pool's default 20
# threads intake grew to 1.4 GB over 20 uploads at the cap, 4 at once)
tpool.set_num_threads(DECODES_AT_ONCE)
# a native thread must not wait on eventlet's green locks, which logging's
# handlers hold once monkey-patched: Pillow's DEBUG lines (a PNG's every
# chunk) logged from off_the_hub's threads under LOG_LEVEL=DEBUG hung intake
# at four concurrent uploads ("Cannot switch to a different thread")
logging.getLogger("PIL").setLevel(logging.INFO)


class PhotoUnreadable(ValueError):
    """The photo's bytes do not decode as an image: the card cannot be printed."""


class PhotoTooLarge(PhotoUnreadable):
    """The photo's header declares more pixels than the caller decodes (not
    decoded either: for a card, unreadable as any other)."""


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


def loaded(photo: bytes, max_pixels: int | None = None,
           at_least: int | None = None) -> Image.Image:
    """The decoded photo, or ``PhotoUnreadable``; ``PhotoTooLarge`` when
    Pillow's own reading of the header (the size it would allocate, which
    may differ from another parser's: a JPEG with a second frame header)
    declares more than ``max_pixels``, before any decoding. Pillow's own
    bomb check (an error past twice its MAX_IMAGE_PIXELS, ~179 megapixels,
    a mere warning between) is the bound without ``max_pixels``.
    ``at_least``: a JPEG may be decoded scaled down (1/2 to 1/8, libjpeg's
    DCT scaling: every bit of its scans still read, a scan cut short still
    refused) while each side keeps at least that many pixels; any other
    format is decoded in full."""
    try:
        image = Image.open(io.BytesIO(photo))
    except Image.DecompressionBombError:
        raise PhotoTooLarge() from None
    except (OSError, ValueError, SyntaxError):
        raise PhotoUnreadable() from None
    if max_pixels is not None and image.width * image.height > max_pixels:
        image.close()
        raise PhotoTooLarge()
    if at_least is not None:
        image.draft(image.mode, (at_least, at_least))
    try:
        image.load()
    except (OSError, ValueError, SyntaxError):
        raise PhotoUnreadable() from None
    return image


def whole_photo(photo: bytes, max_pixels: int | None = None,
                at_least: int | None = None) -> Image.Image:
    """``photo`` decoded in full (fpdf2 embeds a JPEG's data as it is,
    undecoded: a scan of garbage would reach the card printer; a PNG without
    image data has a frame and no pixels; a JPEG cut short prints grey), or
    ``PhotoUnreadable`` / ``PhotoTooLarge`` (``loaded``; a JPEG scaled down
    ``at_least``). The scan is checked first and let go: one bitmap in
    memory at a time."""
    end = single_scan_end(photo)
    if end is not None:
        loaded(photo[:end] + _READ_AHEAD, max_pixels, at_least).close()
    return loaded(photo, max_pixels, at_least)


def decoded_photo(photo: bytes, max_pixels: int | None = None) -> bytes:
    """``photo`` once it decodes in full (``whole_photo``), or ``PhotoUnreadable``
    / ``PhotoTooLarge``."""
    whole_photo(photo, max_pixels).close()
    return photo


def off_the_hub(decode, photo: bytes, *args):
    """``decode(photo, *args)`` in a native thread of eventlet's pool, at
    most DECODES_AT_ONCE at once (the others wait, green): the hub answers
    other requests meanwhile (a 100-megapixel PNG decoded on it held every
    request of the process for 1-2 s), and the process holds at most
    DECODES_AT_ONCE bitmaps. Exceptions come back as ``decode`` raised them.
    ``decode`` must take no green lock (log nothing): it runs outside the hub."""
    with _decoding:
        return tpool.execute(decode, photo, *args)


def card_photo(photo: bytes, long_side: int) -> bytes:
    """``photo`` as a card prints it: whole (``whole_photo``, at most
    MAX_PHOTO_PIXELS, else ``PhotoUnreadable`` / ``PhotoTooLarge``), at most
    ``long_side`` pixels on its long side (what the card's photo area takes
    at print resolution) and the way up the citizen saw it (a phone stores a
    portrait shot as a landscape frame with an EXIF orientation, which fpdf2
    ignores), encoded once: a JPEG, a PNG if it has transparency. The upload
    itself is stored and served as it came.
    A photo already upright and that small comes back as it is, so one
    prepared before (``off_the_hub``) costs its renderer a small decode only.
    A JPEG is decoded scaled down already (``loaded``): a 25-megapixel one
    is 1.5 megapixels in memory; other formats are scaled before they are
    turned or encoded, one large bitmap at a time."""
    # scaled while decoded only to more than long_side: a photo that comes
    # out no larger was decoded as it came
    with whole_photo(photo, MAX_PHOTO_PIXELS, long_side + 1) as image:
        turned = image.getexif().get(ExifTags.Base.Orientation) in TURNED
        if not turned and max(image.size) <= long_side:
            return photo
        transparent = image.has_transparency_data
        if image.mode not in ("L", "RGB", "CMYK"):  # a palette scales only by nearest pixel
            image = image.convert("RGBA" if transparent else "RGB")
        image.thumbnail((long_side, long_side), Image.Resampling.LANCZOS)  # in place
        with image, ImageOps.exif_transpose(image) as upright:
            buffer = io.BytesIO()
            upright.save(buffer, "PNG" if transparent else "JPEG", quality=CARD_PHOTO_QUALITY,
                         icc_profile=image.info.get("icc_profile"))
            return buffer.getvalue()
