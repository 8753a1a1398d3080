"""The orchestrator's tables: projects, workflows, runs, their tasks and events."""

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
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from devgen.kit.db import ModelBase, Timestamps, UTCDateTime, UUIDPrimaryKey, utcnow
from devgen.kit.events import add_event_tables


class Base(ModelBase):
    """Root of the orchestrator's metadata (its own database and migrations)."""

    __abstract__ = True


class Project(UUIDPrimaryKey, Timestamps, Base):
    """What a user wants generated, and how: requirement or spec, engine, budget."""

    __tablename__ = "projects"

    tenant_id: Mapped[uuid.UUID] = mapped_column(index=True)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    name: Mapped[str] = mapped_column(String(100))
    requirement: Mapped[str | None] = mapped_column(Text, nullable=True)
    spec: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    engine: Mapped[str] = mapped_column(String(16))
    analyst: Mapped[str] = mapped_column(String(16), default="template")
    language: Mapped[str] = mapped_column(String(32))
    template: Mapped[str] = mapped_column(String(64))
    budget: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Workflow(UUIDPrimaryKey, Timestamps, Base):
    """A user-defined DAG of built-in steps (the default workflow lives in code)."""

    __tablename__ = "workflows"

    tenant_id: Mapped[uuid.UUID] = mapped_column(index=True)
    created_by: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(1000), default="")
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)


class Run(UUIDPrimaryKey, Timestamps, Base):
    """One execution of a workflow for a tenant's user.

    ``plan`` is the compiled workflow as it was when the run started, so
    editing or deleting the workflow later changes nothing about the run.
    ``event_seq`` numbers the run's events; incrementing it is also what
    serialises the transitions of one run (it locks the row).
    """

    __tablename__ = "runs"

    tenant_id: Mapped[uuid.UUID] = mapped_column(index=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    project_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("projects.id", ondelete="SET NULL"), nullable=True, index=True
    )
    workflow_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    workflow_name: Mapped[str] = mapped_column(String(100))
    plan: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    stop_reason: Mapped[str | None] = mapped_column(String(16), nullable=True)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    usage: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    tests: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    artifact_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    event_seq: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancel_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    traceparent: Mapped[str | None] = mapped_column(String(55), nullable=True)
    """The W3C trace context of the request that started the run: its steps join that trace."""
    outputs_removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    """When the step outputs the run kept in storage were deleted (after it ended)."""


class Task(UUIDPrimaryKey, Base):
    """One step of a run (or one compensation), with its lease and its attempts.

    A task is claimable when it is pending or retrying with nothing left to
    wait for (``deps_remaining`` is 0 and ``not_before`` has passed), or
    running under a lease that expired: its worker died, and the task is
    taken over where its ``checkpoint`` left it.
    """

    __tablename__ = "tasks"
    __table_args__ = (UniqueConstraint("run_id", "step", name="uq_task_run_step"),)

    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    tenant_id: Mapped[uuid.UUID] = mapped_column(index=True)
    step: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(16), default="step")
    position: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    max_attempts: Mapped[int] = mapped_column(Integer, default=1)
    needs: Mapped[list[str]] = mapped_column(JSON, default=list)
    deps_remaining: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    lease_owner: Mapped[str | None] = mapped_column(String(100), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    claims: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    output: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    checkpoint: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    attempts_log: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    usage: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class RunEvent(Base):
    """A run's transitions in order, for ``GET /runs/{id}/events`` (SSE, resumable)."""

    __tablename__ = "run_events"
    __table_args__ = (UniqueConstraint("run_id", "seq", name="uq_run_event_seq"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(100))
    step: Mapped[str | None] = mapped_column(String(64), nullable=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


Index("ix_tasks_claimable", Task.state, Task.deps_remaining, Task.not_before)
Index("ix_tasks_run", Task.run_id, Task.position)
Index("ix_tasks_lease_owner", Task.lease_owner)
Index("ix_runs_tenant_created", Run.tenant_id, Run.created_at)

add_event_tables(Base.metadata, emits=True, consumes=False)
