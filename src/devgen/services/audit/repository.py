"""Audit's queries. Reads are scoped by tenant; the only writes are appends and pruning."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from devgen.services.audit.models import (
    PLATFORM_CHAIN,
    AuditChain,
    AuditCheckpoint,
    AuditPolicy,
    AuditRecord,
)


def chain_of(tenant_id: uuid.UUID | str | None) -> str:
    """The chain a tenant's records are in (``platform`` for tenantless ones)."""
    return str(tenant_id) if tenant_id is not None else PLATFORM_CHAIN


@dataclass(frozen=True)
class RecordFilter:
    """What a query asks for; ``tenant_id`` None with ``all_tenants`` means every tenant."""

    tenant_id: uuid.UUID | None
    all_tenants: bool = False
    actor: str | None = None
    action_prefix: str | None = None
    resource_type: str | None = None
    resource_id: str | None = None
    outcome: str | None = None
    trace_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _filtered(query: Select[Any], where: RecordFilter) -> Select[Any]:
    if not where.all_tenants:
        query = query.where(
            AuditRecord.tenant_id.is_(None)
            if where.tenant_id is None
            else AuditRecord.tenant_id == where.tenant_id
        )
    if where.actor is not None:
        query = query.where(AuditRecord.actor == where.actor)
    if where.action_prefix is not None:
        escaped = where.action_prefix.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_")
        query = query.where(AuditRecord.action.like(f"{escaped}%", escape="\\"))
    if where.resource_type is not None:
        query = query.where(AuditRecord.resource_type == where.resource_type)
    if where.resource_id is not None:
        query = query.where(AuditRecord.resource_id == where.resource_id)
    if where.outcome is not None:
        query = query.where(AuditRecord.outcome == where.outcome)
    if where.trace_id is not None:
        query = query.where(AuditRecord.trace_id == where.trace_id)
    if where.since is not None:
        query = query.where(AuditRecord.recorded_at >= where.since)
    if where.until is not None:
        query = query.where(AuditRecord.recorded_at < where.until)
    return query


def records(where: RecordFilter) -> Select[Any]:
    """Records matching ``where`` (order and page are the caller's)."""
    return _filtered(select(AuditRecord), where)


async def record(
    session: AsyncSession, record_id: uuid.UUID, where: RecordFilter
) -> AuditRecord | None:
    """One record, if ``where`` lets the caller see it."""
    result: AuditRecord | None = await session.scalar(
        _filtered(select(AuditRecord).where(AuditRecord.id == record_id), where)
    )
    return result


async def record_by_event(session: AsyncSession, event_id: str) -> AuditRecord | None:
    """The record of an event id, if it was recorded."""
    return await session.scalar(select(AuditRecord).where(AuditRecord.event_id == event_id))


async def recorded_event_ids(session: AsyncSession, event_ids: list[str]) -> set[str]:
    """Which of ``event_ids`` have a record."""
    rows = await session.scalars(
        select(AuditRecord.event_id).where(AuditRecord.event_id.in_(event_ids))
    )
    return set(rows)


async def counts(
    session: AsyncSession, where: RecordFilter, column: Any, limit: int = 100
) -> dict[str, int]:
    """How many records per value of ``column`` (the most frequent first)."""
    query = _filtered(select(column, func.count()).group_by(column), where)
    rows = await session.execute(query.order_by(func.count().desc(), column).limit(limit))
    return {str(value): int(number) for value, number in rows.all()}


async def total(session: AsyncSession, where: RecordFilter) -> int:
    """How many records match."""
    query = _filtered(select(func.count()).select_from(AuditRecord), where)
    return int(await session.scalar(query) or 0)


def chain_records(
    session: AsyncSession, chain: str, from_seq: int | None = None, to_seq: int | None = None
) -> AsyncIterator[AuditRecord]:
    """A chain's records in order, streamed."""
    query = select(AuditRecord).where(AuditRecord.chain == chain)
    if from_seq is not None:
        query = query.where(AuditRecord.seq >= from_seq)
    if to_seq is not None:
        query = query.where(AuditRecord.seq <= to_seq)
    return _stream(session, query.order_by(AuditRecord.seq))


