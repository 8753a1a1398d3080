"""``/api/v1/executions/{id}/logs``: an execution's output as server-sent events."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

from fastapi import APIRouter
from sse_starlette import EventSourceResponse, ServerSentEvent

from devgen.kit.deps import KnownQueryParameters, Session
from devgen.kit.errors import Forbidden, NotFound, Unauthorized, error_responses
from devgen.services.executor import repository
from devgen.services.executor.deps import Reader
from devgen.services.executor.state import State
from devgen.services.executor.stream import output_events

router = APIRouter(
    prefix="/api/v1/executions",
    tags=["executions"],
    responses=error_responses(Unauthorized, Forbidden),
    dependencies=[KnownQueryParameters],
)

_PING_S = 15


@router.get(
    "/{execution_id}/logs",
    response_class=EventSourceResponse,
    responses={
        200: {
            "description": "`text/event-stream`: `status`, `stdout`, `stderr` events "
            '(data `{"text": ...}`), then one `end` with the verdict.',
            "content": {"text/event-stream": {}},
        },
        **error_responses(NotFound),
    },
)
async def stream_logs(
    execution_id: uuid.UUID, session: Session, state: State, principal: Reader
) -> EventSourceResponse:
    """Live stdout/stderr of an execution, replayed from the start, until it ends."""
    assert principal.tenant_id is not None
    if await repository.execution_of_tenant(session, principal.tenant_id, execution_id) is None:
        raise NotFound("The execution was not found.")

    async def events() -> AsyncIterator[ServerSentEvent]:
        async for event in output_events(state.database, state.hub, execution_id):
            yield ServerSentEvent(data=event.data, event=event.event)

    return EventSourceResponse(events(), ping=_PING_S, headers={"Cache-Control": "no-store"})
