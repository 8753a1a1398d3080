"""The run engine with scripted steps: order, parallelism, retries, failures, sagas, takeovers."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from devgen.kit.events.tables import outbox
from devgen.services.orchestrator.service import cancel_run
from devgen.services.orchestrator.steps.base import StepContext, StepError, StepOutcome
from devgen.services.orchestrator.workflow import RetryPolicy, StepDefinition
from tests.helpers import EVENTUALLY_SECONDS
from tests.services.orchestrator.conftest import (
    happy_executors,
    run_events,
    run_tasks,
    start_run,
    wait_run,
)


async def test_the_default_workflow_runs_every_step_in_order(database, principal, make_engine):
    executors = happy_executors()
    await make_engine(executors)
    run_id = await start_run(database, principal)
    run = await wait_run(database, run_id)
    assert run.state == "succeeded", run.error
    tasks = await run_tasks(database, run_id)
    assert {step: task.state for step, task in tasks.items()} == {
        "analyze": "succeeded",
        "generate": "succeeded",
        "validate": "succeeded",
        "test": "succeeded",
        "repair": "skipped",
        "contract": "succeeded",
        "package": "succeeded",
    }
    assert executors["generate"].calls[0].inputs == {"spec": {"name": "x"}}
    assert executors["package"].calls[0].inputs["files"] == {"a.py": "x = 1\n"}
    assert tasks["analyze"].finished_at <= tasks["generate"].started_at
    assert (
        max(tasks["validate"].finished_at, tasks["test"].finished_at) <= tasks["repair"].started_at
    )


async def test_independent_steps_run_at_the_same_time(database, principal, make_engine):
    executors = happy_executors()
    both_started = asyncio.Event()
    started: list[str] = []

    def waiting(name: str):
        async def script(context: StepContext) -> StepOutcome:
            started.append(name)
            if len(started) == 2:
                both_started.set()
            # Run one after the other, neither would see the other start.
            async with asyncio.timeout(EVENTUALLY_SECONDS):
                await both_started.wait()
            return StepOutcome(output=dict(executors[name].output))

        return script

    executors["validate"].script = waiting("validate")
    executors["test"].script = waiting("test")
    await make_engine(executors)
    run = await wait_run(database, await start_run(database, principal))
    assert run.state == "succeeded", run.error
    assert sorted(started) == ["test", "validate"]


async def test_a_transient_failure_is_retried_with_back_off(database, principal, make_engine):
    executors = happy_executors()
    failures = 2

    async def flaky(context: StepContext) -> StepOutcome:
        nonlocal failures
        if failures:
            failures -= 1
            raise StepError("SERVICE_UNAVAILABLE", "codegen is down", retryable=True)
        return StepOutcome(output={"files": {}, "tests": [], "engine": "template", "generator": {}})

    executors["generate"].script = flaky
    await make_engine(executors)
    steps = [
        StepDefinition(id="analyze", type="analyze"),
        StepDefinition(
            id="generate",
            type="generate",
            needs=["analyze"],
            retry=RetryPolicy(attempts=3, backoff_seconds=0.2, backoff_factor=2),
        ),
    ]
    run = await wait_run(database, await start_run(database, principal, steps=steps))
    assert run.state == "succeeded", run.error
    generate = (await run_tasks(database, run.id))["generate"]
    assert generate.attempt == 3
    assert [entry["state"] for entry in generate.attempts_log] == [
        "retrying",
        "retrying",
        "succeeded",
    ]
    # Each attempt has keys of its own: a retry is a new request, not a replay.
    keys = {call.idempotency_key("generate") for call in executors["generate"].calls}
    assert len(keys) == 3
    windows = executors["generate"].windows
    assert windows[1][0] - windows[0][1] >= 0.19
    assert windows[2][0] - windows[1][1] >= 0.39
    types = [event.type for event in await run_events(database, run.id) if event.step == "generate"]
    assert types.count("orchestrator.step.retrying") == 2


async def test_a_permanent_failure_fails_the_run_and_skips_what_follows(
    database, principal, make_engine
):
    executors = happy_executors()

    async def unreadable(context: StepContext) -> StepOutcome:
        raise StepError("ANALYSIS_FAILED", "No entity found: describe things like 'Each book has'.")

    executors["analyze"].script = unreadable
    await make_engine(executors)
    run = await wait_run(database, await start_run(database, principal))
    assert run.state == "failed"
    assert run.error["step"] == "analyze"
    assert run.error["code"] == "ANALYSIS_FAILED"
    assert "Each book has" in run.error["message"]
    states = {step: task.state for step, task in (await run_tasks(database, run.id)).items()}
    assert states["analyze"] == "failed"
    skipped = ("generate", "validate", "test", "repair", "contract", "package")
    assert {states[s] for s in skipped} == {"skipped"}
    assert len(executors["analyze"].calls) == 1  # not retryable: tried once
    assert executors["compensate:delete_artifacts"].calls == []


async def test_a_failure_after_packaging_compensates(database, principal, make_engine):
    executors = happy_executors()

    async def broken(context: StepContext) -> StepOutcome:
        raise StepError("NOTIFY_FAILED", "nobody listens")

    executors["notify"].script = broken
    await make_engine(executors)
    steps = [
        StepDefinition(id="analyze", type="analyze"),
        StepDefinition(id="generate", type="generate", needs=["analyze"]),
        StepDefinition(
            id="package", type="package", needs=["generate"], compensation="delete_artifacts"
        ),
        StepDefinition(id="notify", type="notify", needs=["package"]),
    ]
    run = await wait_run(database, await start_run(database, principal, steps=steps))
    assert run.state == "failed"
    assert run.error["step"] == "notify"
    tasks = await run_tasks(database, run.id)
    assert tasks["compensate:package"].state == "succeeded"
    assert tasks["compensate:package"].kind == "compensation"
    assert tasks["compensate:package"].started_at is not None
    assert run.artifact_id is None
    assert len(executors["compensate:delete_artifacts"].calls) == 1
    events = [(event.type, event.step) for event in await run_events(database, run.id)]
    assert events.index(("orchestrator.run.compensating", None)) < events.index(
        ("orchestrator.step.started", "compensate:package")
    )
    assert events[-1] == ("orchestrator.run.failed", None)


async def test_failing_generated_tests_fail_the_run_but_keep_its_artifact(
    database, principal, make_engine
):
    executors = happy_executors()
    failing = {
        "passed": False,
        "summary": {"total": 2, "passed": 1, "failed": 1, "error": 0, "skipped": 0},
        "results": [],
        "coverage": None,
    }
    executors["test"].output = {"test_run": failing, "passed": False}
    await make_engine(executors)
    run = await wait_run(database, await start_run(database, principal))
    assert run.state == "failed"
    assert run.error["code"] == "TESTS_FAILED"
    assert "1 failed" in run.error["message"]
    assert "template engine does not repair" in run.error["message"]
    assert run.tests["all_passed"] is False
    assert run.artifact_id is not None
    assert executors["compensate:delete_artifacts"].calls == []


async def test_a_test_run_cut_by_a_limit_says_so_in_the_run_error(database, principal, make_engine):
    """Every test passed before the sandbox's limit ended the run: the error names the limit."""
    executors = happy_executors()
    problem = "the test run ended with verdict time_limit cpu time limit (30 s)"
    cut = {
        "passed": False,
        "summary": {
            "total": 56, "passed": 56, "failed": 0, "error": 0, "skipped": 0,
            "verdict": "time_limit", "problems": [problem],
        },
        "results": [],
        "coverage": None,
    }  # fmt: skip
    executors["test"].output = {"test_run": cut, "passed": False}
    await make_engine(executors)
    run = await wait_run(database, await start_run(database, principal))
    assert run.state == "failed"
    assert run.error["code"] == "TESTS_FAILED"
    assert problem in run.error["message"]
    assert run.tests["verdict"] == "time_limit"


