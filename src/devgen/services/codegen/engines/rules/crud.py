"""Rule kinds checked on plain CRUD writes and lists, and server-managed fields.

``unique_together``, ``compare``, ``no_overlap`` and ``count_limit`` run at the
``before_write`` hook; ``search`` and ``range`` at ``filter_list``; each managed field
(created_at, updated_at, code, sequence, counter) fills its value at ``before_write``. Every
builder precomputes the Python fragments its partial templates paste, so the templates hold
layout only.
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass
from typing import Any

from devgen.services.codegen.engines.pycode import field_code, literal
from devgen.services.codegen.engines.regexsample import examples
from devgen.services.codegen.engines.rules.base import RuleCode, RuleNotBuilt, function_name
from devgen.services.codegen.spec import (
    EntitySpec,
    FieldSpec,
    FieldType,
    Operation,
    ServiceSpec,
    class_name,
)

_OPS = {"lt": "<", "le": "<=", "gt": ">", "ge": ">=", "ne": "!="}
_OP_WORDS = {
    "lt": "before",
    "le": "not after",
    "gt": "after",
    "ge": "not before",
    "ne": "different from",
}
_NUMBER_WORDS = {"lt": "less than", "le": "at most", "gt": "greater than", "ge": "at least"}
_TIME_TYPES = frozenset({FieldType.DATE, FieldType.DATETIME})


@dataclass(frozen=True)
class _Column:
    """A field or many-to-one relation of an entity, by the column that stores it."""

    name: str
    column: str
    field: FieldSpec | None
    target: str | None
    required: bool

    @property
    def words(self) -> str:
        return self.name.replace("_", " ")


def _column(entity: EntitySpec, name: str) -> _Column:
    relation = entity.relation(name)
    if relation is not None:
        return _Column(name, relation.column, None, relation.target, relation.required)
    field = entity.field(name)
    if field is None:  # validate_spec refuses such specs; this keeps the types honest
        raise ValueError(f"no field or relation {name!r} on {entity.name}")
    return _Column(name, name, field, None, field.required and field.managed is None)


def _words(entity: EntitySpec) -> str:
    return entity.name.replace("_", " ")


def _plural_words(entity: EntitySpec) -> str:
    return entity.table.replace("_", " ")


def _low_high(field: FieldSpec) -> tuple[str, str]:
    code = field_code(field, "t", indexed=False)
    return code.low, code.high


@dataclass(frozen=True)
class _Condition:
    """A rule's ``where`` as code: SQL on the model, Python on a dict of column values."""

    sql: str
    python: str
    text: str
    python_not: str
    column: str
    match: str | None
    miss: str | None


def _condition(entity: EntitySpec, condition: Any) -> _Condition | None:
    if condition is None:
        return None
    column = _column(entity, condition.field)
    cls = class_name(entity.name)
    attr = f"{cls}.{column.column}"
    key = f'values.get("{column.column}")'
    op, value = condition.op, condition.value
    low = _low_high(column.field)[0] if column.field else "None"
    options: list[Any] = list(column.field.values) if column.field and column.field.values else []
    if column.field and column.field.type is FieldType.BOOLEAN:
        options = [True, False]
    nullable = "None" if not column.required else None

    def other(than: list[Any]) -> str | None:
        rest = [v for v in options if v not in than]
        return literal(rest[0]) if rest else nullable

    words = column.words
    if op == "is_null":
        return _Condition(
            f"{attr}.is_(None)",
            f"{key} is None",
            f"{words} is empty",
            f"{key} is not None",
            column.column,
            "None",
            low,
        )
    if op == "not_null":
        return _Condition(
            f"{attr}.is_not(None)",
            f"{key} is not None",
            f"{words} is set",
            f"{key} is None",
            column.column,
            low,
            nullable,
        )
    if op == "in":
        values = list(value) if isinstance(value, list) else [value]
        items = ", ".join(literal(v) for v in values)
        return _Condition(
            f"{attr}.in_(({items},))",
            f"{key} in ({items},)",
            f"{words} is one of {', '.join(map(str, values))}",
            f"{key} not in ({items},)",
            column.column,
            literal(values[0]),
            other(values),
        )
    if op == "eq":
        return _Condition(
            f"{attr} == {literal(value)}",
            f"{key} == {literal(value)}",
            f"{words} is {value}",
            f"{key} != {literal(value)}",
            column.column,
            literal(value),
            other([value]),
        )
    # ne: SQL's != is never true for NULL, Python's is; both count NULL as different.
    match = other([value])
    if match is None and column.field and low != literal(value):
        match = low
    return _Condition(
        f"sa.or_({attr} != {literal(value)}, {attr}.is_(None))",
        f"{key} != {literal(value)}",
        f"{words} is not {value}",
        f"{key} == {literal(value)}",
        column.column,
        match,
        literal(value),
    )


