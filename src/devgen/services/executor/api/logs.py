"""``/api/v1/executions/{id}/logs``: an execution's output as server-sent events."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from sse_starlette import EventSourceResponse, ServerSentEvent

from devgen.kit.deps import KnownQueryParameters, Session
from devgen.kit.errors import Forbidden, NotFound, RateLimited, Unauthorized, error_responses
from devgen.kit.streams import (
    LimitedStream,
    StreamCredential,
    bearer_token,
    closed_event,
    until_revoked,
)
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
_CLOSED_EVENT = "closed"


@router.get(
    "/{execution_id}/logs",
    response_class=EventSourceResponse,
    responses={
        200: {
            "description": "`text/event-stream`: `status`, `stdout`, `stderr` events "
            '(data `{"text": ...}`), then one `end` with the verdict (or `closed` with '
            "the reason, when the credential stops holding).",
            "content": {"text/event-stream": {}},
        },
        **error_responses(NotFound, RateLimited),
    },
)
async def stream_logs(
    execution_id: uuid.UUID, request: Request, session: Session, state: State, principal: Reader
) -> EventSourceResponse:
    """Live stdout/stderr of an execution, replayed from the start, until it ends.

    While it lasts, the credential is checked again at identity every
    ``DEVGEN_EXECUTOR_STREAM_RECHECK_SECONDS`` and at its expiry; the stream
    ends with a `closed` event saying why when it no longer holds. A user (and
    a tenant) may hold only so many log streams at once: one more is 429.
    """
    assert principal.tenant_id is not None
    if await repository.execution_of_tenant(session, principal.tenant_id, execution_id) is None:
        raise NotFound("The execution was not found.")
    credential = StreamCredential(
        bearer_token(request),
        principal,
        state.introspector,
        recheck_seconds=state.settings.executor_stream_recheck_seconds,
    )
    slot = state.streams.open(principal)

    async def events() -> AsyncIterator[ServerSentEvent]:
        async for event in output_events(state.database, state.hub, execution_id):
            yield ServerSentEvent(data=event.data, event=event.event)

    return LimitedStream(
        until_revoked(events(), credential, lambda why: closed_event(_CLOSED_EVENT, why)),
        slot=slot,
        ping=_PING_S,
        headers={"Cache-Control": "no-store"},
    )
