"""Rule kinds about who may act and how records move: roles, states, computed values.

``role_required`` is called by the routes of the operations it guards (before anything
else, with the signed-in account); ``state_machine`` runs at ``before_write`` and
``before_delete``; ``computed`` fills its value at ``after_write`` of the entity and of its
children. Ownership (``owned`` entities) is not a rule: it is part of accounts mode
(:mod:`devgen.services.codegen.engines.accounts`).
"""

from __future__ import annotations

from typing import Any

from devgen.services.codegen.engines.accounts import entity_access
from devgen.services.codegen.engines.pycode import literal
from devgen.services.codegen.engines.rules.base import Builder, RuleCode, function_name
from devgen.services.codegen.spec import EntitySpec, Operation, ServiceSpec, class_name


def role_required(spec: ServiceSpec, entity: EntitySpec, rule: Any) -> RuleCode:
    """Only some roles may do some operations: 403 for the others (admins may do all)."""
    function = function_name(rule.id)
    access = entity_access(spec, entity)
    role = next((r for r in (access.role_rules if access else []) if r.id == rule.id), None)
    if role is None:  # validate_spec refuses role rules outside accounts mode
        raise ValueError(f"rule {rule.id} needs auth mode accounts")
    plural_words = entity.table.replace("_", " ")
    text = f"Only {role.roles_text} may {', '.join(role.operations)} {plural_words} (403 otherwise)"
    return RuleCode(
        id=rule.id,
        kind="role_required",
        function=function,
        template="role_required",
        text=text,
        source=rule.source,
        tests=(f"test_{function}_refuses_other_roles",),
        imports=frozenset(
            {"from app.auth import ensure_role", "from app.models import AuthAccount"}
        ),
        test_imports=frozenset({"from tests.conftest import Accounts"}),
        data={
            "roles": role.roles,
            "operations": role.operations,
            "allowed": role.roles[0],
            "denied": role.denied_role,
            "action": f"{' or '.join(role.operations)} {plural_words}",
            "doc": text,
        },
    )


def _a(words: str) -> str:
    return f"{'an' if words[:1] in 'aeiou' else 'a'} {words}"


_CHANGEABLE_TYPES = frozenset({"string", "text", "email", "url", "integer", "decimal", "date"})


def _transitions(rule: Any) -> dict[str, list[str]]:
    allowed: dict[str, list[str]] = {}
    for transition in rule.transitions:
        source = getattr(transition, "from_", None) or getattr(transition, "source_state", "")
        targets = getattr(transition, "to", None) or getattr(transition, "target_states", [])
        allowed.setdefault(source, [])
        allowed[source] += [t for t in targets if t not in allowed[source]]
    return allowed


def state_machine(spec: ServiceSpec, entity: EntitySpec, rule: Any) -> RuleCode:
    """A status field: created in its initial state, moved only along allowed transitions."""
    function = function_name(rule.id)
    field = entity.field(rule.field)
    if field is None:  # validate_spec refuses such specs
        raise ValueError(f"no field {rule.field!r} on {entity.name}")
    states = list(field.values)
    allowed = _transitions(rule)
    terminal = [s for s in rule.terminal if s in states]
    for state in terminal:
        allowed[state] = []
    words = entity.name.replace("_", " ")
    a_words = _a(words)
    managed = [f.name for f in entity.fields if getattr(f, "managed", None) is not None]
    # Frozen records keep every field but the state (and what the service manages itself).
    # A field whose fresh sample always differs from the stored one (not a boolean or enum).
    others = [
        f.name
        for f in entity.fields
        if f.name != field.name
        and getattr(f, "managed", None) is None
        and f.type.value in _CHANGEABLE_TYPES
    ]
    pairs = [(a, b) for a in states for b in allowed.get(a, [])]
    refused = [(a, b) for a in states for b in states if b != a and b not in allowed.get(a, [])]
    deletable = [s for s in states if s not in rule.undeletable]
    can = entity.allows
    tests = []
    if can(Operation.CREATE):
        tests.append(f"test_{function}_starts_in_{rule.initial}")
    if can(Operation.UPDATE) and pairs:
        tests.append(f"test_{function}_allows_listed_transitions")
    if can(Operation.UPDATE) and refused:
        tests.append(f"test_{function}_refuses_other_transitions")
    if can(Operation.UPDATE) and rule.frozen and others:
        tests.append(f"test_{function}_keeps_frozen_records_unchanged")
    if can(Operation.DELETE) and rule.undeletable:
        tests.append(f"test_{function}_keeps_undeletable_records")
    flow = "; ".join(f"{a} → {', '.join(b)}" for a, b in allowed.items() if b)
    text = (
        f"{a_words.capitalize()}'s {field.name.replace('_', ' ')} starts as {rule.initial} "
        f"and moves only along {flow or 'no transition'} (409 otherwise)"
    )
    if rule.frozen:
        text += f"; {a_words} that is {' or '.join(rule.frozen)} cannot be changed"
    if rule.undeletable:
        text += f"; {a_words} that is {' or '.join(rule.undeletable)} cannot be deleted"
    calls: dict[str, tuple[str, ...]] = {"before_write": (function,)}
    if rule.undeletable:
        calls["before_delete"] = (f"{function}_on_delete",)
    return RuleCode(
        id=rule.id,
        kind="state_machine",
        function=function,
        template="state_machine",
        text=text,
        source=rule.source,
        calls=calls,
        tests=tuple(tests),
        imports=frozenset({"from typing import Any"}),
        data={
            "cls": class_name(entity.name),
            "field": field.name,
            "initial": rule.initial,
            "allowed": {a: tuple(b) for a, b in allowed.items()},
            "frozen": tuple(rule.frozen),
            "undeletable": tuple(rule.undeletable),
            "kept": tuple([field.name, *managed]),
            "words": words,
            "a_words": a_words,
            "other": others[0] if others else None,
            "pair": pairs[0] if pairs else None,
            "refused": refused[0] if refused else None,
            "not_initial": next((s for s in states if s != rule.initial), None),
            "deletable": deletable[0] if deletable else None,
            "fixups": [(f'payload["{field.name}"] = {literal(rule.initial)}', "enum")],
        },
    )