async def _stream(session: AsyncSession, query: Select[Any]) -> AsyncIterator[AuditRecord]:
    result = await session.stream_scalars(query.execution_options(yield_per=500))
    async for row in result:
        yield row


async def record_at(session: AsyncSession, chain: str, seq: int) -> AuditRecord | None:
    """The record with ``seq`` in ``chain``."""
    return await session.scalar(
        select(AuditRecord).where(AuditRecord.chain == chain, AuditRecord.seq == seq)
    )


async def seq_range(
    session: AsyncSession, chain: str, since: datetime | None, until: datetime | None
) -> tuple[int | None, int | None]:
    """The first and last sequence number recorded in ``[since, until)`` in a chain."""
    query = select(func.min(AuditRecord.seq), func.max(AuditRecord.seq)).where(
        AuditRecord.chain == chain
    )
    if since is not None:
        query = query.where(AuditRecord.recorded_at >= since)
    if until is not None:
        query = query.where(AuditRecord.recorded_at < until)
    first, last = (await session.execute(query)).one()
    return first, last


async def chains(session: AsyncSession, only: str | None = None) -> list[AuditChain]:
    """Chain heads (one, or all)."""
    query = select(AuditChain).order_by(AuditChain.chain)
    if only is not None:
        query = query.where(AuditChain.chain == only)
    return list(await session.scalars(query))


async def first_seq(session: AsyncSession, chain: str) -> int | None:
    """The oldest sequence number still in a chain."""
    value = await session.scalar(
        select(func.min(AuditRecord.seq)).where(AuditRecord.chain == chain)
    )
    return int(value) if value is not None else None


async def checkpoints(session: AsyncSession, chain: str) -> list[AuditCheckpoint]:
    """A chain's checkpoints, oldest first."""
    rows = await session.scalars(
        select(AuditCheckpoint)
        .where(AuditCheckpoint.chain == chain)
        .order_by(AuditCheckpoint.seq, AuditCheckpoint.created_at)
    )
    return list(rows)


async def checkpoint_at(
    session: AsyncSession, chain: str, seq: int, kind: str | None = None
) -> AuditCheckpoint | None:
    """A checkpoint of ``chain`` at ``seq`` (of ``kind`` when given)."""
    query = select(AuditCheckpoint).where(
        AuditCheckpoint.chain == chain, AuditCheckpoint.seq == seq
    )
    if kind is not None:
        query = query.where(AuditCheckpoint.kind == kind)
    return await session.scalar(query.limit(1))


async def last_checkpoint_seq(session: AsyncSession, chain: str) -> int:
    """The highest sequence number any checkpoint of the chain covers (0 for none)."""
    value = await session.scalar(
        select(func.max(AuditCheckpoint.seq)).where(AuditCheckpoint.chain == chain)
    )
    return int(value or 0)


async def policy(session: AsyncSession, chain: str) -> AuditPolicy | None:
    """A tenant's audit policy, if it set one."""
    return await session.get(AuditPolicy, chain)


async def last_seq_before(session: AsyncSession, chain: str, cutoff: datetime) -> int | None:
    """The last sequence number of a chain recorded before ``cutoff``."""
    value = await session.scalar(
        select(func.max(AuditRecord.seq)).where(
            AuditRecord.chain == chain, AuditRecord.recorded_at < cutoff
        )
    )
    return int(value) if value is not None else None


async def prune(session: AsyncSession, chain: str, through_seq: int) -> int:
    """Delete a chain's records up to ``through_seq`` by the only path the database allows.

    PostgreSQL: the ``audit_prune`` function (its trigger refuses any other
    delete). Both: only records covered by a retention checkpoint can go.
    """
    if session.get_bind().dialect.name == "postgresql":
        removed = await session.scalar(
            text("SELECT audit_prune(:chain, :through)"), {"chain": chain, "through": through_seq}
        )
    else:
        result = await session.execute(
            text("DELETE FROM audit_records WHERE chain = :chain AND seq <= :through"),
            {"chain": chain, "through": through_seq},
        )
        removed = result.rowcount  # type: ignore[attr-defined]
    return int(removed or 0)
