"""The run engine: a worker that claims steps, runs them, and records what happened.

Each orchestrator process runs one engine (in its lifespan). The engine

- claims ready steps with leases (:mod:`~devgen.services.orchestrator.leases`),
  up to ``DEVGEN_ORCHESTRATOR_WORKERS`` at a time, so independent steps of
  a run (``validate`` and ``test``) run in parallel;
- runs each with its executor under the step's timeout, the run's
  service credential and a checkpoint that survives a crash;
- records the outcome (:mod:`~devgen.services.orchestrator.lifecycle`)
  only while it still holds the lease, so a step taken over by another
  worker is never finished twice;
- renews its leases with heartbeats, and stops steps whose run is stopping
  or whose lease it lost.

Work is found by polling (``DEVGEN_ORCHESTRATOR_POLL_SECONDS``) and, for
work created in this process, at once: creating a run and finishing a step
wake the engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from devgen.kit.client import ServiceClients
from devgen.kit.db import Database, utcnow
from devgen.kit.telemetry import SERVICE_ATTRIBUTE, continued, tracer
from devgen.kit.waiting import wait_event
from devgen.services.orchestrator import leases, lifecycle, metrics
from devgen.services.orchestrator.calls import CallFailed, CredentialSource, ServiceCaller
from devgen.services.orchestrator.events import EventType, record
from devgen.services.orchestrator.models import Run, Task
from devgen.services.orchestrator.outputs import OutputStore
from devgen.services.orchestrator.settings import OrchestratorSettings
from devgen.services.orchestrator.states import TERMINAL, State, is_terminal
from devgen.services.orchestrator.steps.base import (
    Budget,
    FinishedStep,
    RunParameters,
    StepContext,
    StepError,
    StepExecutor,
    StepOutcome,
)
from devgen.services.orchestrator.steps.types import STEP_TYPES, NoOptions
from devgen.services.orchestrator.workflow import RUN_PREFIX

log = structlog.get_logger(__name__)

_REMOVALS_PER_ROUND = 5
_REMOVAL_RETRY_SECONDS = 60.0


class LeaseLost(Exception):
    """Another worker holds the step now; this one must stop without writing."""


@dataclass
class _Stop:
    reason: str


@dataclass
class _Prepared:
    context: StepContext
    executor: StepExecutor
    timeout: float
    store: OutputStore


def new_worker_id() -> str:
    """A name for this engine that no other process (or restart) shares."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def step_error(exc: BaseException, *, step: str, timeout: float | None = None) -> StepError:
    """Any failure of a step as a ``StepError`` that says whether to retry."""
    if isinstance(exc, StepError):
        return exc
    if isinstance(exc, CallFailed):
        return StepError(
            exc.code,
            exc.message,
            retryable=exc.retryable,
            details={"service": exc.service, "status": exc.status, **exc.details},
        )
    if isinstance(exc, TimeoutError):
        return StepError(
            "STEP_TIMEOUT",
            f"The {step} step did not finish within {timeout:g} seconds.",
            retryable=True,
        )
    return StepError(
        "INTERNAL_ERROR",
        f"The {step} step failed unexpectedly ({type(exc).__name__}).",
        retryable=True,
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


class RunEngine:
    """Claims and runs the steps of every run, in this process."""

    def __init__(
        self,
        *,
        database: Database,
        clients: ServiceClients,
        credentials: CredentialSource,
        settings: OrchestratorSettings,
        executors: dict[str, StepExecutor],
        worker_id: str | None = None,
    ) -> None:
        self.worker_id = worker_id or new_worker_id()
        self._database = database
        self._clients = clients
        self._credentials = credentials
        self._settings = settings
        self._executors = executors
        self._wake = asyncio.Event()
        self._running: dict[uuid.UUID, asyncio.Task[None]] = {}
        self._run_of: dict[uuid.UUID, uuid.UUID] = {}
        self._cancel_reasons: dict[uuid.UUID, str] = {}
        self._traces: dict[uuid.UUID, tuple[str | None, str]] = {}
        self._loops: list[asyncio.Task[None]] = []
        self._removal_not_before: dict[uuid.UUID, float] = {}

    async def start(self) -> None:
        """Start claiming and heartbeating in the background."""
        metrics.run_metrics().steps_running.set_function(lambda: len(self._running))
        self._loops = [
            asyncio.create_task(self._claim_loop(), name="orchestrator-claims"),
            asyncio.create_task(self._heartbeat_loop(), name="orchestrator-heartbeats"),
        ]

    async def stop(self) -> None:
        """Stop: running steps are interrupted and their leases given up at once.

        Another worker (or this process after a restart) takes them over
        from their checkpoints without waiting for the leases to expire.
        """
        for loop in self._loops:
            loop.cancel()
        for loop in self._loops:
            with contextlib.suppress(asyncio.CancelledError):
                await loop
        self._loops = []
        running = list(self._running.items())
        for task_id, _ in running:
            self._interrupt(task_id, "shutdown")
        for _, job in running:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await job
        if running:
            with contextlib.suppress(Exception):
                async with self._database.transaction() as session:
                    await session.execute(
                        update(Task)
                        .where(
                            Task.id.in_([task_id for task_id, _ in running]),
                            Task.lease_owner == self.worker_id,
                        )
                        .values(lease_expires_at=utcnow())
                        .execution_options(synchronize_session=False)
                    )

    def wake(self) -> None:
        """Look for work now (a run was created, a step finished)."""
        self._wake.set()

    def stop_run_locally(self, run_id: uuid.UUID) -> None:
        """Interrupt this process's running steps of ``run_id`` (it is stopping)."""
        for task_id, owner_run in list(self._run_of.items()):
            if owner_run == run_id:
                self._interrupt(task_id, "run_stopped")

    def _interrupt(self, task_id: uuid.UUID, reason: str) -> None:
        """Cancel a running step, once.

        The first cancel makes the step record its end in a transaction; a
        second one would land inside that transaction, and an SQLite
        connection cancelled mid-statement keeps the write lock until it is
        collected, so every other writer then fails with "database is locked".
        """
        job = self._running.get(task_id)
        if job is None or task_id in self._cancel_reasons:
            return
        self._cancel_reasons[task_id] = reason
        job.cancel()

    @property
    def busy(self) -> int:
        """Steps running in this process right now."""
        return len(self._running)

    async def _claim_loop(self) -> None:
        while True:
            self._wake.clear()
            free = self._settings.orchestrator_workers - len(self._running)
            claimed: list[leases.Claimed] = []
            if free > 0:
                try:
                    claimed = await self._claim(free)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - the database may be back next round
                    log.warning("orchestrator_claim_failed", error=f"{type(exc).__name__}: {exc}")
            for claim in claimed:
                job = asyncio.create_task(self._execute(claim), name=f"step-{claim.task_id}")
                self._running[claim.task_id] = job
                self._run_of[claim.task_id] = claim.run_id
            if claimed and len(claimed) < free:
                continue  # there may be more where these came from
            try:
                await self._remove_ended_outputs()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the database may be back next round
                log.warning(
                    "orchestrator_output_removal_failed", error=f"{type(exc).__name__}: {exc}"
                )
            await wait_event(self._wake, self._settings.orchestrator_poll_seconds)

    async def _remove_ended_outputs(self) -> None:
        """Delete what ended runs kept in storage as step outputs; the artifact stays.

        The run's row records when it is done, so a crash or an unreachable
        storage only delays it to a later round (or another replica).
        """
        now = time.monotonic()
        waiting = [run_id for run_id, at in self._removal_not_before.items() if at > now]
        async with self._database.transaction() as session:
            ended = (
                await session.execute(
                    select(Run.id, Run.tenant_id, Run.user_id)
                    .where(
                        Run.state.in_([state.value for state in TERMINAL]),
                        Run.outputs_removed_at.is_(None),
                        Run.id.not_in(waiting),
                    )
                    .order_by(Run.finished_at)
                    .limit(_REMOVALS_PER_ROUND)
                )
            ).all()
        for run_id, tenant_id, user_id in ended:
            services = ServiceCaller(self._clients, self._credentials, tenant_id, user_id)
            store = OutputStore(services, self._settings.orchestrator_inline_output_bytes)
            try:
                removed = await store.remove_run(str(run_id))
            except Exception as exc:  # noqa: BLE001 - storage may be back later
                self._removal_not_before[run_id] = now + _REMOVAL_RETRY_SECONDS
                log.warning(
                    "orchestrator_output_removal_failed",
                    run_id=str(run_id),
                    error=f"{type(exc).__name__}: {exc}",
                )
                continue
            self._removal_not_before.pop(run_id, None)
            async with self._database.transaction() as session:
                await session.execute(
                    update(Run)
                    .where(Run.id == run_id)
                    .values(outputs_removed_at=utcnow())
                    .execution_options(synchronize_session=False)
                )
            log.info("orchestrator_outputs_removed", run_id=str(run_id), files=removed)

    async def _claim(self, free: int) -> list[leases.Claimed]:
        async with self._database.transaction() as session:
            claimed = await leases.claim(
                session,
                self.worker_id,
                lease_seconds=self._settings.orchestrator_lease_seconds,
                limit=free,
            )
            for claim in claimed:
                await self._on_claimed(session, claim)
        return claimed

    async def _on_claimed(self, session: AsyncSession, claim: leases.Claimed) -> None:
        run = await session.get(Run, claim.run_id, populate_existing=True)
        task = await session.get(Task, claim.task_id, populate_existing=True)
        assert run is not None
        assert task is not None
        self._traces[claim.task_id] = (run.traceparent, task.step)
        now = utcnow()
        if run.stop_reason is not None and task.kind == lifecycle.STEP_KIND:
            return  # claimed only to be cancelled; no "started" for it
        if run.state == State.pending:
            run.state = State.running.value
            run.started_at = now
            metrics.run_started(session)
            await record(session, run, EventType.run_started, data={"workflow": run.workflow_name})
        if task.started_at is None:
            task.started_at = now
        entry = {
            "attempt": task.attempt,
            "worker": self.worker_id,
            "started_at": now.isoformat(),
            "finished_at": None,
            "takeover": claim.takeover,
        }
        log_ = [dict(item) for item in task.attempts_log]
        if claim.takeover and log_ and log_[-1].get("finished_at") is None:
            log_[-1]["finished_at"] = now.isoformat()
            log_[-1]["state"] = "abandoned"
        task.attempts_log = [*log_, entry]
        if claim.takeover:
            await record(
                session,
                run,
                EventType.step_recovered,
                step=task.step,
                data={
                    "type": task.type,
                    "attempt": task.attempt,
                    "previous_worker": claim.previous_owner,
                },
            )
        else:
            await record(
                session,
                run,
                EventType.step_started,
                step=task.step,
                data={"type": task.type, "attempt": task.attempt},
            )

    async def _heartbeat_loop(self) -> None:
        interval = self._settings.orchestrator_lease_seconds / 3
        while True:
            await asyncio.sleep(interval)
            held = list(self._running)
            if not held:
                continue
            try:
                async with self._database.transaction() as session:
                    kept = await leases.renew(
                        session,
                        self.worker_id,
                        held,
                        lease_seconds=self._settings.orchestrator_lease_seconds,
                    )
                    stopping = set(
                        await session.scalars(
                            select(Task.id)
                            .join(Run, Run.id == Task.run_id)
                            .where(
                                Task.id.in_(held), Run.stop_reason.is_not(None), Task.kind == "step"
                            )
                        )
                    )
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - try again next beat; leases last 3 beats
                log.warning("orchestrator_heartbeat_failed", error=f"{type(exc).__name__}: {exc}")
                continue
            for task_id in held:
                if task_id not in kept:
                    self._interrupt(task_id, "lease_lost")
                elif task_id in stopping:
                    self._interrupt(task_id, "run_stopped")

    async def _execute(self, claim: leases.Claimed) -> None:
        # The step joins the trace of the request that started its run.
        traceparent, step = self._traces.pop(claim.task_id, (None, "step"))
        with (
            continued({"traceparent": traceparent}),
            tracer().start_as_current_span(
                f"orchestrator step {step}",
                attributes={
                    SERVICE_ATTRIBUTE: "orchestrator",
                    "devgen.run_id": str(claim.run_id),
                    "devgen.task_id": str(claim.task_id),
                    "devgen.step": step,
                },
            ),
        ):
            await self._execute_step(claim)

    async def _execute_step(self, claim: leases.Claimed) -> None:
        try:
            try:
                prepared = await self._prepare(claim)
            except LeaseLost:
                raise
            except Exception as exc:  # noqa: BLE001 - e.g. an input kept in storage is unreadable
                await self._failed(claim, step_error(exc, step="step"))
                return
            if isinstance(prepared, _Stop):
                await self._cancelled(claim, prepared.reason)
                return
            context, timeout = prepared.context, prepared.timeout
            try:
                async with asyncio.timeout(timeout):
                    outcome = await prepared.executor.run(context)
            except asyncio.CancelledError:
                reason = self._cancel_reasons.get(claim.task_id)
                if reason == "run_stopped":
                    await self._cancelled(claim, "the run is stopping")
                    return
                raise
            except LeaseLost:
                raise
            except Exception as exc:
                error = step_error(exc, step=context.step, timeout=timeout)
                if error.code == "INTERNAL_ERROR":
                    log.exception(
                        "orchestrator_step_crashed", step=context.step, run_id=str(claim.run_id)
                    )
                await self._failed(claim, error)
                return
            await self._succeeded(claim, prepared, outcome)
        except (LeaseLost, asyncio.CancelledError):
            log.info(
                "orchestrator_step_released",
                task_id=str(claim.task_id),
                reason=self._cancel_reasons.get(claim.task_id, "lease_lost"),
            )
        except Exception as exc:
            log.exception(
                "orchestrator_step_unrecorded", task_id=str(claim.task_id), error=repr(exc)
            )
        finally:
            self._running.pop(claim.task_id, None)
            self._run_of.pop(claim.task_id, None)
            self._cancel_reasons.pop(claim.task_id, None)
            self.wake()

    async def _prepare(self, claim: leases.Claimed) -> _Stop | _Prepared:
        async with self._database.transaction() as session:
            run = await session.get(Run, claim.run_id, populate_existing=True)
            assert run is not None
            tasks = await lifecycle.tasks_of(session, run.id)
        by_step = {task.step: task for task in tasks}
        task = next(t for t in tasks if t.id == claim.task_id)
        if task.lease_owner != self.worker_id:
            raise LeaseLost(str(task.id))
        if run.stop_reason is not None and task.kind == lifecycle.STEP_KIND:
            await self._cancel_leftovers(run, task)
            return _Stop("the run is stopping")
        services = ServiceCaller(self._clients, self._credentials, run.tenant_id, run.user_id)
        store = OutputStore(services, self._settings.orchestrator_inline_output_bytes)
        definition = lifecycle.step_definition(run, task.step)
        options: Any = NoOptions()
        bindings: dict[str, list[str]] = {}
        if definition is not None:
            options = STEP_TYPES[definition.type].parse_options(definition.options)
            bindings = next(p["bindings"] for p in run.plan if p["definition"]["id"] == task.step)
        inputs: dict[str, Any] = {}
        for name, sources in bindings.items():
            for source in sources:
                owner, key = source.split(".", 1)
                if source.startswith(RUN_PREFIX):
                    value = (run.params or {}).get(key)
                else:
                    other = by_step.get(owner)
                    value = (
                        (other.output or {}).get(key)
                        if other is not None and other.state == State.succeeded
                        else None
                    )
                if value is not None:
                    inputs[name] = value  # resolved when the step asks for it
                    break
        checkpoint = {
            key: await store.resolve(value) for key, value in (task.checkpoint or {}).items()
        }
        params = RunParameters.from_dict(run.params or {})
        budget = Budget(
            max_tokens=params.budget.get("max_tokens"),
            max_cost_usd=params.budget.get("max_cost_usd"),
        )
        finished: dict[str, FinishedStep] = {}
        for other in tasks:
            if other.id == task.id or other.kind != lifecycle.STEP_KIND:
                continue
            budget.charge(other.usage or {})
            if is_terminal(other.state):
                finished[other.step] = FinishedStep(
                    step=other.step,
                    type=other.type,
                    state=other.state,
                    output=other.output or {},
                    usage=other.usage or {},
                    started_at=_iso(other.started_at),
                    finished_at=_iso(other.finished_at),
                    duration_seconds=lifecycle.seconds_between(other.started_at, other.finished_at),
                    attempts=other.attempt,
                )
        timeout = (
            definition.timeout_seconds
            if definition is not None and definition.timeout_seconds
            else self._settings.orchestrator_default_step_timeout_seconds
        )
        run_key = str(run.id)
        task_key = f"{task.step}-{task.attempt}"

        async def save_checkpoint(values: dict[str, Any]) -> None:
            kept = await store.externalise(values, run_id=run_key, key=f"{task_key}-checkpoint")
            await self._write_checkpoint(claim, kept)

        async def note(message: str, data: dict[str, Any]) -> None:
            await self._note(claim, task.step, message, data)

        context = StepContext(
            run_id=run.id,
            tenant_id=run.tenant_id,
            user_id=run.user_id,
            task_id=task.id,
            step=task.step,
            type=task.type,
            attempt=task.attempt,
            workflow=run.workflow_name,
            params=params,
            inputs=inputs,
            options=options,
            checkpoint=checkpoint,
            services=services,
            settings=self._settings,
            budget=budget,
            finished=finished,
            save_checkpoint=save_checkpoint,
            note=note,
            resolver=store.resolve,
        )
        return _Prepared(context, self._executors[task.type], float(timeout), store)

    async def _cancel_leftovers(self, run: Run, task: Task) -> None:
        # A step taken over from a dead worker while its run was stopping: the
        # sandbox may still be running its tests.
        executions = (task.checkpoint or {}).get("executions") or {}
        if not executions:
            return
        services = ServiceCaller(self._clients, self._credentials, run.tenant_id, run.user_id)
        for execution_id in executions.values():
            with contextlib.suppress(Exception):
                await services.request(
                    "executor", "POST", f"/api/v1/executions/{execution_id}/cancel", json={}
                )

    async def _write_checkpoint(self, claim: leases.Claimed, values: dict[str, Any]) -> None:
        async with self._database.transaction() as session:
            await leases.lock_run(session, claim.run_id)
            task = await leases.held_task(session, claim.task_id, self.worker_id)
            if task is None:
                raise LeaseLost(str(claim.task_id))
            task.checkpoint = values

    async def _note(
        self, claim: leases.Claimed, step: str, message: str, data: dict[str, Any]
    ) -> None:
        async with self._database.transaction() as session:
            run = await leases.lock_run(session, claim.run_id)
            if run is not None:
                await record(
                    session,
                    run,
                    EventType.step_progress,
                    step=step,
                    data={"message": message, **data},
                )

    async def _succeeded(
        self, claim: leases.Claimed, prepared: _Prepared, outcome: StepOutcome
    ) -> None:
        context = prepared.context
        output = await prepared.store.externalise(
            outcome.output, run_id=str(claim.run_id), key=f"{context.step}-{context.attempt}-output"
        )
        async with self._database.transaction() as session:
            run = await leases.lock_run(session, claim.run_id)
            task = await leases.held_task(session, claim.task_id, self.worker_id)
            if run is None or task is None:
                raise LeaseLost(str(claim.task_id))
            tasks = await lifecycle.tasks_of(session, run.id)
            task = next(t for t in tasks if t.id == claim.task_id)
            await lifecycle.task_succeeded(
                session,
                run,
                task,
                tasks,
                output=output,
                usage=outcome.usage,
                skipped_because=outcome.skipped_because,
                notifications=outcome.notifications,
            )

    async def _failed(self, claim: leases.Claimed, error: StepError) -> None:
        async with self._database.transaction() as session:
            run = await leases.lock_run(session, claim.run_id)
            task = await leases.held_task(session, claim.task_id, self.worker_id)
            if run is None or task is None:
                raise LeaseLost(str(claim.task_id))
            tasks = await lifecycle.tasks_of(session, run.id)
            task = next(t for t in tasks if t.id == claim.task_id)
            stopping = await lifecycle.task_failed(
                session, run, task, tasks, error=error.to_dict(), retryable=error.retryable
            )
        if stopping:
            self.stop_run_locally(claim.run_id)

    async def _cancelled(self, claim: leases.Claimed, reason: str) -> None:
        async with self._database.transaction() as session:
            run = await leases.lock_run(session, claim.run_id)
            task = await leases.held_task(session, claim.task_id, self.worker_id)
            if run is None or task is None:
                return
            tasks = await lifecycle.tasks_of(session, run.id)
            task = next(t for t in tasks if t.id == claim.task_id)
            await lifecycle.task_cancelled(session, run, task, tasks, reason)
