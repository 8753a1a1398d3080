"""Accounts mode of the generated service: who may call it, whose records are whose.

``auth.mode == "accounts"`` gives the generated project real accounts (register, sign in,
argon2 hashes, HS256 tokens signed with a ``SECRET_KEY`` that has no default), records of
``owned`` entities that belong to their creator, and ``role_required`` rules. This module
reads those parts of the spec and names everything the templates and the test plan use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from devgen.kit.pins import service_pins
from devgen.services.codegen.spec import EntitySpec, Operation, ServiceSpec

ACCOUNTS = "accounts"
STATIC_TOKEN = "static_token"  # noqa: S105 - an auth mode, not a secret
NONE = "none"
AUTH_TEST_FILE = "tests/test_auth.py"
FALLBACK_ROLE = "user"
# Pinned (kit/pins.toml): a generated project installs the same versions on every machine.
ARGON2_REQUIREMENT = service_pins().pin("argon2-cffi")
PYJWT_REQUIREMENT = service_pins().pin("pyjwt")


def function_name(rule_id: str) -> str:
    """The Python name of a rule's function (as ``engines.rules.base.function_name``)."""
    name = re.sub(r"[^a-z0-9]+", "_", rule_id.lower()).strip("_")
    return name if name[:1].isalpha() else f"rule_{name}"


def auth_mode(spec: ServiceSpec) -> str:
    """``none``, ``static_token`` or ``accounts``; old specs' ``auth_required`` is static."""
    auth = getattr(spec, "auth", None)
    mode = getattr(auth, "mode", None)
    mode = str(getattr(mode, "value", mode)) if mode is not None else NONE
    if mode == NONE and getattr(spec, "auth_required", False):
        return STATIC_TOKEN
    return mode


def is_owned(entity: EntitySpec) -> bool:
    """Whether the entity's records belong to the account that created them."""
    return bool(getattr(entity, "owned", False))


def entity_rules(entity: EntitySpec, kind: str) -> list[Any]:
    """The entity's rules of ``kind``, in spec order."""
    return [r for r in getattr(entity, "rules", []) or [] if getattr(r, "kind", None) == kind]


@dataclass(frozen=True)
class RoleRuleCode:
    """A ``role_required`` rule: who may do which operations on one entity."""

    id: str
    function: str
    operations: tuple[str, ...]
    roles: tuple[str, ...]
    source: str
    denied_role: str

    @property
    def roles_text(self) -> str:
        """The allowed roles in words."""
        return " or ".join(self.roles)


@dataclass(frozen=True)
class AccountsCode:
    """Accounts mode as the templates see it."""

    roles: tuple[str, ...]
    default_role: str
    admin_role: str | None
    test_role: str

    @property
    def can_assign_roles(self) -> bool:
        """Whether an admin endpoint sets roles (only when there is an admin role)."""
        return self.admin_role is not None and len(self.roles) > 1


@dataclass
class EntityAccess:
    """Access rules of one entity in accounts mode."""

    owned: bool
    operations: tuple[str, ...]
    default_role: str
    role_rules: list[RoleRuleCode] = field(default_factory=list)

    def rules_for(self, operation: str) -> list[RoleRuleCode]:
        """The role rules guarding ``operation``."""
        return [r for r in self.role_rules if operation in r.operations]

    def default_role_may(self, operation: str) -> bool:
        """Whether an account of the default role passes every role rule of ``operation``."""
        return all(self.default_role in r.roles for r in self.rules_for(operation))

    @property
    def stranger_operations(self) -> list[str]:
        """Item operations another (default-role) account may try on a record: they 404."""
        return [
            op
            for op in ("get", "update", "delete")
            if op in self.operations and self.default_role_may(op)
        ]

    @property
    def stranger_lists(self) -> bool:
        """Whether a default-role account may list (and so sees only its own)."""
        return "list" in self.operations and self.default_role_may("list")


def accounts_code(spec: ServiceSpec) -> AccountsCode | None:
    """The accounts view model, or None outside accounts mode."""
    if auth_mode(spec) != ACCOUNTS:
        return None
    auth = getattr(spec, "auth", None)
    roles = tuple(getattr(auth, "roles", None) or ())
    admin = "admin" if "admin" in roles else None
    default = getattr(auth, "default_role", None)
    if not default:
        others = [r for r in roles if r != admin]
        default = others[0] if others else (roles[0] if roles else FALLBACK_ROLE)
    if not roles:
        roles = (default,)
    return AccountsCode(
        roles=roles, default_role=default, admin_role=admin, test_role=_test_role(spec, roles)
    )


