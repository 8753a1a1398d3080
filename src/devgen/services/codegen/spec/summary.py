"""What a spec will build, in words: entities, rules, and the sentences that are not built.

Shown before generation (``POST /codegen/analyze``, ``devgen generate``) so a user sees what
is implemented and what is not before the result arrives.
"""

from __future__ import annotations

from typing import Any

from devgen.services.codegen.spec.models import (
    CompareRule,
    ComputedRule,
    CountLimitRule,
    EntitySpec,
    NoOverlapRule,
    RangeRule,
    RoleRequiredRule,
    SearchRule,
    ServiceSpec,
    StateMachineRule,
    UniqueTogetherRule,
)

_OPS = {"lt": "<", "le": "<=", "gt": ">", "ge": ">=", "ne": "!="}


def rule_summary(entity: EntitySpec, rule: Any) -> str:
    """One line saying what ``rule`` of ``entity`` enforces."""
    name = entity.name
    if isinstance(rule, UniqueTogetherRule):
        return f"no two {entity.table} share {' + '.join(rule.fields)}" + _where(rule.where)
    if isinstance(rule, CompareRule):
        return f"{name}.{rule.left} {_OPS[rule.op]} {name}.{rule.right}"
    if isinstance(rule, NoOverlapRule):
        scope = f" of the same {' + '.join(rule.scope)}" if rule.scope else ""
        return f"{entity.table}{scope} do not overlap in [{rule.start}, {rule.end})" + _where(
            rule.where
        )
    if isinstance(rule, CountLimitRule):
        limit = rule.max_count if rule.max_count is not None else f"its {rule.max_field}"
        return f"at most {limit} {entity.table} per {rule.relation}" + _where(rule.where)
    if isinstance(rule, StateMachineRule):
        moves = "; ".join(f"{t.from_} -> {', '.join(t.to)}" for t in rule.transitions)
        extra = "".join(
            f"; {label}: {', '.join(states)}"
            for label, states in (("frozen", rule.frozen), ("undeletable", rule.undeletable))
            if states
        )
        return f"{rule.field} starts at {rule.initial}; {moves}{extra}"
    if isinstance(rule, ComputedRule):
        if rule.op == "count":
            return f"{rule.field} = number of {rule.child}"
        product = " * ".join(rule.terms)
        if rule.child:
            return f"{rule.field} = sum of {product} over its {rule.child} records"
        return f"{rule.field} = {product}"
    if isinstance(rule, SearchRule):
        return f"?q= searches {', '.join(rule.fields)}"
    if isinstance(rule, RangeRule):
        return f"?{rule.field}_min= and ?{rule.field}_max= on the list"
    if isinstance(rule, RoleRequiredRule):
        return f"only {', '.join(rule.roles)} may {', '.join(o.value for o in rule.operations)}"
    return rule.kind  # type: ignore[no-any-return]


def _where(condition: Any) -> str:
    if condition is None:
        return ""
    value = "" if condition.value is None else f" {condition.value}"
    return f" (where {condition.field} {condition.op}{value})"


def build_plan(spec: ServiceSpec) -> dict[str, Any]:
    """The entities and rules the spec builds, and the sentences it does not."""
    entities = []
    rules = []
    for entity in spec.entities:
        entities.append(
            {
                "name": entity.name,
                "plural": entity.table,
                "fields": [f.name for f in entity.fields],
                "relations": [f"{r.name} -> {r.target} ({r.kind})" for r in entity.relations],
                "operations": [op.value for op in entity.operations],
                "owned": entity.owned,
            }
        )
        for field in entity.fields:
            if field.managed is not None:
                rules.append(
                    {
                        "id": f"{entity.name}.{field.name}.managed",
                        "entity": entity.name,
                        "kind": f"managed:{field.managed.kind}",
                        "summary": f"{field.name} is set by the server ({field.managed.kind})",
                        "source": "",
                    }
                )
        for rule in entity.rules:
            rules.append(
                {
                    "id": rule.id,
                    "entity": entity.name,
                    "kind": rule.kind,
                    "summary": rule_summary(entity, rule),
                    "source": rule.source,
                }
            )
    return {
        "auth": spec.auth.mode,
        "entities": entities,
        "rules": rules,
        "not_implemented": [n.model_dump() for n in spec.not_implemented],
    }
