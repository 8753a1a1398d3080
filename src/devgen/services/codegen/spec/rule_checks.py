"""The checks of the rule language: each rule names real fields of fitting types.

Every problem carries the path of the value that is wrong, e.g. ``entities[2].rules[0].right``
for a comparison whose right side is not a date like its left side.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from devgen.services.codegen.spec.models import (
    NUMERIC_TYPES,
    TEMPORAL_TYPES,
    TEXT_TYPES,
    CompareRule,
    ComputedRule,
    Condition,
    CountLimitRule,
    EntitySpec,
    FieldSpec,
    FieldType,
    ManagedCode,
    ManagedCounter,
    ManagedCreatedAt,
    ManagedSequence,
    ManagedUpdatedAt,
    NoOverlapRule,
    OnDelete,
    RangeRule,
    RelationSpec,
    RoleRequiredRule,
    SearchRule,
    ServiceSpec,
    StateMachineRule,
    UniqueTogetherRule,
)
from devgen.services.codegen.spec.naming import ID_TOKEN, IDENTIFIER, check_name
from devgen.services.codegen.spec.problems import SpecProblem, duplicates

_MANAGED_TYPES: dict[type[Any], FieldType] = {
    ManagedCreatedAt: FieldType.DATETIME,
    ManagedUpdatedAt: FieldType.DATETIME,
    ManagedCode: FieldType.STRING,
    ManagedSequence: FieldType.INTEGER,
    ManagedCounter: FieldType.INTEGER,
}
_RANGE_TYPES = NUMERIC_TYPES | TEMPORAL_TYPES


def _family(kind: FieldType) -> str:
    """Which values compare with which: numbers with numbers, dates with datetimes."""
    if kind in NUMERIC_TYPES:
        return "number"
    if kind in TEMPORAL_TYPES:
        return "date"
    return kind.value


def field_extra_problems(entity: EntitySpec, field: FieldSpec, path: str) -> Iterator[SpecProblem]:
    """Units, patterns and server-managed fields."""
    if field.unit is not None and not field.unit.strip():
        yield SpecProblem(f"{path}.unit", "a unit must not be empty")
    if field.pattern is not None:
        if field.type not in {FieldType.STRING, FieldType.TEXT}:
            yield SpecProblem(f"{path}.pattern", "pattern applies to string and text only")
        try:
            re.compile(field.pattern)
        except re.error as exc:
            yield SpecProblem(f"{path}.pattern", f"not a valid regular expression: {exc}")
    managed = field.managed
    if managed is None:
        return
    expected = _MANAGED_TYPES[type(managed)]
    if field.type is not expected:
        yield SpecProblem(
            f"{path}.managed.kind",
            f"a {managed.kind} field must be of type {expected.value}, not {field.type.value}",
        )
    if field.default is not None:
        yield SpecProblem(f"{path}.default", "a server-managed field takes no default")
    if isinstance(managed, ManagedCode):
        if len(set(managed.alphabet)) != len(managed.alphabet):
            yield SpecProblem(f"{path}.managed.alphabet", "the alphabet repeats a character")
        if field.max_length is not None and field.max_length < managed.length:
            yield SpecProblem(
                f"{path}.managed.length", f"longer than the field's max_length ({field.max_length})"
            )
    if isinstance(managed, ManagedSequence) and managed.per is not None:
        relation = entity.relation(managed.per)
        if relation is None or relation.kind != "many_to_one":
            yield SpecProblem(
                f"{path}.managed.per",
                f"no many_to_one relation {managed.per!r} on {entity.name}; "
                f"known: {_many_to_one_names(entity)}",
            )


def relation_extra_problems(
    entity: EntitySpec, relation: RelationSpec, path: str
) -> Iterator[SpecProblem]:
    """A many-to-many's links go with either side."""
    if relation.kind == "many_to_many" and relation.on_delete is not OnDelete.CASCADE:
        yield SpecProblem(
            f"{path}.on_delete",
            "a many_to_many relation's links are deleted with either side: "
            "on_delete must be cascade",
        )


