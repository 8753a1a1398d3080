"""Turn an uploaded file into a safe avatar: decode, check, strip, shrink, re-encode.

The file's name and declared type are never trusted: only what Pillow can
decode counts. Every upload is decoded in full and re-encoded as a fresh PNG,
so whatever the original carried (EXIF with GPS positions, text chunks, ICC
profiles, trailing bytes, polyglot payloads) is not in what we store or serve.

Pixel counts are checked from the header before anything is decoded, so a
small file that would expand into gigabytes (a decompression bomb) is refused
without being expanded.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from devgen.kit.errors import PayloadTooLarge, UnsupportedMediaType, ValidationFailed

ACCEPTED_FORMATS = ("PNG", "JPEG", "WEBP")
"""What Pillow may try to decode; every other format is refused unopened."""

OUTPUT_CONTENT_TYPE = "image/png"


@dataclass(frozen=True, slots=True)
class AvatarLimits:
    """How large an upload may be, in bytes and in pixels, and the stored size."""

    max_bytes: int
    max_pixels: int
    max_side: int


@dataclass(frozen=True, slots=True)
class ProcessedAvatar:
    """A re-encoded avatar ready to store."""

    data: bytes
    content_type: str
    width: int
    height: int
    sha256: str


def _too_many_pixels(width: int, height: int, limits: AvatarLimits) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The image is {width}x{height} pixels; at most {limits.max_pixels} pixels are accepted.",
        details={"reason": "too_many_pixels", "max_pixels": limits.max_pixels},
    )


def _corrupt() -> ValidationFailed:
    return ValidationFailed(
        "The image could not be decoded; it is corrupt or truncated.",
        details={"field": "file", "reason": "corrupt_image"},
    )


def _open(raw: bytes, limits: AvatarLimits) -> Image.Image:
    """Open ``raw`` as one of the accepted formats, refusing bombs before decoding."""
    with warnings.catch_warnings():
        # Pillow only warns between its limit and twice its limit; make that a refusal too.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(raw), formats=ACCEPTED_FORMATS)
        except UnidentifiedImageError as exc:
            raise UnsupportedMediaType(
                "The file is not a PNG, JPEG or WebP image.",
                details={"field": "file", "accepted": ["image/png", "image/jpeg", "image/webp"]},
            ) from exc
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise PayloadTooLarge(
                "The image has too many pixels.",
                details={"reason": "too_many_pixels", "max_pixels": limits.max_pixels},
            ) from exc
        except Exception as exc:  # Pillow raises many types for a broken header
            raise _corrupt() from exc
    width, height = image.size
    if width <= 0 or height <= 0:
        raise _corrupt()
    if width * height > limits.max_pixels:
        raise _too_many_pixels(width, height, limits)
    return image


def _decode(raw: bytes, limits: AvatarLimits) -> Image.Image:
    """The first frame, decoded, upright, in RGB(A) and shrunk, or a 4xx error."""
    try:
        # verify() walks the file's structure (chunk CRCs for PNG) without decoding
        # pixels, and leaves the image unusable, hence the second open.
        _open(raw, limits).verify()
        image = _open(raw, limits)
        # JPEG can decode at a fraction of full size for free; ask for no more than
        # twice what we keep so the resize still has detail to work with.
        image.draft("RGB", (limits.max_side * 2, limits.max_side * 2))
        image.load()
        image = ImageOps.exif_transpose(image)
        image = image.convert("RGBA" if image.has_transparency_data else "RGB")
        image.thumbnail((limits.max_side, limits.max_side), Image.Resampling.LANCZOS)
        return image
    except (PayloadTooLarge, UnsupportedMediaType, ValidationFailed):
        raise
    except Exception as exc:  # decoders raise OSError, SyntaxError, ValueError, ...
        raise _corrupt() from exc


def process_avatar(raw: bytes, limits: AvatarLimits) -> ProcessedAvatar:
    """Check ``raw`` and re-encode it as a PNG of at most ``max_side`` on each side.

    Raises 413 when the file or its pixel count is too large, 415 when it is
    not a PNG, JPEG or WebP image, and 422 when it is one but cannot be decoded.
    Blocking and CPU-bound: call it from a worker thread.
    """
    if len(raw) > limits.max_bytes:
        raise PayloadTooLarge(
            f"The avatar is larger than {limits.max_bytes} bytes.",
            details={"reason": "file_too_large", "max_bytes": limits.max_bytes},
        )
    if not raw:
        raise ValidationFailed("The file is empty.", details={"field": "file", "reason": "empty"})
    image = _decode(raw, limits)
    # A new image from the bare pixels carries no info dict, so no EXIF, ICC
    # profile, text chunk or DPI can ride along into the PNG we write.
    clean = Image.frombytes(image.mode, image.size, image.tobytes())
    output = io.BytesIO()
    clean.save(output, format="PNG", optimize=True)
    data = output.getvalue()
    return ProcessedAvatar(
        data=data,
        content_type=OUTPUT_CONTENT_TYPE,
        width=clean.width,
        height=clean.height,
        sha256=hashlib.sha256(data).hexdigest(),
    )
