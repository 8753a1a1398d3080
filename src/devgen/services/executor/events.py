"""The events the executor emits (it consumes none).

| type | when | data |
|---|---|---|
| ``executor.execution.queued`` | an execution was accepted | id, runtime, environment, cache_hit |
| ``executor.execution.started`` | a worker claimed it | id |
| ``executor.execution.finished`` | it ended, however | id, verdict, exit_code, reason |
| ``executor.environment.ready`` | a package set was built | id (the build key), packages |
| ``executor.environment.failed`` | a build failed | id, packages, error |

Each is written to the outbox (``devgen.kit.events``) in the transaction
that records the change, so it exists exactly when the change does; the
chassis' relay publishes it. Events carry ids: a consumer reads the
execution through the API.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from devgen.kit.events import FROM_CONTEXT
from devgen.kit.events import emit as outbox_emit

EXECUTION_QUEUED = "executor.execution.queued"
EXECUTION_STARTED = "executor.execution.started"
EXECUTION_FINISHED = "executor.execution.finished"
ENVIRONMENT_READY = "executor.environment.ready"
ENVIRONMENT_FAILED = "executor.environment.failed"

# Work done by the executor's own workers, outside any request.
WORKER_ACTOR = "service:executor"


async def emit(
    session: AsyncSession,
    event_type: str,
    *,
    subject: str,
    tenant_id: uuid.UUID | None,
    data: dict[str, Any],
    in_request: bool = False,
) -> None:
    """Record ``event_type`` about ``subject`` in the transaction of ``session``.

    ``in_request`` takes the actor from the request's caller; otherwise the
    executor's worker is the actor.
    """
    await outbox_emit(
        session,
        event_type,
        subject=subject,
        data=data,
        tenant_id=tenant_id,
        actor=FROM_CONTEXT if in_request else WORKER_ACTOR,
    )