def _places(entity: EntitySpec, terms: list[str], op: str) -> int:
    """Decimal places of a product (the sum of its factors' places) or sum (the largest)."""
    places = [
        f.decimal_places or 0
        for name in terms
        if (f := entity.field(name)) is not None and f.type.value == "decimal"
    ]
    total = sum(places) if op == "product" or len(terms) > 1 else max(places, default=0)
    return min(total, 6)


def computed(spec: ServiceSpec, entity: EntitySpec, rule: Any) -> RuleCode:
    """A read-only number kept correct in the same transaction as every change it follows."""
    function = function_name(rule.id)
    words, name = entity.name.replace("_", " "), rule.field.replace("_", " ")
    child = spec.entity(rule.child) if rule.child else None
    terms = list(rule.terms)
    places = _places(child or entity, terms, "product" if child else rule.op)
    integer = rule.type == "integer"
    if integer:
        mapped, read, zero = "Mapped[int | None]", "int | None", "0"
        column = "sa.BigInteger()"
    else:
        mapped, read = "Mapped[decimal.Decimal | None]", "decimal.Decimal | None"
        zero = "decimal.Decimal(0)"
        column = f"sa.Numeric(30, {places})"
    op_words = {"sum": "sum", "count": "number", "product": "product"}[rule.op]
    data: dict[str, Any] = {
        "cls": class_name(entity.name),
        "field": rule.field,
        "terms": tuple(terms),
        "op": rule.op,
        "integer": integer,
        "places": places,
        "zero": zero,
        "words": words,
        "a_words": _a(words),
        "sample": "1",
        "child": None,
        "column": {
            "name": rule.field,
            "type": "integer" if integer else "decimal",
            "mapped": mapped,
            "column_args": f"{column}, nullable=True",
            "read_annotation": read,
        },
    }
    imports = {"from typing import Any"} | ({"import decimal"} if not integer else set())
    tests: list[str] = []
    if child is None:
        text = (
            f"{_a(words).capitalize()}'s {name} is the {op_words} of its "
            f"{' and '.join(t.replace('_', ' ') for t in terms)}, computed by the service"
        )
        calls = {"before_write": (function,)}
        if entity.allows(Operation.CREATE):
            tests.append(f"test_{function}_is_computed_from_its_fields")
    else:
        # Zero children: the total is zero (also for rows stored without the service).
        data["column"].update(
            mapped=mapped.replace(" | None", ""),
            read_annotation=read.replace(" | None", ""),
            column_args=f"{column}, default={zero}",
        )
        relation = child.relation(rule.via) if rule.via else None
        if relation is None:
            relation = next(r for r in child.relations if r.target == entity.name)
        child_cls = class_name(child.name)
        terms_text = " times ".join(t.replace("_", " ") for t in terms)
        what = f"{terms_text} of its" if rule.op != "count" else "its"
        text = (
            f"{_a(words).capitalize()}'s {name} is the {op_words} of {what} "
            f"{child.table.replace('_', ' ')}, correct after every change of them"
        )
        calls = {"before_write": (function,)}
        data.update(
            child=child.name,
            child_cls=child_cls,
            child_plural=child.table,
            via_column=relation.column,
            child_ops=tuple(op.value for op in Operation if child.allows(op)),
            foreign_calls=[
                (child.name, "before_write", f"{function}_before_child"),
                (child.name, "after_write", f"{function}_after_child"),
            ],
        )
        imports |= {f"from app.models import {child_cls}", "from sqlalchemy.orm import Session"}
        if child.allows(Operation.CREATE):
            tests.append(f"test_{function}_follows_its_{child.table}")
            if child.allows(Operation.UPDATE):
                tests.append(f"test_{function}_follows_a_moved_{child.name}")
    if entity.allows(Operation.CREATE) or entity.allows(Operation.UPDATE):
        tests.append(f"test_{function}_is_refused_in_requests")
    return RuleCode(
        id=rule.id,
        kind="computed",
        function=function,
        template="computed",
        text=text,
        source=rule.source,
        calls=calls,
        tests=tuple(tests),
        imports=frozenset(imports),
        test_imports=frozenset({"import decimal"}),
        data=data,
    )


BUILDERS: dict[str, Builder] = {
    "role_required": role_required,
    "state_machine": state_machine,
    "computed": computed,
}