def _setup(entity: EntitySpec, columns: list[_Column]) -> list[tuple[str, str]]:
    """Payload overrides so every column of ``columns`` has a value in a test payload."""
    return [
        (c.column, f"factory.make_{c.target}()") for c in columns if c.target and not c.required
    ]


def _base(entity: EntitySpec, rule: Any, kind: str, text: str, **data: Any) -> dict[str, Any]:
    function = function_name(rule.id)
    return {
        "id": rule.id,
        "kind": kind,
        "function": function,
        "template": kind,
        "text": text,
        "source": rule.source,
        "data": {
            "cls": class_name(entity.name),
            "words": _words(entity),
            "plural_words": _plural_words(entity),
            "doc": rule.source or text,
            **data,
        },
    }


def unique_together(spec: ServiceSpec, entity: EntitySpec, rule: Any) -> RuleCode:
    """No two rows (matching ``where``) share the values of ``fields``: 409."""
    columns = [_column(entity, name) for name in rule.fields]
    condition = _condition(entity, rule.where)
    names = " and ".join(c.words for c in columns)
    text = f"Two {_plural_words(entity)} cannot have the same {names}"
    text += f" while {condition.text}" if condition else ""
    base = _base(
        entity,
        rule,
        "unique_together",
        text + " (409).",
        columns=[c.column for c in columns],
        names=names,
        condition=condition,
        setup=_setup(entity, columns),
    )
    function = base["function"]
    tests = [f"test_{function}_refuses_duplicate", f"test_{function}_allows_partial_match"]
    if entity.allows("update"):
        tests.append(f"test_{function}_refuses_duplicate_on_update")
    if condition and condition.miss is not None:
        tests.append(f"test_{function}_ignores_rows_outside_condition")
    return RuleCode(
        **base,
        calls={"before_write": (function,)},
        tests=tuple(tests),
        imports=frozenset({"import sqlalchemy as sa", "from typing import Any"}),
    )


_NEGATED = {"lt": ">=", "le": ">", "gt": "<=", "ge": "<", "ne": "=="}
_TIMES = frozenset({"created_at", "updated_at"})
_Pairs = list[tuple[str, str]]


def _compare_cases(
    left: FieldSpec, op: str, right: FieldSpec
) -> tuple[_Pairs, _Pairs, tuple[str, str], list[tuple[str, str]]] | None:
    """(good values, bad values, one side that breaks the rule, factory fixups).

    None when no test can choose the values (a managed side other than a creation or change
    time, or ``ne`` against such a time).
    """
    managed = [f for f in (left, right) if f.managed is not None]
    if not managed:
        low_left, high_left, low_right, high_right = _ordered(left, right)
        good, bad = {
            "lt": ((low_left, high_right), (high_left, low_right)),
            "le": ((low_left, low_right), (high_left, low_right)),
            "gt": ((high_left, low_right), (low_left, high_right)),
            "ge": ((low_left, low_right), (low_left, high_right)),
            "ne": ((low_left, high_right), (low_left, low_right)),
        }[op]
        # One side changed against the stored other side, still breaking the rule.
        one_side = (left.name, bad[0]) if bad[0] != good[0] else (right.name, bad[1])
        # The test factory's payloads keep the rule: the later side moves after the other.
        fixup = _later(right.name, left) if op in {"gt", "ge"} else _later(left.name, right)
        return (
            [(left.name, good[0]), (right.name, good[1])],
            [(left.name, bad[0]), (right.name, bad[1])],
            one_side,
            [fixup],
        )
    if len(managed) == 2 or op == "ne" or managed[0].managed.kind not in _TIMES:  # type: ignore[union-attr]
        return None
    # The other side is compared with "now": the far future is after it, the past before.
    other = right if managed[0] is left else left
    after = op in {"gt", "ge"} if other is left else op in {"lt", "le"}
    future, past = (
        (literal("2999-01-01"), literal("2000-01-01"))
        if other.type is FieldType.DATE
        else (literal("2999-01-01T00:00:00Z"), literal("2000-01-01T00:00:00Z"))
    )
    good, bad = (future, past) if after else (past, future)
    return (
        [(other.name, good)],
        [(other.name, bad)],
        (other.name, bad),
        [(f'payload["{other.name}"] = {good}', "")],
    )


