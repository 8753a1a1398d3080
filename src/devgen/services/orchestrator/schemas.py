"""The orchestrator's request and response models."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from devgen.kit.types import LongText, Name, ShortText
from devgen.services.orchestrator.workflow import MAX_STEPS, StepDefinition

Engine = Literal["template", "llm", "hybrid"]
Analyst = Literal["template", "llm"]
RunState = Literal["pending", "running", "succeeded", "failed", "cancelled"]
StepState = Literal["pending", "running", "succeeded", "failed", "cancelled", "retrying", "skipped"]
Language = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_+-]*$")]
Template = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_.-]*$")]
SpecDocument = Annotated[
    dict[str, Any],
    Field(description="A service spec (see `GET /api/v1/codegen/spec-schema`)."),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BudgetIn(_Strict):
    """The most the run's LLM calls may spend; none means codegen's defaults per call."""

    max_tokens: int | None = Field(default=None, ge=1, le=50_000_000)
    max_cost_usd: float | None = Field(default=None, ge=0, le=10_000)


class GenerationParameters(_Strict):
    """What to generate and how (shared by projects and runs)."""

    requirement: LongText | None = Field(
        default=None,
        min_length=1,
        examples=["A library lends books to members. Each book has a title and an ISBN."],
        description="Plain English (or a YAML/JSON spec as text).",
    )
    spec: SpecDocument | None = None
    engine: Engine | None = Field(
        default=None,
        description="`template` (default), `llm` (the model writes everything) or `hybrid` "
        "(the template builds what the spec covers, the model what it does not).",
    )
    analyst: Analyst | None = Field(
        default=None, description="Who reads English requirements: `template` (default) or `llm`."
    )
    language: Language | None = None
    template: Template | None = None
    budget: BudgetIn | None = None


class ProjectCreate(GenerationParameters):
    """A project: a name and a requirement (text) or a spec."""

    name: Name

    @model_validator(mode="after")
    def _requirement_or_spec(self) -> ProjectCreate:
        if (self.requirement is None) == (self.spec is None):
            raise ValueError("give exactly one of `requirement` and `spec`")
        return self


class ProjectUpdate(GenerationParameters):
    """Fields to change; a new requirement replaces the spec and the other way round."""

    name: Name | None = None

    @model_validator(mode="after")
    def _not_both(self) -> ProjectUpdate:
        if self.requirement is not None and self.spec is not None:
            raise ValueError("give at most one of `requirement` and `spec`")
        return self


class BudgetRead(BaseModel):
    """A run's budget."""

    max_tokens: int | None = None
    max_cost_usd: float | None = None


class ProjectRead(BaseModel):
    """A project."""

    id: uuid.UUID
    name: str
    requirement: str | None
    spec: dict[str, Any] | None
    engine: Engine
    analyst: Analyst
    language: str
    template: str
    budget: BudgetRead
    owner_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class RunCreate(GenerationParameters):
    """Start a run: of a project, or of a requirement/spec given here.

    Fields given here override the project's for this run only. Without
    ``workflow_id`` the default workflow runs.
    """

    project_id: uuid.UUID | None = None
    workflow_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _something_to_do(self) -> RunCreate:
        if self.requirement is not None and self.spec is not None:
            raise ValueError("give at most one of `requirement` and `spec`")
        if self.project_id is None and self.requirement is None and self.spec is None:
            raise ValueError("give a `project_id`, a `requirement` or a `spec`")
        return self


class WorkflowExecute(GenerationParameters):
    """Run a workflow for a project, or for a requirement/spec given here."""

    project_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _something_to_do(self) -> WorkflowExecute:
        if self.requirement is not None and self.spec is not None:
            raise ValueError("give at most one of `requirement` and `spec`")
        return self


