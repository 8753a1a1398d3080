"""The executor's queries. Anything a client reaches is looked up with its tenant id.

The functions without a tenant id serve the executor's own machinery (the
worker claiming its execution, restart recovery, the lease keeper); they
never answer a client directly.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from devgen.services.executor.models import (
    Environment,
    EnvironmentBuild,
    Execution,
    ExecutionInput,
    ExecutionResult,
)

QUEUED = "queued"
RUNNING = "running"
FINISHED = "finished"

# Verdicts that depend on the machine's load or on the caller, not on the
# inputs: never served from the cache.
UNCACHEABLE_VERDICTS = ("killed", "internal_error", "wall_time_limit")


async def execution_of_tenant(
    session: AsyncSession, tenant_id: uuid.UUID, execution_id: uuid.UUID
) -> Execution | None:
    """The tenant's execution with this id (another tenant's is ``None``)."""
    row: Execution | None = await session.scalar(
        select(Execution).where(Execution.id == execution_id, Execution.tenant_id == tenant_id)
    )
    return row


async def execution_by_idempotency_key(
    session: AsyncSession, tenant_id: uuid.UUID, key: str
) -> Execution | None:
    """The tenant's execution created with this ``Idempotency-Key``."""
    row: Execution | None = await session.scalar(
        select(Execution).where(Execution.tenant_id == tenant_id, Execution.idempotency_key == key)
    )
    return row


async def cached_execution(
    session: AsyncSession, tenant_id: uuid.UUID, cache_key: str
) -> Execution | None:
    """The tenant's newest finished execution with ``cache_key`` whose result may be reused."""
    row: Execution | None = await session.scalar(
        select(Execution)
        .where(
            Execution.tenant_id == tenant_id,
            Execution.cache_key == cache_key,
            Execution.status == FINISHED,
            Execution.result_id.is_not(None),
            Execution.verdict.not_in(UNCACHEABLE_VERDICTS),
        )
        .order_by(Execution.finished_at.desc())
        .limit(1)
    )
    return row


def executions_of_tenant(
    tenant_id: uuid.UUID,
    *,
    status: str | None = None,
    verdict: str | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
) -> Select[Any]:
    """The tenant's executions matching the filters (ordering is the caller's)."""
    query = select(Execution).where(Execution.tenant_id == tenant_id)
    if status is not None:
        query = query.where(Execution.status == status)
    if verdict is not None:
        query = query.where(Execution.verdict == verdict)
    if created_after is not None:
        query = query.where(Execution.created_at >= created_after)
    if created_before is not None:
        query = query.where(Execution.created_at < created_before)
    return query


async def result(session: AsyncSession, result_id: uuid.UUID) -> ExecutionResult | None:
    """A stored result (reached through an execution the caller may read)."""
    return await session.get(ExecutionResult, result_id)


async def inputs(session: AsyncSession, execution_id: uuid.UUID) -> ExecutionInput | None:
    """The files and stdin of an execution not finished yet."""
    return await session.get(ExecutionInput, execution_id)


def claimed(owner: str, now: datetime) -> dict[str, Any]:
    """The columns of a row claimed by ``owner``: running, its lease starting ``now``."""
    return {"status": RUNNING, "owner": owner, "started_at": now, "heartbeat_at": now}


async def claim(
    session: AsyncSession, execution_id: uuid.UUID, owner: str, now: datetime
) -> Execution | None:
    """Move a queued execution to running for ``owner``; ``None`` if it is not queued.

    The status check is in the UPDATE itself, so two processes can never
    both claim one execution; RETURNING hands back the row in the same
    round trip.
    """
    rows = await session.scalars(
        update(Execution)
        .where(Execution.id == execution_id, Execution.status == QUEUED)
        .values(**claimed(owner, now))
        .returning(Execution),
        execution_options={"synchronize_session": False},
    )
    return rows.one_or_none()


async def add_result(session: AsyncSession, row: ExecutionResult) -> None:
    """Store a sandbox result.

    A plain INSERT of every column: a result is never changed once written,
    so the unit of work's bookkeeping (identity map, flush) buys nothing.
    """
    values = {column.key: getattr(row, column.key) for column in ExecutionResult.__table__.columns}
    await session.execute(insert(ExecutionResult).values(**values))