def auth_problems(spec: ServiceSpec) -> Iterator[SpecProblem]:
    """Roles belong to accounts mode and are snake_case names."""
    auth = spec.auth
    if auth.roles and auth.mode != "accounts":
        yield SpecProblem("auth.roles", "roles need auth mode 'accounts'")
    for index, role in enumerate(auth.roles):
        if not IDENTIFIER.match(role):
            yield SpecProblem(f"auth.roles[{index}]", f"role {role!r} must be snake_case")
    yield from duplicates(auth.roles, "auth.roles")
    if auth.default_role is not None and auth.default_role not in auth.roles:
        yield SpecProblem("auth.default_role", f"{auth.default_role!r} is not one of {auth.roles}")


def entity_rule_problems(
    spec: ServiceSpec,
    entity: EntitySpec,
    base: str,
    entities: dict[str, EntitySpec],
    rule_ids: dict[str, str],
) -> Iterator[SpecProblem]:
    """Ownership and every rule of one entity."""
    if entity.owned and spec.auth.mode != "accounts":
        yield SpecProblem(f"{base}.owned", "owned records need auth mode 'accounts'")
    computed_names: set[str] = set()
    machine_fields: set[str] = set()
    for index, rule in enumerate(entity.rules or []):
        if rule is None:
            continue
        path = f"{base}.rules[{index}]"
        if not ID_TOKEN.match(rule.id):
            yield SpecProblem(f"{path}.id", "an id is letters, digits, '.', '_' or '-'")
        elif rule.id in rule_ids:
            yield SpecProblem(
                f"{path}.id", f"duplicate rule id {rule.id!r} (see {rule_ids[rule.id]})"
            )
        rule_ids.setdefault(rule.id, path)
        checker = _CHECKERS[type(rule)]
        yield from checker(_Context(spec, entity, entities, path), rule)
        if isinstance(rule, ComputedRule):
            if rule.field in computed_names:
                yield SpecProblem(f"{path}.field", f"{rule.field!r} is computed twice")
            computed_names.add(rule.field)
        if isinstance(rule, StateMachineRule):
            if rule.field in machine_fields:
                yield SpecProblem(f"{path}.field", f"{rule.field!r} already has a state machine")
            machine_fields.add(rule.field)


class _Context:
    """What a rule check needs to know: the spec, the entity and where the rule is."""

    def __init__(
        self, spec: ServiceSpec, entity: EntitySpec, entities: dict[str, EntitySpec], path: str
    ) -> None:
        self.spec = spec
        self.entity = entity
        self.entities = entities
        self.path = path

    def unknown_field(
        self, name: str, where: str, *, entity: EntitySpec | None = None
    ) -> SpecProblem:
        owner = entity or self.entity
        known = sorted(f.name for f in owner.fields if f)
        return SpecProblem(
            f"{self.path}.{where}", f"no field {name!r} on {owner.name}; known: {known}"
        )

    def field_or_relation(self, name: str, where: str) -> Iterator[SpecProblem]:
        """A field or many_to_one relation of the entity (what a key or a scope may name)."""
        if self.entity.field(name) is None and name not in _many_to_one_names(self.entity):
            known = sorted(
                [f.name for f in self.entity.fields if f] + _many_to_one_names(self.entity)
            )
            yield SpecProblem(
                f"{self.path}.{where}",
                f"no field or many_to_one relation {name!r} on {self.entity.name}; known: {known}",
            )


def _many_to_one_names(entity: EntitySpec) -> list[str]:
    return [r.name for r in entity.relations if r and r.kind == "many_to_one"]


