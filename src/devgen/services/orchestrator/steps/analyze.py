"""``analyze``: the requirement (or the given spec) into a spec, user stories and criteria."""

from __future__ import annotations

from devgen.services.orchestrator.calls import CallFailed
from devgen.services.orchestrator.steps.base import StepContext, StepError, StepOutcome

ANALYZE_PATH = "/api/v1/codegen/analyze"


class AnalyzeStep:
    """Asks codegen's analyst; a requirement it cannot read fails with its explanation."""

    async def run(self, context: StepContext) -> StepOutcome:
        """Analyse the run's requirement, or validate and complete its spec."""
        params = context.params
        # A given spec travels as the object it is; only English goes as text.
        body: dict[str, object] = (
            {"spec": params.spec}
            if params.spec is not None
            else {"requirement": params.requirement or ""}
        )
        body["engine"] = params.analyst
        if params.analyst == "llm":
            body["budget"] = context.budget.remaining() or None
        try:
            data = await context.services.call("codegen", "POST", ANALYZE_PATH, json=body)
        except CallFailed as exc:
            if exc.status == 422:
                # The analyst's own words are the useful part: which sentences it
                # expected, what it could not read.
                raise StepError(exc.code, exc.message, details=exc.details) from exc
            raise
        usage = data.get("usage") or {}
        return StepOutcome(
            output={
                "source": data["source"],
                "spec": data["spec"],
                "user_stories": data["user_stories"],
                "acceptance_criteria": data["acceptance_criteria"],
                "unparsed": data["unparsed"],
                "assumptions": data["assumptions"],
                "will_build": data["will_build"],
                "not_implemented": data["not_implemented"],
            },
            usage=usage,
        )
