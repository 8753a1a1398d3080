"""``notify``: announce the run's progress as an event others can act on."""

from __future__ import annotations

from devgen.services.orchestrator.steps.base import StepContext, StepOutcome
from devgen.services.orchestrator.steps.types import NotifyOptions


class NotifyStep:
    """Emits ``orchestrator.run.notified`` (through the outbox, so audit and webhooks see it)."""

    async def run(self, context: StepContext) -> StepOutcome:
        """The notification, recorded with the step's success."""
        options = context.options
        message = (
            options.message
            if isinstance(options, NotifyOptions) and options.message
            else f"Run {context.run_id} reached step {context.step}."
        )
        finished = {name: step.state for name, step in context.finished.items()}
        return StepOutcome(
            output={"notified": message}, notifications=[{"message": message, "steps": finished}]
        )
