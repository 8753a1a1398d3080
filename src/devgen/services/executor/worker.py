"""Run one accepted execution: environment, claim, sandbox, result, events.

The pool calls :class:`Worker` with an execution id; everything it needs is
re-read from the database (a job carries an id, not an object), so the
same code runs queued submissions and executions recovered after a restart.

One exception saves a transaction per execution: a request that found a
worker free wrote its row already claimed (:func:`repository.claimed`, in the
transaction that accepted it) and hands its :class:`Job` over in memory
(:meth:`Worker.hand_over`); the worker runs that without claiming again.

The worker returns the execution as it committed it (:class:`ExecutionRead`),
so a request waiting in this process answers without reading it back.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import uuid
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from devgen.kit.commit_hooks import on_commit
from devgen.kit.db import Database, utcnow
from devgen.kit.telemetry import SERVICE_ATTRIBUTE, tracer
from devgen.services.executor import events, repository
from devgen.services.executor.builds import BuildFailed, Builds
from devgen.services.executor.encoding import encode
from devgen.services.executor.environments import target_of
from devgen.services.executor.lease import Owner
from devgen.services.executor.live import LiveEvent, LiveHub
from devgen.services.executor.metrics import executor_metrics
from devgen.services.executor.models import Execution, ExecutionResult
from devgen.services.executor.sandbox import (
    CollectedFile,
    EnvMount,
    Limits,
    Sandbox,
    SandboxError,
    SandboxRequest,
    SandboxResult,
    Verdict,
)
from devgen.services.executor.schemas import ExecutionRead
from devgen.services.executor.views import read_of

log = structlog.get_logger(__name__)
_VERDICTS_KEY = "devgen.executor.metrics.verdicts"


def _count_verdicts(verdicts: list[str]) -> None:
    for verdict in verdicts:
        executor_metrics().verdicts.labels(verdict).inc()


SHUTDOWN_REASON = "the executor shut down while it ran"


@dataclasses.dataclass(frozen=True, slots=True)
class Job:
    """What the worker needs to run a claimed execution."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    environment_id: uuid.UUID | None
    command: list[str]
    limits: Limits
    collect: list[str]
    files: dict[str, bytes]
    stdin: bytes
    stored_inputs: bool = True  # an execution_inputs row exists (deleted when it ends)

    @classmethod
    def of(cls, row: Execution, files: dict[str, bytes], stdin: bytes, *, stored: bool) -> Job:
        """The job of a claimed row, with its inputs."""
        return cls(
            id=row.id,
            tenant_id=row.tenant_id,
            environment_id=row.environment_id,
            command=list(row.command),
            limits=Limits(**row.limits),
            collect=list(row.collect),
            files=files,
            stdin=stdin,
            stored_inputs=stored,
        )


async def emit_started(session: AsyncSession, row: Execution) -> None:
    """The ``started`` event of a claimed row, in the transaction that claimed it."""
    await events.emit(
        session,
        events.EXECUTION_STARTED,
        subject=str(row.id),
        tenant_id=row.tenant_id,
        data={"id": row.id},
    )


def collected_json(files: dict[str, CollectedFile]) -> dict[str, Any]:
    """Result files as stored (and returned): status, size, and content as text or base64."""
    stored: dict[str, Any] = {}
    for name, collected in files.items():
        entry: dict[str, Any] = {"status": collected.status.value, "size": collected.size}
        if collected.status.value in ("ok", "truncated"):
            entry["content"], entry["encoding"] = encode(collected.content)
        stored[name] = entry
    return stored


def result_row(result: SandboxResult) -> ExecutionResult:
    """The row that stores a sandbox result."""
    isolation = dataclasses.asdict(result.isolation)
    isolation["namespaces"] = list(isolation["namespaces"])
    return ExecutionResult(
        id=uuid.uuid4(),
        exit_code=result.exit_code,
        signal=result.signal,
        stdout=result.stdout,
        stderr=result.stderr,
        stdout_truncated=result.stdout_truncated,
        stderr_truncated=result.stderr_truncated,
        cpu_time_s=result.cpu_time_s,
        wall_time_s=result.wall_time_s,
        peak_memory_bytes=result.peak_memory_bytes,
        limits=result.limits.model_dump(),
        isolation=isolation,
        files=collected_json(result.files),
        detail=result.detail,
        created_at=utcnow(),  # add_result inserts every column as given: no default applies
    )


