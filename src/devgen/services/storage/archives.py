"""Zip archives: written deterministically, read back defensively.

Writing: entries sorted by path, every timestamp 1980-01-01 00:00, the same
permissions, no extra fields or comments and one compression level, so the
same project always gives the same bytes and the same SHA-256.

Reading an uploaded archive (never trusted): the end-of-central-directory
record is checked before the central directory is parsed (a huge entry
count costs nothing to claim); zip64, encrypted entries, symlinks and other
special files, unknown compression methods and unsafe paths (zip slip) are
refused; declared sizes are capped in total and per-entry compression ratios
are capped; and the bytes actually inflated are counted against the same
caps, so an archive that lies about its sizes still cannot expand past them.
"""

from __future__ import annotations

import hashlib
import stat
import struct
import zipfile
import zlib
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devgen.services.storage.paths import PathError, check_path, check_paths

FIXED_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
"""The earliest time a zip can record; every entry gets it."""

COMPRESS_LEVEL = 6
_FILE_MODE = 0o100644
_UNIX = 3
_LOCAL_HEADER = struct.Struct("<4s5H3L2H")
_LOCAL_SIGNATURE = b"PK\x03\x04"
_EOCD = struct.Struct("<4s4H2LH")
_EOCD_SIGNATURE = b"PK\x05\x06"
_MAX_COMMENT = 0xFFFF
_READ_CHUNK = 64 * 1024
_RATIO_CHECK_MIN_BYTES = 64 * 1024
"""Entries smaller than this may compress as well as they like (a tiny file of spaces)."""


