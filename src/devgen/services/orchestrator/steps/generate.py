"""``generate``: the spec into a complete project, with the run's engine."""

from __future__ import annotations

from typing import Any

from devgen.services.orchestrator.steps.base import StepContext, StepError, StepOutcome
from devgen.services.orchestrator.steps.progress import following_progress

GENERATE_PATH = "/api/v1/codegen/generate"


def budget_or_fail(context: StepContext) -> dict[str, Any] | None:
    """The budget left for an LLM call; ``BUDGET_EXCEEDED`` when nothing is left."""
    if context.params.engine not in {"llm", "hybrid"}:
        return None
    if context.budget.exhausted:
        raise StepError(
            "BUDGET_EXCEEDED",
            "The run's budget is spent: "
            f"{context.budget.spent_tokens} tokens and ${context.budget.spent_cost_usd:.4f} "
            "used. Raise the project's budget to go on.",
            details={"budget": context.budget.remaining()},
        )
    return context.budget.remaining() or None


class GenerateStep:
    """Asks codegen for the project files."""

    async def run(self, context: StepContext) -> StepOutcome:
        """Generate the project from the ``spec`` input."""
        params = context.params
        body: dict[str, Any] = {
            "spec": await context.input("spec"),
            "engine": params.engine,
            "language": params.language,
            "template": params.template,
        }
        if (budget := budget_or_fail(context)) is not None:
            body["budget"] = budget
        if params.engine in {"llm", "hybrid"} and params.requirement:
            body["requirement"] = params.requirement
        key = context.idempotency_key("generate")
        call = context.services.call(
            "codegen",
            "POST",
            GENERATE_PATH,
            json=body,
            idempotency_key=key,
            read_timeout=context.settings.orchestrator_default_step_timeout_seconds,
        )
        if params.engine in {"llm", "hybrid"}:
            # The model takes minutes: its progress reaches the run's events meanwhile.
            data = await following_progress(context, key, call)
        else:
            data = await call
        return StepOutcome(
            output={
                "files": data["files"],
                "tests": data["tests"],
                "engine": data["engine"],
                "generator": {
                    "name": data["generator"],
                    "version": data["generator_version"],
                    "template": data["template"],
                    "language": data["language"],
                    "spec_hash": data["spec_hash"],
                    "file_count": data["file_count"],
                    "total_bytes": data["total_bytes"],
                },
                **(
                    {
                        "extensions": data.get("extensions") or [],
                        "protected": data.get("protected") or {},
                        "template_tests": data.get("template_tests") or [],
                    }
                    if params.engine == "hybrid"
                    else {}
                ),
                # What the LLM roles wrote (brief, design, review), for the report.
                **({"documents": data["documents"]} if data.get("documents") else {}),
            },
            usage=data.get("usage") or {},
        )
