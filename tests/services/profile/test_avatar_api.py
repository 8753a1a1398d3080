"""``/api/v1/profiles/me/avatar``: decoded not trusted, re-encoded, shrunk, stripped, bounded."""

from __future__ import annotations

import hashlib
import io

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from tests.helpers import assert_error, register
from tests.services.profile.support import (
    AVATAR,
    ME,
    decoded,
    image_bytes,
    png_bomb,
    put_avatar,
)

MIB = 1024 * 1024


@pytest.mark.parametrize(
    ("fmt", "mime"), [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")]
)
async def test_each_accepted_format_is_stored_as_png(client, fmt, mime):
    account = await register(client)
    response = await put_avatar(
        client, account, image_bytes(fmt, (80, 60)), filename=f"a.{fmt.lower()}", content_type=mime
    )
    assert response.status_code == 200, response.text
    meta = response.json()["data"]
    assert (meta["content_type"], meta["width"], meta["height"]) == ("image/png", 80, 60)
    served = await client.get(AVATAR, headers=account.headers)
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/png"
    assert meta["size_bytes"] == len(served.content)
    assert meta["sha256"] == hashlib.sha256(served.content).hexdigest()
    image = decoded(served.content)
    assert (image.format, image.size) == ("PNG", (80, 60))


async def test_large_images_are_shrunk_to_fit_256_keeping_the_aspect_ratio(client):
    account = await register(client)
    response = await put_avatar(client, account, image_bytes("JPEG", (1000, 500)))
    meta = response.json()["data"]
    assert (meta["width"], meta["height"]) == (256, 128)
    served = await client.get(AVATAR, headers=account.headers)
    assert decoded(served.content).size == (256, 128)


async def test_small_images_are_not_enlarged(client):
    account = await register(client)
    response = await put_avatar(client, account, image_bytes("PNG", (40, 30)))
    assert (response.json()["data"]["width"], response.json()["data"]["height"]) == (40, 30)


async def test_transparency_is_kept(client):
    account = await register(client)
    await put_avatar(client, account, image_bytes("PNG", (32, 32), mode="RGBA"))
    served = await client.get(AVATAR, headers=account.headers)
    assert decoded(served.content).mode == "RGBA"


async def test_metadata_is_stripped(client):
    account = await register(client)
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x010E] = "taken at 51.5007N 0.1246W"  # ImageDescription
    jpeg = image_bytes("JPEG", (64, 64), exif=exif.tobytes(), comment=b"secret-comment")
    assert b"SecretCam" in jpeg
    await put_avatar(client, account, jpeg, filename="a.jpg", content_type="image/jpeg")
    served = (await client.get(AVATAR, headers=account.headers)).content
    image = decoded(served)
    assert not image.getexif()
    assert image.info == {}
    assert b"SecretCam" not in served
    assert b"51.5007N" not in served
    assert b"secret-comment" not in served


async def test_png_text_chunks_and_icc_profiles_are_stripped(client):
    account = await register(client)
    info = PngInfo()
    info.add_text("Comment", "secret-text-chunk")
    png = image_bytes("PNG", (64, 64), pnginfo=info, icc_profile=b"fake-icc-profile" * 10)
    await put_avatar(client, account, png)
    served = (await client.get(AVATAR, headers=account.headers)).content
    image = decoded(served)
    assert image.info == {}
    assert b"secret-text-chunk" not in served


async def test_exif_orientation_is_applied_before_it_is_stripped(client):
    account = await register(client)
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to display
    jpeg = image_bytes("JPEG", (200, 100), exif=exif.tobytes())
    response = await put_avatar(client, account, jpeg, filename="a.jpg", content_type="image/jpeg")
    meta = response.json()["data"]
    assert (meta["width"], meta["height"]) == (100, 200)


async def test_bytes_after_the_image_are_not_kept(client):
    account = await register(client)
    polyglot = image_bytes("PNG", (16, 16)) + b"<script>alert(1)</script>"
    response = await put_avatar(client, account, polyglot)
    assert response.status_code == 200, response.text
    served = (await client.get(AVATAR, headers=account.headers)).content
    assert b"<script>" not in served


async def test_the_profile_describes_the_avatar(client):
    account = await register(client)
    meta = (await put_avatar(client, account, image_bytes("PNG", (20, 20)))).json()["data"]
    profile = (await client.get(ME, headers=account.headers)).json()["data"]
    assert profile["avatar"] == meta
    assert meta["url"] == AVATAR


async def test_a_new_upload_replaces_the_old_one(client):
    account = await register(client)
    first = (await put_avatar(client, account, image_bytes("PNG", (20, 20)))).json()["data"]
    second = (await put_avatar(client, account, image_bytes("PNG", (30, 30)))).json()["data"]
    assert first["sha256"] != second["sha256"]
    served = await client.get(AVATAR, headers=account.headers)
    assert hashlib.sha256(served.content).hexdigest() == second["sha256"]


