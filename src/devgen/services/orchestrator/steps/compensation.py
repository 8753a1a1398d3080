"""Compensations: undo what a failed or cancelled run left behind (the saga's way back)."""

from __future__ import annotations

from devgen.services.orchestrator.steps.base import StepContext, StepOutcome

ARTIFACTS_PATH = "/api/v1/artifacts"


class DeleteArtifacts:
    """Deletes every artifact storage holds for the run (found by run id, so none is missed).

    Searching by run id rather than trusting the step's recorded output also
    finds an artifact stored just before a crash that kept the step from
    recording it. Deleting what is already gone counts as done.
    """

    async def run(self, context: StepContext) -> StepOutcome:
        """Delete the run's artifacts; the ids deleted are the output."""
        deleted: list[str] = []
        while True:
            page = await context.services.call(
                "storage",
                "GET",
                ARTIFACTS_PATH,
                params={"run_id": str(context.run_id), "limit": 100},
            )
            fresh = [str(item["id"]) for item in page or [] if str(item["id"]) not in deleted]
            if not fresh:
                break
            for artifact_id in fresh:
                await context.services.call(
                    "storage", "DELETE", f"{ARTIFACTS_PATH}/{artifact_id}", expect=(204, 404)
                )
                deleted.append(artifact_id)
        return StepOutcome(output={"deleted_artifacts": deleted})
