"""What the English reader builds before it becomes a spec: entities, fields, relations, rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from devgen.services.codegen.analyst.fields import FieldItem
from devgen.services.codegen.spec import Operation


@dataclass
class DraftRelation:
    """A relation as read: many_to_one (``name_id`` column) or many_to_many (a link table)."""

    name: str
    target: str
    required: bool = True
    on_delete: str = "restrict"
    kind: str = "many_to_one"


@dataclass
class DraftEntity:
    """An entity as read so far; rules are spec dicts (see ``spec.models``)."""

    name: str
    fields: list[FieldItem] = field(default_factory=list)
    relations: list[DraftRelation] = field(default_factory=list)
    operations: list[str] = field(default_factory=lambda: [op.value for op in Operation])
    filters: list[str] = field(default_factory=list)
    sorting: list[str] = field(default_factory=list)
    rules: list[dict[str, Any]] = field(default_factory=list)
    owned: bool = False

    def add_field(self, item: FieldItem) -> None:
        existing = self.field(item.name)
        if existing is None:
            self.fields.append(item)
        else:
            existing.unique = existing.unique or item.unique
            existing.required = existing.required and item.required

    def add_relation(self, name: str, target: str, *, required: bool) -> None:
        if not any(r.name == name for r in self.relations):
            self.relations.append(DraftRelation(name, target, required))

    def field(self, name: str) -> FieldItem | None:
        return next((f for f in self.fields if f.name == name), None)

    def relation_to(self, target: str) -> DraftRelation | None:
        return next(
            (r for r in self.relations if r.target == target and r.kind == "many_to_one"), None
        )

    def add_rule(self, kind: str, source: str, **attributes: Any) -> dict[str, Any]:
        number = sum(1 for r in self.rules if r["kind"] == kind) + 1
        rule = {"kind": kind, "id": f"{self.name}.{kind}.{number}", "source": source}
        rule.update(attributes)
        self.rules.append(rule)
        return rule
