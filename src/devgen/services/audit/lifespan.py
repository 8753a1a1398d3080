"""Audit's start-up: its signing key, and the checkpoint and retention jobs."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI

from devgen.kit.db import Database
from devgen.services.audit import service
from devgen.services.audit.retention import run_retention
from devgen.services.audit.settings import AuditSettings
from devgen.services.audit.signing import load_signer
from devgen.services.audit.state import AuditState

log = structlog.get_logger(__name__)


async def _every(seconds: float, job: Callable[[], Awaitable[object]], name: str) -> None:
    while True:
        await asyncio.sleep(seconds)
        try:
            await job()
        except Exception as exc:  # noqa: BLE001 - a failed run is retried at the next tick
            log.warning("audit_job_failed", job=name, error=f"{type(exc).__name__}: {exc}")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Load (or create) the signing key; sign chain heads and prune on a schedule."""
    settings = AuditSettings()
    database: Database = app.state.database
    async with database.transaction() as session:
        signer = await load_signer(session, app.state.settings.auth.key_encryption_key)
    state = AuditState(settings=settings, database=database, signer=signer)
    app.state.audit = state

    async def checkpoint() -> None:
        async with database.transaction() as session:
            await service.checkpoint_heads(session, signer)

    async def retention() -> None:
        async with database.transaction() as session:
            await run_retention(session, signer, settings)

    jobs = [
        asyncio.create_task(_every(settings.audit_checkpoint_seconds, checkpoint, "checkpoint")),
        asyncio.create_task(
            _every(settings.audit_retention_interval_seconds, retention, "retention")
        ),
    ]
    try:
        yield
    finally:
        for job in jobs:
            job.cancel()
        for job in jobs:
            with contextlib.suppress(asyncio.CancelledError):
                await job
