"""Claiming steps with leases, so a run survives the worker that was running it.

A worker claims a task by writing its id and an expiry into the task's
lease columns, and keeps the lease alive with heartbeats. A task whose
lease expired (its worker died, or lost its database) is claimable again:
another worker, or this one after a restart, takes it over and carries on
from the task's checkpoint.

Locks are always taken run first, then task, by every transaction that
changes a run's tasks, so two workers cannot deadlock. On PostgreSQL the
runs are locked ``FOR UPDATE SKIP LOCKED``: a run another worker is
changing right now is left for the next round instead of waited for. On
SQLite a write transaction holds the database's write lock from its
``BEGIN IMMEDIATE``, which makes the whole claim atomic. Either way the
claim itself is a conditional ``UPDATE`` (still claimable?) whose row
count says whether it won.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from devgen.kit.db import utcnow
from devgen.services.orchestrator.models import Run, Task
from devgen.services.orchestrator.states import State


@dataclass(frozen=True)
class Claimed:
    """A task this worker now holds, and how it got it."""

    task_id: uuid.UUID
    run_id: uuid.UUID
    previous_state: str
    previous_owner: str | None

    @property
    def takeover(self) -> bool:
        """True when another worker held it and let its lease expire."""
        return self.previous_state == State.running


def claimable(now: datetime) -> ColumnElement[bool]:
    """The condition a task must meet to be claimed at ``now``."""
    return or_(
        and_(
            Task.state.in_([State.pending.value, State.retrying.value]),
            Task.deps_remaining == 0,
            or_(Task.not_before.is_(None), Task.not_before <= now),
        ),
        and_(Task.state == State.running.value, Task.lease_expires_at < now),
    )


async def claim(
    session: AsyncSession, owner: str, *, lease_seconds: float, limit: int
) -> list[Claimed]:
    """Claim up to ``limit`` tasks for ``owner``; the caller commits."""
    now = utcnow()
    candidates = (
        await session.execute(
            select(Task.id, Task.run_id, Task.state, Task.lease_owner)
            .where(claimable(now))
            .order_by(Task.created_at, Task.position)
            .limit(limit * 4)
        )
    ).all()
    if not candidates:
        return []
    expires = now + timedelta(seconds=lease_seconds)
    locked: dict[uuid.UUID, bool] = {}
    won: list[Claimed] = []
    for row in candidates:
        if len(won) >= limit:
            break
        if row.run_id not in locked:
            # One run at a time, and only while more is wanted: a worker never
            # sits on runs it will not claim from, so the others can.
            locked[row.run_id] = (
                await session.scalar(
                    select(Run.id).where(Run.id == row.run_id).with_for_update(skip_locked=True)
                )
                is not None
            )
        if not locked[row.run_id]:
            continue
        result = await session.execute(
            update(Task)
            .where(Task.id == row.id, claimable(now))
            .values(
                state=State.running.value,
                lease_owner=owner,
                lease_expires_at=expires,
                claims=Task.claims + 1,
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            won.append(Claimed(row.id, row.run_id, row.state, row.lease_owner))
    return won


async def renew(
    session: AsyncSession, owner: str, task_ids: list[uuid.UUID], *, lease_seconds: float
) -> set[uuid.UUID]:
    """Extend ``owner``'s leases on ``task_ids``; returns the ones it still holds."""
    if not task_ids:
        return set()
    rows = await session.scalars(
        update(Task)
        .where(
            Task.id.in_(task_ids),
            Task.lease_owner == owner,
            Task.state == State.running.value,
        )
        .values(lease_expires_at=utcnow() + timedelta(seconds=lease_seconds))
        .returning(Task.id)
        .execution_options(synchronize_session=False)
    )
    return set(rows)


async def lock_run(session: AsyncSession, run_id: uuid.UUID) -> Run | None:
    """The run, locked until the transaction ends (always before any of its tasks)."""
    run: Run | None = await session.scalar(
        select(Run)
        .where(Run.id == run_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return run


async def held_task(session: AsyncSession, task_id: uuid.UUID, owner: str) -> Task | None:
    """The task if ``owner`` still holds its lease (lock its run first)."""
    task: Task | None = await session.scalar(
        select(Task)
        .where(Task.id == task_id, Task.lease_owner == owner, Task.state == State.running.value)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return task