async def test_a_step_that_overruns_its_timeout_fails(database, principal, make_engine):
    executors = happy_executors()

    async def slow(context: StepContext) -> StepOutcome:
        await asyncio.sleep(30)
        return StepOutcome()

    executors["analyze"].script = slow
    await make_engine(executors)
    steps = [
        StepDefinition(
            id="analyze", type="analyze", timeout_seconds=0.3, retry=RetryPolicy(attempts=1)
        )
    ]
    run = await wait_run(database, await start_run(database, principal, steps=steps))
    assert run.state == "failed"
    assert run.error["code"] == "STEP_TIMEOUT"


async def test_a_step_is_interrupted_once_however_often_it_is_asked(
    database, principal, make_engine
):
    # The heartbeat asks again while the step still cleans up after the first
    # request; a second cancel would break into that clean-up (with SQLite, into
    # a transaction, which then keeps the write lock).
    executors = happy_executors()
    inside = asyncio.Event()
    cleaning_up = asyncio.Event()
    asked_again = asyncio.Event()
    interrupted_in_clean_up = asyncio.Event()

    async def long_tests(context: StepContext) -> StepOutcome:
        inside.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cleaning_up.set()
            try:
                # The clean-up lasts until the test has asked again: a second
                # cancel, if any, lands here (a cancel wins over the event
                # set after it).
                await asked_again.wait()
            except asyncio.CancelledError:
                interrupted_in_clean_up.set()
                raise
            raise
        return StepOutcome()

    executors["test"].script = long_tests
    engine = await make_engine(executors)
    run_id = await start_run(database, principal)
    await asyncio.wait_for(inside.wait(), 10)
    async with database.transaction() as session:
        await cancel_run(session, principal, run_id)
    engine.stop_run_locally(run_id)
    await asyncio.wait_for(cleaning_up.wait(), 10)
    engine.stop_run_locally(run_id)
    asked_again.set()
    run = await wait_run(database, run_id)
    assert run.state == "cancelled"
    assert not interrupted_in_clean_up.is_set()