def _check_condition(
    ctx: _Context, condition: Condition | None, where: str
) -> Iterator[SpecProblem]:
    if condition is None:
        return
    path = f"{ctx.path}.{where}"
    field = ctx.entity.field(condition.field)
    if field is None and condition.field not in _many_to_one_names(ctx.entity):
        yield ctx.unknown_field(condition.field, f"{where}.field")
        return
    value = condition.value
    if condition.op in {"is_null", "not_null"}:
        if value is not None:
            yield SpecProblem(f"{path}.value", f"{condition.op} takes no value")
        elif field is not None and field.required and field.managed is None:
            yield SpecProblem(
                f"{path}.field", f"{condition.field!r} is required, so it is never null"
            )
        return
    if condition.op == "in":
        if not isinstance(value, list) or not value:
            yield SpecProblem(f"{path}.value", "'in' needs a non-empty list of values")
            return
        values = value
    else:
        if value is None or isinstance(value, list):
            yield SpecProblem(f"{path}.value", f"{condition.op} needs one value")
            return
        values = [value]
    if field is not None and field.type is FieldType.ENUM:
        for item in values:
            if item not in field.values:
                yield SpecProblem(f"{path}.value", f"{item!r} is not one of {field.values}")


def _check_unique_together(ctx: _Context, rule: UniqueTogetherRule) -> Iterator[SpecProblem]:
    if len(rule.fields) < 2:
        yield SpecProblem(
            f"{ctx.path}.fields", "needs at least two fields (for one, set unique on the field)"
        )
    for index, name in enumerate(rule.fields):
        yield from ctx.field_or_relation(name, f"fields[{index}]")
    yield from duplicates(rule.fields, f"{ctx.path}.fields")
    yield from _check_condition(ctx, rule.where, "where")


def _check_compare(ctx: _Context, rule: CompareRule) -> Iterator[SpecProblem]:
    left = ctx.entity.field(rule.left)
    right = ctx.entity.field(rule.right)
    if left is None:
        yield ctx.unknown_field(rule.left, "left")
    elif _family(left.type) not in {"number", "date"}:
        yield SpecProblem(
            f"{ctx.path}.left", f"{rule.left!r} is a {left.type.value}; compare numbers or dates"
        )
    if right is None:
        yield ctx.unknown_field(rule.right, "right")
    elif left is not None and _family(left.type) != _family(right.type):
        yield SpecProblem(
            f"{ctx.path}.right",
            f"cannot compare {rule.left!r} ({left.type.value}) with {rule.right!r} "
            f"({right.type.value})",
        )
    if rule.left == rule.right:
        yield SpecProblem(f"{ctx.path}.right", "a field compared with itself")


def _check_no_overlap(ctx: _Context, rule: NoOverlapRule) -> Iterator[SpecProblem]:
    start = ctx.entity.field(rule.start)
    end = ctx.entity.field(rule.end)
    for name, field, where in ((rule.start, start, "start"), (rule.end, end, "end")):
        if field is None:
            yield ctx.unknown_field(name, where)
        elif field.type not in _RANGE_TYPES:
            yield SpecProblem(
                f"{ctx.path}.{where}",
                f"{name!r} is a {field.type.value}; an interval needs numbers or dates",
            )
    if (
        start is not None
        and end is not None
        and {start.type, end.type} <= _RANGE_TYPES
        and _family(start.type) != _family(end.type)
    ):
        yield SpecProblem(
            f"{ctx.path}.end",
            f"{rule.end!r} ({end.type.value}) does not fit {rule.start!r} ({start.type.value})",
        )
    if rule.start == rule.end:
        yield SpecProblem(f"{ctx.path}.end", "start and end must be two different fields")
    for index, name in enumerate(rule.scope):
        yield from ctx.field_or_relation(name, f"scope[{index}]")
    yield from duplicates(rule.scope, f"{ctx.path}.scope")
    yield from _check_condition(ctx, rule.where, "where")


