"""``analyze``: the requirement (or the given spec) into a spec, user stories and criteria."""

from __future__ import annotations

import json

from devgen.services.orchestrator.calls import CallFailed
from devgen.services.orchestrator.steps.base import StepContext, StepError, StepOutcome

ANALYZE_PATH = "/api/v1/codegen/analyze"


class AnalyzeStep:
    """Asks codegen's analyst; a requirement it cannot read fails with its explanation."""

    async def run(self, context: StepContext) -> StepOutcome:
        """Analyse the run's requirement, or validate and complete its spec."""
        params = context.params
        requirement = (
            json.dumps(params.spec, ensure_ascii=False)
            if params.spec is not None
            else (params.requirement or "")
        )
        body: dict[str, object] = {"requirement": requirement, "engine": params.analyst}
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
            },
            usage=usage,
        )
