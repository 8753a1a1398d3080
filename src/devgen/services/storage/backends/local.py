"""Blobs as files under ``<root>/ab/cd/<sha256>`` on the local file system.

A blob is written durably and atomically: the staged file (already on the
same file system) is flushed to disk, renamed into place, and the directory
holding it is flushed too, so after a crash a blob is either whole or absent.
A small blob held in memory is written to a new staging file and goes the
same way. Those are the only fsyncs: the file's (its bytes), the
directory's (the name it was renamed to), and once per new fan-out
directory its parent's (the directory's own name). A blob that is there
already costs none, and neither does a delete (a crash that undoes an
unlink leaves bytes without a row, which the start-up sweep removes).
Each put is one worker-thread call, so the event loop keeps serving and
waits for the disk once.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
from anyio import to_thread

from devgen.services.storage.backends.base import (
    CHUNK_BYTES,
    BlobMissing,
    BlobStream,
    check_key,
    fan_out,
)


def _fsync_directory(directory: Path) -> None:
    # A rename or unlink is durable only once the directory entry is on disk.
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _make_directories(directory: Path, root: Path) -> None:
    """Create ``directory`` and its missing parents below ``root``, durably."""
    missing: list[Path] = []
    current = directory
    while current != root and not current.exists():
        missing.append(current)
        current = current.parent
    for path in reversed(missing):
        with contextlib.suppress(FileExistsError):
            path.mkdir(mode=0o700)  # blobs are the tenants' files: this user's only
        _fsync_directory(path.parent)


class LocalBlobStore:
    """A ``BlobStore`` on the local file system."""

    name = "local"

    def __init__(self, root: Path, staging: Path | None = None) -> None:
        self.root = root
        # Same file system as the blobs (a rename, not a copy); swept at start-up.
        self.staging = staging or root.parent / "tmp"
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.staging.mkdir(mode=0o700, parents=True, exist_ok=True)

    def path_of(self, key: str) -> Path:
        """Where blob ``key`` lives."""
        return self.root / fan_out(check_key(key))

    def _put(self, key: str, source: Path) -> bool:
        target = self.path_of(key)
        if target.is_file():
            # Same key, same bytes: the stored copy stays and the staged one goes.
            source.unlink(missing_ok=True)
            return False
        _make_directories(target.parent, self.root)
        with source.open("rb") as staged:
            os.fsync(staged.fileno())
        os.replace(source, target)
        _fsync_directory(target.parent)
        return True

    def _put_bytes(self, key: str, data: bytes) -> bool:
        if self.path_of(key).is_file():
            return False
        fd, name = tempfile.mkstemp(prefix="blob-", suffix=".part", dir=self.staging)
        source = Path(name)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            return self._put(key, source)
        except BaseException:
            source.unlink(missing_ok=True)
            raise

    async def put_file(self, key: str, source: Path) -> bool:
        """Move the staged file into place (see the module docstring)."""
        return await to_thread.run_sync(self._put, key, source)

    async def put_bytes(self, key: str, data: bytes) -> bool:
        """Write ``data`` as blob ``key`` the same way, in one worker-thread call."""
        return await to_thread.run_sync(self._put_bytes, key, data)

    async def open(self, key: str, start: int = 0, end: int | None = None) -> BlobStream:
        """An open file handle positioned at ``start``, read in chunks up to ``end``."""
        try:
            handle = await anyio.open_file(self.path_of(key), "rb")
        except FileNotFoundError as exc:
            raise BlobMissing(key) from exc
        await handle.seek(start)
        remaining = None if end is None else end - start + 1

        async def chunks() -> AsyncIterator[bytes]:
            nonlocal remaining
            while remaining is None or remaining > 0:
                size = CHUNK_BYTES if remaining is None else min(CHUNK_BYTES, remaining)
                chunk = await handle.read(size)
                if not chunk:
                    return
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk

        return BlobStream(chunks(), handle.aclose)

    def _list(self) -> list[str]:
        keys = []
        for path in self.root.glob("*/*/*"):
            with contextlib.suppress(ValueError):
                if path.is_file() and path.name == check_key(path.name):
                    keys.append(path.name)
        return keys

    async def keys(self) -> AsyncIterator[str]:
        """Every blob file's key (read in a worker thread)."""
        for key in await to_thread.run_sync(self._list):
            yield key

    async def exists(self, key: str) -> bool:
        """Whether the blob's file is there."""
        return await to_thread.run_sync(self.path_of(key).is_file)

    def _delete(self, key: str) -> None:
        # Not synced: if a crash undoes the unlink, the start-up sweep removes the bytes again.
        self.path_of(key).unlink(missing_ok=True)

    async def delete(self, key: str) -> None:
        """Unlink the blob's file (a reader that has it open keeps reading it)."""
        await to_thread.run_sync(self._delete, key)

    async def ping(self) -> None:
        """Raise unless the root directory is there and writable."""
        if not await to_thread.run_sync(os.access, self.root, os.W_OK):
            raise OSError(f"{self.root} is not writable")
