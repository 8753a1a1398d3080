"""``/api/v1/runs``: start, list, inspect, follow (SSE) and cancel runs."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Header, Query, Request, Response, status
from sse_starlette import EventSourceResponse, ServerSentEvent

from devgen.kit.deps import KnownQueryParameters, Session
from devgen.kit.errors import (
    Conflict,
    Forbidden,
    NotFound,
    RateLimited,
    Unauthorized,
    ValidationFailed,
    error_responses,
)
from devgen.kit.pagination import CursorPage, paginate_cursor
from devgen.kit.responses import Envelope, ListEnvelope
from devgen.kit.streams import (
    LimitedStream,
    StreamCredential,
    StreamEnd,
    bearer_token,
    closed_event,
)
from devgen.kit.waiting import wait_event
from devgen.services.orchestrator import repository, service
from devgen.services.orchestrator.api.deps import Reader, Writer
from devgen.services.orchestrator.engines import default_engine_for
from devgen.services.orchestrator.models import Run
from devgen.services.orchestrator.schemas import (
    RunCreate,
    RunEventRead,
    RunRead,
    RunState,
    RunSummary,
)
from devgen.services.orchestrator.state import OrchestratorState, State
from devgen.services.orchestrator.states import is_terminal

router = APIRouter(
    prefix="/api/v1/runs",
    tags=["runs"],
    dependencies=[KnownQueryParameters],
    responses=error_responses(Unauthorized, Forbidden),
)

_PING_SECONDS = 15
_STREAM_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "`text/event-stream`: one event per transition, `id` = its number "
        "in the run, `event` = its type (`orchestrator.step.succeeded`, ...), `data` = "
        "JSON `{seq, type, step, data, created_at}`. Ends after the run finished, or "
        "after a last event `orchestrator.stream.closed` (no `id`; `data` = "
        "`{reason, message}`) when the credential expired or was revoked.",
        "content": {"text/event-stream": {}},
    }
}
_REPLICA_POLL_SECONDS = 1.0
_PAGE = 200


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Envelope[RunRead],
    responses=error_responses(NotFound, ValidationFailed),
)
async def start_run(
    body: RunCreate,
    session: Session,
    principal: Writer,
    response: Response,
    orchestrator: State,
) -> Envelope[RunRead]:
    """Start a run of a project (``project_id``) or of a requirement or spec given here.

    Answers at once (202): the run goes on in the background and survives
    restarts. Follow it with ``GET /runs/{id}/events`` or poll ``GET /runs/{id}``.
    Without ``engine`` (here or in the project): ``hybrid`` when codegen has a model
    configured, else ``template`` (``DEVGEN_ORCHESTRATOR_DEFAULT_ENGINE``).
    """
    default = await default_engine_for(orchestrator, principal, body)
    run = await service.start_run(session, principal, body, default_engine=default)
    tasks = await repository.tasks_of_run(session, run.id)
    response.headers["Location"] = f"/api/v1/runs/{run.id}"
    return Envelope(data=service.to_run_read(run, tasks))


@router.get(
    "", response_model=ListEnvelope[RunSummary], responses=error_responses(ValidationFailed)
)
async def list_runs(
    session: Session,
    principal: Reader,
    page: CursorPage,
    state: Annotated[RunState | None, Query(description="Only runs in this state.")] = None,
    project_id: Annotated[uuid.UUID | None, Query(description="Only this project's runs.")] = None,
) -> ListEnvelope[RunSummary]:
    """Your tenant's runs, newest first."""
    query = repository.runs_of_tenant(
        service.tenant_of(principal), state=state, project_id=project_id
    )
    result = await paginate_cursor(
        session, query, page, sort_column=Run.created_at, id_column=Run.id, descending=True
    )
    return ListEnvelope(
        data=[service.to_run_summary(run) for run in result.items], metadata=result.metadata
    )


@router.get("/{run_id}", response_model=Envelope[RunRead], responses=error_responses(NotFound))
async def get_run(run_id: uuid.UUID, session: Session, principal: Reader) -> Envelope[RunRead]:
    """The whole picture: every step with its state, attempts and timings; tokens and cost;
    the artifact; the test summary; the error, when it failed."""
    run = await service.get_run(session, principal, run_id)
    tasks = await repository.tasks_of_run(session, run.id)
    return Envelope(data=service.to_run_read(run, tasks))


