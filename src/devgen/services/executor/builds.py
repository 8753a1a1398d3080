"""Builds of package sets: one task per key in this process, rows kept in step with the disk.

:class:`.builder.EnvironmentBuilder` does the work on disk (venv, pip, lock,
marker); this runs it for a key at most once at a time in this process,
records ``building`` -> ``ready``/``failed`` with the log, emits the
environment events, and lets executions wait for a build.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import structlog

from devgen.kit.db import Database, utcnow
from devgen.services.executor import events, repository
from devgen.services.executor.builder import EnvironmentBuilder
from devgen.services.executor.models import EnvironmentBuild
from devgen.services.executor.packages import build_key
from devgen.services.executor.runtimes import RuntimeCatalog
from devgen.services.executor.schemas import BuildStatus

log = structlog.get_logger(__name__)

BUILDING = "building"
READY = "ready"
FAILED = "failed"


class BuildFailed(Exception):
    """The environment an execution needs could not be built."""


class Builds:
    """Runs builds (one task per key in this process) and keeps their rows in step."""

    def __init__(
        self, database: Database, builder: EnvironmentBuilder, runtimes: RuntimeCatalog
    ) -> None:
        self.database = database
        self.builder = builder
        self.runtimes = runtimes
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._ready_rows: set[str] = set()

    async def key_for(self, runtime: str, packages: list[str]) -> str:
        """The build key of a package set for ``runtime`` on this interpreter."""
        python = await self.runtimes.python()
        return build_key(runtime, python.version or "unknown", packages)

    def start(self, key: str, runtime: str, packages: list[str]) -> asyncio.Task[None]:
        """Start building ``key`` unless this process already is; returns the task."""
        task = self._tasks.get(key)
        if task is None or task.done():
            task = asyncio.ensure_future(self._run(key, runtime, packages))
            self._tasks[key] = task
        return task

    async def ensure(self, key: str, runtime: str, packages: list[str]) -> Path:
        """The venv of ``key``, built first if needed; :class:`BuildFailed` if it cannot be."""
        if not (self.builder.is_ready(key) and key in self._ready_rows):
            await asyncio.shield(self.start(key, runtime, packages))
        if not self.builder.is_ready(key):
            async with self.database.transaction() as session:
                row = await repository.build(session, key)
                error = row.error if row is not None else None
            raise BuildFailed(error or "the environment could not be built")
        return self.builder.venv(key)

    async def resume_interrupted(self) -> None:
        """Restart the builds a previous process left half done (accepted work is not lost)."""
        async with self.database.transaction() as session:
            rows = await repository.builds_in_progress(session)
        for row in rows:
            self.start(row.id, row.runtime, list(row.packages))

    async def close(self) -> None:
        """Stop the builds of this process."""
        tasks = [task for task in self._tasks.values() if not task.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.builder.close()

    async def _run(self, key: str, runtime: str, packages: list[str]) -> None:
        python = await self.runtimes.python()
        async with self.database.transaction() as session:
            row = await repository.build(session, key)
            if row is None:
                row = EnvironmentBuild(
                    id=key, runtime=runtime, python=python.version or "", packages=packages
                )
                session.add(row)
            row.status, row.error, row.log = BUILDING, None, ""
            row.started_at, row.finished_at = utcnow(), None
        outcome = await self.builder.build(key, packages, python=python.path)
        async with self.database.transaction() as session:
            row = await repository.build(session, key)
            assert row is not None
            row.status = READY if outcome.ok else FAILED
            row.log, row.error, row.finished_at = outcome.log, outcome.error, utcnow()
            await events.emit(
                session,
                events.ENVIRONMENT_READY if outcome.ok else events.ENVIRONMENT_FAILED,
                subject=key,
                tenant_id=None,
                data={"id": key, "packages": packages, "error": outcome.error},
            )
        if outcome.ok:
            self._ready_rows.add(key)
        log.info("executor.environment_built", key=key, ok=outcome.ok, error=outcome.error)

    def status(self, key: str, row: EnvironmentBuild | None) -> BuildStatus:
        """What a client sees of a build: a local build in progress wins over the row."""
        if self.builder.is_building(key) or (key in self._tasks and not self._tasks[key].done()):
            return "building"
        if row is None:
            return "ready" if self.builder.is_ready(key) else "pending"
        if row.status == READY and not self.builder.is_ready(key):
            return "pending"  # the cache directory was cleared: it is rebuilt on use
        status: BuildStatus = row.status  # type: ignore[assignment]
        return status

    def log_of(self, key: str, row: EnvironmentBuild | None) -> str:
        """The build's output: live while it runs here, else as recorded."""
        live = self.builder.live_log(key)
        if live is not None:
            return live
        if row is not None and row.log:
            return row.log
        return self.builder.stored_log(key)