def _any_managed(*fields: FieldSpec) -> bool:
    return any(f.managed is not None for f in fields)


def _ordered(left: FieldSpec, right: FieldSpec) -> tuple[str, str, str, str]:
    """(low of left, high of left, low of right, high of right): every low < every high."""
    if left.type in _TIME_TYPES or right.type in _TIME_TYPES:

        def pair(field: FieldSpec) -> tuple[str, str]:
            if field.type is FieldType.DATE:
                return literal("2024-01-01"), literal("2024-01-03")
            return literal("2024-01-01T12:00:00Z"), literal("2024-01-03T12:00:00Z")

        return (*pair(left), *pair(right))
    start = max(_number_start(left), _number_start(right))

    def number(field: FieldSpec, value: decimal.Decimal) -> str:
        if field.type is FieldType.INTEGER:
            return str(int(value))
        return literal(f"{value:.{field.decimal_places or 0}f}")

    return (
        number(left, start),
        number(left, start + 1),
        number(right, start),
        number(right, start + 1),
    )


def _number_start(field: FieldSpec) -> decimal.Decimal:
    if field.min_value is not None:
        return decimal.Decimal(str(field.min_value)).to_integral_value(decimal.ROUND_CEILING)
    if field.max_value is not None:
        return decimal.Decimal(str(field.max_value)).to_integral_value(decimal.ROUND_FLOOR) - 1
    return decimal.Decimal(1)


def compare(spec: ServiceSpec, entity: EntitySpec, rule: Any) -> RuleCode:
    """``left`` op ``right`` when both are set, on create and update: 422."""
    left, right = entity.field(rule.left), entity.field(rule.right)
    if left is None or right is None:
        raise ValueError(f"compare rule {rule.id} names an unknown field")
    timed = left.type in _TIME_TYPES or right.type in _TIME_TYPES
    words = (_OP_WORDS if timed else {**_OP_WORDS, **_NUMBER_WORDS})[rule.op]
    text = f"The {left.name.replace('_', ' ')} of a {_words(entity)} must be {words} its "
    text += f"{right.name.replace('_', ' ')} (422)."
    function = function_name(rule.id)
    tests = [f"test_{function}_refuses_wrong_order", f"test_{function}_accepts_right_order"]
    if entity.allows("update"):
        tests.append(f"test_{function}_refuses_wrong_order_on_update")
    cases = _compare_cases(left, rule.op, right)
    if cases is None:
        tests, cases = [], ([], [], (left.name, "None"), [])
    good, bad, one_side, fixups = cases
    base = _base(
        entity,
        rule,
        "compare",
        text,
        fixups=fixups,
        left=left.name,
        right=right.name,
        op_not=_NEGATED[rule.op],
        message=text.removesuffix(" (422)."),
        good=good,
        bad=bad,
        one_side=one_side,
    )
    imports = {"from typing import Any", "import datetime as dt"}
    return RuleCode(
        **base, calls={"before_write": (function,)}, tests=tuple(tests), imports=frozenset(imports)
    )


def _later(source: str, target: FieldSpec) -> tuple[str, str]:
    """(statement, helper kind): the payload's ``target`` set just after its ``source``."""
    kind = target.type.value
    extra = f", {target.decimal_places}" if target.type is FieldType.DECIMAL else ""
    later = f'_later_{kind}(payload["{source}"]{extra})'
    if target.type is FieldType.INTEGER and target.min_value is not None:
        # Still after the source, and within the target's own lower bound.
        later = f"max({later}, {int(_number_start(target))})"
    return f'payload["{target.name}"] = {later}', kind


def _interval_points(field: FieldSpec, other: FieldSpec) -> list[str]:
    """Four increasing points of ``field``, on the same scale as ``other``'s points.

    The tests compare a start with an end (one interval ends where the next begins), so
    both fields' points are the same numbers, starting where both lower bounds allow.
    """
    if field.type is FieldType.DATE:
        return [literal(f"2024-03-0{day}") for day in (1, 3, 5, 7)]
    if field.type is FieldType.DATETIME:
        return [literal(f"2024-03-01T{hour}:00:00Z") for hour in ("08", "10", "12", "14")]
    start = _shared_start((field, other), room=6)
    if field.type is FieldType.INTEGER:
        return [str(start + step) for step in (0, 2, 4, 6)]
    places = field.decimal_places or 0
    return [literal(f"{decimal.Decimal(start + step):.{places}f}") for step in (0, 2, 4, 6)]


