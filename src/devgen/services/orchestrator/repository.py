"""The orchestrator's queries, always scoped by tenant."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from devgen.services.orchestrator.models import Project, Run, RunEvent, Task, Workflow


async def project_of_tenant(
    session: AsyncSession, tenant_id: uuid.UUID, project_id: uuid.UUID
) -> Project | None:
    """The tenant's project, or None (another tenant's is None too)."""
    found: Project | None = await session.scalar(
        select(Project).where(Project.id == project_id, Project.tenant_id == tenant_id)
    )
    return found


def projects_of_tenant(tenant_id: uuid.UUID) -> Select[Any]:
    """The tenant's projects, for pagination."""
    return select(Project).where(Project.tenant_id == tenant_id)


async def workflow_of_tenant(
    session: AsyncSession, tenant_id: uuid.UUID, workflow_id: uuid.UUID
) -> Workflow | None:
    """The tenant's workflow, or None."""
    found: Workflow | None = await session.scalar(
        select(Workflow).where(Workflow.id == workflow_id, Workflow.tenant_id == tenant_id)
    )
    return found


def workflows_of_tenant(tenant_id: uuid.UUID) -> Select[Any]:
    """The tenant's workflows, for pagination."""
    return select(Workflow).where(Workflow.tenant_id == tenant_id)


async def run_of_tenant(
    session: AsyncSession, tenant_id: uuid.UUID, run_id: uuid.UUID
) -> Run | None:
    """The tenant's run, or None."""
    found: Run | None = await session.scalar(
        select(Run).where(Run.id == run_id, Run.tenant_id == tenant_id)
    )
    return found


def runs_of_tenant(
    tenant_id: uuid.UUID,
    *,
    state: str | None = None,
    project_id: uuid.UUID | None = None,
) -> Select[Any]:
    """The tenant's runs, narrowed by state and project, for pagination."""
    query = select(Run).where(Run.tenant_id == tenant_id)
    if state is not None:
        query = query.where(Run.state == state)
    if project_id is not None:
        query = query.where(Run.project_id == project_id)
    return query


async def tasks_of_run(session: AsyncSession, run_id: uuid.UUID) -> list[Task]:
    """A run's tasks in plan order."""
    return list(
        await session.scalars(select(Task).where(Task.run_id == run_id).order_by(Task.position))
    )


async def task_of_tenant(
    session: AsyncSession, tenant_id: uuid.UUID, task_id: uuid.UUID
) -> Task | None:
    """The tenant's task, or None."""
    found: Task | None = await session.scalar(
        select(Task).where(Task.id == task_id, Task.tenant_id == tenant_id)
    )
    return found


async def events_after(
    session: AsyncSession, run_id: uuid.UUID, after: int, limit: int = 200
) -> list[RunEvent]:
    """The run's events numbered above ``after``, in order."""
    return list(
        await session.scalars(
            select(RunEvent)
            .where(RunEvent.run_id == run_id, RunEvent.seq > after)
            .order_by(RunEvent.seq)
            .limit(limit)
        )
    )
