"""Images and credentials profile's tests need, made on the spot."""

from __future__ import annotations

import functools
import io
import os
import struct
import zlib

import httpx
from PIL import Image

from tests.helpers import Account

ME = "/api/v1/profiles/me"
NOTIFICATIONS = "/api/v1/profiles/me/notifications"
AVATAR = "/api/v1/profiles/me/avatar"


def image_bytes(
    fmt: str = "PNG", size: tuple[int, int] = (64, 64), mode: str = "RGB", **save: object
) -> bytes:
    """An image of noise (so it does not compress to nothing) in ``fmt``."""
    channels = len(mode)
    image = Image.frombytes(mode, size, os.urandom(size[0] * size[1] * channels))
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **save)
    return buffer.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@functools.cache
def png_bomb(width: int, height: int) -> bytes:
    """A valid, all-black 1-bit PNG of ``width`` x ``height``: tiny on disk, huge decoded.

    Built row by row so making it never needs the decoded size in memory.
    """
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    row = b"\x00" * (1 + (width + 7) // 8)
    compressor = zlib.compressobj(9)
    parts = [compressor.compress(row) for _ in range(height)]
    parts.append(compressor.flush())
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", b"".join(parts))
        + _chunk(b"IEND", b"")
    )


def upload(data: bytes, filename: str = "avatar.png", content_type: str = "image/png") -> dict:
    """The ``files=`` argument of an avatar upload."""
    return {"file": (filename, data, content_type)}


async def put_avatar(
    client: httpx.AsyncClient, account: Account | dict[str, str], data: bytes, **kwargs: str
) -> httpx.Response:
    """Upload ``data`` as the avatar of ``account`` (an account or auth headers)."""
    headers = account.headers if isinstance(account, Account) else account
    return await client.put(AVATAR, headers=headers, files=upload(data, **kwargs))


async def api_key(client: httpx.AsyncClient, account: Account, *scopes: str) -> dict[str, str]:
    """Auth headers with a new API key of ``account`` holding ``scopes``."""
    response = await client.post(
        "/api/v1/api-keys",
        json={"name": "script", "scopes": list(scopes)},
        headers=account.headers,
    )
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['data']['secret']}"}


def decoded(data: bytes) -> Image.Image:
    """The image in ``data``, fully loaded."""
    image = Image.open(io.BytesIO(data))
    image.load()
    return image