class Worker:
    """The pool's run function: ``await worker(execution_id, stop)``, the execution as ended."""

    def __init__(
        self,
        *,
        database: Database,
        sandbox: Sandbox,
        builds: Builds,
        hub: LiveHub,
        owner: Owner,
    ) -> None:
        self._database = database
        self._sandbox = sandbox
        self._builds = builds
        self._hub = hub
        self._owner = owner
        self._handed: dict[uuid.UUID, Job] = {}

    def hand_over(self, job: Job) -> None:
        """A job whose row the request already committed claimed by this owner.

        Call before the pool runs it: the worker then skips its own claim.
        """
        self._handed[job.id] = job

    async def __call__(self, execution_id: uuid.UUID, stop: asyncio.Event) -> ExecutionRead | None:
        """Run the execution if it is still queued; record how it ended.

        It is claimed (``running``) first, then waits for its environment if
        that is still being built: a cancellation meanwhile still stops it.
        Returns the execution as committed at its end (``None`` if it was not
        this worker's to run).
        """
        # In the trace of the request that submitted it (the pool keeps its context).
        with tracer().start_as_current_span(
            "executor sandbox run",
            attributes={SERVICE_ATTRIBUTE: "executor", "devgen.execution_id": str(execution_id)},
        ):
            return await self._execute(execution_id, stop)

    async def _execute(self, execution_id: uuid.UUID, stop: asyncio.Event) -> ExecutionRead | None:
        job: Job | None = self._handed.pop(execution_id, None)
        try:
            if job is None:
                job = await self._claim(execution_id)
            if job is None:
                self._hub.close(execution_id, "")
                return None
            return await self._run(job, stop)
        except asyncio.CancelledError:
            # Shutdown: the sandbox already killed the tree; say why it ended.
            # (Cancelled while the claim itself committed, it is left running:
            # the next start finds its owner gone and records it interrupted.)
            if job is not None:
                await asyncio.shield(self._end(job, Verdict.KILLED, SHUTDOWN_REASON))
            raise
        except Exception as exc:  # a claimed execution must always end, however it fails
            if job is None:
                raise
            log.exception("executor.worker_failed", execution_id=str(job.id))
            return await self._end(job, Verdict.INTERNAL_ERROR, f"{type(exc).__name__}: {exc}")

    async def _run(self, job: Job, stop: asyncio.Event) -> ExecutionRead | None:
        live = self._hub.get(job.id) or self._hub.open(job.id)
        live.publish(LiveEvent("status", text="running"))
        try:
            mounts = await self._environment(job)
        except BuildFailed as exc:
            return await self._end(
                job, Verdict.INTERNAL_ERROR, f"the environment was not built: {exc}"
            )
        if stop.is_set():
            return await self._end(job, Verdict.KILLED, None)
        request = SandboxRequest(
            command=job.command,
            files=job.files,
            stdin=job.stdin,
            limits=job.limits,
            collect=job.collect,
            env_mounts=mounts,
            on_output=live.on_output,
        )
        try:
            result = await self._sandbox.run(request, stop=stop)
        except SandboxError as exc:
            # Checked when it was accepted; a host that lost bwrap since lands here.
            return await self._end(job, Verdict.INTERNAL_ERROR, f"the sandbox refused it: {exc}")
        return await self._store(job, result)

    async def _claim(self, execution_id: uuid.UUID) -> Job | None:
        """Move it to ``running`` and read what it needs, in one transaction."""
        async with self._database.transaction() as session:
            row = await repository.claim(session, execution_id, str(self._owner), utcnow())
            if row is None:
                return None  # cancelled, or claimed by another executor
            inputs = await repository.inputs(session, execution_id)
            await emit_started(session, row)
            files = inputs.files if inputs is not None else {}
            return Job.of(
                row,
                {name: base64.b64decode(content) for name, content in files.items()},
                inputs.stdin if inputs is not None else b"",
                stored=inputs is not None,
            )

    async def _environment(self, job: Job) -> list[EnvMount]:
        if job.environment_id is None:
            return []
        async with self._database.transaction() as session:
            target = await target_of(session, self._builds, job.tenant_id, job.environment_id)
        assert target.build_key is not None
        venv = await self._builds.ensure(target.build_key, target.runtime, list(target.packages))
        return [EnvMount(venv)]

    async def _end(self, job: Job, verdict: Verdict, reason: str | None) -> ExecutionRead | None:
        """Record an end without a result (nothing ran, or it was interrupted)."""
        async with self._database.transaction() as session:
            finished = await repository.finish(
                session,
                job.id,
                verdict=verdict.value,
                now=utcnow(),
                reason=reason,
                inputs=job.stored_inputs,
            )
            if finished is not None:
                await self._emit_finished(session, job, verdict.value, None, reason)
        self._hub.close(job.id, verdict.value)
        # Only now, committed, may anyone be told how it ended.
        return read_of(finished, None) if finished is not None else None

    async def _store(self, job: Job, result: SandboxResult) -> ExecutionRead | None:
        row = result_row(result)
        async with self._database.transaction() as session:
            await repository.add_result(session, row)
            finished = await repository.finish(
                session,
                job.id,
                verdict=result.verdict.value,
                now=utcnow(),
                exit_code=result.exit_code,
                result_id=row.id,
                only_if=(repository.RUNNING,),
                inputs=job.stored_inputs,
            )
            if finished is not None:
                await self._emit_finished(
                    session, job, result.verdict.value, result.exit_code, None
                )
        if finished is None:
            log.warning("executor.result_dropped", execution_id=str(job.id))
        self._hub.close(job.id, result.verdict.value)
        # The result is durable (committed) before any waiter hears of it.
        return read_of(finished, row) if finished is not None else None

    async def _emit_finished(
        self,
        session: Any,
        job: Job,
        verdict: str,
        exit_code: int | None,
        reason: str | None,
    ) -> None:
        on_commit(session, _VERDICTS_KEY, _count_verdicts, verdict)
        await events.emit(
            session,
            events.EXECUTION_FINISHED,
            subject=str(job.id),
            tenant_id=job.tenant_id,
            data={"id": job.id, "verdict": verdict, "exit_code": exit_code, "reason": reason},
        )