def _shared_start(fields: tuple[FieldSpec, ...], room: int) -> int:
    """The lowest whole number from which ``room`` more steps fit within every field's bounds."""
    lows = [decimal.Decimal(str(f.min_value)) for f in fields if f.min_value is not None]
    highs = [decimal.Decimal(str(f.max_value)) for f in fields if f.max_value is not None]
    start = max(lows).to_integral_value(decimal.ROUND_CEILING) if lows else decimal.Decimal(1)
    if highs and start + room > min(highs):
        start = min(highs).to_integral_value(decimal.ROUND_FLOOR) - room
    return int(start)


def no_overlap(spec: ServiceSpec, entity: EntitySpec, rule: Any) -> RuleCode:
    """Intervals [start, end) of rows in the same scope do not overlap: 409."""
    start, end = entity.field(rule.start), entity.field(rule.end)
    if start is None or end is None:
        raise ValueError(f"no_overlap rule {rule.id} names an unknown field")
    scope = [_column(entity, name) for name in rule.scope]
    condition = _condition(entity, rule.where)
    text = f"Two {_plural_words(entity)}"
    if scope:
        text += " of the same " + " and ".join(c.words for c in scope)
    text += f" cannot overlap in time ({start.name} to {end.name}; one may start when another ends)"
    text += f" while {condition.text}" if condition else ""
    base = _base(
        entity,
        rule,
        "no_overlap",
        text + " (409).",
        start=start.name,
        end=end.name,
        scope=[c.column for c in scope],
        condition=condition,
        fixups=[] if _any_managed(start, end) else [_later(start.name, end)],
        points=_interval_points(start, end),
        end_points=_interval_points(end, start),
        setup=_setup(entity, scope),
        message=text,
    )
    function = base["function"]
    tests = [f"test_{function}_refuses_overlap", f"test_{function}_allows_touching_intervals"]
    if scope:
        tests.append(f"test_{function}_allows_overlap_in_another_scope")
    if entity.allows("update"):
        tests.append(f"test_{function}_refuses_overlap_on_update")
    if condition and condition.miss is not None:
        tests.append(f"test_{function}_ignores_rows_outside_condition")
    if _any_managed(start, end):
        tests = []
    return RuleCode(
        **base,
        calls={"before_write": (function,)},
        tests=tuple(tests),
        imports=frozenset({"import sqlalchemy as sa", "from typing import Any"}),
    )


def count_limit(spec: ServiceSpec, entity: EntitySpec, rule: Any) -> RuleCode:
    """At most ``max_count`` (or the parent's ``max_field``) children per parent: 409."""
    relation = entity.relation(rule.relation)
    if relation is None:
        raise ValueError(f"count_limit rule {rule.id} names an unknown relation")
    parent = spec.entity(relation.target)
    if parent is None:
        raise ValueError(f"unknown entity {relation.target!r}")
    condition = _condition(entity, rule.where)
    limit = str(rule.max_count) if rule.max_count is not None else f"its {rule.max_field}"
    text = f"A {relation.name.replace('_', ' ')} can have at most {limit.replace('_', ' ')} "
    text += _plural_words(entity)
    text += f" whose {condition.text}" if condition else ""
    test_limit = rule.max_count if rule.max_count is not None else 2
    # Lowering the parent's own limit below its children breaks the rule as well.
    limit_field = parent.field(rule.max_field) if rule.max_field else None
    guard_parent = limit_field is not None and parent.allows(Operation.UPDATE)
    base = _base(
        entity,
        rule,
        "count_limit",
        text + " (409).",
        column=relation.column,
        parent=parent.name,
        parent_cls=class_name(parent.name),
        parent_words=relation.name.replace("_", " "),
        max_count=rule.max_count,
        max_field=rule.max_field,
        condition=condition,
        test_limit=test_limit,
        message=text,
        parent_fixups=_room_fixups(parent, rule.max_field),
        guard_parent=guard_parent,
        lowering_test=False,
        parent_url=f"/{parent.table}",
    )
    function = base["function"]
    tests = [f"test_{function}_refuses_child_over_limit", f"test_{function}_allows_up_to_limit"]
    if entity.allows("update"):
        tests.append(f"test_{function}_refuses_move_to_full_{relation.name}")
    if guard_parent:
        base["data"]["foreign_calls"] = [
            (parent.name, "before_write", f"{function}_on_{parent.name}")
        ]
        low = limit_field.min_value if limit_field is not None else None
        if low is None or low <= test_limit - 1:  # else lowering it is a 422 of its own
            base["data"]["lowering_test"] = True
            tests.append(f"test_{function}_refuses_lowering_{rule.max_field}_below_count")
    if condition and condition.miss is not None:
        tests.append(f"test_{function}_ignores_children_outside_condition")
    imports = {"import sqlalchemy as sa", "from typing import Any"}
    if rule.max_field:
        imports.add(f"from app.models import {class_name(parent.name)}")
    return RuleCode(
        **base, calls={"before_write": (function,)}, tests=tuple(tests), imports=frozenset(imports)
    )


