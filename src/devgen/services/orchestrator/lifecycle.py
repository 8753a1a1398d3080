"""How runs and their tasks change state, inside one transaction each.

The engine (a worker finishing a step) and the API (a user cancelling) both
change runs through these functions. Each expects the run locked first
(:func:`~devgen.services.orchestrator.leases.lock_run`) and the run's tasks
loaded; each records the transition's events in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from devgen.kit.db import utcnow
from devgen.services.orchestrator import metrics
from devgen.services.orchestrator.events import EventType, record
from devgen.services.orchestrator.models import Run, Task
from devgen.services.orchestrator.states import (
    State,
    check_run_transition,
    check_task_transition,
    is_terminal,
)
from devgen.services.orchestrator.workflow import RetryPolicy, StepDefinition

COMPENSATION_KIND = "compensation"
STEP_KIND = "step"
COMPENSATION_RETRY = RetryPolicy(attempts=5, backoff_seconds=1.0, backoff_factor=2.0)
_TEST_TYPES = ("repair", "test")

_STEP_EVENTS = {
    State.succeeded: EventType.step_succeeded,
    State.failed: EventType.step_failed,
    State.cancelled: EventType.step_cancelled,
    State.skipped: EventType.step_skipped,
    State.retrying: EventType.step_retrying,
}


async def tasks_of(session: AsyncSession, run_id: uuid.UUID) -> list[Task]:
    """The run's tasks in plan order (fresh from the database)."""
    rows = await session.scalars(
        select(Task)
        .where(Task.run_id == run_id)
        .order_by(Task.position)
        .execution_options(populate_existing=True)
    )
    return list(rows)


def step_definition(run: Run, step: str) -> StepDefinition | None:
    """The definition of ``step`` in the run's compiled plan."""
    for planned in run.plan:
        if planned["definition"]["id"] == step:
            return StepDefinition.model_validate(planned["definition"])
    return None


def seconds_between(start: datetime | None, end: datetime | None) -> float | None:
    """``end - start`` in seconds, rounded; None when either is unknown."""
    if start is None or end is None:
        return None
    return round((end - start).total_seconds(), 3)


def _close_attempt(task: Task, state: State, now: datetime, error: dict[str, Any] | None) -> None:
    log = [dict(entry) for entry in task.attempts_log]
    if log and log[-1].get("finished_at") is None:
        log[-1]["finished_at"] = now.isoformat()
        log[-1]["state"] = state.value
        if error:
            log[-1]["error"] = error.get("code")
    task.attempts_log = log


def _attempt_seconds(task: Task, now: datetime) -> float | None:
    started = (task.attempts_log or [{}])[-1].get("started_at")
    if not started:
        return None  # never ran (skipped, cancelled while waiting)
    return seconds_between(datetime.fromisoformat(started), now)


async def _settle_task(
    session: AsyncSession,
    run: Run,
    task: Task,
    state: State,
    *,
    reason: str | None = None,
    error: dict[str, Any] | None = None,
) -> None:
    check_task_transition(task.state, state)
    now = utcnow()
    task.state = state.value
    task.lease_owner = None
    task.lease_expires_at = None
    if is_terminal(state):
        task.finished_at = now
    if error is not None:
        task.error = error
    _close_attempt(task, state, now, error)
    metrics.step_ended(session, task.type, state.value, _attempt_seconds(task, now))
    data: dict[str, Any] = {"type": task.type, "attempt": task.attempt}
    if reason:
        data["reason"] = reason
    if error is not None:
        data["error"] = {"code": error.get("code"), "message": error.get("message")}
    if task.started_at is not None and is_terminal(state):
        data["duration_seconds"] = seconds_between(task.started_at, now)
    await record(session, run, _STEP_EVENTS[state], step=task.step, data=data)


async def task_succeeded(
    session: AsyncSession,
    run: Run,
    task: Task,
    tasks: Sequence[Task],
    *,
    output: dict[str, Any],
    usage: dict[str, Any],
    skipped_because: str | None,
    notifications: Sequence[dict[str, Any]] = (),
) -> None:
    """Record a step's success (or skip), release the steps that needed it, maybe finish."""
    task.output = output
    task.usage = usage
    task.error = None
    state = State.skipped if skipped_because else State.succeeded
    await _settle_task(session, run, task, state, reason=skipped_because)
    for notification in notifications:
        await record(session, run, EventType.run_notified, step=task.step, data=notification)
    for other in tasks:
        if task.step in (other.needs or []) and other.state == State.pending:
            other.deps_remaining = max(other.deps_remaining - 1, 0)
    await finish_if_done(session, run, tasks)


