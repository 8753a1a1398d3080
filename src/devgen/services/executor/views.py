"""How an execution looks to a client: rows and stored results turned into read models."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from devgen.services.executor import repository
from devgen.services.executor.encoding import encode
from devgen.services.executor.models import Execution, ExecutionResult
from devgen.services.executor.schemas import (
    ExecutionRead,
    ExecutionResultRead,
    ExecutionSummary,
)


def summary(row: Execution) -> ExecutionSummary:
    """An execution without its output."""
    return ExecutionSummary.model_validate(_fields(row))


def _fields(row: Execution) -> dict[str, object]:
    environment = row.environment_name or (str(row.environment_id) if row.environment_id else None)
    return {
        "id": row.id,
        "status": row.status,
        "verdict": row.verdict,
        "exit_code": row.exit_code,
        "reason": row.reason,
        "runtime": row.runtime,
        "environment": environment,
        "environment_id": row.environment_id,
        "command": row.command,
        "limits": row.limits,
        "collect": row.collect,
        "cache": row.cache,
        "cache_hit": row.cache_hit,
        "cached_from": row.cached_from,
        "created_by": row.actor,
        "created_at": row.created_at,
        "started_at": row.started_at,
        "finished_at": row.finished_at,
    }


def result_read(result: ExecutionResult) -> ExecutionResultRead:
    """A stored result as a client sees it (output as text, or base64 when not UTF-8)."""
    stdout, stdout_encoding = encode(result.stdout)
    stderr, stderr_encoding = encode(result.stderr)
    return ExecutionResultRead.model_validate(
        {
            "exit_code": result.exit_code,
            "signal": result.signal,
            "stdout": stdout,
            "stdout_encoding": stdout_encoding,
            "stdout_truncated": result.stdout_truncated,
            "stderr": stderr,
            "stderr_encoding": stderr_encoding,
            "stderr_truncated": result.stderr_truncated,
            "cpu_time_s": result.cpu_time_s,
            "wall_time_s": result.wall_time_s,
            "peak_memory_bytes": result.peak_memory_bytes,
            "limits": result.limits,
            "isolation": result.isolation,
            "files": result.files,
            "detail": result.detail,
        }
    )


async def read(session: AsyncSession, row: Execution) -> ExecutionRead:
    """An execution with its result, when it has one."""
    result = await repository.result(session, row.result_id) if row.result_id else None
    return read_of(row, result)


def read_of(row: Execution, result: ExecutionResult | None) -> ExecutionRead:
    """An execution with the result given (the one ``row.result_id`` names, or none)."""
    return ExecutionRead.model_validate(
        {**_fields(row), "result": result_read(result) if result is not None else None}
    )