class ArchiveError(ValueError):
    """An archive that is refused; ``reason`` is a stable code for clients."""

    def __init__(self, reason: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.reason = reason
        self.details = details


@dataclass(frozen=True, slots=True)
class ArchiveLimits:
    """What an archive may contain."""

    max_files: int
    max_total_bytes: int
    max_ratio: int


@dataclass(frozen=True, slots=True)
class ZipEntry:
    """Where one file sits in an archive we wrote, so it can be read back alone."""

    path: str
    size: int
    sha256: str
    data_offset: int
    compressed_size: int
    compression: int


def _zip_info(path: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(path, date_time=FIXED_TIMESTAMP)
    info.create_system = _UNIX
    info.external_attr = _FILE_MODE << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def write_zip(files: Mapping[str, bytes], target: Path) -> list[ZipEntry]:
    """Write ``files`` to ``target`` as a deterministic zip; where each entry's data lies.

    Blocking: call it from a worker thread.
    """
    with zipfile.ZipFile(target, "w", compresslevel=COMPRESS_LEVEL) as archive:
        for path in sorted(files):
            archive.writestr(_zip_info(path), files[path], compresslevel=COMPRESS_LEVEL)
        infos = archive.infolist()
    entries: list[ZipEntry] = []
    with target.open("rb") as written:
        for info in infos:
            written.seek(info.header_offset)
            header = _LOCAL_HEADER.unpack(written.read(_LOCAL_HEADER.size))
            name_length, extra_length = header[-2], header[-1]
            data = files[info.filename]
            entries.append(
                ZipEntry(
                    path=info.filename,
                    size=len(data),
                    sha256=hashlib.sha256(data).hexdigest(),
                    data_offset=info.header_offset
                    + _LOCAL_HEADER.size
                    + name_length
                    + extra_length,
                    compressed_size=info.compress_size,
                    compression=info.compress_type,
                )
            )
    return entries


def _end_record(path: Path) -> tuple[int, int]:
    """(entry count, central directory size) from the end record, refusing zip64."""
    size = path.stat().st_size
    with path.open("rb") as archive:
        window = min(size, _EOCD.size + _MAX_COMMENT)
        archive.seek(size - window)
        tail = archive.read(window)
    at = tail.rfind(_EOCD_SIGNATURE)
    if at < 0 or len(tail) - at < _EOCD.size:
        raise ArchiveError("bad_zip", "The file is not a zip archive.")
    _, disk, cd_disk, _, entries, cd_size, _, _ = _EOCD.unpack(tail[at : at + _EOCD.size])
    if disk != 0 or cd_disk != 0:
        raise ArchiveError("bad_zip", "Multi-part zip archives are not accepted.")
    if entries == 0xFFFF or cd_size == 0xFFFFFFFF:
        raise ArchiveError("zip64", "Zip64 archives are not accepted.")
    return entries, cd_size


def _check_entry(info: zipfile.ZipInfo, limits: ArchiveLimits) -> None:
    name = info.filename
    try:
        # zipfile cuts a name at its first NUL; the name as stored must pass too.
        check_path(info.orig_filename.removesuffix("/") if info.is_dir() else info.orig_filename)
    except PathError as exc:
        raise ArchiveError(
            "unsafe_path", f"The archive has an unsafe path: {exc}", path=exc.path
        ) from exc
    mode = info.external_attr >> 16
    if info.create_system == _UNIX and stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
        kind = "a symbolic link" if stat.S_ISLNK(mode) else "a special file"
        raise ArchiveError("special_file", f"{name!r} is {kind}; only files are accepted.")
    if info.flag_bits & 0x1:
        raise ArchiveError("encrypted", f"{name!r} is encrypted.")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise ArchiveError(
            "compression", f"{name!r} uses a compression method other than stored or deflate."
        )
    if info.file_size >= _RATIO_CHECK_MIN_BYTES and (
        info.compress_size == 0 or info.file_size > info.compress_size * limits.max_ratio
    ):
        raise ArchiveError(
            "zip_bomb",
            f"{name!r} expands more than {limits.max_ratio} times; refused as a possible zip bomb.",
            max_ratio=limits.max_ratio,
        )


def _too_large(limits: ArchiveLimits) -> ArchiveError:
    return ArchiveError(
        "too_large",
        f"The archive expands to more than {limits.max_total_bytes} bytes.",
        max_bytes=limits.max_total_bytes,
    )


def read_zip(path: Path, limits: ArchiveLimits) -> dict[str, bytes]:
    """The files of the zip at ``path``, checked as the module describes; ``ArchiveError`` if not.

    Directory entries are skipped. Blocking: call it from a worker thread.
    """
    entries, _ = _end_record(path)
    if entries > limits.max_files:
        raise ArchiveError(
            "too_many_files",
            f"The archive has {entries} entries; at most {limits.max_files} are accepted.",
            max_files=limits.max_files,
        )
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            for info in infos:
                _check_entry(info, limits)
            files = [info for info in infos if not info.is_dir()]
            try:
                check_paths(info.filename for info in files)
            except PathError as exc:
                raise ArchiveError("unsafe_path", f"The archive's paths clash: {exc}") from exc
            if sum(info.file_size for info in files) > limits.max_total_bytes:
                raise _too_large(limits)
            contents: dict[str, bytes] = {}
            budget = limits.max_total_bytes
            for info in files:
                data = _read_capped(archive, info, budget)
                if data is None:
                    raise _too_large(limits)
                budget -= len(data)
                contents[info.filename] = data
            return contents
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
        raise ArchiveError("bad_zip", f"The zip archive is damaged: {exc}") from exc


def _read_capped(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int) -> bytes | None:
    """The entry's bytes, or None as soon as they pass ``budget``."""
    chunks: list[bytes] = []
    read = 0
    with archive.open(info) as entry:
        while chunk := entry.read(_READ_CHUNK):
            read += len(chunk)
            if read > budget:
                return None
            chunks.append(chunk)
    return b"".join(chunks)


async def inflate(
    compressed: AsyncIterable[bytes], compression: int, size: int
) -> AsyncIterator[bytes]:
    """The bytes of one entry we wrote, from its compressed bytes, never more than ``size``."""
    if compression == zipfile.ZIP_STORED:
        async for chunk in compressed:
            yield chunk
        return
    decompressor = zlib.decompressobj(-zlib.MAX_WBITS)
    remaining = size
    async for chunk in compressed:
        pending = chunk
        # max_length bounds each step's output (memory), the rest waits in unconsumed_tail;
        # 0 would mean "no limit" to zlib, hence the check before every call.
        while pending and remaining > 0:
            data = decompressor.decompress(pending, min(remaining, _READ_CHUNK * 4))
            pending = decompressor.unconsumed_tail
            remaining -= len(data)
            if data:
                yield data
        if remaining <= 0:
            return
    if remaining > 0 and (tail := decompressor.flush()[:remaining]):
        yield tail
