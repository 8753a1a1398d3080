"""Receive request bodies without holding them in memory.

A multipart upload is parsed as it arrives (python-multipart's streaming
parser): the file part's bytes are hashed and appended to a staging file in
batches of about a megabyte, written from a worker thread, and counted
against the limit as they come, so an oversized upload is refused as soon
as it passes the limit, having cost at most the limit in disk and a
megabyte in memory. A file that ends before its first batch is full never
touches the staging directory: it is kept in memory (at most a megabyte)
and hashed there, and the blob store writes it once, straight into place.
Text fields are small and capped. The staging file is removed on every
failure; on success the caller owns it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from anyio import to_thread
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from devgen.kit.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from devgen.services.storage.sniff import SNIFF_BYTES

FLUSH_BYTES = 1024 * 1024
"""Bytes gathered before a write to the staging file (one worker-thread hop each)."""

MAX_TEXT_FIELD_BYTES = 256 * 1024
MAX_FILENAME_BYTES = 1024


@dataclass(slots=True)
class StagedFile:
    """An uploaded file, with what was learnt on the way.

    Its bytes are either in ``data`` (a file smaller than ``FLUSH_BYTES``)
    or in the staging file at ``path``; exactly one of the two is set.
    """

    path: Path | None
    size: int
    sha256: str
    head: bytes
    filename: str | None
    declared_type: str | None
    data: bytes | None = None

    def discard(self) -> None:
        """Remove the staging file, if any (harmless once a store has taken it)."""
        if self.path is not None:
            self.path.unlink(missing_ok=True)


@dataclass(slots=True)
class MultipartUpload:
    """The file part of a multipart body and its text fields."""

    file: StagedFile
    fields: dict[str, str] = field(default_factory=dict)


class _StagingWriter:
    """Appends to a new staging file and hashes what it appends (called from a worker thread)."""

    def __init__(self, directory: Path) -> None:
        try:
            fd, name = tempfile.mkstemp(prefix="upload-", suffix=".part", dir=directory)
        except FileNotFoundError:  # the lifespan makes it; recreated if someone removed it
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix="upload-", suffix=".part", dir=directory)
        self.path = Path(name)
        self._file: BinaryIO = os.fdopen(fd, "wb")
        self._hash = hashlib.sha256()
        self.size = 0

    @classmethod
    def create(cls, directory: Path, first: bytes) -> _StagingWriter:
        """A new staging file holding ``first`` (one worker-thread hop for both)."""
        writer = cls(directory)
        try:
            writer.write(first)
        except BaseException:
            writer.abandon()
            raise
        return writer

    def write(self, data: bytes) -> None:
        self._file.write(data)
        self._hash.update(data)
        self.size += len(data)

    def close(self) -> str:
        self._file.close()
        return self._hash.hexdigest()

    def abandon(self) -> None:
        with contextlib.suppress(OSError):
            self._file.close()
        self.path.unlink(missing_ok=True)


def _media_type(request: Request) -> tuple[bytes, dict[bytes, bytes]]:
    return parse_options_header(request.headers.get("content-type", "").encode("latin-1"))


def is_multipart(request: Request) -> bool:
    """Whether the request's body is ``multipart/form-data``."""
    return _media_type(request)[0] == b"multipart/form-data"


def _decode(value: bytes) -> str:
    # Browsers send UTF-8 file names raw inside the quotes (RFC 7578 §4.2).
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


class _Receiver:
    """Callbacks for the streaming parser; holds the state of the part being read."""

    def __init__(
        self, file_field: str, text_fields: frozenset[str], max_file_bytes: int, staging: Path
    ) -> None:
        self.file_field = file_field
        self.text_fields = text_fields
        self.max_file_bytes = max_file_bytes
        self.staging = staging
        self.has_file = False
        self.writer: _StagingWriter | None = None
        self.pending = bytearray()
        self.head = bytearray()
        self.filename: str | None = None
        self.declared_type: str | None = None
        self.fields: dict[str, str] = {}
        self.ended = False
        self._header_field = bytearray()
        self._header_value = bytearray()
        self._headers: dict[bytes, bytes] = {}
        self._part: str | None = None
        self._text = bytearray()
        self._file_size = 0

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": lambda d, s, e: self._header_field.extend(d[s:e]),
            "on_header_value": lambda d, s, e: self._header_value.extend(d[s:e]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
            "on_end": self._end,
        }

    def _part_begin(self) -> None:
        self._headers = {}
        self._part = None

    def _header_end(self) -> None:
        self._headers[bytes(self._header_field).strip().lower()] = bytes(self._header_value).strip()
        self._header_field.clear()
        self._header_value.clear()

    def _headers_finished(self) -> None:
        disposition, options = parse_options_header(self._headers.get(b"content-disposition"))
        name = _decode(options.get(b"name", b""))
        if disposition != b"form-data" or not name:
            raise BadRequest("Every multipart part needs `Content-Disposition: form-data; name=…`.")
        if name == self.file_field and b"filename" in options:
            if self.has_file:
                raise ValidationFailed(
                    f"Send exactly one file, in the field `{self.file_field}`.",
                    details={"field": self.file_field, "reason": "several_files"},
                )
            raw_name = options[b"filename"]
            if len(raw_name) > MAX_FILENAME_BYTES:
                raise ValidationFailed(
                    "The file name is too long.", details={"field": "name", "reason": "too_long"}
                )
            self.filename = _decode(raw_name)
            declared = self._headers.get(b"content-type")
            self.declared_type = declared.decode("latin-1") if declared else None
            self.has_file = True
            self._part = "file"
            return
        if name in self.text_fields and name not in self.fields:
            self._part = name
            self._text = bytearray()
            return
        expected = sorted({self.file_field, *self.text_fields})
        raise ValidationFailed(
            f"Unexpected or repeated multipart field {name[:100]!r}; expected {expected}.",
            details={"field": name[:100], "expected": expected},
        )

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._part == "file":
            self._file_size += end - start
            if self._file_size > self.max_file_bytes:
                raise PayloadTooLarge(
                    f"The file is larger than {self.max_file_bytes} bytes.",
                    details={"max_bytes": self.max_file_bytes},
                )
            if len(self.head) < SNIFF_BYTES:
                self.head.extend(data[start : min(end, start + SNIFF_BYTES - len(self.head))])
            self.pending.extend(data[start:end])
        elif self._part is not None:
            self._text.extend(data[start:end])
            if len(self._text) > MAX_TEXT_FIELD_BYTES:
                raise PayloadTooLarge(
                    f"The field `{self._part}` is larger than {MAX_TEXT_FIELD_BYTES} bytes.",
                    details={"field": self._part, "max_bytes": MAX_TEXT_FIELD_BYTES},
                )

    def _part_end(self) -> None:
        part, self._part = self._part, None
        if part is None or part == "file":
            return
        try:
            self.fields[part] = self._text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValidationFailed(
                f"The field `{part}` is not UTF-8 text.", details={"field": part}
            ) from exc

    def _end(self) -> None:
        self.ended = True


