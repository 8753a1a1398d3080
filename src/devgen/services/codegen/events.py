"""The events codegen emits: ``codegen.generation.completed`` and ``codegen.generation.failed``.

Written to codegen's outbox in the request's transaction (``devgen.kit.events``), with ids
and small facts only (engine, hashes, counts, usage), never the generated code. A failure
is recorded too: ``devgen.kit.db.record_and_raise`` keeps the event while the request fails.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from devgen.kit.events import emit

Operation = Literal["generate", "repair"]


class CodegenEvent(StrEnum):
    """Event types, ``<service>.<entity>.<verb>``."""

    generation_completed = "codegen.generation.completed"
    generation_failed = "codegen.generation.failed"


async def generation_completed(
    session: AsyncSession,
    generation_id: uuid.UUID,
    *,
    operation: Operation,
    engine: str,
    data: dict[str, Any],
) -> None:
    """A project was generated (or repaired); ``data``: hashes, counts, usage."""
    await emit(
        session,
        CodegenEvent.generation_completed.value,
        subject=generation_id,
        data={"operation": operation, "engine": engine, **data},
    )


async def generation_failed(
    session: AsyncSession,
    generation_id: uuid.UUID,
    *,
    operation: Operation,
    engine: str,
    code: str,
    message: str,
    data: dict[str, Any] | None = None,
) -> None:
    """A generation (or repair) started and failed with the error ``code``."""
    await emit(
        session,
        CodegenEvent.generation_failed.value,
        subject=generation_id,
        data={
            "operation": operation,
            "engine": engine,
            "code": code,
            "message": message[:500],
            **(data or {}),
        },
    )
