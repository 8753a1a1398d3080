"""The checks that span several fields of a spec: names, references, limits, cycles, stories.

Each check yields :class:`SpecProblem` in document order; the rule language's own checks are
in :mod:`devgen.services.codegen.spec.rule_checks`.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
import uuid
from collections.abc import Iterator
from typing import Any

from devgen.services.codegen.spec.models import (
    LENGTH_TYPES,
    NUMERIC_TYPES,
    EntitySpec,
    FieldSpec,
    FieldType,
    OnDelete,
    Operation,
    ServiceSpec,
)
from devgen.services.codegen.spec.naming import (
    EMAIL_PATTERN,
    ENUM_VALUE,
    GENERATED_CLASS_SUFFIXES,
    ID_TOKEN,
    IDENTIFIER,
    URL_PATTERN,
    check_name,
    class_name,
)
from devgen.services.codegen.spec.problems import SpecProblem, duplicates
from devgen.services.codegen.spec.rule_checks import (
    auth_problems,
    entity_rule_problems,
    field_extra_problems,
    relation_extra_problems,
)


def rule_problems(spec: ServiceSpec) -> Iterator[SpecProblem]:
    """Every rule that spans more than one field; yields problems in document order."""
    entities_by_name: dict[str, EntitySpec] = {}
    plurals: dict[str, int] = {}
    class_names: dict[str, int] = {}
    for index, entity in enumerate(spec.entities):
        if entity is None:
            continue
        base = f"entities[{index}]"
        yield from check_name(entity.name, f"{base}.name", kind="entity")
        if entity.name in entities_by_name:
            yield SpecProblem(f"{base}.name", f"duplicate entity name {entity.name!r}")
            continue
        entities_by_name[entity.name] = entity
        if entity.plural is not None:
            if not IDENTIFIER.match(entity.plural):
                yield SpecProblem(f"{base}.plural", "must be snake_case")
            elif entity.plural in plurals:
                other = plurals[entity.plural]
                yield SpecProblem(
                    f"{base}.plural",
                    f"plural {entity.plural!r} is already used by entities[{other}]",
                )
            plurals.setdefault(entity.plural, index)
        for suffix in GENERATED_CLASS_SUFFIXES:
            generated = class_name(entity.name) + suffix
            if generated in class_names and class_names[generated] != index:
                other = class_names[generated]
                yield SpecProblem(
                    f"{base}.name", f"generated class {generated!r} clashes with entities[{other}]"
                )
            class_names.setdefault(generated, index)

    rule_ids: dict[str, str] = {}
    for index, entity in enumerate(spec.entities):
        if entity is None:
            continue
        base = f"entities[{index}]"
        yield from _entity_problems(entity, base, entities_by_name)
        yield from entity_rule_problems(spec, entity, base, entities_by_name, rule_ids)
    yield from auth_problems(spec)
    yield from _cycle_problems(spec)
    yield from _story_problems(spec, entities_by_name)


def _entity_problems(
    entity: EntitySpec, base: str, entities: dict[str, EntitySpec]
) -> Iterator[SpecProblem]:
    columns: dict[str, str] = {}
    for index, field in enumerate(entity.fields):
        if field is None:
            continue
        path = f"{base}.fields[{index}]"
        yield from check_name(field.name, f"{path}.name", kind="field")
        if field.name in columns:
            yield SpecProblem(f"{path}.name", f"duplicate field name {field.name!r}")
        columns.setdefault(field.name, f"{path}.name")
        yield from _field_problems(field, path)
        yield from field_extra_problems(entity, field, path)

    for index, relation in enumerate(entity.relations):
        if relation is None:
            continue
        path = f"{base}.relations[{index}]"
        yield from check_name(relation.name, f"{path}.name", kind="relation")
        own_columns = (
            (relation.name,)
            if relation.kind == "many_to_many"
            else (relation.name, relation.column)
        )
        for column in own_columns:
            if column in columns:
                yield SpecProblem(
                    f"{path}.name", f"{column!r} clashes with the column of {columns[column]}"
                )
        columns.setdefault(relation.name, f"{path}.name")
        if relation.kind == "many_to_one":
            columns.setdefault(relation.column, f"{path}.name")
        if relation.target not in entities:
            yield SpecProblem(
                f"{path}.target", f"unknown entity {relation.target!r}; known: {sorted(entities)}"
            )
        if relation.on_delete is OnDelete.SET_NULL and relation.required:
            yield SpecProblem(
                f"{path}.on_delete", "set_null needs an optional relation (required: false)"
            )
        yield from relation_extra_problems(entity, relation, path)
        if relation.target == entity.name and relation.required and relation.kind == "many_to_one":
            yield SpecProblem(f"{path}.required", "a relation to the same entity must be optional")

    if not entity.operations:
        yield SpecProblem(f"{base}.operations", "at least one operation is needed")
    yield from duplicates(entity.operations, f"{base}.operations")

    filterable = {f.name for f in entity.fields if f} | {r.name for r in entity.relations if r}
    for index, name in enumerate(entity.filters):
        if name not in filterable:
            yield SpecProblem(
                f"{base}.filters[{index}]", f"no field or relation {name!r} on {entity.name}"
            )
    yield from duplicates(entity.filters, f"{base}.filters")
    sortable = {f.name for f in entity.fields if f}
    for index, name in enumerate(entity.sorting):
        if name not in sortable:
            yield SpecProblem(f"{base}.sorting[{index}]", f"no field {name!r} on {entity.name}")
    yield from duplicates(entity.sorting, f"{base}.sorting")
    if (entity.filters or entity.sorting) and Operation.LIST not in entity.operations:
        yield SpecProblem(f"{base}.operations", "filters and sorting need the list operation")


def _field_problems(field: FieldSpec, path: str) -> Iterator[SpecProblem]:
    kind = field.type
    if field.min_length is not None and kind not in {FieldType.STRING, FieldType.TEXT}:
        yield SpecProblem(f"{path}.min_length", "min_length applies to string and text only")
    if field.max_length is not None and kind not in LENGTH_TYPES:
        yield SpecProblem(
            f"{path}.max_length", "max_length applies to string, text, email and url only"
        )
    if (
        field.min_length is not None
        and field.max_length is not None
        and field.min_length > field.max_length
    ):
        yield SpecProblem(f"{path}.min_length", "min_length is greater than max_length")
    for bound in ("min_value", "max_value"):
        value = getattr(field, bound)
        if value is None:
            continue
        if kind not in NUMERIC_TYPES:
            yield SpecProblem(f"{path}.{bound}", f"{bound} applies to integer and decimal only")
        elif kind is FieldType.INTEGER and not isinstance(value, int):
            yield SpecProblem(f"{path}.{bound}", "an integer bound must be a whole number")
    if (
        field.min_value is not None
        and field.max_value is not None
        and field.min_value >= field.max_value
    ):
        yield SpecProblem(f"{path}.max_value", "max_value must be greater than min_value")
    if kind is not FieldType.DECIMAL:
        for name in ("max_digits", "decimal_places"):
            if getattr(field, name) is not None:
                yield SpecProblem(f"{path}.{name}", f"{name} applies to decimal only")
    elif (field.decimal_places or 0) >= (field.max_digits or 0):
        yield SpecProblem(f"{path}.decimal_places", "decimal_places must be less than max_digits")

    if kind is FieldType.ENUM:
        if len(field.values) < 2:
            yield SpecProblem(f"{path}.values", "an enum needs at least two values")
        for index, value in enumerate(field.values):
            if not ENUM_VALUE.match(value) or len(value) > 50:
                yield SpecProblem(
                    f"{path}.values[{index}]",
                    f"enum value {value!r} must be lowercase letters and digits joined by "
                    "'_' or '-', at most 50 characters",
                )
        yield from duplicates(field.values, f"{path}.values")
    elif field.values:
        yield SpecProblem(f"{path}.values", "values apply to enum fields only")

    if kind in {FieldType.EMAIL, FieldType.URL} and (field.max_length or 0) < 30:
        yield SpecProblem(f"{path}.max_length", f"an {kind.value} field needs at least 30")
    if kind is FieldType.DECIMAL and field.max_digits and field.decimal_places is not None:
        # A bound the column cannot store makes the field unusable.
        limit = 10 ** (field.max_digits - field.decimal_places)
        for bound in ("min_value", "max_value"):
            value = getattr(field, bound)
            if value is not None and abs(value) >= limit:
                yield SpecProblem(
                    f"{path}.{bound}", f"{bound} does not fit in {field.max_digits} digits"
                )
    if field.unique and kind is FieldType.BOOLEAN:
        yield SpecProblem(f"{path}.unique", "a boolean field cannot be unique")
    if field.default is not None:
        error = default_error(field)
        if error:
            yield SpecProblem(f"{path}.default", error)


def default_error(field: FieldSpec) -> str | None:
    """Why ``field.default`` does not fit the field's type and limits, or None if it does."""
    value = field.default
    kind = field.type
    if kind is FieldType.BOOLEAN:
        return None if isinstance(value, bool) else "default must be true or false"
    if kind in NUMERIC_TYPES:
        return _numeric_default_error(field)
    if not isinstance(value, str):
        return f"default must be a string for a {kind.value} field"
    if field.max_length is not None and len(value) > field.max_length:
        return f"default is longer than max_length ({field.max_length})"
    if field.min_length is not None and len(value) < field.min_length:
        return f"default is shorter than min_length ({field.min_length})"
    parsers: dict[FieldType, Any] = {
        FieldType.DATE: dt.date.fromisoformat,
        FieldType.DATETIME: dt.datetime.fromisoformat,
        FieldType.UUID: uuid.UUID,
    }
    if kind in parsers:
        try:
            parsers[kind](value)
        except ValueError:
            return f"default {value!r} is not a valid {kind.value}"
    if kind is FieldType.EMAIL and not re.match(EMAIL_PATTERN, value):
        return f"default {value!r} is not an email address"
    if kind is FieldType.URL and not re.match(URL_PATTERN, value):
        return f"default {value!r} is not an http(s) URL"
    if kind is FieldType.ENUM and value not in field.values:
        return f"default {value!r} is not one of {field.values}"
    return None


