"""Leases: one worker per step, takeover after a worker dies, stops noticed by heartbeat.

Run on SQLite and on the real PostgreSQL (``FOR UPDATE SKIP LOCKED``).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from devgen.kit.db import utcnow
from devgen.services.orchestrator import leases
from devgen.services.orchestrator.models import Task
from devgen.services.orchestrator.service import cancel_run
from devgen.services.orchestrator.steps.base import StepContext, StepOutcome
from tests.services.orchestrator.conftest import (
    happy_executors,
    run_events,
    run_tasks,
    start_run,
    wait_run,
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    """Both database backends."""
    return str(request.param)


async def test_a_claim_is_won_once_and_renewed_only_by_its_holder(database, principal):
    run_id = await start_run(database, principal)
    async with database.transaction() as session:
        first = await leases.claim(session, "worker-a", lease_seconds=30, limit=10)
    async with database.transaction() as session:
        second = await leases.claim(session, "worker-b", lease_seconds=30, limit=10)
    assert [claim.run_id for claim in first] == [run_id]  # only analyze is ready
    assert second == []
    task_id = first[0].task_id
    async with database.transaction() as session:
        assert await leases.renew(session, "worker-b", [task_id], lease_seconds=30) == set()
        assert await leases.renew(session, "worker-a", [task_id], lease_seconds=30) == {task_id}


async def test_an_expired_lease_is_taken_over(database, principal):
    await start_run(database, principal)
    async with database.transaction() as session:
        (claim,) = await leases.claim(session, "worker-a", lease_seconds=30, limit=10)
        await session.execute(
            update(Task)
            .where(Task.id == claim.task_id)
            .values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )
    async with database.transaction() as session:
        (taken,) = await leases.claim(session, "worker-b", lease_seconds=30, limit=10)
    assert taken.task_id == claim.task_id
    assert taken.takeover
    assert taken.previous_owner == "worker-a"
    async with database.transaction() as session:
        assert await leases.held_task(session, claim.task_id, "worker-a") is None
        assert await leases.held_task(session, claim.task_id, "worker-b") is not None


async def test_concurrent_claims_never_share_a_task(database, principal):
    for _ in range(8):
        await start_run(database, principal)

    async def grab(worker: str) -> list[uuid.UUID]:
        async with database.transaction() as session:
            return [
                c.task_id for c in await leases.claim(session, worker, lease_seconds=30, limit=3)
            ]

    results = await asyncio.gather(*(grab(f"worker-{n}") for n in range(6)))
    claimed = [task for result in results for task in result]
    assert len(claimed) == len(set(claimed)) == 8
    async with database.transaction() as session:
        owners = list(
            await session.scalars(select(Task.lease_owner).where(Task.state == "running"))
        )
    assert len(owners) == 8


async def test_a_heartbeat_stops_steps_of_a_run_cancelled_elsewhere(
    database, principal, make_engine
):
    executors = happy_executors()
    inside = asyncio.Event()

    async def long_tests(context: StepContext) -> StepOutcome:
        inside.set()
        await asyncio.sleep(60)
        return StepOutcome()

    executors["test"].script = long_tests
    # Short, so the heartbeat (every lease/3) comes soon; not so short that a
    # late beat on a busy machine lets the lease lapse first.
    await make_engine(executors, lease_seconds=3.0)
    run_id = await start_run(database, principal)
    await asyncio.wait_for(inside.wait(), 10)
    async with database.transaction() as session:
        await cancel_run(session, principal, run_id)
    # No local notification: only the heartbeat (every lease/3) can notice;
    # unnoticed, the step would run for a minute, past wait_run's deadline.
    run = await wait_run(database, run_id)
    assert run.state == "cancelled"


async def test_a_step_whose_worker_died_is_taken_over_from_its_checkpoint(
    database, principal, make_engine
):
    first = happy_executors()
    holding = asyncio.Event()

    async def checkpoint_then_hang(context: StepContext) -> StepOutcome:
        await context.checkpoint_update(executions={"tests": "execution-1"})
        holding.set()
        await asyncio.sleep(60)
        return StepOutcome()

    first["test"].script = checkpoint_then_hang
    dead = await make_engine(first, lease_seconds=1.0)
    run_id = await start_run(database, principal)
    await asyncio.wait_for(holding.wait(), 10)
    # The worker dies: its loops and steps stop, nothing is written, the lease stays.
    jobs = [*dead._loops, *dead._running.values()]
    for job in jobs:
        job.cancel()
    await asyncio.gather(*jobs, return_exceptions=True)
    second = happy_executors()
    seen: list[dict] = []

    async def resume(context: StepContext) -> StepOutcome:
        seen.append(dict(context.checkpoint))
        return StepOutcome(output=dict(happy_executors()["test"].output))

    second["test"].script = resume
    rescuer = await make_engine(second, lease_seconds=1.0)
    run = await wait_run(database, run_id, seconds=15)
    assert run.state == "succeeded", run.error
    assert seen == [{"executions": {"tests": "execution-1"}}]
    assert second["test"].calls[0].attempt == 1  # a takeover is the same attempt
    assert second["test"].calls[0].idempotency_key("tests") == first["test"].calls[
        0
    ].idempotency_key("tests")
    assert second["analyze"].calls == []  # what had finished is not done again
    test_task = (await run_tasks(database, run_id))["test"]
    assert [entry["worker"] for entry in test_task.attempts_log] == [
        dead.worker_id,
        rescuer.worker_id,
    ]
    assert test_task.attempts_log[0]["state"] == "abandoned"
    recovered = [
        e for e in await run_events(database, run_id) if e.type == "orchestrator.step.recovered"
    ]
    # (validate may have been running too when the worker died; it is recovered the same way)
    assert ("test", dead.worker_id) in [(e.step, e.data["previous_worker"]) for e in recovered]


async def test_two_engines_never_run_the_same_step(database, principal, make_engine):
    executors = happy_executors()
    # Leases long enough that no heartbeat, however late on a busy machine,
    # lets one lapse: what is checked is that claims exclude each other, not
    # the takeover of a lapsed lease (which runs a step again, by design).
    await make_engine(executors, lease_seconds=60)
    await make_engine(executors, lease_seconds=60)
    runs = [await start_run(database, principal) for _ in range(6)]
    for run_id in runs:
        assert (await wait_run(database, run_id)).state == "succeeded"
    for name in ("analyze", "generate", "validate", "test", "repair", "contract", "package"):
        assert len(executors[name].calls) == 6, name
    async with database.transaction() as session:
        claims = list(await session.scalars(select(Task.claims)))
    assert set(claims) == {1}
