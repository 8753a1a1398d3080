"""The bounded worker pool and queue: who runs next, and who is turned away.

Scheduling only; the rows in the database are the record. An execution is
admitted with a :class:`Reservation` *before* its row is written (so two
requests racing for the last queue place cannot both get it), submitted once
the row is committed, and run by ``run(execution_id, stop)`` when a worker
is free and its tenant is under its concurrency quota. Queued executions of
a tenant at its quota are skipped, not blocking the tenants behind them.

A reservation may also *take a worker* that is free right now: the request
then writes its row already claimed and the execution starts the moment
the row is committed, with no queue round and no second transaction to
claim it. Whatever ``run`` returns is the execution's *outcome*, handed to
every request waiting for it in this process (nothing is read back).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import math
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

import structlog

log = structlog.get_logger(__name__)

RunFunction = Callable[[uuid.UUID, asyncio.Event], Awaitable[object]]
"""``run(execution_id, stop)``; its return value is the execution's outcome."""

_MAX_RETRY_AFTER_S = 60


class QueueFull(Exception):
    """No room in the queue (or in the tenant's share of it); retry after ``retry_after`` s."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(slots=True)
class _Running:
    tenant: uuid.UUID
    task: asyncio.Task[None]
    stop: asyncio.Event


class Reservation:
    """A place in the queue held while the execution's row is being written."""

    def __init__(self, pool: ExecutionPool, tenant: uuid.UUID) -> None:
        self._pool = pool
        self.tenant = tenant
        self.used = False
        self.held: uuid.UUID | None = None  # the execution a worker is held for

    def take_worker(self, execution_id: uuid.UUID) -> bool:
        """Hold a worker that is free for this tenant right now; whether one was.

        While held, nobody else gets it. The caller then writes the row of
        ``execution_id`` already claimed (``running``, this executor as
        owner) and :meth:`submit` starts it. From here on the pool knows the
        execution: it can be stopped and waited for even before it started.
        """
        if self.held is None and self._pool._worker_free_for(self.tenant):
            self._pool._hold(execution_id, self.tenant)
            self.held = execution_id
        return self.held == execution_id

    def submit(self, execution_id: uuid.UUID) -> None:
        """Queue the execution, or start it on the worker held (call once the row is committed)."""
        if self.used:
            raise RuntimeError("a reservation is submitted once")
        if self.held is not None and self.held != execution_id:
            raise RuntimeError("the worker was held for another execution")
        self.used = True
        self._pool._release(self, started=self.held is not None)
        if self.held is not None:
            self._pool._start_claimed(execution_id, self.tenant)
        else:
            self._pool.submit(execution_id, self.tenant)


