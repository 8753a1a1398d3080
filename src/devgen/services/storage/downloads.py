"""Responses that stream stored bytes: whole, one ``Range``, or headers only (``HEAD``).

Every download is an attachment with ``nosniff`` and a sandboxing CSP: what
a tenant stored is never rendered as active content on the API's origin.
The ETag is the content's SHA-256, so ``If-None-Match`` and ``If-Range``
compare exactly.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import quote

import structlog
from starlette.responses import Response, StreamingResponse

from devgen.kit.errors import ServiceUnavailable
from devgen.services.storage.backends import BlobMissing, BlobStore, BlobStream
from devgen.services.storage.ranges import ByteRange, parse_range
from devgen.services.storage.sniff import TEXT_TYPES

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Conditions:
    """The request headers a download looks at."""

    method: str = "GET"
    range: str | None = None
    if_range: str | None = None
    if_none_match: str | None = None


def _disposition(filename: str) -> str:
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename
    )
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def media_type(content_type: str) -> str:
    """The ``Content-Type`` to send: text types say they are UTF-8."""
    return f"{content_type}; charset=utf-8" if content_type in TEXT_TYPES else content_type


def _etag_matches(header: str, etag: str) -> bool:
    # RFC 9110: If-None-Match compares weakly; "*" matches any current representation.
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return "*" in tags or etag in tags


def base_headers(sha256: str, filename: str) -> dict[str, str]:
    """Headers every answer about these bytes carries."""
    return {
        "ETag": f'"{sha256}"',
        "Content-Disposition": _disposition(filename),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, no-cache",
    }


async def open_or_unavailable(store: BlobStore, key: str, start: int, end: int) -> BlobStream:
    """Open a blob range; a blob the database knows but the store lacks is a 503, logged."""
    try:
        return await store.open(key, start, end)
    except BlobMissing as exc:
        log.error("storage_blob_missing", sha256=key, backend=store.name)
        raise ServiceUnavailable("The stored content is not available right now.") from exc


async def blob_response(
    store: BlobStore,
    *,
    sha256: str,
    size: int,
    content_type: str,
    filename: str,
    conditions: Conditions,
    inline: bytes | None = None,
) -> Response:
    """The answer to a download of a whole blob, honouring the conditions.

    ``inline``: the bytes, when the blob's row holds them (the store is not asked).
    """
    headers = base_headers(sha256, filename)
    headers["Accept-Ranges"] = "bytes"
    if conditions.if_none_match and _etag_matches(conditions.if_none_match, headers["ETag"]):
        return Response(status_code=304, headers=headers)
    wanted: ByteRange | None = None
    if conditions.if_range is None or conditions.if_range.strip() == headers["ETag"]:
        wanted = parse_range(conditions.range, size)
    status = 200
    start, end = 0, size - 1
    if wanted is not None:
        status, start, end = 206, wanted.start, wanted.end
        headers["Content-Range"] = wanted.content_range
    headers["Content-Length"] = str(end - start + 1 if size else 0)
    if conditions.method == "HEAD" or size == 0:
        return Response(status_code=status, headers=headers, media_type=media_type(content_type))
    if inline is not None:
        return Response(
            inline[start : end + 1],
            status_code=status,
            headers=headers,
            media_type=media_type(content_type),
        )
    stream = await open_or_unavailable(store, sha256, start, end)
    return StreamingResponse(
        stream, status_code=status, headers=headers, media_type=media_type(content_type)
    )


def stream_response(
    chunks: AsyncIterator[bytes], *, size: int, sha256: str, content_type: str, filename: str
) -> Response:
    """A plain 200 of ``size`` bytes from ``chunks`` (no ranges)."""
    headers = base_headers(sha256, filename)
    headers["Content-Length"] = str(size)
    return StreamingResponse(
        chunks, status_code=200, headers=headers, media_type=media_type(content_type)
    )