def _check_count_limit(ctx: _Context, rule: CountLimitRule) -> Iterator[SpecProblem]:
    relation = ctx.entity.relation(rule.relation)
    if relation is None or relation.kind != "many_to_one":
        yield SpecProblem(
            f"{ctx.path}.relation",
            f"no many_to_one relation {rule.relation!r} on {ctx.entity.name}; "
            f"known: {_many_to_one_names(ctx.entity)}",
        )
    if (rule.max_count is None) == (rule.max_field is None):
        yield SpecProblem(f"{ctx.path}.max_count", "give exactly one of max_count and max_field")
    if rule.max_field is not None and relation is not None:
        parent = ctx.entities.get(relation.target)
        if parent is not None:
            field = parent.field(rule.max_field)
            if field is None:
                yield ctx.unknown_field(rule.max_field, "max_field", entity=parent)
            elif field.type is not FieldType.INTEGER:
                yield SpecProblem(
                    f"{ctx.path}.max_field",
                    f"{parent.name}.{rule.max_field} is a {field.type.value}; "
                    "a limit is an integer",
                )
    yield from _check_condition(ctx, rule.where, "where")


def _check_state_machine(ctx: _Context, rule: StateMachineRule) -> Iterator[SpecProblem]:
    field = ctx.entity.field(rule.field)
    if field is None:
        yield ctx.unknown_field(rule.field, "field")
        return
    if field.type is not FieldType.ENUM:
        yield SpecProblem(
            f"{ctx.path}.field", f"{rule.field!r} is a {field.type.value}, not an enum"
        )
        return
    states = field.values

    def check(state: str, where: str) -> Iterator[SpecProblem]:
        if state not in states:
            yield SpecProblem(f"{ctx.path}.{where}", f"state {state!r} is not one of {states}")

    yield from check(rule.initial, "initial")
    if rule.initial in states and field.default not in {None, rule.initial}:
        yield SpecProblem(
            f"{ctx.path}.initial", f"the field's default {field.default!r} is not the initial state"
        )
    for index, transition in enumerate(rule.transitions):
        yield from check(transition.from_, f"transitions[{index}].from")
        for number, target in enumerate(transition.to):
            yield from check(target, f"transitions[{index}].to[{number}]")
            if target == transition.from_:
                yield SpecProblem(
                    f"{ctx.path}.transitions[{index}].to[{number}]", "a state moving to itself"
                )
        if transition.from_ in rule.terminal:
            yield SpecProblem(
                f"{ctx.path}.transitions[{index}].from",
                f"{transition.from_!r} is terminal: no transition leaves it",
            )
    yield from duplicates([t.from_ for t in rule.transitions], f"{ctx.path}.transitions")
    for group in ("terminal", "frozen", "undeletable"):
        values = getattr(rule, group)
        for index, state in enumerate(values):
            yield from check(state, f"{group}[{index}]")
        yield from duplicates(values, f"{ctx.path}.{group}")
    if not rule.transitions and not rule.terminal:
        yield SpecProblem(f"{ctx.path}.transitions", "a state machine needs transitions")


