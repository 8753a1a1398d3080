"""Storage's queries. Files and artifacts are always looked up with their tenant id."""

from __future__ import annotations

import uuid
import zlib
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, delete, exists, func, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from devgen.kit.db import utcnow
from devgen.services.storage.models import Artifact, ArtifactFile, Blob, File, FileLabel


def _insert(session: AsyncSession) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


@cache
def _blob_upsert(dialect: str, inline: bool) -> Any:
    # Built once per dialect (bound parameters only): an upload pays for executing
    # the statement, not for constructing and compiling it again.
    insert_for = postgresql.insert if dialect == "postgresql" else sqlite.insert
    values: dict[str, Any] = {
        "sha256": bindparam("sha256"),
        "size": bindparam("size"),
        "ref_count": 1,
        "created_at": bindparam("created_at"),
    }
    counted: dict[str, Any] = {"ref_count": Blob.ref_count + 1}
    if inline:
        values["content"] = bindparam("content")
        # A row whose bytes are in the store gets them inline too (the store's copy
        # goes with the row); a row that has them keeps its own.
        counted["content"] = func.coalesce(Blob.content, insert_for(Blob).excluded.content)
    statement = insert_for(Blob).values(**values)
    return statement.on_conflict_do_update(index_elements=[Blob.sha256], set_=counted)


async def add_blob_reference(
    session: AsyncSession, sha256: str, size: int, content: bytes | None = None
) -> None:
    """Count one more reference to blob ``sha256``, creating its row if needed.

    With ``content`` the bytes are kept in the row (small uploads). One
    statement (an upsert), so concurrent uploads of the same bytes cannot
    lose a count; on PostgreSQL it also locks the row until commit, which
    keeps a concurrent clean-up of the same blob waiting.
    """
    parameters: dict[str, Any] = {"sha256": sha256, "size": size, "created_at": utcnow()}
    if content is not None:
        parameters["content"] = content
    await session.execute(
        _blob_upsert(session.get_bind().dialect.name, content is not None), parameters
    )


async def claim_orphans(session: AsyncSession, keys: list[str]) -> None:
    """Give each key without a row one with no references, so ``collect`` may remove its bytes.

    An upload of the same bytes that has its row already keeps it (nothing
    is changed); one that comes later finds the row locked by ``collect``
    or gone, and stores the bytes again.
    """
    if not keys:
        return
    insert_for = _insert(session)
    now = utcnow()
    rows = [{"sha256": key, "size": 0, "ref_count": 0, "created_at": now} for key in keys]
    await session.execute(
        insert_for(Blob).on_conflict_do_nothing(index_elements=[Blob.sha256]), rows
    )


async def known_blobs(session: AsyncSession, keys: list[str]) -> set[str]:
    """Which of ``keys`` have a row."""
    if not keys:
        return set()
    return set(await session.scalars(select(Blob.sha256).where(Blob.sha256.in_(keys))))


async def inline_content(session: AsyncSession, sha256: str) -> bytes | None:
    """The blob's bytes when its row holds them (None: they are in the blob store)."""
    content: bytes | None = await session.scalar(select(Blob.content).where(Blob.sha256 == sha256))
    return content


_INSERT_FILE = insert(File)
_INSERT_LABELS = insert(FileLabel)


async def insert_file(
    session: AsyncSession, values: dict[str, Any], labels: dict[str, str]
) -> None:
    """Insert a file's row and its labels: plain INSERTs, without the ORM's unit of work.

    ``values`` holds every column (id and timestamps included), so nothing
    needs reading back.
    """
    await session.execute(_INSERT_FILE, values)
    if labels:
        await session.execute(
            _INSERT_LABELS,
            [{"file_id": values["id"], "key": key, "value": val} for key, val in labels.items()],
        )


async def drop_blob_reference(session: AsyncSession, sha256: str) -> None:
    """Count one reference fewer; at zero the blob awaits clean-up."""
    await session.execute(
        update(Blob).where(Blob.sha256 == sha256).values(ref_count=Blob.ref_count - 1)
    )


async def locked_blob(session: AsyncSession, sha256: str) -> Blob | None:
    """The blob's row, locked until the transaction ends (PostgreSQL; SQLite locks the database)."""
    blob: Blob | None = await session.scalar(
        select(Blob).where(Blob.sha256 == sha256).with_for_update()
    )
    return blob


async def delete_blob_row(session: AsyncSession, sha256: str) -> None:
    """Forget a blob whose bytes have been removed."""
    await session.execute(delete(Blob).where(Blob.sha256 == sha256))


