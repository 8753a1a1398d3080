"""The orchestrator's rules: projects, workflows, starting and cancelling runs.

Functions take the request's session and principal, ``flush()`` and never
commit (the chassis owns the transaction). Everything is scoped to the
principal's tenant; another tenant's resource is "not found". Who may change
what is decided here, by the rules in ``access``.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from devgen.kit.auth import Principal
from devgen.kit.errors import Conflict, Forbidden, NotFound, ValidationFailed
from devgen.kit.telemetry import current_traceparent
from devgen.services.orchestrator import lifecycle, repository
from devgen.services.orchestrator.access import require_manager, require_scope, tenant_of
from devgen.services.orchestrator.events import EventType, emit_resource, record
from devgen.services.orchestrator.leases import lock_run
from devgen.services.orchestrator.models import Project, Run, Task, Workflow
from devgen.services.orchestrator.schemas import (
    AttemptRead,
    BudgetRead,
    GenerationParameters,
    ProblemRead,
    ProjectCreate,
    ProjectRead,
    ProjectUpdate,
    RunCreate,
    RunRead,
    RunSummary,
    StepTypeRead,
    TaskDetail,
    TaskRead,
    TaskStatus,
    WorkflowCheck,
    WorkflowCreate,
    WorkflowExecute,
    WorkflowRead,
)
from devgen.services.orchestrator.states import State
from devgen.services.orchestrator.steps.types import STEP_TYPES
from devgen.services.orchestrator.workflow import (
    DEFAULT_WORKFLOW,
    DEFAULT_WORKFLOW_NAME,
    WorkflowDefinition,
    WorkflowInvalid,
    compile_workflow,
    validate_workflow,
)

RUNS_PATH = "/api/v1/runs"
ARTIFACTS_PATH = "/api/v1/artifacts"
_SUMMARY_VALUE_BYTES = 1024
_DEFAULTS: dict[str, Any] = {
    "engine": "template",
    "analyst": "template",
    "language": "python",
    "template": "fastapi-service",
}


def _budget(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    data = value if isinstance(value, dict) else value.model_dump()
    return {key: item for key, item in data.items() if item is not None}


async def create_project(
    session: AsyncSession,
    principal: Principal,
    body: ProjectCreate,
    *,
    default_engine: str | None = None,
) -> Project:
    """A new project in the caller's tenant (members and up); ``default_engine`` when the
    body names none (else ``template``)."""
    require_scope(principal, "write")
    project = Project(
        tenant_id=tenant_of(principal),
        owner_id=principal.user_id,
        name=body.name,
        requirement=body.requirement,
        spec=body.spec,
        engine=body.engine or default_engine or _DEFAULTS["engine"],
        analyst=body.analyst or _DEFAULTS["analyst"],
        language=body.language or _DEFAULTS["language"],
        template=body.template or _DEFAULTS["template"],
        budget=_budget(body.budget),
    )
    session.add(project)
    await session.flush()
    await emit_resource(session, EventType.project_created, project.id, {"name": project.name})
    return project


async def get_project(
    session: AsyncSession, principal: Principal, project_id: uuid.UUID
) -> Project:
    """The caller's tenant's project; 404 otherwise."""
    project = await repository.project_of_tenant(session, tenant_of(principal), project_id)
    if project is None:
        raise NotFound("No such project.")
    return project


async def update_project(
    session: AsyncSession, principal: Principal, project_id: uuid.UUID, body: ProjectUpdate
) -> Project:
    """Change a project (its creator or an admin); runs already started keep what they
    started with."""
    project = await get_project(session, principal, project_id)
    require_manager(
        principal, project.owner_id, "Only whoever created this project or an admin may change it."
    )
    changes = body.model_dump(exclude_unset=True)
    if "requirement" in changes and body.requirement is not None:
        project.requirement, project.spec = body.requirement, None
    if "spec" in changes and body.spec is not None:
        project.spec, project.requirement = body.spec, None
    for field in ("name", "engine", "analyst", "language", "template"):
        if changes.get(field) is not None:
            setattr(project, field, changes[field])
    if "budget" in changes:
        project.budget = _budget(body.budget)
    await session.flush()
    await emit_resource(session, EventType.project_updated, project.id, {"fields": sorted(changes)})
    return project


async def delete_project(
    session: AsyncSession, principal: Principal, project_id: uuid.UUID
) -> None:
    """Delete a project (its creator or an admin); its runs stay (and lose the link)."""
    project = await get_project(session, principal, project_id)
    require_manager(
        principal, project.owner_id, "Only whoever created this project or an admin may delete it."
    )
    await session.delete(project)
    await session.flush()
    await emit_resource(session, EventType.project_deleted, project_id, {"name": project.name})


def to_project_read(project: Project) -> ProjectRead:
    """The API shape of a project."""
    return ProjectRead(
        id=project.id,
        name=project.name,
        requirement=project.requirement,
        spec=project.spec,
        engine=project.engine,  # type: ignore[arg-type]
        analyst=project.analyst,  # type: ignore[arg-type]
        language=project.language,
        template=project.template,
        budget=BudgetRead(**(project.budget or {})),
        owner_id=project.owner_id,
        created_at=project.created_at,
        updated_at=project.updated_at,
    )


def check_workflow(definition: WorkflowDefinition) -> WorkflowCheck:
    """Validate a workflow without storing it."""
    problems = validate_workflow(definition)
    order = [] if problems else [step.id for step in compile_workflow(definition)]
    return WorkflowCheck(
        valid=not problems,
        problems=[ProblemRead(**problem.to_dict()) for problem in problems],
        order=order,
    )


def _invalid(exc: WorkflowInvalid) -> ValidationFailed:
    return ValidationFailed(
        f"The workflow is not valid: {exc.problems[0].path}: {exc.problems[0].message}"
        + (f" (and {len(exc.problems) - 1} more)" if len(exc.problems) > 1 else ""),
        details={"problems": [problem.to_dict() for problem in exc.problems]},
    )


async def create_workflow(
    session: AsyncSession, principal: Principal, body: WorkflowCreate
) -> Workflow:
    """Store a workflow after checking it: known types, no cycles, one end, inputs bound."""
    require_scope(principal, "write")
    definition = WorkflowDefinition(steps=body.steps)
    try:
        compile_workflow(definition)
    except WorkflowInvalid as exc:
        raise _invalid(exc) from exc
    workflow = Workflow(
        tenant_id=tenant_of(principal),
        created_by=principal.user_id,
        name=body.name,
        description=body.description,
        definition=definition.model_dump(mode="json", by_alias=True, exclude_defaults=True),
    )
    session.add(workflow)
    await session.flush()
    await emit_resource(
        session,
        EventType.workflow_created,
        workflow.id,
        {"name": workflow.name, "steps": [step.id for step in body.steps]},
    )
    return workflow


async def get_workflow(
    session: AsyncSession, principal: Principal, workflow_id: uuid.UUID
) -> Workflow:
    """The caller's tenant's workflow; 404 otherwise."""
    workflow = await repository.workflow_of_tenant(session, tenant_of(principal), workflow_id)
    if workflow is None:
        raise NotFound("No such workflow.")
    return workflow


async def delete_workflow(
    session: AsyncSession, principal: Principal, workflow_id: uuid.UUID
) -> None:
    """Delete a workflow (its creator or an admin); runs of it keep their own copy of the plan."""
    workflow = await get_workflow(session, principal, workflow_id)
    require_manager(
        principal,
        workflow.created_by,
        "Only whoever created this workflow or an admin may delete it.",
    )
    await session.delete(workflow)
    await session.flush()
    await emit_resource(session, EventType.workflow_deleted, workflow_id, {"name": workflow.name})


def to_workflow_read(workflow: Workflow | None) -> WorkflowRead:
    """The API shape of a workflow (None: the built-in default)."""
    if workflow is None:
        return WorkflowRead(
            id=None,
            name=DEFAULT_WORKFLOW_NAME,
            description="analyze -> generate -> (validate || test) -> repair loop -> contract "
            "-> package",
            builtin=True,
            steps=DEFAULT_WORKFLOW.model_dump(mode="json", by_alias=True)["steps"],
            created_at=None,
        )
    return WorkflowRead(
        id=workflow.id,
        name=workflow.name,
        description=workflow.description,
        builtin=False,
        steps=workflow.definition["steps"],
        created_by=workflow.created_by,
        created_at=workflow.created_at,
    )


def step_types() -> list[StepTypeRead]:
    """The built-in step types a workflow may use."""
    return [
        StepTypeRead(
            name=step.name,
            description=step.description,
            inputs=[
                {"name": i.name, "required": i.required, "run_parameter": i.run_parameter}
                for i in step.inputs
            ],
            outputs=sorted(step.outputs),
            options=step.options.model_json_schema(),
            compensations=sorted(step.compensations),
        )
        for step in STEP_TYPES.values()
    ]


def _parameters(
    project: Project | None, body: GenerationParameters, default_engine: str | None
) -> dict[str, Any]:
    params: dict[str, Any] = dict(_DEFAULTS) | {"requirement": None, "spec": None, "budget": {}}
    if default_engine is not None:
        params["engine"] = default_engine
    if project is not None:
        params |= {
            "requirement": project.requirement,
            "spec": project.spec,
            "engine": project.engine,
            "analyst": project.analyst,
            "language": project.language,
            "template": project.template,
            "budget": dict(project.budget or {}),
        }
    if body.requirement is not None:
        params["requirement"], params["spec"] = body.requirement, None
    if body.spec is not None:
        params["spec"], params["requirement"] = body.spec, None
    for field in ("engine", "analyst", "language", "template"):
        if getattr(body, field) is not None:
            params[field] = getattr(body, field)
    if body.budget is not None:
        params["budget"] = _budget(body.budget)
    if params["requirement"] is None and params["spec"] is None:
        raise ValidationFailed("The run needs a requirement or a spec (in the project or here).")
    return params


async def start_run(
    session: AsyncSession,
    principal: Principal,
    body: RunCreate | WorkflowExecute,
    *,
    workflow_id: uuid.UUID | None = None,
    default_engine: str | None = None,
) -> Run:
    """Create a run and its tasks; the engine picks it up once the transaction commits.

    ``default_engine`` is the engine when neither ``body`` nor its project names one
    (else ``template``).

    Any member may run any project or workflow of the tenant: the run acts
    for them and changes neither.
    """
    tenant_id = tenant_of(require_scope(principal, "write"))
    if principal.user_id is None:
        # The run's calls act on behalf of a user (their role, their tenant).
        raise Forbidden("Runs are started by a user: use a user's token or API key.")
    project = (
        await get_project(session, principal, body.project_id)
        if body.project_id is not None
        else None
    )
    chosen = workflow_id or (body.workflow_id if isinstance(body, RunCreate) else None)
    workflow = await get_workflow(session, principal, chosen) if chosen is not None else None
    definition = (
        WorkflowDefinition.model_validate({"steps": workflow.definition["steps"]})
        if workflow is not None
        else DEFAULT_WORKFLOW
    )
    try:
        plan = compile_workflow(definition)
    except WorkflowInvalid as exc:
        raise _invalid(exc) from exc
    run = Run(
        tenant_id=tenant_id,
        user_id=principal.user_id,
        project_id=project.id if project is not None else None,
        workflow_id=workflow.id if workflow is not None else None,
        workflow_name=workflow.name if workflow is not None else DEFAULT_WORKFLOW_NAME,
        plan=[
            {
                "definition": step.definition.model_dump(mode="json", by_alias=True),
                "bindings": step.bindings,
            }
            for step in plan
        ],
        params=_parameters(project, body, default_engine),
        state=State.pending.value,
        usage={},
        event_seq=0,
        traceparent=current_traceparent(),
    )
    session.add(run)
    await session.flush()
    for position, step in enumerate(plan):
        session.add(
            Task(
                run_id=run.id,
                tenant_id=tenant_id,
                step=step.id,
                type=step.definition.type,
                kind=lifecycle.STEP_KIND,
                position=position,
                state=State.pending.value,
                attempt=1,
                max_attempts=step.definition.retry.attempts,
                needs=list(step.definition.needs),
                deps_remaining=len(step.definition.needs),
                checkpoint={},
                attempts_log=[],
                usage={},
            )
        )
    await session.flush()
    await record(
        session,
        run,
        EventType.run_created,
        actor=None,
        data={
            "workflow": run.workflow_name,
            "project_id": str(project.id) if project else None,
            "engine": run.params["engine"],
            "steps": [step.id for step in plan],
        },
    )
    return run


async def get_run(session: AsyncSession, principal: Principal, run_id: uuid.UUID) -> Run:
    """The caller's tenant's run; 404 otherwise."""
    run = await repository.run_of_tenant(session, tenant_of(principal), run_id)
    if run is None:
        raise NotFound("No such run.")
    return run


async def cancel_run(session: AsyncSession, principal: Principal, run_id: uuid.UUID) -> Run:
    """Stop a run: waiting steps are cancelled, running ones (and their sandbox runs) stopped.

    Only whoever started it or an admin may. Cancelling a run that is already
    stopping changes nothing; one that has finished is a 409.
    """
    found = await get_run(session, principal, run_id)
    require_manager(
        principal, found.user_id, "Only whoever started this run or an admin may cancel it."
    )
    run = await lock_run(session, run_id)
    assert run is not None
    if run.state in {State.succeeded, State.failed, State.cancelled}:
        raise Conflict(f"The run has already {run.state}.", details={"state": run.state})
    tasks = await lifecycle.tasks_of(session, run.id)
    await lifecycle.request_cancel(session, run, tasks, principal.actor)
    await session.flush()
    return run


def _duration(run: Run) -> float | None:
    return lifecycle.seconds_between(run.started_at, run.finished_at)


def _excerpt(params: dict[str, Any]) -> str | None:
    if params.get("requirement"):
        text = " ".join(str(params["requirement"]).split())
        return text[:157] + "..." if len(text) > 160 else text
    if params.get("spec"):
        return f"spec: {params['spec'].get('name', 'unnamed')}"
    return None


def to_run_summary(run: Run) -> RunSummary:
    """A run as lists show it."""
    return RunSummary(
        id=run.id,
        state=run.state,  # type: ignore[arg-type]
        project_id=run.project_id,
        workflow_id=run.workflow_id,
        workflow=run.workflow_name,
        engine=str((run.params or {}).get("engine", "template")),
        requirement_excerpt=_excerpt(run.params or {}),
        error=run.error,
        tests=run.tests,
        artifact_id=run.artifact_id,
        created_at=run.created_at,
        started_at=run.started_at,
        finished_at=run.finished_at,
        duration_seconds=_duration(run),
        cancel_requested_at=run.cancel_requested_at,
    )


def _summarised(output: dict[str, Any] | None) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for key, value in (output or {}).items():
        size = len(json.dumps(value, default=str))
        kept[key] = value if size <= _SUMMARY_VALUE_BYTES else {"omitted": True, "bytes": size}
    return kept


def to_task_read(task: Task, *, full: bool = False) -> TaskRead:
    """The API shape of a task (outputs summarised unless ``full``)."""
    values: dict[str, Any] = {
        "id": task.id,
        "run_id": task.run_id,
        "step": task.step,
        "type": task.type,
        "kind": task.kind,
        "state": task.state,
        "attempt": task.attempt,
        "max_attempts": task.max_attempts,
        "needs": list(task.needs or []),
        "started_at": task.started_at,
        "finished_at": task.finished_at,
        "duration_seconds": lifecycle.seconds_between(task.started_at, task.finished_at),
        "error": task.error,
        "usage": task.usage or {},
        "attempts": [AttemptRead(**entry) for entry in task.attempts_log or []],
    }
    if full:
        return TaskDetail(**values, output=task.output or {}, checkpoint=task.checkpoint or {})
    return TaskRead(**values, output=_summarised(task.output))


def to_task_status(task: Task) -> TaskStatus:
    """Where a task stands."""
    return TaskStatus(
        id=task.id,
        run_id=task.run_id,
        step=task.step,
        type=task.type,
        state=task.state,  # type: ignore[arg-type]
        attempt=task.attempt,
        max_attempts=task.max_attempts,
        started_at=task.started_at,
        finished_at=task.finished_at,
        duration_seconds=lifecycle.seconds_between(task.started_at, task.finished_at),
        leased_until=task.lease_expires_at if task.state == State.running else None,
        retry_at=task.not_before if task.state == State.retrying else None,
        error=task.error,
    )


def to_run_read(run: Run, tasks: list[Task]) -> RunRead:
    """The whole picture of a run."""
    summary = to_run_summary(run)
    return RunRead(
        **summary.model_dump(),
        params=run.params or {},
        usage=run.usage or {},
        steps=[to_task_read(t) for t in tasks if t.kind == lifecycle.STEP_KIND],
        compensations=[to_task_read(t) for t in tasks if t.kind == lifecycle.COMPENSATION_KIND],
        artifact_url=f"{ARTIFACTS_PATH}/{run.artifact_id}/download" if run.artifact_id else None,
        events_url=f"{RUNS_PATH}/{run.id}/events",
    )
