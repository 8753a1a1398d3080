"""The pool's scheduling: bounds, tenant quotas, fairness, cancellation (no sandbox here)."""

from __future__ import annotations

import asyncio
import contextlib
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


class Returning(Recorder):
    """A recorder whose run returns a value: the execution's outcome."""

    async def __call__(self, execution_id: uuid.UUID, stop: asyncio.Event) -> str:  # type: ignore[override]
        await super().__call__(execution_id, stop)
        return f"outcome of {execution_id}"


async def test_a_reservation_that_takes_a_free_worker_starts_without_queueing() -> None:
    recorder = Recorder()
    pool = _pool(recorder, workers=1)
    execution_id = uuid.uuid4()

    with pool.reservation(A) as ticket:
        assert ticket.take_worker(execution_id)
        # Held: a queued execution submitted meanwhile does not get it.
        other = _submit(pool, B)
        await asyncio.sleep(0)
        assert recorder.started == []
        ticket.submit(execution_id)
    await asyncio.sleep(0)

    assert recorder.started == [execution_id]
    assert (pool.running, pool.queued) == (1, 1)
    recorder.finish(execution_id)
    await pool.wait(execution_id, 1)
    await asyncio.sleep(0)
    assert recorder.started == [execution_id, other]
    await pool.close()


async def test_no_worker_is_taken_when_none_is_free_or_the_tenant_is_at_its_quota() -> None:
    recorder = Recorder()
    pool = _pool(recorder, workers=2, queue_size=4, tenant_concurrency=1)
    _submit(pool, A)
    await asyncio.sleep(0)

    with pool.reservation(A) as ticket:
        assert not ticket.take_worker(uuid.uuid4())  # A runs its one already
    held = uuid.uuid4()
    with pool.reservation(B) as ticket:
        assert ticket.take_worker(held)
        with pool.reservation(A) as third:
            assert not third.take_worker(uuid.uuid4())  # the second worker is held for B
        ticket.submit(held)
    await pool.close()


async def test_a_taken_worker_left_unused_goes_to_the_queue() -> None:
    recorder = Recorder()
    pool = _pool(recorder, workers=1)

    held, waiting = uuid.uuid4(), uuid.uuid4()
    with contextlib.suppress(RuntimeError), pool.reservation(A) as ticket:
        assert ticket.take_worker(held)
        outcome = pool.outcome(held)
        with pool.reservation(B) as queued:
            queued.submit(waiting)
        raise RuntimeError("the row could not be written")
    await asyncio.sleep(0)

    assert recorder.started == [waiting]
    assert outcome is not None
    assert await outcome is None  # a waiter does not wait for what never started
    assert not pool.knows(held)
    await pool.close()


async def test_an_execution_stopped_before_its_held_worker_starts_it_gets_the_stop() -> None:
    recorder = Recorder()
    pool = _pool(recorder, workers=1)
    execution_id = uuid.uuid4()

    with pool.reservation(A) as ticket:
        assert ticket.take_worker(execution_id)
        # Its row is committed claimed; a cancel reaches it before it runs.
        assert pool.knows(execution_id)
        assert pool.stop(execution_id)
        ticket.submit(execution_id)

    assert await pool.wait(execution_id, 1)  # the recorder returns at once on stop
    assert recorder.started == [execution_id]
    await pool.close()


async def test_the_outcome_of_a_run_reaches_its_waiters() -> None:
    recorder = Returning()
    pool = _pool(recorder)
    execution_id = _submit(pool, A)
    outcome = pool.outcome(execution_id)
    assert outcome is not None

    recorder.finish(execution_id)

    assert await outcome == f"outcome of {execution_id}"
    assert pool.outcome(execution_id) is None  # done: nothing kept
    await pool.close()


async def test_a_queued_execution_cancelled_resolves_its_outcome_to_none() -> None:
    pool = _pool(Recorder())
    running, queued = _submit(pool, A), _submit(pool, A)
    outcome = pool.outcome(queued)
    assert outcome is not None

    assert pool.cancel_queued(queued)

    assert await outcome is None
    pool.stop(running)
    await pool.close()
