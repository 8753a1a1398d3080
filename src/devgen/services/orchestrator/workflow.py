"""Workflows: a DAG of built-in steps, its validation, and the default pipeline.

A workflow lists steps; each names its type, the steps it ``needs``, where
its inputs come from, a timeout, a retry policy and optionally a
compensation. :func:`validate_workflow` reports *every* problem with the
path it is at (``steps[2].needs[0]``); :func:`compile_workflow` turns a
valid definition into the plan a run executes, with every input bound to
the outputs it will read.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from devgen.services.orchestrator.steps.types import COMPENSATIONS, STEP_TYPES

MAX_STEPS = 50
STEP_ID_PATTERN = r"^[a-z][a-z0-9_-]{0,39}$"
RUN_PREFIX = "run."
RUN_PARAMETERS = frozenset({"spec", "requirement"})

StepId = Annotated[str, Field(pattern=STEP_ID_PATTERN, examples=["generate"])]
Source = Annotated[
    str,
    Field(
        pattern=r"^[a-z][a-z0-9_-]{0,39}\.[a-z_]{1,40}$",
        examples=["generate.files", "run.spec"],
    ),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class RetryPolicy(_Strict):
    """How often a step is tried and how long to wait in between.

    Only failures that may pass on a second try (a service unreachable, a
    sandbox error, a timeout) are retried; a bad requirement is not.
    """

    attempts: int = Field(default=3, ge=1, le=10, description="Tries in all, the first included.")
    backoff_seconds: float = Field(default=0.5, ge=0, le=3600, description="Wait before try 2.")
    backoff_factor: float = Field(default=2.0, ge=1, le=10, description="Each wait grows by this.")

    def delay(self, attempt: int) -> float:
        """Seconds to wait before try ``attempt + 1`` after try ``attempt`` failed."""
        return float(self.backoff_seconds * self.backoff_factor ** max(attempt - 1, 0))


class StepDefinition(_Strict):
    """One step of a workflow."""

    id: StepId
    type: str = Field(max_length=40, examples=["test"], description="A built-in step type.")
    needs: list[StepId] = Field(default_factory=list, max_length=MAX_STEPS)
    inputs: dict[
        Annotated[str, Field(pattern=r"^[a-z_]{1,40}$")],
        Source | Annotated[list[Source], Field(min_length=1, max_length=MAX_STEPS)],
    ] = Field(
        default_factory=dict,
        description="Input name -> `step.output` (or a list: the first available is used; "
        "a skipped step offers nothing). Left out, an input comes from the nearest earlier "
        "step that produces it.",
    )
    timeout_seconds: float | None = Field(default=None, gt=0, le=86_400)
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    compensation: str | None = Field(
        default=None, max_length=40, examples=["delete_artifacts"], description="Run on failure."
    )
    options: dict[str, Any] = Field(
        default_factory=dict, alias="with", description="Options of the step type."
    )


class WorkflowDefinition(_Strict):
    """The steps of a workflow; their ``needs`` make a DAG with one final step."""

    steps: list[StepDefinition] = Field(min_length=1, max_length=MAX_STEPS)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a workflow, and where."""

    path: str
    message: str

    def to_dict(self) -> dict[str, str]:
        """Plain data for error details."""
        return {"path": self.path, "message": self.message}


class WorkflowInvalid(ValueError):
    """A workflow definition that cannot run; ``problems`` lists why."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{p.path}: {p.message}" for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class PlannedStep:
    """A step as a run executes it: its definition with every input bound."""

    definition: StepDefinition
    bindings: dict[str, list[str]] = field(default_factory=dict)

    @property
    def id(self) -> str:
        """The step's id."""
        return self.definition.id


def _find_cycle(steps: dict[str, StepDefinition]) -> list[str] | None:
    # Depth-first search with colours; returns the steps of one cycle, in order.
    colour: dict[str, int] = dict.fromkeys(steps, 0)
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        colour[node] = 1
        stack.append(node)
        for need in steps[node].needs:
            if need not in steps:
                continue
            if colour[need] == 1:
                return [*stack[stack.index(need) :], need]
            if colour[need] == 0 and (found := visit(need)):
                return found
        stack.pop()
        colour[node] = 2
        return None

    for node in steps:
        if colour[node] == 0 and (found := visit(node)):
            return found
    return None


