"""``/api/v1/projects``: what users want generated, and starting runs of it."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from devgen.kit.deps import KnownQueryParameters, Session
from devgen.kit.errors import Forbidden, NotFound, Unauthorized, ValidationFailed, error_responses
from devgen.kit.pagination import Page, paginate_offset
from devgen.kit.responses import Envelope, ListEnvelope
from devgen.services.orchestrator import repository, service
from devgen.services.orchestrator.api.deps import Reader, Writer
from devgen.services.orchestrator.models import Project
from devgen.services.orchestrator.schemas import (
    ProjectCreate,
    ProjectRead,
    ProjectUpdate,
    RunCreate,
    RunRead,
)
from devgen.services.orchestrator.state import State

router = APIRouter(
    prefix="/api/v1/projects",
    tags=["projects"],
    dependencies=[KnownQueryParameters],
    responses=error_responses(Unauthorized, Forbidden),
)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=Envelope[ProjectRead],
    responses=error_responses(ValidationFailed),
)
async def create_project(
    body: ProjectCreate,
    session: Session,
    principal: Writer,
    response: Response,
    orchestrator: State,
) -> Envelope[ProjectRead]:
    """Create a project: a name, a requirement (English) or a spec, engine, language, budget.

    Without ``engine``: ``hybrid`` when codegen has a model configured, else ``template``
    (``DEVGEN_ORCHESTRATOR_DEFAULT_ENGINE``)."""
    default = None if body.engine else await orchestrator.default_engine.engine(principal)
    project = await service.create_project(session, principal, body, default_engine=default)
    response.headers["Location"] = f"/api/v1/projects/{project.id}"
    return Envelope(data=service.to_project_read(project))


@router.get("", response_model=ListEnvelope[ProjectRead])
async def list_projects(
    session: Session, principal: Reader, page: Page
) -> ListEnvelope[ProjectRead]:
    """Your tenant's projects, newest first."""
    query = repository.projects_of_tenant(service.tenant_of(principal)).order_by(
        Project.created_at.desc(), Project.id
    )
    result = await paginate_offset(session, query, page)
    return ListEnvelope(
        data=[service.to_project_read(p) for p in result.items], metadata=result.metadata
    )


@router.get(
    "/{project_id}", response_model=Envelope[ProjectRead], responses=error_responses(NotFound)
)
async def get_project(
    project_id: uuid.UUID, session: Session, principal: Reader
) -> Envelope[ProjectRead]:
    """One project."""
    return Envelope(
        data=service.to_project_read(await service.get_project(session, principal, project_id))
    )


@router.patch(
    "/{project_id}",
    response_model=Envelope[ProjectRead],
    responses=error_responses(NotFound, ValidationFailed),
)
async def update_project(
    project_id: uuid.UUID, body: ProjectUpdate, session: Session, principal: Writer
) -> Envelope[ProjectRead]:
    """Change a project (its creator or a tenant admin; 403 for anyone else); runs already
    started keep the parameters they started with."""
    project = await service.update_project(session, principal, project_id, body)
    return Envelope(data=service.to_project_read(project))


@router.delete(
    "/{project_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(NotFound),
)
async def delete_project(project_id: uuid.UUID, session: Session, principal: Writer) -> Response:
    """Delete a project (its creator or a tenant admin; 403 for anyone else); its runs and
    artifacts stay."""
    await service.delete_project(session, principal, project_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{project_id}/runs",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Envelope[RunRead],
    responses=error_responses(NotFound, ValidationFailed),
)
async def run_project(
    project_id: uuid.UUID, session: Session, principal: Writer, response: Response
) -> Envelope[RunRead]:
    """Start the default workflow for the project (``POST /runs`` takes more options)."""
    run = await service.start_run(session, principal, RunCreate(project_id=project_id))
    tasks = await repository.tasks_of_run(session, run.id)
    response.headers["Location"] = f"/api/v1/runs/{run.id}"
    return Envelope(data=service.to_run_read(run, tasks))
