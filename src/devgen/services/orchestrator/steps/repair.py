"""``repair``: the bounded loop that sends failures back to the LLM and tests again.

LLM and hybrid engines only (the template engine is deterministic: a second
try would give the same files). The hybrid engine's rounds rewrite only the
model's extensions: a change to a protected (template) file is refused by
codegen, listed in the round, and the round is spent all the same. Each
round asks codegen to repair the failing tests within what is left of the
run's budget, then runs the tests again; the loop stops when they pass,
when the rounds run out (the step still succeeds, with ``passed: false``)
or when the budget is spent (the step fails with ``BUDGET_EXCEEDED``).
Every finished round is checkpointed, so a worker taking the step over
carries on with the next round. After any round, the repaired project's contract
is checked again (the contract step checked the files before repair).
"""

from __future__ import annotations

from typing import Any

from devgen.kit.testruns import failures_of
from devgen.services.orchestrator.steps.base import StepContext, StepOutcome
from devgen.services.orchestrator.steps.contract import check_contract
from devgen.services.orchestrator.steps.generate import budget_or_fail
from devgen.services.orchestrator.steps.testing import run_tests
from devgen.services.orchestrator.steps.types import RepairOptions

REPAIR_PATH = "/api/v1/codegen/repair"


def _add(total: dict[str, Any], usage: dict[str, Any]) -> dict[str, Any]:
    summed = dict(total)
    for key in ("calls", "input_tokens", "output_tokens", "total_tokens"):
        summed[key] = int(summed.get(key, 0)) + int(usage.get(key, 0) or 0)
    summed["cost_usd"] = round(
        float(summed.get("cost_usd", 0.0)) + float(usage.get("cost_usd", 0.0) or 0.0), 6
    )
    if usage.get("model"):
        summed["model"] = usage["model"]
    return summed


def _failures(test_run: dict[str, Any]) -> list[dict[str, Any]]:
    failing = failures_of(test_run.get("results") or [])
    if failing:
        return failing
    # Nothing ran (an import error stops collection): the output is the failure.
    problems = "; ".join(test_run.get("summary", {}).get("problems") or [])
    return [
        {"message": (problems + "\n" + (test_run.get("output") or ""))[:20_000] or "tests failed"}
    ]


class RepairStep:
    """Repairs until the tests pass, the rounds run out, or the budget is spent."""

    async def run(self, context: StepContext) -> StepOutcome:
        """Run the loop from where the checkpoint left it."""
        engine = context.params.engine
        if engine not in {"llm", "hybrid"}:
            return StepOutcome.skip("LLM engine only: the template engine's output is not repaired")
        first_run = await context.input("test_run", None)
        if first_run is None:
            return StepOutcome.skip("no test results to repair against")
        if first_run.get("passed"):
            return StepOutcome.skip("the tests passed")
        options = context.options
        limit = (
            options.max_iterations
            if isinstance(options, RepairOptions) and options.max_iterations is not None
            else context.settings.orchestrator_max_repair_iterations
        )
        if limit == 0:
            return StepOutcome.skip("repair is turned off (max_iterations is 0)")
        rounds: list[dict[str, Any]] = list(context.checkpoint.get("rounds") or [])
        files: dict[str, str] = context.checkpoint.get("files") or await context.input("files")
        test_run: dict[str, Any] = context.checkpoint.get("test_run") or first_run
        usage: dict[str, Any] = dict(context.checkpoint.get("usage") or {})
        extensions = context.checkpoint.get("extensions") or (
            await context.input("extensions", None) if engine == "hybrid" else None
        )
        context.budget.charge(usage)  # what earlier holders of this attempt spent
        while not test_run.get("passed") and len(rounds) < limit:
            iteration = len(rounds) + 1
            await context.progress(f"repair round {iteration} of {limit}", iteration=iteration)
            body: dict[str, Any] = {
                "files": files,
                "spec": await context.input("spec", None),
                "failures": _failures(test_run)[:50],
                "output": (test_run.get("output") or "")[-200_000:],
            }
            if (budget := budget_or_fail(context)) is not None:
                body["budget"] = budget
            if engine == "hybrid":
                body |= {
                    "engine": "hybrid",
                    "protected": await context.input("protected", None) or {},
                    "extensions": extensions or [],
                }
                if context.params.requirement:
                    body["requirement"] = context.params.requirement
            repaired = await context.services.call(
                "codegen",
                "POST",
                REPAIR_PATH,
                json=body,
                idempotency_key=context.idempotency_key(f"repair-{iteration}"),
                read_timeout=context.settings.orchestrator_default_step_timeout_seconds,
            )
            spent = repaired.get("usage") or {}
            context.budget.charge(spent)
            usage = _add(usage, spent)
            files = repaired["files"]
            if repaired.get("extensions") is not None:
                extensions = repaired["extensions"]
            test_run = await run_tests(context, files, label=f"tests-{iteration}")
            rounds.append(
                {
                    "iteration": iteration,
                    "changed": repaired.get("changed", []),
                    "refused": repaired.get("refused", []),
                    "usage": spent,
                    "passed": test_run["passed"],
                    "summary": test_run["summary"],
                }
            )
            await context.checkpoint_update(
                rounds=rounds, files=files, test_run=test_run, usage=usage, extensions=extensions
            )
        # The contract step checked the generated files beside the first test run; what is
        # handed over now differs, so its contract is checked again (package and the run's
        # verdict take this result first).
        contract = (
            await check_contract(context, files, label="contract-repaired") if rounds else None
        )
        return StepOutcome(
            output={
                "files": files,
                "test_run": test_run,
                "passed": bool(test_run.get("passed")),
                "iterations": rounds,
                **({"extensions": extensions} if extensions is not None else {}),
                **(contract or {}),
            },
            usage=usage,
        )
