"""Acting as an attacker with write access to audit's database (triggers out of the way)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from devgen.kit.db import Database

_SQLITE_TRIGGERS = (
    "audit_records_no_update",
    "audit_records_no_delete",
    "audit_checkpoints_no_update",
    "audit_checkpoints_no_delete",
)


@asynccontextmanager
async def tampering(database: Database) -> AsyncIterator[AsyncSession]:
    """A transaction in which the append-only triggers do not fire."""
    async with database.transaction() as session:
        if database.backend == "postgresql":
            # Superuser only: what someone who owns the database server can do.
            await session.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            for name in _SQLITE_TRIGGERS:
                await session.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
        yield session