def _check_computed(ctx: _Context, rule: ComputedRule) -> Iterator[SpecProblem]:
    yield from check_name(rule.field, f"{ctx.path}.field", kind="field")
    entity = ctx.entity
    taken = {f.name for f in entity.fields if f} | {r.name for r in entity.relations if r}
    taken |= {f"{r.name}_id" for r in entity.relations if r and r.kind == "many_to_one"}
    if rule.field in taken:
        yield SpecProblem(f"{ctx.path}.field", f"{rule.field!r} is already a field or relation")
    source = entity
    if rule.child is not None:
        child = ctx.entities.get(rule.child)
        if child is None:
            yield SpecProblem(
                f"{ctx.path}.child", f"unknown entity {rule.child!r}; known: {sorted(ctx.entities)}"
            )
            return
        back = [
            r for r in child.relations if r and r.kind == "many_to_one" and r.target == entity.name
        ]
        if rule.via is None:
            if len(back) != 1:
                yield SpecProblem(
                    f"{ctx.path}.via",
                    f"name the relation of {child.name} to {entity.name}: "
                    f"one of {[r.name for r in back]}",
                )
        elif rule.via not in {r.name for r in back}:
            yield SpecProblem(
                f"{ctx.path}.via",
                f"{child.name} has no many_to_one relation {rule.via!r} to {entity.name}",
            )
        source = child
    elif rule.via is not None:
        yield SpecProblem(f"{ctx.path}.via", "via needs child")
    if rule.op == "count":
        if rule.child is None:
            yield SpecProblem(f"{ctx.path}.child", "a count is over children: name the child")
        if rule.terms:
            yield SpecProblem(f"{ctx.path}.terms", "a count takes no terms")
        if rule.type != "integer":
            yield SpecProblem(f"{ctx.path}.type", "a count is an integer")
        return
    if not rule.terms:
        yield SpecProblem(f"{ctx.path}.terms", f"a {rule.op} needs at least one term")
    decimal_terms = False
    for index, name in enumerate(rule.terms):
        field = source.field(name)
        if field is None:
            yield ctx.unknown_field(name, f"terms[{index}]", entity=source)
        elif field.type not in NUMERIC_TYPES:
            yield SpecProblem(
                f"{ctx.path}.terms[{index}]",
                f"{source.name}.{name} is a {field.type.value}; terms must be numbers",
            )
        elif field.type is FieldType.DECIMAL:
            decimal_terms = True
    if decimal_terms and rule.type == "integer":
        yield SpecProblem(f"{ctx.path}.type", "decimal terms give a decimal result")


def _check_search(ctx: _Context, rule: SearchRule) -> Iterator[SpecProblem]:
    if not rule.fields:
        yield SpecProblem(f"{ctx.path}.fields", "name at least one field to search")
    for index, name in enumerate(rule.fields):
        field = ctx.entity.field(name)
        if field is None:
            yield ctx.unknown_field(name, f"fields[{index}]")
        elif field.type not in TEXT_TYPES:
            yield SpecProblem(
                f"{ctx.path}.fields[{index}]",
                f"{name!r} is a {field.type.value}; search reads string and text fields",
            )
    yield from duplicates(rule.fields, f"{ctx.path}.fields")


def _check_range(ctx: _Context, rule: RangeRule) -> Iterator[SpecProblem]:
    field = ctx.entity.field(rule.field)
    if field is None:
        yield ctx.unknown_field(rule.field, "field")
    elif field.type not in _RANGE_TYPES:
        yield SpecProblem(
            f"{ctx.path}.field",
            f"{rule.field!r} is a {field.type.value}; a range needs a number, date or datetime",
        )


def _check_role_required(ctx: _Context, rule: RoleRequiredRule) -> Iterator[SpecProblem]:
    auth = ctx.spec.auth
    if auth.mode != "accounts":
        yield SpecProblem(f"{ctx.path}.roles", "role checks need auth mode 'accounts'")
    if not rule.roles:
        yield SpecProblem(f"{ctx.path}.roles", "name at least one role")
    for index, role in enumerate(rule.roles):
        if auth.mode == "accounts" and role not in auth.roles:
            yield SpecProblem(
                f"{ctx.path}.roles[{index}]", f"role {role!r} is not one of auth.roles {auth.roles}"
            )
    if not rule.operations:
        yield SpecProblem(f"{ctx.path}.operations", "name at least one operation")
    for index, operation in enumerate(rule.operations):
        if operation not in ctx.entity.operations:
            yield SpecProblem(
                f"{ctx.path}.operations[{index}]",
                f"{ctx.entity.name} does not offer {operation.value!r}",
            )
    yield from duplicates(rule.operations, f"{ctx.path}.operations")


_CHECKERS: dict[type[Any], Any] = {
    UniqueTogetherRule: _check_unique_together,
    CompareRule: _check_compare,
    NoOverlapRule: _check_no_overlap,
    CountLimitRule: _check_count_limit,
    StateMachineRule: _check_state_machine,
    ComputedRule: _check_computed,
    SearchRule: _check_search,
    RangeRule: _check_range,
    RoleRequiredRule: _check_role_required,
}
