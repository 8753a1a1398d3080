"""The rules of executions: accept, reuse, wait, read, list, cancel.

Accepting outlives the request: the row is committed *before* the pool may
pick the execution up, and a ``wait=true`` request waits with no
transaction open (a worker must be able to write the verdict meanwhile).
So the writes here run in their own short transactions
(``Database.transaction``); reads use the request's session.

What one ``wait=true`` execution costs the database, when a worker is free:
one transaction to accept it (the row written already claimed, its
``queued`` and ``started`` events with it) and one to store its result; the
waiting request is woken in process by the worker with the execution as it
committed it, so nothing is read back. With no worker free the row is
written ``queued`` with its inputs, and the worker claims it when its turn
comes (a third transaction).

Order of checks on ``POST /execute``: the request is planned (422/413 and
nothing stored), then an ``Idempotency-Key`` already used returns its
execution (409 if the body differs), then ``cache=true`` reuses a stored
result, and only then is a queue place taken (429 when there is none).
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from devgen.kit.auth import Principal
from devgen.kit.db import utcnow
from devgen.kit.errors import Conflict, NotFound, RateLimited, ValidationFailed
from devgen.kit.pagination import PageParams, PageResult, paginate_cursor
from devgen.services.executor import events, repository
from devgen.services.executor.environments import Target, resolve_target
from devgen.services.executor.models import Execution, ExecutionInput
from devgen.services.executor.plan import ExecutionPlan, plan_execution
from devgen.services.executor.pool import QueueFull, wait_outcome
from devgen.services.executor.runtimes import PYTHON
from devgen.services.executor.schemas import ExecuteRequest, ExecutionRead, ExecutionSummary
from devgen.services.executor.state import ExecutorState
from devgen.services.executor.views import read, summary
from devgen.services.executor.worker import Job, emit_started

_POLL_S = 0.25
_CANCEL_WAIT_S = 10.0


@dataclass(frozen=True, slots=True)
class Submitted:
    """The answer to ``POST /execute``: the execution and how it came to be."""

    execution: ExecutionRead
    replayed: bool  # an earlier request with the same Idempotency-Key made it
    cache_hit: bool

    @property
    def finished(self) -> bool:
        """Whether the execution has its verdict."""
        return self.execution.status == repository.FINISHED


def _tenant(principal: Principal) -> uuid.UUID:
    assert principal.tenant_id is not None  # the dependencies refuse callers without one
    return principal.tenant_id


async def plan(state: ExecutorState, principal: Principal, body: ExecuteRequest) -> ExecutionPlan:
    """Check and resolve a request; raises the 4xx that explains what is wrong."""
    target = Target(runtime=body.runtime or PYTHON)
    if body.environment is not None:
        target = await _environment_target(state, principal, body)
    runtime = (await state.runtimes.all()).get(target.runtime)
    if runtime is None:
        raise ValidationFailed(
            f"the {target.runtime} runtime is not installed on this executor",
            details={"field": "runtime"},
        )
    return plan_execution(body, target, runtime, state.settings)


async def _environment_target(
    state: ExecutorState, principal: Principal, body: ExecuteRequest
) -> Target:
    async with state.database.transaction() as session:
        target = await resolve_target(
            session,
            state.builds,
            _tenant(principal),
            runtime=body.runtime,
            environment=body.environment,
        )
        assert target.build_key is not None
        build = await repository.build(session, target.build_key)
        if state.builds.status(target.build_key, build) == "failed":
            raise Conflict(
                "The environment failed to build; see its logs, and POST the same "
                "packages to /environments to build it again.",
                details={"environment": target.label},
            )
    return target


async def _replay_or_reuse(
    state: ExecutorState, principal: Principal, plan_: ExecutionPlan, idempotency_key: str | None
) -> tuple[uuid.UUID, bool, bool] | None:
    """(id, replayed, cache_hit) when no new execution is needed, else ``None``."""
    if idempotency_key is None and not plan_.cache:
        return None
    tenant = _tenant(principal)
    if idempotency_key is not None:
        # Most keyed requests are new: look without the write lock. Two racing
        # ones both miss here; the unique index lets one in (see submit).
        async with state.database.read_session() as session:
            replayed = await _replay(session, tenant, plan_, idempotency_key)
        if replayed is not None or not plan_.cache:
            return replayed
    async with state.database.transaction() as session:
        if idempotency_key is not None:
            # Again under the write lock: a cache hit below is inserted in this transaction.
            replayed = await _replay(session, tenant, plan_, idempotency_key)
            if replayed is not None:
                return replayed
        if plan_.cache:
            hit = await repository.cached_execution(session, tenant, plan_.cache_key)
            if hit is not None:
                row = _new_row(principal, plan_, idempotency_key)
                row.status, row.verdict, row.exit_code = (
                    repository.FINISHED,
                    hit.verdict,
                    hit.exit_code,
                )
                row.cache_hit, row.cached_from, row.result_id = True, hit.id, hit.result_id
                row.finished_at = utcnow()
                session.add(row)
                await session.flush()
                await _emit_queued(session, row)
                await events.emit(
                    session,
                    events.EXECUTION_FINISHED,
                    in_request=True,
                    subject=str(row.id),
                    tenant_id=tenant,
                    data={"id": row.id, "verdict": row.verdict, "exit_code": row.exit_code},
                )
                return row.id, False, True
    return None


async def _replay(
    session: AsyncSession, tenant: uuid.UUID, plan_: ExecutionPlan, idempotency_key: str
) -> tuple[uuid.UUID, bool, bool] | None:
    """The execution created earlier with this key, if any (409 if for another body)."""
    earlier = await repository.execution_by_idempotency_key(session, tenant, idempotency_key)
    if earlier is None:
        return None
    if earlier.request_hash != plan_.request_hash:
        raise Conflict(
            "This Idempotency-Key was used for a different request.",
            details={"execution_id": str(earlier.id)},
        )
    return earlier.id, True, earlier.cache_hit


def _new_row(
    principal: Principal,
    plan_: ExecutionPlan,
    idempotency_key: str | None,
    execution_id: uuid.UUID | None = None,
    *,
    claimed_by: str | None = None,
) -> Execution:
    """A new execution row: queued, or already claimed by ``claimed_by`` (running)."""
    now = utcnow()
    values = {
        "id": execution_id or uuid.uuid4(),
        "tenant_id": _tenant(principal),
        "actor": principal.actor,
        "status": repository.QUEUED,
        "runtime": plan_.target.runtime,
        "environment_id": plan_.target.environment_id,
        "environment_name": plan_.target.environment_name,
        "command": plan_.command,
        "limits": plan_.limits.model_dump(),
        "collect": plan_.collect,
        "cache": plan_.cache,
        "cache_key": plan_.cache_key,
        "idempotency_key": idempotency_key,
        "request_hash": plan_.request_hash,
        "created_at": now,
    }
    if claimed_by is not None:
        values.update(repository.claimed(claimed_by, now))
    return Execution(**values)


async def _emit_queued(session: AsyncSession, row: Execution) -> None:
    await events.emit(
        session,
        events.EXECUTION_QUEUED,
        in_request=True,
        subject=str(row.id),
        tenant_id=row.tenant_id,
        data={
            "id": row.id,
            "runtime": row.runtime,
            "environment": row.environment_name or row.environment_id,
            "cache_hit": row.cache_hit,
        },
    )


async def _enqueue(
    state: ExecutorState, principal: Principal, plan_: ExecutionPlan, idempotency_key: str | None
) -> uuid.UUID:
    tenant = _tenant(principal)
    try:
        with state.pool.reservation(tenant) as ticket:
            # A worker free now is held for this execution: its row is written
            # claimed, so no second transaction is needed to claim it. Its
            # inputs then live only in memory: if this process dies before the
            # verdict, the execution is recorded interrupted (as any claimed
            # one), never run from stored inputs.
            execution_id = uuid.uuid4()
            start_now = ticket.take_worker(execution_id)
            async with state.database.transaction() as session:
                claimed_by = str(state.owner) if start_now else None
                row = _new_row(
                    principal, plan_, idempotency_key, execution_id, claimed_by=claimed_by
                )
                session.add(row)
                if not start_now:
                    session.add(
                        ExecutionInput(
                            execution_id=row.id,
                            files={
                                path: base64.b64encode(content).decode("ascii")
                                for path, content in plan_.files.items()
                            },
                            stdin=plan_.stdin,
                        )
                    )
                await session.flush()
                await _emit_queued(session, row)
                if start_now:
                    await emit_started(session, row)
            state.hub.open(row.id)
            if start_now:
                state.worker.hand_over(Job.of(row, plan_.files, plan_.stdin, stored=False))
            ticket.submit(row.id)
            return row.id
    except QueueFull as exc:
        raise RateLimited(exc.retry_after, str(exc)) from exc


async def submit(
    state: ExecutorState,
    principal: Principal,
    body: ExecuteRequest,
    *,
    idempotency_key: str | None,
) -> Submitted:
    """Accept an execution (or find the one it repeats), waiting for it when asked."""
    plan_ = await plan(state, principal, body)
    reused = await _replay_or_reuse(state, principal, plan_, idempotency_key)
    if reused is not None:
        execution_id, replayed, cache_hit = reused
    else:
        replayed, cache_hit = False, False
        try:
            execution_id = await _enqueue(state, principal, plan_, idempotency_key)
        except IntegrityError:
            # The same Idempotency-Key raced us in (PostgreSQL: the unique index said so).
            reused = await _replay_or_reuse(state, principal, plan_, idempotency_key)
            if reused is None:
                raise
            execution_id, replayed, cache_hit = reused
    execution = None
    if body.wait:
        execution = await wait_until_finished(
            state, execution_id, state.settings.executor_wait_seconds
        )
    if execution is None:
        # Not waited for, or not run here: as stored (a snapshot; no write lock).
        async with state.database.read_session() as session:
            row = await repository.execution_of_tenant(session, _tenant(principal), execution_id)
            assert row is not None
            execution = await read(session, row)
    return Submitted(execution, replayed=replayed, cache_hit=cache_hit)


async def wait_until_finished(
    state: ExecutorState, execution_id: uuid.UUID, timeout_s: float
) -> ExecutionRead | None:
    """Return when the execution finished, or after ``timeout_s``.

    Run by this process, the worker wakes the waiter once the verdict is
    committed and hands over the execution as committed (returned here);
    run by another process, its row is watched, and ``None`` returned.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    outcome = state.pool.outcome(execution_id)
    if outcome is not None:
        ended = await wait_outcome(outcome, timeout_s)
        return ended if isinstance(ended, ExecutionRead) else None
    # Run (or recovered) by another process: watch its row.
    while loop.time() < deadline:
        async with state.database.read_session() as session:
            row = await session.get(Execution, execution_id)
            if row is None or row.status == repository.FINISHED:
                return None
        await asyncio.sleep(_POLL_S)
    return None


