"""Storage's start-up: the blob store, the staging directory, and unfinished clean-ups."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import structlog
from anyio import CapacityLimiter, to_thread
from fastapi import FastAPI, Request
from sqlalchemy import event

from devgen.kit.db import Database
from devgen.kit.health import DependencyStatus
from devgen.kit.settings import Settings
from devgen.services.storage import blobs
from devgen.services.storage.archives import ArchiveLimits
from devgen.services.storage.backends import open_blob_store
from devgen.services.storage.settings import StorageSettings
from devgen.services.storage.state import StorageState

log = structlog.get_logger(__name__)

STALE_STAGING_SECONDS = 3600
"""Staged uploads older than this belong to no request still running."""


def _remove_stale_staging(staging: Path) -> int:
    # A crash mid-upload leaves its staging file; an hour-old one has no owner left
    # (a younger one may belong to another replica sharing the directory).
    cutoff = time.time() - STALE_STAGING_SECONDS
    removed = 0
    for path in staging.glob("*"):
        if path.is_file() and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def _sqlite_full_sync(dbapi_connection: Any, _record: Any) -> None:
    # WAL with synchronous=NORMAL (the chassis's default) may lose the last commits on
    # power loss; storage answers 201 only once the file's row (and inline bytes) are
    # on disk, so each of its commits syncs the WAL.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


async def _make_commits_durable(database: Database) -> None:
    """On SQLite, every commit of storage's database is fsynced (PostgreSQL's are already)."""
    if database.backend != "sqlite":
        return
    if not event.contains(database.engine.sync_engine, "connect", _sqlite_full_sync):
        event.listen(database.engine.sync_engine, "connect", _sqlite_full_sync)
    # Connections opened before (migrations, checks) are closed; new ones get the pragma.
    await database.engine.dispose()


async def _check_store(request: Request) -> DependencyStatus:
    state: StorageState = request.app.state.storage
    try:
        await state.store.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means "unavailable"
        return DependencyStatus(status="unavailable", detail=type(exc).__name__)
    return DependencyStatus(status="ok", detail=state.store.name)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Open the blob store, tidy the staging directory, finish pending blob deletions."""
    settings: Settings = app.state.settings
    storage_settings = StorageSettings()
    root = storage_settings.root(settings.core.data_dir)
    staging = root / "tmp"
    root.mkdir(mode=0o700, parents=True, exist_ok=True)  # tenants' files: this user's only
    staging.mkdir(mode=0o700, exist_ok=True)
    async with AsyncExitStack() as stack:
        store = await open_blob_store(storage_settings, root, stack)
        state = StorageState(
            settings=storage_settings,
            store=store,
            database=app.state.database,
            staging=staging,
            archive_limits=ArchiveLimits(
                max_files=storage_settings.storage_max_artifact_files,
                max_total_bytes=storage_settings.storage_max_artifact_bytes,
                max_ratio=storage_settings.storage_max_compression_ratio,
            ),
            # Each zip being read or written may hold up to the artifact limit in memory.
            archive_workers=CapacityLimiter(2),
        )
        app.state.storage = state
        app.state.health_checks["blob_store"] = _check_store
        await _make_commits_durable(app.state.database)
        removed = await to_thread.run_sync(_remove_stale_staging, staging)
        collected = await blobs.collect_pending(app.state.database, store)
        orphans = await blobs.sweep_orphans(app.state.database, store)
        if removed or collected or orphans:
            log.info(
                "storage_startup_cleanup",
                staged_removed=removed,
                blobs_collected=collected,
                orphans_removed=orphans,
            )
        yield