def _room_fixups(parent: EntitySpec, max_field: str | None) -> list[tuple[str, str]]:
    """Factory parents get room for the children other tests create (up to 10)."""
    field = parent.field(max_field) if max_field else None
    if field is None:
        return []
    room = 10 if field.max_value is None else min(10, int(field.max_value))
    return [(parent.name, f'payload["{field.name}"] = max(payload["{field.name}"], {room})')]


def _needs_list(entity: EntitySpec, rule: Any) -> None:
    if not entity.allows(Operation.LIST):
        raise RuleNotBuilt(
            f"{rule.kind} filters a list, and {entity.table} offer no list operation"
        )


def _needle(field: FieldSpec) -> tuple[str, str, str] | None:
    """(a value containing the search word, a value without it, the word in other case)."""
    if field.pattern:
        # Test values must match the pattern: the word is a whole example, case swapped.
        found = examples(
            field.pattern, 16, min_length=field.min_length or 0, max_length=field.max_length
        )
        for match in found:
            others = [o for o in found if match.lower() not in o.lower()]
            if others:
                return literal(match), literal(others[0]), literal(match.swapcase())
        return None
    limit = field.max_length or 10_000
    floor = field.min_length or 0
    match, other, query = ("xNeedlex", "plain", "nEEDLE") if limit >= 8 else ("Nd", "zz", "nD")
    return (
        literal(match[:limit].ljust(floor, "_")),
        literal(other[:limit].ljust(floor, "_")),
        literal(query),
    )


def search(spec: ServiceSpec, entity: EntitySpec, rule: Any) -> RuleCode:
    """``?q=`` lists rows where any of ``fields`` contains the text, ignoring case."""
    _needs_list(entity, rule)
    fields = [entity.field(name) for name in rule.fields]
    if any(f is None for f in fields):
        raise ValueError(f"search rule {rule.id} names an unknown field")
    names = [f.name for f in fields if f]
    needles = [(f, _needle(f)) for f in fields if f]
    text = f"`?q=` lists the {_plural_words(entity)} whose "
    text += " or ".join(n.replace("_", " ") for n in names) + " contains the text, ignoring case."
    base = _base(
        entity,
        rule,
        "search",
        text,
        fields=names,
        needles=[(f.name, *needle) for f, needle in needles if needle],
    )
    function = base["function"]
    # Without test values that fit a pattern, the rule is generated but left untested.
    tests = (
        ()
        if any(n is None for _, n in needles)
        else (f"test_{function}_matches_text_ignoring_case",)
    )
    return RuleCode(
        **base,
        calls={"filter_list": (function,)},
        tests=tests,
        imports=frozenset({"import sqlalchemy as sa"}),
    )


def range_filter(spec: ServiceSpec, entity: EntitySpec, rule: Any) -> RuleCode:
    """``?<field>_min=`` and ``?<field>_max=`` bound the list, both inclusive."""
    _needs_list(entity, rule)
    field = entity.field(rule.field)
    if field is None:
        raise ValueError(f"range rule {rule.id} names an unknown field")
    low, high = _low_high(field)
    text = f"`?{field.name}_min=` and `?{field.name}_max=` list the {_plural_words(entity)} "
    text += f"whose {field.name.replace('_', ' ')} is within the bounds (inclusive)."
    base = _base(entity, rule, "range", text, field=field.name, low=low, high=high)
    function = base["function"]
    return RuleCode(
        **base,
        calls={"filter_list": (function,)},
        tests=(f"test_{function}_lists_within_bounds", f"test_{function}_refuses_invalid_bound"),
        imports=frozenset({"import sqlalchemy as sa"}),
    )


