"""The avatar pipeline without HTTP: every pixel mode comes out as a clean RGB(A) PNG."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from devgen.kit.errors import PayloadTooLarge
from devgen.services.profile.images import AvatarLimits, process_avatar
from tests.services.profile.support import png_bomb

LIMITS = AvatarLimits(max_bytes=1024 * 1024, max_pixels=4096 * 4096, max_side=256)


def _encoded(image: Image.Image, fmt: str, **save: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **save)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("fmt", "mode", "expected"),
    [
        ("PNG", "1", "RGB"),
        ("PNG", "L", "RGB"),
        ("PNG", "LA", "RGBA"),
        ("PNG", "I;16", "RGB"),
        ("PNG", "RGBA", "RGBA"),
        ("JPEG", "CMYK", "RGB"),
        ("JPEG", "L", "RGB"),
        ("WEBP", "RGBA", "RGBA"),
    ],
)
def test_every_pixel_mode_becomes_rgb_or_rgba(fmt, mode, expected):
    result = process_avatar(_encoded(Image.new(mode, (300, 200)), fmt), LIMITS)
    image = Image.open(io.BytesIO(result.data))
    assert (image.format, image.mode, image.size) == ("PNG", expected, (256, 171))


def test_palette_transparency_is_kept():
    image = Image.new("P", (40, 40))
    result = process_avatar(_encoded(image, "PNG", transparency=0), LIMITS)
    assert Image.open(io.BytesIO(result.data)).mode == "RGBA"


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_animations_keep_their_first_frame(fmt):
    red, blue = Image.new("RGB", (64, 64), "red"), Image.new("RGB", (64, 64), "blue")
    data = _encoded(red, fmt, save_all=True, append_images=[blue], duration=100)
    image = Image.open(io.BytesIO(process_avatar(data, LIMITS).data))
    assert getattr(image, "n_frames", 1) == 1
    red_channel, _, blue_channel = image.convert("RGB").getpixel((32, 32))
    assert red_channel > 200
    assert blue_channel < 50


def test_large_jpegs_are_decoded_small_but_still_fill_the_target():
    data = _encoded(Image.new("RGB", (4000, 2000), "green"), "JPEG")
    result = process_avatar(data, LIMITS)
    assert (result.width, result.height) == (256, 128)


def test_the_limits_come_from_the_settings():
    small = AvatarLimits(max_bytes=1024 * 1024, max_pixels=100 * 100, max_side=32)
    with pytest.raises(PayloadTooLarge):
        process_avatar(png_bomb(101, 100), small)
    result = process_avatar(_encoded(Image.new("RGB", (100, 50)), "PNG"), small)
    assert (result.width, result.height) == (32, 16)
