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
from devgen.services.codegen.engines.rules.base import Builder, RuleCode, function_name
from devgen.services.codegen.spec import EntitySpec, ServiceSpec


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


BUILDERS: dict[str, Builder] = {"role_required": role_required}