@dataclass(frozen=True)
class _ManagedRule:
    """A managed field seen as a rule: the spec gives it no id, so one is derived."""

    id: str
    source: str = ""


def managed_rule_id(entity: EntitySpec, field: FieldSpec) -> str:
    """``<entity>.<field>.managed``, the id of a managed field's rule."""
    return f"{entity.name}.{field.name}.managed"


def managed(spec: ServiceSpec, entity: EntitySpec, field: FieldSpec) -> RuleCode:
    """A server-managed field: filled by the service, refused in request bodies (422)."""
    managed = field.managed
    if managed is None:
        raise ValueError(f"{entity.name}.{field.name} is not managed")
    rule = _ManagedRule(managed_rule_id(entity, field), field.description)
    name = field.name.replace("_", " ")
    words = _words(entity)
    kind = managed.kind
    texts = {
        "created_at": f"The service sets a {words}'s {name} to the time of its creation.",
        "updated_at": f"The service sets a {words}'s {name} to the time of its last change.",
        "code": f"The service gives each {words} a unique {name} of "
        f"{getattr(managed, 'length', 0)} characters.",
        "sequence": f"The service numbers {_plural_words(entity)} 1, 2, 3…"
        + (f" per {managed.per.replace('_', ' ')}" if getattr(managed, "per", None) else ""),
        "counter": f"A {words}'s {name} starts at {getattr(managed, 'start', 0)} and only "
        f"`POST /{entity.table}/{{id}}/{field.name}/increment` adds one.",
    }
    text = texts[kind] + f" Clients cannot send {name} (422)."
    per = getattr(managed, "per", None)
    per_relation = entity.relation(per) if per else None
    factory = {
        "created_at": "dt.datetime.now(dt.UTC)",
        "updated_at": "dt.datetime.now(dt.UTC)",
        "code": f"_code(n, {getattr(managed, 'length', 0)}, "
        f"{literal(getattr(managed, 'alphabet', ''))})",
        "sequence": "n",
        "counter": str(getattr(managed, "start", 0)),
    }[kind]
    base = _base(
        entity,
        rule,
        f"managed_{kind}",
        text,
        field=field.name,
        managed=managed,
        per_column=per_relation.column if per_relation else None,
        per_target=per_relation.target if per_relation else None,
        factory=factory,
        sample=_low_high(field)[0],
    )
    function = base["function"]
    calls: dict[str, tuple[str, ...]] = {"before_write": (function,)}
    imports = {"from typing import Any"}
    test_imports: set[str] = set()
    tests = [f"test_{function}_is_refused_in_requests"]
    if kind in {"created_at", "updated_at"}:
        imports.add("import datetime as dt")
        test_imports.add("import datetime as dt")
        tests.insert(0, f"test_{function}_is_set_on_create")
        if kind == "updated_at" and entity.allows("update"):
            tests.insert(1, f"test_{function}_changes_on_update")
        if kind == "created_at" and entity.allows("update"):
            tests.insert(1, f"test_{function}_is_kept_on_update")
    elif kind == "code":
        imports |= {
            "import secrets",
            "import sqlalchemy as sa",
            "from sqlalchemy.orm import InstrumentedAttribute",
        }
        tests.insert(0, f"test_{function}_is_generated")
    elif kind == "sequence":
        imports.add("import sqlalchemy as sa")
        tests.insert(0, f"test_{function}_numbers_rows_in_order")
        if per_relation is not None and entity.allows("update"):
            tests.insert(1, f"test_{function}_renumbers_a_moved_row")
    elif kind == "counter":
        imports.add("import sqlalchemy as sa")
        calls["increment"] = (f"{function}_increment",)
        tests.insert(0, f"test_{function}_starts_and_increments")
    return RuleCode(
        **base,
        calls=calls,
        tests=tuple(tests),
        imports=frozenset(imports),
        test_imports=frozenset(test_imports),
    )


# The operation each kind's generated tests go through; without it they are not generated.
TEST_NEEDS = {
    "search": Operation.LIST,
    "range": Operation.LIST,
    **{
        kind: Operation.CREATE
        for kind in (
            "unique_together", "compare", "no_overlap", "count_limit", "managed_created_at",
            "managed_updated_at", "managed_code", "managed_sequence", "managed_counter",
        )
    },
}  # fmt: skip

BUILDERS = {
    "unique_together": unique_together,
    "compare": compare,
    "no_overlap": no_overlap,
    "count_limit": count_limit,
    "search": search,
    "range": range_filter,
}
