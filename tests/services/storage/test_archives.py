"""The zip writer is deterministic and its entries can be read back one at a time."""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from devgen.services.storage.archives import (
    ArchiveError,
    ArchiveLimits,
    inflate,
    read_zip,
    write_zip,
)
from tests.services.storage.support import zip_bytes

FILES = {
    "b/second.py": b"print(2)\n" * 300,
    "a/first.py": b"print(1)\n",
    "empty.txt": b"",
    "z.bin": bytes(range(256)) * 40,
}
LIMITS = ArchiveLimits(max_files=10, max_total_bytes=1024 * 1024, max_ratio=100)


async def _chunks(data: bytes, size: int = 7) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_the_same_files_give_the_same_bytes(tmp_path: Path):
    write_zip(FILES, tmp_path / "one.zip")
    write_zip(dict(reversed(list(FILES.items()))), tmp_path / "two.zip")
    assert (tmp_path / "one.zip").read_bytes() == (tmp_path / "two.zip").read_bytes()


async def test_each_entry_can_be_inflated_from_its_offset(tmp_path: Path):
    entries = write_zip(FILES, tmp_path / "p.zip")
    archive = (tmp_path / "p.zip").read_bytes()
    assert [e.path for e in entries] == sorted(FILES)
    for entry in entries:
        compressed = archive[entry.data_offset : entry.data_offset + entry.compressed_size]
        data = b"".join(
            [c async for c in inflate(_chunks(compressed), entry.compression, entry.size)]
        )
        assert data == FILES[entry.path]
        assert entry.sha256 == hashlib.sha256(data).hexdigest()


async def test_inflate_never_yields_more_than_the_recorded_size():
    compressed = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    stream = compressed.compress(bytes(100_000)) + compressed.flush()
    out = b"".join([c async for c in inflate(_chunks(stream, 1000), 8, 10)])
    assert out == bytes(10)


def test_read_zip_returns_the_files(tmp_path: Path):
    path = tmp_path / "in.zip"
    path.write_bytes(zip_bytes({"a.txt": b"a", "dir/b.txt": b"b"}))
    assert read_zip(path, LIMITS) == {"a.txt": b"a", "dir/b.txt": b"b"}


def test_an_entry_count_claimed_by_the_end_record_is_refused_before_parsing(tmp_path: Path):
    archive = bytearray(zip_bytes({"a.txt": b"a"}))
    end = archive.rfind(b"PK\x05\x06")
    archive[end + 8 : end + 12] = struct.pack("<HH", 60_000, 60_000)
    path = tmp_path / "many.zip"
    path.write_bytes(bytes(archive))
    with pytest.raises(ArchiveError) as refused:
        read_zip(path, LIMITS)
    assert refused.value.reason == "too_many_files"


def test_zip64_is_refused(tmp_path: Path):
    archive = bytearray(zip_bytes({"a.txt": b"a"}))
    end = archive.rfind(b"PK\x05\x06")
    archive[end + 8 : end + 12] = struct.pack("<HH", 0xFFFF, 0xFFFF)
    path = tmp_path / "z64.zip"
    path.write_bytes(bytes(archive))
    with pytest.raises(ArchiveError) as refused:
        read_zip(path, LIMITS)
    assert refused.value.reason == "zip64"
