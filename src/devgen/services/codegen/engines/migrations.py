"""The initial Alembic revision of a generated project: its tables as ``op.create_table``.

The revision is written from the same column fragments as ``app/models.py`` (one source,
so the two cannot drift apart unnoticed; the generated ``tests/test_migrations.py``
compares the migrated schema with the models anyway). Tables come in dependency order:
PostgreSQL checks a foreign key's target when the table is created.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from devgen.services.codegen.engines.context import ProjectCode

REVISION = "0001"
_MODULES = {"dt": "import datetime as dt", "decimal": "import decimal", "uuid": "import uuid"}


@dataclass(frozen=True, slots=True)
class TableCode:
    """One ``op.create_table`` call: the table's name, its columns and constraints (source)."""

    name: str
    items: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RevisionCode:
    """The initial revision: its imports and its tables, referenced ones first."""

    imports: tuple[str, ...]
    tables: tuple[TableCode, ...]


def _column(name: str, args: str, *, nullable: bool) -> str:
    if "nullable=" not in args:
        args = f"{args}, nullable={nullable}"
    return f'sa.Column("{name}", {args})'


def _foreign_key(name: str, target: str, on_delete: str, *, nullable: bool) -> str:
    return _column(
        name,
        f'sa.Integer(), sa.ForeignKey("{target}.id", ondelete="{on_delete}"), index=True',
        nullable=nullable,
    )


_ID = 'sa.Column("id", sa.Integer(), primary_key=True, nullable=False)'


def _entity_tables(project: ProjectCode) -> list[TableCode]:
    tables: dict[str, TableCode] = {}
    targets: dict[str, set[str]] = {}
    for e in project.entities:
        items = [_ID]
        items += [_column(f.name, f.column_args, nullable=not f.required) for f in e.fields]
        items += [
            _column(c["name"], c["column_args"], nullable="| None" in c["mapped"])
            for c in e.computed_columns
        ]
        if e.access is not None and e.access.owned:
            items.append(_foreign_key("owner_id", "auth_accounts", "CASCADE", nullable=False))
        for r in e.relations:
            items.append(
                _foreign_key(r.column, r.target_table, r.on_delete_sql, nullable=not r.required)
            )
        items += [f"sa.CheckConstraint({sql!r}, name={name!r})" for sql, name in e.checks]
        items += [
            f"sa.UniqueConstraint({', '.join(map(repr, columns))}, name={name!r})"
            for columns, name in e.uniques
        ]
        tables[e.plural] = TableCode(e.plural, tuple(items))
        targets[e.plural] = {r.target_table for r in e.relations} - {e.plural}
    ordered: list[TableCode] = []
    while targets:
        ready = [t for t, needs in targets.items() if not needs & targets.keys()]
        # A cycle of references cannot be ordered; create the rest as they come.
        for name in ready or list(targets):
            ordered.append(tables[name])
            del targets[name]
    return ordered


def initial_revision(project: ProjectCode) -> RevisionCode:
    """The tables of ``project`` as the initial revision creates them."""
    tables: list[TableCode] = []
    if project.accounts is not None:
        tables.append(
            TableCode(
                "auth_accounts",
                (
                    _ID,
                    'sa.Column("email", sa.String(320), unique=True, nullable=False)',
                    'sa.Column("password_hash", sa.String(255), nullable=False)',
                    'sa.Column("role", sa.String(64), nullable=False)',
                ),
            )
        )
    tables += _entity_tables(project)
    for link in project.links:
        tables.append(
            TableCode(
                link.table,
                (
                    _ID,
                    _foreign_key(link.source_column, link.source_plural, "CASCADE", nullable=False),
                    _foreign_key(link.target_column, link.target_plural, "CASCADE", nullable=False),
                    f'sa.UniqueConstraint("{link.source_column}", "{link.target_column}")',
                ),
            )
        )
    source = "\n".join(item for table in tables for item in table.items)
    imports = tuple(
        line for module, line in _MODULES.items() if re.search(rf"\b{module}\.", source)
    )
    return RevisionCode(imports=imports, tables=tuple(tables))


__all__ = ["REVISION", "RevisionCode", "TableCode", "initial_revision"]
