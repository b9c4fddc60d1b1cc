"""A KIA photo as its card prints it (``shared.photos.card_photo``): whole,
upright, no larger than the card's photo area takes at print resolution, and
encoded once (outside audit: a 25-megapixel upload was embedded in the PDF as
it came, decoded in full on printing's hub for each download)."""

import io

import pytest
from PIL import Image

from shared.photos import MAX_PHOTO_PIXELS, PhotoTooLarge, PhotoUnreadable, card_photo
from tests.documents import BOTTOM, TOP, photo, png
from tests.unit.test_photos import END, WHOLE

LONG_SIDE = 200


def opened(content: bytes) -> tuple:
    """The format, mode, size and colours near the top and the bottom."""
    with Image.open(io.BytesIO(content)) as image:
        width, height = image.size
        rgb = image.convert("RGB")
        return (image.format, image.mode, image.size, rgb.getpixel((width // 2, height // 8)),
                rgb.getpixel((width // 2, height * 7 // 8)))


def near(colour: tuple, expected: tuple) -> bool:
    return all(abs(a - b) < 60 for a, b in zip(colour, expected))


@pytest.mark.parametrize("content", [photo(150, 200), photo(200, 150, format="PNG"),
                                     photo(30, 40, mode="RGBA", format="PNG"), png(30, 40)])
def test_a_small_upright_photo_comes_back_as_it_is(content):
    assert card_photo(content, LONG_SIDE) is content


def test_a_large_photo_is_scaled_to_the_long_side_as_a_jpeg_once():
    prepared = card_photo(photo(600, 800, format="PNG"), LONG_SIDE)
    kind, mode, size, top, bottom = opened(prepared)
    assert (kind, mode, size) == ("JPEG", "RGB", (150, LONG_SIDE))
    assert near(top, TOP) and near(bottom, BOTTOM)
    assert card_photo(prepared, LONG_SIDE) is prepared  # the renderer's check: as it is


def test_a_phone_portrait_is_turned_upright_and_scaled():
    stored = photo(600, 800, orientation=6)  # stored 800 x 600, as a phone saves it
    kind, _, size, top, bottom = opened(card_photo(stored, LONG_SIDE))
    assert (kind, size) == ("JPEG", (150, LONG_SIDE)) and near(top, TOP) and near(bottom, BOTTOM)
    # small already: turned only
    assert opened(card_photo(photo(60, 80, orientation=6), LONG_SIDE))[2] == (60, 80)


@pytest.mark.parametrize(("mode", "kept"), [("RGBA", ("PNG", "RGBA")), ("P", ("JPEG", "RGB")),
                                            ("CMYK", ("JPEG", "CMYK")), ("L", ("JPEG", "L"))])
def test_a_photo_keeps_its_transparency_and_colours(mode, kept):
    content = photo(300, 400, mode=mode, format="JPEG" if mode == "CMYK" else "PNG")
    kind, got, size, top, bottom = opened(card_photo(content, LONG_SIDE))
    assert (kind, got, size) == (*kept, (150, LONG_SIDE))
    if mode in ("RGBA", "P"):
        assert near(top, TOP) and near(bottom, BOTTOM)


def test_a_photo_over_the_cap_or_unreadable_is_not_prepared():
    # refused from its header: the 25 MB of pixels it declares are not there
    with pytest.raises(PhotoTooLarge):
        card_photo(png(5000, MAX_PHOTO_PIXELS // 5000 + 1, pixels=False), LONG_SIDE)
    whole = photo(600, 800)
    with pytest.raises(PhotoUnreadable):
        card_photo(whole[:len(whole) // 2] + b"\xff\xd9", LONG_SIDE)


@pytest.mark.parametrize("kept", [0.3, 0.5, 0.9, 0.99])
@pytest.mark.parametrize("kind", ["baseline", "greyscale", "CMYK", "4:4:4, restart markers"])
def test_a_jpeg_cut_short_is_unreadable_though_decoded_scaled_down(kind, kept):
    whole = WHOLE[kind]  # 600 x 800: decoded at a quarter of that for 100 pixels
    assert opened(card_photo(whole, 100))[2] == (75, 100)
    cut = whole[:int(len(whole) * kept)]
    for sent in (cut, cut + END):
        with pytest.raises(PhotoUnreadable):
            card_photo(sent, 100)


def test_a_photo_twice_the_long_side_is_scaled_not_kept():
    # decoded at half its size it has the long side exactly: still not the upload
    content = photo(2 * LONG_SIDE, 2 * LONG_SIDE)
    assert opened(card_photo(content, LONG_SIDE))[2] == (LONG_SIDE, LONG_SIDE)
    assert card_photo(content, LONG_SIDE) != content