async def test_cancelling_stops_the_running_step_and_the_steps_after_it(
    database, principal, make_engine
):
    executors = happy_executors()
    inside = asyncio.Event()
    interrupted = asyncio.Event()

    async def long_tests(context: StepContext) -> StepOutcome:
        inside.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            interrupted.set()
            raise
        return StepOutcome()

    executors["test"].script = long_tests
    engine = await make_engine(executors)
    run_id = await start_run(database, principal)
    await asyncio.wait_for(inside.wait(), 10)
    async with database.transaction() as session:
        await cancel_run(session, principal, run_id)
    engine.stop_run_locally(run_id)
    run = await wait_run(database, run_id)
    assert run.state == "cancelled"
    assert interrupted.is_set()
    states = {step: task.state for step, task in (await run_tasks(database, run_id)).items()}
    assert states["test"] == "cancelled"
    assert states["repair"] == states["package"] == "cancelled"
    assert states["analyze"] == states["generate"] == "succeeded"


async def test_every_transition_is_logged_in_order_and_emitted(database, principal, make_engine):
    executors = happy_executors()

    async def noisy(context: StepContext) -> StepOutcome:
        await context.progress("tests queued", execution_id="e-1")
        return StepOutcome(output=dict(happy_executors()["test"].output))

    executors["test"].script = noisy
    await make_engine(executors)
    run = await wait_run(database, await start_run(database, principal))
    events = await run_events(database, run.id)
    assert [event.seq for event in events] == list(range(1, len(events) + 1))
    types = [event.type for event in events]
    assert types[0] == "orchestrator.run.created"
    assert types[1] == "orchestrator.run.started"
    assert types[-1] == "orchestrator.run.succeeded"
    assert types.count("orchestrator.step.started") == 7
    assert types.count("orchestrator.step.succeeded") == 6
    assert types.count("orchestrator.step.skipped") == 1  # repair: nothing to repair
    assert "orchestrator.step.progress" in types
    async with database.transaction() as session:
        emitted = list(await session.scalars(select(outbox.c.type).order_by(outbox.c.position)))
    assert emitted == [t for t in types if t != "orchestrator.step.progress"]
    async with database.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(outbox)) == len(emitted)


@pytest.mark.parametrize("engine_name", ["llm"])
async def test_the_run_budget_reaches_each_step(database, principal, make_engine, engine_name):
    executors = happy_executors()

    async def spend(context: StepContext) -> StepOutcome:
        return StepOutcome(
            output={"files": {}, "tests": [], "engine": "llm", "generator": {}},
            usage={"total_tokens": 700, "cost_usd": 0.01},
        )

    executors["generate"].script = spend
    await make_engine(executors)
    run_id = await start_run(
        database, principal, engine=engine_name, budget={"max_tokens": 1000, "max_cost_usd": 1}
    )
    run = await wait_run(database, run_id)
    assert run.state == "succeeded", run.error
    package = executors["package"].calls[0]
    assert package.budget.remaining() == {"max_tokens": 300, "max_cost_usd": 0.99}
    assert run.usage["total_tokens"] == 700