def ancestors_nearest_first(steps: dict[str, StepDefinition], step_id: str) -> list[str]:
    """Every step ``step_id`` depends on, directly or not, nearest first (breadth-first)."""
    seen: set[str] = set()
    order: list[str] = []
    queue = deque(steps[step_id].needs)
    while queue:
        current = queue.popleft()
        if current in seen or current not in steps:
            continue
        seen.add(current)
        order.append(current)
        queue.extend(steps[current].needs)
    return order


def _check_steps(definition: WorkflowDefinition) -> list[Problem]:
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for index, step in enumerate(definition.steps):
        where = f"steps[{index}]"
        if step.id in seen:
            problems.append(
                Problem(f"{where}.id", f"`{step.id}` is used by steps[{seen[step.id]}]")
            )
        seen.setdefault(step.id, index)
        step_type = STEP_TYPES.get(step.type)
        if step_type is None:
            known = ", ".join(STEP_TYPES)
            problems.append(Problem(f"{where}.type", f"unknown type `{step.type}`; known: {known}"))
        else:
            try:
                step_type.parse_options(step.options)
            except ValidationError as exc:
                for error in exc.errors():
                    location = ".".join(str(part) for part in error["loc"])
                    problems.append(Problem(f"{where}.with.{location}", error["msg"]))
            if step.compensation is not None and step.compensation not in step_type.compensations:
                allowed = ", ".join(sorted(step_type.compensations)) or "none"
                problems.append(
                    Problem(
                        f"{where}.compensation",
                        f"`{step.compensation}` is not a compensation of {step.type} "
                        f"steps (allowed: {allowed}; known: {', '.join(COMPENSATIONS)})",
                    )
                )
        for position, need in enumerate(step.needs):
            if need == step.id:
                problems.append(Problem(f"{where}.needs[{position}]", "a step cannot need itself"))
            elif need not in {s.id for s in definition.steps}:
                problems.append(Problem(f"{where}.needs[{position}]", f"no step `{need}`"))
        if len(set(step.needs)) != len(step.needs):
            problems.append(Problem(f"{where}.needs", "lists a step twice"))
    return problems


def _check_graph(definition: WorkflowDefinition) -> list[Problem]:
    steps = {step.id: step for step in definition.steps}
    cycle = _find_cycle(steps)
    if cycle is not None:
        return [Problem("steps", f"the steps form a cycle: {' -> '.join(cycle)}")]
    needed = {need for step in definition.steps for need in step.needs}
    finals = [step.id for step in definition.steps if step.id not in needed]
    if len(finals) > 1:
        return [
            Problem(
                "steps",
                "the workflow must end in one step that every other step leads to; "
                f"{', '.join(finals)} each end it (make one need the others)",
            )
        ]
    return []


def _bind_inputs(
    definition: WorkflowDefinition,
) -> tuple[dict[str, dict[str, list[str]]], list[Problem]]:
    steps = {step.id: step for step in definition.steps}
    bindings: dict[str, dict[str, list[str]]] = {}
    problems: list[Problem] = []
    for index, step in enumerate(definition.steps):
        step_type = STEP_TYPES[step.type]
        ancestors = ancestors_nearest_first(steps, step.id)
        known_inputs = {spec.name for spec in step_type.inputs}
        for name in step.inputs:
            if name not in known_inputs:
                problems.append(
                    Problem(
                        f"steps[{index}].inputs.{name}",
                        f"{step.type} steps take no input `{name}` "
                        f"(they take: {', '.join(sorted(known_inputs)) or 'none'})",
                    )
                )
        bound: dict[str, list[str]] = {}
        for spec in step_type.inputs:
            where = f"steps[{index}].inputs.{spec.name}"
            explicit = step.inputs.get(spec.name)
            if explicit is not None:
                sources = [explicit] if isinstance(explicit, str) else list(explicit)
                for source in sources:
                    problem = _check_source(steps, ancestors, source)
                    if problem:
                        problems.append(Problem(where, problem))
            else:
                sources = [
                    f"{ancestor}.{spec.name}"
                    for ancestor in ancestors
                    if spec.name in STEP_TYPES[steps[ancestor].type].outputs
                ]
                if spec.run_parameter:
                    sources.append(f"{RUN_PREFIX}{spec.run_parameter}")
                if not sources and spec.required:
                    problems.append(
                        Problem(
                            where,
                            f"`{step.id}` needs `{spec.name}` but no step before it produces "
                            "it; add one to its `needs` (directly or through another step)",
                        )
                    )
            if sources:
                bound[spec.name] = sources
        bindings[step.id] = bound
    return bindings, problems


