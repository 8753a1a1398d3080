"""``/api/v1/execute`` and ``/api/v1/executions``: run code, read, list and cancel runs."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response, status

from devgen.kit.deps import KnownQueryParameters, Session
from devgen.kit.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    Unauthorized,
    ValidationFailed,
    error_responses,
)
from devgen.kit.pagination import CursorPage
from devgen.kit.responses import Envelope, ListEnvelope
from devgen.services.executor import service
from devgen.services.executor.deps import Reader, Runner
from devgen.services.executor.schemas import (
    ExecuteRequest,
    ExecutionRead,
    ExecutionSummary,
    Status,
    VerdictName,
)
from devgen.services.executor.state import ExecutorState, State

router = APIRouter(
    prefix="/api/v1",
    tags=["executions"],
    responses=error_responses(Unauthorized, Forbidden),
    dependencies=[KnownQueryParameters],
)

UNSAFE_WARNING = "executed WITHOUT isolation: the executor runs with DEVGEN_SANDBOX=unsafe-none"

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="A retry with the same key (and body) returns the same execution.",
    ),
]


def _metadata(state: ExecutorState, **values: Any) -> dict[str, Any]:
    if state.unsafe:
        values["warning"] = UNSAFE_WARNING
    return values


@router.post(
    "/execute",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Envelope[ExecutionRead],
    responses={
        200: {"description": "Finished: with `wait`, a cache hit or a replay"},
        **error_responses(ValidationFailed, PayloadTooLarge, Conflict, RateLimited, NotFound),
    },
)
async def execute(
    body: ExecuteRequest,
    state: State,
    principal: Runner,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> Envelope[ExecutionRead]:
    """Run code in the sandbox.

    `wait=true` answers 200 with the result once it finished (up to the
    server's wait cap, then 202 with the execution so far); otherwise 202 at
    once, with the execution's id to poll or follow (`/logs`). A full queue,
    or a tenant over its quota, is a 429 with `Retry-After`.
    """
    submitted = await service.submit(state, principal, body, idempotency_key=idempotency_key)
    execution = submitted.execution
    if submitted.finished:
        response.status_code = status.HTTP_200_OK
    else:
        response.headers["Location"] = f"/api/v1/executions/{execution.id}"
    return Envelope(
        data=execution,
        metadata=_metadata(state, replayed=submitted.replayed, cache_hit=submitted.cache_hit),
    )


def _utc(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


@router.get("/executions", response_model=ListEnvelope[ExecutionSummary])
async def list_executions(
    session: Session,
    principal: Reader,
    page: CursorPage,
    status_: Annotated[Status | None, Query(alias="status")] = None,
    verdict: VerdictName | None = None,
    created_after: Annotated[
        datetime | None, Query(description="Created at or after (UTC when no offset).")
    ] = None,
    created_before: Annotated[datetime | None, Query(description="Created before.")] = None,
) -> ListEnvelope[ExecutionSummary]:
    """The tenant's executions, newest first, without their output."""
    items, result = await service.list_executions(
        session,
        principal,
        page,
        status=status_,
        verdict=verdict,
        created_after=_utc(created_after),
        created_before=_utc(created_before),
    )
    return ListEnvelope(data=items, metadata=result.metadata)


@router.get(
    "/executions/{execution_id}",
    response_model=Envelope[ExecutionRead],
    responses=error_responses(NotFound),
)
async def get_execution(
    execution_id: uuid.UUID, session: Session, state: State, principal: Reader
) -> Envelope[ExecutionRead]:
    """An execution: status, verdict and, once finished, its result."""
    execution = await service.get_execution(session, principal, execution_id)
    return Envelope(data=execution, metadata=_metadata(state))


@router.post(
    "/executions/{execution_id}/cancel",
    response_model=Envelope[ExecutionRead],
    responses=error_responses(NotFound, Conflict),
)
async def cancel_execution(
    execution_id: uuid.UUID, state: State, principal: Runner
) -> Envelope[ExecutionRead]:
    """Cancel: a queued execution never runs, a running one is killed (verdict `killed`).

    A finished execution is a 409.
    """
    return Envelope(data=await service.cancel(state, principal, execution_id))
