"""Many-to-many relations of the generated service: a link table and the link as a resource.

A relation ``course.students`` (``kind: many_to_many``) becomes the table
``course_students`` and the routes ``GET /courses/{id}/students``,
``PUT|DELETE /courses/{id}/students/{student_id}`` and, the other way,
``GET /students/{id}/courses``. Both foreign keys cascade, so deleting either side deletes
its links. The other relations (many-to-one) keep their own code in ``context.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

from devgen.services.codegen.engines.accounts import auth_mode, is_owned
from devgen.services.codegen.spec import (
    EntitySpec,
    Operation,
    RelationSpec,
    ServiceSpec,
    class_name,
)

MANY_TO_MANY = "many_to_many"


def is_many_to_many(relation: RelationSpec) -> bool:
    """Whether ``relation`` links many rows to many rows."""
    return str(getattr(relation, "kind", "many_to_one")) == MANY_TO_MANY


def many_to_one(entity: EntitySpec) -> list[RelationSpec]:
    """The entity's many-to-one relations (each a foreign-key column), in spec order."""
    return [r for r in entity.relations if not is_many_to_many(r)]


@dataclass(frozen=True)
class LinkCode:
    """One many-to-many relation with every name its templates use."""

    name: str
    source: str
    source_cls: str
    source_plural: str
    source_words: str
    source_owned: bool
    source_deletable: bool
    target: str
    target_cls: str
    target_plural: str
    target_words: str
    target_owned: bool
    target_deletable: bool
    target_column: str
    accounts: bool = False

    @property
    def cls(self) -> str:
        """The link table's model class, e.g. ``CourseStudentsLink``."""
        return f"{self.source_cls}{class_name(self.name)}Link"

    @property
    def table(self) -> str:
        """The link table, ``<entity>_<relation>``."""
        return f"{self.source}_{self.name}"

    @property
    def source_column(self) -> str:
        """The link table's column naming the entity that declares the relation."""
        return f"{self.source}_id"

    @property
    def module(self) -> str:
        """The router module of the link, ``app/routers/<module>.py``."""
        return f"{self.source}_{self.name}_links"

    @property
    def page(self) -> str:
        """The schema of ``GET /<sources>/{id}/<name>``."""
        return f"{self.source_cls}{class_name(self.name)}Page"

    @property
    def reverse_page(self) -> str:
        """The schema of ``GET /<targets>/{id}/<sources>``."""
        return f"{self.target_cls}{class_name(self.source_plural)}Page"

    @property
    def self_link(self) -> bool:
        """Whether the relation links rows of one entity to each other."""
        return self.source == self.target

    @property
    def any_owned(self) -> bool:
        """Whether either side belongs to accounts (only in accounts mode)."""
        return self.accounts and (self.source_owned or self.target_owned)

    @property
    def test_file(self) -> str:
        """The generated test module of the link."""
        return link_test_file(self.source, self.name)

    @property
    def endpoints(self) -> list[tuple[str, str, str]]:
        """(method, path, summary) rows for the README."""
        base = f"/{self.source_plural}/{{id}}/{self.name}"
        item = f"{base}/{{{self.target_column}}}"
        source, target = _a(self.source_words), _a(self.target_words)
        return [
            ("GET", base, f"the {self.target_words} rows linked to {source}"),
            ("PUT", item, f"link {target} (idempotent)"),
            ("DELETE", item, f"unlink {target}"),
            (
                "GET",
                f"/{self.target_plural}/{{id}}/{self.source_plural}",
                f"the {self.source_words} rows {target} is linked to",
            ),
        ]


def _a(words: str) -> str:
    return f"{'an' if words[:1] in 'aeiou' else 'a'} {words}"


def link_test_file(source: str, name: str) -> str:
    """``tests/test_<entity>_<relation>.py``."""
    return f"tests/test_{source}_{name}.py"


def links(spec: ServiceSpec) -> list[LinkCode]:
    """Every many-to-many relation of the spec, in spec order."""
    found = []
    for entity in spec.entities:
        for relation in entity.relations:
            if not is_many_to_many(relation):
                continue
            target = spec.entity(relation.target)
            if target is None:  # validate_spec refuses such specs
                raise ValueError(f"unknown relation target {relation.target!r}")
            column = f"{target.name}_id"
            if target.name == entity.name:
                column = f"linked_{target.name}_id"
            found.append(
                LinkCode(
                    name=relation.name,
                    source=entity.name,
                    source_cls=class_name(entity.name),
                    source_plural=entity.table,
                    source_words=entity.name.replace("_", " "),
                    source_owned=is_owned(entity),
                    source_deletable=entity.allows(Operation.DELETE),
                    target=target.name,
                    target_cls=class_name(target.name),
                    target_plural=target.table,
                    target_words=target.name.replace("_", " "),
                    target_owned=is_owned(target),
                    target_deletable=target.allows(Operation.DELETE),
                    target_column=column,
                    accounts=auth_mode(spec) == "accounts",
                )
            )
    return found


def link_test_names(link: LinkCode) -> list[tuple[str, str]]:
    """(test name, criterion id) of a link's generated test module."""
    criterion = f"AC-{link.source}-{link.name}-link".replace("_", "-")
    tests = [
        (f"test_link_{link.source}_{link.name}", criterion),
        (f"test_unlink_{link.source}_{link.name}", criterion),
        (f"test_link_{link.source}_{link.name}_refuses_unknown_rows", criterion),
    ]
    if link.any_owned and link.accounts:
        tests.append(
            (f"test_link_{link.source}_{link.name}_of_another_account_is_not_found", criterion)
        )
    if link.source_deletable:
        tests.append((f"test_deleting_a_{link.source}_removes_its_{link.name}_links", criterion))
    if link.target_deletable:
        tests.append(
            (f"test_deleting_a_{link.target}_removes_its_{link.source_plural}_links", criterion)
        )
    return tests


__all__ = [
    "MANY_TO_MANY",
    "LinkCode",
    "is_many_to_many",
    "link_test_file",
    "link_test_names",
    "links",
    "many_to_one",
]