async def task_failed(
    session: AsyncSession,
    run: Run,
    task: Task,
    tasks: Sequence[Task],
    *,
    error: dict[str, Any],
    retryable: bool,
) -> bool:
    """Record a failed attempt: retry it, or fail the step (and stop the run).

    Returns True when the run is now stopping (the caller stops its other
    running steps).
    """
    policy = (
        COMPENSATION_RETRY
        if task.kind == COMPENSATION_KIND
        else (step_definition(run, task.step) or StepDefinition(id="x", type=task.type)).retry
    )
    if retryable and task.attempt < task.max_attempts and run.stop_reason is None:
        delay = policy.delay(task.attempt)
        await _settle_task(session, run, task, State.retrying, error=error)
        task.attempt += 1
        task.not_before = utcnow() + timedelta(seconds=delay)
        # A new attempt starts afresh: new idempotency keys, no checkpoint.
        task.checkpoint = {}
        return False
    await _settle_task(session, run, task, State.failed, error=error)
    if task.kind == COMPENSATION_KIND:
        if run.error is not None:
            run.error = {**run.error, "compensation_failed": {"step": task.step, **error}}
        await finish_if_done(session, run, tasks)
        return False
    stopping = run.stop_reason is None
    if stopping:
        run.stop_reason = "failed"
        run.error = {"step": task.step, **error}
        await skip_waiting(session, run, tasks, State.skipped, f"`{task.step}` failed")
    await finish_if_done(session, run, tasks)
    return stopping


async def task_cancelled(
    session: AsyncSession, run: Run, task: Task, tasks: Sequence[Task], reason: str
) -> None:
    """Record that a running step stopped because its run is stopping."""
    await _settle_task(session, run, task, State.cancelled, reason=reason)
    await finish_if_done(session, run, tasks)


async def skip_waiting(
    session: AsyncSession, run: Run, tasks: Sequence[Task], state: State, reason: str
) -> None:
    """Settle every step that has not started (pending or waiting to retry) as ``state``."""
    for task in tasks:
        if task.kind == STEP_KIND and task.state in {State.pending, State.retrying}:
            await _settle_task(session, run, task, state, reason=reason)


async def request_cancel(
    session: AsyncSession, run: Run, tasks: Sequence[Task], actor_note: str
) -> bool:
    """Stop the run on a user's request; False when it had already finished or was stopping."""
    if is_terminal(run.state) or run.stop_reason is not None:
        return False
    run.stop_reason = "cancelled"
    run.cancel_requested_at = utcnow()
    run.error = {"code": "CANCELLED", "message": f"The run was cancelled by {actor_note}."}
    await record(session, run, EventType.run_cancel_requested, actor=None)
    await skip_waiting(session, run, tasks, State.cancelled, "the run was cancelled")
    await finish_if_done(session, run, tasks)
    return True


def _last_test_run(tasks: Sequence[Task]) -> Task | None:
    done = [
        t
        for t in tasks
        if t.type in _TEST_TYPES and t.state == State.succeeded and "passed" in (t.output or {})
    ]
    return done[-1] if done else None


def _needs_compensation(run: Run, tasks: Sequence[Task]) -> list[tuple[Task, str]]:
    wanted = []
    for task in tasks:
        if task.kind != STEP_KIND or task.started_at is None:
            continue
        definition = step_definition(run, task.step)
        if definition is not None and definition.compensation:
            wanted.append((task, definition.compensation))
    return wanted


async def _start_compensation(session: AsyncSession, run: Run, tasks: Sequence[Task]) -> bool:
    if any(task.kind == COMPENSATION_KIND for task in tasks):
        return False
    wanted = _needs_compensation(run, tasks)
    if not wanted:
        return False
    position = max(task.position for task in tasks) + 1
    for offset, (task, name) in enumerate(reversed(wanted)):
        session.add(
            Task(
                run_id=run.id,
                tenant_id=run.tenant_id,
                step=f"compensate:{task.step}",
                type=f"compensate:{name}",
                kind=COMPENSATION_KIND,
                position=position + offset,
                state=State.pending.value,
                attempt=1,
                max_attempts=COMPENSATION_RETRY.attempts,
                needs=[],
                deps_remaining=0,
            )
        )
    await record(
        session,
        run,
        EventType.run_compensating,
        data={"compensations": [f"{name} for {task.step}" for task, name in wanted]},
    )
    return True


def _usage_of(tasks: Sequence[Task]) -> dict[str, Any]:
    total: dict[str, Any] = {
        "calls": 0,
        "input_tokens": 0,
        "output_tokens": 0,
        "total_tokens": 0,
        "cost_usd": 0.0,
    }
    for task in tasks:
        for key in ("calls", "input_tokens", "output_tokens", "total_tokens"):
            total[key] += int((task.usage or {}).get(key, 0) or 0)
        total["cost_usd"] += float((task.usage or {}).get("cost_usd", 0.0) or 0.0)
    total["cost_usd"] = round(total["cost_usd"], 6)
    return total


