"""``/api/v1/workflows``: DAGs of built-in steps, checked when stored, and running them."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from devgen.kit.deps import KnownQueryParameters, Session
from devgen.kit.errors import Forbidden, NotFound, Unauthorized, ValidationFailed, error_responses
from devgen.kit.pagination import Page, paginate_offset
from devgen.kit.responses import Envelope, ListEnvelope, ListMetadata
from devgen.services.orchestrator import repository, service
from devgen.services.orchestrator.api.deps import Reader, Writer
from devgen.services.orchestrator.engines import default_engine_for
from devgen.services.orchestrator.models import Workflow
from devgen.services.orchestrator.schemas import (
    RunRead,
    StepTypeRead,
    WorkflowCheck,
    WorkflowCreate,
    WorkflowExecute,
    WorkflowRead,
    WorkflowValidate,
)
from devgen.services.orchestrator.state import State
from devgen.services.orchestrator.workflow import WorkflowDefinition

router = APIRouter(
    prefix="/api/v1/workflows",
    tags=["workflows"],
    dependencies=[KnownQueryParameters],
    responses=error_responses(Unauthorized, Forbidden),
)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=Envelope[WorkflowRead],
    responses=error_responses(ValidationFailed),
)
async def create_workflow(
    body: WorkflowCreate, session: Session, principal: Writer, response: Response
) -> Envelope[WorkflowRead]:
    """Store a workflow. Refused (422, every problem with its path) when a step type is
    unknown, a step needs a missing step, the steps form a cycle, the workflow does not end
    in one step every other step leads to, or an input has no earlier step producing it.
    """
    workflow = await service.create_workflow(session, principal, body)
    response.headers["Location"] = f"/api/v1/workflows/{workflow.id}"
    return Envelope(data=service.to_workflow_read(workflow))


@router.get("", response_model=ListEnvelope[WorkflowRead])
async def list_workflows(
    session: Session, principal: Reader, page: Page
) -> ListEnvelope[WorkflowRead]:
    """Your tenant's workflows, newest first (the built-in one is at `/workflows/default`)."""
    query = repository.workflows_of_tenant(service.tenant_of(principal)).order_by(
        Workflow.created_at.desc(), Workflow.id
    )
    result = await paginate_offset(session, query, page)
    return ListEnvelope(
        data=[service.to_workflow_read(w) for w in result.items], metadata=result.metadata
    )


@router.get("/default", response_model=Envelope[WorkflowRead])
async def get_default_workflow(principal: Reader) -> Envelope[WorkflowRead]:
    """The built-in workflow: analyze, generate, validate || test, repair, contract, package."""
    return Envelope(data=service.to_workflow_read(None))


@router.delete(
    "/default",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses={204: {"description": "Never: the built-in workflow always stays."}},
)
async def delete_default_workflow(principal: Writer) -> Response:
    """Refused for everyone (403): the built-in workflow is part of the platform."""
    raise Forbidden("The built-in workflow cannot be deleted.")


@router.get("/step-types", response_model=ListEnvelope[StepTypeRead])
async def list_step_types(principal: Reader) -> ListEnvelope[StepTypeRead]:
    """The built-in step types: inputs, outputs, options and compensations."""
    items = service.step_types()
    return ListEnvelope(data=items, metadata=ListMetadata(total=len(items), limit=len(items)))


@router.post("/validate", response_model=Envelope[WorkflowCheck])
async def validate_workflow(body: WorkflowValidate, principal: Reader) -> Envelope[WorkflowCheck]:
    """Check a workflow without storing it: every problem, or the order its steps may run in."""
    return Envelope(data=service.check_workflow(WorkflowDefinition(steps=body.steps)))


@router.get(
    "/{workflow_id}", response_model=Envelope[WorkflowRead], responses=error_responses(NotFound)
)
async def get_workflow(
    workflow_id: uuid.UUID, session: Session, principal: Reader
) -> Envelope[WorkflowRead]:
    """One workflow."""
    workflow = await service.get_workflow(session, principal, workflow_id)
    return Envelope(data=service.to_workflow_read(workflow))


@router.delete(
    "/{workflow_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(NotFound),
)
async def delete_workflow(workflow_id: uuid.UUID, session: Session, principal: Writer) -> Response:
    """Delete a workflow (its creator or a tenant admin; 403 for anyone else); its runs
    keep their own copy of it."""
    await service.delete_workflow(session, principal, workflow_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{workflow_id}/execute",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Envelope[RunRead],
    responses=error_responses(NotFound, ValidationFailed),
)
async def execute_workflow(
    workflow_id: uuid.UUID,
    body: WorkflowExecute,
    session: Session,
    principal: Writer,
    response: Response,
    orchestrator: State,
) -> Envelope[RunRead]:
    """Run the workflow for a project, or for a requirement or spec given here."""
    default = await default_engine_for(orchestrator, principal, body)
    run = await service.start_run(
        session, principal, body, workflow_id=workflow_id, default_engine=default
    )
    tasks = await repository.tasks_of_run(session, run.id)
    response.headers["Location"] = f"/api/v1/runs/{run.id}"
    return Envelope(data=service.to_run_read(run, tasks))
