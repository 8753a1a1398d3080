"""``/api/v1/environments``: dependency sets executions run against, and their builds."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

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
from devgen.kit.pagination import Page
from devgen.kit.responses import Envelope, ListEnvelope
from devgen.services.executor import environments
from devgen.services.executor.deps import Reader, Runner
from devgen.services.executor.schemas import BuildLogRead, EnvironmentCreate, EnvironmentRead
from devgen.services.executor.state import State

router = APIRouter(
    prefix="/api/v1/environments",
    tags=["environments"],
    responses=error_responses(Unauthorized, Forbidden),
    dependencies=[KnownQueryParameters],
)

Reference = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        description="An environment id, or a built-in environment's name (`python-service`).",
    ),
]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=Envelope[EnvironmentRead],
    responses={
        200: {"description": "The tenant already had this package set"},
        **error_responses(ValidationFailed, Conflict, RateLimited),
    },
)
async def create_environment(
    body: EnvironmentCreate, state: State, principal: Runner, response: Response
) -> Envelope[EnvironmentRead]:
    """Build a dependency set into a virtualenv (from the machine's package index).

    Answers at once with `status: building`; poll `GET /environments/{id}` or
    read `/logs`. Identical package sets are built once and shared; asking
    for a set whose build failed builds it again.

    Per tenant at most `DEVGEN_EXECUTOR_TENANT_ENVIRONMENTS` environments are
    kept (409 `QUOTA_EXCEEDED`) and `DEVGEN_EXECUTOR_TENANT_BUILDS` builds run
    at once (429 `QUOTA_EXCEEDED`, `Retry-After`); built-in environments do
    not count. Over a quota nothing is created.
    """
    read, created = await environments.create_environment(
        state.builds, state.quota, principal, body
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return Envelope(data=read)


@router.get("", response_model=ListEnvelope[EnvironmentRead])
async def list_environments(
    session: Session, state: State, principal: Reader, page: Page
) -> ListEnvelope[EnvironmentRead]:
    """The built-in environments (first page) and the tenant's own."""
    items, result = await environments.list_environments(session, state.builds, principal, page)
    return ListEnvelope(data=items, metadata=result.metadata)


@router.get(
    "/{environment}",
    response_model=Envelope[EnvironmentRead],
    responses=error_responses(NotFound),
)
async def get_environment(
    environment: Reference, session: Session, state: State, principal: Reader
) -> Envelope[EnvironmentRead]:
    """An environment and its build status (`pending`, `building`, `ready`, `failed`)."""
    return Envelope(
        data=await environments.get_environment(session, state.builds, principal, environment)
    )


@router.get(
    "/{environment}/logs",
    response_model=Envelope[BuildLogRead],
    responses=error_responses(NotFound),
)
async def get_environment_logs(
    environment: Reference, session: Session, state: State, principal: Reader
) -> Envelope[BuildLogRead]:
    """The build's log: pip's output so far (live while it builds)."""
    return Envelope(
        data=await environments.build_log(session, state.builds, principal, environment)
    )