def _tests_of(task: Task | None) -> dict[str, Any] | None:
    if task is None or not task.output:
        return None
    test_run = task.output.get("test_run")
    if not isinstance(test_run, dict) or "summary" not in test_run:
        return {"all_passed": bool(task.output.get("passed")), "step": task.step}
    summary = test_run["summary"]
    return {
        "all_passed": bool(test_run.get("passed")),
        "step": task.step,
        **{key: summary.get(key) for key in ("total", "passed", "failed", "error", "skipped")},
        "duration_seconds": summary.get("duration_seconds"),
        "coverage_percent": (test_run.get("coverage") or {}).get("percent"),
        "execution_id": test_run.get("execution_id"),
        "verdict": summary.get("verdict"),
        "problems": list(summary.get("problems") or []),
    }


def _contract_verdict(tasks: Sequence[Task]) -> Any:
    """The verdict on the files handed over: a repair's re-check first, else the contract step's."""
    for kind in ("repair", "contract"):
        checked = [
            t
            for t in tasks
            if t.type == kind
            and t.state == State.succeeded
            and (t.output or {}).get("contract_verdict")
        ]
        if checked:
            return (checked[-1].output or {})["contract_verdict"]
    return None


def _contract_error(tasks: Sequence[Task]) -> dict[str, Any] | None:
    verdict = _contract_verdict(tasks)
    if not isinstance(verdict, dict) or not verdict.get("server_errors"):
        return None
    operations = ", ".join(verdict.get("server_error_operations") or []) or "an operation"
    return {
        "code": "CONTRACT_SERVER_ERROR",
        "message": f"The service answered {verdict['server_errors']} of schemathesis' "
        f"requests with a server error (5xx): {operations}; see the report.",
        "details": {"contract": verdict},
    }


def _verdict_error(
    run: Run, tasks: Sequence[Task], tests: dict[str, Any] | None
) -> dict[str, Any] | None:
    if tests is None or tests["all_passed"]:
        return _contract_error(tasks)
    repaired = [t for t in tasks if t.type == "repair" and t.state == State.succeeded]
    rounds = len((repaired[-1].output or {}).get("iterations") or []) if repaired else 0
    detail = (
        f"{tests.get('failed', 0)} failed and {tests.get('error', 0)} errors "
        f"of {tests.get('total', 0)} tests"
    )
    if rounds:
        why = f" after {rounds} repair round{'s' if rounds != 1 else ''}"
    elif (run.params or {}).get("engine") not in {"llm", "hybrid"}:
        why = " (the template engine does not repair; see the report)"
    else:
        why = ""
    # All tests passing yet no pass: the run itself ended badly (a limit, a pytest exit code).
    problems = "; ".join(tests.get("problems") or [])
    if problems:
        detail += f" ({problems})"
    return {
        "code": "TESTS_FAILED",
        "message": f"The generated tests did not pass: {detail}{why}.",
        "details": {"tests": tests},
    }


async def finish_if_done(session: AsyncSession, run: Run, tasks: Sequence[Task]) -> bool:
    """Finish the run when none of its tasks has anything left to do.

    A run that failed or was cancelled first runs its compensations (new
    tasks), then finishes. A run whose steps all succeeded still fails when
    its final tests did not pass (``TESTS_FAILED``) or the contract check met a
    server error (``CONTRACT_SERVER_ERROR``); its artifact stays, as the report
    of what went wrong.
    """
    if is_terminal(run.state) or not all(is_terminal(task.state) for task in tasks):
        return False
    stopped = run.stop_reason is not None
    if stopped and await _start_compensation(session, run, tasks):
        return False
    final_test = _last_test_run(tasks)
    run.tests = _tests_of(final_test)
    run.usage = _usage_of(tasks)
    packaged = [t for t in tasks if t.type == "package" and t.state == State.succeeded]
    if packaged and packaged[-1].output:
        artifact = packaged[-1].output.get("artifact_id")
        run.artifact_id = uuid.UUID(str(artifact)) if artifact else None
    if stopped:
        compensated = [
            t for t in tasks if t.kind == COMPENSATION_KIND and t.state == State.succeeded
        ]
        if compensated:
            run.artifact_id = None  # deleted by the compensation
        target = State.cancelled if run.stop_reason == "cancelled" else State.failed
    else:
        error = _verdict_error(run, tasks, run.tests)
        target = State.failed if error else State.succeeded
        run.error = error
    if run.state == State.pending:
        check_run_transition(run.state, State.running)
        run.state = State.running.value
    check_run_transition(run.state, target)
    run.state = target.value
    run.finished_at = utcnow()
    duration = seconds_between(run.started_at or run.created_at, run.finished_at)
    metrics.run_ended(session, run.state, duration)
    data: dict[str, Any] = {
        "duration_seconds": duration,
        "usage": run.usage,
    }
    if run.tests is not None:
        data["tests"] = {
            k: run.tests.get(k) for k in ("all_passed", "total", "passed", "failed", "error")
        }
    if run.artifact_id is not None:
        data["artifact_id"] = str(run.artifact_id)
    if run.error is not None:
        data["error"] = {"code": run.error.get("code"), "message": run.error.get("message")}
    event = {
        State.succeeded: EventType.run_succeeded,
        State.failed: EventType.run_failed,
        State.cancelled: EventType.run_cancelled,
    }[target]
    await record(session, run, event, data=data)
    return True
