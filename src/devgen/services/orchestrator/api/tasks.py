"""``/api/v1/tasks``: one step of a run."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from devgen.kit.deps import KnownQueryParameters, Session
from devgen.kit.errors import Forbidden, NotFound, Unauthorized, error_responses
from devgen.kit.responses import Envelope
from devgen.services.orchestrator import repository, service
from devgen.services.orchestrator.api.deps import Reader
from devgen.services.orchestrator.models import Task
from devgen.services.orchestrator.schemas import TaskDetail, TaskStatus

router = APIRouter(
    prefix="/api/v1/tasks",
    tags=["tasks"],
    dependencies=[KnownQueryParameters],
    responses=error_responses(Unauthorized, Forbidden, NotFound),
)


async def _task(session: Session, principal: Reader, task_id: uuid.UUID) -> Task:
    task = await repository.task_of_tenant(session, service.tenant_of(principal), task_id)
    if task is None:
        raise NotFound("No such task.")
    return task


@router.get("/{task_id}", response_model=Envelope[TaskDetail])
async def get_task(task_id: uuid.UUID, session: Session, principal: Reader) -> Envelope[TaskDetail]:
    """A step with its whole output (values kept in storage appear as references)."""
    task = await _task(session, principal, task_id)
    return Envelope(data=service.to_task_read(task, full=True))  # type: ignore[arg-type]


@router.get("/{task_id}/status", response_model=Envelope[TaskStatus])
async def get_task_status(
    task_id: uuid.UUID, session: Session, principal: Reader
) -> Envelope[TaskStatus]:
    """Where a step stands: state, attempt, timings, lease or next retry, error."""
    task = await _task(session, principal, task_id)
    return Envelope(data=service.to_task_status(task))