def _check_source(
    steps: dict[str, StepDefinition], ancestors: list[str], source: str
) -> str | None:
    step_id, output = source.split(".", 1)
    if source.startswith(RUN_PREFIX):
        if output not in RUN_PARAMETERS:
            return f"`{source}`: runs have the parameters {', '.join(sorted(RUN_PARAMETERS))}"
        return None
    if step_id not in steps:
        return f"`{source}`: no step `{step_id}`"
    if step_id not in ancestors:
        return f"`{source}`: `{step_id}` does not run before this step (add it to `needs`)"
    produced = STEP_TYPES[steps[step_id].type].outputs if steps[step_id].type in STEP_TYPES else ()
    if output not in produced:
        return f"`{source}`: {steps[step_id].type} steps produce {', '.join(sorted(produced))}"
    return None


def validate_workflow(definition: WorkflowDefinition) -> list[Problem]:
    """Every problem of ``definition``: unknown types, bad needs, cycles, ends, inputs."""
    problems = _check_steps(definition)
    if problems:
        return problems
    problems = _check_graph(definition)
    if problems:
        return problems
    return _bind_inputs(definition)[1]


def compile_workflow(definition: WorkflowDefinition) -> list[PlannedStep]:
    """The steps of a valid ``definition`` in a dependency order, inputs bound.

    Raises ``WorkflowInvalid`` with every problem otherwise.
    """
    problems = validate_workflow(definition)
    if problems:
        raise WorkflowInvalid(problems)
    bindings, _ = _bind_inputs(definition)
    by_id = {step.id: step for step in definition.steps}
    order: list[str] = []
    placed: set[str] = set()
    while len(order) < len(by_id):
        for step in definition.steps:
            if step.id not in placed and all(need in placed for need in step.needs):
                order.append(step.id)
                placed.add(step.id)
    return [PlannedStep(by_id[step_id], bindings[step_id]) for step_id in order]


def parse_workflow(raw: Any) -> WorkflowDefinition:
    """A definition from plain data; ``WorkflowInvalid`` listing shape problems."""
    try:
        return WorkflowDefinition.model_validate(raw)
    except ValidationError as exc:
        raise WorkflowInvalid(
            [
                Problem(".".join(str(part) for part in error["loc"]) or "workflow", error["msg"])
                for error in exc.errors()
            ]
        ) from exc


DEFAULT_WORKFLOW_NAME = "default"

DEFAULT_WORKFLOW = WorkflowDefinition(
    steps=[
        StepDefinition(id="analyze", type="analyze", timeout_seconds=120),
        StepDefinition(id="generate", type="generate", needs=["analyze"], timeout_seconds=900),
        StepDefinition(id="validate", type="validate", needs=["generate"], timeout_seconds=300),
        StepDefinition(id="test", type="test", needs=["generate"], timeout_seconds=600),
        StepDefinition(
            id="repair", type="repair", needs=["validate", "test"], timeout_seconds=3600
        ),
        # Beside validate and test: its sandbox time overlaps theirs. A repair that changes
        # the files checks them again, and package takes repair's result first (nearest).
        StepDefinition(id="contract", type="contract", needs=["generate"], timeout_seconds=600),
        StepDefinition(
            id="package",
            type="package",
            needs=["repair", "contract"],
            timeout_seconds=300,
            compensation="delete_artifacts",
        ),
    ]
)
"""analyze -> generate -> (validate || test -> repair loop || contract) -> package."""
