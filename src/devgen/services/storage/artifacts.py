"""The rules of artifacts: a generated project kept as a deterministic zip and a manifest.

A project arrives as JSON (paths and texts) or as a zip upload (read back
with every safety check in ``archives``); either way its paths are checked
(``paths``), its size and file count bounded, and it is re-packed into the
same deterministic zip, so the same project always has the same archive
hash however it was sent. An ``Idempotency-Key`` makes a retried request
return the artifact the first one created instead of a second one.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from anyio import to_thread
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from devgen.kit.auth import Principal
from devgen.kit.errors import Conflict, NotFound, PayloadTooLarge, ValidationFailed
from devgen.services.storage import blobs, repository, strictjson
from devgen.services.storage.access import require_deleter, tenant_of
from devgen.services.storage.archives import ArchiveError, ZipEntry, inflate, read_zip, write_zip
from devgen.services.storage.backends import BlobStream
from devgen.services.storage.downloads import open_or_unavailable
from devgen.services.storage.events import StorageEvent, emit
from devgen.services.storage.models import Artifact, ArtifactFile
from devgen.services.storage.schemas import (
    ArtifactCreate,
    ArtifactFileRead,
    ArtifactManifestIn,
    ArtifactRead,
    ArtifactSummary,
)
from devgen.services.storage.sniff import SNIFF_BYTES, sniff
from devgen.services.storage.state import StorageState
from devgen.services.storage.uploads import MultipartUpload

ARTIFACTS_PATH = "/api/v1/artifacts"
MAX_IDEMPOTENCY_KEY_LENGTH = 255
_SIZE_REASONS = frozenset({"too_many_files", "too_large"})


@dataclass(frozen=True, slots=True)
class ProjectInput:
    """A project as received: its manifest fields and its files' bytes."""

    manifest: ArtifactManifestIn
    files: dict[str, bytes]


@dataclass(frozen=True, slots=True)
class _Archive:
    path: Path
    sha256: str
    size: int
    entries: list[ZipEntry]


def _invalid(error: ValidationError, *prefix: str | int) -> RequestValidationError:
    # Rendered by the chassis like any body validation error, with exact locations.
    return RequestValidationError(
        [{**err, "loc": ("body", *prefix, *err["loc"])} for err in error.errors()]
    )


def _check_size(files: dict[str, bytes], state: StorageState) -> None:
    settings = state.settings
    if len(files) > settings.storage_max_artifact_files:
        raise PayloadTooLarge(
            f"An artifact may hold at most {settings.storage_max_artifact_files} files.",
            details={"reason": "too_many_files", "max_files": settings.storage_max_artifact_files},
        )
    total = sum(len(data) for data in files.values())
    if total > settings.storage_max_artifact_bytes:
        raise PayloadTooLarge(
            "The artifact's files add up to more than "
            f"{settings.storage_max_artifact_bytes} bytes.",
            details={"reason": "too_large", "max_bytes": settings.storage_max_artifact_bytes},
        )


def project_from_json(body: bytes, state: StorageState) -> ProjectInput:
    """A project sent as JSON (``ArtifactCreate``); 422 with exact locations when invalid."""
    try:
        document = strictjson.loads(body)
    except strictjson.DuplicateKeyError as exc:
        raise ValidationFailed(
            f"The JSON body is ambiguous: {exc}.", details={"reason": "duplicate_key"}
        ) from exc
    except ValueError as exc:
        raise ValidationFailed(
            "The body is not valid JSON.", details={"reason": "bad_json"}
        ) from exc
    try:
        created = ArtifactCreate.model_validate(document)
    except ValidationError as exc:
        raise _invalid(exc) from exc
    files = {path: text.encode("utf-8") for path, text in created.files.items()}
    _check_size(files, state)
    manifest = ArtifactManifestIn.model_validate(created.model_dump(exclude={"files"}))
    return ProjectInput(manifest=manifest, files=files)


