"""Audit's tables: hash-chained records, chain heads, signed checkpoints, keys and policies.

Each tenant's records form a chain of their own (tenantless events form the
``platform`` chain): retention then prunes the oldest part of one chain
without breaking any other. ``audit_records`` and ``audit_checkpoints`` are
append-only; the migrations add database triggers that refuse changes.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from devgen.kit.db import ModelBase, UTCDateTime
from devgen.kit.events import add_event_tables

PLATFORM_CHAIN = "platform"
"""The chain of events that belong to no tenant (sign-in failures, services)."""


class Base(ModelBase):
    """Root of audit's metadata (its own database and migrations)."""

    __abstract__ = True


class AuditRecord(Base):
    """One thing that happened; ``hash`` links it to the record before it in its chain."""

    __tablename__ = "audit_records"
    __table_args__ = (
        UniqueConstraint("chain", "seq", name="uq_audit_records_chain_seq"),
        Index("ix_audit_records_tenant_recorded", "tenant_id", "recorded_at", "id"),
        Index("ix_audit_records_recorded", "recorded_at", "id"),
        Index("ix_audit_records_action", "action"),
        Index("ix_audit_records_actor", "actor"),
        Index("ix_audit_records_trace", "trace_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    chain: Mapped[str] = mapped_column(String(36))
    seq: Mapped[int] = mapped_column(BigInteger)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    time: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    actor: Mapped[str | None] = mapped_column(String(200), nullable=True)
    action: Mapped[str] = mapped_column(String(200))
    resource_type: Mapped[str] = mapped_column(String(64))
    resource_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    outcome: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    # The W3C trace id of the request that caused it: one run's records share it.
    trace_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    user_agent: Mapped[str | None] = mapped_column(String(512), nullable=True)
    level: Mapped[str] = mapped_column(String(16))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditChain(Base):
    """The head of a chain: its last sequence number and hash (locked while appending)."""

    __tablename__ = "audit_chains"

    chain: Mapped[str] = mapped_column(String(36), primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditCheckpoint(Base):
    """A signed statement "chain C had record ``seq`` with ``hash``", made regularly.

    ``kind`` is ``periodic``, ``export`` (the last record of an export) or
    ``retention`` (the last record pruned: the first kept record links to it).
    """

    __tablename__ = "audit_checkpoints"
    __table_args__ = (Index("ix_audit_checkpoints_chain_seq", "chain", "seq"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    chain: Mapped[str] = mapped_column(String(36))
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    kid: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(128))


class AuditSigningKey(Base):
    """An Ed25519 key pair that signs checkpoints; the public half is published."""

    __tablename__ = "audit_signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    private_pem: Mapped[str] = mapped_column(Text)
    public_jwk: Mapped[dict[str, str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AuditPolicy(Base):
    """What a tenant keeps: retention in days and the level per event-type pattern."""

    __tablename__ = "audit_policies"

    chain: Mapped[str] = mapped_column(String(36), primary_key=True)
    retention_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    levels: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


add_event_tables(Base.metadata, emits=False)