@router.post(
    "/{run_id}/cancel",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Envelope[RunRead],
    responses=error_responses(NotFound, Conflict),
)
async def cancel_run(
    run_id: uuid.UUID,
    session: Session,
    principal: Writer,
    state: State,
    background: BackgroundTasks,
) -> Envelope[RunRead]:
    """Cancel a run: steps not started are cancelled, running ones stopped (their sandbox
    runs too), then the run's compensations remove what it stored. 409 when it has finished;
    403 unless you started it or are a tenant admin.
    """
    run = await service.cancel_run(session, principal, run_id)
    tasks = await repository.tasks_of_run(session, run.id)
    # After the commit: interrupt the run's steps in this process without waiting for a heartbeat.
    background.add_task(state.after_stop, run.id)
    return Envelope(data=service.to_run_read(run, tasks))


_CLOSED_EVENT = "orchestrator.stream.closed"


def _closed(reason: StreamEnd) -> ServerSentEvent:
    return closed_event(_CLOSED_EVENT, reason)


def _sse(event: RunEventRead) -> ServerSentEvent:
    return ServerSentEvent(
        id=str(event.seq),
        event=event.type,
        data=json.dumps(event.model_dump(mode="json"), separators=(",", ":")),
    )


async def _follow(
    state: OrchestratorState,
    run_id: uuid.UUID,
    after: int,
    follow: bool,
    credential: StreamCredential,
) -> AsyncIterator[ServerSentEvent]:
    changed = state.watch.subscribe(run_id)
    try:
        cursor = after
        while True:
            changed.clear()
            async with state.database.transaction() as session:
                rows = await repository.events_after(session, run_id, cursor, _PAGE)
                run = await session.get(Run, run_id, populate_existing=True)
            for row in rows:
                cursor = row.seq
                yield _sse(RunEventRead.model_validate(row, from_attributes=True))
            if len(rows) == _PAGE:
                continue
            if run is None or is_terminal(run.state) or not follow:
                return
            ended = await credential.check()
            if ended is not None:
                yield _closed(ended)
                return
            # Woken at once by this process's commits; other replicas' by the poll; and
            # in time for the credential's next check.
            await wait_event(
                changed, min(_REPLICA_POLL_SECONDS, credential.seconds_to_next_check())
            )
    finally:
        state.watch.unsubscribe(run_id, changed)


@router.get(
    "/{run_id}/events",
    response_class=EventSourceResponse,
    responses=_STREAM_RESPONSE | error_responses(NotFound, ValidationFailed, RateLimited),
)
async def run_events(
    run_id: uuid.UUID,
    request: Request,
    session: Session,
    principal: Reader,
    state: State,
    last_event_id: Annotated[
        str | None,
        Header(
            alias="Last-Event-ID",
            max_length=20,
            description="Resume after this event (what the stream last sent as `id`).",
        ),
    ] = None,
    after: Annotated[
        int | None, Query(ge=0, le=2**31, description="Like `Last-Event-ID`, as a parameter.")
    ] = None,
    follow: Annotated[
        bool, Query(description="Keep the stream open until the run finishes.")
    ] = True,
) -> EventSourceResponse:
    """The run's events from the start (or after `Last-Event-ID`), then live until it ends.

    While it lasts, the credential is checked again at identity every
    `DEVGEN_ORCHESTRATOR_STREAM_RECHECK_SECONDS` and at its expiry; the stream
    ends (after an `orchestrator.stream.closed` event saying why) when it no longer
    holds. A user (and a tenant) may hold only so many streams at once: one more is 429.
    """
    await service.get_run(session, principal, run_id)
    start = after or 0
    if last_event_id is not None:
        if not last_event_id.strip().isdigit():
            raise ValidationFailed(
                "Last-Event-ID must be an event number the stream sent.",
                details={"field": "Last-Event-ID"},
            )
        start = max(start, int(last_event_id))
    credential = StreamCredential(
        bearer_token(request),
        principal,
        state.introspector,
        recheck_seconds=state.settings.orchestrator_stream_recheck_seconds,
    )
    slot = state.streams.open(principal)
    return LimitedStream(
        _follow(state, run_id, start, follow, credential),
        slot=slot,
        ping=_PING_SECONDS,
        headers={"Cache-Control": "no-store"},
    )
