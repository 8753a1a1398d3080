"""Rules of a spec as generated code: builders per rule kind, one registry.

:func:`build_rules` turns an entity's managed fields and rules into :class:`RuleCode`
objects, in a fixed order (managed fields in field order, then the rules in spec order).
Each kind's builder lives in a module of its own (:mod:`.crud`: field-level and list rules;
:mod:`.flow`: relations, states, computed values, accounts) and is registered in
:data:`BUILDERS`; a rule of a kind without a builder is returned by :func:`unbuilt_rules`
so the project's README and report say it is not implemented.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from devgen.services.codegen.engines.rules import crud
from devgen.services.codegen.engines.rules.base import (
    HOOKS,
    Builder,
    RuleCode,
    RuleNotBuilt,
    function_name,
    rules_test_file,
)
from devgen.services.codegen.spec import EntitySpec, ServiceSpec

BUILDERS: dict[str, Builder] = {**crud.BUILDERS}
try:  # the flow kinds land from another branch; until then they are reported, not built
    from devgen.services.codegen.engines.rules import flow  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - depends on the merge state
    flow = None
else:  # pragma: no cover
    BUILDERS.update(flow.BUILDERS)


def build_rules(spec: ServiceSpec, entity: EntitySpec) -> list[RuleCode]:
    """The generated code of ``entity``'s managed fields and rules, in a fixed order.

    The CRUD rule tests create rows through the API (and the list rules list them), so an
    entity without that operation keeps the rule's code but gets no test for it: its
    criterion then shows as untested rather than passing.
    """
    built = [crud.managed(spec, entity, f) for f in entity.fields if f.managed is not None]
    for rule in _rules(entity):
        builder = BUILDERS.get(rule.kind)
        if builder is None:
            continue
        try:
            built.append(builder(spec, entity, rule))
        except RuleNotBuilt:
            continue  # reported by unbuilt_rules
    return [_testable(entity, rule) for rule in built]


def _testable(entity: EntitySpec, rule: RuleCode) -> RuleCode:
    needs = crud.TEST_NEEDS.get(rule.kind)
    if needs is None or entity.allows(needs):
        return rule
    return dataclasses.replace(rule, tests=())


def unbuilt_rules(spec: ServiceSpec) -> list[tuple[str, Any, str]]:
    """(entity name, rule, reason) for every rule the template does not generate."""
    missing = []
    for entity in spec.entities:
        for rule in _rules(entity):
            builder = BUILDERS.get(rule.kind)
            if builder is None:
                reason = f"the template engine cannot generate {rule.kind} rules yet"
            else:
                try:
                    builder(spec, entity, rule)
                    continue
                except RuleNotBuilt as exc:
                    reason = str(exc)
            missing.append((entity.name, rule, reason))
    return missing


def _rules(entity: EntitySpec) -> list[Any]:
    return list(getattr(entity, "rules", None) or [])


__all__ = [
    "BUILDERS",
    "HOOKS",
    "RuleCode",
    "RuleNotBuilt",
    "build_rules",
    "function_name",
    "rules_test_file",
    "unbuilt_rules",
]