async def test_etag_gives_not_modified(client):
    account = await register(client)
    await put_avatar(client, account, image_bytes("PNG", (20, 20)))
    served = await client.get(AVATAR, headers=account.headers)
    etag = served.headers["etag"]
    assert served.headers["cache-control"] == "private, no-cache"
    assert served.headers["x-content-type-options"] == "nosniff"
    again = await client.get(AVATAR, headers={**account.headers, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    weak = await client.get(AVATAR, headers={**account.headers, "If-None-Match": f"W/{etag}"})
    assert weak.status_code == 304
    other = await client.get(AVATAR, headers={**account.headers, "If-None-Match": '"other"'})
    assert other.status_code == 200


async def test_no_avatar_is_404(client):
    account = await register(client)
    assert_error(await client.get(AVATAR, headers=account.headers), 404, "NOT_FOUND")


async def test_delete_removes_the_avatar_and_is_idempotent(client):
    account = await register(client)
    await put_avatar(client, account, image_bytes("PNG", (20, 20)))
    response = await client.delete(AVATAR, headers=account.headers)
    assert response.status_code == 204
    assert response.content == b""
    assert_error(await client.get(AVATAR, headers=account.headers), 404, "NOT_FOUND")
    assert (await client.get(ME, headers=account.headers)).json()["data"]["avatar"] is None
    assert (await client.delete(AVATAR, headers=account.headers)).status_code == 204


def _truncated_png() -> bytes:
    data = image_bytes("PNG", (64, 64))
    return data[: len(data) // 2]


def _truncated_jpeg() -> bytes:
    data = image_bytes("JPEG", (64, 64))
    return data[: len(data) // 2]


def _gif() -> bytes:
    buffer = io.BytesIO()
    Image.new("P", (8, 8)).save(buffer, format="GIF")
    return buffer.getvalue()


def _over_the_avatar_limit() -> bytes:
    # Under the 2 MiB request limit, over the 1 MiB avatar limit.
    return image_bytes("PNG", (8, 8)) + b"\0" * (MIB + MIB // 2)


async def _assert_refused_without_change(client, name, data, status, code) -> None:
    account = await register(client)
    kept = (await put_avatar(client, account, image_bytes("PNG", (20, 20)))).json()["data"]
    response = await put_avatar(client, account, data, filename="avatar.png")
    assert response.status_code == status, (name, response.text)
    assert_error(response, status, code)
    assert (await client.get(ME, headers=account.headers)).json()["data"]["avatar"] == kept, name


async def test_files_that_are_not_png_jpeg_or_webp_are_415(client):
    for name, data in [
        ("text renamed .png", b"hello, I am a text file\n"),
        ("svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>"),
        ("gif", _gif()),
        ("png signature only", b"\x89PNG\r\n\x1a\n"),
    ]:
        await _assert_refused_without_change(client, name, data, 415, "UNSUPPORTED_MEDIA_TYPE")


async def test_corrupt_images_are_422(client):
    for name, data in [
        ("truncated png", _truncated_png()),
        ("truncated jpeg", _truncated_jpeg()),
        ("empty", b""),
    ]:
        await _assert_refused_without_change(client, name, data, 422, "VALIDATION_ERROR")


async def test_oversized_files_and_decompression_bombs_are_413(client):
    for name, data in [
        ("over the 1 MiB avatar limit", _over_the_avatar_limit()),
        ("over the 2 MiB request limit", b"\0" * (3 * MIB)),
        ("over the pixel limit", png_bomb(5000, 5000)),
        ("decompression bomb, 900 megapixels", png_bomb(30000, 30000)),
    ]:
        await _assert_refused_without_change(client, name, data, 413, "PAYLOAD_TOO_LARGE")


async def test_the_pixel_limit_is_explained(client):
    account = await register(client)
    error = assert_error(await put_avatar(client, account, png_bomb(5000, 5000)), 413)
    assert error["details"] == {"reason": "too_many_pixels", "max_pixels": 4096 * 4096}


async def test_the_size_limit_is_explained(client):
    account = await register(client)
    error = assert_error(await put_avatar(client, account, _over_the_avatar_limit()), 413)
    assert error["details"] == {"reason": "file_too_large", "max_bytes": MIB}


async def test_a_refused_first_upload_creates_nothing(client):
    account = await register(client)
    assert_error(await put_avatar(client, account, b"not an image"), 415)
    assert_error(await client.get(AVATAR, headers=account.headers), 404)


async def test_upload_must_be_multipart(client):
    account = await register(client)
    response = await client.put(
        AVATAR,
        content=image_bytes("PNG", (8, 8)),
        headers={**account.headers, "Content-Type": "image/png"},
    )
    assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")


async def test_upload_needs_the_file_field(client):
    account = await register(client)
    response = await client.put(
        AVATAR,
        files={"picture": ("a.png", image_bytes("PNG", (8, 8)), "image/png")},
        headers=account.headers,
    )
    error = assert_error(response, 422, "VALIDATION_ERROR")
    assert [e["location"] for e in error["details"]["errors"]] == ["body.file"]


async def test_a_multipart_body_without_a_boundary_is_400(client):
    account = await register(client)
    response = await client.put(
        AVATAR,
        content=b'--xyz\r\nContent-Disposition: form-data; name="file"\r\n\r\nabc\r\n--xyz--',
        headers={**account.headers, "Content-Type": "multipart/form-data"},
    )
    assert_error(response, 400, "BAD_REQUEST")
