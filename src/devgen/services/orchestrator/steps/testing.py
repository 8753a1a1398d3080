"""Running a project's tests in the executor's sandbox, once per idempotency key.

Shared by the ``test`` step and each round of the ``repair`` loop. The
execution is created with an ``Idempotency-Key`` and its id checkpointed
before the step waits for it: a worker that takes the step over after a
crash finds the id (or gets the same execution back from the key) and
waits for that execution instead of starting another. Cancelling the step
(the run was cancelled, the step timed out) cancels the execution.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from typing import Any

from devgen.kit import testruns
from devgen.services.orchestrator.calls import CallFailed
from devgen.services.orchestrator.steps.base import StepContext, StepError

EXECUTE_PATH = "/api/v1/execute"
EXECUTION_PATH = "/api/v1/executions/{id}"
CANCEL_PATH = "/api/v1/executions/{id}/cancel"
ENVIRONMENT = testruns.ENVIRONMENT
_FINISHED = frozenset({"finished"})
_NOT_A_RESULT = frozenset({"internal_error", "killed"})
_SLACK_SECONDS = 60.0


def execute_body(
    context: StepContext,
    files: Mapping[str, str],
    wall_time: float,
    *,
    command: list[str] | None = None,
    collect: list[str] | None = None,
) -> dict[str, Any]:
    """The body of ``POST /api/v1/execute``: the project's tests, or ``command``."""
    settings = context.settings
    limits = {
        "wall_time_s": wall_time,
        "cpu_time_s": min(settings.orchestrator_test_cpu_time_seconds, wall_time),
        "memory_bytes": settings.orchestrator_test_memory_bytes,
    }
    body = testruns.execute_body(files, limits=limits, wait=False)
    if command is not None:
        body["command"] = command
    if collect is not None:
        body["collect"] = collect
    return body


async def run_tests(
    context: StepContext, files: Mapping[str, str], *, label: str, wall_time: float | None = None
) -> dict[str, Any]:
    """Run ``files``' tests (once for ``label`` in this attempt); the summarised results."""
    wall = wall_time or context.settings.orchestrator_test_wall_time_seconds
    execution = await execute_once(context, execute_body(context, files, wall), label=label)
    summary = testruns.summarise(execution, list(files)).as_output()
    summary["execution_id"] = execution["id"]
    return summary


async def execute_once(
    context: StepContext, body: dict[str, Any], *, label: str, what: str = "tests"
) -> dict[str, Any]:
    """Run ``body`` in the sandbox (once for ``label`` in this attempt); the finished execution.

    Raises a retryable :class:`StepError` when the execution ended without a result (the
    sandbox failed, or it was interrupted) or did not finish in time.
    """
    wall = float(body["limits"]["wall_time_s"])
    executions: dict[str, str] = dict(context.checkpoint.get("executions") or {})
    execution_id = executions.get(label)
    if execution_id is None:
        created = await context.services.call(
            "executor",
            "POST",
            EXECUTE_PATH,
            json=body,
            idempotency_key=context.idempotency_key(label),
            expect=(200, 201, 202),
        )
        execution_id = str(created["id"])
        executions[label] = execution_id
        await context.checkpoint_update(executions=executions)
        await context.progress(f"{what} queued in the sandbox", execution_id=execution_id)
    try:
        execution = await _wait(
            context, execution_id, deadline=time.monotonic() + wall + _SLACK_SECONDS, what=what
        )
    except asyncio.CancelledError:
        # Shielded: the step is being torn down, but the sandbox must stop too.
        await asyncio.shield(_cancel(context, execution_id))
        raise
    verdict = execution.get("verdict")
    if verdict in _NOT_A_RESULT:
        # The sandbox failed, or the run was interrupted (the executor restarted under it):
        # the tests did not get to say anything. Another attempt runs them again.
        detail = execution.get("reason") or (execution.get("result") or {}).get("detail")
        raise StepError(
            "SANDBOX_ERROR" if verdict == "internal_error" else "TESTS_INTERRUPTED",
            f"The {what} run ended without a result ({verdict}): {detail or 'no detail'}",
            retryable=True,
            details={"execution_id": execution_id},
        )
    return {**execution, "id": execution_id}


async def _wait(
    context: StepContext, execution_id: str, *, deadline: float, what: str
) -> dict[str, Any]:
    path = EXECUTION_PATH.format(id=execution_id)
    while True:
        try:
            execution: dict[str, Any] = await context.services.call("executor", "GET", path)
        except CallFailed as exc:
            if not exc.retryable:
                raise
            execution = {}
        if execution.get("status") in _FINISHED:
            return execution
        if time.monotonic() > deadline:
            await _cancel(context, execution_id)
            raise StepError(
                "TEST_TIMEOUT",
                f"The {what} run did not finish in time.",
                retryable=True,
                details={"execution_id": execution_id},
            )
        await asyncio.sleep(context.settings.orchestrator_execution_poll_seconds)


async def _cancel(context: StepContext, execution_id: str) -> None:
    with contextlib.suppress(Exception):
        await context.services.request(
            "executor", "POST", CANCEL_PATH.format(id=execution_id), json={}
        )