async def receive_multipart(
    request: Request,
    *,
    file_field: str,
    text_fields: frozenset[str],
    max_file_bytes: int,
    staging: Path,
    in_memory: bool = True,
) -> MultipartUpload:
    """Stream a ``multipart/form-data`` body: one file (staged) and some text fields.

    With ``in_memory`` a file smaller than ``FLUSH_BYTES`` is handed back in
    ``StagedFile.data``; without it the file is always in a staging file.

    415 when the body is not multipart, 400 when it is malformed or cut
    short, 413 when the file or a field is too large, 422 when the file is
    missing or a field is unexpected.
    """
    media_type, options = _media_type(request)
    boundary = options.get(b"boundary")
    if media_type != b"multipart/form-data" or not boundary:
        raise UnsupportedMediaType(
            f"Send multipart/form-data with the file in a field named `{file_field}`."
        )
    receiver = _Receiver(file_field, text_fields, max_file_bytes, staging)
    try:
        try:
            parser = MultipartParser(boundary, receiver.callbacks())  # type: ignore[arg-type]
        except FormParserError as exc:
            raise BadRequest("The multipart boundary is not valid.") from exc
        async for chunk in request.stream():
            parser.write(chunk)
            if len(receiver.pending) >= FLUSH_BYTES:
                await _flush(receiver)
        if not receiver.ended:
            raise BadRequest("The multipart body ended before its closing boundary.")
        if not receiver.has_file:
            raise ValidationFailed(
                f"Send the file in a multipart field named `{file_field}` (with a file name).",
                details={"field": file_field, "reason": "missing"},
            )
        if receiver.writer is None and not in_memory:
            await _flush(receiver)  # creates the staging file, even for an empty file
        writer = receiver.writer
        if writer is None:
            # All of it fits in one batch: hashed here (at most a megabyte), kept in memory.
            data = bytes(receiver.pending)
            path, size, digest = None, len(data), hashlib.sha256(data).hexdigest()
        else:
            if receiver.pending:
                await _flush(receiver)
            data, path, size = None, writer.path, writer.size
            digest = await to_thread.run_sync(writer.close)
    except FormParserError as exc:
        _abandon(receiver)
        raise BadRequest("The multipart body is malformed.") from exc
    except ClientDisconnect as exc:
        # Also what the chassis's body limit looks like from here: it has answered 413 already.
        _abandon(receiver)
        raise BadRequest("The client stopped sending the body.") from exc
    except BaseException:
        _abandon(receiver)
        raise
    return MultipartUpload(
        file=StagedFile(
            path=path,
            size=size,
            sha256=digest,
            head=bytes(receiver.head),
            filename=receiver.filename,
            declared_type=receiver.declared_type,
            data=data,
        ),
        fields=receiver.fields,
    )


async def _flush(receiver: _Receiver) -> None:
    """Append the pending bytes to the staging file, creating it on the first batch."""
    batch = bytes(receiver.pending)
    receiver.pending.clear()
    if receiver.writer is None:
        receiver.writer = await to_thread.run_sync(_StagingWriter.create, receiver.staging, batch)
    else:
        await to_thread.run_sync(receiver.writer.write, batch)


def _abandon(receiver: _Receiver) -> None:
    if receiver.writer is not None:
        receiver.writer.abandon()


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The whole (small) body, refused with 413 as soon as it passes ``max_bytes``."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLarge(
            f"The body is larger than {max_bytes} bytes.", details={"max_bytes": max_bytes}
        )
    body = bytearray()
    try:
        async for chunk in request.stream():
            body.extend(chunk)
            if len(body) > max_bytes:
                raise PayloadTooLarge(
                    f"The body is larger than {max_bytes} bytes.", details={"max_bytes": max_bytes}
                )
    except ClientDisconnect as exc:
        raise BadRequest("The client stopped sending the body.") from exc
    return bytes(body)
