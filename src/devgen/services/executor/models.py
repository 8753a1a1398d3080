"""The executor's tables: executions, their inputs and results, environments and builds.

An execution row is written before anything runs and moves ``queued`` ->
``running`` -> ``finished``; nothing accepted is ever only in memory. The
inputs (files, stdin) sit in their own table so lists stay light, and are
deleted once the execution finished. Results live in their own table too:
a cache hit is a new execution pointing at the stored result.

An environment build is keyed by the hash of its package set, so identical
sets share one build (and one directory on disk) across tenants; each tenant
sees its own ``environments`` row pointing at it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from devgen.kit.db import ModelBase, UTCDateTime, UUIDPrimaryKey, utcnow
from devgen.kit.events import add_event_tables


class Base(ModelBase):
    """Root of the executor's metadata (its own database and migrations)."""

    __abstract__ = True


class ExecutionResult(UUIDPrimaryKey, Base):
    """What one sandboxed run produced; shared by the cache hits that reuse it."""

    __tablename__ = "execution_results"

    exit_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    signal: Mapped[int | None] = mapped_column(Integer, nullable=True)
    stdout: Mapped[bytes] = mapped_column(LargeBinary)
    stderr: Mapped[bytes] = mapped_column(LargeBinary)
    stdout_truncated: Mapped[bool] = mapped_column(Boolean, default=False)
    stderr_truncated: Mapped[bool] = mapped_column(Boolean, default=False)
    cpu_time_s: Mapped[float] = mapped_column(Float)
    wall_time_s: Mapped[float] = mapped_column(Float)
    peak_memory_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    limits: Mapped[dict[str, Any]] = mapped_column(JSON)
    isolation: Mapped[dict[str, Any]] = mapped_column(JSON)
    files: Mapped[dict[str, Any]] = mapped_column(JSON)
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Execution(UUIDPrimaryKey, Base):
    """One request to run something, from acceptance to verdict."""

    __tablename__ = "executions"
    __table_args__ = (
        UniqueConstraint("tenant_id", "idempotency_key", name="uq_execution_idempotency"),
        Index("ix_executions_tenant_created", "tenant_id", "created_at"),
        Index("ix_executions_tenant_cache", "tenant_id", "cache_key"),
        Index("ix_executions_status", "status"),
    )

    tenant_id: Mapped[uuid.UUID]
    actor: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(16))
    verdict: Mapped[str | None] = mapped_column(String(24), nullable=True)
    exit_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    runtime: Mapped[str] = mapped_column(String(16))
    environment_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    environment_name: Mapped[str | None] = mapped_column(String(64), nullable=True)
    command: Mapped[list[str]] = mapped_column(JSON)
    limits: Mapped[dict[str, Any]] = mapped_column(JSON)
    collect: Mapped[list[str]] = mapped_column(JSON)
    cache: Mapped[bool] = mapped_column(Boolean, default=False)
    cache_key: Mapped[str] = mapped_column(String(64))
    cache_hit: Mapped[bool] = mapped_column(Boolean, default=False)
    cached_from: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancel_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    result_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("execution_results.id"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ExecutionInput(Base):
    """The files and stdin of an execution that has not finished yet."""

    __tablename__ = "execution_inputs"

    execution_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("executions.id", ondelete="CASCADE"), primary_key=True
    )
    files: Mapped[dict[str, str]] = mapped_column(JSON)  # path -> base64 of the content
    stdin: Mapped[bytes] = mapped_column(LargeBinary)


class EnvironmentBuild(Base):
    """One package set built into a virtualenv, shared by every tenant that asks for it."""

    __tablename__ = "environment_builds"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # hash of the package set
    runtime: Mapped[str] = mapped_column(String(16))
    python: Mapped[str] = mapped_column(String(32))
    packages: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    log: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Environment(UUIDPrimaryKey, Base):
    """A tenant's dependency set; built-in environments have no row (they are in code)."""

    __tablename__ = "environments"
    __table_args__ = (UniqueConstraint("tenant_id", "build_id", name="uq_environment_build"),)

    tenant_id: Mapped[uuid.UUID] = mapped_column(index=True)
    runtime: Mapped[str] = mapped_column(String(16))
    packages: Mapped[list[str]] = mapped_column(JSON)
    build_id: Mapped[str] = mapped_column(ForeignKey("environment_builds.id"))
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


add_event_tables(Base.metadata, consumes=False)