def _numeric_default_error(field: FieldSpec) -> str | None:
    value = field.default
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"default must be a number for a {field.type.value} field"
    if field.type is FieldType.INTEGER and not isinstance(value, int):
        return "default must be a whole number for an integer field"
    if field.min_value is not None and value < field.min_value:
        return f"default is below min_value ({field.min_value})"
    if field.max_value is not None and value > field.max_value:
        return f"default is above max_value ({field.max_value})"
    if field.type is FieldType.DECIMAL:
        exponent = decimal.Decimal(str(value)).as_tuple().exponent
        if isinstance(exponent, int) and -exponent > (field.decimal_places or 0):
            return f"default has more than {field.decimal_places} decimal places"
    return None


def _cycle_problems(spec: ServiceSpec) -> Iterator[SpecProblem]:
    # A cycle of required relations means no row of any entity in it can ever be created.
    graph = {
        e.name: sorted(
            {
                r.target
                for r in e.relations
                if r and r.required and r.kind == "many_to_one" and r.target != e.name
            }
        )
        for e in spec.entities
        if e
    }
    index = {e.name: i for i, e in enumerate(spec.entities) if e}
    state: dict[str, int] = {}
    reported: set[frozenset[str]] = set()

    def visit(node: str, trail: list[str]) -> Iterator[list[str]]:
        state[node] = 1
        for target in graph.get(node, []):
            if state.get(target) == 1:
                yield [*trail[trail.index(target) :], target]
            elif target in graph and target not in state:
                yield from visit(target, [*trail, target])
        state[node] = 2

    for name in graph:
        if name not in state:
            for cycle in visit(name, [name]):
                key = frozenset(cycle)
                if key not in reported:
                    reported.add(key)
                    yield SpecProblem(
                        f"entities[{index[cycle[0]]}].relations",
                        "required relations form a cycle ("
                        + " -> ".join(cycle)
                        + "); make one of them optional",
                    )


def _story_problems(spec: ServiceSpec, entities: dict[str, EntitySpec]) -> Iterator[SpecProblem]:
    ids: set[str] = set()
    for index, story in enumerate(spec.user_stories):
        if story is None:
            continue
        path = f"user_stories[{index}]"
        if not ID_TOKEN.match(story.id):
            yield SpecProblem(f"{path}.id", "an id is letters, digits, '.', '_' or '-'")
        if story.id in ids:
            yield SpecProblem(f"{path}.id", f"duplicate id {story.id!r}")
        ids.add(story.id)
        if story.entity is not None and story.entity not in entities:
            yield SpecProblem(f"{path}.entity", f"unknown entity {story.entity!r}")
        for number, criterion in enumerate(story.acceptance_criteria):
            where = f"{path}.acceptance_criteria[{number}]"
            if not ID_TOKEN.match(criterion.id):
                yield SpecProblem(f"{where}.id", "an id is letters, digits, '.', '_' or '-'")
            if criterion.id in ids:
                yield SpecProblem(f"{where}.id", f"duplicate id {criterion.id!r}")
            ids.add(criterion.id)