class ExecutionPool:
    """``workers`` executions at a time, at most ``queue_size`` waiting."""

    def __init__(
        self,
        *,
        workers: int,
        queue_size: int,
        tenant_concurrency: int,
        tenant_queue: int,
        run: RunFunction,
    ) -> None:
        self.workers = workers
        self.queue_size = queue_size
        self.tenant_concurrency = tenant_concurrency
        self.tenant_queue = tenant_queue
        self._run = run
        self._queued: dict[uuid.UUID, uuid.UUID] = {}  # execution -> tenant, oldest first
        self._running: dict[uuid.UUID, _Running] = {}
        self._reserved: Counter[uuid.UUID] = Counter()
        self._held: Counter[uuid.UUID] = Counter()  # workers taken by reservations, per tenant
        self._starting: dict[uuid.UUID, asyncio.Event] = {}  # their executions' stop events
        self._done: dict[uuid.UUID, asyncio.Future[object]] = {}
        # Each execution runs in the context it was submitted in (the request's
        # trace, request id and log fields), not that of whichever finish pumped it.
        self._contexts: dict[uuid.UUID, contextvars.Context] = {}
        self._closed = False
        self._mean_run_s = 1.0

    @property
    def queued(self) -> int:
        """Executions waiting for a worker (reservations included)."""
        return len(self._queued) + self._reserved.total()

    @property
    def running(self) -> int:
        """Executions on a worker right now."""
        return len(self._running)

    def tenant_load(self, tenant: uuid.UUID) -> tuple[int, int]:
        """(running, queued) executions of ``tenant`` in this process."""
        running = sum(1 for r in self._running.values() if r.tenant == tenant)
        queued = sum(1 for t in self._queued.values() if t == tenant) + self._reserved[tenant]
        return running, queued

    def _worker_free_for(self, tenant: uuid.UUID) -> bool:
        # Whenever a worker frees up, _pump hands it to the oldest runnable queued
        # execution at once; so a worker free now has no queued execution that
        # could take it, and giving it to this request passes nobody.
        if self._closed or len(self._running) + self._held.total() >= self.workers:
            return False
        running = sum(1 for r in self._running.values() if r.tenant == tenant)
        return running + self._held[tenant] < self.tenant_concurrency

    def retry_after(self) -> int:
        """Seconds a refused client should wait: the queue drained at the observed pace."""
        waves = (self.queued + 1) / self.workers
        return max(1, min(_MAX_RETRY_AFTER_S, math.ceil(waves * self._mean_run_s)))

    @contextlib.contextmanager
    def reservation(self, tenant: uuid.UUID) -> Iterator[Reservation]:
        """Hold a place for ``tenant``; raises :class:`QueueFull` when there is none.

        The pool holds at most ``workers + queue_size`` executions (running or
        waiting), a tenant at most ``tenant_concurrency + tenant_queue``. Left
        without :meth:`Reservation.submit` (an error while writing the row),
        the place is given back.
        """
        if self._closed:
            raise QueueFull("the executor is shutting down", self.retry_after())
        if self.running + self.queued >= self.workers + self.queue_size:
            raise QueueFull(
                f"the execution queue is full ({self.queue_size} waiting)", self.retry_after()
            )
        running, queued = self.tenant_load(tenant)
        if running + queued >= self.tenant_concurrency + self.tenant_queue:
            raise QueueFull(
                f"your tenant already has {running} executions running and {queued} waiting",
                self.retry_after(),
            )
        self._reserved[tenant] += 1
        ticket = Reservation(self, tenant)
        try:
            yield ticket
        finally:
            if not ticket.used:
                self._release(ticket, started=False)
                if ticket.held is not None:
                    self._pump()  # the worker it held is free again

    def _hold(self, execution_id: uuid.UUID, tenant: uuid.UUID) -> None:
        self._held[tenant] += 1
        self._starting[execution_id] = asyncio.Event()
        self._outcome_of(execution_id)

    def _release(self, ticket: Reservation, *, started: bool) -> None:
        _decrement(self._reserved, ticket.tenant)
        if ticket.held is not None:
            _decrement(self._held, ticket.tenant)
            if not started:  # its row was not written: nothing to wait for
                self._starting.pop(ticket.held, None)
                self._finish(ticket.held)

    def submit(self, execution_id: uuid.UUID, tenant: uuid.UUID) -> None:
        """Queue an execution whose row is committed (bounds are not checked here).

        Restart recovery uses this directly: executions accepted before the
        restart are queued whatever the bounds, none is dropped.
        """
        if execution_id in self._queued or execution_id in self._running or self._closed:
            return
        self._queued[execution_id] = tenant
        self._contexts[execution_id] = contextvars.copy_context()
        self._outcome_of(execution_id)
        self._pump()

    def _start_claimed(self, execution_id: uuid.UUID, tenant: uuid.UUID) -> None:
        # The worker was held for it: no bound to check, no queue to pass.
        stop = self._starting.pop(execution_id)
        if self._closed:
            # Shutting down: its row stays claimed by this instance, and the
            # next start records it interrupted. Its waiters read the row.
            self._finish(execution_id)
            return
        self._launch(execution_id, tenant, contextvars.copy_context(), stop)

    def _outcome_of(self, execution_id: uuid.UUID) -> asyncio.Future[object]:
        done = self._done.get(execution_id)
        if done is None:
            done = self._done[execution_id] = asyncio.get_running_loop().create_future()
        return done

    def knows(self, execution_id: uuid.UUID) -> bool:
        """Whether the execution is queued, starting or running in this process."""
        return (
            execution_id in self._queued
            or execution_id in self._running
            or execution_id in self._starting
        )

    def is_running(self, execution_id: uuid.UUID) -> bool:
        """Whether the execution is on a worker in this process."""
        return execution_id in self._running

    def running_ids(self) -> list[uuid.UUID]:
        """The executions on a worker in this process."""
        return list(self._running)

    def cancel_queued(self, execution_id: uuid.UUID) -> bool:
        """Take a queued execution out of the queue; ``False`` if it is not queued here."""
        if self._queued.pop(execution_id, None) is None:
            return False
        self._finish(execution_id)
        self._pump()
        return True

    def stop(self, execution_id: uuid.UUID) -> bool:
        """Ask a running execution to stop (verdict ``killed``); ``False`` if not running here."""
        running = self._running.get(execution_id)
        stop = running.stop if running is not None else self._starting.get(execution_id)
        if stop is None:
            return False
        stop.set()  # before it started: the worker checks it before the sandbox runs
        return True

    def outcome(self, execution_id: uuid.UUID) -> asyncio.Future[object] | None:
        """What ``run`` returns for this execution, once it did; ``None`` if not known here.

        Resolved (with ``None`` when the run failed, was cancelled or never
        started) as soon as the run function returned, so a waiter wakes in
        this process without asking the database.
        """
        return self._done.get(execution_id)

    async def wait(self, execution_id: uuid.UUID, timeout_s: float) -> bool:
        """Wait until the execution is done here; ``True`` if it is (or was never known)."""
        done = self._done.get(execution_id)
        if done is None:
            return True
        await wait_outcome(done, timeout_s)
        return done.done()

    async def close(self) -> None:
        """Stop taking work, cancel what runs (the run function records it) and wait."""
        self._closed = True
        for execution_id in list(self._queued):
            self._finish(execution_id)  # its waiters read the row: still queued, for the next start
        self._queued.clear()
        self._contexts.clear()
        tasks = [running.task for running in self._running.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _pump(self) -> None:
        if self._closed:
            return
        busy = Counter(r.tenant for r in self._running.values()) + self._held
        for execution_id, tenant in list(self._queued.items()):
            if len(self._running) + self._held.total() >= self.workers:
                return
            if busy[tenant] >= self.tenant_concurrency:
                continue
            del self._queued[execution_id]
            busy[tenant] += 1
            self._launch(execution_id, tenant, self._contexts.pop(execution_id, None))

    def _launch(
        self,
        execution_id: uuid.UUID,
        tenant: uuid.UUID,
        context: contextvars.Context | None,
        stop: asyncio.Event | None = None,
    ) -> None:
        stop = stop or asyncio.Event()
        task = asyncio.get_running_loop().create_task(
            self._run_one(execution_id, stop), context=context
        )
        self._running[execution_id] = _Running(tenant, task, stop)

    async def _run_one(self, execution_id: uuid.UUID, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        outcome: object = None
        try:
            outcome = await self._run(execution_id, stop)
        except asyncio.CancelledError:
            raise
        except Exception:  # a failing run must not take the pool down
            log.exception("executor.run_failed", execution_id=str(execution_id))
        finally:
            # An exponential moving average: recent executions say most about the wait.
            self._mean_run_s = 0.8 * self._mean_run_s + 0.2 * (loop.time() - started)
            self._running.pop(execution_id, None)
            self._finish(execution_id, outcome)
            self._pump()

    def _finish(self, execution_id: uuid.UUID, outcome: object = None) -> None:
        self._contexts.pop(execution_id, None)
        done = self._done.pop(execution_id, None)
        if done is not None and not done.done():
            done.set_result(outcome)


def _decrement(counter: Counter[uuid.UUID], key: uuid.UUID) -> None:
    counter[key] -= 1
    if counter[key] <= 0:
        del counter[key]


async def wait_outcome(outcome: asyncio.Future[object], seconds: float) -> object:
    """The outcome once resolved, or ``None`` after ``seconds`` (the future is left alone)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            # Shielded: a waiter that gives up must not cancel it for the others.
            return await asyncio.shield(outcome)
    return None