async def get_execution(
    session: AsyncSession, principal: Principal, execution_id: uuid.UUID
) -> ExecutionRead:
    """The tenant's execution, with its result (another tenant's is a 404)."""
    row = await repository.execution_of_tenant(session, _tenant(principal), execution_id)
    if row is None:
        raise NotFound("The execution was not found.")
    return await read(session, row)


async def list_executions(
    session: AsyncSession,
    principal: Principal,
    page: PageParams,
    *,
    status: str | None,
    verdict: str | None,
    created_after: datetime | None,
    created_before: datetime | None,
) -> tuple[list[ExecutionSummary], PageResult]:
    """The tenant's executions, newest first, filtered."""
    query = repository.executions_of_tenant(
        _tenant(principal),
        status=status,
        verdict=verdict,
        created_after=created_after,
        created_before=created_before,
    )
    result = await paginate_cursor(
        session,
        query,
        page,
        sort_column=Execution.created_at,
        id_column=Execution.id,
        descending=True,
    )
    return [summary(row) for row in result.items], result


async def cancel(
    state: ExecutorState, principal: Principal, execution_id: uuid.UUID
) -> ExecutionRead:
    """Stop an execution: a queued one never runs, a running one is killed (``killed``)."""
    tenant = _tenant(principal)
    reason = f"cancelled by {principal.actor}"
    dequeued = False
    async with state.database.transaction() as session:
        row = await repository.execution_of_tenant(session, tenant, execution_id)
        if row is None:
            raise NotFound("The execution was not found.")
        if row.status == repository.FINISHED:
            raise Conflict("The execution has already finished.", details={"verdict": row.verdict})
        if row.status == repository.QUEUED and (
            state.pool.cancel_queued(execution_id) or not state.pool.knows(execution_id)
        ):
            # Not on a worker here, and a worker anywhere claims only queued rows:
            # finishing it now means it never runs.
            dequeued = (
                await repository.finish(
                    session,
                    execution_id,
                    verdict="killed",
                    now=utcnow(),
                    reason=f"{reason} before it started",
                    only_if=(repository.QUEUED,),
                )
                is not None
            )
            if dequeued:
                await events.emit(
                    session,
                    events.EXECUTION_FINISHED,
                    in_request=True,
                    subject=str(execution_id),
                    tenant_id=tenant,
                    data={"id": execution_id, "verdict": "killed", "reason": reason},
                )
        if not dequeued:
            # Running (here or elsewhere: the owner's lease keeper sees the flag).
            await repository.request_cancel(session, execution_id, reason=reason, now=utcnow())
    if dequeued:
        state.hub.close(execution_id, "killed")
    else:
        state.pool.stop(execution_id)
        await wait_until_finished(state, execution_id, _CANCEL_WAIT_S)
    async with state.database.transaction() as session:
        row = await repository.execution_of_tenant(session, tenant, execution_id)
        assert row is not None
        return await read(session, row)