async def project_from_zip(received: MultipartUpload, state: StorageState) -> ProjectInput:
    """A project sent as a zip (field ``archive``) and an optional JSON ``manifest`` field."""
    try:
        manifest = ArtifactManifestIn.model_validate(
            strictjson.loads(received.fields.get("manifest") or "{}")
        )
    except ValidationError as exc:
        raise _invalid(exc, "manifest") from exc
    except ValueError as exc:
        raise ValidationFailed(
            "The `manifest` field must be a JSON object.", details={"field": "manifest"}
        ) from exc
    path = received.file.path
    assert path is not None  # received with in_memory=False
    try:
        files = await to_thread.run_sync(
            read_zip, path, state.archive_limits, limiter=state.archive_workers
        )
    except ArchiveError as exc:
        error = PayloadTooLarge if exc.reason in _SIZE_REASONS else ValidationFailed
        raise error(
            str(exc), details={"field": "archive", "reason": exc.reason, **exc.details}
        ) from exc
    if not files:
        raise ValidationFailed(
            "The archive holds no files.", details={"field": "archive", "reason": "empty"}
        )
    _check_size(files, state)
    return ProjectInput(manifest=manifest, files=files)


def _pack(files: dict[str, bytes], staging: Path) -> _Archive:
    staging.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = staging / f"artifact-{uuid.uuid4().hex}.zip"
    try:
        entries = write_zip(files, path)
        digest = hashlib.sha256()
        with path.open("rb") as archive:
            while chunk := archive.read(1024 * 1024):
                digest.update(chunk)
        return _Archive(
            path=path, sha256=digest.hexdigest(), size=path.stat().st_size, entries=entries
        )
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def _fingerprint(archive_sha256: str, manifest: ArtifactManifestIn) -> str:
    """What makes two requests "the same" for an idempotency key."""
    canonical = json.dumps(
        {"archive": archive_sha256, **manifest.model_dump(mode="json")},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _content_type(path: str, data: bytes) -> str:
    guessed, _ = mimetypes.guess_type(path, strict=False)
    return sniff(data[:SNIFF_BYTES], guessed, complete=len(data) <= SNIFF_BYTES)


def check_idempotency_key(key: str | None) -> str | None:
    """The key if it is usable: 1-255 visible ASCII characters."""
    if key is None:
        return None
    if not 0 < len(key) <= MAX_IDEMPOTENCY_KEY_LENGTH or not all(
        0x21 <= ord(c) <= 0x7E for c in key
    ):
        raise ValidationFailed(
            "Idempotency-Key must be 1-255 visible ASCII characters.",
            details={"field": "Idempotency-Key"},
        )
    return key


async def create(
    session: AsyncSession,
    state: StorageState,
    principal: Principal,
    project: ProjectInput,
    idempotency_key: str | None,
) -> tuple[ArtifactRead, bool]:
    """Store the project; returns the artifact and whether it was replayed for the key.

    The zip is built before the database is touched, so the transaction
    (and, on SQLite, the write lock) is held only for the bookkeeping.
    Reusing a key for a different project is a 409.
    """
    tenant_id = tenant_of(principal)
    archive = await to_thread.run_sync(
        _pack, project.files, state.staging, limiter=state.archive_workers
    )
    try:
        fingerprint = _fingerprint(archive.sha256, project.manifest)
        if idempotency_key is not None:
            await repository.lock_idempotency_key(session, tenant_id, idempotency_key)
            existing = await repository.artifact_by_idempotency_key(
                session, tenant_id, idempotency_key
            )
            if existing is not None:
                if existing.request_sha256 != fingerprint:
                    raise Conflict(
                        "This Idempotency-Key was already used for a different artifact.",
                        details={"reason": "idempotency_key_reused"},
                    )
                return to_read(existing), True
        artifact = await _insert(
            session, state, principal, tenant_id, project, archive, idempotency_key, fingerprint
        )
        return to_read(artifact), False
    finally:
        archive.path.unlink(missing_ok=True)


async def _insert(
    session: AsyncSession,
    state: StorageState,
    principal: Principal,
    tenant_id: uuid.UUID,
    project: ProjectInput,
    archive: _Archive,
    idempotency_key: str | None,
    fingerprint: str,
) -> Artifact:
    stored_now = await blobs.add_reference(
        session, state.store, archive.sha256, archive.size, archive.path
    )
    try:
        manifest = project.manifest
        artifact = Artifact(
            tenant_id=tenant_id,
            owner_id=principal.user_id,
            name=manifest.name,
            engine=manifest.engine,
            generator_version=manifest.generator_version,
            run_id=manifest.run_id,
            spec=manifest.spec,
            extra=manifest.metadata,
            archive_sha256=archive.sha256,
            archive_size=archive.size,
            file_count=len(archive.entries),
            total_size=sum(entry.size for entry in archive.entries),
            idempotency_key=idempotency_key,
            request_sha256=fingerprint,
            files=[
                ArtifactFile(
                    path=entry.path,
                    size=entry.size,
                    sha256=entry.sha256,
                    content_type=_content_type(entry.path, project.files[entry.path]),
                    data_offset=entry.data_offset,
                    compressed_size=entry.compressed_size,
                    compression=entry.compression,
                )
                for entry in archive.entries
            ],
        )
        session.add(artifact)
        await session.flush()
        await emit(
            session,
            StorageEvent.artifact_created,
            principal,
            str(artifact.id),
            {
                "artifact_id": str(artifact.id),
                "run_id": str(manifest.run_id) if manifest.run_id else None,
                "archive_sha256": archive.sha256,
                "file_count": artifact.file_count,
            },
        )
    except BaseException:
        if stored_now:
            await blobs.undo_store(state.store, archive.sha256)
        raise
    return artifact


def _download_url(artifact: Artifact) -> str:
    return f"{ARTIFACTS_PATH}/{artifact.id}/download"


def _summary_fields(artifact: Artifact) -> dict[str, Any]:
    return {
        "id": artifact.id,
        "name": artifact.name,
        "engine": artifact.engine,
        "generator_version": artifact.generator_version,
        "run_id": artifact.run_id,
        "owner_id": artifact.owner_id,
        "file_count": artifact.file_count,
        "total_size": artifact.total_size,
        "archive_sha256": artifact.archive_sha256,
        "archive_size": artifact.archive_size,
        "created_at": artifact.created_at,
        "download_url": _download_url(artifact),
    }


def to_summary(artifact: Artifact) -> ArtifactSummary:
    """An artifact as lists show it."""
    return ArtifactSummary(**_summary_fields(artifact))


def to_read(artifact: Artifact) -> ArtifactRead:
    """An artifact's full manifest (its files must be loaded)."""
    return ArtifactRead(
        **_summary_fields(artifact),
        spec=artifact.spec,
        metadata=artifact.extra or {},
        files=[
            ArtifactFileRead(
                path=file.path, size=file.size, sha256=file.sha256, content_type=file.content_type
            )
            for file in artifact.files
        ],
    )


async def get(
    session: AsyncSession, principal: Principal, artifact_id: uuid.UUID, *, with_files: bool = False
) -> Artifact:
    """The caller's tenant's artifact; 404 when there is none (or it is another tenant's)."""
    artifact = await repository.artifact_of_tenant(
        session, tenant_of(principal), artifact_id, with_files=with_files
    )
    if artifact is None:
        raise NotFound("There is no such artifact.")
    return artifact


async def delete(session: AsyncSession, principal: Principal, artifact_id: uuid.UUID) -> str:
    """Delete the artifact; returns its archive's blob key, to ``collect`` after the commit."""
    artifact = await get(session, principal, artifact_id)
    require_deleter(principal, artifact.owner_id)
    sha256 = artifact.archive_sha256
    await session.delete(artifact)
    await session.flush()
    await blobs.drop_reference(session, sha256)
    await emit(
        session,
        StorageEvent.artifact_deleted,
        principal,
        str(artifact_id),
        {"artifact_id": str(artifact_id), "archive_sha256": sha256},
    )
    return sha256


@dataclass(frozen=True, slots=True)
class OpenedFile:
    """One file of an artifact, ready to stream."""

    record: ArtifactFile
    chunks: AsyncIterator[bytes]


async def _inflated(stream: BlobStream, record: ArtifactFile) -> AsyncIterator[bytes]:
    try:
        async for chunk in inflate(stream, record.compression, record.size):
            yield chunk
    finally:
        await stream.aclose()


async def _empty() -> AsyncIterator[bytes]:
    nothing: tuple[bytes, ...] = ()
    for chunk in nothing:
        yield chunk


async def open_file(
    session: AsyncSession,
    state: StorageState,
    principal: Principal,
    artifact_id: uuid.UUID,
    path: str,
) -> OpenedFile:
    """One file of the artifact, read from its archive (only that entry's bytes are fetched)."""
    found = await repository.artifact_file(session, tenant_of(principal), artifact_id, path)
    if found is None:
        raise NotFound("The artifact has no such file.")
    artifact, record = found
    if record.size == 0:
        return OpenedFile(record=record, chunks=_empty())
    stream = await open_or_unavailable(
        state.store,
        artifact.archive_sha256,
        record.data_offset,
        record.data_offset + record.compressed_size - 1,
    )
    return OpenedFile(record=record, chunks=_inflated(stream, record))
