"""``devgen migrate`` and ``devgen makemigration``: each service's schema."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from devgen.cli.output import fail, load_settings, out, run
from devgen.runtime.migrate import make_service_revision, migrate_services, services_with_schema
from devgen.runtime.registry import load_definition


def migrate(
    service: Annotated[
        str | None, typer.Option(help="Only this service (default: every service).")
    ] = None,
) -> None:
    """Bring every service's database to its newest schema (creating PostgreSQL databases)."""
    settings = load_settings()
    if service is not None:
        try:
            load_definition(service)
        except KeyError as exc:
            fail(str(exc.args[0]), code=2)
        if not services_with_schema([service]):
            fail(f"the {service} service has no database", code=2)
    results = run(migrate_services(settings, None if service is None else [service]))
    table = Table("service", "database", "revision", title="Migrated")
    for result in results:
        table.add_row(result.service, result.database, result.revision or "-")
    out.print(table)


def makemigration(
    service: Annotated[str, typer.Argument(help="The service whose models changed.")],
    message: Annotated[str, typer.Option("-m", "--message", help="What the revision does.")],
    database_url: Annotated[
        str | None,
        typer.Option(help="Compare against this database (default: a scratch SQLite file)."),
    ] = None,
) -> None:
    """Write a new migration for what the service's models have and its migrations lack."""
    try:
        definition = load_definition(service)
    except KeyError as exc:
        fail(str(exc.args[0]), code=2)
    if definition.migrations is None:
        fail(f"the {service} service has no database", code=2)
    path = run(make_service_revision(service, message, database_url))
    if path is None:
        out.print(f"No changes: the {service} models match its migrations.")
        return
    out.print(f"Wrote {path}")
