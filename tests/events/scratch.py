"""Scratch databases for event tests that need a bare schema rather than a service's."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import create_async_engine

from devgen.kit.db import Database
from tests import databases
from tests.conftest import IN_CI


async def _admin(statement: str) -> None:
    engine = create_async_engine(
        f"{databases.POSTGRES_SERVER}/postgres", isolation_level="AUTOCOMMIT"
    )
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


def require_postgres() -> None:
    """Fail (CI) or skip (elsewhere) when PostgreSQL does not answer."""
    reason = databases.postgres_unreachable_reason()
    if reason:
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)


@asynccontextmanager
async def scratch_database(
    backend: str, directory: Path, metadata: MetaData
) -> AsyncIterator[Database]:
    """A new database on ``backend`` with ``metadata``'s tables, dropped afterwards."""
    name = f"devgen_t_scratch_{uuid.uuid4().hex[:10]}"
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{directory}/{name}.db"
    else:
        require_postgres()
        await _admin(f'CREATE DATABASE "{name}"')
        url = f"{databases.POSTGRES_SERVER}/{name}"
    database = Database(url)
    try:
        async with database.engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
        yield database
    finally:
        await database.dispose()
        if backend == "postgresql":
            await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
