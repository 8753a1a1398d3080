"""Alembic migrations, one history per service, run from code.

Each service keeps ``migrations/env.py`` (two lines calling ``run_env``) and
``migrations/versions/`` with date-prefixed revisions. ``upgrade`` runs them
on the service's own engine; on PostgreSQL an advisory lock makes replicas
starting together take turns.
"""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Any

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import create_async_engine

from devgen.kit.db import Database


def run_env(target_metadata: MetaData) -> None:
    """Body of a service's ``env.py``: migrate on the connection we were handed."""
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("migrations run through `devgen migrate`, not the alembic CLI")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _config(migrations_dir: Path) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    return config


def _upgrade(connection: Connection, migrations_dir: Path, revision: str) -> None:
    if connection.dialect.name == "postgresql":
        lock_id = zlib.crc32(str(migrations_dir).encode())
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id})
    config = _config(migrations_dir)
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def upgrade(database: Database, migrations_dir: Path, revision: str = "head") -> None:
    """Bring the service's schema to ``revision`` (the newest by default)."""
    await ensure_database(database.url)
    async with database.engine.begin() as connection:
        await connection.run_sync(_upgrade, migrations_dir, revision)


def _current(connection: Connection, migrations_dir: Path) -> Any:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


async def current_revision(database: Database, migrations_dir: Path) -> str | None:
    """The revision the database is at, or None before the first migration."""
    async with database.engine.connect() as connection:
        revision = await connection.run_sync(_current, migrations_dir)
    return str(revision) if revision else None


async def ensure_database(url: str) -> None:
    """Create the PostgreSQL database named in ``url`` when it does not exist yet.

    SQLite creates its file on first connect, so there is nothing to do there.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql" or not parsed.database:
        return
    admin = create_async_engine(
        parsed.set(database="postgres"), isolation_level="AUTOCOMMIT", pool_size=1
    )
    try:
        async with admin.connect() as connection:
            exists = await connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"),
                {"name": parsed.database},
            )
            if not exists:
                quoted = parsed.database.replace('"', '""')
                await connection.execute(text(f'CREATE DATABASE "{quoted}"'))
    finally:
        await admin.dispose()


_REVISION_TEMPLATE = '''"""{message}

Revision ID: {revision}
Revises: {down_revision}
Create Date: {created}
"""

import sqlalchemy as sa
from alembic import op

import devgen.kit.db

revision = {revision!r}
down_revision = {down_revision!r}
branch_labels = None
depends_on = None


def upgrade() -> None:
{upgrade}


def downgrade() -> None:
{downgrade}
'''


def _indent(code: str) -> str:
    import textwrap

    lines = [line for line in code.splitlines() if not line.strip().startswith("# ###")]
    body = textwrap.dedent("\n".join(lines)).strip()
    return textwrap.indent(body, "    ")


def _render_revision(
    connection: Connection, migrations_dir: Path, metadata: MetaData, message: str
) -> Path | None:
    import re
    import uuid
    from datetime import UTC, datetime

    from alembic.autogenerate import produce_migrations, render_python_code
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    context_ = MigrationContext.configure(
        connection, opts={"target_metadata": metadata, "compare_type": True}
    )
    script = produce_migrations(context_, metadata)
    if script.upgrade_ops is None or script.upgrade_ops.is_empty():
        return None
    now = datetime.now(UTC)
    revision = uuid.uuid4().hex[:12]
    head = ScriptDirectory(str(migrations_dir)).get_current_head()
    slug = re.sub(r"[^a-z0-9]+", "_", message.lower()).strip("_")[:40]
    path = migrations_dir / "versions" / f"{now:%Y_%m_%d_%H%M}_{slug}.py"
    render_as_batch = connection.dialect.name == "sqlite"
    upgrade_code = render_python_code(script.upgrade_ops, render_as_batch=render_as_batch)
    assert script.downgrade_ops is not None
    downgrade_code = render_python_code(script.downgrade_ops, render_as_batch=render_as_batch)
    path.write_text(
        _REVISION_TEMPLATE.format(
            message=message,
            revision=revision,
            down_revision=head,
            created=now.isoformat(timespec="seconds"),
            upgrade=_indent(upgrade_code),
            downgrade=_indent(downgrade_code),
        )
    )
    return path


async def make_revision(
    database: Database, migrations_dir: Path, metadata: MetaData, message: str
) -> Path | None:
    """Write a new revision for what ``metadata`` has and the migrated schema lacks.

    The database is first brought to the newest revision; the comparison is
    alembic's autogenerate. Returns None when nothing changed.
    """
    (migrations_dir / "versions").mkdir(parents=True, exist_ok=True)
    await upgrade(database, migrations_dir)
    async with database.engine.connect() as connection:
        return await connection.run_sync(_render_revision, migrations_dir, metadata, message)
