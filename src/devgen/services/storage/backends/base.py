"""What storage needs from wherever blob bytes live: one small async protocol.

A blob is immutable and named by the SHA-256 of its bytes (its key), so
putting the same key twice stores the same bytes and a reader never sees a
half-written blob. Which files and artifacts refer to a blob is the
database's business, not the store's.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Protocol

_KEY = re.compile(r"^[0-9a-f]{64}$")

CHUNK_BYTES = 256 * 1024
"""How much a reader hands over at a time."""


class BlobMissing(LookupError):
    """The store has no blob under the key."""


def check_key(key: str) -> str:
    """``key`` if it is a lower-case hex SHA-256; keys never reach a path or URL otherwise."""
    if not _KEY.match(key):
        raise ValueError(f"not a blob key: {key[:80]!r}")
    return key


def fan_out(key: str) -> str:
    """``ab/cd/abcd…``: two directory levels so no directory holds millions of entries."""
    return f"{key[:2]}/{key[2:4]}/{key}"


class BlobStream:
    """An opened blob range: iterate it for bytes; closed when exhausted or by ``aclose``.

    The blob is opened before this object exists, so a missing blob is
    reported before a response has started, not halfway through it.
    """

    def __init__(self, chunks: AsyncIterator[bytes], close: Callable[[], Awaitable[None]]):
        self._chunks = chunks
        self._close = close
        self._closed = False

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._chunks:
                yield chunk
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Release the file handle or connection (safe to call twice)."""
        if not self._closed:
            self._closed = True
            await self._close()


class BlobStore(Protocol):
    """Content-addressed bytes: put a staged file, read a range, check, delete."""

    name: str
    """``local`` or ``s3``, for health checks and logs."""

    async def put_file(self, key: str, source: Path) -> bool:
        """Store the file at ``source`` (a staged temporary file) as blob ``key``.

        ``source`` is consumed: moved into place or deleted once copied.
        Storing a key that exists already leaves the stored blob as it is.
        Returns whether this call stored the bytes (False: they were there).
        When it returns, the blob survives a crash of the process or machine.
        """
        ...

    async def put_bytes(self, key: str, data: bytes) -> bool:
        """Store ``data`` (a small blob held in memory) as blob ``key``; like ``put_file``."""
        ...

    async def open(self, key: str, start: int = 0, end: int | None = None) -> BlobStream:
        """Bytes ``start`` to ``end`` (inclusive; None: to the end) of blob ``key``.

        Raises ``BlobMissing`` when there is no such blob.
        """
        ...

    async def exists(self, key: str) -> bool:
        """Whether blob ``key`` is stored."""
        ...

    def keys(self) -> AsyncIterator[str]:
        """Every stored blob's key (for the start-up sweep of orphaned bytes)."""
        ...

    async def delete(self, key: str) -> None:
        """Remove blob ``key``; removing a missing blob is not an error."""
        ...

    async def ping(self) -> None:
        """Raise when the store cannot be reached (readiness)."""
        ...