class WorkflowCreate(_Strict):
    """A workflow: a DAG of built-in steps."""

    name: Name
    description: ShortText = ""
    steps: list[StepDefinition] = Field(min_length=1, max_length=MAX_STEPS)

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "quick check",
                    "steps": [
                        {"id": "analyze", "type": "analyze"},
                        {"id": "generate", "type": "generate", "needs": ["analyze"]},
                        {
                            "id": "test",
                            "type": "test",
                            "needs": ["generate"],
                            "timeout_seconds": 120,
                            "retry": {"attempts": 2, "backoff_seconds": 1},
                        },
                    ],
                }
            ]
        },
    )


class WorkflowValidate(_Strict):
    """A workflow's steps, checked without storing anything."""

    steps: list[StepDefinition] = Field(min_length=1, max_length=MAX_STEPS)


class ProblemRead(BaseModel):
    """One problem of a workflow, and where."""

    path: str = Field(examples=["steps[2].needs[0]"])
    message: str


class WorkflowCheck(BaseModel):
    """The outcome of validating a workflow."""

    valid: bool
    problems: list[ProblemRead]
    order: list[str] = Field(description="The steps in an order the run may take them.")


class WorkflowRead(BaseModel):
    """A workflow (``builtin`` for the default one, which has no database row)."""

    id: uuid.UUID | None
    name: str
    description: str
    builtin: bool
    steps: list[dict[str, Any]]
    created_by: uuid.UUID | None = Field(
        default=None, description="Who stored it (None for the built-in one)."
    )
    created_at: datetime | None


class StepTypeRead(BaseModel):
    """A built-in step type."""

    name: str
    description: str
    inputs: list[dict[str, Any]]
    outputs: list[str]
    options: dict[str, Any]
    compensations: list[str]


class AttemptRead(BaseModel):
    """One attempt at a step, by one worker."""

    attempt: int
    worker: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    state: str | None = None
    takeover: bool = False
    error: str | None = None


class TaskRead(BaseModel):
    """A step of a run (or a compensation), with its timings and outcome."""

    id: uuid.UUID
    run_id: uuid.UUID
    step: str
    type: str
    kind: Literal["step", "compensation"]
    state: StepState
    attempt: int
    max_attempts: int
    needs: list[str]
    started_at: datetime | None
    finished_at: datetime | None
    duration_seconds: float | None
    error: dict[str, Any] | None
    usage: dict[str, Any]
    output: dict[str, Any] = Field(
        description="Small values as they are; large ones summarised (`GET /tasks/{id}` "
        "has them all, those kept in storage as references)."
    )
    attempts: list[AttemptRead]


class TaskStatus(BaseModel):
    """Where a step stands."""

    id: uuid.UUID
    run_id: uuid.UUID
    step: str
    type: str
    state: StepState
    attempt: int
    max_attempts: int
    started_at: datetime | None
    finished_at: datetime | None
    duration_seconds: float | None
    leased_until: datetime | None = Field(description="While running: when its lease ends.")
    retry_at: datetime | None = Field(description="While retrying: when it tries again.")
    error: dict[str, Any] | None


class TaskDetail(TaskRead):
    """A step with its whole output and checkpoint."""

    output: dict[str, Any]
    checkpoint: dict[str, Any]


class RunSummary(BaseModel):
    """A run as lists show it."""

    id: uuid.UUID
    state: RunState
    project_id: uuid.UUID | None
    workflow_id: uuid.UUID | None
    workflow: str
    engine: str
    requirement_excerpt: str | None
    error: dict[str, Any] | None
    tests: dict[str, Any] | None
    artifact_id: uuid.UUID | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_seconds: float | None
    cancel_requested_at: datetime | None


class RunRead(RunSummary):
    """The whole picture of a run: steps, timings, tokens and cost, artifacts, tests."""

    params: dict[str, Any]
    usage: dict[str, Any]
    steps: list[TaskRead]
    compensations: list[TaskRead]
    artifact_url: str | None = Field(description="Where to download the artifact (a zip).")
    events_url: str


class RunEventRead(BaseModel):
    """One entry of a run's event log."""

    seq: int
    type: str
    step: str | None
    data: dict[str, Any]
    created_at: datetime
