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


BUILDERS: dict[str, Builder] = {
    "role_required": role_required,
    "state_machine": state_machine,
}
