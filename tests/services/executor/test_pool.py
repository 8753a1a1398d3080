"""The pool's scheduling: bounds, tenant quotas, fairness, cancellation (no sandbox here)."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from devgen.services.executor.pool import ExecutionPool, QueueFull

A, B = uuid.uuid4(), uuid.uuid4()


class Recorder:
    """A run function whose executions end when the test says so."""

    def __init__(self) -> None:
        self.started: list[uuid.UUID] = []
        self.release: dict[uuid.UUID, asyncio.Event] = {}

    async def __call__(self, execution_id: uuid.UUID, stop: asyncio.Event) -> None:
        self.started.append(execution_id)
        done = self.release.setdefault(execution_id, asyncio.Event())
        waiters = [asyncio.ensure_future(done.wait()), asyncio.ensure_future(stop.wait())]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    def finish(self, execution_id: uuid.UUID) -> None:
        self.release.setdefault(execution_id, asyncio.Event()).set()


def _pool(recorder: Recorder, **bounds: int) -> ExecutionPool:
    values = {"workers": 1, "queue_size": 2, "tenant_concurrency": 1, "tenant_queue": 2}
    return ExecutionPool(**{**values, **bounds}, run=recorder)


def _submit(pool: ExecutionPool, tenant: uuid.UUID) -> uuid.UUID:
    execution_id = uuid.uuid4()
    with pool.reservation(tenant) as ticket:
        ticket.submit(execution_id)
    return execution_id


async def test_runs_at_most_workers_and_queues_the_rest() -> None:
    recorder = Recorder()
    pool = _pool(recorder)
    first, second = _submit(pool, A), _submit(pool, A)
    await asyncio.sleep(0)

    assert recorder.started == [first]
    assert (pool.running, pool.queued) == (1, 1)
    recorder.finish(first)
    assert await pool.wait(first, 1)
    await asyncio.sleep(0)
    assert recorder.started == [first, second]
    await pool.close()


async def test_a_full_pool_refuses_with_a_retry_hint() -> None:
    pool = _pool(Recorder())
    for _ in range(3):  # one running, two waiting
        _submit(pool, A)

    with pytest.raises(QueueFull) as refused, pool.reservation(B):
        pass

    assert refused.value.retry_after >= 1
    await pool.close()


async def test_an_unused_reservation_gives_its_place_back() -> None:
    pool = _pool(Recorder(), queue_size=0)

    with pytest.raises(RuntimeError), pool.reservation(A):
        raise RuntimeError("the row could not be written")

    assert pool.queued == 0
    _submit(pool, A)  # the place is free again
    await pool.close()


async def test_a_tenant_at_its_quota_does_not_block_others() -> None:
    recorder = Recorder()
    pool = _pool(recorder, workers=2, queue_size=4)
    a1, a2, b1 = _submit(pool, A), _submit(pool, A), _submit(pool, B)
    await asyncio.sleep(0)

    assert recorder.started == [a1, b1]
    recorder.finish(a1)
    await pool.wait(a1, 1)
    await asyncio.sleep(0)
    assert recorder.started == [a1, b1, a2]
    await pool.close()


async def test_a_tenant_share_of_the_queue_is_bounded() -> None:
    pool = _pool(Recorder(), workers=1, queue_size=10, tenant_queue=1)
    _submit(pool, A)
    _submit(pool, A)

    with pytest.raises(QueueFull, match="your tenant"), pool.reservation(A):
        pass
    _submit(pool, B)
    await pool.close()


async def test_cancel_queued_and_stop_running() -> None:
    recorder = Recorder()
    pool = _pool(recorder)
    running, queued = _submit(pool, A), _submit(pool, A)
    await asyncio.sleep(0)

    assert pool.cancel_queued(queued)
    assert not pool.cancel_queued(running)
    assert pool.stop(running)
    assert await pool.wait(running, 1)
    assert recorder.started == [running]
    await pool.close()


async def test_close_cancels_what_runs_and_refuses_more() -> None:
    recorder = Recorder()
    pool = _pool(recorder)
    _submit(pool, A)
    await asyncio.sleep(0)

    await pool.close()

    assert pool.running == 0
    with pytest.raises(QueueFull, match="shutting down"), pool.reservation(A):
        pass
