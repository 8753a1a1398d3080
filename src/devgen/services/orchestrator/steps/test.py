"""``test``: the project's tests in the sandbox, with junit results and coverage."""

from __future__ import annotations

from devgen.services.orchestrator.steps.base import StepContext, StepOutcome
from devgen.services.orchestrator.steps.testing import run_tests
from devgen.services.orchestrator.steps.types import TestOptions


class TestStep:
    """Runs the generated tests once; failing tests are a result, not a step failure."""

    __test__ = False  # not a pytest class, despite the name

    async def run(self, context: StepContext) -> StepOutcome:
        """Test the ``files`` input."""
        options = context.options
        wall = options.wall_time_seconds if isinstance(options, TestOptions) else None
        run = await run_tests(context, await context.input("files"), label="tests", wall_time=wall)
        return StepOutcome(output={"test_run": run, "passed": run["passed"]})
