"""The progress of a running generation, kept where any replica can read it.

While ``POST /codegen/generate`` runs, a :class:`ProgressRecorder` hears the engine's
work (:mod:`.engines.llm.activity`: the role, the file, the review round, the tokens a
streamed answer has reached) and writes it, in its own short transactions, to the
``generation_progress`` row of the request's ``Idempotency-Key``; the caller reads it with
``GET /codegen/progress/{key}`` while its request is pending. Notes in flight are kept to
one a ``interval`` (the last one of a burst wins); a piece of work's start and end are
always kept, so every file gets its final note. Writing progress never fails the
generation: a failed write is logged and the next one tries again.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from devgen.kit.db import Database, utcnow
from devgen.kit.errors import NotFound
from devgen.services.codegen.engines.llm import Meter, Progress
from devgen.services.codegen.engines.llm.activity import Activity
from devgen.services.codegen.models import GenerationProgress

log = structlog.get_logger(__name__)

KEEP_ENTRIES = 200
"""Notes a row keeps (the oldest go first): a poller that fell further behind skips some."""
_FORGET_AFTER = timedelta(hours=1)


class ProgressRecorder:
    """Collects one generation's notes and writes them, throttled, in the background."""

    def __init__(
        self,
        database: Database,
        tenant_id: uuid.UUID,
        key: str,
        meter: Meter,
        *,
        interval: float = 1.0,
    ) -> None:
        self._database = database
        self._tenant_id = tenant_id
        self._key = key
        self._meter = meter
        self._interval = interval
        self._pending: list[dict[str, Any]] = []
        self._last_in_flight = -interval
        self._output_at_start: dict[Activity, int] = {}
        self._streamed: dict[Activity, int] = {}
        self._wake = asyncio.Event()
        self._closed = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self._purged = False

    def start(self) -> None:
        """Begin writing in the background (call :meth:`close` when the generation ends)."""
        self._task = asyncio.create_task(self._write_loop(), name=f"progress-{self._key}")

    def _add(self, state: str, activity: Activity, **facts: Any) -> None:
        entry: dict[str, Any] = {
            "state": state,
            "role": activity.role,
            "what": activity.what,
            **({"file": activity.file} if activity.file else {}),
            **({"round": activity.round} if activity.round is not None else {}),
            **facts,
            "usage_tokens": self._meter.usage.total_tokens,
            "at": utcnow().isoformat(),
        }
        self._pending.append(entry)
        self._wake.set()

    def started(self, activity: Activity) -> None:
        """Note that ``activity`` begins."""
        self._output_at_start[activity] = self._meter.usage.output_tokens
        self._add("started", activity, tokens=0)

    def progressed(self, activity: Activity, progress: Progress) -> None:
        """Note a streamed answer's length, at most once an interval."""
        self._streamed[activity] = progress.estimated_tokens
        now = time.monotonic()
        if progress.done or now - self._last_in_flight < self._interval:
            return  # the end gets its own note; a burst is one note
        self._last_in_flight = now
        self._pending = [e for e in self._pending if e["state"] != "writing"]
        self._add("writing", activity, tokens=progress.estimated_tokens)

    def finished(self, activity: Activity, *, failed: bool) -> None:
        """Note that ``activity`` ended; ``tokens``: what the provider counted for it."""
        before = self._output_at_start.pop(activity, self._meter.usage.output_tokens)
        counted = self._meter.usage.output_tokens - before
        streamed = self._streamed.pop(activity, 0)
        self._add("failed" if failed else "done", activity, tokens=counted or streamed)

    async def close(self) -> None:
        """Write what is left, marked finished; returns when it is stored (or failed)."""
        self._closing = True
        self._closed.set()
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task

    async def _write_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            closing = self._closing
            taken, self._pending = self._pending, []
            try:
                await self._write(taken, finished=closing)
            except Exception:  # progress is a courtesy: never a reason to fail
                log.warning("generation_progress_write_failed", key=self._key, exc_info=True)
            if closing:
                return
            # At most one write an interval; the end does not wait for it.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closed.wait(), self._interval)

    async def _write(self, entries: list[dict[str, Any]], *, finished: bool) -> None:
        async with self._database.transaction() as session:
            if not self._purged:
                self._purged = True
                await session.execute(
                    delete(GenerationProgress).where(
                        GenerationProgress.updated_at < utcnow() - _FORGET_AFTER
                    )
                )
            row = await session.get(GenerationProgress, (self._tenant_id, self._key))
            if row is None:
                row = GenerationProgress(
                    tenant_id=self._tenant_id, key=self._key, entries=[], last=0
                )
                session.add(row)
            numbered = [{"seq": row.last + i, **e} for i, e in enumerate(entries, start=1)]
            row.entries = [*(row.entries or []), *numbered][-KEEP_ENTRIES:]
            row.last = row.last + len(numbered)
            row.finished = finished
            row.updated_at = utcnow()


async def read_progress(
    session: AsyncSession, tenant_id: uuid.UUID, key: str, after: int
) -> dict[str, Any]:
    """The notes of generation ``key`` after ``after``; 404 when the tenant has none."""
    row = (
        await session.execute(
            select(GenerationProgress).where(
                GenerationProgress.tenant_id == tenant_id, GenerationProgress.key == key
            )
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFound("No progress is known for this key.", details={"key": key})
    return {
        "key": key,
        "entries": [e for e in row.entries or [] if int(e.get("seq", 0)) > after],
        "last": row.last,
        "finished": row.finished,
        "updated_at": row.updated_at,
    }
