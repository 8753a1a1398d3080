"""A producing service and the real audit service, wired to one bus, for delivery tests."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy import func, select

from devgen.kit.app import create_app
from devgen.kit.db import Database
from devgen.kit.events import emit
from devgen.kit.migrations import ensure_database
from devgen.kit.settings import CoreSettings, DatabaseSettings, EventSettings, Settings
from devgen.runtime.registry import load_definition
from devgen.services.audit.models import AuditRecord
from tests.kit.events.services import Behaviour, ProducerBase, definitions

NOTE_CREATED = "producer.note.created"


def delivery_settings(
    directory: Path, database_url: str | None = None, **events: object
) -> Settings:
    """Settings of a test composition; quick retries so chaos tests stay short."""
    return Settings(
        core=CoreSettings(env="test", data_dir=directory),
        database=DatabaseSettings(
            database_url=database_url or f"sqlite+aiosqlite:///{directory}/{{service}}.db"
        ),
        events=EventSettings(
            **{
                "event_retry_base_seconds": 0.05,
                "relay_poll_seconds": 0.2,
                "relay_max_backoff_seconds": 1.0,
                **events,
            }
        ),
    )


@dataclass
class Composition:
    """The producer and audit apps, started."""

    producer: FastAPI
    audit: FastAPI


async def _producer_schema(settings: Settings) -> None:
    database = Database(settings.database.url_for("producer", settings.core.data_dir))
    await ensure_database(database.url)
    async with database.engine.begin() as connection:
        await connection.run_sync(ProducerBase.metadata.create_all)
    await database.dispose()


@asynccontextmanager
async def producer_only(settings: Settings) -> AsyncIterator[FastAPI]:
    """Start only the producer, for tests where audit runs as a process of its own."""
    await _producer_schema(settings)
    producer = create_app(definitions(Behaviour())[0], settings)
    async with producer.router.lifespan_context(producer):
        yield producer


@asynccontextmanager
async def producer_and_audit(settings: Settings) -> AsyncIterator[Composition]:
    """Start audit (migrated) and a producer (schema created) on ``settings``."""
    await _producer_schema(settings)
    audit = create_app(load_definition("audit"), settings, migrate_on_startup=True)
    producer = create_app(definitions(Behaviour())[0], settings)
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(audit.router.lifespan_context(audit))
        await stack.enter_async_context(producer.router.lifespan_context(producer))
        yield Composition(producer, audit)


async def emit_notes(producer: FastAPI, count: int) -> list[str]:
    """Commit ``count`` events, one transaction each; their ids in order."""
    ids = []
    for number in range(count):
        async with producer.state.database.transaction() as session:
            event = await emit(
                session, NOTE_CREATED, subject=uuid.uuid4(), data={"n": number}, tenant_id=None
            )
        ids.append(event.id)
    return ids


async def recorded_ids(database: Database) -> list[str]:
    """Event ids of the producer's events audit recorded (one entry per record)."""
    async with database.transaction() as session:
        rows = await session.scalars(
            select(AuditRecord.event_id).where(AuditRecord.action == NOTE_CREATED)
        )
        return list(rows)


async def recorded_count(database: Database) -> int:
    """How many of the producer's events audit recorded."""
    async with database.transaction() as session:
        query = (
            select(func.count()).select_from(AuditRecord).where(AuditRecord.action == NOTE_CREATED)
        )
        return int(await session.scalar(query) or 0)
