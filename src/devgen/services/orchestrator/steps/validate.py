"""``validate``: static checks of the project (syntax, ruff, bandit); the tests run apart."""

from __future__ import annotations

from devgen.services.orchestrator.steps.base import StepContext, StepOutcome

VALIDATE_PATH = "/api/v1/codegen/validate"


class ValidateStep:
    """Asks codegen for diagnostics; the ``test`` step runs the tests in parallel."""

    async def run(self, context: StepContext) -> StepOutcome:
        """Diagnostics for the ``files`` input."""
        data = await context.services.call(
            "codegen",
            "POST",
            VALIDATE_PATH,
            json={"files": await context.input("files"), "run_tests": False},
            read_timeout=context.settings.orchestrator_default_step_timeout_seconds,
        )
        return StepOutcome(
            output={
                "diagnostics": data["diagnostics"],
                "summary": {
                    "ok": data["ok"],
                    "errors": data["errors"],
                    "warnings": data["warnings"],
                },
            }
        )
