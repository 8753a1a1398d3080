"""Schema upkeep for every service: upgrade to the newest revision, write new revisions."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from devgen.kit.db import Database
from devgen.kit.migrations import current_revision, make_revision, upgrade
from devgen.kit.settings import Settings
from devgen.runtime.registry import available_services, load_definition


@dataclass(frozen=True)
class Migrated:
    """One service's database after an upgrade."""

    service: str
    database: str
    revision: str | None


def services_with_schema(names: Sequence[str] | None = None) -> list[str]:
    """The installed services that own a schema (all of them, or those among ``names``)."""
    candidates = names if names is not None else available_services()
    return [name for name in candidates if load_definition(name).migrations is not None]


def display_url(url: str) -> str:
    """``url`` with any password masked, for printing."""
    return make_url(url).render_as_string(hide_password=True)


async def migrate_services(
    settings: Settings, names: Sequence[str] | None = None
) -> list[Migrated]:
    """Upgrade each service's database to its newest revision (creating PostgreSQL databases)."""
    results: list[Migrated] = []
    for name in services_with_schema(names):
        definition = load_definition(name)
        assert definition.migrations is not None
        url = settings.database.url_for(name, settings.core.data_dir)
        database = Database(url, pool_size=1)
        try:
            await upgrade(database, definition.migrations)
            revision = await current_revision(database, definition.migrations)
        finally:
            await database.dispose()
        results.append(Migrated(name, display_url(url), revision))
    return results


async def make_service_revision(name: str, message: str, database_url: str | None) -> Path | None:
    """Write the revision that brings ``name``'s migrations up to its models.

    The comparison runs against a scratch SQLite database migrated to the
    current head, unless ``database_url`` names one to compare against.
    Returns the new file, or None when the models match the migrations.
    """
    definition = load_definition(name)
    if definition.migrations is None or definition.metadata is None:
        raise ValueError(f"the {name} service has no schema")
    with tempfile.TemporaryDirectory(prefix="devgen-makemigration-") as scratch:
        database = Database(database_url or f"sqlite+aiosqlite:///{scratch}/{name}.db")
        try:
            return await make_revision(
                database, definition.migrations, definition.metadata, message
            )
        finally:
            await database.dispose()
