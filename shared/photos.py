"""Whether a photo decodes: intake refuses an upload that does not (while the
citizen can still send another), printing checks again before a card is
drawn (``services/printing/artefact.py``). One decoder for both: Pillow, as
pinned in requirements.txt."""

from __future__ import annotations

import io

from PIL import Image


class PhotoUnreadable(ValueError):
    """The photo's bytes do not decode as an image: the card cannot be printed."""


def decoded_photo(photo: bytes) -> bytes:
    """``photo`` once it decodes in full (fpdf2 embeds a JPEG's data as it is,
    undecoded: a scan of garbage would reach the card printer; a PNG without
    image data has a frame and no pixels), or ``PhotoUnreadable``."""
    try:
        with Image.open(io.BytesIO(photo)) as image:
            image.load()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise PhotoUnreadable() from None
    return photo
