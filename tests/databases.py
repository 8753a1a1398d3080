"""Databases for tests: migrated once per run, copied fresh for every test.

SQLite templates are files copied per test; PostgreSQL templates are
databases cloned per test with ``CREATE DATABASE … TEMPLATE``. Either way
the schema comes from the services' real migrations.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import uuid
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from devgen.kit.db import Database
from devgen.kit.migrations import upgrade
from devgen.runtime.registry import available_services, load_definition

POSTGRES_SERVER = os.environ.get(
    "DEVGEN_TEST_POSTGRES_SERVER", "postgresql+asyncpg://postgres@127.0.0.1:5432"
)
RUN_ID = uuid.uuid4().hex[:8]
_counter = itertools.count()
T = TypeVar("T")


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion on a loop of its own (safe inside a running loop)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def migrated_services() -> list[str]:
    """Services that own a schema."""
    return [name for name in available_services() if load_definition(name).migrations is not None]


async def _migrate(url: str, service: str) -> None:
    database = Database(url)
    try:
        migrations = load_definition(service).migrations
        assert migrations is not None
        await upgrade(database, migrations)
    finally:
        await database.dispose()


def build_sqlite_templates(directory: Path) -> Path:
    """Migrate one SQLite file per service into ``directory``."""
    for service in migrated_services():
        _run(_migrate(f"sqlite+aiosqlite:///{directory}/{service}.db", service))
    return directory


def copy_sqlite_templates(templates: Path, target: Path) -> str:
    """Copy the migrated files into ``target``; returns the URL template."""
    target.mkdir(parents=True, exist_ok=True)
    for file in templates.glob("*.db"):
        shutil.copyfile(file, target / file.name)
    return f"sqlite+aiosqlite:///{target}/{{service}}.db"


async def _admin(statement: str) -> None:
    engine = create_async_engine(f"{POSTGRES_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


def postgres_unreachable_reason() -> str | None:
    """Why PostgreSQL cannot be used, or None when it answers."""
    try:
        _run(asyncio.wait_for(_admin("SELECT 1"), 5))
    except Exception as exc:  # noqa: BLE001 - any failure is a reason to report
        return f"PostgreSQL at {POSTGRES_SERVER} is not reachable: {type(exc).__name__}: {exc}"
    return None


def build_postgres_templates() -> str:
    """Migrated template databases, one per service; returns their name prefix."""
    prefix = f"devgen_t_{RUN_ID}_tpl"
    for service in migrated_services():
        _run(_migrate(f"{POSTGRES_SERVER}/{prefix}_{service}", service))
    return prefix


async def clone_postgres(template_prefix: str, services: list[str] | None = None) -> str:
    """Fresh databases cloned from the templates (only ``services``' when given)."""
    prefix = f"devgen_t_{RUN_ID}_{next(_counter)}"
    for service in services if services is not None else migrated_services():
        await _admin(f'CREATE DATABASE "{prefix}_{service}" TEMPLATE "{template_prefix}_{service}"')
    return f"{POSTGRES_SERVER}/{prefix}_{{service}}"


async def drop_postgres(url_template: str, services: list[str] | None = None) -> None:
    """Drop the databases a test used."""
    for service in services if services is not None else migrated_services():
        name = url_template.rsplit("/", 1)[1].replace("{service}", service)
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def drop_postgres_templates(template_prefix: str) -> None:
    """Drop the template databases at the end of the run."""
    for service in migrated_services():
        _run(_admin(f'DROP DATABASE IF EXISTS "{template_prefix}_{service}" WITH (FORCE)'))