def _test_role(spec: ServiceSpec, roles: tuple[str, ...]) -> str:
    # The generated CRUD tests act as an account that may do everything: an admin passes
    # every role check; without one, a role every role rule allows.
    if "admin" in roles:
        return "admin"
    allowed = [set(r.roles) for e in spec.entities for r in entity_rules(e, "role_required")]
    common = set.intersection(*allowed) if allowed else set(roles)
    return next((r for r in roles if r in common), roles[0])


def entity_access(spec: ServiceSpec, entity: EntitySpec) -> EntityAccess | None:
    """The entity's access rules, or None outside accounts mode."""
    accounts = accounts_code(spec)
    if accounts is None:
        return None
    role_rules = []
    for rule in entity_rules(entity, "role_required"):
        operations = tuple(
            str(getattr(op, "value", op))
            for op in Operation
            if op in rule.operations or op.value in rule.operations
        )
        roles = tuple(rule.roles)
        # An account the rule must refuse: a real role it leaves out, else a made-up one.
        denied = next((r for r in accounts.roles if r not in roles and r != "admin"), "guest")
        function = function_name(rule.id)
        role_rules.append(
            RoleRuleCode(
                id=rule.id,
                function=function,
                operations=operations,
                roles=roles,
                source=getattr(rule, "source", "") or "",
                denied_role=denied,
            )
        )
    return EntityAccess(
        owned=is_owned(entity),
        operations=tuple(op.value for op in Operation if entity.allows(op)),
        default_role=accounts.default_role,
        role_rules=role_rules,
    )


def access_test_file(entity: EntitySpec) -> str:
    """The generated test module of an entity's access rules."""
    return f"tests/test_{entity.name}_access.py"


def auth_test_names(spec: ServiceSpec) -> list[tuple[str, str]]:
    """(test name, criterion id) of ``tests/test_auth.py``."""
    accounts = accounts_code(spec)
    if accounts is None:
        return []
    tests = [
        ("test_register_account", "AC-auth-register"),
        ("test_register_refuses_taken_email", "AC-auth-register"),
        ("test_register_rejects_invalid_data", "AC-auth-register"),
        ("test_login_gives_a_token_for_me", "AC-auth-login"),
        ("test_login_refuses_wrong_credentials", "AC-auth-login"),
        ("test_me_refuses_missing_or_bad_tokens", "AC-auth-token"),
        ("test_service_refuses_to_start_without_secret_key", "AC-auth-secret"),
    ]
    if accounts.admin_role:
        tests.append(("test_first_account_is_admin", "AC-auth-roles"))
    if accounts.can_assign_roles:
        tests.append(("test_admin_sets_roles", "AC-auth-roles"))
    return tests


def access_test_names(spec: ServiceSpec, entity: EntitySpec) -> list[tuple[str, str | None]]:
    """(test name, criterion or rule id) of ``tests/test_<entity>_access.py``."""
    access = entity_access(spec, entity)
    if access is None:
        return []
    name, plural = entity.name, entity.table
    tests: list[tuple[str, str | None]] = [(f"test_{plural}_require_account", "AC-auth-token")]
    if access.owned:
        owned = f"AC-{name.replace('_', '-')}-owned"
        if entity.allows(Operation.CREATE):
            tests.append((f"test_{name}_is_owned_by_its_creator", owned))
        if access.stranger_operations:
            tests.append((f"test_{name}_of_another_account_is_not_found", owned))
        if access.stranger_lists:
            tests.append((f"test_list_{plural}_shows_only_own", owned))
    if entity.allows(Operation.CREATE) and access.default_role_may("create"):
        for relation in entity.relations:
            target = spec.entity(relation.target)
            if (
                getattr(relation, "kind", "many_to_one") == "many_to_one"
                and target
                and is_owned(target)
            ):
                tests.append(
                    (
                        f"test_{name}_cannot_refer_to_another_accounts_{relation.name}",
                        f"AC-{target.name.replace('_', '-')}-owned",
                    )
                )
    return tests


__all__ = [
    "ACCOUNTS",
    "ARGON2_REQUIREMENT",
    "AUTH_TEST_FILE",
    "PYJWT_REQUIREMENT",
    "AccountsCode",
    "EntityAccess",
    "RoleRuleCode",
    "access_test_file",
    "access_test_names",
    "accounts_code",
    "auth_mode",
    "auth_test_names",
    "entity_access",
    "entity_rules",
    "is_owned",
]
