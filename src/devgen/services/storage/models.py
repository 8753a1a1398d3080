"""Storage's tables: blobs (content), files and artifacts (what tenants see), their details.

Content lives once per SHA-256 in ``blobs``, with a count of the files and
artifacts that refer to it; the bytes themselves are in the blob store, or,
for an uploaded file of at most ``DEVGEN_STORAGE_INLINE_MAX_BYTES``, in the
row's ``content`` (written in the same commit as the file's row). A
blob whose count has dropped to zero is a pending deletion: its bytes are
removed after the deleting transaction commits (and at start-up, for any a
crash left behind).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from devgen.kit.db import ModelBase, Timestamps, UTCDateTime, UUIDPrimaryKey, utcnow
from devgen.kit.events import add_event_tables


class Base(ModelBase):
    """Root of storage's metadata (its own database and migrations)."""

    __abstract__ = True


class Blob(Base):
    """Bytes stored once, named by their SHA-256, and how many records refer to them."""

    __tablename__ = "blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    ref_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Small uploads' bytes (None: they are in the blob store). Deferred: never loaded by accident.
    content: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)


class File(UUIDPrimaryKey, Timestamps, Base):
    """A file a tenant uploaded: its name, type, size and labels, and the blob with its bytes."""

    __tablename__ = "files"

    tenant_id: Mapped[uuid.UUID] = mapped_column()
    owner_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(127))
    declared_content_type: Mapped[str | None] = mapped_column(String(255), nullable=True)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256"), index=True)

    labels: Mapped[list[FileLabel]] = relationship(
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="selectin",
        order_by="FileLabel.key",
    )


class FileLabel(Base):
    """One key/value label of a file."""

    __tablename__ = "file_labels"

    file_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("files.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(63), primary_key=True)
    value: Mapped[str] = mapped_column(String(256))


class Artifact(UUIDPrimaryKey, Base):
    """A generated project: a deterministic zip (a blob) and its manifest."""

    __tablename__ = "artifacts"
    __table_args__ = (
        UniqueConstraint("tenant_id", "idempotency_key", name="uq_artifacts_idempotency_key"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column()
    owner_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    name: Mapped[str] = mapped_column(String(255))
    engine: Mapped[str | None] = mapped_column(String(64), nullable=True)
    generator_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    run_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True, index=True)
    spec: Mapped[Any] = mapped_column(JSON, nullable=True)
    extra: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    archive_sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256"), index=True)
    archive_size: Mapped[int] = mapped_column(BigInteger)
    file_count: Mapped[int] = mapped_column(Integer)
    total_size: Mapped[int] = mapped_column(BigInteger)
    idempotency_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    request_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    files: Mapped[list[ArtifactFile]] = relationship(
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="raise",
        order_by="ArtifactFile.path",
    )


class ArtifactFile(Base):
    """One file of an artifact, and where its compressed bytes sit inside the zip."""

    __tablename__ = "artifact_files"

    artifact_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("artifacts.id", ondelete="CASCADE"), primary_key=True
    )
    path: Mapped[str] = mapped_column(String(1024), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(127))
    data_offset: Mapped[int] = mapped_column(BigInteger)
    compressed_size: Mapped[int] = mapped_column(BigInteger)
    compression: Mapped[int] = mapped_column(Integer)


Index("ix_files_tenant_created", File.tenant_id, File.created_at, File.id)
Index("ix_files_tenant_name", File.tenant_id, File.name)
Index("ix_file_labels_key_value", FileLabel.key, FileLabel.value)
Index("ix_artifacts_tenant_created", Artifact.tenant_id, Artifact.created_at, Artifact.id)

# Storage emits events (see ``events``) and consumes none: an outbox, no inbox.
add_event_tables(Base.metadata, consumes=False)