async def finish(
    session: AsyncSession,
    execution_id: uuid.UUID,
    *,
    verdict: str,
    now: datetime,
    exit_code: int | None = None,
    reason: str | None = None,
    result_id: uuid.UUID | None = None,
    only_if: Sequence[str] = (QUEUED, RUNNING),
    inputs: bool = True,
) -> Execution | None:
    """Record the end of an execution still in one of ``only_if``; drop its inputs.

    Returns the row as finished (RETURNING: the same round trip), ``None``
    when it was not in ``only_if``. A ``reason`` of ``None`` keeps the one
    already recorded (a cancellation writes who cancelled before the worker
    records the verdict). ``inputs=False``: it has no inputs row to delete
    (it was claimed by the request that accepted it).
    """
    values: dict[str, Any] = {
        "status": FINISHED,
        "verdict": verdict,
        "exit_code": exit_code,
        "result_id": result_id,
        "finished_at": now,
        "owner": None,
    }
    if reason is not None:
        values["reason"] = reason
    finished = await session.scalars(
        update(Execution)
        .where(Execution.id == execution_id, Execution.status.in_(only_if))
        .values(**values)
        .returning(Execution),
        execution_options={"synchronize_session": False, "populate_existing": True},
    )
    row = finished.one_or_none()
    if inputs:
        await session.execute(
            delete(ExecutionInput).where(ExecutionInput.execution_id == execution_id)
        )
    return row


async def request_cancel(
    session: AsyncSession, execution_id: uuid.UUID, *, reason: str, now: datetime
) -> None:
    """Flag an unfinished execution for cancellation, saying who asked."""
    await session.execute(
        update(Execution)
        .where(Execution.id == execution_id, Execution.status != FINISHED)
        .values(cancel_requested_at=now, reason=reason)
    )


async def queued_ids(session: AsyncSession) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(execution, tenant) of every queued execution, oldest first."""
    rows = await session.execute(
        select(Execution.id, Execution.tenant_id)
        .where(Execution.status == QUEUED)
        .order_by(Execution.created_at, Execution.id)
    )
    return [(row[0], row[1]) for row in rows]


async def running_rows(
    session: AsyncSession,
) -> list[tuple[uuid.UUID, str | None, datetime | None]]:
    """(execution, owner, heartbeat) of every running execution."""
    rows = await session.execute(
        select(Execution.id, Execution.owner, Execution.heartbeat_at).where(
            Execution.status == RUNNING
        )
    )
    return [(row[0], row[1], row[2]) for row in rows]


async def heartbeat(
    session: AsyncSession, ids: Sequence[uuid.UUID], owner: str, now: datetime
) -> None:
    """Renew the lease of the executions ``owner`` runs."""
    if ids:
        await session.execute(
            update(Execution)
            .where(Execution.id.in_(ids), Execution.owner == owner)
            .values(heartbeat_at=now)
        )


async def cancel_requested(session: AsyncSession, ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    """Which of ``ids`` a client asked to cancel (possibly through another process)."""
    if not ids:
        return []
    rows = await session.scalars(
        select(Execution.id).where(
            Execution.id.in_(ids), Execution.cancel_requested_at.is_not(None)
        )
    )
    return list(rows)


async def build(session: AsyncSession, build_id: str) -> EnvironmentBuild | None:
    """An environment build by its key."""
    return await session.get(EnvironmentBuild, build_id)


async def builds_in_progress(session: AsyncSession) -> list[EnvironmentBuild]:
    """Builds recorded as building (after a restart: interrupted ones)."""
    return list(
        await session.scalars(select(EnvironmentBuild).where(EnvironmentBuild.status == "building"))
    )


async def environment_of_tenant(
    session: AsyncSession, tenant_id: uuid.UUID, environment_id: uuid.UUID
) -> Environment | None:
    """The tenant's environment with this id."""
    row: Environment | None = await session.scalar(
        select(Environment).where(
            Environment.id == environment_id, Environment.tenant_id == tenant_id
        )
    )
    return row


async def environment_by_build(
    session: AsyncSession, tenant_id: uuid.UUID, build_id: str
) -> Environment | None:
    """The tenant's environment for this package set, if it created one."""
    row: Environment | None = await session.scalar(
        select(Environment).where(
            Environment.tenant_id == tenant_id, Environment.build_id == build_id
        )
    )
    return row


async def count_environments_of_tenant(session: AsyncSession, tenant_id: uuid.UUID) -> int:
    """How many environments the tenant keeps (built-in ones have no row)."""
    count = await session.scalar(
        select(func.count()).select_from(Environment).where(Environment.tenant_id == tenant_id)
    )
    return int(count or 0)


def environments_of_tenant(tenant_id: uuid.UUID) -> Select[Any]:
    """The tenant's environments, oldest first."""
    return (
        select(Environment)
        .where(Environment.tenant_id == tenant_id)
        .order_by(Environment.created_at, Environment.id)
    )


async def builds_by_id(
    session: AsyncSession, build_ids: Sequence[str]
) -> dict[str, EnvironmentBuild]:
    """Several builds at once, by key."""
    if not build_ids:
        return {}
    rows = await session.scalars(
        select(EnvironmentBuild).where(EnvironmentBuild.id.in_(list(build_ids)))
    )
    return {row.id: row for row in rows}
