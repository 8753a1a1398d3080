"""Every service's migrations build exactly the schema its models declare.

A model changed without a migration (or a migration that drifted from the
models) shows up here as a difference Alembic's autogenerate would write.
"""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection

from devgen.kit.db import Database
from devgen.runtime.registry import load_definition
from tests import databases

SERVICES = databases.migrated_services()


def _differences(connection: Connection, metadata: MetaData) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, metadata)


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
@pytest.mark.parametrize("service", SERVICES)
async def test_the_migrated_schema_equals_the_models(service: str, database_url: str) -> None:
    definition = load_definition(service)
    assert definition.metadata is not None
    database = Database(database_url.format(service=service))
    try:
        async with database.engine.connect() as connection:
            differences = await connection.run_sync(_differences, definition.metadata)
    finally:
        await database.dispose()
    assert differences == []


def test_each_service_has_its_own_metadata_and_tables() -> None:
    definitions = [load_definition(service) for service in SERVICES]
    metadatas = [definition.metadata for definition in definitions]
    assert len({id(metadata) for metadata in metadatas}) == len(SERVICES)
    tables_of = {
        service: set(metadata.tables) - {"event_outbox", "event_inbox", "event_dead_letters"}
        for service, metadata in zip(SERVICES, metadatas, strict=True)
        if metadata is not None
    }
    for service, tables in tables_of.items():
        for other, other_tables in tables_of.items():
            if other != service:
                assert not tables & other_tables, (service, other, tables & other_tables)


def test_a_service_base_must_be_abstract() -> None:
    from devgen.kit.db import ModelBase

    with pytest.raises(TypeError, match="__abstract__"):

        class Base(ModelBase):  # a concrete Base would try to map itself
            pass
