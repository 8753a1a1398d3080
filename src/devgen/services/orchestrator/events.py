"""The events the orchestrator emits, and the run's own event log behind SSE.

Every transition is written twice in the transaction that makes it: as a
row of the run's log (``run_events``, numbered per run, read by
``GET /runs/{id}/events``) and as a CloudEvent in the outbox, from which
the relay delivers it to the bus and so to audit. Progress notes (a repair
round started, an execution queued) go to the run's log only: they are
not transitions.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from devgen.kit.events import emit
from devgen.services.orchestrator.live import touched
from devgen.services.orchestrator.models import Run, RunEvent

ENGINE_ACTOR = "service:orchestrator"
"""Who makes the transitions the engine drives (on behalf of the run's user)."""


class EventType(StrEnum):
    """Event types, ``orchestrator.<entity>.<verb>``."""

    project_created = "orchestrator.project.created"
    project_updated = "orchestrator.project.updated"
    project_deleted = "orchestrator.project.deleted"
    workflow_created = "orchestrator.workflow.created"
    workflow_deleted = "orchestrator.workflow.deleted"
    run_created = "orchestrator.run.created"
    run_started = "orchestrator.run.started"
    run_cancel_requested = "orchestrator.run.cancel_requested"
    run_compensating = "orchestrator.run.compensating"
    run_succeeded = "orchestrator.run.succeeded"
    run_failed = "orchestrator.run.failed"
    run_cancelled = "orchestrator.run.cancelled"
    run_notified = "orchestrator.run.notified"
    step_started = "orchestrator.step.started"
    step_recovered = "orchestrator.step.recovered"
    step_succeeded = "orchestrator.step.succeeded"
    step_failed = "orchestrator.step.failed"
    step_retrying = "orchestrator.step.retrying"
    step_skipped = "orchestrator.step.skipped"
    step_cancelled = "orchestrator.step.cancelled"
    step_progress = "orchestrator.step.progress"


_LOG_ONLY = frozenset({EventType.step_progress})


async def next_seq(session: AsyncSession, run_id: uuid.UUID) -> int:
    """The next number of the run's log; locks the run's row until the transaction ends."""
    seq = await session.scalar(
        update(Run)
        .where(Run.id == run_id)
        .values(event_seq=Run.event_seq + 1)
        .returning(Run.event_seq)
        .execution_options(synchronize_session=False)
    )
    if seq is None:
        raise LookupError(f"run {run_id} does not exist")
    return int(seq)


async def record(
    session: AsyncSession,
    run: Run,
    event_type: EventType,
    *,
    step: str | None = None,
    data: dict[str, Any] | None = None,
    actor: str | None = ENGINE_ACTOR,
) -> RunEvent:
    """Log ``event_type`` for ``run`` and, unless it is only progress, emit it.

    ``actor`` is the engine by default; pass None to take the request's
    principal (a user creating or cancelling a run).
    """
    payload = {"run_id": str(run.id), **({"step": step} if step else {}), **(data or {})}
    seq = await next_seq(session, run.id)
    row = RunEvent(run_id=run.id, seq=seq, type=event_type.value, step=step, data=payload)
    session.add(row)
    touched(session, run.id)
    if event_type not in _LOG_ONLY:
        if run.user_id is not None:
            payload = {**payload, "on_behalf_of": f"user:{run.user_id}"}
        if actor is None:
            await emit(session, event_type.value, subject=run.id, data=payload)
        else:
            await emit(
                session,
                event_type.value,
                subject=run.id,
                data=payload,
                tenant_id=run.tenant_id,
                actor=actor,
            )
    await session.flush()
    return row


async def emit_resource(
    session: AsyncSession, event_type: EventType, subject: uuid.UUID, data: dict[str, Any]
) -> None:
    """Emit a project or workflow event for the request's principal."""
    await emit(session, event_type.value, subject=subject, data=data)