async def unreferenced_blobs(session: AsyncSession, limit: int) -> list[str]:
    """Blobs nothing refers to any more (pending clean-up)."""
    rows = await session.scalars(
        select(Blob.sha256).where(Blob.ref_count <= 0).order_by(Blob.sha256).limit(limit)
    )
    return list(rows)


async def file_of_tenant(
    session: AsyncSession, tenant_id: uuid.UUID, file_id: uuid.UUID
) -> File | None:
    """The tenant's file with this id."""
    file: File | None = await session.scalar(
        select(File).where(File.id == file_id, File.tenant_id == tenant_id)
    )
    return file


@dataclass(frozen=True, slots=True)
class FileFilters:
    """What a file list may be narrowed by."""

    name_prefix: str | None = None
    content_type: str | None = None
    labels: tuple[tuple[str, str | None], ...] = ()
    created_after: datetime | None = None
    created_before: datetime | None = None


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def files_of_tenant(tenant_id: uuid.UUID, filters: FileFilters) -> Select[Any]:
    """The tenant's files matching every filter (unordered; the pager orders)."""
    query = select(File).where(File.tenant_id == tenant_id)
    if filters.name_prefix:
        query = query.where(File.name.like(_escape_like(filters.name_prefix) + "%", escape="\\"))
    if filters.content_type:
        query = query.where(File.content_type == filters.content_type)
    for key, value in filters.labels:
        condition = (FileLabel.file_id == File.id) & (FileLabel.key == key)
        if value is not None:
            condition = condition & (FileLabel.value == value)
        query = query.where(exists().where(condition))
    if filters.created_after:
        query = query.where(File.created_at >= filters.created_after)
    if filters.created_before:
        query = query.where(File.created_at < filters.created_before)
    return query


async def artifact_of_tenant(
    session: AsyncSession, tenant_id: uuid.UUID, artifact_id: uuid.UUID, *, with_files: bool = False
) -> Artifact | None:
    """The tenant's artifact with this id (and its file list when asked)."""
    query = select(Artifact).where(Artifact.id == artifact_id, Artifact.tenant_id == tenant_id)
    if with_files:
        query = query.options(selectinload(Artifact.files))
    artifact: Artifact | None = await session.scalar(query)
    return artifact


async def artifact_by_idempotency_key(
    session: AsyncSession, tenant_id: uuid.UUID, key: str
) -> Artifact | None:
    """The tenant's artifact created with this ``Idempotency-Key``."""
    artifact: Artifact | None = await session.scalar(
        select(Artifact)
        .where(Artifact.tenant_id == tenant_id, Artifact.idempotency_key == key)
        .options(selectinload(Artifact.files))
    )
    return artifact


async def lock_idempotency_key(session: AsyncSession, tenant_id: uuid.UUID, key: str) -> None:
    """Make concurrent requests with the same key take turns until this transaction ends.

    PostgreSQL gets a transaction-scoped advisory lock; SQLite needs none
    because a write transaction there holds the database's lock from BEGIN.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    lock_id = zlib.crc32(f"storage-idempotency:{tenant_id}:{key}".encode())
    await session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id})


async def artifact_file(
    session: AsyncSession, tenant_id: uuid.UUID, artifact_id: uuid.UUID, path: str
) -> tuple[Artifact, ArtifactFile] | None:
    """One file of the tenant's artifact, with the artifact."""
    row = (
        await session.execute(
            select(Artifact, ArtifactFile)
            .join(ArtifactFile, ArtifactFile.artifact_id == Artifact.id)
            .where(
                Artifact.id == artifact_id,
                Artifact.tenant_id == tenant_id,
                ArtifactFile.path == path,
            )
        )
    ).first()
    return None if row is None else (row[0], row[1])


@dataclass(frozen=True, slots=True)
class ArtifactFilters:
    """What an artifact list may be narrowed by."""

    run_id: uuid.UUID | None = None
    engine: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None


def artifacts_of_tenant(tenant_id: uuid.UUID, filters: ArtifactFilters) -> Select[Any]:
    """The tenant's artifacts matching every filter (unordered; the pager orders)."""
    query = select(Artifact).where(Artifact.tenant_id == tenant_id)
    if filters.run_id:
        query = query.where(Artifact.run_id == filters.run_id)
    if filters.engine:
        query = query.where(Artifact.engine == filters.engine)
    if filters.created_after:
        query = query.where(Artifact.created_at >= filters.created_after)
    if filters.created_before:
        query = query.where(Artifact.created_at < filters.created_before)
    return query
