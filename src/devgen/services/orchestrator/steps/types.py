"""The built-in step types: what each needs, what it produces, which options it takes.

Pure data, shared by workflow validation (which checks that every input
has a source) and by the executors in this package (which do the work).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from devgen.services.orchestrator.settings import ContractPhase


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NoOptions(_Options):
    """The step takes no options."""


class RepairOptions(_Options):
    """How long the repair loop may go on."""

    max_iterations: int | None = Field(
        default=None,
        ge=0,
        le=20,
        description="Repair rounds at most [default: DEVGEN_ORCHESTRATOR_MAX_REPAIR_ITERATIONS].",
    )


class TestOptions(_Options):
    """Limits of the generated test run."""

    wall_time_seconds: float | None = Field(default=None, gt=0, le=3600)


class ContractOptions(_Options):
    """How much schemathesis tries, and for how long."""

    max_examples: int | None = Field(
        default=None,
        ge=1,
        le=1000,
        description="Cases per operation [default: DEVGEN_ORCHESTRATOR_CONTRACT_MAX_EXAMPLES].",
    )
    phases: list[ContractPhase] | None = Field(
        default=None,
        min_length=1,
        description="schemathesis phases [default: DEVGEN_ORCHESTRATOR_CONTRACT_PHASES].",
    )
    wall_time_seconds: float | None = Field(default=None, gt=0, le=3600)


class NotifyOptions(_Options):
    """What the notification says."""

    message: str | None = Field(default=None, max_length=500)


@dataclass(frozen=True)
class Input:
    """One input of a step type."""

    name: str
    required: bool = True
    run_parameter: str | None = None
    """A run parameter that may supply it when no earlier step does (``spec``)."""


@dataclass(frozen=True)
class StepType:
    """A built-in step type."""

    name: str
    description: str
    inputs: tuple[Input, ...] = ()
    outputs: frozenset[str] = frozenset()
    options: type[_Options] = NoOptions
    compensations: frozenset[str] = field(default_factory=frozenset)

    def parse_options(self, raw: dict[str, Any]) -> _Options:
        """The step's options, validated (raises pydantic's ``ValidationError``)."""
        return self.options.model_validate(raw)


COMPENSATIONS: dict[str, str] = {
    "delete_artifacts": "Delete every artifact the run stored (storage, by run id).",
}
"""Compensations a step may name; they run when the run fails or is cancelled."""

_TEST_OUTPUTS = frozenset({"test_run", "passed"})

STEP_TYPES: dict[str, StepType] = {
    step.name: step
    for step in (
        StepType(
            "analyze",
            "Requirement (English, YAML or JSON) to spec, user stories and acceptance criteria.",
            outputs=frozenset(
                {
                    "spec",
                    "user_stories",
                    "acceptance_criteria",
                    "unparsed",
                    "assumptions",
                    "will_build",
                    "not_implemented",
                }
            ),
        ),
        StepType(
            "generate",
            "Spec to a complete project with the run's engine (template, llm or hybrid).",
            inputs=(Input("spec", run_parameter="spec"),),
            outputs=frozenset(
                {
                    *("files", "tests", "engine", "generator"),
                    *("extensions", "protected", "template_tests", "documents"),
                }
            ),
        ),
        StepType(
            "validate",
            "Static checks of the project: syntax, ruff, bandit.",
            inputs=(Input("files"),),
            outputs=frozenset({"diagnostics", "summary"}),
        ),
        StepType(
            "test",
            "Run the project's tests in the executor's sandbox; junit and coverage.",
            inputs=(Input("files"),),
            outputs=_TEST_OUTPUTS,
            options=TestOptions,
        ),
        StepType(
            "contract",
            "Run schemathesis (every default check, the stateful phase included) against "
            "the service in the sandbox; a server error fails the run, other failures are "
            "reported.",
            inputs=(Input("files"),),
            outputs=frozenset({"contract", "contract_verdict"}),
            options=ContractOptions,
        ),
        StepType(
            "repair",
            "LLM and hybrid engines only: send the failures back to codegen and test again, "
            "until the tests pass or the iterations or the budget run out; the repaired "
            "project's contract is checked again.",
            inputs=(
                Input("files"),
                Input("spec", run_parameter="spec"),
                Input("test_run", required=False),
                Input("diagnostics", required=False),
                Input("extensions", required=False),
                Input("protected", required=False),
            ),
            outputs=_TEST_OUTPUTS
            | {"files", "iterations", "extensions", "contract", "contract_verdict"},
            options=RepairOptions,
        ),
        StepType(
            "package",
            "Store the project and its report (Markdown and JSON) as an artifact.",
            inputs=(
                Input("files"),
                Input("spec", required=False, run_parameter="spec"),
                Input("test_run", required=False),
                Input("contract", required=False),
                Input("diagnostics", required=False),
                Input("user_stories", required=False),
                Input("acceptance_criteria", required=False),
                Input("unparsed", required=False),
                Input("assumptions", required=False),
                Input("extensions", required=False),
                Input("template_tests", required=False),
                Input("documents", required=False),
            ),
            outputs=frozenset({"artifact_id", "report"}),
            compensations=frozenset({"delete_artifacts"}),
        ),
        StepType(
            "notify",
            "Announce the run's progress as an event (orchestrator.run.notified).",
            outputs=frozenset({"notified"}),
            options=NotifyOptions,
        ),
    )
}
"""Every built-in step type by name."""
